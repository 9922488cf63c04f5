"""The dated dunning rules as tables: fees by kind, which rule refuses a notice or takes its fee off, and
late-payment interest across rate changes (a 1 July change applies to the days from 1 July only)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.services.followup import rules
from gateway.services.followup.rules import ClaimHistory, judge_notice, late_interest
from schemas.followup import CollectionRate, DunningLevel, FollowUpSettings, InterestRate, NoticeKind

R, W, D, N = NoticeKind.REMINDER, NoticeKind.COLLECTION_WARNING, NoticeKind.PAYMENT_DEMAND, NoticeKind.NUDGE
DUE = dt.date(2026, 1, 10)
RATES = [
    InterestRate(
        effective_from=dt.date(2025, 1, 1), rate_percent=Decimal("12.50"), fixed_compensation=Decimal(470)
    ),
    InterestRate(
        effective_from=dt.date(2026, 7, 1), rate_percent=Decimal("12.00"), fixed_compensation=Decimal(480)
    ),
]
SETTINGS = FollowUpSettings(
    interest_rates=RATES,
    collection_rates=[
        CollectionRate(effective_from=dt.date(2015, 1, 1)),
        CollectionRate(effective_from=dt.date(2027, 1, 1), collection_rate=Decimal("760")),
    ],
)


def level(kind: NoticeKind, *, number: int = 1, fee: bool = True, payment_days: int = 14) -> DunningLevel:
    return DunningLevel(
        level=0 if kind is N else number, kind=kind, delay_days=14, fee=fee, payment_days=payment_days
    )


@pytest.mark.parametrize(
    ("on", "kind", "fee"),
    [
        (dt.date(2026, 3, 1), R, "35.00"),
        (dt.date(2026, 3, 1), W, "35.00"),
        (dt.date(2026, 3, 1), D, "105.00"),
        (dt.date(2026, 3, 1), N, "0"),
        (dt.date(2027, 1, 1), R, "38.00"),  # the collection rate of 760 from 2027: 1/20
        (dt.date(2027, 1, 1), D, "114.00"),  # 0.15 of 760
    ],
)
def test_the_fee_of_each_kind_is_its_share_of_the_collection_rate_in_force(
    on: dt.date, kind: NoticeKind, fee: str
) -> None:
    history = ClaimHistory(fee_kinds={D: (R, R), W: (R,)}.get(kind, ()))
    verdict = judge_notice(SETTINGS, level(kind), due_date=DUE, on=on, history=history)
    assert verdict.allowed and verdict.rule is None
    assert verdict.fee == Decimal(fee)


@pytest.mark.parametrize(
    ("kind", "on", "history", "allowed", "fee", "rule"),
    [
        # 14 days after due: 13 days is too early for a fee, 14 is enough
        (R, DUE + dt.timedelta(days=13), ClaimHistory(), True, "0", rules.NO_FEE_14_DAYS),
        (R, DUE + dt.timedelta(days=14), ClaimHistory(), True, "35.00", None),
        # at most two reminder/warning fees
        (R, dt.date(2026, 4, 1), ClaimHistory(fee_kinds=(R, R)), True, "0", rules.NO_FEE_MAX),
        (W, dt.date(2026, 4, 1), ClaimHistory(fee_kinds=(R, W)), True, "0", rules.NO_FEE_MAX),
        # the allowed sequences
        (W, dt.date(2026, 4, 1), ClaimHistory(fee_kinds=(R,)), True, "35.00", None),
        (D, dt.date(2026, 4, 1), ClaimHistory(fee_kinds=(R, W)), True, "105.00", None),
        (W, dt.date(2026, 4, 1), ClaimHistory(), True, "0", rules.NO_FEE_SEQUENCE),
        (D, dt.date(2026, 4, 1), ClaimHistory(fee_kinds=(R,)), True, "0", rules.NO_FEE_SEQUENCE),
        (D, dt.date(2026, 4, 1), ClaimHistory(fee_kinds=(R, R, D)), True, "0", rules.NO_FEE_SEQUENCE),
        # a notice before the previous notice's deadline has passed is refused; the day after is fine
        (R, dt.date(2026, 2, 7), ClaimHistory((R,), last_deadline=dt.date(2026, 2, 7)), False, "0",
         rules.NO_FEE_SEQUENCE),
        (R, dt.date(2026, 2, 8), ClaimHistory((R,), last_deadline=dt.date(2026, 2, 7)), True, "35.00", None),
    ],
)  # fmt: skip
def test_fee_rules_take_the_fee_off_and_notice_rules_refuse(
    kind: NoticeKind, on: dt.date, history: ClaimHistory, allowed: bool, fee: str, rule: str | None
) -> None:
    verdict = judge_notice(SETTINGS, level(kind), due_date=DUE, on=on, history=history)
    assert (verdict.allowed, verdict.fee, verdict.rule) == (allowed, Decimal(fee), rule)
    if rule is not None:
        assert verdict.reason


def test_a_fee_bearing_level_with_a_short_deadline_is_refused_but_a_feeless_one_goes() -> None:
    on = dt.date(2026, 3, 1)
    short = judge_notice(SETTINGS, level(R, payment_days=10), due_date=DUE, on=on, history=ClaimHistory())
    assert not short.allowed and short.rule == rules.NO_DEADLINE_14
    feeless = judge_notice(
        SETTINGS, level(R, payment_days=10, fee=False), due_date=DUE, on=on, history=ClaimHistory()
    )
    assert feeless.allowed and feeless.fee == 0 and feeless.rule is None


def test_no_collection_rate_in_force_means_no_fee() -> None:
    settings = FollowUpSettings(collection_rates=[CollectionRate(effective_from=dt.date(2030, 1, 1))])
    verdict = judge_notice(settings, level(R), due_date=DUE, on=dt.date(2026, 3, 1), history=ClaimHistory())
    assert verdict.allowed and verdict.fee == 0 and verdict.rule == rules.NO_FEE_RATE


def test_a_collection_warning_never_goes_as_ehf() -> None:
    assert not rules.ehf_allowed(W)
    assert rules.ehf_allowed(R) and rules.ehf_allowed(D)
    assert rules.NO_EHF_WARNING in rules.RULES


def test_a_1_july_rate_change_applies_to_the_days_from_1_july_only() -> None:
    amount = Decimal("10000")
    due = dt.date(2026, 6, 1)
    before = late_interest(SETTINGS, amount, due_date=due, on=dt.date(2026, 7, 1))  # 30 days at 12.50
    assert before == Decimal("102.74")  # 10000 × 0.125 × 30 / 365 = 102.739…
    across = late_interest(SETTINGS, amount, due_date=due, on=dt.date(2026, 7, 11))  # + 10 days at 12.00
    assert across == Decimal("135.62")  # 102.739… + 32.876… = 135.616…, rounded once
    assert across != late_interest(
        FollowUpSettings(interest_rates=RATES[:1]), amount, due_date=due, on=dt.date(2026, 7, 11)
    )


def test_interest_rounds_half_up_once_at_the_end() -> None:
    settings = FollowUpSettings(
        interest_rates=[InterestRate(effective_from=dt.date(2020, 1, 1), rate_percent=Decimal("36.5"))]
    )
    # 1.00 × 0.365 × 1/365 = 0.001 a day: 5 days = 0.005 → 0.01 (half up), one day alone would be 0.00
    assert late_interest(settings, Decimal("1.00"), due_date=DUE, on=DUE + dt.timedelta(days=5)) == Decimal(
        "0.01"
    )
    assert late_interest(settings, Decimal("1.00"), due_date=DUE, on=DUE + dt.timedelta(days=1)) == Decimal(
        "0.00"
    )


@given(
    amount=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000000"), places=2),
    start=st.dates(min_value=dt.date(2025, 1, 1), max_value=dt.date(2027, 12, 31)),
    first=st.integers(min_value=0, max_value=400),
    second=st.integers(min_value=0, max_value=400),
)
def test_interest_is_additive_over_periods_within_a_cent(
    amount: Decimal, start: dt.date, first: int, second: int
) -> None:
    """Interest to B equals interest to A plus interest from A to B (each rounded once): the day-by-day
    rate is what matters, not where the periods are cut."""
    middle, end = start + dt.timedelta(days=first), start + dt.timedelta(days=first + second)
    whole = late_interest(SETTINGS, amount, due_date=start, on=end)
    parts = late_interest(SETTINGS, amount, due_date=start, on=middle) + late_interest(
        SETTINGS, amount, due_date=middle, on=end
    )
    assert abs(whole - parts) <= Decimal("0.01")
    assert whole >= 0


def days(n: int) -> dt.date:
    return DUE + dt.timedelta(days=n)


@pytest.mark.parametrize(
    ("open_amount", "payments", "steps"),
    [
        (Decimal(2000), [], [(DUE, Decimal(2000))]),
        (Decimal(2000), [(days(21), Decimal(1000))], [(DUE, Decimal(3000)), (days(21), Decimal(2000))]),
        # paid before and on the due date: no step of its own; the same day's payments are one step
        (
            Decimal(2000),
            [
                (days(9), Decimal(100)),
                (days(3), Decimal(300)),
                (days(-5), Decimal(1000)),
                (DUE, Decimal(500)),
                (days(3), Decimal(200)),
            ],
            [(DUE, Decimal(2600)), (days(3), Decimal(2100)), (days(9), Decimal(2000))],
        ),
        # paid in full: nothing open now, the steps still say what was owed until the payment
        (Decimal(0), [(days(30), Decimal(500))], [(DUE, Decimal(500)), (days(30), Decimal(0))]),
    ],
)
def test_the_balance_history_is_told_backwards_from_the_open_amount(
    open_amount: Decimal, payments: list[tuple[dt.date, Decimal]], steps: list[tuple[dt.date, Decimal]]
) -> None:
    assert rules.balance_history(open_amount, payments, due_date=DUE) == steps


PERCENT_A_DAY = FollowUpSettings(  # 36.5 % a year: 0.001 a day on 1.00
    interest_rates=[InterestRate(effective_from=dt.date(2020, 1, 1), rate_percent=Decimal("36.5"))]
)


@pytest.mark.parametrize(
    ("settings", "balances", "due", "on", "expected"),
    [
        # 1000 of 3000 paid 21 days late, the notice after 30 days: (2000 × 30 + 1000 × 21) × 12.5 % / 365
        (SETTINGS, [(DUE, Decimal(3000)), (days(21), Decimal(2000))], DUE, days(30), Decimal("27.74")),
        # the same on today's open amount only would be 2000 × 30 × 12.5 % / 365 = 20.55: what was lost
        (SETTINGS, [(DUE, Decimal(2000))], DUE, days(30), Decimal("20.55")),
        # a payment across the 1 July rate change: 10000 from 1 June, 5000 from 11 July, notice 21 July:
        # 10000 × .125 × 30/365 + 10000 × .12 × 10/365 + 5000 × .12 × 10/365 = 152.054…
        (
            SETTINGS,
            [(dt.date(2026, 6, 1), Decimal(10000)), (dt.date(2026, 7, 11), Decimal(5000))],
            dt.date(2026, 6, 1),
            dt.date(2026, 7, 21),
            Decimal("152.05"),
        ),
        # a step before the due date counts from the due date; a step after the notice date is not reached
        (SETTINGS, [(days(-9), Decimal(2000)), (days(40), Decimal(1))], DUE, days(30), Decimal("20.55")),
        # days before the first step earn nothing
        (SETTINGS, [(days(10), Decimal(2000))], DUE, days(30), Decimal("13.70")),
        # rounded once at the end: 2.00 for 2 days + 1.00 for 1 day = 0.005 → 0.01 (each part alone: 0.00)
        (PERCENT_A_DAY, [(DUE, Decimal(2)), (days(2), Decimal(1))], DUE, days(3), Decimal("0.01")),
        # nothing late yet, or nothing left at all
        (SETTINGS, [(DUE, Decimal(3000))], DUE, DUE, Decimal("0.00")),
        (SETTINGS, [(DUE, Decimal(0))], DUE, days(30), Decimal("0.00")),
    ],
)
def test_interest_runs_on_the_balance_of_each_day(
    settings: FollowUpSettings,
    balances: list[tuple[dt.date, Decimal]],
    due: dt.date,
    on: dt.date,
    expected: Decimal,
) -> None:
    assert rules.late_interest_on_balances(settings, balances, due_date=due, on=on) == expected


def test_the_b2b_compensation_is_claimed_once_and_only_from_businesses() -> None:
    on, due = dt.date(2026, 3, 1), dt.date(2026, 2, 1)
    assert rules.compensation(SETTINGS, "business", due_date=due, on=on, already_claimed=False) == Decimal(
        "470.00"
    )
    assert rules.compensation(
        SETTINGS, "public", due_date=due, on=dt.date(2026, 7, 1), already_claimed=False
    ) == Decimal("480.00")
    assert rules.compensation(SETTINGS, "business", due_date=due, on=on, already_claimed=True) == 0
    assert rules.compensation(SETTINGS, "private", due_date=due, on=on, already_claimed=False) == 0
    assert rules.compensation(SETTINGS, None, due_date=due, on=on, already_claimed=False) == 0


def test_no_compensation_before_the_claim_is_late() -> None:
    """Regression: a pre-due nudge to a business claimed the NOK 470 before the due date had passed (and
    the first real reminder then claimed none). It comes with the interest: from the day after the due
    date."""
    due = dt.date(2026, 3, 1)
    for on in (due - dt.timedelta(days=3), due):
        assert rules.compensation(SETTINGS, "business", due_date=due, on=on, already_claimed=False) == 0
    after = due + dt.timedelta(days=1)
    assert rules.compensation(SETTINGS, "business", due_date=due, on=after, already_claimed=False) == Decimal(
        "470.00"
    )
