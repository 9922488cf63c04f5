"""What the engine learns from its own confident applications (issue 22): a payer's account, and only
from a structured reference that fits the amount; never a shared account, an intermediary's, or one a
person taught as another customer's."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from gateway.matching import Decision, MatchIndex, OpenItem, learn_from_application, match_payment
from gateway.matching.learning import is_intermediary
from schemas.kid import KidAgreement
from schemas.matching import MatchingPolicy
from schemas.remittance import Payment, RemittanceLine

AGREEMENT = KidAgreement(algorithm="mod10", length=10)
POLICY = MatchingPolicy()
DAY = dt.date(2026, 3, 2)
ACCOUNT = "15032080119"
NAMES = {"c1": "Nordic Trading AS", "c3": "Fjord Maling AS"}


def item(number: str, customer: str = "c1", amount: str = "1000.00") -> OpenItem:
    value = Decimal(amount)
    return OpenItem(
        f"id-{number}", number, "invoice", customer, NAMES[customer], "NOK", value, value,
        DAY - dt.timedelta(days=40), DAY - dt.timedelta(days=10), AGREEMENT.generate_for(number),
    )  # fmt: skip


def pay(amount: str, *, kid: str | None = None, number: str | None = None, **fields: object) -> Payment:
    lines = (RemittanceLine(kid=kid, invoice_number=number),) if kid or number else ()
    values: dict[str, object] = {"value_date": DAY, "payer_account": ACCOUNT, "bank_reference": "B1"}
    values.update(fields)
    return Payment(amount=Decimal(amount), currency="NOK", lines=lines, **values)  # type: ignore[arg-type]


def index(*items: OpenItem, **options: object) -> MatchIndex:
    return MatchIndex(items, kid_agreement=AGREEMENT, **options)  # type: ignore[arg-type]


def decide(payment: Payment, ix: MatchIndex, policy: MatchingPolicy = POLICY) -> tuple[Decision, list[str]]:
    decision = match_payment(payment, ix, policy)
    learned = learn_from_application(payment, decision, ix, policy)
    if decision.outcome == "applied" and decision.proposal is not None:
        ix.apply(decision.proposal.allocations)
    return decision, list(learned.accounts)


def test_a_kid_payment_teaches_the_account_and_a_later_payment_without_reference_applies() -> None:
    ix = index(item("2001", amount="700.00"), item("2002", amount="1500.00"), item("3001", "c3", "1500.00"))
    decision, learned = decide(pay("700.00", kid=AGREEMENT.generate_for("2001")), ix)
    assert (decision.outcome, learned) == ("applied", [ACCOUNT])
    assert ix.account_owner(ACCOUNT) == ("c1", False) and not ix.account_taught(ACCOUNT)
    later, _ = decide(pay("1500.00", bank_reference="B2"), ix)
    assert later.outcome == "applied"
    assert later.proposal is not None and later.proposal.allocations[0].number == "2002"
    account = next(e for e in later.proposal.evidence if e.kind == "payer-account")
    assert account.detail == (
        f"payer account {ACCOUNT} is Nordic Trading AS's (learned from payment B1's KID "
        f"{AGREEMENT.generate_for('2001')})"
    )


def test_a_structured_invoice_number_teaches_too() -> None:
    ix = index(item("2001", amount="700.00"))
    assert decide(pay("700.00", number="INV-2001"), ix)[1] == [ACCOUNT]


@pytest.mark.parametrize(
    ("payment", "why"),
    [
        (pay("700.00", free_text=("Faktura 2001",)), "a free-text number"),
        (pay("300.00", kid=AGREEMENT.generate_for("2001")), "a partial payment"),
        (pay("700.00", kid=AGREEMENT.generate_for("2001"), payer_account=None), "no account"),
        (pay("700.00", kid=AGREEMENT.generate_for("2001"), payer_name="KLARNA BANK AB"), "an intermediary"),
        (pay("700.00", kid=AGREEMENT.generate_for("2001"), payer_name="Vippsnr 12345"), "an intermediary"),
    ],
)
def test_nothing_is_learned_from_a_weak_or_foreign_application(payment: Payment, why: str) -> None:
    ix = index(item("2001", amount="700.00"))
    decide(payment, ix)
    assert ix.account_owner(ACCOUNT) == (None, False), why


def test_a_payer_named_like_another_customer_pays_for_someone_else_and_is_not_learned() -> None:
    ix = index(item("2001", amount="700.00"), item("3001", "c3", amount="1200.00"))
    payment = pay("700.00", kid=AGREEMENT.generate_for("2001"), payer_name="FJORD MALING AS")
    decision = match_payment(payment, ix, POLICY)
    learned = learn_from_application(payment, decision, ix, POLICY)
    assert decision.outcome == "applied" and not learned
    assert "resembles Fjord Maling AS, not Nordic Trading AS" in learned.notes[0]
    own = pay("700.00", kid=AGREEMENT.generate_for("2001"), payer_name="NORDIC TRADING")
    assert list(learn_from_application(own, decision, index(item("2001", amount="700.00")), POLICY).accounts)


def test_a_free_text_kid_valid_under_the_agreement_teaches() -> None:
    ix = index(item("2001", amount="700.00"))
    decision, learned = decide(pay("700.00", free_text=(f"KID {AGREEMENT.generate_for('2001')}",)), ix)
    assert (decision.outcome, learned) == ("applied", [ACCOUNT])


def test_a_policy_shared_account_is_never_learned() -> None:
    policy = MatchingPolicy(shared_accounts=["1503.20.80119"])
    ix = index(item("2001", amount="700.00"))
    decision = match_payment(pay("700.00", kid=AGREEMENT.generate_for("2001")), ix, policy)
    learned = learn_from_application(pay("700.00", kid=AGREEMENT.generate_for("2001")), decision, ix, policy)
    assert not learned and "shared account (policy)" in learned.notes[0]
    assert ix.account_owner(ACCOUNT) == (None, False)


def test_an_account_paying_for_two_customers_becomes_shared_and_identifies_no_one() -> None:
    ix = index(
        item("2001", amount="700.00"), item("2002", amount="450.00"),
        item("3001", "c3", amount="1200.00"), item("3002", "c3", amount="450.00"),
    )  # fmt: skip
    decide(pay("700.00", kid=AGREEMENT.generate_for("2001")), ix)
    second, learned = decide(pay("1200.00", kid=AGREEMENT.generate_for("3001"), bank_reference="B2"), ix)
    # the KID of another customer with exactly the amount: the learned account yields, the KID applies
    assert second.outcome == "applied" and learned == [ACCOUNT]
    assert "payer-account-shared" in {e.kind for e in second.evidence}
    assert ix.account_owner(ACCOUNT) == (None, True)
    third, learned = decide(pay("450.00", bank_reference="B3"), ix)
    assert third.outcome == "exception" and learned == []
    assert "payer-account-shared" in {e.kind for e in third.evidence}


def test_a_parent_paying_a_members_kid_stays_the_accounts_one_payer() -> None:
    """A group's parent pays its member's invoice from its own account: one payer, never shared."""
    ix = index(
        item("2001", amount="700.00"), item("2002", amount="450.00"),
        item("3001", "c3", amount="1200.00"), groups={"c3": "c1"},
    )  # fmt: skip
    decide(pay("700.00", kid=AGREEMENT.generate_for("2001")), ix)
    second, learned = decide(pay("1200.00", kid=AGREEMENT.generate_for("3001"), bank_reference="B2"), ix)
    assert second.outcome == "applied" and learned == []
    assert ix.account_owner(ACCOUNT) == ("c1", False)
    third, _ = decide(pay("450.00", bank_reference="B3"), ix)
    assert third.outcome == "applied" and third.customer_key == "c1"


def test_a_learned_account_yields_to_another_customers_kid_short_by_a_fee() -> None:
    ix = index(item("2001", amount="700.00"), item("3001", "c3", amount="1200.00"))
    decide(pay("700.00", kid=AGREEMENT.generate_for("2001")), ix)
    # a payment service took 4.50 off: what a KID from an unknown account would have applied, still applies
    second, learned = decide(pay("1195.50", kid=AGREEMENT.generate_for("3001")), ix)
    assert second.outcome == "applied" and learned == [ACCOUNT]
    assert ix.account_owner(ACCOUNT) == (None, True)


def test_a_learned_account_keeps_its_payer_against_a_kid_that_does_not_fit() -> None:
    ix = index(
        item("2001", amount="700.00"), item("2002", amount="450.00"), item("3001", "c3", amount="1200.00")
    )
    decide(pay("700.00", kid=AGREEMENT.generate_for("2001")), ix)
    wrong, learned = decide(pay("450.00", kid=AGREEMENT.generate_for("3001")), ix)  # the customer's amount
    assert wrong.outcome == "exception" and learned == []
    assert wrong.suggestions[0].allocations[0].number == "2002"
    assert ix.account_owner(ACCOUNT) == ("c1", False)


def test_an_account_a_person_taught_is_not_overridden_by_another_customers_kid() -> None:
    ix = index(item("2001", amount="700.00"), item("3001", "c3", amount="1200.00"), accounts={ACCOUNT: "c1"})
    decision, learned = decide(pay("1200.00", kid=AGREEMENT.generate_for("3001")), ix)
    assert decision.outcome == "exception" and learned == []
    assert "payer-conflict" in {e.kind for s in decision.suggestions for e in s.evidence}
    assert ix.account_owner(ACCOUNT) == ("c1", False)


def test_a_person_taught_account_is_not_learned_again_and_an_exception_teaches_nothing() -> None:
    ix = index(item("2001", amount="700.00"), accounts={ACCOUNT: "c1"})
    assert decide(pay("700.00", kid=AGREEMENT.generate_for("2001")), ix)[1] == []
    fresh = index(item("2001", amount="700.00"), item("2002", amount="700.00"))
    decision, learned = decide(pay("700.00", payer_name="Nordic Trading"), fresh)
    assert decision.outcome == "exception" and learned == []


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("KLARNA BANK AB", "KLARNA"),
        ("Betaling via Vipps", "VIPPS"),
        ("Nordic Trading AS", None),
        (None, None),
    ],
)
def test_intermediaries_are_known_by_a_word_or_the_start_of_the_name(
    name: str | None, expected: str | None
) -> None:
    assert is_intermediary(name, POLICY) == expected


def test_a_card_payment_teaches_nothing_of_the_card_holder() -> None:
    """A card advice's payer is whoever held the card at the provider: neither an application nor a
    person's resolution learns its name or account (issue 21)."""
    from gateway.matching import Allocation, learn_from_resolution

    ix = index(item("2001", amount="700.00"))
    card = pay("700.00", kid=AGREEMENT.generate_for("2001"), payer_name="Ola Kortholder", kind="card")
    assert decide(card, ix)[1] == []
    resolved = learn_from_resolution(card, [Allocation("id-2001", "2001", Decimal("700.00"))], ix, "c1")
    assert not resolved.accounts and not resolved.aliases and "card holder" in resolved.notes[0]
    assert ix.customer_for_alias("Ola Kortholder") is None
    bank = pay("700.00", payer_name="Ola Kortholder", bank_reference="B9")
    assert learn_from_resolution(bank, [], index(item("2001", amount="700.00")), "c1").aliases
