"""`som-flow demo` on a fresh SQLite file, then the pages a manager and a rep open first, timed in-process.

Usage: python bench/demo_pages.py [REPO]   (REPO: the source tree to measure, default this one; run it on two
trees to compare). The clock is fixed (2026-11-27 10:00 UTC) so both trees build the same history.
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, sys.argv[1] if len(sys.argv) > 1 else str(Path(__file__).resolve().parents[1]))

from som_flow import create_app  # noqa: E402
from som_flow.clock import FixedClock  # noqa: E402
from tests.conftest import _config  # noqa: E402

PAGES = ("/pipeline", "/tasks", "/opportunities", "/forecast")


def main() -> None:
    tmp = Path(tempfile.mkdtemp())
    app = create_app(_config(f"sqlite:///{tmp}/demo.sqlite", tmp),
                     clock=FixedClock(datetime(2026, 11, 27, 10, 0, tzinfo=UTC)))
    runner = app.test_cli_runner()
    for command in ("init", "demo"):
        if command == "demo":
            cpu, wall = time.process_time(), time.time()
        result = runner.invoke(args=[command])
        if result.exit_code:
            raise SystemExit(f"som-flow {command} failed: {result.output}")
    print(f"som-flow demo: {time.time() - wall:.1f} s wall, {time.process_time() - cpu:.1f} s CPU")
    for who in ("manager@example.com", "rep@example.com"):
        client = app.test_client()
        client.post("/login", data={"email": who, "password": "demo-password"})
        for path in PAGES:
            client.get(path)  # warm
            times = []
            for _ in range(5):
                start = time.process_time()
                if client.get(path).status_code != 200:
                    raise SystemExit(f"{path} did not render for {who}")
                times.append(time.process_time() - start)
            print(f"{who:22} {path:15} median {statistics.median(times) * 1000:.0f} ms CPU")


if __name__ == "__main__":
    main()
