"""Safe XML reading for every format: no external entities, no DTDs, no network, bounded size.

Every XML parser in `mappings/` goes through `parse_xml`, so a hostile file (billion laughs, an external
entity pointing at a local file or a URL, a gigabyte of nesting) is a `FormatError`, never a read of
something else and never a crash.
"""

from __future__ import annotations

from lxml import etree

from mappings.base import FormatError

MAX_XML_BYTES = 50_000_000


def _parser() -> etree.XMLParser:
    return etree.XMLParser(
        resolve_entities=False,
        no_network=True,
        load_dtd=False,
        dtd_validation=False,
        huge_tree=False,
        remove_blank_text=False,
    )


def parse_xml(data: bytes, *, max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """The root element of `data`; a DOCTYPE, oversize or malformed input is a `FormatError`."""
    if len(data) > max_bytes:
        raise FormatError("document", f"XML is {len(data)} bytes, the limit is {max_bytes}")
    if b"<!DOCTYPE" in data[:4096].upper() or b"<!ENTITY" in data.upper():
        raise FormatError("document", "XML with a DOCTYPE or entity declarations is refused")
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as error:
        raise FormatError(f"line {error.lineno}", f"not well-formed XML ({error.msg})") from None
    except ValueError as error:  # e.g. a str with an encoding declaration
        raise FormatError("document", f"cannot read XML ({error})") from None
    if root is None:
        raise FormatError("document", "empty XML document")
    return root


def local_name(element: etree._Element) -> str:
    """`Invoice` for `{urn:…:Invoice-2}Invoice`."""
    return etree.QName(element).localname


def namespace(element: etree._Element) -> str | None:
    return etree.QName(element).namespace
