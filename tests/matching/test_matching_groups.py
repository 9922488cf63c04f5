"""Customer groups in the engine: a parent pays its subsidiaries' invoices (issue 22).

c1 (Nordic Trading AS, known by its account) is the parent of c3 (Fjord Maling AS) and c4 (Sæther Bygg AS);
c2 (Nordic Trading Partners AS) stands beside them.
"""

from __future__ import annotations

import pytest

from gateway.matching import Allocation, MatchIndex, OpenItem, learn_groups_from_resolution, match_payment
from gateway.matching.groups import CustomerGroups, org_number, parent_key
from schemas.matching import MatchingPolicy
from schemas.remittance import RemittanceLine
from tests.matching.test_matching_engine import (
    ACCOUNT_C1,
    AGREEMENT,
    POLICY,
    allocations,
    item,
    kid,
    pay,
    suggested,
)
from tests.matching.test_matching_engine import index as plain_index

GROUP = (("c3", "c1"), ("c4", "c1"))
NO_GROUPS = MatchingPolicy(group_payments=False)


def grouped(*items: OpenItem) -> MatchIndex:
    return plain_index(*items, groups=GROUP)


def evidence_kinds(proposal_evidence: object) -> set[str]:
    return {e.kind for e in proposal_evidence}  # type: ignore[attr-defined]


def test_a_parent_pays_two_subsidiaries_invoices_without_a_reference_when_the_sum_is_unique() -> None:
    items = (
        item("501", "c3", "1200.00"),
        item("502", "c4", "830.50"),
        item("503", "c4", "99.00"),
        item("101", "c1", "5000.00"),
    )
    decision = match_payment(pay("2030.50", payer_account=ACCOUNT_C1), grouped(*items), POLICY)
    assert decision.outcome == "applied", decision.reason
    assert sorted(allocations(decision)) == [("501", "1200.00", "0"), ("502", "830.50", "0")]
    assert decision.proposal is not None
    assert {"payer-group", "amount-subset"} <= evidence_kinds(decision.proposal.evidence)
    assert "payer-conflict" not in evidence_kinds(decision.proposal.evidence)
    group = next(e for e in decision.proposal.evidence if e.kind == "payer-group")
    assert "Fjord Maling AS" in group.detail
    assert "Sæther Bygg AS" in group.detail
    assert decision.customer_key == "c1"


def test_a_parent_pays_one_subsidiary_invoice_by_its_unique_amount() -> None:
    items = (item("501", "c3", "1234.00"), item("502", "c4", "830.50"), item("101", "c1", "5000.00"))
    decision = match_payment(pay("1234.00", payer_account=ACCOUNT_C1), grouped(*items), POLICY)
    assert decision.outcome == "applied", decision.reason
    assert allocations(decision) == [("501", "1234.00", "0")]
    assert decision.proposal is not None
    assert decision.proposal.customer_key == "c3"


def test_without_the_group_the_parents_lump_sum_finds_nothing() -> None:
    items = (item("501", "c3", "1200.00"), item("502", "c4", "830.50"), item("101", "c1", "5000.00"))
    without_links = match_payment(pay("2030.50", payer_account=ACCOUNT_C1), plain_index(*items), POLICY)
    assert without_links.outcome == "exception"
    assert without_links.suggestions == ()
    by_policy = match_payment(pay("2030.50", payer_account=ACCOUNT_C1), grouped(*items), NO_GROUPS)
    assert by_policy.outcome == "exception"
    assert by_policy.suggestions == ()


def test_two_fits_across_the_group_are_a_persons_call_with_both_suggested() -> None:
    items = (
        item("501", "c3", "1200.00"),
        item("502", "c4", "830.50"),
        item("503", "c4", "1200.00"),
        item("101", "c1", "5000.00"),
    )
    decision = match_payment(pay("2030.50", payer_account=ACCOUNT_C1), grouped(*items), POLICY)
    assert decision.outcome == "exception"
    assert {"501", "502"} in suggested(decision)
    assert {"503", "502"} in suggested(decision)


def test_the_parents_own_fit_is_no_longer_unique_when_a_member_has_the_same_amount() -> None:
    items = (item("101", "c1", "700.00"), item("501", "c3", "700.00"))
    decision = match_payment(pay("700.00", payer_account=ACCOUNT_C1), grouped(*items), POLICY)
    assert decision.outcome == "exception"
    assert suggested(decision)[:2] == [{"101"}, {"501"}] or {"101"} in suggested(decision)
    assert {"501"} in suggested(decision)
    alone = match_payment(pay("700.00", payer_account=ACCOUNT_C1), plain_index(*items), POLICY)
    assert alone.outcome == "applied"


def test_a_members_kid_from_the_parents_account_is_no_payer_conflict() -> None:
    items = (item("501", "c3", "1200.00"), item("101", "c1", "5000.00"))
    payment = pay("1200.00", lines=(RemittanceLine(kid=kid("501")),), payer_account=ACCOUNT_C1)
    decision = match_payment(payment, grouped(*items), POLICY)
    assert decision.outcome == "applied", decision.reason
    assert decision.proposal is not None
    assert "payer-group" in evidence_kinds(decision.proposal.evidence)
    strangers = match_payment(payment, plain_index(*items), POLICY)
    assert strangers.outcome == "exception"
    assert "but invoice 501 belong(s) to Fjord Maling AS" in strangers.reason


def test_a_member_paying_its_parents_invoice_is_still_a_conflict() -> None:
    items = (item("501", "c3", "1200.00"), item("101", "c1", "5000.00"))
    index = MatchIndex(items, kid_agreement=AGREEMENT, accounts={"12345678903": "c3"}, groups=GROUP)
    decision = match_payment(
        pay("5000.00", lines=(RemittanceLine(kid=kid("101")),), payer_account="12345678903"), index, POLICY
    )
    assert decision.outcome == "exception"
    assert "but invoice 101 belong(s) to Nordic Trading AS" in decision.reason


def test_a_parent_known_by_name_only_gets_the_groups_fits_as_suggestions() -> None:
    items = (item("501", "c3", "1200.00"), item("502", "c4", "830.50"), item("101", "c1", "5000.00"))
    decision = match_payment(pay("2030.50", payer_name="NORDIC TRADING AS"), grouped(*items), POLICY)
    assert decision.outcome == "exception"
    assert "by name only" in decision.reason
    assert suggested(decision)[0] == {"501", "502"}
    assert any(e.kind == "payer-group" and e.weight == 0 for e in decision.suggestions[0].evidence)
    without = match_payment(pay("2030.50", payer_name="NORDIC TRADING AS"), plain_index(*items), POLICY)
    assert without.suggestions == ()


def test_a_sister_company_is_not_searched() -> None:
    items = (item("501", "c3", "1200.00"), item("101", "c1", "5000.00"))
    index = MatchIndex(items, kid_agreement=AGREEMENT, accounts={"12345678903": "c4"}, groups=GROUP)
    decision = match_payment(pay("1200.00", payer_account="12345678903"), index, POLICY)
    assert decision.outcome == "exception"
    assert decision.suggestions == ()


def test_nested_groups_are_followed_and_cycles_end() -> None:
    groups = CustomerGroups([("sub", "holding"), ("subsub", "sub"), ("holding", "subsub")])
    assert groups.members_of("holding") == ["sub", "subsub"]
    assert groups.members_of("subsub") == ["holding", "sub"]
    assert groups.parents_of("sub") == ["holding"]
    assert not groups.link("sub", "holding")
    assert not groups.link("x", "x")
    assert MatchIndex((), groups={"sub": "holding"}).group_of("holding") == ["sub"]
    index = MatchIndex((), groups=[("sub", "holding")])
    assert index.group_of("holding") == ["sub"]
    assert index.group_of("sub") == []
    assert index.learn_group("subsub", "sub")
    assert index.group_of("holding") == ["sub", "subsub"]


@pytest.mark.parametrize(
    ("reference", "expected"),
    [
        ("910667831", "org:0192:910667831"),
        ("NO910667831MVA", "org:0192:910667831"),
        ("org:0192:910667831", "org:0192:910667831"),
        ("ORG:0192:910667831", "org:0192:910667831"),
        ("974760673", "org:974760673"),
        ("name:Fjord  Maling AS", "name:fjord maling as"),
        ("name:fjord maling as", "name:fjord maling as"),
    ],
)
def test_a_parent_reference_names_the_known_customer_key(reference: str, expected: str) -> None:
    known = ["org:0192:910667831", "org:0192:923609016", "name:fjord maling as"]
    assert parent_key(reference, known) == expected


def test_org_numbers_are_read_from_keys_but_not_from_names() -> None:
    assert org_number("vat:NO910667831MVA") == "910667831"
    assert org_number("org:0192:910667831") == "910667831"
    assert org_number("name:910667831") is None
    assert org_number("org:12345") is None


def test_a_resolution_of_a_known_payers_money_onto_another_customers_items_teaches_the_group() -> None:
    items = (item("501", "c3", "1200.00"), item("502", "c3", "800.00"), item("101", "c1", "5000.00"))
    index = plain_index(*items)
    first = pay("1200.00", payer_account=ACCOUNT_C1)
    assert match_payment(first, index, POLICY).outcome == "exception"
    taught = learn_groups_from_resolution(first, [Allocation("id-501", "501", first.amount)], index)
    assert taught == [("c3", "c1")]
    assert index.group_of("c1") == ["c3"]
    index.apply([Allocation("id-501", "501", first.amount)])
    second = match_payment(pay("800.00", payer_account=ACCOUNT_C1), index, POLICY)
    assert second.outcome == "applied", second.reason
    # taught once; the member never becomes its parent's parent
    assert learn_groups_from_resolution(first, [Allocation("id-501", "501", first.amount)], index) == []
    backwards = pay("5000.00", payer_name="Fjord Maling AS")
    assert (
        learn_groups_from_resolution(backwards, [Allocation("id-101", "101", backwards.amount)], index) == []
    )


def test_an_unknown_payer_or_one_paying_its_own_items_teaches_no_group() -> None:
    items = (item("501", "c3", "1200.00"), item("101", "c1", "5000.00"))
    index = plain_index(*items)
    stranger = pay("1200.00", payer_name="Someone Else")
    assert learn_groups_from_resolution(stranger, [Allocation("id-501", "501", stranger.amount)], index) == []
    own = pay("5000.00", payer_account=ACCOUNT_C1)
    assert learn_groups_from_resolution(own, [Allocation("id-101", "101", own.amount)], index) == []
    # named like one of the customers it paid for: that one is the payer, the other its member
    named = pay("6200.00", payer_name="NORDIC TRADING AS")
    both = [Allocation("id-101", "101", own.amount), Allocation("id-501", "501", stranger.amount)]
    assert learn_groups_from_resolution(named, both, plain_index(*items)) == [("c3", "c1")]
