"""Candidates: the items (or combinations) a payment may pay, each with its amount fit and its evidence.

Referenced candidates: the items the payment names, per customer, with the amount fitted; when they do not
fit together, the one subset of them that adds up exactly. Amount candidates (asked for only when no
reference fits exactly): the identified payer's single items and item combinations with exactly the
amount, counted together (a bounded subset count over the `subset_max_items` oldest, plus pairs and triples
of all its items): one may apply, two or more are ambiguous. A fuzzy-named payer's fits are computed too,
as suggestions only. A payer that pays for a customer group (`gateway.matching.groups`) is searched across
the group's open items together, and its members' referenced items are its business, not a conflict.

Behind a reference that does not fit (partial, over, short within the write-off allowance) from a payer
who is not identified: the referenced customer's own items with exactly the amount (an old KID?), and,
unless the payer is named like that customer (or the payment is only short), any customer's open
invoices with exactly the amount (a stranger's valid KID?). Either makes the reference a conflict: the
payment goes to a person with the likelier item ranked by the evidence.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from gateway.matching.amount_fit import CLEAN_FITS, AmountFit, amount_to_compare, fit_amount
from gateway.matching.index import MatchIndex
from gateway.matching.model import Allocation, Evidence, OpenItem, Proposal, oldest_first
from gateway.matching.payer import Payer
from gateway.matching.reference_hits import ReferenceHit
from gateway.matching.scoring import (
    CHANCE_LIMIT,
    COMMON_AMOUNT,
    CONFLICT_KINDS,
    NAME_ELSEWHERE_SCORE,
    W_AMBIGUOUS,
    W_COMMON_AMOUNT,
    W_CURRENCY,
    W_DUE,
    W_EXACT,
    W_NAME_MISMATCH,
    W_PAID,
    W_PARTIAL_REFERENCE,
    W_SUBSET,
    W_UNCONFIRMED,
    W_UNIQUE,
    squash,
)
from gateway.matching.subset import find_subsets, small_combinations
from gateway.matching.wording import label, labels, money
from schemas.matching import MatchingPolicy
from schemas.remittance import Payment

_ZERO = Decimal(0)
#: Fits of a reference behind which the same customer's exact-amount items are looked for (an old KID?):
#: a partial, an overpayment, and a short payment that a write-off would otherwise settle.
NOT_FITTING = ("partial", "over", "write-off")
#: Other customers' open invoices with exactly the amount looked at behind a doubtful reference (the nearest
#: due dates among them are suggested): enough to doubt it, without walking a subscription price's thousands.
STRANGERS_SEARCHED = 50
#: Payment kinds that are a checkout the gateway opened itself (the card payment advice): its lines are the
#: invoices paid, whoever their buyers are.
CHECKOUT_KINDS = frozenset({"card"})


@dataclass(slots=True)
class Candidate:
    """Items the payment may pay, how the amount fits them, and the evidence; `order` breaks score ties.

    `referenced`: the payment names the items (`basis` is the strongest reference's kind);
    `unique_amount`: the identified payer's only item or combination with exactly the amount.
    """

    customer_key: str | None
    items: list[OpenItem]
    fit: AmountFit
    evidence: list[Evidence]
    currency: str
    order: int
    referenced: bool = False
    unique_amount: bool = False
    basis: str = ""

    @property
    def score(self) -> float:
        return squash(sum(evidence.weight for evidence in self.evidence))

    @property
    def item_ids(self) -> frozenset[str]:
        return frozenset(item.invoice_id for item in self.items)

    @property
    def key(self) -> tuple[tuple[str, Decimal, Decimal], ...]:
        return tuple(sorted((a.invoice_id, a.amount, a.write_off) for a in self.fit.allocations))

    def has(self, *kinds: str) -> bool:
        return any(evidence.kind in kinds for evidence in self.evidence)

    def conflicts(self) -> list[Evidence]:
        return [evidence for evidence in self.evidence if evidence.kind in CONFLICT_KINDS]

    def proposal(self) -> Proposal:
        return Proposal(
            allocations=tuple(self.fit.allocations),
            score=self.score,
            customer_key=self.customer_key,
            evidence=tuple(self.evidence),
            write_off=self.fit.write_off,
            unapplied=self.fit.unapplied,
            currency=self.currency,
        )


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _signed_cents(item: OpenItem) -> int:
    """The open amount in minor units, a credit note negative: what subset sums add up."""
    return _cents(item.open_amount) * (1 if item.document_type == "invoice" else -1)


@dataclass(frozen=True)
class _AmountSearch:
    """What adds up to exactly the amount among one customer's open items in one currency."""

    open_count: int
    pool_count: int  # the oldest items the full subset count covered
    singles: list[OpenItem]
    solutions: list[list[OpenItem]]
    combinations: bool  # the subset count found combinations (not only single items)
    exhausted: bool  # the subset count ran out of budget: no proof of uniqueness
    chance: float = 0.0  # combinations of the one solution's size expected to add up by chance

    @property
    def unique(self) -> bool:
        return len(self.solutions) == 1 and not self.exhausted and self.chance <= CHANCE_LIMIT

    def evidence(self, chosen: list[OpenItem], name: str, amount: str) -> list[Evidence]:
        searched = (
            f"the {self.pool_count} oldest of its {self.open_count} open items, and pairs and triples of all"
            if self.open_count > self.pool_count
            else f"its {self.open_count} open items"
        )
        if len(chosen) == 1:
            evidence = [
                Evidence("amount-exact", f"{amount} equals the open amount of {label(chosen[0])}", W_EXACT)
            ]
            if self.unique:
                detail = f"the only open item of {name} with exactly {amount}, and no combination of "
                detail += f"{searched} adds up to it"
                evidence.append(Evidence("amount-unique", detail, W_UNIQUE))
        else:
            evidence = [Evidence("amount-exact", f"{labels(chosen)} add up to exactly {amount}", W_EXACT)]
            if self.unique:
                detail = f"the only combination of {name}'s items adding up to {amount} "
                detail += f"(searched {searched})"
                evidence.append(Evidence("amount-subset", detail, W_SUBSET))
        if not self.unique:
            evidence.append(
                Evidence("ambiguous", f"{self._why(name, amount)}: a person decides", W_AMBIGUOUS)
            )
        return evidence

    def _why(self, name: str, amount: str) -> str:
        if self.exhausted:
            return "the combination search ran out of budget before its count was complete"
        if len(self.solutions) == 1 and self.chance > CHANCE_LIMIT:
            size = len(self.solutions[0])
            return (
                f"only one combination adds up, but among {name}'s {self.open_count} open items about "
                f"{self.chance:.2g} combinations of {size} would add up to {amount} by chance alone"
            )
        if len(self.singles) > 1 and not self.combinations:
            return f"{len(self.singles)} open invoices of {name} have exactly {amount}"
        return f"{len(self.solutions)} items or combinations of {name}'s open items add up to {amount}"


#: Round amounts (whole hundreds, tens, kroner) sit on a coarser grid than cents: among them sums coincide
#: far more often. The grids `chance_combinations` also looks at, in cents.
ROUND_GRIDS = (10_000, 1_000, 100)
#: Fewer round items than this have no spread to speak of (three items netting to a round payment are that
#: payment, not a coincidence): the round estimate needs at least this many.
ROUND_POOL_MIN = 5


def chance_combinations(items: Sequence[OpenItem], size: int, target: Decimal | None = None) -> float:
    """How many combinations of `size` of these items would add up to `target` by chance alone.

    The sums of `size` items drawn from n spread (roughly normally) around size x their mean with a
    standard deviation of sqrt(size) x theirs; one cent at the target holds about C(n, size) x that normal
    density of them (at the densest, C(n, size) / (2.5 x the deviation in cents); without a target that is
    the estimate). Near 1, a combination that adds up is no evidence: among 24 open items, some 7 of them
    add up to almost any amount of their size. Items of one amount (a subscription) have no spread: any
    combination of them is a coincidence of that amount.

    Round amounts (whole hundreds, tens) sit on a coarser grid, where sums coincide far more often: on
    each grid the combinations whose odd parts can make the target's (none, one item or a pair of the
    items that are not round, with the right remainder) are counted with the round items making up the
    rest, against the round items' spread in grid steps. 2 200 + 2 300 + 2 600 among a dozen whole
    hundreds is no proof of 7 100.00, nor is 1 043.64 + three of them of 7 543.64. The largest estimate
    counts.
    """
    values = [abs(_signed_cents(item)) for item in items]
    if size < 2 or len(values) < size:
        return 0.0
    wanted = _cents(target) if target is not None else None
    estimate = math.comb(len(values), size) * _density(values, size, wanted, 1)
    if wanted is None:
        return estimate
    for grid in ROUND_GRIDS:
        round_values = [v for v in values if v % grid == 0]
        if len(round_values) < ROUND_POOL_MIN:
            continue
        odd_values = [v for v in values if v % grid]
        odd = Counter(v % grid for v in odd_values)
        remainder = wanted % grid
        ways_of = math.comb
        chance = 0.0
        if remainder == 0:  # round items alone
            chance += ways_of(len(round_values), size) * _density(round_values, size, wanted, grid)
        if size - 1 <= len(round_values):  # one item that is not round, with the right remainder
            rest = size - 1
            for value in (v for v in odd_values if v % grid == remainder):
                density = _density(round_values, rest, wanted - value, grid)
                chance += ways_of(len(round_values), rest) * density
        pairs = _odd_pairs(odd, remainder, grid) if size >= 3 else 0
        if pairs and size - 2 <= len(round_values):  # two, at the odd items' mean
            mean_odd = sum(odd_values) / len(odd_values)
            rest = size - 2
            density = _density(round_values, rest, wanted - 2 * mean_odd, grid)
            chance += pairs * ways_of(len(round_values), rest) * density
        estimate = max(estimate, chance)
    return estimate


def _odd_pairs(odd: Counter[int], remainder: int, grid: int) -> int:
    """How many pairs of not-round items have remainders adding up to `remainder` (on the grid)."""
    pairs = 0
    for part, times in odd.items():
        other = (remainder - part) % grid
        pairs += times * (times - 1) if other == part else times * odd.get(other, 0)
    return pairs // 2


def _density(values: Sequence[int], size: int, target: float | None, grid: int) -> float:
    """The normal density, per step of `grid`, of a sum of `size` of `values` at `target` (None: at its
    densest); infinite at a multiple of the one amount of values that do not spread."""
    mean = sum(values) / len(values)
    deviation = math.sqrt(sum((value - mean) ** 2 for value in values) / len(values)) / grid
    if deviation == 0:  # one amount: its multiples are certain, anything else impossible
        return math.inf if target is None or abs(target - size * mean) < grid / 2 else 0.0
    spread = math.sqrt(size) * deviation
    away = 0.0 if target is None else (target / grid - size * mean / grid) / spread
    return math.exp(-away * away / 2) / (math.sqrt(2 * math.pi) * spread)


class CandidateFinder:
    """Builds one payment's candidates; numbers them in the order they are found (the tie-break)."""

    def __init__(
        self, payment: Payment, index: MatchIndex, policy: MatchingPolicy, payer: Payer, when: dt.date | None
    ) -> None:
        self.payment = payment
        self.index = index
        self.policy = policy
        # the identified payer's customer group: its members' items are its business (policy.group_payments)
        self.payer = payer.with_group(index) if policy.group_payments else payer
        self.when = when
        self._order = 0

    def _next(self) -> int:
        self._order += 1
        return self._order

    # -- what the payment references --

    def referenced(self, hits: Iterable[ReferenceHit]) -> list[Candidate]:
        """One candidate per customer whose items the payment names; a card checkout's advice naming items
        of several buyers is one candidate over all of them (see `_checkout_candidate`)."""
        groups: dict[str, list[ReferenceHit]] = {}
        for hit in hits:
            groups.setdefault(hit.item.customer_key, []).append(hit)
        candidates = [self._group_candidate(key, group) for key, group in groups.items()]
        if self.payment.kind in CHECKOUT_KINDS and len(groups) > 1:
            every_hit = [hit for group in groups.values() for hit in group]
            candidates.insert(0, self._checkout_candidate(every_hit))
        return candidates

    def _checkout_candidate(self, hits: list[ReferenceHit]) -> Candidate:
        """A portal customer (one receiver) may owe invoices made out to several buyers (a group's
        companies with one accounts-payable address) and pay them in one card checkout: the advice's lines
        name exactly the invoices the gateway put in the checkout. All of them are one candidate, with no
        single customer (nothing is learned from it either: `learning.PROVIDER_PAYMENT_KINDS`); it stands
        as any reference does — applied only when the amounts fit."""
        candidate = self._group_candidate(hits[0].item.customer_key, hits)
        candidate.customer_key = None
        buyers = len({hit.item.customer_key for hit in hits})
        candidate.evidence.append(
            Evidence("checkout", f"one card checkout for {labels(candidate.items)} of {buyers} buyers", 0.0)
        )
        return candidate

    def _reference_evidence(self, hits: Sequence[ReferenceHit]) -> list[Evidence]:
        """Each item's references; the weight is the items' average best reference (each must be named)."""
        out: list[Evidence] = []
        for hit in hits:
            for position, evidence in enumerate(hit.evidence):
                weight = hit.weight / len(hits) if position == 0 else 0.0
                out.append(dataclasses.replace(evidence, weight=round(weight, 4)))
        return out

    def _group_candidate(self, customer_key: str, hits: list[ReferenceHit]) -> Candidate:
        open_hits = [hit for hit in hits if hit.item.open_amount > 0]
        paid_hits = [hit for hit in hits if hit.item.open_amount <= 0]
        if not open_hits:
            return self._paid_candidate(customer_key, paid_hits)
        currencies = {hit.item.currency for hit in open_hits}
        currency = open_hits[0].item.currency
        comparison = amount_to_compare(self.payment, currency) if len(currencies) == 1 else None
        if comparison is None:
            return self._currency_candidate(customer_key, open_hits, self._reference_evidence(open_hits))
        target, fx = comparison
        open_hits, evidence, fit = self._fit_referenced(len(hits), open_hits, target, currency, fx)
        items = [hit.item for hit in open_hits]
        evidence += fit.evidence
        if fx:
            evidence.append(self._fx_evidence(target, currency))
        if paid_hits:
            paid = [hit.item for hit in paid_hits]
            if fit.kind in CLEAN_FITS:
                evidence.append(Evidence("paid-reference", f"{labels(paid)} also named, already paid", 0.0))
            else:
                evidence.append(
                    Evidence("already-paid", f"{labels(paid)} already paid; duplicate payment?", W_PAID)
                )
        evidence += self.payer.evidence_for(customer_key, items, self.index)
        evidence += self._payer_doubts(customer_key, items, open_hits, fit)
        # the rule needs a payer who vouches for it (not doubted, not another customer)
        vouched = not any(e.kind in CONFLICT_KINDS for e in evidence)
        if (
            fit.kind == "partial"
            and self.policy.partial_payments
            and vouched
            and all(h.valid_as_is for h in open_hits)
        ):
            evidence.append(
                Evidence(
                    "partial-reference",
                    f"{labels(items)} named by a valid "
                    f"{'KID' if open_hits[0].basis == 'kid' else 'reference'} for less than is open: "
                    "a partial payment by rule (the tenant allows partials)",
                    W_PARTIAL_REFERENCE,
                )
            )
        evidence += self._common_amount(customer_key, open_hits, fit, target, currency)
        evidence += self._due_evidence(items)
        best = max(open_hits, key=lambda hit: hit.weight)
        return Candidate(
            customer_key, items, fit, evidence, currency, self._next(), referenced=True, basis=best.basis
        )

    def _common_amount(
        self, customer_key: str, hits: list[ReferenceHit], fit: AmountFit, target: Decimal, currency: str
    ) -> list[Evidence]:
        """An amount many open invoices have (a subscription price) confirms little of a number read from
        free text: "Fakturanr 00486634" for invoice 846634 lands on another customer's invoice of the
        same 4 990.00. Only for a payer not known as the item's customer."""
        if (
            fit.kind != "exact"
            or len(hits) != 1
            or hits[0].structured
            or hits[0].basis != "invoice-number"
            or self.payer.customer_key == customer_key
        ):
            return []
        count = self.index.count_open_with_amount(target, currency, COMMON_AMOUNT)
        if count < COMMON_AMOUNT:
            return []
        detail = (
            f"{money(target, currency)} is the open amount of {count} or more open invoices: the amount "
            "confirms little of a number read from free text"
        )
        return [Evidence("amount-common", detail, W_COMMON_AMOUNT)]

    def _fit(self, hits: Sequence[ReferenceHit], target: Decimal, currency: str, fx: bool) -> AmountFit:
        return fit_amount(hits, target, currency, fx, self.payment, self.policy)

    def _fit_referenced(
        self, named: int, open_hits: list[ReferenceHit], target: Decimal, currency: str, fx: bool
    ) -> tuple[list[ReferenceHit], list[Evidence], AmountFit]:
        """The open items' fit; when it is not clean, the one subset of them that adds up exactly, if any.

        Several subsets adding up make the fit ambiguous. `named` counts every referenced item (paid too).
        """
        evidence = self._reference_evidence(open_hits)
        fit = self._fit(open_hits, target, currency, fx)
        if fit.kind in CLEAN_FITS or not 2 <= len(open_hits) <= 12:
            return open_hits, evidence, fit
        signed = [_signed_cents(hit.item) for hit in open_hits]
        found = find_subsets(signed, _cents(target), limit=2, min_size=1)
        if len(found.solutions) > 1:
            fit.evidence.append(
                Evidence(
                    "ambiguous",
                    f"several combinations of the {len(open_hits)} referenced documents add up to the "
                    "payment: a person decides",
                    W_AMBIGUOUS,
                )
            )
        if not found.unique:
            return open_hits, evidence, fit
        chosen = [open_hits[i] for i in found.solutions[0]]
        left = [hit.item for hit in open_hits if hit not in chosen]
        evidence = self._reference_evidence(chosen)
        fit = self._fit(chosen, target, currency, fx)
        evidence.append(
            Evidence(
                "reference-subset",
                f"of the {named} referenced documents only {labels([hit.item for hit in chosen])} add up to "
                f"the payment; {labels(left)} left open",
                0.0,
            )
        )
        return chosen, evidence, fit

    def _payer_doubts(
        self, customer_key: str, items: list[OpenItem], hits: list[ReferenceHit], fit: AmountFit
    ) -> list[Evidence]:
        """Referenced items the payer does not vouch for: an unknown payer paying a non-fitting amount, or
        a free-text number naming another customer than the one the payer's name resembles."""
        doubts: list[Evidence] = []
        confirmed = self.payer.customer_key == customer_key or self.payer.resembles(customer_key)
        nameless = not (self.payment.payer_name or "").strip()
        if fit.kind in ("partial", "over") and not confirmed and self.payer.customer_key is None:
            if nameless and all(hit.valid_as_is and hit.basis == "kid" for hit in hits):
                # OCR giro lines carry no payer name: a valid KID is the payer's word for who it pays
                # for; a stranger's KID shows when the amount fits something else (`behind_references`)
                doubts.append(
                    Evidence(
                        "payer-from-kid",
                        f"the payment carries no payer name; the valid KID's customer, "
                        f"{self.index.customer_name(customer_key)}, is taken as the payer",
                        0.0,
                    )
                )
                return doubts
            doubts.append(
                Evidence(
                    "payer-unconfirmed",
                    f"the amount does not fit {labels(items)}, and the payer is neither known nor named "
                    f"like {self.index.customer_name(customer_key)}: a person confirms",
                    W_UNCONFIRMED,
                )
            )
        named_elsewhere = (
            [hit for hit in self.payer.fuzzy if hit.score >= NAME_ELSEWHERE_SCORE] if not confirmed else []
        )
        if named_elsewhere and not any(hit.structured or hit.basis == "kid" for hit in hits):
            doubts.append(
                Evidence(
                    "payer-name-mismatch",
                    f"the payer's name resembles {named_elsewhere[0].name}, not "
                    f"{self.index.customer_name(customer_key)}, whose {labels(items)} the free text names",
                    W_NAME_MISMATCH,
                )
            )
        return doubts

    def _paid_candidate(self, customer_key: str, paid_hits: list[ReferenceHit]) -> Candidate:
        item = paid_hits[0].item
        comparison = amount_to_compare(self.payment, item.currency)
        amount = comparison[0] if comparison else self.payment.amount
        fit = AmountFit("paid", [Allocation(item.invoice_id, item.number, amount, item.document_type)], [])
        evidence = self._reference_evidence(paid_hits)
        evidence.append(
            Evidence(
                "already-paid",
                f"{labels([hit.item for hit in paid_hits])} already paid "
                f"(open {money(item.open_amount, item.currency)} "
                f"of {money(item.total_amount, item.currency)}); "
                "duplicate payment?",
                W_PAID,
            )
        )
        evidence += self.payer.evidence_for(customer_key, [item], self.index)
        return Candidate(
            customer_key,
            [item],
            fit,
            evidence,
            item.currency,
            self._next(),
            referenced=True,
            basis=paid_hits[0].basis,
        )

    def _currency_candidate(
        self, customer_key: str, hits: list[ReferenceHit], evidence: list[Evidence]
    ) -> Candidate:
        items = [hit.item for hit in hits]
        payment = self.payment
        instructed = f" (instructed {payment.instructed_currency})" if payment.instructed_currency else ""
        evidence.append(
            Evidence(
                "currency-mismatch",
                f"{labels(items)} is in {', '.join(sorted({i.currency for i in items}))}; the payment is in "
                f"{payment.currency}{instructed}",
                W_CURRENCY,
            )
        )
        evidence += self.payer.evidence_for(customer_key, items, self.index)
        allocations = [Allocation(i.invoice_id, i.number, i.open_amount, i.document_type) for i in items]
        return Candidate(
            customer_key,
            items,
            AmountFit("mismatch", allocations, []),
            evidence,
            items[0].currency,
            self._next(),
            referenced=True,
            basis=hits[0].basis,
        )

    # -- what the amount alone points to --

    def by_amount(self) -> list[Candidate]:
        """The identified payer's items with exactly the amount; else those of the names it resembles.

        A payer that pays for a customer group (policy.group_payments) is searched across the group's open
        items, its own with its members', under the same uniqueness rules.
        """
        if self.payer.customer_key is not None:
            key = self.payer.customer_key
            return self._customer_amount_candidates(key, identified=True, group=self._group(key))
        out: list[Candidate] = []
        for hit in self.payer.fuzzy[:3]:
            if hit.score >= 90:
                key = hit.customer_key
                out += self._customer_amount_candidates(key, identified=False, group=self._group(key))
        return out

    def behind_references(self, candidates: Sequence[Candidate]) -> list[Candidate]:
        """Exact-amount candidates behind a reference that does not fit, when the payer is not identified.

        The referenced customer's own items (its payer search did not run: an old KID?), and, unless the
        payer is named like that customer, any customer's open invoices with exactly the amount (a valid
        KID of a stranger's invoice?). `_cross_check` turns either into a conflict for the reference.
        """
        if self.payer.customer_key is not None:
            return []
        searched = {hit.customer_key for hit in self.payer.fuzzy[:3] if hit.score >= 90}
        out: list[Candidate] = []
        doubtful = False
        for candidate in candidates:
            key = candidate.customer_key
            if not candidate.referenced or key is None or candidate.fit.kind not in NOT_FITTING:
                continue
            if key not in searched:
                searched.add(key)
                out += self._customer_amount_candidates(key, identified=False)
            # a short payment within the write-off allowance is the customer's own rounding, not a
            # stranger's money: only the customer's own items are searched behind it
            if candidate.fit.kind != "write-off":
                doubtful = doubtful or not self.payer.resembles(key)
        if doubtful:
            out += self._others_with_amount(searched)
        return out

    def _others_with_amount(self, excluded: set[str]) -> list[Candidate]:
        """Open invoices of customers not in `excluded` whose open amount is exactly the amount."""
        out: list[Candidate] = []
        payment = self.payment
        for currency in dict.fromkeys(c for c in (payment.currency, payment.instructed_currency) if c):
            comparison = amount_to_compare(payment, currency)
            if comparison is None:
                continue
            target, fx = comparison
            # the first few dozen in filing order are enough to doubt the reference and to suggest from
            items = self.index.open_with_amount(target, currency, limit=STRANGERS_SEARCHED, excluded=excluded)
            for item in sorted(items, key=self._due_distance)[: self.policy.suggestions]:
                detail = (
                    f"{money(target, currency)} equals the open amount of {label(item)} "
                    f"({self.index.customer_name(item.customer_key)})"
                )
                evidence = [Evidence("amount-exact", detail, W_EXACT)]
                out.append(
                    self._amount_candidate(
                        item.customer_key, [item], evidence, currency, target, fx, unique=False
                    )
                )
        return out

    def _group(self, customer_key: str) -> list[str]:
        return self.index.group_of(customer_key) if self.policy.group_payments else []

    def _customer_amount_candidates(
        self, customer_key: str, *, identified: bool, group: Sequence[str] = ()
    ) -> list[Candidate]:
        """The customer's single open items, else combinations of them, with exactly the amount; with a
        `group`, the open items of the customer and of every member it pays for, counted together."""
        by_currency: dict[str, list[OpenItem]] = {}
        comparable: dict[str, bool] = {}  # per currency: a customer's hundreds of items share one or two
        for key in (customer_key, *group):
            for item in self.index.items_of(key):
                if item.open_amount > 0:
                    currency = item.currency
                    known = comparable.get(currency)
                    if known is None:
                        known = comparable[currency] = amount_to_compare(self.payment, currency) is not None
                    if known:
                        by_currency.setdefault(currency, []).append(item)
        out: list[Candidate] = []
        name = self.index.customer_name(customer_key)
        if group:
            members = f"{len(group)} customer{'s' if len(group) > 1 else ''}"
            name = f"{name}'s group ({name} and the {members} it pays for)"
        for currency, items in by_currency.items():
            comparison = amount_to_compare(self.payment, currency)
            assert comparison is not None
            target, fx = comparison
            search = self._search_amount(items, target)
            for chosen in search.solutions[: self.policy.suggestions]:
                evidence = search.evidence(chosen, name, money(target, currency))
                owners = {item.customer_key for item in chosen}
                owner = next(iter(owners)) if len(owners) == 1 else customer_key
                if group and not identified and owners != {customer_key}:
                    evidence.append(self._fuzzy_group_note(customer_key, owners))
                out.append(
                    self._amount_candidate(
                        owner,
                        chosen,
                        evidence,
                        currency,
                        target,
                        fx,
                        unique=identified and search.unique,
                    )
                )
        return out

    def _fuzzy_group_note(self, parent: str, owners: set[str]) -> Evidence:
        members = ", ".join(self.index.customer_name(key) for key in sorted(owners - {parent}))
        return Evidence(
            "payer-group",
            f"the payer resembles {self.index.customer_name(parent)} by name, which pays for {members} "
            "(customer group); a name alone never applies money",
            0.0,
        )

    def _search_amount(self, items: list[OpenItem], target: Decimal) -> _AmountSearch:
        """Single invoices with exactly `target` (nearest due date first), then combinations adding up."""
        singles = sorted(
            (i for i in items if i.document_type == "invoice" and i.open_amount == target),
            key=self._due_distance,
        )
        everything = sorted(items, key=oldest_first)
        pool = everything[: self.policy.subset_max_items]
        wanted = max(2, self.policy.suggestions)
        found = find_subsets([_signed_cents(i) for i in pool], _cents(target), limit=wanted, min_size=2)
        solutions = [[single] for single in singles] + [[pool[i] for i in s] for s in found.solutions]
        if len(items) > len(pool) and len(solutions) < wanted:
            # beyond the window, the obvious confusions still count (two of 400 against one of 800)
            known = {frozenset(i.invoice_id for i in solution) for solution in solutions}
            values = [_signed_cents(i) for i in everything]
            for combination in small_combinations(values, _cents(target), limit=wanted):
                chosen = [everything[i] for i in combination]
                if frozenset(i.invoice_id for i in chosen) not in known:
                    solutions.append(chosen)
        chance = 0.0
        if len(solutions) == 1 and len(solutions[0]) > 1:
            within = all(item in pool for item in solutions[0])
            chance = chance_combinations(pool if within else items, len(solutions[0]), target)
        return _AmountSearch(
            len(items), len(pool), singles, solutions, bool(found.solutions), found.exhausted, chance
        )

    def _due_distance(self, item: OpenItem) -> tuple[int, str]:
        if self.when is None or item.due_date is None:
            return (10**6, item.number)
        return (abs((self.when - item.due_date).days), item.number)

    def _amount_candidate(
        self,
        customer_key: str,
        items: list[OpenItem],
        evidence: list[Evidence],
        currency: str,
        target: Decimal,
        fx: bool,
        *,
        unique: bool,
    ) -> Candidate:
        ordered = sorted(items, key=lambda i: (i.document_type != "invoice", oldest_first(i)))
        allocations = [Allocation(i.invoice_id, i.number, i.open_amount, i.document_type) for i in ordered]
        evidence += [
            Evidence("credit-note-netted", f"{label(i)} ({money(i.open_amount, currency)}) is netted", 0.0)
            for i in ordered
            if i.document_type == "credit_note"
        ]
        if fx:
            evidence.append(self._fx_evidence(target, currency))
        evidence += self.payer.evidence_for(customer_key, ordered, self.index)
        evidence += self._due_evidence(ordered)
        return Candidate(
            customer_key,
            ordered,
            AmountFit("exact", allocations, []),
            evidence,
            currency,
            self._next(),
            unique_amount=unique,
        )

    # -- evidence every candidate may carry --

    def _fx_evidence(self, target: Decimal, currency: str) -> Evidence:
        payment = self.payment
        rate = (payment.amount / target).quantize(Decimal("0.0001")) if target else _ZERO
        return Evidence(
            "fx",
            f"paid {money(payment.amount, payment.currency)} for {money(target, currency)} as instructed "
            f"(rate {rate}); compared and applied in {currency}",
            0.0,
        )

    def _due_evidence(self, items: Sequence[OpenItem]) -> list[Evidence]:
        if self.when is None:
            return []
        window = self.policy.due_date_window_days
        for item in items:
            if item.document_type == "invoice" and item.due_date is not None:
                days = (self.when - item.due_date).days
                if abs(days) <= window:
                    when = f"{days} days after" if days >= 0 else f"{-days} days before"
                    return [Evidence("due-date", f"paid {when} {label(item)}'s due date", W_DUE)]
        return []
