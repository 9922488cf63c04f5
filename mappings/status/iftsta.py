"""UN/EDIFACT IFTSTA transport status (D.96A … D.01B), read as a proof of delivery (registry format "iftsta").

Header RFF apply to every consignment; each CNI starts a consignment (CNI C503 is its reference) with STS
(C601 category, C555 status: UN/ECE Rec. 24 code 21 = delivered), RFF, DTM (334 status event, 35 delivery,
11 despatch…), LOC (place) and the signer in an FTX ("SIGNED BY …") or the NAD of the delivery party (DP).
The envelope is checked strictly by `mappings.syntax.edifact.parse`.
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
    merged_references,
    read_every_interchange,
)
from mappings.syntax import edifact

FORMAT_NAME = "iftsta"
MESSAGE_TYPE = "IFTSTA"

#: EDIFACT 1153 reference code qualifiers → kind.
_EDIFACT_REFERENCES = {
    "ON": "order_numbers", "CO": "order_numbers", "VN": "order_numbers",
    "AAK": "delivery_notes", "DQ": "delivery_notes", "AAU": "delivery_notes",
    "CN": "shipment_ids", "SRN": "shipment_ids", "BN": "shipment_ids", "BM": "shipment_ids",
    "AAS": "shipment_ids", "CU": "shipment_ids",
    "IV": "invoice_numbers",
}  # fmt: skip
#: UN/ECE Recommendation 24 transport status codes (IFTSTA STS C555) → our status words.
_EDIFACT_STATUS = {"21": "delivered"}
_EDIFACT_EVENT_DATES = ("334", "35", "17", "11", "132")


def sniff(data: bytes) -> bool:
    """An EDIFACT interchange whose messages are all IFTSTA (at least one)."""
    return edifact.all_messages_are(data, MESSAGE_TYPE)


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
        match = SIGNED.match(text)
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
    add_reference(references, "shipment_ids", cni.get(2, 1))
    statuses: list[tuple[str, str]] = []
    dates: dict[str, dt.datetime] = {}
    signer: str | None = None
    place: str | None = None
    for segment in segments[1:]:
        if segment.tag == "STS":
            code, text = segment.get(2, 1), segment.get(2, 4)
            statuses.append((code, text))
        elif segment.tag == "RFF":
            add_reference(references, _EDIFACT_REFERENCES.get(segment.get(1, 1)), segment.get(1, 2))
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
        references=merged_references(header_references, references),
        status=word(code, text),
        delivered=delivered is not None,
        signer=signer,
        at=at,
        place=place,
        status_code=code,
    )


def parse(data: bytes) -> TransportStatus:
    """Every consignment of every IFTSTA message in the interchange (envelope checked strictly); in a file of
    several interchanges (a carrier's batch), those of each that reads, a refused one named in a warning
    (`transport_status.read_every_interchange`)."""
    return read_every_interchange(data, _parse_interchange)


def _parse_interchange(data: bytes) -> TransportStatus:
    interchange = edifact.parse(data)
    result = TransportStatus(format=FORMAT_NAME, warnings=list(interchange.warnings))
    for message in interchange.all_messages:
        if message.type != MESSAGE_TYPE:
            raise TransportStatusError(f"UNH {message.reference}", f"a {message.type}, not an IFTSTA")
        header: dict[str, list[str]] = {}
        loops: list[list[edifact.Segment]] = []
        for segment in message.segments:
            if segment.tag == "CNI":
                loops.append([segment])
            elif loops:
                loops[-1].append(segment)
            elif segment.tag == "RFF":
                add_reference(header, _EDIFACT_REFERENCES.get(segment.get(1, 1)), segment.get(1, 2))
            elif segment.tag == "BGM" and result.document_number is None:
                result.document_number = segment.get(2, 1) or None
        if not loops:
            raise TransportStatusError(f"UNH {message.reference}", "the IFTSTA has no CNI consignment")
        result.shipments.extend(_iftsta_consignment(loop, header) for loop in loops)
    return result


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from an IFTSTA (for `gateway inspect --json`): the shipments, and the envelope
    as `mappings.syntax.edifact.inspect` shows it."""
    return {**parse(data).as_dict(), "envelope": edifact.inspect(data)}
