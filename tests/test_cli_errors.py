"""Bad configuration gives one clear line from the console script, not a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

SOM_FLOW = str(Path(sys.executable).with_name("som-flow"))


@pytest.mark.parametrize("url, says", [
    ("postgresql://nobody@127.0.0.1:1/none", "cannot use the database"),
    ("sqlite:////proc/no-such-dir/som.sqlite", "cannot use the database"),
    ("not-a-url", "not a database URL"),
])
def test_a_bad_database_url_is_one_clear_line(url, says):
    result = subprocess.run([SOM_FLOW, "init"], env={**os.environ, "SOM_FLOW_DATABASE_URL": url},  # noqa: S603 - our own console script, fixed arguments
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert says in result.stderr
    assert "Traceback" not in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
