"""The PEPPOL envelope: a business document wrapped in an SBDH 1.3 `StandardBusinessDocument`, and back.

Pure functions, no I/O. `wrap_sbdh` builds the header the PEPPOL Business Message Envelope (2.0)
specification asks for (sender and receiver participant ids with authority `iso6523-actorid-upis`, the
document identification read from the document's own root, and the DOCUMENTID, PROCESSID and COUNTRY_C1
scopes) and embeds the document's bytes as they are, so `unwrap_sbdh(wrap_sbdh(x))` gives `x` back.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

from lxml import etree

from mappings.base import FormatError
from mappings.xml import local_name, namespace, parse_xml
from schemas.invoice_profiles import SELF_BILLING_CUSTOMIZATION

FORMAT_NAME = "sbdh"
MEDIA_TYPE = "application/xml"
SBDH_NS = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"
PARTICIPANT_AUTHORITY = "iso6523-actorid-upis"
DOCUMENT_ID_SCHEME = "busdox-docid-qns"
PROCESS_ID_SCHEME = "cenbii-procid-ubl"
HEADER_VERSION = "1.0"

UBL_INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
UBL_CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
BILLING_CUSTOMIZATION = "urn:cen.eu:en16931:2017#compliant#urn:fdc:peppol.eu:2017:poacc:billing:3.0"
BILLING_PROCESS = "urn:fdc:peppol.eu:2017:poacc:billing:01:1.0"
INVOICE_DOCUMENT_TYPE = f"{UBL_INVOICE_NS}::Invoice##{BILLING_CUSTOMIZATION}::2.1"
CREDIT_NOTE_DOCUMENT_TYPE = f"{UBL_CREDIT_NOTE_NS}::CreditNote##{BILLING_CUSTOMIZATION}::2.1"
#: PEPPOL BIS Self-Billing 3.0: its own customization, process and document type ids.
SELF_BILLING_INVOICE_DOCUMENT_TYPE = f"{UBL_INVOICE_NS}::Invoice##{SELF_BILLING_CUSTOMIZATION}::2.1"
SELF_BILLING_CREDIT_NOTE_DOCUMENT_TYPE = (
    f"{UBL_CREDIT_NOTE_NS}::CreditNote##{SELF_BILLING_CUSTOMIZATION}::2.1"
)

_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
_PARTICIPANT = re.compile(r"^[0-9]{4}:[^\s:][^\s]{0,134}$")
_DECLARATION = re.compile(rb"^(?:\xef\xbb\xbf)?\s*<\?xml[^>]*\?>")
_HEADER_END = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?StandardBusinessDocumentHeader\s*>")
_LAST_END_TAG = re.compile(rb"</(?:[A-Za-z_][\w.-]*:)?StandardBusinessDocument\s*>\s*$")
_UTF8_DECLARATION = b'<?xml version="1.0" encoding="UTF-8"?>\n'


def _q(name: str) -> str:
    return f"{{{SBDH_NS}}}{name}"


def check_participant(participant_id: str, role: str = "participant") -> str:
    """`scheme:value` with a four-digit ISO 6523 ICD scheme, e.g. `0192:987654325`."""
    if not _PARTICIPANT.match(participant_id):
        raise FormatError(role, f"{participant_id!r} is not a participant id of the form 'scheme:value'")
    return participant_id


def document_identification(root: etree._Element) -> tuple[str, str, str]:
    """(Standard, Type, TypeVersion) of a business document: its root namespace, name and UBL version."""
    standard = namespace(root)
    if not standard:
        raise FormatError("document", "the business document's root element has no namespace")
    version = root.findtext(f"{{{_CBC}}}UBLVersionID") or "2.1"
    return standard, local_name(root), version.strip()


def document_type_id_of(document: bytes) -> str:
    """The PEPPOL document type id (`busdox-docid-qns`) of a UBL invoice or credit note."""
    root = parse_xml(document)
    standard, type_, version = document_identification(root)
    customization = (root.findtext(f"{{{_CBC}}}CustomizationID") or BILLING_CUSTOMIZATION).strip()
    return f"{standard}::{type_}##{customization}::{version}"


def process_id_of(document: bytes) -> str:
    """The PEPPOL process id (`cenbii-procid-ubl`) of a UBL document: its own ProfileID (BT-23), which
    says the process (billing, self-billing, EHF forward billing…); PEPPOL billing when it names none."""
    root = parse_xml(document)
    profile = " ".join((root.findtext(f"{{{_CBC}}}ProfileID") or "").split())
    return profile or BILLING_PROCESS


def is_self_billing_document_type(document_type_id: str) -> bool:
    """The document type id is PEPPOL BIS Self-Billing's (invoice or credit note)."""
    return f"##{SELF_BILLING_CUSTOMIZATION}" in document_type_id


def wrap_sbdh(
    document: bytes,
    *,
    sender: str,
    receiver: str,
    document_type_id: str,
    process_id: str,
    instance_id: str,
    created: dt.datetime,
    country_c1: str,
    standard: str | None = None,
    type_: str | None = None,
    type_version: str | None = None,
    extra_scopes: tuple[tuple[str, str], ...] = (),
) -> bytes:
    """`document` inside a PEPPOL SBDH; Standard, Type and TypeVersion default to the document's root.

    `extra_scopes` are further `BusinessScope/Scope` (Type, InstanceIdentifier) pairs after the three
    PEPPOL ones, for a service behind the receiving participant (eFaktura: the consumer's identifier).

    The document's bytes go in unchanged (less an XML declaration), so signatures and exact amounts
    inside it survive. `created` must carry a time zone; `country_c1` is the sender's ISO 3166 country.
    """
    root = parse_xml(document)
    if created.tzinfo is None:
        raise FormatError("created", "CreationDateAndTime needs a time zone")
    if not re.fullmatch(r"[A-Z]{2}", country_c1):
        raise FormatError("country_c1", f"{country_c1!r} is not an ISO 3166-1 alpha-2 country code")
    if not instance_id.strip():
        raise FormatError("instance_id", "the InstanceIdentifier must not be empty")
    found_standard, found_type, found_version = document_identification(root)
    body = _DECLARATION.sub(b"", document, count=1)
    declared = _DECLARATION.match(document)
    if declared and re.search(rb"encoding=[\"'](?!utf-8)", declared.group(0), re.IGNORECASE):
        body = etree.tostring(root, encoding="UTF-8")  # re-encode anything that is not UTF-8 already

    nsmap: Any = {None: SBDH_NS}  # lxml-stubs want str keys; None is lxml's default namespace
    sbd = etree.Element(_q("StandardBusinessDocument"), nsmap=nsmap)
    header = etree.SubElement(sbd, _q("StandardBusinessDocumentHeader"))
    etree.SubElement(header, _q("HeaderVersion")).text = HEADER_VERSION
    for role, participant in (("Sender", sender), ("Receiver", receiver)):
        partner = etree.SubElement(header, _q(role))
        identifier = etree.SubElement(partner, _q("Identifier"), Authority=PARTICIPANT_AUTHORITY)
        identifier.text = check_participant(participant, role.lower())
    identification = etree.SubElement(header, _q("DocumentIdentification"))
    etree.SubElement(identification, _q("Standard")).text = standard or found_standard
    etree.SubElement(identification, _q("TypeVersion")).text = type_version or found_version
    etree.SubElement(identification, _q("InstanceIdentifier")).text = instance_id
    etree.SubElement(identification, _q("Type")).text = type_ or found_type
    etree.SubElement(identification, _q("CreationDateAndTime")).text = created.isoformat(timespec="seconds")
    scopes = etree.SubElement(header, _q("BusinessScope"))
    for scope_type, value, scheme in (
        ("DOCUMENTID", document_type_id, DOCUMENT_ID_SCHEME),
        ("PROCESSID", process_id, PROCESS_ID_SCHEME),
        ("COUNTRY_C1", country_c1, None),
        *((scope_type, value, None) for scope_type, value in extra_scopes),
    ):
        scope = etree.SubElement(scopes, _q("Scope"))
        etree.SubElement(scope, _q("Type")).text = scope_type
        etree.SubElement(scope, _q("InstanceIdentifier")).text = value
        if scheme:
            etree.SubElement(scope, _q("Identifier")).text = scheme
    header_xml = etree.tostring(sbd, encoding="UTF-8", xml_declaration=True, pretty_print=True).rstrip()
    closing = b"</StandardBusinessDocument>"
    assert header_xml.endswith(closing)  # the envelope has a child, so it is never serialised as "<…/>"
    return header_xml[: -len(closing)] + b"\n" + body.lstrip() + closing + b"\n"


def _root_and_parts(data: bytes) -> tuple[etree._Element, etree._Element, etree._Element]:
    root = parse_xml(data)
    if root.tag != _q("StandardBusinessDocument"):
        raise FormatError("document", f"not an SBDH StandardBusinessDocument (root is {root.tag})")
    header = root.find(_q("StandardBusinessDocumentHeader"))
    if header is None:
        raise FormatError("StandardBusinessDocumentHeader", "missing")
    documents = [child for child in root if isinstance(child.tag, str) and child is not header]
    if len(documents) != 1:
        raise FormatError("document", f"an SBDH carries one business document, this one {len(documents)}")
    return root, header, documents[0]


def _text(element: etree._Element, path: str, field: str, *, required: bool = True) -> str | None:
    value = element.findtext(path)
    if value is None or not value.strip():
        if required:
            raise FormatError(field, "missing")
        return None
    return value.strip()


def read_header(header: etree._Element) -> dict[str, Any]:
    """The SBDH fields the gateway uses, by name; a missing mandatory one is a `FormatError`."""
    ident = _q("DocumentIdentification")
    created_text = _text(header, f"{ident}/{_q('CreationDateAndTime')}", "CreationDateAndTime")
    assert created_text is not None
    try:
        created = dt.datetime.fromisoformat(created_text.replace("Z", "+00:00"))
    except ValueError:
        raise FormatError("CreationDateAndTime", f"{created_text!r} is not a date and time") from None
    scopes: dict[str, str] = {}
    for scope in header.iterfind(f"{_q('BusinessScope')}/{_q('Scope')}"):
        scope_type = scope.findtext(_q("Type"))
        value = scope.findtext(_q("InstanceIdentifier"))
        if scope_type and value is not None:
            scopes[scope_type.strip()] = value.strip()
    sender = header.find(f"{_q('Sender')}/{_q('Identifier')}")
    receiver = header.find(f"{_q('Receiver')}/{_q('Identifier')}")
    if sender is None or not (sender.text or "").strip():
        raise FormatError("Sender", "missing")
    if receiver is None or not (receiver.text or "").strip():
        raise FormatError("Receiver", "missing")
    return {
        "header_version": _text(header, _q("HeaderVersion"), "HeaderVersion"),
        "sender": (sender.text or "").strip(),
        "sender_authority": sender.get("Authority"),
        "receiver": (receiver.text or "").strip(),
        "receiver_authority": receiver.get("Authority"),
        "standard": _text(header, f"{ident}/{_q('Standard')}", "Standard"),
        "type_version": _text(header, f"{ident}/{_q('TypeVersion')}", "TypeVersion"),
        "instance_id": _text(header, f"{ident}/{_q('InstanceIdentifier')}", "InstanceIdentifier"),
        "type": _text(header, f"{ident}/{_q('Type')}", "Type"),
        "created": created,
        "document_type_id": scopes.get("DOCUMENTID"),
        "process_id": scopes.get("PROCESSID"),
        "country_c1": scopes.get("COUNTRY_C1"),
        "scopes": scopes,
    }


def unwrap_sbdh(data: bytes) -> tuple[dict[str, Any], bytes]:
    """(header fields, the business document's bytes with a UTF-8 XML declaration).

    The document comes back byte for byte as `wrap_sbdh` embedded it (trailing white space included);
    one that relies on namespaces declared on the envelope is serialised on its own instead.
    """
    _root, header, document = _root_and_parts(data)
    fields = read_header(header)
    body = data
    match_end = _HEADER_END.search(body)
    match_close = _LAST_END_TAG.search(body)
    extracted: bytes | None = None
    if match_end and match_close and match_end.end() < match_close.start():
        candidate = body[match_end.end() : match_close.start()].lstrip()
        try:
            parsed = parse_xml(candidate)
        except FormatError:
            parsed = None  # it relied on namespaces declared on the envelope: serialise it instead
        if parsed is not None and parsed.tag == document.tag and len(parsed) == len(document):
            extracted = candidate
    if extracted is None:
        extracted = etree.tostring(document, encoding="UTF-8")
    return fields, _UTF8_DECLARATION + extracted


def sniff(data: bytes) -> bool:
    """True for an SBDH `StandardBusinessDocument` (checked on the first bytes, then parsed)."""
    head = data[:4096]
    if b"StandardBusinessDocument" not in head or SBDH_NS.encode() not in head:
        return False
    try:
        return parse_xml(data).tag == _q("StandardBusinessDocument")
    except FormatError:
        return False


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from an SBDH: the header, and what the embedded document is."""
    fields, document = unwrap_sbdh(data)
    fields["created"] = fields["created"].isoformat()
    from mappings import detect_format, inspect_file  # late: the registry imports this module lazily

    inner: dict[str, Any] = {"bytes": len(document), "format": detect_format(document)}
    if inner["format"] is not None:
        try:
            inner = {**inspect_file(document), "bytes": len(document)}
        except FormatError as error:
            inner["error"] = str(error)
    return {"format": FORMAT_NAME, "header": fields, "document": inner}
