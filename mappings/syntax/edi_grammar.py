"""Message structure checking for EDIFACT and X12: which segments a message has, in which order and groups,
and what their data elements may hold.

A grammar is plain data (`MessageGrammar` of `SegmentRule` / `GroupRule`, each segment a tuple of
`Element`); `check_message` walks a message body (the segments between UNH and UNT, or ST and SE, exclusive)
over it once and returns every problem it finds, each with the segment's position and the 1-based element
and component index, so a CONTRL/APERAK or 999 answer can point at it.

The walk is deterministic, as both standards require of a message structure: a segment belongs to the first
place at or after the current one (in the innermost open group, then in each enclosing one) whose tag it
carries; a group's trigger segment (its first child) always opens a new occurrence of that group. A segment
that fits nowhere is reported and skipped, and the walk goes on where it was.

Element checks, as ISO 9735 counts: for "n" (integer) and "r" (decimal) only digits count towards the
length, not a leading minus sign or the decimal mark; "r" allows one decimal mark, "." in X12, "." or ","
in EDIFACT (the UNA decides which one a sender uses; a receiver accepts both), with a digit on each side in
EDIFACT. "dt" is a date of 6 (YYMMDD) or 8 (CCYYMMDD) digits, "tm" a time HHMM[SS[d…]]; both digits only and
checked for being a real date or time of day. "a" is letters (and spaces), "an" and "id" anything; `codes`,
when set, is the closed list of values allowed. Trailing empty components and elements count as absent,
as the syntax allows a sender to write them.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

ElementKind = Literal["an", "a", "n", "id", "dt", "tm", "r"]


@dataclass(frozen=True)
class Element:
    """A simple data element or, when `components` is set, a composite (its components in order)."""

    name: str
    mandatory: bool = False
    kind: ElementKind = "an"
    min_length: int = 0
    max_length: int = 35
    codes: frozenset[str] | None = None
    components: tuple[Element, ...] | None = None


@dataclass(frozen=True)
class SegmentRule:
    """A segment at one place in a message: tag, status, how often it may repeat, its data elements."""

    tag: str
    mandatory: bool = False
    max_repeat: int = 1
    elements: tuple[Element, ...] = ()


@dataclass(frozen=True)
class GroupRule:
    """A segment group; `children[0]` is its trigger segment, which starts every occurrence."""

    name: str
    children: tuple[SegmentRule | GroupRule, ...]
    mandatory: bool = False
    max_repeat: int = 1

    def __post_init__(self) -> None:
        if not self.children or not isinstance(self.children[0], SegmentRule):
            raise ValueError(f"group {self.name}: the first child must be its trigger segment")

    @property
    def trigger(self) -> SegmentRule:
        """The segment that opens each occurrence of the group."""
        first = self.children[0]
        assert isinstance(first, SegmentRule)
        return first


@dataclass(frozen=True)
class MessageGrammar:
    """A message type's body structure (without UNH/UNT or ST/SE) for one syntax."""

    name: str
    children: tuple[SegmentRule | GroupRule, ...]
    syntax: Literal["edifact", "x12"]


@dataclass(frozen=True)
class StructureProblem:
    """One thing wrong in a message: where (segment position and tag; element and component, 1-based, when
    the problem is inside a segment) and why."""

    position: int
    tag: str
    element: int | None
    component: int | None
    reason: str

    def __str__(self) -> str:
        where = f"segment {self.position} ({self.tag})"
        if self.element is not None:
            where += f": element {self.element}"
            if self.component is not None:
                where += f", component {self.component}"
        return f"{where}: {self.reason}"


# ----------------------------------------------------------------------------------------------- walk


def _tag_of(child: SegmentRule | GroupRule) -> str:
    return child.tag if isinstance(child, SegmentRule) else child.trigger.tag


def _label(child: SegmentRule | GroupRule) -> str:
    if isinstance(child, SegmentRule):
        return f"segment {child.tag}"
    return f"segment group {child.name} ({child.trigger.tag})"


@dataclass
class _Frame:
    children: tuple[SegmentRule | GroupRule, ...]
    group: GroupRule | None
    index: int
    counts: list[int] = field(default_factory=list)

    def find(self, tag: str) -> int | None:
        # a group's own trigger never matches inside it: it opens the next occurrence in the parent
        start = max(self.index, 1 if self.group is not None else 0)
        for k in range(start, len(self.children)):
            if _tag_of(self.children[k]) == tag:
                return k
        return None


def _all_tags(children: Sequence[SegmentRule | GroupRule]) -> set[str]:
    tags: set[str] = set()
    for child in children:
        if isinstance(child, SegmentRule):
            tags.add(child.tag)
        else:
            tags |= _all_tags(child.children)
    return tags


def check_message(grammar: MessageGrammar, segments: Sequence[Any]) -> list[StructureProblem]:
    """Every structure and element problem of a message body against `grammar`, in segment order.

    `segments` are the body's segments (objects with `.tag`, `.elements` as a tuple of tuples of str, and
    `.position`). An empty list means the message conforms.
    """
    problems: list[StructureProblem] = []
    known = _all_tags(grammar.children)
    edifact = grammar.syntax == "edifact"
    root = _Frame(grammar.children, None, -1, [0] * len(grammar.children))
    stack = [root]

    def missing(frame: _Frame, start: int, end: int, position: int, tag: str, before: bool) -> None:
        for k in range(start, end):
            child = frame.children[k]
            if child.mandatory and frame.counts[k] == 0:
                where = "before this segment" if before else "at the end of the message"
                inside = f" in {frame.group.name}" if frame.group is not None else ""
                problems.append(
                    StructureProblem(
                        position, tag, None, None, f"mandatory {_label(child)}{inside} is missing {where}"
                    )
                )

    def close(frame: _Frame, position: int, tag: str, before: bool) -> None:
        missing(frame, frame.index + 1, len(frame.children), position, tag, before)

    for segment in segments:
        tag = segment.tag
        position = segment.position
        depth = len(stack) - 1
        found: int | None = None
        while depth >= 0:
            found = stack[depth].find(tag)
            if found is not None:
                break
            depth -= 1
        if found is None:
            if tag in known:
                reason = f"segment {tag} is out of place here (wrong order or wrong segment group)"
            else:
                reason = f"segment {tag} is not part of the {grammar.name} structure"
            problems.append(StructureProblem(position, tag, None, None, reason))
            continue
        while len(stack) - 1 > depth:
            close(stack.pop(), position, tag, True)
        frame = stack[depth]
        missing(frame, frame.index + 1, found, position, tag, True)
        child = frame.children[found]
        if frame.counts[found] >= child.max_repeat:
            what = "segment" if isinstance(child, SegmentRule) else f"segment group {child.name}"
            inside = f" in {frame.group.name}" if frame.group is not None else ""
            problems.append(
                StructureProblem(
                    position,
                    tag,
                    None,
                    None,
                    f"{what} {tag}{inside} occurs more than {child.max_repeat} time"
                    f"{'s' if child.max_repeat != 1 else ''}",
                )
            )
        frame.counts[found] += 1
        frame.index = found
        if isinstance(child, SegmentRule):
            problems.extend(_check_elements(child, segment, edifact))
        else:
            problems.extend(_check_elements(child.trigger, segment, edifact))
            counts = [0] * len(child.children)
            counts[0] = 1
            stack.append(_Frame(child.children, child, 0, counts))
    end_position = segments[-1].position + 1 if segments else 0
    end_tag = "UNT" if grammar.syntax == "edifact" else "SE"
    while stack:
        close(stack.pop(), end_position, end_tag, False)
    return problems


# --------------------------------------------------------------------------------------------- elements


def _plural(count: int) -> str:
    return "" if count == 1 else "s"


def _trim(values: Sequence[Any]) -> list[Any]:
    out = list(values)
    while out and not out[-1]:
        out.pop()
    return out


def _check_elements(rule: SegmentRule, segment: Any, edifact: bool) -> list[StructureProblem]:
    problems: list[StructureProblem] = []
    position, tag = segment.position, segment.tag
    elements = _trim([tuple(_trim(components)) for components in segment.elements])
    for index in range(len(rule.elements), len(elements)):
        if elements[index]:
            problems.append(
                StructureProblem(
                    position,
                    tag,
                    index + 1,
                    None,
                    f"{tag} has at most {len(rule.elements)} data element{_plural(len(rule.elements))}",
                )
            )
    for index, spec in enumerate(rule.elements):
        components: tuple[str, ...] = elements[index] if index < len(elements) else ()
        number = index + 1
        if spec.components is None:
            if len(components) > 1:
                problems.append(
                    StructureProblem(
                        position,
                        tag,
                        number,
                        2,
                        f"{spec.name} is a simple data element: it has no components",
                    )
                )
            problems.extend(
                _check_value(components[0] if components else "", spec, position, tag, number, None, edifact)
            )
            continue
        if not components:
            if spec.mandatory:
                problems.append(
                    StructureProblem(
                        position, tag, number, None, f"mandatory composite {spec.name} is missing"
                    )
                )
            continue
        if len(components) > len(spec.components):
            problems.append(
                StructureProblem(
                    position,
                    tag,
                    number,
                    len(spec.components) + 1,
                    f"{spec.name} has at most {len(spec.components)} component"
                    f"{'s' if len(spec.components) != 1 else ''}",
                )
            )
        for sub, component_spec in enumerate(spec.components):
            value = components[sub] if sub < len(components) else ""
            problems.extend(_check_value(value, component_spec, position, tag, number, sub + 1, edifact))
    return problems


_LETTERS = re.compile(r"[^\W\d_]+(?: [^\W\d_]*)*")


def _digits_and_problem(value: str, kind: ElementKind, edifact: bool) -> tuple[int, str]:
    """(digit count, problem or ""), for the numeric kinds."""
    decimal_marks = ".," if edifact else "."
    body = value[1:] if value.startswith("-") else value
    if kind == "n":
        if not body or not (body.isascii() and body.isdigit()):
            return 0, "must be an integer (digits, optionally a leading minus sign)"
        return len(body), ""
    marks = [c for c in body if c in decimal_marks]
    digits = body.replace(marks[0], "", 1) if len(marks) == 1 else body
    if len(marks) > 1 or not digits or not (digits.isascii() and digits.isdigit()):
        shown = " or ".join(repr(m) for m in decimal_marks)
        return 0, f"must be a decimal number (digits, at most one decimal mark {shown}, a leading minus)"
    if marks and edifact and (body.startswith(marks[0]) or body.endswith(marks[0])):
        return 0, "a decimal mark needs a digit on each side (ISO 9735)"
    return len(digits), ""


def _check_value(
    value: str, spec: Element, position: int, tag: str, element: int, component: int | None, edifact: bool
) -> list[StructureProblem]:
    def problem(reason: str) -> list[StructureProblem]:
        return [StructureProblem(position, tag, element, component, reason)]

    if not value:
        return problem(f"mandatory {spec.name} is missing") if spec.mandatory else []
    kind = spec.kind
    length = len(value)
    if kind in ("n", "r"):
        length, wrong = _digits_and_problem(value, kind, edifact)
        if wrong:
            return problem(f"{spec.name} {value!r} {wrong}")
    elif kind in ("dt", "tm"):
        if not (value.isascii() and value.isdigit()):
            return problem(f"{spec.name} {value!r} must be digits only")
        wrong = _date_problem(value) if kind == "dt" else _time_problem(value)
        if wrong:
            return problem(f"{spec.name} {value!r} {wrong}")
    elif kind == "a" and not _LETTERS.fullmatch(value):
        return problem(f"{spec.name} {value!r} must be alphabetic")
    found: list[StructureProblem] = []
    unit = "digits" if kind in ("n", "r") else "characters"
    if length > spec.max_length:
        found += problem(f"{spec.name} {value!r} has {length} {unit}, at most {spec.max_length}")
    elif length < spec.min_length:
        found += problem(f"{spec.name} {value!r} has {length} {unit}, at least {spec.min_length}")
    if spec.codes is not None and value not in spec.codes:
        allowed = sorted(spec.codes)
        shown = ", ".join(allowed[:12]) + (", …" if len(allowed) > 12 else "")
        found += problem(f"{spec.name} {value!r} is not an allowed code ({shown})")
    return found


def _date_problem(value: str) -> str:
    if len(value) not in (6, 8):
        return ""  # the length check reports it
    try:
        if len(value) == 8:
            dt.date(int(value[:4]), int(value[4:6]), int(value[6:]))
        else:
            dt.date(2000 + int(value[:2]), int(value[2:4]), int(value[4:]))
    except ValueError:
        return "is not a calendar date (" + ("CCYYMMDD" if len(value) == 8 else "YYMMDD") + ")"
    return ""


def _time_problem(value: str) -> str:
    if len(value) < 4:
        return ""
    hours, minutes = int(value[:2]), int(value[2:4])
    seconds = int(value[4:6]) if len(value) >= 6 else 0
    if hours > 23 or minutes > 59 or seconds > 59:
        return "is not a time of day (HHMM[SS])"
    return ""
