"""X12 TA1: a partner's interchange acknowledgement, read into `Acknowledgement`.

A TA1 answers a whole interchange (TA101 its control number) with A, E or R (TA104) and a note code
(TA105). It stands between ISA and the first GS, so one file may carry several; `mappings.acks.x12_acks`
reads them all. Our own TA1s are written by `mappings.acks.functional_ack.answer`. Pure, no I/O.
"""

from __future__ import annotations

from mappings.acks import x12_codes
from mappings.acks.model import TA1, AckEnvelope, AckError, AckFormatError, Acknowledgement
from mappings.syntax import x12


def read_segment(segment: x12.Segment, envelope: AckEnvelope) -> Acknowledgement:
    """One TA1: the verdict on the interchange it names (TA101), with its TA105 note as the error.

    The TA1 carries its own date and time (TA102 / TA103); `envelope.prepared` is not used.
    """
    code = segment.get(4)
    status = x12_codes.TA1_ACK_CODES.get(code)
    if status is None:
        raise AckFormatError(
            f"segment {segment.position} (TA1): element 4",
            f"interchange acknowledgement code (TA104) {code!r} is not A, E or R",
        )
    note_code = segment.get(5)
    errors: tuple[AckError, ...] = ()
    note = {
        "A": "interchange accepted",
        "E": "interchange accepted with errors noted (do not resend)",
        "R": "interchange rejected",
    }[code]
    if note_code and note_code != "000":
        errors = (
            AckError(
                None,
                "ISA",
                None,
                None,
                note_code,
                x12_codes.X12_INTERCHANGE_NOTES.get(note_code, f"interchange note {note_code}"),
            ),
        )
    return Acknowledgement(
        kind=TA1,
        standard="x12",
        sender=envelope.sender,
        recipient=envelope.recipient,
        of_interchange_ref=segment.get(1) or None,
        of_group_ref=None,
        status=status,
        errors=errors,
        note=note,
        control_ref=envelope.control_ref,
        warnings=envelope.warnings,
        prepared=f"{segment.get(2)} {segment.get(3)}".strip(),
    )
