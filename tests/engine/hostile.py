"""Helpers for the hostile-BPMN tests: edit the shipped standard kind, and expect a whole refusal."""

from __future__ import annotations

import pytest

from som_flow.errors import InvalidProcess
from som_flow.processes import shipped_bpmn, validate_bpmn

STANDARD = shipped_bpmn("standard-sale")
# Wording only a library, an XML schema or a programmer would use: never in what an admin reads of a refusal.
LIBRARY_WORDS = ("{http://", "Element '", "attribute", "ValidationException", "lxml", "xsd", "schema", "Traceback",
                 "SpiffWorkflow", "Error(", "Exception")


def refused(xml: str | bytes) -> InvalidProcess:
    """validate_bpmn refuses `xml` with a 422 whose errors name what is wrong."""
    with pytest.raises(InvalidProcess) as caught:
        validate_bpmn(xml)
    assert caught.value.status == 422
    assert caught.value.errors, "errors name what is wrong"
    return caught.value


def swap(old: str, new: str, xml: str = STANDARD) -> str:
    """`xml` (the standard kind by default) with its first `old` replaced by `new`; `old` must be there."""
    assert old in xml
    return xml.replace(old, new, 1)
