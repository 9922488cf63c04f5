"""What a carrier's transport status says, whatever its syntax: per shipment, the references that find the
invoice, whether it was delivered, who signed, when and where.

The readers are `mappings.status.iftsta` (UN/EDIFACT IFTSTA) and `mappings.status.x12_214` (ASC X12 214);
both stand on our syntax layers, so a malformed envelope is refused exactly as everywhere else, with its
segment and position. A transport status that reports a delivery is a proof of delivery
(`mappings.status.pod_files`).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from mappings.base import FormatError
from mappings.syntax.interchanges import read_each, refusal_warning

#: The reference kinds a proof of delivery can carry (and that link it to invoices).
REFERENCE_KINDS = ("order_numbers", "delivery_notes", "shipment_ids", "invoice_numbers")
#: A signer named in free text ("SIGNED BY …", "POD: …").
SIGNED = re.compile(r"^\s*(?:signed\s*by|signatory|signature|received\s*by|pod)\s*[:\-]?\s*(.+)$", re.I)


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
    #: what the carrier should hear about the file: an interchange of it refused on its own (named), one
    #: read with tolerance (hard-wrapped, a needless release character)
    warnings: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "format": self.format,
            "document_number": self.document_number,
            "shipments": [s.as_dict() for s in self.shipments],
        }
        if self.warnings:
            data["warnings"] = list(self.warnings)
        return data


def add_reference(references: dict[str, list[str]], kind: str | None, value: str) -> None:
    value = value.strip()
    if kind and value and value not in references.setdefault(kind, []):
        references[kind].append(value)


def merged_references(*sources: dict[str, list[str]]) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for source in sources:
        for kind, values in source.items():
            for value in values:
                add_reference(out, kind, value)
    return out


def read_every_interchange(data: bytes, read_one: Callable[[bytes], TransportStatus]) -> TransportStatus:
    """`read_one` (a single-interchange reader) applied to each interchange of `data` (a carrier's batch of
    IFTSTA or 214 interchanges in one file): the shipments of every interchange that reads, in file order;
    each refused one named in a warning (its shipments are not read; the carrier resends it). Refused, with
    the first interchange's refusal, only when none reads. A file of one interchange is `read_one(data)`.

    Why partial: each interchange is the carrier's unit of its own, and a delivered shipment reported in a
    good one is a proof of delivery whatever a neighbouring interchange says."""
    readings = read_each(data, read_one)
    statuses = [r.value for r in readings if r.value is not None]
    if not statuses:
        error = readings[0].error
        assert error is not None
        raise error
    if len(readings) == 1:
        return statuses[0]
    merged = TransportStatus(format=statuses[0].format)
    for reading in readings:  # warnings in file order, the refusals among the rest
        status = reading.value
        if status is None:
            merged.warnings.append(refusal_warning(reading, "its shipments"))
            continue
        merged.shipments.extend(status.shipments)
        merged.document_number = merged.document_number or status.document_number
        merged.warnings.extend(f"interchange {reading.piece.index}: {warning}" for warning in status.warnings)
    return merged
