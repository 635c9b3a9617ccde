"""Safe XML intake: the only way BPMN text becomes an lxml tree before SpiffWorkflow sees it.

Refuses any DOCTYPE or entity declaration (billion laughs, external entities), caps the size, never
touches the network and never loads a DTD. Malformed XML is reported with its line. `storable` gives
the text to keep for an upload, without what only a browser would act on.
"""

from __future__ import annotations

import re

from lxml import etree

from som_flow.engine import profile as p
from som_flow.errors import InvalidProcess

MAX_BPMN_BYTES = 1024 * 1024
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY|ELEMENT|ATTLIST)", re.IGNORECASE)
_INSTRUCTION = re.compile(r"<\?(?!xml[\s?])")  # any processing instruction but the XML declaration
# Vocabularies kept inside bpmn:extensionElements: the som_flow profile, and the settings of the
# modelers people draw with (harmless text to a browser; kept so a file round-trips to its modeler).
KEPT_EXTENSIONS = frozenset({
    p.SPIFF_NS,
    "http://camunda.org/schema/1.0/bpmn",
    "http://camunda.org/schema/zeebe/1.0",
    "http://www.signavio.com",
})

_STANDARD = frozenset({p.BPMN_NS, p.BPMNDI_NS, p.DC_NS, p.DI_NS})


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


def storable(xml: str) -> str:
    """The text to store for an uploaded BPMN: `xml` itself, or, when it carries any, `xml` without
    foreign elements and without processing instructions.

    Foreign: inside bpmn:extensionElements, a vocabulary other than KEPT_EXTENSIONS; anywhere else, any
    vocabulary but BPMN and its diagram (a modeler's grid, page or colour settings written beside the
    process). Stripped rather than refused: BPMN lets any vocabulary into extensionElements and modelers
    write their own there and around it, so a refusal would turn away files people really draw. But the
    stored text is served back, and an XHTML <script> or an <?xml-stylesheet?> runs if a browser ever
    renders it; som_flow reads neither, so neither is kept. Raises InvalidProcess as parse_xml does.
    """
    root = parse_xml(xml)  # drops processing instructions (remove_pis)
    foreign = [el for el in root.iter() if isinstance(el.tag, str) and not _kept(el)]
    if not foreign and not _INSTRUCTION.search(xml):
        return xml
    for el in foreign:
        if el.getparent() is not None:
            el.getparent().remove(el)
    return etree.tostring(root.getroottree(), xml_declaration=True, encoding="UTF-8").decode("utf-8")


def _kept(el: etree._Element) -> bool:
    namespace = etree.QName(el).namespace
    if namespace in _STANDARD:
        return True
    parent = el.getparent()
    while parent is not None:
        if etree.QName(parent).localname == "extensionElements" and etree.QName(parent).namespace == p.BPMN_NS:
            return namespace in KEPT_EXTENSIONS
        parent = parent.getparent()
    return False
