"""X12 functional acknowledgements: read a partner's 997 / 999, and write the 997 / 999 (and TA1) that answer
a partner's interchange.

Reading (`read_set`): one 997 or 999 transaction set, the group it answers and, per transaction set, the
errors it reports (AK3/AK4 or IK3/IK4 with CTX) and its verdict (AK5 / IK5), with the group's (AK9).

Writing (`answer`): one functional acknowledgement per received group — a 997, or a 999 where `kind_for`
says so — plus a TA1 when the interchange level is in error, a duplicate, or ISA14 asked for one; always in
the partner's ISA version, with our envelope (us → the partner, our control numbers) and the codes
`mappings.acks.x12_codes.error_codes` gives for the syntax layer's errors.

Pure functions, no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

from mappings.acks import x12_codes
from mappings.acks.model import (
    ACCEPTED,
    CONTROL_CHARACTERS,
    FA997,
    FA999,
    REJECTED,
    AckEnvelope,
    AckError,
    AckFormatError,
    Acknowledgement,
    MessageAck,
    int_or_none,
)
from mappings.base import FormatError
from mappings.syntax import lenient, x12
from mappings.syntax.edi_envelope import EdiEnvelope

# ----------------------------------------------------------------------------------------------------------
# Reading


def _set_errors(
    segments: Sequence[x12.Segment], start: int, implementation: bool
) -> tuple[list[AckError], int]:
    """AK3/AK4 (IK3/IK4, CTX) after an AK2 at `start`; (errors, index of the AK5/IK5 or next AK2)."""
    seg_tag, elem_tag = ("IK3", "IK4") if implementation else ("AK3", "AK4")
    errors: list[AckError] = []
    index = start
    current: tuple[int | None, str] = (None, "")
    while index < len(segments):
        segment = segments[index]
        if segment.tag == seg_tag:
            current = (int_or_none(segment.get(2)), segment.get(1))
            code = segment.get(4)
            errors.append(
                AckError(
                    current[0],
                    current[1],
                    None,
                    None,
                    code,
                    x12_codes.X12_SEGMENT_ERRORS.get(code, f"segment error {code}" if code else ""),
                )
            )
        elif segment.tag == elem_tag:
            code = segment.get(3)
            text = x12_codes.X12_ELEMENT_ERRORS.get(code, f"element error {code}")
            if segment.get(2):
                text += f", data element {segment.get(2)}"
            if segment.get(4):
                text += f", bad value {segment.get(4)!r}"
            errors.append(
                AckError(
                    current[0],
                    current[1],
                    int_or_none(segment.get(1, 1)),
                    int_or_none(segment.get(1, 2)),
                    code,
                    text,
                )
            )
        elif segment.tag == "CTX" and errors:
            context = " ".join(":".join(c for c in e if c) for e in segment.elements if any(e))
            last = errors[-1]
            errors[-1] = replace(last, text=f"{last.text} [context {context}]")
        else:
            break
        index += 1
    return errors, index


def read_set(transaction: x12.TransactionSet, envelope: AckEnvelope) -> Acknowledgement:
    """One 997 or 999: the group it answers (AK1), per set AK2 with its AK3/AK4 (IK3/IK4, CTX) errors and
    AK5 / IK5 verdict, and AK9 for the group. `AckFormatError` without AK1 or AK9."""
    implementation = transaction.set_id == FA999
    set_status_tag = "IK5" if implementation else "AK5"
    segments = transaction.segments
    ak1 = next((s for s in segments if s.tag == "AK1"), None)
    if ak1 is None:
        raise AckFormatError(f"segment {transaction.position} (ST)", f"a {transaction.set_id} without AK1")
    messages: list[MessageAck] = []
    errors: list[AckError] = []
    group_status: str | None = None
    counts_note = ""
    index = 0
    while index < len(segments):
        segment = segments[index]
        if segment.tag == "AK2":
            found, index = _set_errors(segments, index + 1, implementation)
            status = ACCEPTED
            if index < len(segments) and segments[index].tag == set_status_tag:
                trailer = segments[index]
                status = x12_codes.X12_ACK_CODES.get(trailer.get(1), REJECTED)
                for element in range(2, 7):
                    code = trailer.get(element)
                    if code:
                        found.append(
                            AckError(
                                None,
                                "",
                                None,
                                None,
                                code,
                                x12_codes.X12_SET_ERRORS.get(code, f"transaction set error {code}"),
                            )
                        )
                if trailer.get(1) == "E":
                    found.append(AckError(None, "", None, None, "E", "accepted, but errors were noted"))
                index += 1
            messages.append(MessageAck(segment.get(2), segment.get(1), status, tuple(found)))
            continue
        if segment.tag == "AK9":
            group_status = x12_codes.X12_ACK_CODES.get(segment.get(1), REJECTED)
            for element in range(5, 10):
                code = segment.get(element)
                if code:
                    errors.append(
                        AckError(
                            None,
                            "GS",
                            None,
                            None,
                            code,
                            x12_codes.X12_GROUP_ERRORS.get(code, f"functional group error {code}"),
                        )
                    )
            counts = (segment.get(2), segment.get(3), segment.get(4))
            if any(counts):
                counts_note = (
                    f"sets included {counts[0] or '?'}, received {counts[1] or '?'}, "
                    f"accepted {counts[2] or '?'}"
                )
        index += 1
    if group_status is None:
        raise AckFormatError(f"segment {transaction.position} (ST)", f"a {transaction.set_id} without AK9")
    note = f"group {ak1.get(2)} ({ak1.get(1)})"
    if counts_note:
        note += f": {counts_note}"
    return Acknowledgement(
        kind=transaction.set_id,
        standard="x12",
        sender=envelope.sender,
        recipient=envelope.recipient,
        of_interchange_ref=None,
        of_group_ref=ak1.get(2) or None,
        status=group_status,
        messages=tuple(messages),
        errors=tuple(errors),
        note=note,
        control_ref=envelope.control_ref,
        message_ref=transaction.control_number,
        warnings=envelope.warnings,
        prepared=envelope.prepared,
    )


# ----------------------------------------------------------------------------------------------------------
# Writing



def _subject_x12(received: x12.Interchange | bytes | str) -> x12.Interchange:
    if isinstance(received, x12.Interchange):
        return received
    try:
        return x12.parse(received)
    except x12.X12SyntaxError:
        return lenient.loose_x12_interchange(received)[0]


def kind_for(version: str, group_version: str) -> str:
    """997 or 999 for a received group: 999 only from 005010 on and when the group names an implementation
    guide (GS08 like 005010X218, as HIPAA exchanges do); otherwise the 997 every X12 partner reads."""
    digits = group_version[:6]
    if digits.isdigit() and int(digits) >= 5010 and len(group_version) > 6 and group_version[6] == "X":
        return FA999
    return FA997


@dataclass
class _SetReport:
    transaction: x12.TransactionSet
    set_codes: list[str] = field(default_factory=list)
    segments: list[x12.Segment] = field(default_factory=list)


def _locate_x12(
    interchange: x12.Interchange, position: int
) -> tuple[x12.FunctionalGroup | None, x12.TransactionSet | None]:
    for index, group in enumerate(interchange.groups):
        following = interchange.groups[index + 1].position if index + 1 < len(interchange.groups) else None
        for transaction in group.transactions:
            if transaction.position <= position <= transaction.position + len(transaction.segments) + 1:
                return group, transaction
        if position >= group.position and (following is None or position < following):
            last = group.transactions[-1] if group.transactions else None
            end = last.position + len(last.segments) + 2 if last is not None else group.position + 1
            if position <= end:
                return group, None
    return None, None


_SET_NAMED = re.compile(r"transaction set '([^']*)' \(ST at segment (\d+)\)")


def _bad_value(
    interchange: x12.Interchange,
    data: bytes | None,
    position: int,
    element: int | None,
    component: int | None,
) -> str:
    """A copy of the bad data element (AK404), when it can be read and written back safely."""
    if data is None or element is None:
        return ""
    try:
        segments, _ = lenient.loose_x12_segments(data)
    except FormatError:
        return ""
    segment = next((s for s in segments if s.position == position), None)
    if segment is None:
        return ""
    value = segment.get(element, component or 1)
    sep = interchange.separators
    if any(c in value for c in (sep.element, sep.component, sep.segment)):
        return ""
    return value[:99]


def answer(
    received: x12.Interchange | bytes,
    *,
    envelope: EdiEnvelope,
    accepted: bool,
    errors: Sequence[x12.X12SyntaxError] = (),
    duplicate: bool = False,
    set_refs: Sequence[str] | None = None,
    functional_ack: str | None = None,
) -> bytes:
    """An X12 answer to `received` (parsed, or the raw bytes the syntax layer refused with `errors`).

    One functional acknowledgement per received group — a 997, or a 999 where `kind_for` says so
    (or `functional_ack` asks): AK1 (AK103 from 005010), per set AK2 + AK3/AK4 (IK3/IK4) for a segment or
    element in error (position from ST = 1, element, component, a copy of the bad value) + AK5/IK5 with the
    AK502 code, and AK9 with the counts and AK905 codes. Interchange-level errors and duplicates are a TA1
    (TA104 R, TA105 note; 025 for a duplicate) and no group answer; a TA1 A also goes back when ISA14 asked.
    The envelope is ours (us → the partner, our numbers); the ISA version is the partner's. `set_refs` are
    the ST02 numbers, one per answered group (default: `envelope.message_ref`, counted up).
    """
    if accepted and (errors or duplicate):
        raise ValueError("an accepted interchange has no errors")
    data = received if isinstance(received, bytes) else None
    subject = _subject_x12(received)
    ta1_note: str | None = None
    group_codes: dict[int, list[str]] = {}
    reports: dict[int, _SetReport] = {}
    if duplicate:
        ta1_note = "025"
    for error in errors:
        position = error.segment_position
        named = _SET_NAMED.search(error.reason)
        if named and re.search(r"has no SE|its SE is missing", error.reason):
            position = int(named.group(2))
        group, transaction = _locate_x12(subject, position) if position else (None, None)
        codes = x12_codes.error_codes(error, in_set=transaction is not None, in_group=group is not None)
        if codes.level == "interchange" or group is None:
            ta1_note = ta1_note or (codes.code if codes.level == "interchange" else "024")
            continue
        if transaction is None or codes.level == "group":
            if codes.level == "group":
                group_codes.setdefault(group.position, []).append(codes.code)
            else:
                group_codes.setdefault(group.position, [])
            continue
        report = reports.setdefault(transaction.position, _SetReport(transaction))
        if codes.level == "set":
            report.set_codes.append(codes.code)
            continue
        report.set_codes.append("5")
        in_set = position - transaction.position + 1
        report.segments.append(
            x12.Segment.of(
                "AK3",
                error.segment_tag or "",
                str(in_set),
                "",
                "8" if codes.level == "element" else codes.code,
            )
        )
        if codes.level == "element":
            bad = _bad_value(subject, data, position, error.element_index, error.component_index)
            report.segments.append(
                x12.Segment.of(
                    "AK4", (str(error.element_index), str(error.component_index or "")), "", codes.code, bad
                )
            )
    acknowledgments: list[x12.Segment] = []
    if ta1_note is not None or subject.ack_requested == "1":
        acknowledgments.append(
            x12.Segment.of(
                "TA1",
                subject.control_number.zfill(9),
                subject.date,
                subject.time,
                "R" if ta1_note is not None else "A",
                ta1_note or "000",
            )
        )
    transactions: list[x12.TransactionSet] = []
    kinds: set[str] = set()
    if ta1_note is None:
        refs = list(set_refs or [])
        for index, group in enumerate(subject.groups):
            kind = functional_ack or kind_for(subject.version, group.version)
            kinds.add(kind)
            ref = refs[index] if index < len(refs) else _counted(envelope.message_ref, index)
            transactions.append(
                _answer_set(group, kind, ref.zfill(4), accepted, group_codes.get(group.position), reports)
            )
    groups: list[x12.FunctionalGroup] = []
    if transactions:
        kind = FA999 if FA999 in kinds else FA997
        version = "005010X231A1" if kind == FA999 else _base_version(subject)
        date = envelope.prepared.strftime("%Y%m%d" if version[:6] >= "004010" else "%y%m%d")
        groups.append(
            x12.FunctionalGroup(
                "FA",
                envelope.group_sender_id or envelope.sender_id,
                envelope.group_recipient_id or envelope.recipient_id,
                date,
                envelope.prepared.strftime("%H%M"),
                envelope.group_ref or envelope.interchange_ref,
                "X",
                version,
                transactions,
            )
        )
    version = _isa_version(subject)
    repetition = envelope.x12_repetition_separator if version >= "00402" else None
    separators = x12.Separators(
        envelope.x12_element_separator,
        envelope.x12_component_separator,
        envelope.x12_segment_terminator,
        repetition,
    )
    interchange = x12.build_interchange(
        sender=x12.Party(envelope.sender_qualifier, envelope.sender_id),
        receiver=x12.Party(envelope.recipient_qualifier, envelope.recipient_id),
        control_number=envelope.interchange_ref,
        prepared=envelope.prepared,
        groups=groups,
        version=version,
        usage_indicator="T" if envelope.test else "P",
        ack_requested="0",
        separators=separators,
    )
    interchange.acknowledgments = [_clean_x12(segment, separators) for segment in acknowledgments]
    for transaction in transactions:
        transaction.segments = [_clean_x12(segment, separators) for segment in transaction.segments]
    return x12.write_interchange(interchange, newline=envelope.newline)


def _counted(ref: str, index: int) -> str:
    if index == 0:
        return ref
    return str(int(ref) + index) if ref.isdigit() else f"{ref}{index}"


def _base_version(subject: x12.Interchange) -> str:
    for group in subject.groups:
        digits = group.version[:6]
        if digits.isdigit():
            return digits
    return "004010" if subject.version < "00500" else "005010"


def _answer_set(
    group: x12.FunctionalGroup,
    kind: str,
    ref: str,
    accepted: bool,
    group_codes: list[str] | None,
    reports: dict[int, _SetReport],
) -> x12.TransactionSet:
    implementation = kind == FA999
    from_5010 = group.version[:6].isdigit() and int(group.version[:6]) >= 5010
    ak1: list[str] = [group.functional_id, group.control_number]
    if implementation or from_5010:
        ak1.append(group.version)
    segments = [x12.Segment.of("AK1", *ak1)]
    accepted_sets = 0
    group_rejected = group_codes is not None
    for transaction in group.transactions:
        ak2 = [transaction.set_id, transaction.control_number]
        if transaction.implementation_ref and (implementation or from_5010):
            ak2.append(transaction.implementation_ref)
        segments.append(x12.Segment.of("AK2", *ak2))
        report = reports.get(transaction.position)
        set_ok = accepted and report is None and not group_rejected
        if report is not None:
            for segment in report.segments:
                tag = segment.tag
                if implementation:
                    tag = {"AK3": "IK3", "AK4": "IK4"}[tag]
                segments.append(x12.Segment(tag, segment.elements))
        codes = list(dict.fromkeys(report.set_codes))[:5] if report is not None else []
        if implementation:
            codes = ["I5" if c == "5" else c for c in codes]
        segments.append(x12.Segment.of("IK5" if implementation else "AK5", "A" if set_ok else "R", *codes))
        accepted_sets += set_ok
    count = len(group.transactions)
    if accepted_sets == count and not group_rejected and accepted:
        status = "A"
    elif accepted_sets:
        status = "P"
    else:
        status = "R"
    ak9 = [status, str(count), str(count), str(accepted_sets), *(group_codes or [])[:5]]
    segments.append(x12.Segment.of("AK9", *ak9))
    return x12.TransactionSet(kind, ref, "005010X231A1" if implementation else "", segments)


def _isa_version(subject: x12.Interchange) -> str:
    """The partner's ISA12, when it is one we can write (00200 and later); else 00401."""
    version = subject.version
    return (
        version
        if version.isascii() and version.isdigit() and len(version) == 5 and version >= "00200"
        else ("00401")
    )


def _clean_x12(segment: x12.Segment, separators: x12.Separators) -> x12.Segment:
    """Values copied from a received file, made writable in our answer: X12 cannot release a delimiter."""
    drop = {separators.element, separators.component, separators.segment, separators.repetition or ""} - {""}

    def clean(value: str) -> str:
        return "".join(c for c in CONTROL_CHARACTERS.sub("", value) if c not in drop)

    return x12.Segment(segment.tag, tuple(tuple(clean(c) for c in e) for e in segment.elements))
