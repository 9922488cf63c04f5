"""The payment matching engine: which open invoices a payment pays, how sure that is, and why.

Pure and in memory: `MatchIndex` holds a tenant's open (and recently paid) invoices and credit notes,
indexed by normalised number, KID and customer, plus what people taught it (payer accounts, name
aliases, reference patterns). `match_payment` decides one payment against it; the caller books applied
decisions and calls `MatchIndex.apply`, so the next payment sees the new open amounts.

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
   mistyped number that lands on a stranger's invoice of the same subscription price).
6. Decision: applied only when score >= `auto_threshold`, lead over the runner-up >= `margin`, no conflict
   evidence, and the proposal rests on a reference or on an identified payer's unique amount fit; then
   `needs_approval` if the payment is above `approval_above` or a stated deduction needs approval.
   Anything else is an exception with ranked suggestions: ambiguity goes to a person, never to a tie-break.

Scoring
-------
A candidate's score is ``1 - exp(-max(0, sum of its evidence weights))``: every weight is listed in the
evidence with a sentence, so the score is explainable. The default threshold 0.90 needs a sum of 2.31.

=======================  ======  ==========================================================================
evidence kind            weight  when
=======================  ======  ==========================================================================
kid                       2.5    a KID in a structured field names the item (2.2 when found in free text)
kid-typo                  1.4    an invalid KID is one typo from exactly one valid KID (1.2 when only the
                                 one fitting the payer or the amount is taken among several)
invoice-number            2.4    a remittance line (or the KID field) names the number (1.6 in free text)
learned-pattern           1.8    a pattern learned from a person's resolution reads the number
invoice-number-typo       1.0    a number one edit away from the only open item that fits payer or amount
payer-account             1.0    the payer's account is learned for the candidate's customer
payer-alias               0.9    the payer's name is a learned alias of the candidate's customer
payer-name-fuzzy          0.2-0.5  the payer's name resembles the customer's (score 85..100)
amount-exact              1.0    the amount equals the open amount (net of credit notes)
amount-unique             0.5    the identified payer's only item or combination with exactly the amount
amount-subset             0.5    the same, when it is a combination of several items
amount-short              0.7    short within the write-off allowance (written off)
amount-deduction          0.5    short by a deduction the payer states (approval by policy)
amount-partial            0.0    a referenced partial payment
amount-over               0.2    more than owed (excess on the single invoice, else unapplied)
due-date                  0.1    paid within `due_date_window_days` of a due date
fx, credit-note-netted    0.0    explanations
payer-conflict           -2.0    the item belongs to another customer than the identified payer
amount-conflict          -1.5    the referenced item's amount does not fit, another candidate fits exactly
kid-amount-conflict      -1.5    the same, for a KID
reference-elsewhere      -1.0    an amount-only candidate while the payment references other items
payer-unconfirmed        -0.3    the amount does not fit the reference (partial, over) and the payer is
                                 neither known nor named like the customer
payer-name-mismatch      -1.0    a free-text reference to an item of another customer than the one the
                                 payer's name resembles (structured references and KIDs are exempt)
ambiguous                -0.5    several items or combinations fit equally
currency-mismatch        -3.0    the item's currency is neither the payment's nor the instructed one
already-paid             -3.0    the referenced item is already paid: a duplicate payment?
=======================  ======  ==========================================================================

Kinds listed in `CONFLICT_KINDS` block automatic application whatever the score.

Amounts: allocations are in the item's currency (under FX the instructed amount is compared and applied,
and the evidence says so). For a credit note the allocation is the credit used (positive). A proposal's
allocations (invoices minus credit notes) plus `unapplied` equal the amount compared; `write_off` is on
top and sits on the last invoice of the allocations (also given per allocation in `Allocation.write_off`).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import re
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from types import MappingProxyType
from typing import Any, Literal

from gateway.matching.names import NameHit, NameIndex, alias_key
from gateway.matching.references import (
    DIGITS,
    MIN_TYPO_LENGTH,
    compact_kid,
    derive_pattern,
    normalise_account,
    normalise_number,
    one_edit_variants,
    text_references,
    typo_alphabet,
)
from gateway.matching.subset import find_subsets, small_combinations
from mappings.base import FormatError
from schemas.kid import KidAgreement, KidError
from schemas.matching import MatchingPolicy
from schemas.remittance import Payment, RemittanceLine

DocumentType = Literal["invoice", "credit_note"]
Outcome = Literal["applied", "needs_approval", "exception", "ignored"]

W_KID = 2.5
W_KID_TEXT = 2.2
W_KID_TYPO = 1.4
W_KID_TYPO_NARROWED = 1.2
W_NUMBER_STRUCTURED = 2.4
W_NUMBER_TEXT = 1.6
W_PATTERN = 1.8
W_NUMBER_TYPO = 1.0
W_PAYER_ACCOUNT = 1.0
W_PAYER_ALIAS = 0.9
W_FUZZY_MIN = 0.2
W_FUZZY_MAX = 0.5
W_EXACT = 1.0
W_UNIQUE = 0.5
W_SUBSET = 0.5
W_SHORT = 0.7
W_DEDUCTION = 0.5
W_PARTIAL = 0.0
W_OVER = 0.2
W_DUE = 0.1
W_PAYER_CONFLICT = -2.0
W_AMOUNT_CONFLICT = -1.5
W_ELSEWHERE = -1.0
W_UNCONFIRMED = -0.3
W_NAME_MISMATCH = -1.0
#: A payer name this close (0..100) to some customer's makes a free-text reference to another customer's
#: item doubtful: the number is more likely mistyped than paid for someone else.
NAME_ELSEWHERE_SCORE = 95.0
W_AMBIGUOUS = -0.5
W_CURRENCY = -3.0
W_PAID = -3.0

#: Evidence that forbids automatic application whatever the score.
CONFLICT_KINDS = frozenset(
    {
        "payer-conflict",
        "amount-conflict",
        "kid-amount-conflict",
        "reference-elsewhere",
        "payer-unconfirmed",
        "payer-name-mismatch",
        "ambiguous",
        "currency-mismatch",
        "already-paid",
    }
)
#: Reference kinds a proposal may rest on for automatic application.
REFERENCE_KINDS = frozenset({"kid", "kid-typo", "invoice-number", "invoice-number-typo", "learned-pattern"})
_CLEAN_FITS = frozenset({"exact", "write-off", "deduction"})
#: A payer name that fits another customer's name this well (0..100) is not learned as an alias: a bank name
#: cut at 20-35 characters is often the start of several customers' names.
ALIAS_RIVAL_SCORE = 95.0
_CENT = Decimal("0.01")
_ZERO = Decimal(0)
_EMPTY: Mapping[str, str] = MappingProxyType({})


# --- the data the caller sees ----------------------------------------------------------------------------


@dataclass(slots=True)
class OpenItem:
    """One open invoice or credit note as matching sees it; `open_amount` moves as payments apply."""

    invoice_id: str
    number: str
    document_type: DocumentType
    customer_key: str
    customer_name: str
    currency: str
    open_amount: Decimal
    total_amount: Decimal
    issue_date: dt.date
    due_date: dt.date | None = None
    kid: str | None = None


@dataclass(frozen=True)
class LearnedPattern:
    """A payer's house style of writing invoice numbers, learned from a person's resolution.

    `regex` is matched case-insensitively; its first capture group yields an invoice number, normalised
    like any number. With a `customer_key` it only names that customer's items.
    """

    customer_key: str | None
    regex: str
    source: str = ""


@dataclass(frozen=True)
class Evidence:
    """One fact behind a score, as a sentence a person understands, and its weight in the score."""

    kind: str
    detail: str
    weight: float

    def as_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "detail": self.detail, "weight": round(self.weight, 3)}


@dataclass(frozen=True)
class Allocation:
    """Money applied to one item (a credit note: the credit used, positive), in the item's currency.

    `write_off` is written off on this item besides `amount` (a small short payment, an approved
    deduction): the item's open amount falls by both.
    """

    invoice_id: str
    number: str
    amount: Decimal
    document_type: DocumentType = "invoice"
    write_off: Decimal = _ZERO

    def as_dict(self) -> dict[str, Any]:
        return {
            "invoice_id": self.invoice_id,
            "number": self.number,
            "amount": str(self.amount),
            "document_type": self.document_type,
            "write_off": str(self.write_off),
        }


@dataclass(frozen=True)
class Proposal:
    """What would be applied, with the score and the evidence for it.

    `currency` is the allocations' currency (the items'; under FX not the payment's).
    """

    allocations: tuple[Allocation, ...]
    score: float
    customer_key: str | None
    evidence: tuple[Evidence, ...]
    write_off: Decimal = _ZERO
    unapplied: Decimal = _ZERO
    currency: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "allocations": [allocation.as_dict() for allocation in self.allocations],
            "score": round(self.score, 4),
            "customer_key": self.customer_key,
            "evidence": [evidence.as_dict() for evidence in self.evidence],
            "write_off": str(self.write_off),
            "unapplied": str(self.unapplied),
            "currency": self.currency,
        }


@dataclass(frozen=True)
class Decision:
    """The outcome for one payment: applied, waiting for approval, an exception for a person, or ignored."""

    outcome: Outcome
    confidence: float
    proposal: Proposal | None
    suggestions: tuple[Proposal, ...]
    customer_key: str | None
    reason: str
    evidence: tuple[Evidence, ...]

    def as_dict(self) -> dict[str, Any]:
        return {
            "outcome": self.outcome,
            "confidence": round(self.confidence, 4),
            "proposal": self.proposal.as_dict() if self.proposal else None,
            "suggestions": [suggestion.as_dict() for suggestion in self.suggestions],
            "customer_key": self.customer_key,
            "reason": self.reason,
            "evidence": [evidence.as_dict() for evidence in self.evidence],
        }


@dataclass(frozen=True)
class Learned:
    """What a person's resolution taught: payer accounts and name aliases (-> customer key), patterns."""

    accounts: dict[str, str] = field(default_factory=dict)
    aliases: dict[str, str] = field(default_factory=dict)
    patterns: list[LearnedPattern] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # what was deliberately not learned, and why

    def __bool__(self) -> bool:
        return bool(self.accounts or self.aliases or self.patterns)

    def describe(self) -> list[str]:
        out = [f"payer account {account} belongs to {key}" for account, key in self.accounts.items()]
        out += [f"payer name '{name}' is an alias of {key}" for name, key in self.aliases.items()]
        out += [
            f"reference pattern {p.regex} names {p.customer_key or 'any customer'}'s items"
            for p in self.patterns
        ]
        return out

    def as_dict(self) -> dict[str, Any]:
        return {
            "accounts": dict(self.accounts),
            "aliases": dict(self.aliases),
            "patterns": [
                {"customer_key": p.customer_key, "regex": p.regex, "source": p.source} for p in self.patterns
            ],
            "notes": list(self.notes),
        }


# --- the index ---------------------------------------------------------------------------------------------

_Table = dict[str, "OpenItem | list[OpenItem]"]


def _put(table: _Table, key: str, item: OpenItem) -> None:
    existing = table.get(key)
    if existing is None:
        table[key] = item
    elif isinstance(existing, list):
        existing.append(item)
    else:
        table[key] = [existing, item]


def _take(table: _Table, key: str, item: OpenItem) -> None:
    existing = table.get(key)
    if existing is item:
        del table[key]
    elif isinstance(existing, list):
        remaining = [other for other in existing if other is not item]
        if not remaining:
            del table[key]
        else:
            table[key] = remaining[0] if len(remaining) == 1 else remaining


def _found(table: _Table, key: str) -> list[OpenItem]:
    existing = table.get(key)
    if existing is None:
        return []
    return list(existing) if isinstance(existing, list) else [existing]


class MatchIndex:
    """A tenant's open and recently paid items, indexed for matching, and what people taught.

    Items stay in the number and KID tables after they are paid (`open_amount <= 0`), so a second payment
    for a paid invoice is explained as a duplicate instead of being applied elsewhere; they leave the
    candidate pool for amount-only matching. Items of a customer are grouped, so no search ever scans the
    whole index. `accounts` and `aliases` map a payer account / payer name to a customer key: an account or
    alias learned for two different customers identifies neither (a payment service, a shared account).
    """

    def __init__(
        self,
        items: Iterable[OpenItem] = (),
        *,
        kid_agreement: KidAgreement | None = None,
        accounts: Mapping[str, str] = _EMPTY,
        aliases: Mapping[str, str] = _EMPTY,
        patterns: Iterable[LearnedPattern] = (),
    ) -> None:
        self.kid_agreement = kid_agreement
        self._items: dict[str, OpenItem] = {}
        self._numbers: _Table = {}
        self._kids: _Table = {}
        self._customers: dict[str, list[OpenItem]] = {}
        self._customer_names: dict[str, list[str]] = {}
        self._names = NameIndex()
        self._accounts: dict[str, str | None] = {}
        self._aliases: dict[str, str | None] = {}
        self._patterns: dict[str | None, list[tuple[LearnedPattern, re.Pattern[str]]]] = {}
        for item in items:
            self.add(item)
        for account, customer_key in accounts.items():
            self.learn_account(account, customer_key)
        for name, customer_key in aliases.items():
            self.learn_alias(name, customer_key)
        for pattern in patterns:
            self.learn_pattern(pattern)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: OpenItem) -> None:
        """Index an item (again: an item with a known `invoice_id` replaces the old one)."""
        old = self._items.get(item.invoice_id)
        if old is not None:
            self._remove(old)
        item.customer_key = sys.intern(item.customer_key)
        item.customer_name = sys.intern(item.customer_name)
        item.currency = sys.intern(item.currency)
        self._items[item.invoice_id] = item
        number = normalise_number(item.number)
        if number:
            _put(self._numbers, item.number if number == item.number else number, item)
        if item.kid:
            _put(self._kids, compact_kid(item.kid), item)
        customer_items = self._customers.get(item.customer_key)
        if customer_items is None:
            self._customers[item.customer_key] = [item]
            self._customer_names[item.customer_key] = [item.customer_name]
            self._names.add(item.customer_key, item.customer_name)
        else:
            customer_items.append(item)
            known = self._customer_names[item.customer_key]
            if item.customer_name not in known:
                known.append(item.customer_name)
                self._names.add(item.customer_key, item.customer_name)

    def _remove(self, item: OpenItem) -> None:
        del self._items[item.invoice_id]
        _take(self._numbers, normalise_number(item.number), item)
        if item.kid:
            _take(self._kids, compact_kid(item.kid), item)
        customer_items = self._customers.get(item.customer_key, [])
        if item in customer_items:
            customer_items.remove(item)

    def apply(self, allocations: Iterable[Allocation]) -> None:
        """Lower open amounts by what was applied and written off; an item at <= 0 leaves the pool.

        All allocations are checked before any is applied: an unknown item changes nothing.
        """
        pending = list(allocations)
        items = []
        for allocation in pending:
            item = self._items.get(allocation.invoice_id)
            if item is None:
                raise KeyError(f"allocation to {allocation.invoice_id!r}: no such item in the matching index")
            items.append(item)
        for item, allocation in zip(items, pending, strict=True):
            item.open_amount -= allocation.amount + allocation.write_off

    def learn_account(self, account: str, customer_key: str) -> None:
        key = normalise_account(account)
        if key:
            self._accounts[key] = (
                customer_key if self._accounts.get(key, customer_key) == customer_key else None
            )

    def learn_alias(self, name: str, customer_key: str) -> None:
        key = alias_key(name)
        if key:
            self._aliases[key] = (
                customer_key if self._aliases.get(key, customer_key) == customer_key else None
            )

    def learn_pattern(self, pattern: LearnedPattern) -> bool:
        """Add a reference pattern; False when it is already known. A bad regex raises `FormatError`."""
        known = self._patterns.setdefault(pattern.customer_key, [])
        if any(existing.regex == pattern.regex for existing, _ in known):
            return False
        try:
            compiled = re.compile(pattern.regex, re.IGNORECASE)
        except re.error as error:
            raise FormatError(
                "pattern.regex", f"{pattern.regex!r} is no regular expression: {error}"
            ) from None
        if compiled.groups < 1:
            raise FormatError("pattern.regex", f"{pattern.regex!r} has no capture group for the number")
        known.append((pattern, compiled))
        return True

    # lookups the engine uses

    def item(self, invoice_id: str) -> OpenItem | None:
        return self._items.get(invoice_id)

    def by_number(self, number: str) -> list[OpenItem]:
        """Items whose normalised number is `number` (already normalised)."""
        return _found(self._numbers, number)

    def by_kid(self, kid: str) -> list[OpenItem]:
        return _found(self._kids, kid)

    def items_of(self, customer_key: str) -> list[OpenItem]:
        return self._customers.get(customer_key, [])

    def customer_names(self, customer_key: str) -> list[str]:
        return self._customer_names.get(customer_key, [])

    def customer_name(self, customer_key: str) -> str:
        names = self._customer_names.get(customer_key)
        return names[0] if names else customer_key

    def account_owner(self, account: str) -> tuple[str | None, bool]:
        """The customer a payer account is learned for, and whether it is shared (learned for several)."""
        key = normalise_account(account)
        if key not in self._accounts:
            return None, False
        owner = self._accounts[key]
        return owner, owner is None

    def customer_for_account(self, account: str) -> str | None:
        return self.account_owner(account)[0]

    def customer_for_alias(self, name: str) -> str | None:
        return self._aliases.get(alias_key(name))

    def find_names(self, name: str, *, limit: int = 5) -> list[NameHit]:
        return self._names.search(name, limit=limit)

    def patterns_for(self, customer_key: str | None) -> list[tuple[LearnedPattern, re.Pattern[str]]]:
        return self._patterns.get(customer_key, [])


# --- matching --------------------------------------------------------------------------------------------


def _squash(total: float) -> float:
    return 1.0 - math.exp(-max(0.0, total))


def _label(item: OpenItem) -> str:
    return f"{'credit note' if item.document_type == 'credit_note' else 'invoice'} {item.number}"


def _labels(items: Sequence[OpenItem]) -> str:
    if len(items) == 1:
        return _label(items[0])
    if len(items) <= 4:
        return ", ".join(_label(item) for item in items)
    return ", ".join(_label(item) for item in items[:3]) + f" and {len(items) - 3} more"


def _money(amount: Decimal, currency: str) -> str:
    return f"{amount:,.2f} {currency}"


def _cents(amount: Decimal) -> int:
    return int((amount * 100).to_integral_value())


def _age(item: OpenItem) -> tuple[dt.date, str]:
    return (item.due_date or item.issue_date, item.number)


@dataclass(slots=True)
class _Hit:
    item: OpenItem
    evidence: list[Evidence]
    weight: float
    basis: str
    structured: bool
    line: RemittanceLine | None


@dataclass(slots=True)
class _Fit:
    kind: str  # exact, write-off, deduction, partial, over, mismatch
    allocations: list[Allocation]
    evidence: list[Evidence]
    write_off: Decimal = _ZERO
    unapplied: Decimal = _ZERO
    needs_approval: bool = False


@dataclass(slots=True)
class _Candidate:
    customer_key: str | None
    items: list[OpenItem]
    fit: _Fit
    evidence: list[Evidence]
    currency: str
    order: int
    referenced: bool = False
    unique_amount: bool = False
    basis: str = ""

    @property
    def score(self) -> float:
        return _squash(sum(evidence.weight for evidence in self.evidence))

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
        self.payment_evidence: list[Evidence] = []
        self.payer: str | None = None
        self.payer_evidence: Evidence | None = None
        self.fuzzy: list[NameHit] = []
        self.hits: dict[str, _Hit] = {}
        self.text_misses: list[tuple[str, str, RemittanceLine | None]] = []
        self._order = 0

    # -- orchestration --

    def run(self) -> Decision:
        self._identify_payer()
        self._collect_references()
        candidates = self._reference_candidates()
        # a reference that fits exactly settles it; a write-off fit does not (a wrong KID can be close)
        if not any(c.fit.kind in ("exact", "deduction") and not c.conflicts() for c in candidates):
            candidates += self._amount_candidates()
        self._cross_check(candidates)
        return self._decide(candidates)

    def _comparison(self, currency: str) -> tuple[Decimal, bool] | None:
        """The amount to compare with items in `currency`, and whether it is the FX-instructed one."""
        payment = self.payment
        if currency == payment.currency:
            return payment.amount, False
        if payment.instructed_currency == currency and payment.instructed_amount is not None:
            return payment.instructed_amount, True
        return None

    def _next(self) -> int:
        self._order += 1
        return self._order

    # -- payer --

    def _identify_payer(self) -> None:
        payment = self.payment
        if payment.payer_account:
            owner, shared = self.index.account_owner(payment.payer_account)
            account = normalise_account(payment.payer_account)
            if owner is not None:
                self.payer = owner
                self.payer_evidence = Evidence(
                    "payer-account",
                    f"payer account {account} is {self.index.customer_name(owner)}'s (learned)",
                    W_PAYER_ACCOUNT,
                )
            elif shared:
                self.payment_evidence.append(
                    Evidence(
                        "payer-account-shared", f"payer account {account} has paid for several customers", 0.0
                    )
                )
        if self.payer is None and payment.payer_name:
            owner = self.index.customer_for_alias(payment.payer_name)
            if owner is not None:
                self.payer = owner
                self.payer_evidence = Evidence(
                    "payer-alias",
                    f"payer name '{payment.payer_name}' is a learned alias of "
                    f"{self.index.customer_name(owner)}",
                    W_PAYER_ALIAS,
                )
        if self.payer_evidence is not None:
            self.payment_evidence.insert(0, self.payer_evidence)
        elif payment.payer_name:
            self.fuzzy = self.index.find_names(payment.payer_name)
            if self.fuzzy:
                names = ", ".join(f"{hit.name} ({hit.score:.0f} %)" for hit in self.fuzzy[:3])
                self.payment_evidence.append(
                    Evidence(
                        "payer-name-fuzzy",
                        f"payer name '{payment.payer_name}' resembles {names}; "
                        "a name alone identifies no one",
                        0.0,
                    )
                )

    def _payer_evidence(self, customer_key: str, items: Sequence[OpenItem]) -> list[Evidence]:
        if self.payer is not None and self.payer_evidence is not None:
            if customer_key == self.payer:
                return [self.payer_evidence]
            return [
                Evidence(
                    "payer-conflict",
                    f"the payer is {self.index.customer_name(self.payer)} (by its "
                    f"{self.payer_evidence.kind.removeprefix('payer-')}), but {_labels(items)} "
                    f"belong(s) to {self.index.customer_name(customer_key)}",
                    W_PAYER_CONFLICT,
                )
            ]
        for hit in self.fuzzy:
            if hit.customer_key == customer_key:
                weight = W_FUZZY_MIN + (W_FUZZY_MAX - W_FUZZY_MIN) * max(0.0, min(1.0, (hit.score - 85) / 15))
                return [
                    Evidence(
                        "payer-name-fuzzy",
                        f"payer name '{self.payment.payer_name}' resembles {hit.name} ({hit.score:.0f} %)",
                        round(weight, 3),
                    )
                ]
        return []

    def _plausible(self, item: OpenItem) -> bool:
        """An item a typo may be corrected to: open, and the payer's or exactly the amount."""
        if item.open_amount <= 0:
            return False
        if self.payer is not None and item.customer_key == self.payer:
            return True
        comparison = self._comparison(item.currency)
        return comparison is not None and comparison[0] == item.open_amount

    # -- references --

    def _hit(
        self, item: OpenItem, evidence: Evidence, basis: str, structured: bool, line: RemittanceLine | None
    ) -> None:
        hit = self.hits.get(item.invoice_id)
        if hit is None:
            self.hits[item.invoice_id] = _Hit(item, [evidence], evidence.weight, basis, structured, line)
            return
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

    def _collect_references(self) -> None:
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
            for item in items:
                self._hit(
                    item,
                    Evidence("kid", f"KID {kid} is {_label(item)}'s KID{note}", W_KID),
                    "kid",
                    True,
                    line,
                )
            return True
        if agreement is not None and not agreement.is_valid(kid):
            why = f"KID {kid} is not valid under the KID agreement"
            try:
                agreement.validate_kid(kid)
            except KidError as error:
                why = str(error)
            self.payment_evidence.append(Evidence("kid-invalid", why, 0.0))
            if self._kid_typo(kid, agreement, line):
                return True
        else:
            self.payment_evidence.append(Evidence("kid-unknown", f"KID {kid} belongs to no known item", 0.0))
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
                    f"{_label(item)}'s"
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
                    f"({_label(item)}) fits the payer or the amount"
                )
                self._hit(item, Evidence("kid-typo", detail, W_KID_TYPO_NARROWED), "kid-typo", True, line)
            return True
        if found:
            self.payment_evidence.append(
                Evidence(
                    "kid-invalid", f"{len(found)} valid KIDs lie one typo from {kid}; none stands out", 0.0
                )
            )
        return False

    def _by_number(self, number: str, line: RemittanceLine | None) -> list[OpenItem]:
        items = self.index.by_number(number)
        if len(items) > 1 and line is not None and line.document_kind in ("invoice", "credit_note"):
            items = [item for item in items if item.document_type == line.document_kind] or items
        if len(items) > 1 and self.payer is not None:
            items = [item for item in items if item.customer_key == self.payer] or items
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
            detail = f"{where} names {_label(item)} ('{raw}')"
            self._hit(
                item, Evidence("invoice-number", detail, W_NUMBER_STRUCTURED), "invoice-number", True, line
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
            if self.payer is not None and item.customer_key == self.payer
            else "the one whose open amount is the payment's"
        )
        detail = f"'{raw}' is one edit from {_label(item)}; of {len(found)} numbers one edit away it is {why}"
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
                    detail = f"free text '{reference.token}' holds {_label(item)}'s KID"
                    self._hit(item, Evidence("kid", detail, W_KID_TEXT), "kid", False, line)
                    hit = True
            for item in self._by_number(reference.number, None):
                detail = f"free text '{reference.token}' names {_label(item)}"
                self._hit(
                    item, Evidence("invoice-number", detail, W_NUMBER_TEXT), "invoice-number", False, line
                )
                hit = True
            if not hit and reference.primary and len(reference.number) >= MIN_TYPO_LENGTH:
                self.text_misses.append((reference.token, reference.number, line))

    def _pattern_references(self) -> None:
        keys: list[str | None] = [None]
        if self.payer is not None:
            keys.append(self.payer)
        keys += [hit.customer_key for hit in self.fuzzy[:3]]
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
                            f"{' (' + pattern.source + ')' if pattern.source else ''} names {_label(item)}"
                        )
                        self._hit(
                            item,
                            Evidence("learned-pattern", detail, W_PATTERN),
                            "learned-pattern",
                            False,
                            None,
                        )

    # -- candidates --

    def _reference_candidates(self) -> list[_Candidate]:
        groups: dict[str, list[_Hit]] = {}
        for hit in self.hits.values():
            groups.setdefault(hit.item.customer_key, []).append(hit)
        return [self._group_candidate(key, hits) for key, hits in groups.items()]

    def _reference_evidence(self, hits: Sequence[_Hit]) -> list[Evidence]:
        """Each item's references; the weight is the items' average best reference (each must be named)."""
        out: list[Evidence] = []
        for hit in hits:
            for position, evidence in enumerate(hit.evidence):
                weight = hit.weight / len(hits) if position == 0 else 0.0
                out.append(dataclasses.replace(evidence, weight=round(weight, 4)))
        return out

    def _group_candidate(self, customer_key: str, hits: list[_Hit]) -> _Candidate:
        open_hits = [hit for hit in hits if hit.item.open_amount > 0]
        paid_hits = [hit for hit in hits if hit.item.open_amount <= 0]
        if not open_hits:
            return self._paid_candidate(customer_key, paid_hits)
        items = [hit.item for hit in open_hits]
        evidence = self._reference_evidence(open_hits)
        currencies = {item.currency for item in items}
        comparison = self._comparison(items[0].currency) if len(currencies) == 1 else None
        if comparison is None:
            return self._currency_candidate(customer_key, open_hits, evidence)
        currency = items[0].currency
        target, fx = comparison
        fit = self._fit(open_hits, target, currency, fx)
        if fit.kind not in _CLEAN_FITS and 2 <= len(open_hits) <= 12:
            signed = [
                _cents(h.item.open_amount) * (1 if h.item.document_type == "invoice" else -1)
                for h in open_hits
            ]
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
            if found.unique:
                chosen = [open_hits[i] for i in found.solutions[0]]
                left = [hit.item for hit in open_hits if hit not in chosen]
                open_hits = chosen
                items = [hit.item for hit in chosen]
                evidence = self._reference_evidence(chosen)
                fit = self._fit(chosen, target, currency, fx)
                evidence.append(
                    Evidence(
                        "reference-subset",
                        f"of the {len(hits)} referenced documents only {_labels(items)} add up to the "
                        "payment; "
                        f"{_labels(left)} left open",
                        0.0,
                    )
                )
        evidence += fit.evidence
        if fx:
            evidence.append(self._fx_evidence(target, currency))
        if paid_hits:
            paid = [hit.item for hit in paid_hits]
            if fit.kind in _CLEAN_FITS:
                evidence.append(Evidence("paid-reference", f"{_labels(paid)} also named, already paid", 0.0))
            else:
                evidence.append(
                    Evidence("already-paid", f"{_labels(paid)} already paid; duplicate payment?", W_PAID)
                )
        evidence += self._payer_evidence(customer_key, items)
        confirmed = self.payer == customer_key or any(hit.customer_key == customer_key for hit in self.fuzzy)
        if fit.kind in ("partial", "over") and not confirmed and self.payer is None:
            evidence.append(
                Evidence(
                    "payer-unconfirmed",
                    f"the amount does not fit {_labels(items)}, and the payer is neither known nor named "
                    f"like {self.index.customer_name(customer_key)}: a person confirms",
                    W_UNCONFIRMED,
                )
            )
        named_elsewhere = [h for h in self.fuzzy if h.score >= NAME_ELSEWHERE_SCORE] if not confirmed else []
        if named_elsewhere and not any(hit.structured or hit.basis == "kid" for hit in open_hits):
            evidence.append(
                Evidence(
                    "payer-name-mismatch",
                    f"the payer's name resembles {named_elsewhere[0].name}, not "
                    f"{self.index.customer_name(customer_key)}, whose {_labels(items)} the free text names",
                    W_NAME_MISMATCH,
                )
            )
        evidence += self._due_evidence(items)
        best = max(open_hits, key=lambda hit: hit.weight)
        return _Candidate(
            customer_key,
            items,
            fit,
            evidence,
            currency,
            self._next(),
            referenced=True,
            basis=best.basis,
        )

    def _paid_candidate(self, customer_key: str, paid_hits: list[_Hit]) -> _Candidate:
        item = paid_hits[0].item
        comparison = self._comparison(item.currency)
        amount = comparison[0] if comparison else self.payment.amount
        fit = _Fit("paid", [Allocation(item.invoice_id, item.number, amount, item.document_type)], [])
        evidence = self._reference_evidence(paid_hits)
        evidence.append(
            Evidence(
                "already-paid",
                f"{_labels([hit.item for hit in paid_hits])} already paid "
                f"(open {_money(item.open_amount, item.currency)} "
                f"of {_money(item.total_amount, item.currency)}); "
                "duplicate payment?",
                W_PAID,
            )
        )
        evidence += self._payer_evidence(customer_key, [item])
        return _Candidate(
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
        self, customer_key: str, hits: list[_Hit], evidence: list[Evidence]
    ) -> _Candidate:
        items = [hit.item for hit in hits]
        payment = self.payment
        instructed = f" (instructed {payment.instructed_currency})" if payment.instructed_currency else ""
        evidence.append(
            Evidence(
                "currency-mismatch",
                f"{_labels(items)} is in {', '.join(sorted({i.currency for i in items}))}; the payment is in "
                f"{payment.currency}{instructed}",
                W_CURRENCY,
            )
        )
        evidence += self._payer_evidence(customer_key, items)
        allocations = [Allocation(i.invoice_id, i.number, i.open_amount, i.document_type) for i in items]
        return _Candidate(
            customer_key,
            items,
            _Fit("mismatch", allocations, []),
            evidence,
            items[0].currency,
            self._next(),
            referenced=True,
            basis=hits[0].basis,
        )

    def _fx_evidence(self, target: Decimal, currency: str) -> Evidence:
        payment = self.payment
        rate = (payment.amount / target).quantize(Decimal("0.0001")) if target else _ZERO
        return Evidence(
            "fx",
            f"paid {_money(payment.amount, payment.currency)} for {_money(target, currency)} as instructed "
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
                    return [Evidence("due-date", f"paid {when} {_label(item)}'s due date", W_DUE)]
        return []

    def _allowance(self, owed: Decimal, fx: bool) -> Decimal:
        """The write-off allowance for a short payment: min(limit, percent of what is owed)."""
        limit = self.policy.write_off_limit
        payment = self.payment
        if fx and payment.instructed_amount:
            limit = limit * payment.instructed_amount / payment.amount
        share = owed * self.policy.write_off_percent / 100
        return min(limit, share).quantize(_CENT)

    def _fit(self, hits: Sequence[_Hit], target: Decimal, currency: str, fx: bool) -> _Fit:
        """How the payment's amount fits the open amounts of these items (credit notes netted)."""
        invoices = sorted((h for h in hits if h.item.document_type == "invoice"), key=lambda h: _age(h.item))
        credits = [h for h in hits if h.item.document_type == "credit_note"]
        owed = sum((h.item.open_amount for h in invoices), _ZERO)
        credit = sum((h.item.open_amount for h in credits), _ZERO)
        net = owed - credit
        items = [h.item for h in invoices + credits]
        credit_allocations = [
            Allocation(h.item.invoice_id, h.item.number, h.item.open_amount, "credit_note") for h in credits
        ]
        evidence = [
            Evidence(
                "credit-note-netted",
                f"{_label(h.item)} ({_money(h.item.open_amount, currency)}) is netted against the invoices",
                0.0,
            )
            for h in credits
        ]
        full = [Allocation(h.item.invoice_id, h.item.number, h.item.open_amount) for h in invoices]
        if not invoices or net <= 0:
            evidence.append(
                Evidence("amount-mismatch", f"the credit notes cover {_labels(items)}: nothing is owed", 0.0)
            )
            return _Fit("mismatch", full + credit_allocations, evidence, unapplied=target)
        difference = target - net
        net_text = " net of credit notes" if credits else ""
        if difference == 0:
            evidence.append(
                Evidence(
                    "amount-exact",
                    f"{_money(target, currency)} equals the open amount of {_labels(items)}{net_text}",
                    W_EXACT,
                )
            )
            return _Fit("exact", full + credit_allocations, evidence)
        if difference > 0:
            if len(invoices) == 1:
                only = invoices[0].item
                allocations = [Allocation(only.invoice_id, only.number, only.open_amount + difference)]
                evidence.append(
                    Evidence(
                        "amount-over",
                        f"{_money(target, currency)} is {_money(difference, currency)} more than "
                        f"{_label(only)}'s "
                        f"open {_money(net, currency)}{net_text}; the excess stays on it as an overpayment",
                        W_OVER,
                    )
                )
                return _Fit("over", allocations + credit_allocations, evidence)
            evidence.append(
                Evidence(
                    "amount-over",
                    f"{_money(target, currency)} is {_money(difference, currency)} more than {_labels(items)}"
                    f"{net_text}; the excess is left unapplied (on account)",
                    W_OVER,
                )
            )
            return _Fit("over", full + credit_allocations, evidence, unapplied=difference)
        short = -difference
        allowance = self._allowance(net, fx)
        if short <= allowance:
            last = invoices[-1].item
            written_off = Allocation(last.invoice_id, last.number, last.open_amount - short, write_off=short)
            allocations = [*full[:-1], written_off]
            evidence.append(
                Evidence(
                    "amount-short",
                    f"{_money(target, currency)} is {_money(short, currency)} short of {_labels(items)}"
                    f"{net_text}; within the write-off allowance of {_money(allowance, currency)}, "
                    "written off",
                    W_SHORT,
                )
            )
            return _Fit("write-off", allocations + credit_allocations, evidence, write_off=short)
        deductions = {
            h.item.invoice_id: h.line.adjustment
            for h in invoices
            if h.line is not None and h.line.adjustment is not None and h.line.adjustment > 0
        }
        if deductions:
            stated = sum(deductions.values(), _ZERO)
            reasons = "; ".join(
                f"{h.item.number}: {_money(deductions[h.item.invoice_id], currency)} "
                f"'{(h.line.adjustment_reason if h.line else None) or 'no reason given'}'"
                for h in invoices
                if h.item.invoice_id in deductions
            )
            if stated == short:
                ordered = [h for h in invoices if h.item.invoice_id not in deductions] + [
                    h for h in invoices if h.item.invoice_id in deductions
                ]
                allocations = [
                    Allocation(
                        h.item.invoice_id,
                        h.item.number,
                        h.item.open_amount - deductions.get(h.item.invoice_id, _ZERO),
                        write_off=deductions.get(h.item.invoice_id, _ZERO),
                    )
                    for h in ordered
                ]
                evidence.append(
                    Evidence(
                        "amount-deduction",
                        f"the payer deducted {_money(short, currency)} ({reasons}), more than the write-off "
                        f"allowance of {_money(allowance, currency)}",
                        W_DEDUCTION,
                    )
                )
                return _Fit(
                    "deduction",
                    allocations + credit_allocations,
                    evidence,
                    write_off=short,
                    needs_approval=self.policy.deductions_need_approval,
                )
            evidence.append(
                Evidence(
                    "amount-deduction",
                    f"the payer states deductions of {_money(stated, currency)} ({reasons}), "
                    "but the payment is "
                    f"{_money(short, currency)} short",
                    0.0,
                )
            )
        stated_amounts = [h.line.amount if h.line is not None else None for h in invoices]
        allocations = []
        if all(amount is not None and amount > 0 for amount in stated_amounts) and (
            sum((a for a in stated_amounts if a is not None), _ZERO) - credit == target
        ):
            for h, amount in zip(invoices, stated_amounts, strict=True):  # as the payer's advice says
                allocations.append(Allocation(h.item.invoice_id, h.item.number, amount or _ZERO))
        else:
            remaining = target + credit  # oldest first
            for h in invoices:
                take = min(h.item.open_amount, remaining)
                if take > 0:
                    allocations.append(Allocation(h.item.invoice_id, h.item.number, take))
                    remaining -= take
        evidence.append(
            Evidence(
                "amount-partial",
                f"{_money(target, currency)} pays part of {_labels(items)} "
                f"({_money(net, currency)} open{net_text}); "
                f"applied as a partial payment, {_money(short, currency)} stays open",
                W_PARTIAL,
            )
        )
        return _Fit(
            "partial",
            allocations + credit_allocations,
            evidence,
            needs_approval=bool(deductions) and self.policy.deductions_need_approval,
        )

    def _amount_candidates(self) -> list[_Candidate]:
        if self.payer is not None:
            return self._customer_amount_candidates(self.payer, identified=True)
        out: list[_Candidate] = []
        for hit in self.fuzzy[:3]:
            if hit.score >= 90:
                out += self._customer_amount_candidates(hit.customer_key, identified=False)
        return out

    def _customer_amount_candidates(self, customer_key: str, *, identified: bool) -> list[_Candidate]:
        """The customer's single open items, else combinations of them, with exactly the amount."""
        by_currency: dict[str, list[OpenItem]] = {}
        for item in self.index.items_of(customer_key):
            if item.open_amount > 0 and self._comparison(item.currency) is not None:
                by_currency.setdefault(item.currency, []).append(item)
        out: list[_Candidate] = []
        name = self.index.customer_name(customer_key)
        for currency, items in by_currency.items():
            comparison = self._comparison(currency)
            assert comparison is not None
            target, fx = comparison
            money = _money(target, currency)
            singles = sorted(
                (i for i in items if i.document_type == "invoice" and i.open_amount == target),
                key=self._due_distance,
            )
            pool = sorted(items, key=_age)[: self.policy.subset_max_items]
            signed = [_cents(i.open_amount) * (1 if i.document_type == "invoice" else -1) for i in pool]
            wanted = max(2, self.policy.suggestions)
            found = find_subsets(signed, _cents(target), limit=wanted, min_size=2)
            solutions = [[single] for single in singles] + [[pool[i] for i in s] for s in found.solutions]
            if len(items) > len(pool) and len(solutions) < wanted:
                # beyond the window, the obvious confusions still count (two of 400 against one of 800)
                everything = sorted(items, key=_age)
                known = {frozenset(i.invoice_id for i in solution) for solution in solutions}
                values = [
                    _cents(i.open_amount) * (1 if i.document_type == "invoice" else -1) for i in everything
                ]
                for combination in small_combinations(values, _cents(target), limit=wanted):
                    chosen = [everything[i] for i in combination]
                    if frozenset(i.invoice_id for i in chosen) not in known:
                        solutions.append(chosen)
            if not solutions:
                continue
            unique = len(solutions) == 1 and not found.exhausted
            searched = (
                f"the {len(pool)} oldest of its {len(items)} open items, and pairs and triples of all"
                if len(items) > len(pool)
                else f"its {len(items)} open items"
            )
            if found.exhausted:
                why = "the combination search ran out of budget before its count was complete"
            elif len(singles) > 1 and not found.solutions:
                why = f"{len(singles)} open invoices of {name} have exactly {money}"
            else:
                why = f"{len(solutions)} items or combinations of {name}'s open items add up to {money}"
            for chosen in solutions[: self.policy.suggestions]:
                if len(chosen) == 1:
                    evidence = [
                        Evidence(
                            "amount-exact", f"{money} equals the open amount of {_label(chosen[0])}", W_EXACT
                        )
                    ]
                    if unique:
                        detail = f"the only open item of {name} with exactly {money}, and no combination of "
                        detail += f"{searched} adds up to it"
                        evidence.append(Evidence("amount-unique", detail, W_UNIQUE))
                else:
                    evidence = [
                        Evidence("amount-exact", f"{_labels(chosen)} add up to exactly {money}", W_EXACT)
                    ]
                    if unique:
                        detail = f"the only combination of {name}'s items adding up to {money} "
                        detail += f"(searched {searched})"
                        evidence.append(Evidence("amount-subset", detail, W_SUBSET))
                if not unique:
                    evidence.append(Evidence("ambiguous", f"{why}: a person decides", W_AMBIGUOUS))
                out.append(
                    self._amount_candidate(
                        customer_key, chosen, evidence, currency, target, fx, unique=identified and unique
                    )
                )
        return out

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
    ) -> _Candidate:
        ordered = sorted(items, key=lambda i: (i.document_type != "invoice", _age(i)))
        allocations = [Allocation(i.invoice_id, i.number, i.open_amount, i.document_type) for i in ordered]
        evidence += [
            Evidence("credit-note-netted", f"{_label(i)} ({_money(i.open_amount, currency)}) is netted", 0.0)
            for i in ordered
            if i.document_type == "credit_note"
        ]
        if fx:
            evidence.append(self._fx_evidence(target, currency))
        evidence += self._payer_evidence(customer_key, ordered)
        evidence += self._due_evidence(ordered)
        return _Candidate(
            customer_key,
            ordered,
            _Fit("exact", allocations, []),
            evidence,
            currency,
            self._next(),
            unique_amount=unique,
        )

    # -- cross-checks and the decision --

    def _cross_check(self, candidates: list[_Candidate]) -> None:
        """Conflicts between candidates: the wrong-but-valid reference, the amount fitting elsewhere."""
        exact = [
            c
            for c in candidates
            if c.fit.kind in _CLEAN_FITS and not c.has("payer-conflict", "currency-mismatch", "already-paid")
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
                            f"{_labels(candidate.items)} does not fit the amount, which fits "
                            f"{_labels(others[0].items)} exactly",
                            W_AMOUNT_CONFLICT,
                        )
                    )
            if not candidate.referenced:
                elsewhere = [c for c in references if c.item_ids != candidate.item_ids]
                if elsewhere:
                    candidate.evidence.append(
                        Evidence(
                            "reference-elsewhere",
                            f"the payment refers to {_labels(elsewhere[0].items)}, "
                            f"not to {_labels(candidate.items)}",
                            W_ELSEWHERE,
                        )
                    )

    def _decide(self, candidates: list[_Candidate]) -> Decision:
        unique: dict[tuple[tuple[str, Decimal, Decimal], ...], _Candidate] = {}
        for candidate in candidates:
            known = unique.get(candidate.key)
            if known is None or candidate.score > known.score:
                unique[candidate.key] = candidate
        ranked = sorted(unique.values(), key=lambda c: (-c.score, c.order))
        suggestions = tuple(c.proposal() for c in ranked[: self.policy.suggestions])
        evidence = tuple(self.payment_evidence)
        if not ranked:
            return Decision("exception", 0.0, None, (), self.payer, self._nothing_reason(), evidence)
        best = ranked[0]
        runner_up = ranked[1].score if len(ranked) > 1 else 0.0
        customer_key = self.payer or (best.customer_key if best.referenced and not best.conflicts() else None)
        reason = self._blocker(best, ranked, runner_up)
        if reason is not None:
            return Decision("exception", best.score, None, suggestions, customer_key, reason, evidence)
        proposal = best.proposal()
        limit = self.policy.approval_above
        if limit is not None and self.payment.amount > limit:
            reason = (
                f"{self._applied_reason(best)}, but the payment of "
                f"{_money(self.payment.amount, self.payment.currency)} is above the approval limit of "
                f"{_money(limit, self.payment.currency)}"
            )
            return Decision(
                "needs_approval", best.score, proposal, suggestions, customer_key, reason, evidence
            )
        if best.fit.needs_approval:
            reason = (
                f"{self._applied_reason(best)}, but a stated deduction beyond the write-off allowance "
                "needs approval"
            )
            return Decision(
                "needs_approval", best.score, proposal, suggestions, customer_key, reason, evidence
            )
        return Decision(
            "applied", best.score, proposal, suggestions, customer_key, self._applied_reason(best), evidence
        )

    def _blocker(self, best: _Candidate, ranked: list[_Candidate], runner_up: float) -> str | None:
        """Why the best candidate may not be applied automatically (None: it may)."""
        references = [c for c in ranked if c.referenced]
        if references and all(c.fit.kind == "paid" for c in references):
            return f"{_labels(references[0].items)} already paid; duplicate payment?"
        conflicts = best.conflicts()
        if conflicts:
            if conflicts[0].kind == "already-paid":
                return f"{_labels(best.items)} already paid; duplicate payment?"
            return f"conflicting evidence: {conflicts[0].detail}"
        if not (best.referenced and best.basis in REFERENCE_KINDS) and not best.unique_amount:
            if self.fuzzy and self.payer is None:
                return (
                    f"the payer is recognised by name only ('{self.payment.payer_name}' resembles "
                    f"{self.fuzzy[0].name}); a name alone never applies money"
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

    def _applied_reason(self, best: _Candidate) -> str:
        ranked = sorted(best.evidence, key=lambda e: -e.weight)
        basis = ranked[0].detail if ranked else ""
        fit = next((e.detail for e in best.evidence if e.kind.startswith("amount-")), "")
        parts = [basis] + ([fit] if fit and fit != basis else [])
        return "; ".join(parts) + f" (confidence {best.score:.2f})"

    def _nothing_reason(self) -> str:
        payment = self.payment
        money = _money(payment.amount, payment.currency)
        if self.payer is not None:
            return (
                f"no reference, and no open item or combination of {self.index.customer_name(self.payer)}'s "
                f"items adds up to {money}"
            )
        if self.fuzzy:
            return (
                f"no reference; the payer resembles {self.fuzzy[0].name} by name only, and none of its open "
                f"items adds up to {money}"
            )
        who = payment.payer_name or payment.payer_account or "an unknown payer"
        return f"no reference found, and the payer ({who}) is unknown"


# --- learning --------------------------------------------------------------------------------------------


def learn_from_resolution(
    payment: Payment, allocations: Sequence[Allocation], index: MatchIndex, customer_key: str
) -> Learned:
    """What a person's resolution teaches, applied to `index` and returned for the caller to store.

    The payer's account becomes the customer's; the payer's name becomes an alias when it differs from the
    customer's names as written; and a reference written in a house style the readers did not understand
    ("F202400123" for invoice 123) becomes a pattern for this customer, so the next one matches by itself.
    """
    learned = Learned()
    if payment.payer_account:
        account = normalise_account(payment.payer_account)
        if account and index.customer_for_account(account) != customer_key:
            index.learn_account(account, customer_key)
            learned.accounts[account] = customer_key
    name = (payment.payer_name or "").strip()
    if name and alias_key(name):
        own = {alias_key(known) for known in index.customer_names(customer_key)}
        if alias_key(name) not in own and index.customer_for_alias(name) != customer_key:
            rivals = [
                hit
                for hit in index.find_names(name, limit=10)
                if hit.customer_key != customer_key and hit.score >= ALIAS_RIVAL_SCORE
            ]
            if rivals:
                learned.notes.append(
                    f"payer name '{name}' is not learned as an alias: it fits {rivals[0].name} as well "
                    f"({rivals[0].score:.0f} %)"
                )
            else:
                index.learn_alias(name, customer_key)
                learned.aliases[name] = customer_key
    texts = [*payment.free_text, payment.end_to_end_id or ""]
    direct: set[str] = set()
    kids: set[str] = set()
    for line in payment.lines:
        texts += [value for value in (line.text, line.invoice_number, line.kid) if value]
        if line.invoice_number:
            direct.add(normalise_number(line.invoice_number))
        if line.kid:
            kids.add(compact_kid(line.kid))
            direct.add(normalise_number(line.kid))
    for text in [*payment.free_text, *(line.text for line in payment.lines if line.text)]:
        direct.update(reference.number for reference in text_references(text))
    source = f"resolution of payment {payment.bank_reference or payment.position or ''}".strip()
    for allocation in allocations:
        item = index.item(allocation.invoice_id)
        number = item.number if item is not None else allocation.number
        if normalise_number(number) in direct or (
            item is not None and item.kid and compact_kid(item.kid) in kids
        ):
            continue
        for text in texts:
            regex = derive_pattern(text, number) if text else None
            if regex is not None:
                pattern = LearnedPattern(customer_key, regex, source)
                if index.learn_pattern(pattern):
                    learned.patterns.append(pattern)
                break
    return learned
