"""References a payer writes: invoice numbers, KIDs and payer accounts, as found and as meant.

Payers retype what they see on an invoice, so the same number arrives as "10023", "0010023", "F-10023",
"inv#10023" or "Faktura 10023, 10024". Matching compares *normalised* numbers: upper-case, separators
gone, leading zeros of every digit run gone ("INV-000123" = "inv123" = "INV 123"). Free text is cut into
tokens after dates and amounts are taken out (a date's digits or "1 250,00" are not invoice numbers), and
each token offers a few readings: the whole token, its parts around "/", and its digit runs of three or
more significant digits.

A number the payer got slightly wrong is found by generating its one-edit neighbours (substitution,
adjacent transposition, deletion, insertion) and looking each up: at most a few hundred dictionary
lookups, instead of comparing against a million numbers.

A reference the payer writes in a house style the reader does not understand ("F202400123" for invoice
123) becomes a learned pattern once a person has resolved one such payment: `derive_pattern` turns the
token into a regular expression whose one capture group yields the invoice number.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

DIGITS = "0123456789"
ALPHANUMERIC = DIGITS + "ABCDEFGHIJKLMNOPQRSTUVWXYZ"

_RUNS = re.compile(r"[0-9]+|[^\W\d_]+")
_DIGIT_RUN = re.compile(r"[0-9]+")
_ACCOUNT_NOISE = re.compile(r"[\s.\-]")
_DATE = re.compile(r"(?<![0-9])\d{1,4}[./-]\d{1,2}[./-]\d{1,4}(?![0-9])")
_AMOUNT = re.compile(r"(?<![0-9.,])\d{1,3}(?:[ .]\d{3})+,\d{2}(?![0-9])|(?<![0-9.,])\d+[.,]\d{2}(?![0-9.,])")
_TOKEN_SPLIT = re.compile(r"[\s,;:&+()\[\]{}\"'*]+")
#: Minimum significant characters of a free-text reading (shorter ones are quantities, days, line numbers).
MIN_TEXT_REFERENCE = 3
#: Tokens this long or longer may be one typo away from the number meant.
MIN_TYPO_LENGTH = 5


def normalise_number(value: str) -> str:
    """An invoice or credit note number as compared: letters upper-case, separators and leading zeros gone."""
    parts: list[str] = []
    for run in _RUNS.findall(value.upper()):
        if run[0] in DIGITS:
            run = run.lstrip("0") or "0"
        parts.append(run)
    return "".join(parts)


def normalise_account(value: str) -> str:
    """A payer account as compared: no spaces or dots, upper-case; a Norwegian IBAN becomes its BBAN.

    NOkk + 11-digit BBAN and the BBAN are the same account: statements use either.
    """
    compact = _ACCOUNT_NOISE.sub("", value).upper()
    if len(compact) == 15 and compact.startswith("NO") and compact[2:].isdigit():
        return compact[4:]
    return compact


def compact_kid(value: str) -> str:
    """A KID as compared: spaces removed (payers group digits), nothing else touched."""
    return "".join(value.split())


@dataclass(frozen=True, slots=True)
class TextReference:
    """One reading of a free-text token: the raw token, the normalised number, the raw digits (for KIDs)."""

    token: str
    number: str
    digits: str | None
    primary: bool  # the token's own reading (typo-tolerant lookup is tried on these only)


def _clean(text: str) -> str:
    return _AMOUNT.sub(" ", _DATE.sub(" ", text))


def text_references(text: str) -> list[TextReference]:
    """Every plausible reference reading in a free text ("Faktura 10023, 10024", "inv#10023", "F-10023")."""
    found: dict[str, TextReference] = {}

    def offer(token: str, part: str, primary: bool) -> None:
        number = normalise_number(part)
        if len(number) >= MIN_TEXT_REFERENCE and any(ch in DIGITS for ch in number) and number not in found:
            digits = part if part.isdigit() else None
            found[number] = TextReference(token, number, digits, primary)
        for run in _DIGIT_RUN.findall(part):
            significant = run.lstrip("0")
            if len(significant) >= MIN_TEXT_REFERENCE and significant not in found:
                found[significant] = TextReference(token, significant, run, primary and run == part)

    for token in _TOKEN_SPLIT.split(_clean(text)):
        if not token or not any(ch in DIGITS for ch in token):
            continue
        offer(token, token, True)
        if "/" in token:
            for part in token.split("/"):
                if part:
                    offer(token, part, True)
    return list(found.values())


def one_edit_variants(value: str, alphabet: str) -> Iterator[str]:
    """Strings one substitution, adjacent transposition, deletion or insertion away from `value`."""
    length = len(value)
    for i in range(length):
        yield value[:i] + value[i + 1 :]
    for i in range(length - 1):
        if value[i] != value[i + 1]:
            yield value[:i] + value[i + 1] + value[i] + value[i + 2 :]
    for i in range(length):
        for ch in alphabet:
            if ch != value[i]:
                yield value[:i] + ch + value[i + 1 :]
    for i in range(length + 1):
        for ch in alphabet:
            yield value[:i] + ch + value[i:]


def typo_alphabet(number: str) -> str:
    return DIGITS if number.isdigit() else ALPHANUMERIC


def _generalise(text: str) -> str:
    """A literal context as a pattern: digit runs become \\d{n}, everything else is kept literally."""
    out: list[str] = []
    for run in re.findall(r"[0-9]+|[^0-9]", text):
        out.append(rf"\d{{{len(run)}}}" if run[0] in DIGITS else re.escape(run))
    return "".join(out)


def derive_pattern(text: str, number: str) -> str | None:
    """A regex (one capture group) that finds invoice `number` in `text` the way this payer writes it.

    The token holding the number's digits is generalised around them: letters and separators stay
    literal, other digits become `\\d{n}`, zeros padding the number become `0*`. "F2024-00123" for
    invoice 123 gives `F\\d{4}-0*(\\d+)`. Returns None when the number is already found without a
    pattern (standing alone, or with leading zeros only), when it has letters (only digit numbers are
    generalised), or when the context is too thin to be specific (fewer than two fixed characters).
    """
    target = normalise_number(number)
    if not target.isdigit():
        return None
    for token in _TOKEN_SPLIT.split(text):
        for match in _DIGIT_RUN.finditer(token):
            run = match.group()
            position = run.rfind(target)
            if position < 0:
                continue
            before_digits, after_digits = run[:position], run[position + len(target) :]
            fixed = before_digits.rstrip("0")
            before, after = token[: match.start()], token[match.end() :]
            if not fixed and not after_digits and not any(ch in DIGITS for ch in before):
                continue  # the plain digit-run reading finds it already
            context = len(before) + len(fixed) + len(after_digits) + len(after)
            if context < 2:
                continue
            pattern = (
                r"(?<![0-9A-Za-z])"
                + _generalise(before)
                + (rf"\d{{{len(fixed)}}}" if fixed else "")
                + r"0*(\d+)"
                + (rf"\d{{{len(after_digits)}}}" if after_digits else "")
                + _generalise(after)
                + r"(?![0-9])"
            )
            compiled = re.compile(pattern, re.IGNORECASE)
            if any(normalise_number(m.group(1)) == target for m in compiled.finditer(text)):
                return pattern
    return None
