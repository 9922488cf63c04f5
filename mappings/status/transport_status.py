"""Transport status messages read as proofs of delivery: EDIFACT IFTSTA and ASC X12 214.

What the gateway needs from a carrier's status is small: per shipment, the references that find the invoice
(order numbers, delivery notes, shipment ids, invoice numbers), whether it was delivered, who signed, when
and where. Both readers stand on our syntax layers (`mappings.syntax.edifact`, `mappings.syntax.x12`), so a
malformed
envelope is refused exactly as everywhere else, with its segment and position.

IFTSTA (D.96A … D.01B): header RFF apply to every consignment; each CNI starts a consignment (CNI C503 is
its reference) with STS (C601 category, C555 status: UN/ECE Rec. 24 code 21 = delivered), RFF, DTM (334
status event, 35 delivery, 11 despatch…), LOC (place) and the signer in an FTX ("SIGNED BY …") or the NAD
of the delivery party (DP). X12 214: B10 (carrier reference, shipment id, SCAC), L11 references, LX loops
with AT7 (status D1 = delivered, date, time and time code), MS1 (city, state, country), G62 dates and the
POD segment (date, time, signer's name); a K1 remark "SIGNED BY …" names the signer when POD is absent.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from typing import Any

from mappings.base import FormatError
from mappings.syntax import edifact, x12

__all__ = [
    "REFERENCE_KINDS",
    "ShipmentStatus",
    "TransportStatus",
    "TransportStatusError",
    "inspect_transport_status",
    "parse_214",
    "parse_iftsta",
    "parse_transport_status",
    "sniff_214",
    "sniff_iftsta",
]

#: The reference kinds a proof of delivery can carry (and that link it to invoices).
REFERENCE_KINDS = ("order_numbers", "delivery_notes", "shipment_ids", "invoice_numbers")

#: EDIFACT 1153 reference code qualifiers → kind.
_EDIFACT_REFERENCES = {
    "ON": "order_numbers", "CO": "order_numbers", "VN": "order_numbers",
    "AAK": "delivery_notes", "DQ": "delivery_notes", "AAU": "delivery_notes",
    "CN": "shipment_ids", "SRN": "shipment_ids", "BN": "shipment_ids", "BM": "shipment_ids",
    "AAS": "shipment_ids", "CU": "shipment_ids",
    "IV": "invoice_numbers",
}  # fmt: skip
#: X12 128 reference identification qualifiers → kind.
_X12_REFERENCES = {
    "PO": "order_numbers", "CO": "order_numbers", "VN": "order_numbers", "OQ": "order_numbers",
    "DO": "delivery_notes", "PK": "delivery_notes",
    "BM": "shipment_ids", "SI": "shipment_ids", "CN": "shipment_ids", "BN": "shipment_ids",
    "IV": "invoice_numbers",
}  # fmt: skip
#: X12 1650 shipment status codes (AT701) → our status words.
_X12_STATUS = {
    "D1": "delivered", "X1": "arrived", "AF": "departed", "X6": "in-transit", "X4": "in-transit",
    "P1": "in-transit", "X3": "arrived-at-pickup", "AG": "estimated-delivery", "CD": "departed",
    "AP": "not-delivered", "A7": "refused", "A9": "damaged", "CA": "cancelled", "SD": "delayed",
}  # fmt: skip
#: UN/ECE Recommendation 24 transport status codes (IFTSTA STS C555) → our status words.
_EDIFACT_STATUS = {"21": "delivered"}
#: X12 623 time codes → UTC offset in hours; LT (local time, zone not said) is read as UTC.
_X12_ZONES = {
    "UT": 0, "GM": 0, "LT": 0, "ET": -5, "ES": -5, "ED": -4, "CT": -6, "CS": -6, "CD": -5,
    "MT": -7, "MS": -7, "MD": -6, "PT": -8, "PS": -8, "PD": -7,
}  # fmt: skip
_SIGNED = re.compile(r"^\s*(?:signed\s*by|signatory|signature|received\s*by|pod)\s*[:\-]?\s*(.+)$", re.I)
_EDIFACT_EVENT_DATES = ("334", "35", "17", "11", "132")


class TransportStatusError(FormatError):
    """A transport status the gateway cannot read (the envelope is fine, the message is not)."""


@dataclass
class ShipmentStatus:
    """One shipment's status as the carrier reported it."""

    references: dict[str, list[str]]
    status: str
    delivered: bool
    signer: str | None = None
    at: dt.datetime | None = None
    place: str | None = None
    status_code: str = ""

    def as_dict(self) -> dict[str, Any]:
        return {
            "references": self.references,
            "status": self.status,
            "status_code": self.status_code,
            "delivered": self.delivered,
            "signer": self.signer,
            "at": self.at.isoformat() if self.at else None,
            "place": self.place,
        }


@dataclass
class TransportStatus:
    """A transport status message: `format` "iftsta" or "x12-214", and its shipments in order."""

    format: str
    shipments: list[ShipmentStatus] = field(default_factory=list)
    document_number: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "format": self.format,
            "document_number": self.document_number,
            "shipments": [s.as_dict() for s in self.shipments],
        }


def _add(references: dict[str, list[str]], kind: str | None, value: str) -> None:
    value = value.strip()
    if kind and value and value not in references.setdefault(kind, []):
        references[kind].append(value)


def _merged(*sources: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for source in sources:
        for kind, values in source.items():
            for value in values:
                _add(out, kind, value)
    return out


# ----------------------------------------------------------------------------------------------------------
# EDIFACT IFTSTA


def sniff_iftsta(data: bytes) -> bool:
    """An EDIFACT interchange whose messages are all IFTSTA (at least one)."""
    return edifact.sniff_messages(data, "IFTSTA")


def _edifact_datetime(segment: edifact.Segment) -> dt.datetime:
    value, form = segment.get(1, 2), segment.get(1, 3) or "102"
    formats = {"102": "%Y%m%d", "203": "%Y%m%d%H%M", "204": "%Y%m%d%H%M%S", "201": "%y%m%d%H%M"}
    try:
        if form == "303" and len(value) == 15:  # CCYYMMDDHHMM and a zone such as +01 or UTC
            zone = value[12:]
            when = dt.datetime.strptime(value[:12], "%Y%m%d%H%M")
            offset = 0 if zone.upper() in {"UTC", "GMT", "ZZZ"} else int(zone)
            return when.replace(tzinfo=dt.timezone(dt.timedelta(hours=offset)))
        if form not in formats:
            raise ValueError(f"date/time format {form!r} is not read (102, 201, 203, 204, 303 are)")
        return dt.datetime.strptime(value, formats[form]).replace(tzinfo=dt.UTC)
    except ValueError as error:
        raise TransportStatusError(
            f"DTM at segment {segment.position}", f"{value!r} is not a date in format {form}: {error}"
        ) from None


def _edifact_signer(segment: edifact.Segment) -> str | None:
    if segment.tag == "FTX":
        text = " ".join(c for c in segment.elements[3] if c) if len(segment.elements) > 3 else ""
        match = _SIGNED.match(text)
        if match:
            return match.group(1).strip() or None
        return text.strip() or None if segment.get(1) in {"SIG", "DEL"} else None
    if segment.tag == "NAD" and segment.get(1) == "DP":
        return (segment.get(4) or segment.get(3)).strip() or None
    return None


def _iftsta_consignment(
    segments: list[edifact.Segment], header_references: dict[str, list[str]]
) -> ShipmentStatus:
    references: dict[str, list[str]] = {}
    cni = segments[0]
    _add(references, "shipment_ids", cni.get(2, 1))
    statuses: list[tuple[str, str]] = []
    dates: dict[str, dt.datetime] = {}
    signer: str | None = None
    place: str | None = None
    for segment in segments[1:]:
        if segment.tag == "STS":
            code, text = segment.get(2, 1), segment.get(2, 4)
            statuses.append((code, text))
        elif segment.tag == "RFF":
            _add(references, _EDIFACT_REFERENCES.get(segment.get(1, 1)), segment.get(1, 2))
        elif segment.tag == "DTM" and segment.get(1, 2):
            dates.setdefault(segment.get(1, 1), _edifact_datetime(segment))
        elif segment.tag == "LOC" and place is None:
            place = (segment.get(2, 4) or segment.get(2, 1)).strip() or None
        elif segment.tag in {"FTX", "NAD"} and signer is None:
            signer = _edifact_signer(segment)
    if not statuses:
        raise TransportStatusError(f"CNI at segment {cni.position}", "the consignment has no STS status")

    def word(code: str, text: str) -> str:
        if code in _EDIFACT_STATUS:
            return _EDIFACT_STATUS[code]
        return "delivered" if "DELIVERED" in text.upper() else (text.strip().lower() or f"status-{code}")

    delivered = next(((c, t) for c, t in statuses if word(c, t) == "delivered"), None)
    code, text = delivered or statuses[-1]
    at = next((dates[q] for q in _EDIFACT_EVENT_DATES if q in dates), None)
    return ShipmentStatus(
        references=_merged(header_references, references),
        status=word(code, text),
        delivered=delivered is not None,
        signer=signer,
        at=at,
        place=place,
        status_code=code,
    )


def parse_iftsta(data: bytes) -> TransportStatus:
    """Every consignment of every IFTSTA message in the interchange (envelope checked strictly)."""
    interchange = edifact.parse_interchange(data)
    result = TransportStatus(format="iftsta")
    for message in interchange.all_messages:
        if message.type != "IFTSTA":
            raise TransportStatusError(f"UNH {message.reference}", f"a {message.type}, not an IFTSTA")
        header: dict[str, list[str]] = {}
        loops: list[list[edifact.Segment]] = []
        for segment in message.segments:
            if segment.tag == "CNI":
                loops.append([segment])
            elif loops:
                loops[-1].append(segment)
            elif segment.tag == "RFF":
                _add(header, _EDIFACT_REFERENCES.get(segment.get(1, 1)), segment.get(1, 2))
            elif segment.tag == "BGM" and result.document_number is None:
                result.document_number = segment.get(2, 1) or None
        if not loops:
            raise TransportStatusError(f"UNH {message.reference}", "the IFTSTA has no CNI consignment")
        result.shipments.extend(_iftsta_consignment(loop, header) for loop in loops)
    return result


# ----------------------------------------------------------------------------------------------------------
# X12 214


def sniff_214(data: bytes) -> bool:
    """An X12 interchange (ISA first) carrying at least one 214 transaction set."""
    if not x12.sniff(data):
        return False
    start = data.find(b"ISA")
    separator = re.escape(data[start + 3 : start + 4])
    return re.search(rb"(?:^|[^A-Za-z0-9])ST" + separator + rb"214" + separator, data) is not None


def _x12_datetime(segment: x12.Segment, date: str, time: str, code: str) -> dt.datetime:
    digits = time[:6] if time else ""
    try:
        day = dt.datetime.strptime(date, "%Y%m%d" if len(date) == 8 else "%y%m%d")
        if digits:
            clock = dt.datetime.strptime(digits, "%H%M%S" if len(digits) == 6 else "%H%M")
            day = day.replace(hour=clock.hour, minute=clock.minute, second=clock.second)
    except ValueError:
        raise TransportStatusError(
            f"{segment.tag} at segment {segment.position}", f"{date!r} {time!r} is not a date and time"
        ) from None
    offset = _X12_ZONES.get(code, 0)
    return day.replace(tzinfo=dt.timezone(dt.timedelta(hours=offset)))


def _place(ms1: x12.Segment) -> str | None:
    parts = [ms1.get(1).strip(), ms1.get(2).strip(), ms1.get(3).strip()]
    return ", ".join(p for p in parts if p) or None


def _parse_214_set(transaction: x12.TransactionSet) -> ShipmentStatus:
    references: dict[str, list[str]] = {}
    b10 = next((s for s in transaction.segments if s.tag == "B10"), None)
    if b10 is None:
        raise TransportStatusError(f"ST {transaction.control_number}", "the 214 has no B10 segment")
    _add(references, "shipment_ids", b10.get(2))
    _add(references, "shipment_ids", b10.get(1))
    # (status code, when, place) per AT7; the place and POD of its LX loop follow it
    statuses: list[dict[str, Any]] = []
    signer: str | None = None
    pod_at: dt.datetime | None = None
    for segment in transaction.segments:
        if segment.tag == "L11":
            _add(references, _X12_REFERENCES.get(segment.get(2)), segment.get(1))
        elif segment.tag == "LX":
            statuses.append({"code": "", "at": None, "place": None})
        elif segment.tag == "AT7":
            if not statuses or statuses[-1]["code"]:
                statuses.append({"code": "", "at": None, "place": None})
            statuses[-1]["code"] = segment.get(1) or segment.get(3)
            if segment.get(5):
                statuses[-1]["at"] = _x12_datetime(segment, segment.get(5), segment.get(6), segment.get(7))
        elif segment.tag == "MS1" and statuses and statuses[-1]["place"] is None:
            statuses[-1]["place"] = _place(segment)
        elif segment.tag == "G62" and statuses and statuses[-1]["at"] is None and segment.get(2):
            statuses[-1]["at"] = _x12_datetime(segment, segment.get(2), segment.get(4), segment.get(5))
        elif segment.tag == "POD":
            signer = segment.get(3).strip() or signer
            if segment.get(1):
                pod_at = _x12_datetime(segment, segment.get(1), segment.get(2), "")
        elif segment.tag == "K1" and signer is None:
            match = _SIGNED.match(f"{segment.get(1)} {segment.get(2)}".strip())
            signer = match.group(1).strip() if match else None
    reported = [s for s in statuses if s["code"]]
    if not reported:
        raise TransportStatusError(f"ST {transaction.control_number}", "the 214 has no AT7 shipment status")
    delivered = next((s for s in reported if _X12_STATUS.get(s["code"]) == "delivered"), None)
    chosen = delivered or reported[-1]
    return ShipmentStatus(
        references=references,
        status=_X12_STATUS.get(chosen["code"], f"status-{chosen['code']}"),
        delivered=delivered is not None,
        signer=signer,
        at=pod_at or chosen["at"],
        place=chosen["place"],
        status_code=chosen["code"],
    )


def parse_214(data: bytes) -> TransportStatus:
    """One shipment per 214 transaction set (the envelope checked strictly, as `mappings.syntax.x12` does)."""
    interchange = x12.parse_interchange(data)
    result = TransportStatus(format="x12-214")
    for transaction in interchange.transactions:
        if transaction.set_id != "214":
            where = f"ST {transaction.control_number}"
            raise TransportStatusError(where, f"a {transaction.set_id}, not a 214")
        result.shipments.append(_parse_214_set(transaction))
    if not result.shipments:
        raise TransportStatusError("GS", "the interchange carries no 214 transaction set")
    return result


# ----------------------------------------------------------------------------------------------------------
# Either


def parse_transport_status(data: bytes) -> TransportStatus:
    """IFTSTA or 214, whichever `data` is; `FormatError` for anything else."""
    if sniff_iftsta(data):
        return parse_iftsta(data)
    if sniff_214(data):
        return parse_214(data)
    raise TransportStatusError("file", "not an EDIFACT IFTSTA or an X12 214 transport status")


def inspect_transport_status(data: bytes) -> dict[str, Any]:
    """What the gateway reads from a transport status (for `gateway inspect --json`): the shipments, and
    the envelope as `inspect_edifact` / `inspect_x12` show it."""
    status = parse_transport_status(data)
    envelope = edifact.inspect_edifact(data) if status.format == "iftsta" else x12.inspect_x12(data)
    return {**status.as_dict(), "envelope": envelope}
