"""Stored files sent back to a browser: as downloads, never as documents it renders."""

from __future__ import annotations

from flask import Response


def bpmn_file(kind_key: str, version) -> Response:
    """A kind version's BPMN as an attachment that browsers do not sniff.

    Uploads are stripped of foreign extension content (`engine.storable`), but an XML document a
    browser renders inline may still carry what it acts on (XHTML, SVG, a stylesheet); sent as a
    download, nothing in it ever runs in our origin. Scripts fetching it (the bpmn-js viewer) are
    unaffected: fetch() ignores Content-Disposition.
    """
    response = Response(version.bpmn_xml, mimetype="application/xml")
    response.headers["Content-Disposition"] = f'attachment; filename="{kind_key}-v{version.number}.bpmn"'
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response
