"""BPMN as modelers write it: each file of the corpus becomes a kind or is refused naming its elements, in plain words.

The corpus is tests/bpmn_corpus/ (files in the styles of Camunda Modeler, bpmn-js, Camunda 8, Signavio, Bizagi,
Yaoqiang, Trisotech, Enterprise Architect and SpiffWorkflow, see its SOURCES.md), plus, where present, the real
exports collected from public repositories: the folders named in SOM_BPMN_CORPUS (separated like PATH) and
shared/bpmn_corpus beside the repository. Each file goes through services.kinds.prepare_bpmn, the one path every
upload, draft check and the designer take; a sample also through the API upload. Nothing may answer 500, raise
anything but InvalidProcess, or hang: each file is bounded by the existing caps (size, flow nodes, path length,
depth), not by a timer here.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from som_flow.errors import InvalidProcess
from som_flow.services.kinds import prepare_bpmn
from tests.engine.hostile import LIBRARY_WORDS
from tests.helpers import Api, make_user

HERE = Path(__file__).resolve().parents[1] / "bpmn_corpus"
_ID = re.compile(rb'\sid\s*=\s*["\']([^"\']+)["\']')
_PROCESS = re.compile(rb"<(?:\w+:)?process[\s>]")


def _folders() -> list[Path]:
    extra = [Path(d) for d in os.environ.get("SOM_BPMN_CORPUS", "").split(os.pathsep) if d]
    shared = HERE.parents[2] / "shared" / "bpmn_corpus"  # beside the repository, where a steering session keeps data
    return [HERE, *extra, *([shared] if shared.is_dir() else [])]


def _files() -> list[Path]:
    return sorted({f for folder in _folders() if folder.is_dir() for f in folder.rglob("*.bpmn")})


FILES = _files()


def _name(path: Path) -> str:
    for folder in _folders():
        if folder in path.parents:
            return str(path.relative_to(folder))
    return path.name


def _check_refusal(data: bytes, detail: str, errors: dict[str, list[str]]) -> None:
    """Each row is keyed by an element id of the file (the document only when it has no process), and says, in
    plain words, what is wrong."""
    ids = {m.decode("utf-8", "replace") for m in _ID.findall(data)}
    assert errors, "a refusal names what is wrong"
    for element, reasons in errors.items():
        if element == "document":
            assert not _PROCESS.search(data), f"'document' blamed although the file has a process: {reasons}"
        else:
            assert element in ids, f"{element!r} is not an element id of the file"
        for reason in reasons:
            assert len(reason) >= 15 or reason.startswith("and "), reason
            for word in LIBRARY_WORDS:
                assert word not in reason, (word, reason)
    for word in LIBRARY_WORDS:
        assert word not in detail, (word, detail)


@pytest.mark.parametrize("path", FILES, ids=_name)
def test_a_corpus_file_becomes_a_kind_or_is_refused_naming_its_elements(path):
    data = path.read_bytes()
    try:
        _stored, definition, _added = prepare_bpmn(data.decode("utf-8", "replace"))
    except InvalidProcess as refusal:
        assert refusal.status == 422
        _check_refusal(data, refusal.detail, refusal.errors)
    else:
        assert definition.process_id


def test_the_corpus_is_there():
    """The committed part: one file per modeler style at least, and one that is accepted."""
    styles = {p.relative_to(HERE).parts[0] for p in HERE.rglob("*.bpmn")}
    assert {"camunda-modeler", "bpmn-js", "zeebe", "signavio", "bizagi", "yaoqiang", "trisotech",
            "enterprise-architect", "spiffworkflow", "som-flow"} <= styles
    assert (HERE / "SOURCES.md").is_file()


SAMPLE = ["camunda-modeler/sale-not-executable.bpmn", "camunda-modeler/boundary-not-attached.bpmn",
          "signavio/pools-and-message-flows.bpmn", "bpmn-js/detached-chain.bpmn",
          "som-flow/standard-sale-through-modelers.bpmn"]


@pytest.mark.parametrize("name", SAMPLE)
def test_the_api_upload_answers_the_same_as_the_one_path(client, name):
    """PUT /kinds/{key}/bpmn: 201 with a version, or 422 problem+json naming the same elements; never a 500."""
    make_user("admin@x.test", "admin")
    data = (HERE / name).read_bytes()
    try:
        prepare_bpmn(data.decode("utf-8"))
        expected = None
    except InvalidProcess as refusal:
        expected = refusal.errors
    r = Api(client, "admin@x.test").put("/kinds/from-a-modeler/bpmn", data)
    if expected is None:
        assert r.status_code == 201, r.get_data(as_text=True)
    else:
        assert r.status_code == 422, r.get_data(as_text=True)
        assert r.content_type.startswith("application/problem+json")
        assert r.json["errors"] == expected
        _check_refusal(data, r.json["detail"], r.json["errors"])
        assert Api(client, "admin@x.test").get("/kinds/from-a-modeler").status_code == 404  # nothing stored
