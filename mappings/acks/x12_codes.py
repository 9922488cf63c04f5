"""X12 acknowledgement codes: what AK3/AK4, AK5, AK9, TA1 (and 999's IK3/IK4/IK5) codes mean, and which code
and level an X12 syntax error is reported with.

`error_codes` maps the syntax layer's `X12SyntaxError` (or what a transaction set grammar raises in the same
form) to the level that can name it — the interchange (TA105), the group (AK905), the set (AK502), a segment
(AK304) or an element (AK403) — and the standard's code there. Pure data and functions, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from mappings.acks.model import ACCEPTED, PARTIAL, REJECTED
from mappings.syntax import x12

X12_SEGMENT_ERRORS: dict[str, str] = {
    "1": "unrecognized segment ID",
    "2": "unexpected segment",
    "3": "required segment missing",
    "4": "loop occurs over maximum times",
    "5": "segment exceeds maximum use",
    "6": "segment not in defined transaction set",
    "7": "segment not in proper sequence",
    "8": "segment has data element errors",
    "I4": "implementation 'not used' segment present",
    "I6": "implementation dependent segment missing",
    "I7": "implementation loop occurs under minimum times",
    "I8": "implementation segment below minimum use",
    "I9": "implementation dependent 'not used' segment present",
}
#: X12 723 / 621 (AK403 / IK403): data element syntax error.
X12_ELEMENT_ERRORS: dict[str, str] = {
    "1": "mandatory data element missing",
    "2": "conditional required data element missing",
    "3": "too many data elements",
    "4": "data element too short",
    "5": "data element too long",
    "6": "invalid character in data element",
    "7": "invalid code value",
    "8": "invalid date",
    "9": "invalid time",
    "10": "exclusion condition violated",
    "12": "too many repetitions",
    "13": "too many components",
    "I6": "code value not used in implementation",
    "I9": "implementation dependent data element missing",
    "I10": "implementation 'not used' data element present",
    "I11": "implementation too few repetitions",
    "I12": "implementation pattern match failure",
    "I13": "implementation dependent 'not used' data element present",
}
#: X12 718 (AK502 / IK502): transaction set syntax error.
X12_SET_ERRORS: dict[str, str] = {
    "1": "transaction set not supported",
    "2": "transaction set trailer missing",
    "3": "transaction set control number in header and trailer do not match",
    "4": "number of included segments does not match actual count",
    "5": "one or more segments in error",
    "6": "missing or invalid transaction set identifier",
    "7": "missing or invalid transaction set control number",
    "8": "authentication key name unknown",
    "9": "encryption key name unknown",
    "10": "requested service (authentication or encryption) not available",
    "11": "unknown security recipient",
    "12": "incorrect message length (encryption only)",
    "13": "message authentication code failed",
    "15": "unknown security originator",
    "16": "syntax error in decrypted text",
    "17": "security not supported",
    "18": "transaction set not in functional group",
    "19": "invalid transaction set implementation convention reference",
    "23": "transaction set control number not unique within the functional group",
    "24": "S3E security end segment missing for S3S security start segment",
    "25": "S3S security start segment missing for S3E security end segment",
    "26": "S4E security end segment missing for S4S security start segment",
    "27": "S4S security start segment missing for S4E security end segment",
    "I5": "implementation one or more segments in error",
    "I6": "implementation convention not supported",
}
#: X12 716 (AK905): functional group syntax error.
X12_GROUP_ERRORS: dict[str, str] = {
    "1": "functional group not supported",
    "2": "functional group version not supported",
    "3": "functional group trailer missing",
    "4": "group control number in the functional group header and trailer do not agree",
    "5": "number of included transaction sets does not match actual count",
    "6": "group control number violates syntax",
    "10": "authentication key name unknown",
    "11": "encryption key name unknown",
    "12": "requested service (authentication or encryption) not available",
    "13": "unknown security recipient",
    "14": "unknown security originator",
    "15": "syntax error in decrypted text",
    "16": "security not supported",
    "17": "incorrect message length (encryption only)",
    "18": "message authentication code failed",
    "19": "functional group control number not unique within interchange",
    "23": "S3E security end segment missing for S3S security start segment",
    "24": "S3S security start segment missing for S3E security end segment",
    "25": "S4E security end segment missing for S4S security start segment",
    "26": "S4S security start segment missing for S4E security end segment",
}
#: X12 I18 (TA105): interchange note.
X12_INTERCHANGE_NOTES: dict[str, str] = {
    "000": "no error",
    "001": "interchange control number in header and trailer do not match",
    "002": "this standard as noted in the control standards identifier is not supported",
    "003": "this version of the controls is not supported",
    "004": "the segment terminator is invalid",
    "005": "invalid interchange ID qualifier for sender",
    "006": "invalid interchange sender ID",
    "007": "invalid interchange ID qualifier for receiver",
    "008": "invalid interchange receiver ID",
    "009": "unknown interchange receiver ID",
    "010": "invalid authorization information qualifier value",
    "011": "invalid authorization information value",
    "012": "invalid security information qualifier value",
    "013": "invalid security information value",
    "014": "invalid interchange date value",
    "015": "invalid interchange time value",
    "016": "invalid interchange standards identifier value",
    "017": "invalid interchange version ID value",
    "018": "invalid interchange control number value",
    "019": "invalid acknowledgment requested value",
    "020": "invalid test indicator value",
    "021": "invalid number of included groups value",
    "022": "invalid control structure",
    "023": "improper (premature) end-of-file (transmission)",
    "024": "invalid interchange content (e.g. invalid GS segment)",
    "025": "duplicate interchange control number",
    "026": "invalid data element separator",
    "027": "invalid component element separator",
    "028": "invalid delivery date in deferred delivery request",
    "029": "invalid delivery time in deferred delivery request",
    "030": "invalid delivery time code in deferred delivery request",
    "031": "invalid grade of service code",
}
#: AK501 / IK501 / AK901 acknowledgment codes.
X12_ACK_CODES: dict[str, str] = {
    "A": ACCEPTED,
    "E": ACCEPTED,  # accepted, but errors were noted
    "P": PARTIAL,  # partially accepted: at least one transaction set was rejected
    "R": REJECTED,
    "M": REJECTED,  # rejected, message authentication code failed
    "W": REJECTED,  # rejected, assurance failed validity tests
    "X": REJECTED,  # rejected, content after decryption could not be analysed
}
#: TA104.
TA1_ACK_CODES: dict[str, str] = {"A": ACCEPTED, "E": ACCEPTED, "R": REJECTED}


_TA105_BY_ISA_ELEMENT = {
    1: "010",
    2: "011",
    3: "012",
    4: "013",
    5: "005",
    6: "006",
    7: "007",
    8: "008",
    9: "014",
    10: "015",
    11: "016",
    12: "017",
    13: "018",
    14: "019",
    15: "020",
    16: "027",
}


@dataclass(frozen=True)
class X12Codes:
    """Where an X12 syntax error is reported and with which code.

    `level` is "interchange" (TA1, `code` a TA105 note), "group" (AK905), "set" (AK502 / IK502), "segment"
    (AK304 / IK304) or "element" (AK403 / IK403, with AK304 8 on the segment).
    """

    level: str
    code: str


def error_codes(error: x12.X12SyntaxError, *, in_set: bool = False, in_group: bool = False) -> X12Codes:
    """The level and code for an X12 syntax error; `in_set` / `in_group` say where its segment lies."""
    reason, tag = error.reason, error.segment_tag
    if re.search(r"truncated|no segment terminator", reason) and not in_set:
        return X12Codes("interchange", "023")
    if tag == "ISA" or (error.segment_position == 1 and not in_group):
        if re.search(r"element separator|the character after 'ISA'", reason):
            return X12Codes("interchange", "026")
        if re.search(r"segment terminator", reason):
            return X12Codes("interchange", "004")
        return X12Codes("interchange", _TA105_BY_ISA_ELEMENT.get(error.element_index or 0, "022"))
    if tag == "IEA":
        if error.element_index == 2:
            return X12Codes("interchange", "001")
        if error.element_index == 1:
            return X12Codes("interchange", "021")
        return X12Codes("interchange", "022")
    if re.search(r"a second ISA|data after IEA|has no IEA", reason):
        return X12Codes("interchange", "023" if "has no IEA" in reason else "022")
    if tag in ("ST", "SE") or re.search(r"has no SE|its SE is missing", reason):
        if re.search(r"has no SE|its SE is missing", reason):
            return X12Codes("set", "2")
        if tag == "SE" and error.element_index == 1:
            return X12Codes("set", "4")
        if tag == "SE" and error.element_index == 2:
            return X12Codes("set", "3")
        if tag == "ST" and error.element_index == 1:
            return X12Codes("set", "6")
        if tag == "ST" and error.element_index == 3:
            return X12Codes("set", "19")
        return X12Codes("set", "7")
    if in_set:
        if error.element_index is None:
            if re.search(r"segment tag must be|empty segment", reason):
                return X12Codes("segment", "1")
            if re.search(r"missing", reason):
                return X12Codes("segment", "3")
            return X12Codes("segment", "2")
        return X12Codes("element", _x12_element_code(reason))
    if tag in ("GS", "GE") or in_group or re.search(r"has no GE|its GE is missing", reason):
        if re.search(r"has no GE|its GE is missing", reason):
            return X12Codes("group", "3")
        if tag == "GE" and error.element_index == 1:
            return X12Codes("group", "5")
        if tag == "GE" and error.element_index == 2:
            return X12Codes("group", "4")
        if tag == "GS" and error.element_index == 6:
            return X12Codes("group", "6")
        if tag == "GS" and error.element_index == 8:
            return X12Codes("group", "2")
        if tag == "GS" and error.element_index == 1:
            return X12Codes("group", "1")
        return X12Codes("interchange", "024")
    return X12Codes("interchange", "024")


def _x12_element_code(reason: str) -> str:
    for pattern, code in (
        (r"mandatory|missing", "1"),
        (r"too many components|cannot have components", "13"),
        (r"repetition", "12"),
        (r"too long|longer than|at most", "5"),
        (r"too short|characters long", "4"),
        (r"not a date|date", "8"),
        (r"not a time|time", "9"),
        (r"number|digits|character", "6"),
        (r"elements", "3"),
    ):
        if re.search(pattern, reason):
            return code
    return "7"
