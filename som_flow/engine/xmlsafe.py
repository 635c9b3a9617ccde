"""Safe XML intake: the only way BPMN text becomes an lxml tree before SpiffWorkflow sees it.

Refuses any DOCTYPE or entity declaration (billion laughs, external entities), caps the size, never
touches the network and never loads a DTD. Malformed XML is reported with its line.
"""

from __future__ import annotations

import re

from lxml import etree

from som_flow.errors import InvalidProcess

MAX_BPMN_BYTES = 1024 * 1024
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)


def _parser() -> etree.XMLParser:
    # A parser per call: lxml parsers keep error state and are not meant to be shared across threads.
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_pis=True,
    )


def parse_xml(xml: str | bytes) -> etree._Element:
    """Parse BPMN text safely; raise InvalidProcess (size, DOCTYPE/ENTITY, malformed with line)."""
    data = xml.encode("utf-8") if isinstance(xml, str) else bytes(xml)
    if len(data) > MAX_BPMN_BYTES:
        raise InvalidProcess(
            f"The BPMN document is larger than {MAX_BPMN_BYTES // 1024} KiB",
            errors={"document": [f"{len(data)} bytes; the limit is {MAX_BPMN_BYTES}"]},
        )
    match = _DECLARATION.search(data)
    if match:
        line = data.count(b"\n", 0, match.start()) + 1
        raise InvalidProcess(
            f"DOCTYPE and entity declarations are not allowed (line {line})",
            errors={"document": [f"line {line}: DOCTYPE/ENTITY declarations are refused"]},
        )
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno or (exc.position[0] if exc.position else 0)
        raise InvalidProcess(
            f"Malformed XML at line {line}: {exc.msg}", errors={"document": [f"line {line}: {exc.msg}"]}
        ) from None
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise InvalidProcess("DOCTYPE declarations are not allowed", errors={"document": ["DOCTYPE refused"]})
    return root
