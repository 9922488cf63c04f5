"""Nets' AvtaleGiro agreements file: which payers signed, changed or ended a mandate with the payee.

Nets sends it (service code 21, assignment type 24) to the payee's file service, the same way the OCR giro
payment files come: each line names a KID, whether the mandate is new or updated, or deleted (or, in a full
list, simply active), and whether the payer wants the bank to notify them of each claim. The claim files
that use the mandates are `mappings.consumer.avtalegiro`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any, Literal

from netsgiro import AssignmentType, AvtaleGiroRegistrationType
from netsgiro.objects import Agreement

from mappings.base import FormatError
from mappings.consumer.avtalegiro import first_assignment_start, read_transmission
from mappings.remittance import ocr_giro

AGREEMENTS_FORMAT = "avtalegiro-agreements"
_AGREEMENTS_START = b"NY212420"

MandateStatus = Literal["active", "deleted"]


@dataclass(frozen=True)
class MandateUpdate:
    """One line of Nets' agreements file: the mandate for `kid` is now `status`, notify or not."""

    kid: str
    status: MandateStatus
    #: what Nets said: "new or updated", "deleted", or "active" (a full list of the active mandates)
    registration: str
    #: the payer wants the bank to notify them of each claim
    notify: bool
    line: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "kid": self.kid,
            "status": self.status,
            "registration": self.registration,
            "notify": self.notify,
            "line": self.line,
        }


@dataclass(frozen=True)
class AgreementsFile:
    """Nets' agreements file: which payee account it is about, when Nets wrote it, and each mandate."""

    number: str
    account: str
    nets_date: dt.date | None
    mandates: tuple[MandateUpdate, ...] = field(default_factory=tuple)
    #: a full list (registration type 0): mandates missing from it have ended
    complete: bool = False


def sniff(data: bytes) -> bool:
    """Nets' AvtaleGiro agreements file: a Nets transmission whose first assignment is AvtaleGiro type 24
    (before the OCR giro reader, which would take it for a payment file)."""
    return first_assignment_start(data) == _AGREEMENTS_START


_REGISTRATIONS: dict[AvtaleGiroRegistrationType, tuple[MandateStatus, str]] = {
    AvtaleGiroRegistrationType.ACTIVE_AGREEMENT: ("active", "active"),
    AvtaleGiroRegistrationType.NEW_OR_UPDATED_AGREEMENT: ("active", "new or updated"),
    AvtaleGiroRegistrationType.DELETED_AGREEMENT: ("deleted", "deleted"),
}


def parse(data: bytes) -> AgreementsFile:
    """Nets' agreements file: each mandate's KID, status (active / deleted) and notify flag."""
    if not sniff(data):
        raise FormatError("line 2", "not an AvtaleGiro agreements file (its first assignment is not 21/24)")
    facts = ocr_giro.inspect(data)
    transmission = read_transmission(data)
    if len(transmission.assignments) != 1:
        raise FormatError("file", "an agreements file holds one assignment (one payee account)")
    (assignment,) = transmission.assignments
    if assignment.type != AssignmentType.AVTALEGIRO_AGREEMENTS:
        raise FormatError("assignment 1", "an agreements file holds AvtaleGiro agreements (type 24) only")
    lines = [agreement["line"] for agreement in facts.get("agreements", [])]
    mandates: list[MandateUpdate] = []
    registrations: set[AvtaleGiroRegistrationType] = set()
    for agreement, line in zip(assignment.transactions, lines, strict=True):
        assert isinstance(agreement, Agreement)
        registration = AvtaleGiroRegistrationType(agreement.registration_type)
        registrations.add(registration)
        if not agreement.kid:
            raise FormatError(f"line {line} (AvtaleGiro agreement)", "an agreement without a KID")
        status, said = _REGISTRATIONS[registration]
        mandates.append(MandateUpdate(agreement.kid, status, said, bool(agreement.notify), line))
    return AgreementsFile(
        number=transmission.number,
        account=assignment.account,
        nets_date=transmission.date,
        mandates=tuple(mandates),
        complete=bool(registrations) and registrations == {AvtaleGiroRegistrationType.ACTIVE_AGREEMENT},
    )


def inspect(data: bytes) -> dict[str, Any]:
    """What an agreements file says, for `gateway inspect`: each mandate's KID, status and notify flag."""
    read = parse(data)
    return {
        "format": AGREEMENTS_FORMAT,
        "meaning": "Nets telling the payee which payers signed, changed or ended an AvtaleGiro mandate",
        "transmission": read.number,
        "account": read.account,
        "nets_date": read.nets_date.isoformat() if read.nets_date else None,
        "complete_list": read.complete,
        "mandates": [mandate.as_dict() for mandate in read.mandates],
    }


__all__ = ["AGREEMENTS_FORMAT", "AgreementsFile", "MandateUpdate", "inspect", "parse", "sniff"]
