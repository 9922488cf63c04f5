"""Which items the payment's references name: KIDs, invoice and credit note numbers, learned patterns.

KIDs are checked by the KID agreement; an invalid one is looked up one typo away and used only when that
yields one valid KID, or one that fits the payer or the amount. Numbers come from remittance lines and
free text (normalised; one typo tolerated for tokens of five or more characters when exactly one open
item within one edit fits the payer or the amount). A pattern learned from a person's resolution reads
the payer's house style. Each item named gets one `ReferenceHit` with all the evidence that named it.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.matching.amount_fit import amount_to_compare
from gateway.matching.index import MatchIndex
from gateway.matching.model import Evidence, OpenItem
from gateway.matching.payer import Payer
from gateway.matching.references import (
    DIGITS,
    MIN_TYPO_LENGTH,
    compact_kid,
    normalise_number,
    one_edit_variants,
    text_references,
    typo_alphabet,
)
from gateway.matching.scoring import (
    W_KID,
    W_KID_TEXT,
    W_KID_TYPO,
    W_KID_TYPO_NARROWED,
    W_NUMBER_STRUCTURED,
    W_NUMBER_TEXT,
    W_NUMBER_TYPO,
    W_PATTERN,
)
from gateway.matching.wording import label
from schemas.kid import KidAgreement, KidError, is_valid_kid
from schemas.remittance import Payment, RemittanceLine


@dataclass(slots=True)
class ReferenceHit:
    """An item the payment names, its evidence (strongest first), and how it was named.

    `basis` is the kind of the strongest reference; `structured` says whether any reference came from a
    structured field (not free text); `line` is the first remittance line that named it. `valid_as_is`:
    a structured reference named it as it stands (a KID whose check digit holds, an invoice number named
    exactly in a remittance field; no typo corrected): what the partial-payment rule rests on.
    """

    item: OpenItem
    evidence: list[Evidence]
    weight: float
    basis: str
    structured: bool
    line: RemittanceLine | None
    valid_as_is: bool = False


def read_references(
    payment: Payment, index: MatchIndex, payer: Payer
) -> tuple[dict[str, ReferenceHit], list[Evidence]]:
    """The items the payment names (by invoice id), and the payment-level notes reading left (bad KIDs)."""
    reader = _ReferenceReader(payment, index, payer)
    reader.read()
    return reader.hits, reader.notes


class _ReferenceReader:
    def __init__(self, payment: Payment, index: MatchIndex, payer: Payer) -> None:
        self.payment = payment
        self.index = index
        self.payer = payer
        self.hits: dict[str, ReferenceHit] = {}
        self.notes: list[Evidence] = []
        self.text_misses: list[tuple[str, str, RemittanceLine | None]] = []

    def read(self) -> None:
        for line in self.payment.lines:
            if line.kid:
                self._kid_reference(line.kid, line)
            if line.invoice_number:
                self._number_reference(line.invoice_number, line, "the remittance line")
        for text, text_line in self._texts():
            self._text_references(text, text_line)
        self._pattern_references()
        if not self.hits:
            for token, number, miss_line in self.text_misses:
                self._number_typo(token, number, miss_line, structured=False)

    def _kid_reference(self, raw: str, line: RemittanceLine | None) -> bool:
        kid = compact_kid(raw)
        agreement = self.index.kid_agreement
        items = self.index.by_kid(kid)
        if items:
            valid = agreement is not None and agreement.is_valid(kid)
            note = f" ({agreement.algorithm.upper()} valid)" if agreement is not None and valid else ""
            # without an agreement a KID still has a MOD10 or MOD11 check digit, or it is no KID
            checked = valid or (agreement is None and any(is_valid_kid(kid, a) for a in ("mod10", "mod11")))
            for item in items:
                self._hit(
                    item,
                    Evidence("kid", f"KID {kid} is {label(item)}'s KID{note}", W_KID),
                    "kid",
                    True,
                    line,
                    valid_as_is=checked,
                )
            return True
        if agreement is not None and not agreement.is_valid(kid):
            why = f"KID {kid} is not valid under the KID agreement"
            try:
                agreement.validate_kid(kid)
            except KidError as error:
                why = str(error)
            self.notes.append(Evidence("kid-invalid", why, 0.0))
            if self._kid_typo(kid, agreement, line):
                return True
        else:
            self.notes.append(Evidence("kid-unknown", f"KID {kid} belongs to no known item", 0.0))
        return self._number_reference(kid, line, "the KID field")

    def _kid_typo(self, kid: str, agreement: KidAgreement, line: RemittanceLine | None) -> bool:
        """An invalid KID read one typo away: used when that yields one valid KID (or one that fits)."""
        found: dict[str, list[OpenItem]] = {}
        for variant in one_edit_variants(kid, DIGITS):
            if variant not in found:
                items = self.index.by_kid(variant)
                if items and agreement.is_valid(variant):
                    found[variant] = items
        if len(found) == 1:
            variant, items = next(iter(found.items()))
            for item in items:
                detail = (
                    f"KID {kid} is invalid; {variant}, one typo away, is the only valid KID within one typo: "
                    f"{label(item)}'s"
                )
                self._hit(item, Evidence("kid-typo", detail, W_KID_TYPO), "kid-typo", True, line)
            return True
        fitting = {variant: [i for i in items if self._plausible(i)] for variant, items in found.items()}
        fitting = {variant: items for variant, items in fitting.items() if items}
        if len(fitting) == 1:
            variant, items = next(iter(fitting.items()))
            for item in items:
                detail = (
                    f"KID {kid} is invalid; of {len(found)} valid KIDs one typo away only {variant} "
                    f"({label(item)}) fits the payer or the amount"
                )
                self._hit(item, Evidence("kid-typo", detail, W_KID_TYPO_NARROWED), "kid-typo", True, line)
            return True
        if found:
            self.notes.append(
                Evidence(
                    "kid-invalid", f"{len(found)} valid KIDs lie one typo from {kid}; none stands out", 0.0
                )
            )
        return False

    def _by_number(self, number: str, line: RemittanceLine | None) -> list[OpenItem]:
        items = self.index.by_number(number)
        if len(items) > 1 and line is not None and line.document_kind in ("invoice", "credit_note"):
            items = [item for item in items if item.document_type == line.document_kind] or items
        if len(items) > 1 and self.payer.customer_key is not None:
            items = [item for item in items if item.customer_key == self.payer.customer_key] or items
        return items

    def _number_reference(self, raw: str, line: RemittanceLine | None, where: str) -> bool:
        number = normalise_number(raw)
        if not number:
            return False
        items = self._by_number(number, line)
        if not items:  # "INV-10023", "Faktura 10023": the readings free text would give, one at a time
            for reading in text_references(raw):
                items = self._by_number(reading.number, line)
                if items:
                    break
        for item in items:
            detail = f"{where} names {label(item)} ('{raw}')"
            self._hit(
                item,
                Evidence("invoice-number", detail, W_NUMBER_STRUCTURED),
                "invoice-number",
                True,
                line,
                valid_as_is=True,
            )
        if items:
            return True
        if len(number) >= MIN_TYPO_LENGTH:
            return self._number_typo(raw, number, line, structured=True)
        return False

    def _number_typo(self, raw: str, number: str, line: RemittanceLine | None, *, structured: bool) -> bool:
        """A number one edit from exactly one open item that is the payer's or has exactly the amount."""
        found: dict[str, OpenItem] = {}
        for variant in one_edit_variants(number, typo_alphabet(number)):
            for item in self.index.by_number(variant):
                found[item.invoice_id] = item
        fitting = [item for item in found.values() if self._plausible(item)]
        if len(fitting) != 1:
            return False
        item = fitting[0]
        why = (
            "the payer's"
            if self.payer.customer_key is not None and item.customer_key == self.payer.customer_key
            else "the one whose open amount is the payment's"
        )
        detail = f"'{raw}' is one edit from {label(item)}; of {len(found)} numbers one edit away it is {why}"
        self._hit(
            item,
            Evidence("invoice-number-typo", detail, W_NUMBER_TYPO),
            "invoice-number-typo",
            structured,
            line,
        )
        return True

    def _kid_shaped(self, digits: str) -> bool:
        agreement = self.index.kid_agreement
        return len(digits) == agreement.length if agreement is not None else len(digits) >= 5

    def _text_references(self, text: str, line: RemittanceLine | None) -> None:
        for reference in text_references(text):
            hit = False
            if reference.digits and self._kid_shaped(reference.digits):
                for item in self.index.by_kid(reference.digits):
                    detail = f"free text '{reference.token}' holds {label(item)}'s KID"
                    self._hit(item, Evidence("kid", detail, W_KID_TEXT), "kid", False, line)
                    hit = True
            for item in self._by_number(reference.number, None):
                detail = f"free text '{reference.token}' names {label(item)}"
                self._hit(
                    item, Evidence("invoice-number", detail, W_NUMBER_TEXT), "invoice-number", False, line
                )
                hit = True
            if not hit and reference.primary and len(reference.number) >= MIN_TYPO_LENGTH:
                self.text_misses.append((reference.token, reference.number, line))

    def _pattern_references(self) -> None:
        keys: list[str | None] = [None]
        if self.payer.customer_key is not None:
            keys.append(self.payer.customer_key)
        keys += [hit.customer_key for hit in self.payer.fuzzy[:3]]
        patterns = [entry for key in dict.fromkeys(keys) for entry in self.index.patterns_for(key)]
        if not patterns:
            return
        payment = self.payment
        texts = [*payment.free_text, payment.end_to_end_id or ""]
        for line in payment.lines:
            texts += [value for value in (line.text, line.invoice_number, line.kid) if value]
        for pattern, regex in patterns:
            for text in texts:
                for match in regex.finditer(text):
                    number = normalise_number(match.group(1) or "")
                    for item in self.index.by_number(number) if number else ():
                        if pattern.customer_key is not None and item.customer_key != pattern.customer_key:
                            continue
                        detail = (
                            f"'{match.group(0)}' read by the learned pattern {pattern.regex}"
                            f"{' (' + pattern.source + ')' if pattern.source else ''} names {label(item)}"
                        )
                        self._hit(
                            item,
                            Evidence("learned-pattern", detail, W_PATTERN),
                            "learned-pattern",
                            False,
                            None,
                        )

    def _plausible(self, item: OpenItem) -> bool:
        """An item a typo may be corrected to: open, and the payer's or exactly the amount."""
        if item.open_amount <= 0:
            return False
        if self.payer.customer_key is not None and item.customer_key == self.payer.customer_key:
            return True
        comparison = amount_to_compare(self.payment, item.currency)
        return comparison is not None and comparison[0] == item.open_amount

    def _hit(
        self,
        item: OpenItem,
        evidence: Evidence,
        basis: str,
        structured: bool,
        line: RemittanceLine | None,
        *,
        valid_as_is: bool = False,
    ) -> None:
        hit = self.hits.get(item.invoice_id)
        if hit is None:
            self.hits[item.invoice_id] = ReferenceHit(
                item, [evidence], evidence.weight, basis, structured, line, valid_as_is
            )
            return
        hit.valid_as_is = hit.valid_as_is or valid_as_is
        if all(known.kind != evidence.kind for known in hit.evidence):
            hit.evidence.append(evidence)
        if evidence.weight > hit.weight:
            hit.weight, hit.basis = evidence.weight, basis
            hit.evidence.sort(key=lambda known: -known.weight)
        hit.structured = hit.structured or structured
        if hit.line is None:
            hit.line = line

    def _texts(self) -> list[tuple[str, RemittanceLine | None]]:
        texts: list[tuple[str, RemittanceLine | None]] = [(text, None) for text in self.payment.free_text]
        for line in self.payment.lines:
            if line.text:
                texts.append((line.text, line))
        return texts
