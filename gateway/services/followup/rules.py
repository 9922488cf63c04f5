"""The Norwegian dunning rules, evaluated on a date: which rates are in force, what a notice may cost,
whether it may go at all, and the late-payment interest it states.

Pure functions over `FollowUpSettings` (the dated tables are configuration, see `schemas.followup`): no
database, no clock. Every refusal names a rule id a person can look up:

- `NO-FEE-14-DAYS`: a fee only on a notice written at least 14 days after the due date (inkassoforskriften
  § 1-2; `CollectionRate.days_after_due_before_fee`).
- `NO-FEE-MAX`: at most two reminder/warning fees per claim (`CollectionRate.max_notice_fees`).
- `NO-FEE-SEQUENCE`: the fees of one claim follow one of the two allowed sequences (reminder, reminder,
  payment demand; or reminder, collection warning, payment demand), and a notice comes only after the
  previous notice's deadline has passed.
- `NO-DEADLINE-14`: a fee-bearing notice gives the customer at least 14 days to pay.
- `NO-FEE-RATE`: no collection rate is in force on the notice date (the table starts later).
- `NO-EHF-WARNING`: a collection warning never goes as EHF (the notices module enforces it).

Which rule refuses the notice, and which only takes the fee off — the choice made here:

- A rule about the FEE (`NO-FEE-14-DAYS`, `NO-FEE-MAX`, the kind order of `NO-FEE-SEQUENCE`,
  `NO-FEE-RATE`): the notice still goes, without the fee; the decision records the rule. A reminder is
  lawful without a fee; only charging for it is not, and holding back the reminder would only delay payment.
- A rule about the NOTICE itself (`NO-DEADLINE-14`: a fee-bearing level that gives too short a deadline;
  `NO-FEE-SEQUENCE`: a next notice while the previous notice's deadline has not passed): the notice is
  refused with the rule named. The level is misconfigured or early; sending it would mislead the customer
  (a new deadline inside the old one) or claim a fee the law forbids on that notice.

Late-payment interest (forsinkelsesrenteloven § 3): outstanding × rate/100 × days/365 for each day from the
due date up to (not including) the notice date, each day at the rate in force on that day — so a 1 July
change applies to the days from 1 July only. Summed exactly in `Decimal`, rounded half-up to 2 decimals
once at the end (rounding each period would drift by a cent). Days before the first dated rate earn none.
After a partial payment the paid part still earned interest from the due date to the day it was paid
(`late_interest_on_balances` over `balance_history`): the claim is the balance of each day, not today's
open amount over the whole period.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import TypeVar

from schemas.followup import CollectionRate, DunningLevel, FollowUpSettings, InterestRate, NoticeKind

NO_FEE_14_DAYS = "NO-FEE-14-DAYS"
NO_FEE_MAX = "NO-FEE-MAX"
NO_FEE_SEQUENCE = "NO-FEE-SEQUENCE"
NO_DEADLINE_14 = "NO-DEADLINE-14"
NO_FEE_RATE = "NO-FEE-RATE"
NO_EHF_WARNING = "NO-EHF-WARNING"

#: Every rule id a decision may name, with what it says (for listings and documentation).
RULES: dict[str, str] = {
    NO_FEE_14_DAYS: "a fee only on a notice written at least 14 days after the due date",
    NO_FEE_MAX: "at most two reminder or collection-warning fees per claim",
    NO_FEE_SEQUENCE: "fees in the order reminder, reminder|warning, payment demand; each notice only after "
    "the previous notice's deadline has passed",
    NO_DEADLINE_14: "a notice with a fee must give at least 14 days to pay",
    NO_FEE_RATE: "no collection rate in force on the notice date",
    NO_EHF_WARNING: "a collection warning never goes as EHF",
}

R, W, D = NoticeKind.REMINDER, NoticeKind.COLLECTION_WARNING, NoticeKind.PAYMENT_DEMAND
#: The two fee sequences inkassoforskriften allows on one claim.
ALLOWED_FEE_SEQUENCES: tuple[tuple[NoticeKind, ...], ...] = ((R, R, D), (R, W, D))
#: Kinds whose fee counts against `CollectionRate.max_notice_fees`.
NOTICE_FEE_KINDS = frozenset({R, W})
#: Segments that are businesses (B2B): they may be claimed the fixed compensation.
B2B_SEGMENTS = frozenset({"business", "priority", "public"})

CENT = Decimal("0.01")
DAYS_IN_YEAR = Decimal(365)


def money(value: Decimal) -> Decimal:
    """Rounded half-up to whole øre, the way an amount is stated to a customer."""
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


_Dated = TypeVar("_Dated", CollectionRate, InterestRate)


def in_force(table: Sequence[_Dated], on: dt.date) -> _Dated | None:
    """The entry of a dated table in force on `on`: the latest that took effect on or before it."""
    found: _Dated | None = None
    for entry in table:
        if entry.effective_from <= on and (found is None or entry.effective_from > found.effective_from):
            found = entry
    return found


def collection_rate_on(settings: FollowUpSettings, on: dt.date) -> CollectionRate | None:
    return in_force(settings.collection_rates, on)


def interest_rate_on(settings: FollowUpSettings, on: dt.date) -> InterestRate | None:
    return in_force(settings.interest_rates, on)


def fee_for(rate: CollectionRate, kind: NoticeKind) -> Decimal:
    """The statutory fee of a notice kind (no VAT on it): 1/20, 1/20, 0.15 of the collection rate; a nudge
    costs nothing."""
    share = {R: rate.reminder_fee_share, W: rate.warning_fee_share, D: rate.demand_fee_share}.get(kind)
    return money(rate.collection_rate * share) if share is not None else Decimal("0")


def ehf_allowed(kind: NoticeKind) -> bool:
    """Whether a notice of this kind may go as EHF Reminder (`NO-EHF-WARNING`)."""
    return kind is not NoticeKind.COLLECTION_WARNING


@dataclass(frozen=True)
class ClaimHistory:
    """What earlier notices (not cancelled) did on one claim, oldest first."""

    fee_kinds: tuple[NoticeKind, ...] = ()
    last_deadline: dt.date | None = None
    compensation_claimed: bool = False


@dataclass(frozen=True)
class Verdict:
    """A notice judged: may it go (`allowed`), with which fee, and the rule that refused it or took its
    fee off (`rule`, with `reason` in words)."""

    allowed: bool
    fee: Decimal = Decimal("0")
    rule: str | None = None
    reason: str | None = None


def judge_notice(
    settings: FollowUpSettings, level: DunningLevel, *, due_date: dt.date, on: dt.date, history: ClaimHistory
) -> Verdict:
    """May a notice of `level` go on `on` for a claim due `due_date` with `history`, and at what fee.

    Notice rules refuse (see the module docstring); fee rules only take the fee off, checked in this order:
    not charged by the level, no rate in force, 14 days after due, the maximum, the allowed sequences.
    """
    kind = level.kind
    if kind is not NoticeKind.NUDGE and history.last_deadline is not None and on <= history.last_deadline:
        return Verdict(
            False,
            rule=NO_FEE_SEQUENCE,
            reason=f"the previous notice's deadline {history.last_deadline.isoformat()} has not passed",
        )
    rate = collection_rate_on(settings, on)
    fee_bearing = level.fee and kind is not NoticeKind.NUDGE
    least = rate.payment_deadline_days if rate is not None else 14
    if fee_bearing and level.payment_days < least:
        return Verdict(
            False,
            rule=NO_DEADLINE_14,
            reason=f"level {level.level} charges a fee but gives {level.payment_days} days to pay, "
            f"fewer than {least}",
        )
    if not fee_bearing:
        return Verdict(True)
    if rate is None:
        return Verdict(True, rule=NO_FEE_RATE, reason=f"no collection rate in force on {on.isoformat()}")
    days_late = (on - due_date).days
    if days_late < rate.days_after_due_before_fee:
        return Verdict(
            True,
            rule=NO_FEE_14_DAYS,
            reason=f"written {days_late} days after the due date; a fee needs "
            f"{rate.days_after_due_before_fee}",
        )
    notice_fees = sum(1 for earlier in history.fee_kinds if earlier in NOTICE_FEE_KINDS)
    if kind in NOTICE_FEE_KINDS and notice_fees >= rate.max_notice_fees:
        return Verdict(
            True,
            rule=NO_FEE_MAX,
            reason=f"the claim already carries {notice_fees} reminder/warning fees (at most "
            f"{rate.max_notice_fees})",
        )
    sequence = (*history.fee_kinds, kind)
    if not any(allowed[: len(sequence)] == sequence for allowed in ALLOWED_FEE_SEQUENCES):
        return Verdict(
            True,
            rule=NO_FEE_SEQUENCE,
            reason="fees " + " → ".join(k.value for k in sequence) + " follow no allowed sequence",
        )
    return Verdict(True, fee=fee_for(rate, kind))


def late_interest(settings: FollowUpSettings, amount: Decimal, *, due_date: dt.date, on: dt.date) -> Decimal:
    """Interest on `amount` for each day from `due_date` up to `on` at the rate in force on that day."""
    return late_interest_on_balances(settings, [(due_date, amount)], due_date=due_date, on=on)


def late_interest_on_balances(
    settings: FollowUpSettings,
    balances: Sequence[tuple[dt.date, Decimal]],
    *,
    due_date: dt.date,
    on: dt.date,
) -> Decimal:
    """Interest for each day from `due_date` up to (not including) `on` on the balance outstanding that day,
    at the rate in force that day, summed exactly and rounded half-up once at the end.

    `balances` are (from, amount) steps: `amount` is outstanding from `from` until the next step's date
    (`balance_history` builds them from the payments). The days of a partial payment's part up to the day
    it was paid keep their interest — stating interest on today's open amount only would lose it. Days
    before the first step earn none; a step before the due date counts from the due date."""
    steps = sorted(balances, key=lambda step: step[0])
    rates = sorted(settings.interest_rates, key=lambda entry: entry.effective_from)
    total = Decimal(0)
    for step_index, (step_from, amount) in enumerate(steps):
        step_end = steps[step_index + 1][0] if step_index + 1 < len(steps) else on
        step_start, step_end = max(step_from, due_date), min(step_end, on)
        if amount <= 0 or step_end <= step_start:
            continue
        for index, entry in enumerate(rates):
            start = max(entry.effective_from, step_start)
            end = min(rates[index + 1].effective_from, step_end) if index + 1 < len(rates) else step_end
            if end > start:
                total += amount * entry.rate_percent / 100 * Decimal((end - start).days) / DAYS_IN_YEAR
    return money(total)


def balance_history(
    open_amount: Decimal, payments: Sequence[tuple[dt.date, Decimal]], *, due_date: dt.date
) -> list[tuple[dt.date, Decimal]]:
    """The (from, amount) steps of what was outstanding, told backwards from today's `open_amount` and the
    (day, amount) of the payments applied to the claim: on a day, the balance is today's open amount
    plus every payment dated after that day (a payment stops interest on its part from its own day on).
    Told backwards so that what lowered the claim without a payment (a credit note, a disputed part left out
    of the notice) lowers it from the start: only paid money earned interest while it was unpaid."""
    later = sum((amount for _, amount in payments), Decimal(0))
    steps = [(due_date, open_amount + later)]
    for day, amount in sorted(payments, key=lambda payment: payment[0]):
        later -= amount
        if day <= due_date:
            steps[0] = (due_date, open_amount + later)
        elif steps[-1][0] == day:
            steps[-1] = (day, open_amount + later)
        else:
            steps.append((day, open_amount + later))
    return steps


def compensation(
    settings: FollowUpSettings,
    segment: str | None,
    *,
    due_date: dt.date,
    on: dt.date,
    already_claimed: bool,
) -> Decimal:
    """The B2B fixed compensation (standardkompensasjon) in force on `on`, claimed once per claim, and only
    once the claim is late (forsinkelsesrenteloven § 3a: it comes with the interest, from the day after the
    due date) — a pre-due nudge claims none, and leaves it for the first notice after the due date."""
    if already_claimed or segment not in B2B_SEGMENTS or on <= due_date:
        return Decimal("0")
    rate = interest_rate_on(settings, on)
    return money(rate.fixed_compensation) if rate is not None else Decimal("0")
