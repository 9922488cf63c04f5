"""The matching engine's parts: reference normalisation, payer names, the bounded subset count, the amount
fit and the payer's identification."""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal

import pytest

from gateway.matching.amount_fit import amount_to_compare, fit_amount
from gateway.matching.candidates import chance_combinations
from gateway.matching.index import MatchIndex
from gateway.matching.model import Allocation, OpenItem
from gateway.matching.names import NameIndex, alias_key, fold, match_key
from gateway.matching.payer import identify_payer
from gateway.matching.reference_hits import ReferenceHit
from gateway.matching.references import (
    derive_pattern,
    normalise_account,
    normalise_number,
    one_edit_variants,
    text_references,
)
from gateway.matching.scoring import CHANCE_LIMIT
from gateway.matching.subset import find_subsets, small_combinations
from schemas.matching import MatchingPolicy
from schemas.remittance import Payment, RemittanceLine


@pytest.mark.parametrize(
    ("written", "normalised"),
    [
        ("INV-000123", "INV123"),
        ("inv 123", "INV123"),
        ("0010023", "10023"),
        ("2024/0012", "202412"),
        ("F-0", "F0"),
    ],
)
def test_numbers_normalise_case_separators_and_leading_zeros(written: str, normalised: str) -> None:
    assert normalise_number(written) == normalised


@pytest.mark.parametrize(
    "written", ["NO93 8601 1117 947", "no9386011117947", "8601.11.17947", "8601 11 17947"]
)
def test_a_norwegian_iban_and_its_bban_are_one_account(written: str) -> None:
    assert normalise_account(written) == "86011117947"


def test_a_foreign_iban_stays_an_iban() -> None:
    assert normalise_account("se45 5000 0000 0583 9825 7466") == "SE4550000000058398257466"


def test_free_text_readings_skip_dates_and_amounts() -> None:
    numbers = {
        r.number for r in text_references("Faktura 10023, 10024 betalt 03.11.2026 kr 1 250,00 inv#777")
    }
    assert {"10023", "10024", "777"} <= numbers
    assert not numbers & {"3", "11", "2026", "1", "250", "1250", "25000"}


def test_one_edit_variants_cover_every_kind_of_typo() -> None:
    variants = set(one_edit_variants("1234", "0123456789"))
    assert {"134", "2134", "1934", "12345", "01234"} <= variants
    assert "1234" not in variants


def test_a_house_style_token_becomes_a_pattern() -> None:
    regex = derive_pattern("F2024-00123", "123")
    assert regex is not None and r"F\d{4}\-0*(\d+)" in regex
    assert (match := re.search(regex, "betaling f2025-0456 takk", re.IGNORECASE)) and match.group(1) == "456"
    glued = derive_pattern("Ref F202400123", "123")
    assert (
        glued is not None and (hit := re.search(glued, "F202400987", re.IGNORECASE)) and hit.group(1) == "987"
    )


@pytest.mark.parametrize("text", ["123", "Faktura 123", "F-00123", "X"])
def test_no_pattern_where_the_plain_readings_suffice(text: str) -> None:
    assert derive_pattern(text, "123") is None


def test_nordic_letters_fold_to_one_form() -> None:
    assert fold("SÆTHER") == fold("SAETHER") == fold("Sather") == "sather"
    assert fold("Bjørnstad Rør A/S") == fold("BJOERNSTAD ROER AS") == "bjornstad ror as"
    assert match_key("Nordic Trading AS") == match_key("NORDIC TRADING A") == "nordic trading"
    assert alias_key("NORDIC TRADING AB") != alias_key("NORDIC TRADING")
    assert fold(fold("Åsaa Ærø")) == fold("Åsaa Ærø")


def test_a_truncated_bank_name_fits_every_look_alike_perfectly() -> None:
    names = NameIndex()
    names.add("c1", "Nordic Trading AS")
    names.add("c2", "Nordic Trading Partners AS")
    names.add("c3", "Fjord Maling AS")
    hits = names.search("NORDIC TRADING")
    assert {hit.customer_key for hit in hits} == {"c1", "c2"}
    assert all(hit.score == 100 for hit in hits)
    assert names.search("NORDIC TRADING PARTN")[0].customer_key == "c2"
    assert names.search("FJORD MALNG")[0].customer_key == "c3"  # a typo in a word
    assert names.search("SOMEONE ELSE") == []


def test_subsets_are_counted_not_picked() -> None:
    assert find_subsets([300, 700, 400, 600], 1000).solutions == ((0, 1), (2, 3))
    unique = find_subsets([1000, 2350, 499], 3350)
    assert unique.unique and unique.solutions == ((0, 1),)
    assert find_subsets([100, 200], 50).solutions == ()
    netted = find_subsets([1000, 800, -300], 1500)
    assert netted.unique and netted.solutions == ((0, 1, 2),)


def test_a_long_list_is_searched_depth_first_within_a_budget() -> None:
    values = [100 * (i + 1) for i in range(40)]
    found = find_subsets(values, 300, limit=5)
    assert not found.exhausted and set(found.solutions) == {(0, 1)}  # 100 + 200 only (300 alone: size 1)
    spent = find_subsets([1] * 40, 20, limit=2, budget=10)
    assert spent.exhausted and not spent.unique


def test_small_combinations_find_pairs_and_triples() -> None:
    assert small_combinations([400, 400, 800, 5], 800) == ((0, 1),)
    assert small_combinations([100, 200, 500, 9], 800) == ((0, 1, 2),)


# --- the amount fit ----------------------------------------------------------------------------------------


def _named(
    number: str, amount: str, *, credit: bool = False, line: RemittanceLine | None = None
) -> ReferenceHit:
    """An item a payment names (what the fit reads of a hit is its item and line)."""
    item = OpenItem(
        invoice_id=f"id-{number}",
        number=number,
        document_type="credit_note" if credit else "invoice",
        customer_key="c1",
        customer_name="Nordic Trading AS",
        currency="NOK",
        open_amount=Decimal(amount),
        total_amount=Decimal(amount),
        issue_date=dt.date(2026, 1, int(number)),
    )
    return ReferenceHit(item, [], 2.4, "invoice-number", True, line)


def _fit(target: str, *named: ReferenceHit) -> tuple[str, list[tuple[str, str, str]], list[str]]:
    payment = Payment(amount=Decimal(target), currency="NOK")
    fit = fit_amount(named, Decimal(target), "NOK", False, payment, MatchingPolicy())
    allocated = [(a.number, str(a.amount), str(a.write_off)) for a in fit.allocations]
    return fit.kind, allocated, [e.kind for e in fit.evidence]


def test_the_fit_nets_credit_notes_and_writes_small_shortfalls_off_the_newest_invoice() -> None:
    named = (_named("2", "200.00"), _named("3", "50.00", credit=True), _named("1", "100.00"))
    assert _fit("250.00", *named) == (
        "exact",
        [("1", "100.00", "0"), ("2", "200.00", "0"), ("3", "50.00", "0")],
        ["credit-note-netted", "amount-exact"],
    )
    kind, allocated, _ = _fit("248.00", *named)
    assert (kind, allocated[1]) == ("write-off", ("2", "198.00", "2.00"))


def test_a_partial_payment_is_split_as_the_advice_says_else_oldest_first() -> None:
    oldest_first = _fit("150.00", _named("2", "200.00"), _named("1", "100.00"))
    assert oldest_first[:2] == ("partial", [("1", "100.00", "0"), ("2", "50.00", "0")])
    advised = _fit(
        "150.00",
        _named("1", "100.00", line=RemittanceLine(amount=Decimal("50.00"))),
        _named("2", "200.00", line=RemittanceLine(amount=Decimal("100.00"))),
    )
    assert advised[:2] == ("partial", [("1", "50.00", "0"), ("2", "100.00", "0")])


def test_a_stated_deduction_that_explains_the_shortfall_is_written_off_on_its_invoice() -> None:
    line = RemittanceLine(adjustment=Decimal("80.00"), adjustment_reason="damaged")
    kind, allocated, evidence = _fit("220.00", _named("1", "100.00", line=line), _named("2", "200.00"))
    assert kind == "deduction"
    assert allocated == [("2", "200.00", "0"), ("1", "20.00", "80.00")]
    assert evidence == ["amount-deduction"]


def test_fx_compares_the_instructed_amount_and_nothing_else() -> None:
    payment = Payment(
        amount=Decimal("1100.00"),
        currency="NOK",
        instructed_amount=Decimal("100.00"),
        instructed_currency="EUR",
    )
    assert amount_to_compare(payment, "NOK") == (Decimal("1100.00"), False)
    assert amount_to_compare(payment, "EUR") == (Decimal("100.00"), True)
    assert amount_to_compare(payment, "SEK") is None


# --- the payer ---------------------------------------------------------------------------------------------


def test_a_shared_account_identifies_no_one_and_a_learned_alias_still_does() -> None:
    index = MatchIndex(
        [_named("1", "100.00").item],
        accounts={"86011117947": "c1"},
        aliases={"NT AS": "c1"},
    )
    index.learn_account("86011117947", "c2")
    payer = identify_payer(Payment(amount=Decimal(1), currency="NOK", payer_account="8601.11.17947"), index)
    assert (payer.customer_key, [e.kind for e in payer.notes]) == (None, ["payer-account-shared"])
    payer = identify_payer(
        Payment(amount=Decimal(1), currency="NOK", payer_account="86011117947", payer_name="NT AS"), index
    )
    assert payer.customer_key == "c1"
    assert [e.kind for e in payer.notes] == ["payer-alias", "payer-account-shared"]


def test_a_name_alone_only_resembles() -> None:
    index = MatchIndex([_named("1", "100.00").item])
    payer = identify_payer(Payment(amount=Decimal(1), currency="NOK", payer_name="NORDIC TRADING"), index)
    assert payer.customer_key is None
    assert payer.resembles("c1")
    [evidence] = payer.evidence_for("c1", [], index)
    assert (evidence.kind, evidence.weight) == ("payer-name-fuzzy", 0.5)


def test_open_invoices_are_found_by_their_open_amount_as_payments_apply() -> None:
    def open_item(number: str, amount: str, *, currency: str = "NOK", kind: str = "invoice") -> OpenItem:
        return OpenItem(
            f"id-{number}", number, "invoice" if kind == "invoice" else "credit_note", "c1", "Nordic AS",
            currency, Decimal(amount), Decimal(amount), dt.date(2026, 3, 1),
        )  # fmt: skip

    index = MatchIndex(
        [
            open_item("1", "500.00"),
            open_item("2", "800.00"),
            open_item("3", "500.00", currency="EUR"),
            open_item("4", "500.00", kind="credit_note"),
        ]
    )
    assert [i.number for i in index.open_with_amount(Decimal("500"), "NOK")] == ["1"]
    index.apply([Allocation("id-2", "2", Decimal("300.00"))])  # 800.00 -> 500.00 open
    index.apply([Allocation("id-1", "1", Decimal("500.00"))])  # paid: no longer open
    assert [i.number for i in index.open_with_amount(Decimal("500.00"), "NOK")] == ["2"]
    index.add(open_item("5", "500.00"))
    assert sorted(i.number for i in index.open_with_amount(Decimal("500.00"), "NOK")) == ["2", "5"]
    assert index.open_with_amount(Decimal("800.00"), "NOK") == []


def _open(amounts: list[str], customer: str = "c1") -> list[OpenItem]:
    day = dt.date(2026, 1, 5)
    return [
        OpenItem(f"id-{n}", str(n), "invoice", customer, "Nordic AS", "NOK", Decimal(a), Decimal(a), day)
        for n, a in enumerate(amounts)
    ]


def test_chance_combinations_grow_with_the_pool_and_with_round_amounts() -> None:
    """A lone combination is proof among a few items spread to the cent, not among many, nor among round
    amounts on their coarser grid, nor among items of one amount."""
    few = _open(["1234.56", "877.10", "4410.35", "2999.99", "615.40"])
    assert chance_combinations(few, 3, Decimal("6444.90")) < CHANCE_LIMIT
    many = _open([f"{1000 + (n * 7919) % 9000}.{n % 100:02d}" for n in range(40)])
    assert chance_combinations(many, 7, Decimal("35000.17")) > 1
    assert chance_combinations(many, 7) > chance_combinations(many[:20], 7)
    round_ones = _open([f"{(n * 37) % 40 * 100 + 1000}.00" for n in range(14)] + ["1234.56", "877.10"])
    cents_only = chance_combinations(round_ones, 3)
    assert cents_only < CHANCE_LIMIT < chance_combinations(round_ones, 3, Decimal("7100.00"))
    assert chance_combinations(_open(["499.00"] * 6), 2, Decimal("998.00")) == float("inf")
