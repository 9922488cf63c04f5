"""ASC X12 214 carrier shipment status, read as a proof of delivery (registry format "x12-214").

B10 (carrier reference, shipment id, SCAC), L11 references, LX loops with AT7 (status D1 = delivered,
date, time and time code), MS1 (city, state, country), G62 dates and the POD segment (date, time, signer's
name); a K1 remark "SIGNED BY …" names the signer when POD is absent. The envelope is checked strictly by
`mappings.syntax.x12.parse`.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from mappings.status.transport_status import (
    SIGNED,
    ShipmentStatus,
    TransportStatus,
    TransportStatusError,
    add_reference,
    read_every_interchange,
)
from mappings.syntax import x12

FORMAT_NAME = "x12-214"
SET_ID = "214"

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
#: X12 623 time codes → UTC offset in hours; LT (local time, zone not said) is read as UTC.
_X12_ZONES = {
    "UT": 0, "GM": 0, "LT": 0, "ET": -5, "ES": -5, "ED": -4, "CT": -6, "CS": -6, "CD": -5,
    "MT": -7, "MS": -7, "MD": -6, "PT": -8, "PS": -8, "PD": -7,
}  # fmt: skip


def sniff(data: bytes) -> bool:
    """An X12 interchange (ISA first) carrying at least one 214 transaction set."""
    return x12.has_set(data, SET_ID)


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
    add_reference(references, "shipment_ids", b10.get(2))
    add_reference(references, "shipment_ids", b10.get(1))
    # (status code, when, place) per AT7; the place and POD of its LX loop follow it
    statuses: list[dict[str, Any]] = []
    signer: str | None = None
    pod_at: dt.datetime | None = None
    for segment in transaction.segments:
        if segment.tag == "L11":
            add_reference(references, _X12_REFERENCES.get(segment.get(2)), segment.get(1))
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
            match = SIGNED.match(f"{segment.get(1)} {segment.get(2)}".strip())
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


def parse(data: bytes) -> TransportStatus:
    """One shipment per 214 transaction set (the envelope checked strictly, as `mappings.syntax.x12` does);
    in a file of several interchanges (ISA…IEA, ISA…IEA: a carrier's batch), those of each that reads, a
    refused one named in a warning (`transport_status.read_every_interchange`)."""
    return read_every_interchange(data, _parse_interchange)


def _parse_interchange(data: bytes) -> TransportStatus:
    interchange = x12.parse(data)
    result = TransportStatus(format=FORMAT_NAME)
    for transaction in interchange.transactions:
        if transaction.set_id != SET_ID:
            where = f"ST {transaction.control_number}"
            raise TransportStatusError(where, f"a {transaction.set_id}, not a 214")
        result.shipments.append(_parse_214_set(transaction))
    if not result.shipments:
        raise TransportStatusError("GS", "the interchange carries no 214 transaction set")
    return result


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from a 214 (for `gateway inspect --json`): the shipments, and the envelope as
    `mappings.syntax.x12.inspect` shows it."""
    return {**parse(data).as_dict(), "envelope": x12.inspect(data)}
