"""PEPPOL status documents (UBL ApplicationResponse) read into one shape: `StatusDocument`.

Three kinds share the ApplicationResponse syntax and are told apart by `cbc:CustomizationID`:

* `invoice-response` — T111 Invoice Response (the buyer's business status: AB, IP, UQ, CA, RE, AP, PD);
* `mlr` — T71 Message Level Response (the receiving side's AB / AP / RE of a transmitted message);
* `mls` — Message Level Status from the receiving access point (AP, AB, RE with SV, BV, BW or FD).

Pure functions, no database: `parse`, `sniff`, `inspect`. Every XML
read goes through `mappings.xml.parse_xml`; an SBDH envelope around the ApplicationResponse is unwrapped.
Text values are whitespace-trimmed (the official MLS examples pad them).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import asdict, dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from mappings.base import FormatError
from mappings.xml import local_name, parse_xml

FORMAT_NAME = "invoice-response"

NS = {
    "ar": "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2",
    "cac": "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2",
    "cbc": "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2",
}
SBDH_NS = "http://www.unece.org/cefact/namespaces/StandardBusinessDocumentHeader"

INVOICE_RESPONSE = "invoice-response"
MLR = "mlr"
MLS = "mls"

#: CustomizationID → kind (a `#…` extension of an id is accepted as that id).
CUSTOMIZATIONS: dict[str, str] = {
    "urn:fdc:peppol.eu:poacc:trns:invoice_response:3": INVOICE_RESPONSE,
    "urn:fdc:peppol.eu:poacc:trns:mlr:3": MLR,
    "urn:peppol:edec:mls:1.0": MLS,
}
_MLS_PREFIX = "urn:peppol:edec:mls:1."

#: Response codes each kind may carry (T111: UNCL 4343 subset; MLR and MLS: AB / AP / RE).
RESPONSE_CODES: dict[str, dict[str, str]] = {
    INVOICE_RESPONSE: {
        "AB": "message acknowledgement",
        "IP": "in process",
        "UQ": "under query",
        "CA": "conditionally accepted",
        "RE": "rejected",
        "AP": "accepted",
        "PD": "paid",
    },
    MLR: {"AB": "message acknowledgement", "AP": "accepted", "RE": "rejected"},
    MLS: {
        "AP": "delivered to the receiver",
        "AB": "forwarded without confirmation of delivery",
        "RE": "rejected or not delivered",
    },
}
KIND_TITLES = {
    INVOICE_RESPONSE: "Invoice Response",
    MLR: "Message Level Response",
    MLS: "Message Level Status",
}
#: EN 16931 BT-113 "Paid amount": the attribute a PD response may name in a condition.
_PAID_AMOUNT_ATTRIBUTES = {"BT-113", "PAIDAMOUNT", "PAID AMOUNT", "AMOUNT PAID"}


class StatusDocumentError(FormatError):
    """Well-formed XML that is not a status document the gateway reads (or lacks what it needs)."""


@dataclass(frozen=True)
class Party:
    endpoint_id: str | None = None
    endpoint_scheme: str | None = None
    party_id: str | None = None
    party_scheme: str | None = None
    name: str | None = None

    @property
    def participant(self) -> str | None:
        """`scheme:value` of the endpoint (or party identification), the PEPPOL way of naming it."""
        value, scheme = (self.endpoint_id, self.endpoint_scheme)
        if value is None:
            value, scheme = (self.party_id, self.party_scheme)
        if value is None:
            return None
        return f"{scheme}:{value}" if scheme else value


@dataclass(frozen=True)
class Reason:
    """One `cac:Status`: a code with its list (OPStatusReason, OPStatusAction, …), a text, conditions."""

    code: str | None
    list_id: str | None = None
    text: str | None = None
    conditions: list[dict[str, str | None]] = field(default_factory=list)
    line: str | None = None

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {"code": self.code, "list": self.list_id, "text": self.text}
        if self.conditions:
            data["conditions"] = self.conditions
        if self.line is not None:
            data["line"] = self.line
        return data


@dataclass(frozen=True)
class LineResponse:
    """A `cac:LineResponse` of an MLR or MLS: where the problem is and what it is."""

    line_id: str | None
    response_code: str | None
    description: str | None
    reasons: list[Reason] = field(default_factory=list)


@dataclass(frozen=True)
class PaymentHint:
    """What a PD (paid) response tells payment matching."""

    amount: Decimal | None = None
    currency: str | None = None
    paid_on: dt.date | None = None
    partial: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "amount": str(self.amount) if self.amount is not None else None,
            "currency": self.currency,
            "paid_on": self.paid_on.isoformat() if self.paid_on else None,
            "partial": self.partial,
        }


@dataclass(frozen=True)
class StatusDocument:
    kind: str
    customization_id: str
    profile_id: str | None
    document_id: str | None
    issue_date: dt.date | None
    issue_time: str | None
    note: str | None
    sender: Party
    receiver: Party
    referenced_document_id: str
    referenced_type_code: str | None
    referenced_issue_date: dt.date | None
    response_code: str
    response_description: str | None
    effective_date: dt.date | None
    reasons: list[Reason] = field(default_factory=list)
    line_responses: list[LineResponse] = field(default_factory=list)
    payment: PaymentHint | None = None

    @property
    def title(self) -> str:
        return KIND_TITLES[self.kind]

    @property
    def meaning(self) -> str:
        return RESPONSE_CODES[self.kind][self.response_code]

    def all_reasons(self) -> list[Reason]:
        """Document-level reasons, then each line response's (with its line id)."""
        reasons = list(self.reasons)
        for line in self.line_responses:
            if line.reasons:
                reasons.extend(line.reasons)
            elif line.description:
                reasons.append(Reason(code=None, text=line.description, line=line.line_id))
        return reasons

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["issue_date"] = self.issue_date.isoformat() if self.issue_date else None
        data["referenced_issue_date"] = (
            self.referenced_issue_date.isoformat() if self.referenced_issue_date else None
        )
        data["effective_date"] = self.effective_date.isoformat() if self.effective_date else None
        data["sender"]["participant"] = self.sender.participant
        data["receiver"]["participant"] = self.receiver.participant
        data["reasons"] = [reason.as_dict() for reason in self.reasons]
        data["line_responses"] = [
            {
                "line_id": line.line_id,
                "response_code": line.response_code,
                "description": line.description,
                "reasons": [reason.as_dict() for reason in line.reasons],
            }
            for line in self.line_responses
        ]
        data["payment"] = self.payment.as_dict() if self.payment else None
        data["meaning"] = self.meaning
        return data


# --- reading -------------------------------------------------------------------------------------------


def _text(element: etree._Element | None) -> str | None:
    if element is None:
        return None
    value = " ".join("".join(str(part) for part in element.itertext()).split())
    return value or None


def _first(parent: etree._Element, path: str) -> etree._Element | None:
    found = parent.find(path, NS)
    return found


def _value(parent: etree._Element | None, path: str) -> str | None:
    return None if parent is None else _text(_first(parent, path))


def _date(parent: etree._Element | None, path: str, where: str) -> dt.date | None:
    value = _value(parent, path)
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise StatusDocumentError(where, f"{value!r} is not a date (YYYY-MM-DD)") from None


def _party(parent: etree._Element | None) -> Party:
    if parent is None:
        return Party()
    endpoint = _first(parent, "cbc:EndpointID")
    identification = _first(parent, "cac:PartyIdentification/cbc:ID")
    name = _value(parent, "cac:PartyLegalEntity/cbc:RegistrationName") or _value(
        parent, "cac:PartyName/cbc:Name"
    )
    return Party(
        endpoint_id=_text(endpoint),
        endpoint_scheme=endpoint.get("schemeID") if endpoint is not None else None,
        party_id=_text(identification),
        party_scheme=identification.get("schemeID") if identification is not None else None,
        name=name,
    )


def _reasons(response: etree._Element, line: str | None = None) -> list[Reason]:
    reasons: list[Reason] = []
    for status in response.findall("cac:Status", NS):
        code_element = _first(status, "cbc:StatusReasonCode")
        conditions = [
            {
                "attribute": _value(condition, "cbc:AttributeID"),
                "description": _value(condition, "cbc:Description"),
            }
            for condition in status.findall("cac:Condition", NS)
        ]
        reason = Reason(
            code=_text(code_element),
            list_id=(code_element.get("listID") or None) if code_element is not None else None,
            text=_value(status, "cbc:StatusReason"),
            conditions=conditions,
            line=line,
        )
        if reason.code or reason.text or reason.conditions:
            reasons.append(reason)
    return reasons


_AMOUNT = re.compile(r"^\s*(?:([A-Z]{3})\s*)?([+-]?\d+(?:\.\d+)?)\s*(?:([A-Z]{3}))?\s*$")


def _payment(reasons: list[Reason], effective_date: dt.date | None) -> PaymentHint:
    amount: Decimal | None = None
    currency: str | None = None
    for reason in reasons:
        for condition in reason.conditions:
            attribute = (condition.get("attribute") or "").strip().upper()
            description = condition.get("description") or ""
            if attribute not in _PAID_AMOUNT_ATTRIBUTES:
                continue
            match = _AMOUNT.match(description)
            if match is None:
                continue
            try:
                amount = Decimal(match.group(2))
            except InvalidOperation:  # pragma: no cover - the pattern only lets numbers through
                continue
            currency = match.group(1) or match.group(3)
    partial = any(reason.code == "PPD" for reason in reasons)
    return PaymentHint(amount=amount, currency=currency, paid_on=effective_date, partial=partial)


def _application_response(root: etree._Element) -> etree._Element:
    """The ApplicationResponse itself, also when it travels inside an SBDH envelope."""
    if local_name(root) == "StandardBusinessDocument" and etree.QName(root).namespace == SBDH_NS:
        for child in root:
            if isinstance(child.tag, str) and etree.QName(child).namespace == NS["ar"]:
                return child
        raise StatusDocumentError("document", "the SBDH envelope holds no ApplicationResponse")
    if etree.QName(root).namespace != NS["ar"] or local_name(root) != "ApplicationResponse":
        raise StatusDocumentError(
            "document", f"not a UBL ApplicationResponse (the root element is {local_name(root)})"
        )
    return root


def application_response_bytes(data: bytes) -> bytes:
    """The ApplicationResponse alone: `data` itself, or the document taken out of its SBDH envelope."""
    root = parse_xml(data)
    inner = _application_response(root)
    if inner is root:
        return data
    return etree.tostring(inner, encoding="UTF-8", xml_declaration=True)


def kind_of(customization_id: str | None) -> str | None:
    """`invoice-response`, `mlr`, `mls` for a CustomizationID, or None."""
    if not customization_id:
        return None
    base = customization_id.split("#", 1)[0].strip()
    if base in CUSTOMIZATIONS:
        return CUSTOMIZATIONS[base]
    if base.startswith(_MLS_PREFIX):
        return MLS
    return None


def parse(data: bytes) -> StatusDocument:
    """Read an Invoice Response, MLR or MLS; `FormatError` (malformed XML) or `StatusDocumentError`."""
    root = _application_response(parse_xml(data))
    customization = _value(root, "cbc:CustomizationID")
    kind = kind_of(customization)
    if kind is None or customization is None:
        raise StatusDocumentError(
            "CustomizationID",
            f"{customization!r} is not an Invoice Response, Message Level Response or Message Level Status "
            f"(known: {', '.join(CUSTOMIZATIONS)})",
        )
    document_response = _first(root, "cac:DocumentResponse")
    if document_response is None:
        raise StatusDocumentError("DocumentResponse", "missing")
    response = _first(document_response, "cac:Response")
    code = _value(response, "cbc:ResponseCode")
    if code is None:
        raise StatusDocumentError("DocumentResponse/Response/ResponseCode", "missing")
    if code not in RESPONSE_CODES[kind]:
        raise StatusDocumentError(
            "DocumentResponse/Response/ResponseCode",
            f"{code!r} is not a {KIND_TITLES[kind]} code (one of {', '.join(RESPONSE_CODES[kind])})",
        )
    reference = _first(document_response, "cac:DocumentReference")
    referenced_id = _value(reference, "cbc:ID")
    if referenced_id is None:
        raise StatusDocumentError("DocumentResponse/DocumentReference/ID", "missing")
    assert response is not None  # a ResponseCode was found in it
    reasons = _reasons(response)
    line_responses: list[LineResponse] = []
    for line_response in document_response.findall("cac:LineResponse", NS):
        line_id = _value(line_response, "cac:LineReference/cbc:LineID")
        for line_answer in line_response.findall("cac:Response", NS):
            line_responses.append(
                LineResponse(
                    line_id=line_id,
                    response_code=_value(line_answer, "cbc:ResponseCode"),
                    description=_value(line_answer, "cbc:Description"),
                    reasons=[
                        Reason(
                            code=r.code,
                            list_id=r.list_id,
                            text=r.text or _value(line_answer, "cbc:Description"),
                            conditions=r.conditions,
                            line=line_id,
                        )
                        for r in _reasons(line_answer, line_id)
                    ],
                )
            )
    effective_date = _date(response, "cbc:EffectiveDate", "DocumentResponse/Response/EffectiveDate")
    return StatusDocument(
        kind=kind,
        customization_id=customization,
        profile_id=_value(root, "cbc:ProfileID"),
        document_id=_value(root, "cbc:ID"),
        issue_date=_date(root, "cbc:IssueDate", "IssueDate"),
        issue_time=_value(root, "cbc:IssueTime"),
        note=_value(root, "cbc:Note"),
        sender=_party(_first(root, "cac:SenderParty")),
        receiver=_party(_first(root, "cac:ReceiverParty")),
        referenced_document_id=referenced_id,
        referenced_type_code=_value(reference, "cbc:DocumentTypeCode"),
        referenced_issue_date=_date(
            reference, "cbc:IssueDate", "DocumentResponse/DocumentReference/IssueDate"
        ),
        response_code=code,
        response_description=_value(response, "cbc:Description"),
        effective_date=effective_date,
        reasons=reasons,
        line_responses=line_responses,
        payment=_payment(reasons, effective_date) if kind == INVOICE_RESPONSE and code == "PD" else None,
    )


def sniff(data: bytes) -> bool:
    """Cheap check: an ApplicationResponse carrying one of the three CustomizationIDs."""
    if b"ApplicationResponse" not in data[:8192]:
        return False
    return any(key.encode() in data for key in CUSTOMIZATIONS) or _MLS_PREFIX.encode() in data


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from a status document (for `gateway inspect`)."""
    document = parse(data)
    return {
        "format": FORMAT_NAME,
        **document.as_dict(),
        "all_reasons": [r.as_dict() for r in document.all_reasons()],
    }
