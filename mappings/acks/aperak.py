"""EDIFACT APERAK: a partner's application error and acknowledgement message, read into `Acknowledgement`.

An APERAK answers one business message (not an interchange): it names the message (RFF+ACW, the UNH
reference) and the document (RFF IV invoice number, ON order…), and reports application errors as ERC
(9321) with their FTX text. Pure functions, no I/O.
"""

from __future__ import annotations

from dataclasses import replace

from mappings.acks.model import (
    ACCEPTED,
    APERAK,
    REJECTED,
    AckEnvelope,
    AckError,
    Acknowledgement,
    MessageAck,
)
from mappings.syntax import edifact

#: APERAK BGM 1225 (message function) codes that accept the referenced message: ERC segments under them
#: are informational (6 confirmation, 28/29/30/34 accepted with/without amendment, 44/45 accepted
#: without/with reserves); 27 "not accepted" rejects even without ERC.
APERAK_ACCEPTING_FUNCTIONS = frozenset({"6", "28", "29", "30", "34", "44", "45"})
APERAK_REJECTING_FUNCTIONS = frozenset({"27"})
#: APERAK RFF qualifiers that name the message or document it answers.
APERAK_MESSAGE_REF_QUALIFIERS = ("ACW",)  # reference number to previous message (UNH 0062)
APERAK_DOCUMENT_REF_QUALIFIERS = ("IV", "ON", "DQ", "AAK", "CT", "VN", "ACE", "AGO")


def read_message(message: edifact.Message, envelope: AckEnvelope) -> Acknowledgement:
    """One APERAK: the message it answers (RFF+ACW), the document (RFF IV, ON…), ERC errors with their FTX.

    The status follows the message function (BGM 1225): 27 rejects, an accepting function keeps the ERC
    errors as information, otherwise any ERC rejects.
    """
    references: list[tuple[str, str]] = []
    errors: list[AckError] = []
    texts: list[str] = []
    function = ""
    document = ""
    in_error_group = False
    for segment in message.segments:
        tag = segment.tag
        if tag == "BGM":
            document = segment.get(2)
            function = segment.get(3)
        elif tag == "RFF":
            if in_error_group and errors:
                last = errors[-1]
                errors[-1] = replace(
                    last, text=f"{last.text} (at {segment.get(1, 1)} {segment.get(1, 2)})".strip()
                )
            else:
                references.append((segment.get(1, 1), segment.get(1, 2)))
        elif tag == "ERC":
            in_error_group = True
            code = segment.get(1, 1)
            errors.append(AckError(None, "", None, None, code, f"application error {code}" if code else ""))
        elif tag == "FTX":
            text = " ".join(part for part in segment.elements[3] if part) if len(segment.elements) > 3 else ""
            if in_error_group and errors:
                last = errors[-1]
                errors[-1] = replace(last, text=text or last.text)
            elif text:
                texts.append(text)
    if function in APERAK_REJECTING_FUNCTIONS:
        status = REJECTED
    elif function in APERAK_ACCEPTING_FUNCTIONS or not errors:
        status = ACCEPTED
    else:
        status = REJECTED
    refs = dict(references)
    message_ref = next((refs[q] for q in APERAK_MESSAGE_REF_QUALIFIERS if refs.get(q)), "")
    document_ref = next((f"{q} {refs[q]}" for q in APERAK_DOCUMENT_REF_QUALIFIERS if refs.get(q)), "")
    notes = []
    if document:
        notes.append(f"APERAK {document}")
    if function:
        notes.append(f"message function {function}")
    if errors and status == ACCEPTED:
        notes.append("errors reported as information (the message function accepts)")
    if document_ref:
        notes.append(f"answers {document_ref}")
    notes.extend(texts)
    answered = MessageAck(message_ref, "", status, tuple(errors))
    return Acknowledgement(
        kind=APERAK,
        standard="edifact",
        sender=envelope.sender,
        recipient=envelope.recipient,
        of_interchange_ref=None,
        of_group_ref=None,
        status=status,
        messages=(answered,),
        errors=(),
        note="; ".join(notes),
        control_ref=envelope.control_ref,
        message_ref=message.reference,
        references=tuple(references),
        warnings=envelope.warnings,
        prepared=envelope.prepared,
    )
