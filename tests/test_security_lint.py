"""The security linter's (ruff's S rules) accepted findings each say why; nothing is accepted wholesale."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_noqa_for_a_security_rule_gives_its_reason():
    unexplained = []
    for path in ROOT.glob("**/*.py"):
        if ".venv" in path.parts or "versions" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for match in re.finditer(r"#\s*noqa:\s*([A-Z0-9, ]+)(.*)", line):
                codes, rest = match.group(1), match.group(2)
                if re.search(r"\bS\d+", codes) and not re.match(r"\s*-\s*\w", rest):
                    unexplained.append(f"{path.relative_to(ROOT)}:{number}")
    assert not unexplained


def test_security_rules_are_selected_and_only_narrowly_ignored():
    lint = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["ruff"]["lint"]
    assert "S" in lint["select"]
    assert not [code for code in lint.get("ignore", []) if code.startswith("S")]
    for pattern, codes in lint.get("per-file-ignores", {}).items():
        assert "S" not in codes, f"{pattern} ignores every security rule"
