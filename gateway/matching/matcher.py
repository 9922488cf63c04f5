"""The decision for one payment: apply it, ask for approval, or hand it to a person, and say why.

How a payment is decided
------------------------
1. Only credits that moved money are matched (not debits, not `hint_only`, not `*-pending` kinds).
2. The payer: a learned account (Norwegian IBAN = its BBAN), else a learned alias, else a fuzzy name
   (evidence only: truncated bank names of look-alike companies score perfectly against the wrong one).
3. References: KIDs (checked by the KID agreement; an invalid one is looked up one typo away and used only
   when that yields one valid KID, or one that fits the payer or the amount), invoice and credit note
   numbers from remittance lines and free text (normalised; one typo tolerated for tokens of five or more
   characters when exactly one open item within one edit fits the payer or the amount), learned patterns.
4. Candidates: the referenced items per customer, with the amount fitted (exact; short within the write-off
   allowance; a stated deduction; partial; over); when no reference fits exactly, the identified payer's
   single items and item combinations with exactly the amount, counted together (a bounded subset count
   over the `subset_max_items` oldest, plus pairs and triples of all its items): one may apply, two or
   more are ambiguous. A fuzzy-named payer's fits are computed too, as suggestions only.
5. Cross-checks: a reference whose amount does not fit while another candidate fits exactly is a conflict,
   and so is an amount-only candidate while the payment names something else (the wrong-but-valid KID).
   A reference whose amount does not fit (partial, over) from a payer neither known nor named like the
   customer is not applied by itself either: a wrong-but-valid KID from an unknown payer looks just so.
   Nor is a free-text number naming another customer's item than the one the payer's name resembles (a
   mistyped number that lands on a stranger's invoice of the same subscription price). Exceptions to
   that: a payment without a payer name (OCR giro) takes a valid KID's customer as the payer; and a
   reference valid as it stands (a KID whose check digit holds, an exact number in a remittance field)
   for less than is open is a partial payment by rule when the policy allows partials. Behind a
   reference that does not fit, from a payer not identified, the referenced customer's own invoices and
   (unless the payer is named like it) anyone's with exactly the amount are searched: one found makes the
   reference a conflict, and the same customer's single invoice ranks first (an old KID?).
6. Decision: applied only when score >= `auto_threshold`, lead over the runner-up >= `margin`, no conflict
   evidence, and the proposal rests on a reference or on an identified payer's unique amount fit; then
   `needs_approval` if the payment is above `approval_above` or a stated deduction needs approval.
   Anything else is an exception with ranked suggestions: ambiguity goes to a person, never to a tie-break.

Step 2 is `payer`, step 3 `reference_hits`, step 4 `candidates` (with `amount_fit`); the weights are in
`scoring`. Steps 5 and 6 are here.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from gateway.matching.amount_fit import CLEAN_FITS
from gateway.matching.candidates import Candidate, CandidateFinder
from gateway.matching.index import MatchIndex
from gateway.matching.model import Decision, Evidence, OpenItem
from gateway.matching.payer import Payer, identify_payer
from gateway.matching.reference_hits import read_references
from gateway.matching.scoring import REFERENCE_KINDS, W_AMOUNT_CONFLICT, W_ELSEWHERE, W_OLD_KID
from gateway.matching.wording import label, labels, money
from schemas.matching import MatchingPolicy
from schemas.remittance import Payment

_ZERO = Decimal(0)


def _ignore_reason(payment: Payment) -> str | None:
    if payment.direction != "credit":
        return "a debit (money out) pays no invoice"
    if payment.hint_only:
        return "an information-only notice (no money moved): it may corroborate, never book"
    if payment.kind.endswith("-pending"):
        return f"a {payment.kind} payment is not final yet"
    if payment.amount <= 0:
        return "a payment of zero pays nothing"
    return None


def match_payment(
    payment: Payment, index: MatchIndex, policy: MatchingPolicy, *, today: dt.date | None = None
) -> Decision:
    """Decide one payment against the index: apply, ask for approval, or hand it to a person (with why).

    Pure: the index is read, not changed; the caller applies an applied decision (`MatchIndex.apply`).
    `today` dates the due-date evidence when the payment carries neither value nor booking date.
    """
    reason = _ignore_reason(payment)
    if reason is not None:
        return Decision("ignored", 0.0, None, (), None, reason, ())
    return _Matcher(payment, index, policy, today).run()


class _Matcher:
    """One payment's matching, step by step (see the module docstring)."""

    def __init__(self, payment: Payment, index: MatchIndex, policy: MatchingPolicy, today: dt.date | None):
        self.payment = payment
        self.index = index
        self.policy = policy
        self.when = payment.value_date or payment.booking_date or today
        self.payer = Payer(payment.payer_name)
        self.payment_evidence: list[Evidence] = []

    def run(self) -> Decision:
        self.payer = identify_payer(self.payment, self.index)
        hits, notes = read_references(self.payment, self.index, self.payer)
        self.payment_evidence = [*self.payer.notes, *notes]
        finder = CandidateFinder(self.payment, self.index, self.policy, self.payer, self.when)
        candidates = finder.referenced(hits.values())
        # a reference that fits exactly settles it; a write-off fit does not (a wrong KID can be close)
        if not any(c.fit.kind in ("exact", "deduction") and not c.conflicts() for c in candidates):
            candidates += finder.by_amount()
            candidates += finder.behind_references(candidates)
        _cross_check(candidates)
        return self._decide(candidates)

    def _decide(self, candidates: list[Candidate]) -> Decision:
        unique: dict[tuple[tuple[str, Decimal, Decimal], ...], Candidate] = {}
        for candidate in candidates:
            known = unique.get(candidate.key)
            if known is None or candidate.score > known.score:
                unique[candidate.key] = candidate
        ranked = sorted(unique.values(), key=lambda c: (-c.score, c.order))
        suggestions = tuple(c.proposal() for c in ranked[: self.policy.suggestions])
        evidence = tuple(self.payment_evidence)
        if not ranked:
            return Decision(
                "exception", 0.0, None, (), self.payer.customer_key, self._nothing_reason(), evidence
            )
        best = ranked[0]
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        customer_key = self.payer.customer_key or (
            best.customer_key if best.referenced and not best.conflicts() else None
        )
        reason = self._blocker(best, ranked, runner_up)
        if reason is not None:
            return Decision("exception", best.score, None, suggestions, customer_key, reason, evidence)
        proposal = best.proposal()
        reason = self._approval_reason(best)
        if reason is not None:
            return Decision(
                "needs_approval", best.score, proposal, suggestions, customer_key, reason, evidence
            )
        return Decision(
            "applied", best.score, proposal, suggestions, customer_key, self._applied_reason(best), evidence
        )

    def _blocker(self, best: Candidate, ranked: list[Candidate], runner_up: float) -> str | None:
        """Why the best candidate may not be applied automatically (None: it may)."""
        references = [c for c in ranked if c.referenced]
        if references and all(c.fit.kind == "paid" for c in references):
            return f"{labels(references[0].items)} already paid; duplicate payment?"
        conflicts = best.conflicts()
        if conflicts:
            if conflicts[0].kind == "already-paid":
                return f"{labels(best.items)} already paid; duplicate payment?"
            return f"conflicting evidence: {conflicts[0].detail}"
        if best.fit.kind == "partial" and not self.policy.partial_payments:
            return (
                f"{labels(best.items)} would be paid in part ({self._applied_reason(best)}): "
                "partial payments wait for a person (policy)"
            )
        if not (best.referenced and best.basis in REFERENCE_KINDS) and not best.unique_amount:
            if self.payer.fuzzy and self.payer.customer_key is None:
                return (
                    f"the payer is recognised by name only ('{self.payment.payer_name}' resembles "
                    f"{self.payer.fuzzy[0].name}); a name alone never applies money"
                )
            return "no reference, and the amount does not single out an item of an identified payer"
        if best.score - runner_up < self.policy.margin:
            return (
                f"{len(ranked)} candidates are too close to call ({best.score:.2f} against {runner_up:.2f}): "
                "a person decides"
            )
        if best.score < self.policy.auto_threshold:
            return f"confidence {best.score:.2f} is below the threshold of {self.policy.auto_threshold:.2f}"
        return None

    def _approval_reason(self, best: Candidate) -> str | None:
        """Why an applicable candidate waits for a person's approval (None: it does not)."""
        limit = self.policy.approval_above
        if limit is not None and self.payment.amount > limit:
            return (
                f"{self._applied_reason(best)}, but the payment of "
                f"{money(self.payment.amount, self.payment.currency)} is above the approval limit of "
                f"{money(limit, self.payment.currency)}"
            )
        if best.fit.needs_approval:
            return (
                f"{self._applied_reason(best)}, but a stated deduction beyond the write-off allowance "
                "needs approval"
            )
        return None

    def _applied_reason(self, best: Candidate) -> str:
        ranked = sorted(best.evidence, key=lambda e: -e.weight)
        basis = ranked[0].detail if ranked else ""
        fit = next((e.detail for e in best.evidence if e.kind.startswith("amount-")), "")
        parts = [basis] + ([fit] if fit and fit != basis else [])
        return "; ".join(parts) + f" (confidence {best.score:.2f})"

    def _nothing_reason(self) -> str:
        payment = self.payment
        amount = money(payment.amount, payment.currency)
        if self.payer.customer_key is not None:
            return (
                f"no reference, and no open item or combination of "
                f"{self.index.customer_name(self.payer.customer_key)}'s items adds up to {amount}"
            )
        if self.payer.fuzzy:
            return (
                f"no reference; the payer resembles {self.payer.fuzzy[0].name} by name only, and none of its "
                f"open items adds up to {amount}"
            )
        who = payment.payer_name or payment.payer_account or "an unknown payer"
        return f"no reference found, and the payer ({who}) is unknown"


def _cross_check(candidates: list[Candidate]) -> None:
    """Conflicts between candidates: the wrong-but-valid reference, the amount fitting elsewhere."""
    exact = [
        c
        for c in candidates
        if c.fit.kind in CLEAN_FITS and not c.has("payer-conflict", "currency-mismatch", "already-paid")
    ]
    references = [c for c in candidates if c.referenced]
    for candidate in candidates:
        if candidate.referenced and candidate.fit.kind in ("partial", "over", "write-off"):
            others = [
                c
                for c in exact
                if c.item_ids != candidate.item_ids
                and (c.fit.kind == "exact" or candidate.fit.kind != "write-off")
            ]
            if others:
                kind = "kid-amount-conflict" if candidate.basis.startswith("kid") else "amount-conflict"
                candidate.evidence.append(
                    Evidence(
                        kind,
                        f"{labels(candidate.items)} does not fit the amount, which fits "
                        f"{labels(others[0].items)} exactly",
                        W_AMOUNT_CONFLICT,
                    )
                )
        if not candidate.referenced:
            elsewhere = [c for c in references if c.item_ids != candidate.item_ids]
            old_kid = _old_kid(candidate, elsewhere)
            if old_kid is not None:
                candidate.evidence.append(old_kid)
            elif elsewhere:
                candidate.evidence.append(
                    Evidence(
                        "reference-elsewhere",
                        f"the payment refers to {labels(elsewhere[0].items)}, "
                        f"not to {labels(candidate.items)}",
                        W_ELSEWHERE,
                    )
                )


def _old_kid(candidate: Candidate, elsewhere: list[Candidate]) -> Evidence | None:
    """A single invoice of the same customer as the KID the payment gives, whose item the amount does not
    fit, with exactly the amount: the customer likely used an old KID. Ranked above the KID's item; never
    applied. (A combination adding up is no such sign: among many items some usually do.)"""
    if (
        len(candidate.items) != 1
        or not elsewhere
        or any(
            c.customer_key != candidate.customer_key
            or c.basis != "kid"
            or c.fit.kind not in ("partial", "over", "write-off")
            for c in elsewhere
        )
    ):
        return None
    named = elsewhere[0]
    kid = named.items[0].kid if len(named.items) == 1 else None
    owed = _net(named.items)
    amount = _net(candidate.items)
    return Evidence(
        "old-kid",
        f"{'KID ' + kid if kid else 'the KID'} names {labels(named.items)} (open "
        f"{money(owed, named.currency)}); the amount {money(amount, candidate.currency)} equals "
        f"{label(candidate.items[0])}'s open amount, same "
        "customer: an old KID?",
        W_OLD_KID,
    )


def _net(items: list[OpenItem]) -> Decimal:
    """What items leave owed: invoices' open amounts less credit notes'."""
    return sum((i.open_amount if i.document_type == "invoice" else -i.open_amount for i in items), _ZERO)
