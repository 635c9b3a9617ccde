"""Regenerate the shipped BPMN in `bpmn/` from the kind builder: `python -m som_flow.processes.ship`."""

from __future__ import annotations

from pathlib import Path

from som_flow.processes.kinds import SHIPPED, SHIPPED_FOLLOW_ONS, shipped_bpmn, shipped_follow_on_bpmn

BPMN_DIR = Path(__file__).resolve().parents[2] / "bpmn"


def shipped_path(key: str) -> Path:
    return BPMN_DIR / f"{key}.bpmn"


def main() -> None:
    BPMN_DIR.mkdir(exist_ok=True)
    for key in SHIPPED:
        shipped_path(key).write_text(shipped_bpmn(key), encoding="utf-8")
        print(f"wrote {shipped_path(key)}")
    for key in SHIPPED_FOLLOW_ONS:
        shipped_path(key).write_text(shipped_follow_on_bpmn(key), encoding="utf-8")
        print(f"wrote {shipped_path(key)}")


if __name__ == "__main__":
    main()
