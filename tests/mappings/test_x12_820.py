"""X12 820 remittance advices read into the remittance model.

The nine samples in ../shared/samples/edi/x12/820 (SOURCES.md says what each is), values read off the files
by eye; then 820s built with `mappings.syntax.x12` for what the samples do not show (credit memos,
adjustments,
debits, notification only, the 003030 adjustment sign, malformed content).

What the samples taught: four are refused by the strict envelope (ISA06 blank, GS06 prose placeholder, GS04
in YYMMDD under 004010, a non-fixed-width ISA); the other five have BPR02 amounts that their RMR04 amounts
do not add up to (trimmed or partner-specific remittance detail), so the default, strict reading refuses
each naming BPR02 with the figures, and `unbalanced="note"` (what `inspect` shows) reads them.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from mappings import detect_format, inspect_file
from mappings.base import FormatError, SegmentError
from mappings.remittance import x12_820
from mappings.remittance.x12_820 import Remittance820Error
from mappings.syntax import edifact, x12
from schemas.remittance import RemittanceLine
from tests.conftest import SHARED

SAMPLES = SHARED / "samples" / "edi" / "x12" / "820"
SAFEWAY = SAMPLES / "bots_820-004010-01_safeway.x12"
VICS = SAMPLES / "bots_820-004010VICS-03.x12"
NOTIFY_2 = SAMPLES / "bots_820-004030-03.x12"
NOTIFY_1 = SAMPLES / "bots_820-004030-04.x12"
X218 = SAMPLES / "stupidedi_X218_RA820_summary-bill-payment.edi"
HOME_DEPOT = SAMPLES / "oopf_Example3_HomeDepot_template.txt"
WIKIPEDIA = SAMPLES / "oopf_Example5_Wikipedia.txt"
READABLE = [SAFEWAY, VICS, NOTIFY_2, NOTIFY_1, X218]
G = x12.Segment.of


def _unbalanced(path: Path, amount: str, direction: str, difference: str, lines_sum: str) -> None:
    """The strict reading refuses `path` naming BPR02 (segment 4, element 2) with both figures."""
    with pytest.raises(Remittance820Error) as caught:
        x12_820.parse(path.read_bytes())
    error = caught.value
    assert (error.segment_position, error.segment_tag, error.element_index) == (4, "BPR", 2)
    expected = f"BPR02 {amount} is {difference} {direction} than the remittance adds up to: {lines_sum}"
    assert expected in error.reason


# ----------------------------------------------------------------------------------------------------------
# samples the envelope refuses


@pytest.mark.parametrize(
    ("name", "position", "tag", "element", "reason"),
    [
        ("oopf_Example2_ScanaEnergy.txt", 1, "ISA", 6, "ISA06 (interchange sender ID) is blank"),
        ("oopf_Example3_HomeDepot_template.txt", 2, "GS", 6, "'44 (Group Control Number)' must be a number"),
        ("oopf_Example5_Wikipedia.txt", 2, "GS", 4, "GS04 (date) '031016' must be CCYYMMDD"),
        ("stupidedi_RA820_3010_pass_1.edi", 1, "ISA", 2, "must be exactly 10 characters"),
    ],
)
def test_samples_with_a_broken_envelope_are_refused(name: str, position: int, tag: str, element: int,
                                                    reason: str) -> None:
    data = (SAMPLES / name).read_bytes()
    for reader in (x12_820.parse, inspect_file):
        with pytest.raises(x12.X12SyntaxError) as caught:
            reader(data)
        error = caught.value
        assert (error.segment_position, error.segment_tag, error.element_index) == (position, tag, element)
        assert reason in error.reason


def test_the_home_depot_template_is_refused_for_its_placeholders_too() -> None:
    """With its GS06 prose repaired, the template's 'TOTAL DOLLAR AMT OF CHECK' is no amount."""
    data = HOME_DEPOT.read_bytes().replace(b"44 (Group Control Number)", b"44")
    with pytest.raises(Remittance820Error) as caught:
        x12_820.parse(data)
    error = caught.value
    assert (error.segment_position, error.segment_tag, error.element_index) == (4, "BPR", 2)
    assert "'TOTAL DOLLAR AMT OF CHECK' is not a number" in error.reason


def test_the_wikipedia_example_reads_once_its_envelope_is_repaired() -> None:
    """GS04 in CCYYMMDD and the spaces before each '\\' terminator removed: the content adds up (77.77).
    Its BPR leaves out BPR11, so the date sits in BPR15: read positionally, as written."""
    data = WIKIPEDIA.read_bytes().replace(b"*031016*2359*987600111", b"*20031016*2359*987600111")
    document = x12_820.parse(data.replace(b" \\", b"\\"))
    [payment] = document.payments
    assert (payment.amount, payment.currency, payment.direction) == (Decimal("77.77"), "USD", "credit")
    assert (payment.bank_reference, payment.payer_name, payment.payer_account) == (
        "0310162359", "WHIZCO OF AMERICA INC", "0099109999")  # fmt: skip
    assert (payment.value_date, payment.payee_account) == (None, "031016")
    assert payment.invoice_numbers == ["1111111111111111", "2222222222222222", "4444444444444444"]
    assert [line.amount for line in payment.lines] == [Decimal("11.11"), Decimal("22.22"), Decimal("44.44")]
    assert (document.account_owner, document.message_id, document.notes) == ("YOWZACO", "987600111", [])


# ----------------------------------------------------------------------------------------------------------
# samples the envelope accepts: their remittance detail does not add up to BPR02


def test_safeway_4010() -> None:
    _unbalanced(SAFEWAY, "416093.15", "less", "32769.61", "448862.76")
    document = x12_820.parse(SAFEWAY.read_bytes(), unbalanced="note")
    assert (document.format, document.message_id, document.sender, document.receiver) == (
        "x12-820", "000025029", "9251750000", "XXXXXXXXXX")  # fmt: skip
    assert document.created_at == dt.datetime(2005, 10, 18, 18, 20, tzinfo=dt.UTC)
    assert (document.account_owner, document.declared_count) == ("Safeway Supplier Name", 1)
    [payment] = document.payments
    assert (payment.amount, payment.currency, payment.direction, payment.hint_only) == (
        Decimal("416093.15"), "USD", "credit", False)  # fmt: skip
    assert (payment.bank_reference, payment.payer_name, payment.payer_id) == (
        "4311000190", "Safeway - U. S. Corporate", "0091372090000")  # fmt: skip
    assert (payment.payer_account, payment.payee_account) == ("2000014804300", "XXXXXXXXXX")
    assert payment.value_date == dt.date(2005, 10, 20)
    assert (payment.kind, payment.position) == ("x12-820", "820 00106001 (ST at segment 3)")
    assert payment.invoice_numbers == ["6092392", "6093694", "6093695", "6093696", "P7340039-25PB", "6093692"]
    assert [line.amount for line in payment.lines] == [
        Decimal("20430.34"), Decimal("20888.5"), Decimal("99701.8"), Decimal("17380.29"), Decimal("4153"),
        Decimal("286308.83")]  # fmt: skip
    assert payment.lines[0] == RemittanceLine(
        invoice_number="6092392", document_kind="invoice", amount=Decimal("20430.34"),
        document_amount=Decimal("20851.11"), adjustment=Decimal("420.77"), adjustment_reason="discount",
        document_date=dt.date(2005, 9, 23), text="ST 3111",
    )  # fmt: skip
    assert payment.lines[4].adjustment is None  # RMR*IV*P7340039-25PB*PI*4153*4153: paid in full
    assert "32769.61 less" in document.notes[0]


def test_vics_4010_long_sample() -> None:
    _unbalanced(VICS, "47828.63", "less", "3143.29", "50971.92")
    document = x12_820.parse(VICS.read_bytes(), unbalanced="note")
    [payment] = document.payments
    assert (payment.amount, payment.currency, payment.bank_reference, payment.payer_name) == (
        Decimal("47828.63"), "USD", None, None)  # fmt: skip
    assert (payment.payer_id, payment.end_to_end_id) == ("3200091189", "2395888")  # BPR10, REF*CK
    assert payment.value_date == dt.date(2004, 8, 5)
    assert len(payment.lines) == 7  # 297 IT1 item lines under the RMRs are not remittance lines
    assert sum((line.amount or 0 for line in payment.lines), Decimal(0)) == Decimal("50971.92")
    first, last = payment.lines[0], payment.lines[-1]
    assert (first.invoice_number, first.amount, first.document_amount, first.adjustment) == (
        "0806170806", Decimal("2045.79"), Decimal("1778.56"), Decimal("51.14"))  # fmt: skip
    assert first.text == "PO 15302570000; SI 0806170806"
    assert (last.invoice_number, last.amount, last.adjustment) == (
        "619080602", Decimal("3744.06"), Decimal("93.6"))  # fmt: skip


def test_4030_notification_only_with_two_sets() -> None:
    _unbalanced(NOTIFY_2, "561.72", "more", "20.52", "541.2")
    document = x12_820.parse(NOTIFY_2.read_bytes(), unbalanced="note")
    assert document.message_id == "017000934"
    first, second = document.payments
    assert [(p.amount, p.currency, p.hint_only) for p in document.payments] == [
        (Decimal("561.72"), "CAD", True), (Decimal("236.33"), "CAD", True)]  # fmt: skip
    assert (first.value_date, first.free_text) == (dt.date(2005, 5, 31), ("541.20", "0.00"))
    assert first.lines == (RemittanceLine(document_kind="other", amount=Decimal("541.2"),
                                          text="PO 00583236; DP 07"),)  # fmt: skip
    assert second.lines[0].text == "PO 00583247; DP 07"
    assert second.position == "820 017001512 (ST at segment 25)"
    assert document.account_owner is None  # the two sets name different payees
    hints = [note for note in document.notes if "BPR01 H (notification only)" in note]
    assert len(hints) == 2


def test_4030_notification_only_with_item_detail() -> None:
    _unbalanced(NOTIFY_1, "5851.19", "more", "382.79", "5468.4")
    document = x12_820.parse(NOTIFY_1.read_bytes(), unbalanced="note")
    [payment] = document.payments
    assert (payment.amount, payment.currency, payment.hint_only) == (Decimal("5851.19"), "CAD", True)
    assert document.account_owner == "COYOTE SHIRTS INC (F)"
    assert [(line.amount, line.text) for line in payment.lines] == [(Decimal("5468.4"), "PO 00583652; DP 19")]


def test_x218_5010_premium_payment() -> None:
    _unbalanced(X218, "19000", "more", "2250", "16750")
    document = x12_820.parse(X218.read_bytes(), unbalanced="note")
    [payment] = document.payments
    assert (payment.amount, payment.bank_reference, payment.payer_name, payment.payer_id) == (
        Decimal("19000"), "12345", "ABC PLASTICS", "123456789")  # fmt: skip
    assert (payment.payer_account, payment.payee_account, payment.value_date) == (
        "12345678", "98765", dt.date(2007, 5, 16))  # fmt: skip
    assert [(line.invoice_number, line.amount) for line in payment.lines] == [
        ("970501001", Decimal("16500")), ("970501002", Decimal("250"))]  # fmt: skip
    assert document.account_owner == "DEF HEALTH CARE INC."


def test_inspect_shows_where_the_samples_leave_the_820_structure() -> None:
    """Safeway puts REF/DTM right under ENT (segment 10 on), the 4030 partner a REF; VICS and X218 conform."""
    found = {path.name: x12_820.inspect(path.read_bytes())["grammar_problems"] for path in READABLE}
    safeway = [(p["segment_position"], p["segment_tag"]) for p in found[SAFEWAY.name][:2]]
    assert safeway == [(10, "REF"), (11, "DTM")]
    assert "out of place" in found[SAFEWAY.name][0]["reason"]
    assert [(p["transaction_set"], p["segment_position"]) for p in found[NOTIFY_2.name]] == [
        ("017001511", 21), ("017001512", 43)]  # fmt: skip
    assert found[VICS.name] == found[X218.name] == []


@pytest.mark.parametrize("path", READABLE, ids=lambda p: p.name)
def test_readable_samples_are_recognised_and_inspected(path: Path) -> None:
    data = path.read_bytes()
    assert x12_820.sniff(data)
    assert detect_format(data) == "x12-820"
    facts = inspect_file(data)
    assert (facts["format"], facts["valid"]) == ("x12-820", False)
    assert facts["errors"][0]["segment_position"] == 4
    assert facts["envelope"]["format"] == "x12"
    assert facts["payment_count"] == len(x12_820.parse(data, unbalanced="note").payments)


# ----------------------------------------------------------------------------------------------------------
# built 820s


def build_820(*bodies: list[x12.Segment], version: str = "004010", set_ids: tuple[str, ...] = ()) -> bytes:
    transactions = [
        x12.TransactionSet(set_ids[n] if set_ids else "820", f"{n + 1:04d}", segments=body)
        for n, body in enumerate(bodies)
    ]
    date = "20261124" if version >= "004010" else "261124"
    group = x12.FunctionalGroup("RA", "PAYER", "PAYEE", date, "1200", "7", "X", version, transactions)
    interchange = x12.build_interchange(
        sender=x12.Party("ZZ", "PAYER"), receiver=x12.Party("ZZ", "PAYEE"), control_number=42, groups=[group],
        prepared=dt.datetime(2026, 11, 24, 12, 0), version="00401" if version >= "004" else "00303",
    )  # fmt: skip
    return x12.write_interchange(interchange, newline="\n")


def _bpr(amount: str, handling: str = "C", flag: str = "C") -> x12.Segment:
    """BPR with the payer's account 1234567890 (BPR09), ours 9876543210 (BPR15), effective 2026-11-25."""
    return G("BPR", handling, amount, flag, "ACH", "CTX", "01", "021000021", "DA", "1234567890", "1123456789",
             "", "01", "026009593", "DA", "9876543210", "20261125")  # fmt: skip


def _full_820() -> list[x12.Segment]:
    """3 invoices (one with a discount and an item adjustment), a credit memo, a debit memo written with a
    negative amount, and an entity-level deduction: 1000 + 485 + 300 − 120 − 40 − 25 = 1600."""
    return [
        _bpr("1600.00"), G("NTE", "GEN", "Payment for November"), G("TRN", "1", "TRACE-9001", "1123456789"),
        G("CUR", "PR", "EUR"), G("REF", "CK", "CHK-17"), G("DTM", "097", "20261124"),
        G("N1", "PR", "Nordlys Bygg AS", "FI", "987654321"), G("N3", "Storgata 1"),
        G("N1", "PE", "Fjordkraft AS", "FI", "912345678"),
        G("ENT", "1"),
        G("ADX", "-25.00", "CS", "CM", "DED-7"), G("NTE", "ADD", "Marketing contribution"),
        G("RMR", "IV", "INV-1001", "PI", "1000.00", "1000.00"), G("DTM", "003", "20261001"),
        G("RMR", "IV", "INV-1002", "PI", "485.00", "500.00", "10.00"), G("REF", "PO", "PO-4471"),
        G("ADX", "-5.00", "01", "IV", "INV-1002"),
        G("RMR", "IV", "INV-1003", "PI", "300.00"),
        G("RMR", "CM", "CN-0007", "", "120.00"),
        G("RMR", "IV", "INV-0999", "PI", "-40.00"),
    ]  # fmt: skip


def test_a_full_820_reads_and_adds_up() -> None:
    data = build_820(_full_820())
    document = x12_820.parse(data)
    assert (document.message_id, document.sender, document.receiver, document.notes) == (
        "000000042", "PAYER", "PAYEE", [])  # fmt: skip
    assert document.created_at == dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
    assert (document.currency, document.account) == ("EUR", "9876543210")
    assert document.account_owner == "Fjordkraft AS"
    assert document.declared_total == document.credit_total == Decimal("1600.00")
    [payment] = document.payments
    assert (payment.amount, payment.currency, payment.direction, payment.hint_only) == (
        Decimal("1600.00"), "EUR", "credit", False)  # fmt: skip
    assert (payment.bank_reference, payment.end_to_end_id, payment.free_text) == (
        "TRACE-9001", "CHK-17", ("Payment for November",))  # fmt: skip
    assert (payment.payer_name, payment.payer_id, payment.payer_account, payment.payee_account) == (
        "Nordlys Bygg AS", "987654321", "1234567890", "9876543210")  # fmt: skip
    assert payment.value_date == dt.date(2026, 11, 25)
    deduction, first, second, third, memo, netted = payment.lines
    assert deduction == RemittanceLine(
        document_kind="other", adjustment=Decimal("25.00"), adjustment_reason="CS",
        text="ADX CM DED-7; Marketing contribution",
    )  # fmt: skip
    assert (first.invoice_number, first.amount, first.document_date) == ("INV-1001", Decimal("1000.00"),
                                                                         dt.date(2026, 10, 1))  # fmt: skip
    assert (second.amount, second.document_amount, second.adjustment, second.adjustment_reason) == (
        Decimal("485.00"), Decimal("500.00"), Decimal("15.00"), "discount; 01")  # fmt: skip
    assert second.text == "PO PO-4471"
    assert (third.amount, third.adjustment) == (Decimal("300.00"), None)
    assert (memo.document_kind, memo.invoice_number, memo.amount) == (
        "credit_note", "CN-0007", Decimal("120.00"))  # fmt: skip
    assert (netted.document_kind, netted.invoice_number, netted.amount) == (
        "credit_note", "INV-0999", Decimal("40.00"))  # fmt: skip
    assert x12_820.sniff(data) and detect_format(data) == "x12-820"
    facts = x12_820.inspect(data)
    assert (facts["valid"], facts["errors"], facts["grammar_problems"]) == (True, [], [])
    assert facts["payments"][0]["bank_reference"] == "TRACE-9001"


def test_the_check_counts_entity_adjustments_but_not_item_adjustments() -> None:
    body = _full_820()
    body[0] = _bpr("1625.00")  # as if the entity-level deduction were not taken
    with pytest.raises(Remittance820Error) as caught:
        x12_820.parse(build_820(body))
    assert "BPR02 1625.00 is 25.00 more than the remittance adds up to: 1600.00" in caught.value.reason
    adjusted = _full_820()
    adjusted[16] = G("ADX", "-500.00", "01")  # an item ADX explains RMR04, it is not deducted again
    assert x12_820.parse(build_820(adjusted)).payments[0].amount == Decimal("1600.00")


def test_before_003040_a_positive_adx_reduces_the_payment() -> None:
    body = [_bpr("75.00"), G("ENT", "1"), G("ADX", "25.00", "CS"), G("RMR", "IV", "A-1", "PI", "100.00")]
    [payment] = x12_820.parse(build_820(body, version="003030")).payments
    assert payment.lines[0].adjustment == Decimal("25.00")
    with pytest.raises(Remittance820Error):
        x12_820.parse(build_820(body, version="004010"))  # there, +25.00 increases it: 125.00
    body[0] = _bpr("125.00")
    assert x12_820.parse(build_820(body)).payments[0].lines[0].adjustment == Decimal("-25.00")


def test_a_debit_is_kept_but_is_no_credit() -> None:
    document = x12_820.parse(build_820([_bpr("50.00", flag="D"), G("RMR", "IV", "A-1", "PI", "50.00")]))
    assert document.payments[0].direction == "debit"
    assert (document.credit_total, document.declared_total) == (Decimal(0), Decimal(0))


@pytest.mark.parametrize(("handling", "meaning"), [("H", "notification only"),
                                                   ("P", "prenotification of future transfers")])
def test_no_money_moves_with_h_and_p(handling: str, meaning: str) -> None:
    body = [_bpr("10.00", handling=handling), G("RMR", "IV", "A-1", "PI", "10.00")]
    document = x12_820.parse(build_820(body))
    assert document.payments[0].hint_only
    assert f"BPR01 {handling} ({meaning})" in document.notes[0]
    for other in ("C", "D", "I", "U", "X"):
        data = build_820([_bpr("10.00", handling=other), G("RMR", "IV", "A-1", "PI", "10.00")])
        assert not x12_820.parse(data).payments[0].hint_only


def test_a_payment_with_references_only_is_accepted() -> None:
    body = [_bpr("99.00"), G("RMR", "IV", "A-1"), G("RMR", "IV", "A-2")]
    [payment] = x12_820.parse(build_820(body)).payments
    assert (payment.amount, payment.currency) == (Decimal("99.00"), "USD")
    assert payment.invoice_numbers == ["A-1", "A-2"]
    assert [line.amount for line in payment.lines] == [None, None]


def test_an_rmr_without_amount_among_rmrs_with_amounts_is_refused() -> None:
    data = build_820([_bpr("10.00"), G("RMR", "IV", "A-1", "PI", "10.00"), G("RMR", "IV", "A-2")])
    with pytest.raises(Remittance820Error) as caught:
        x12_820.parse(data)
    error = caught.value
    assert (error.segment_tag, error.element_index, error.segment_position) == ("RMR", 4, 6)


@pytest.mark.parametrize(
    ("segment", "position", "element", "reason"),
    [
        (_bpr("12,50"), 4, 2, "'12,50' is not a number"),
        (_bpr("-12.50"), 4, 2, "is negative"),
        (_bpr("12.50", flag="X"), 4, 3, "must be C or D"),
        (_bpr("12.50", handling=""), 4, 1, "BPR01"),
        (G("BPR", "C"), 4, 2, "BPR02 (the total payment amount) is missing"),
    ],
)
def test_a_bad_bpr_is_refused_naming_the_element(segment: x12.Segment, position: int, element: int,
                                                 reason: str) -> None:
    with pytest.raises(Remittance820Error) as caught:
        x12_820.parse(build_820([segment, G("RMR", "IV", "A-1", "PI", "12.50")]))
    assert (caught.value.segment_position, caught.value.segment_tag, caught.value.element_index) == (
        position, "BPR", element)  # fmt: skip
    assert reason in caught.value.reason


def test_other_content_errors_name_their_segment() -> None:
    cases = [
        ([_bpr("1.00"), G("CUR", "PR", "euro")], "CUR", 2, "is not an ISO 4217"),
        ([_bpr("1.00"), G("RMR", "IV", "A", "PI", "1.00"), G("DTM", "003", "20261341")],
         "DTM", 2, "not a date"),
        ([_bpr("1.00"), G("ENT", "1"), G("ADX", "", "CS"), G("RMR", "IV", "A", "PI", "1.00")],
         "ADX", 1, "ADX01"),
        ([G("TRN", "1", "X"), _bpr("1.00")], "ST", None, "BPR must follow ST, found TRN"),
    ]
    for body, tag, element, reason in cases:
        with pytest.raises(Remittance820Error) as caught:
            x12_820.parse(build_820(body))
        assert (caught.value.segment_tag, caught.value.element_index) == (tag, element), reason
        assert reason in caught.value.reason


BPS_RMT_003010 = [G("BPS", "PBC", "10.00", "I"), G("RMT", "IV", "A", "10.00")]


def test_an_003010_style_820_says_why_it_is_refused() -> None:
    with pytest.raises(Remittance820Error) as caught:
        x12_820.parse(build_820(BPS_RMT_003010, version="003010"))
    assert "an 003010 820 with BPS/RMT is not read" in caught.value.reason


def test_only_820s() -> None:
    data = build_820([_bpr("1.00")], [G("BIG", "20261124", "INV-1")], set_ids=("820", "810"))
    with pytest.raises(Remittance820Error) as caught:
        x12_820.parse(data)
    assert (caught.value.segment_tag, caught.value.element_index) == ("ST", 1)
    assert "transaction set 810 0002" in caught.value.reason
    assert not x12_820.sniff(data)
    remadv = edifact.write_interchange(edifact.build_interchange(
        sender=edifact.Party("A"), recipient=edifact.Party("B"), control_ref="1",
        prepared=dt.datetime(2026, 11, 24), messages=[edifact.Message("1", "REMADV", "D", "96A", "UN")],
    ))  # fmt: skip
    for other in (remadv, b"ISA*", b"", SAMPLES.joinpath("oopf_Example2_ScanaEnergy.txt").read_bytes()):
        assert not x12_820.sniff(other)


def test_a_wrong_se_count_is_refused_by_the_envelope() -> None:
    data = build_820([_bpr("1.00"), G("RMR", "IV", "A", "PI", "1.00")]).replace(b"SE*4*0001", b"SE*5*0001")
    with pytest.raises(x12.X12SyntaxError) as caught:
        x12_820.parse(data)
    assert (caught.value.segment_tag, caught.value.element_index) == ("SE", 1)
    assert isinstance(caught.value, SegmentError) and isinstance(caught.value, FormatError)
