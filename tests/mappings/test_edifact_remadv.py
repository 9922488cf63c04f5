"""EDIFACT REMADV read into the remittance model (and written back by `edifact_remadv.render`).

No REMADV sample exists in ../shared/samples: the advices here are written from the EANCOM 1997 (D.96A,
EAN002) and 2002 (D.01B, EAN005) REMADV descriptions — two of them by hand, as a partner's system would send
them (UNA, release characters, CRLF / LF line breaks, a comma as decimal mark), the others with
`edifact_remadv.render` and `edifact.build_interchange`.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from decimal import Decimal

import pytest

from mappings import detect_format, inspect_file
from mappings.base import FormatError
from mappings.remittance import edifact_remadv
from mappings.remittance.edifact_remadv import RemadvError
from mappings.syntax import edifact
from schemas.remittance import Payment, RemittanceDocument, RemittanceLine

S = edifact.Segment.of

#: Written by hand: a payer (Berg + Sønn AS) pays three invoices, one with a cash discount and one short by a
#: short delivery, less a credit note the sender writes with negative amounts. EANCOM 1997 (D.96A), UNOC,
#: CRLF after each segment, "+" and "'" in names released with "?".
BERG_D96A = (
    "UNA:+.? '\r\n"
    "UNB+UNOC:3+7080001234567:14+7090000000005:14+261124:0815+RA2611240001'\r\n"
    "UNH+1+REMADV:D:96A:UN:EAN002'\r\n"
    "BGM+481+RA-88231+9'\r\n"
    "DTM+137:20261124:102'\r\n"
    "DTM+209:20261126:102'\r\n"
    "RFF+AEK:PAYORD-5512'\r\n"
    "FII+OR+15030012345:Berg ?+ Sønn AS+DNBANOKK:25:17'\r\n"
    "FII+BF+86011117947+DNBANOKK:25:17'\r\n"
    "NAD+PR+7080001234567::9++Berg ?+ Sønn AS:Avd. Økonomi+Storgata 1+OSLO++0155+NO'\r\n"
    "NAD+PE+7090000000005::9++Kari?'s Kafé AS'\r\n"
    "CUX+2:NOK:11'\r\n"
    "DOC+380+20261001'\r\n"
    "MOA+9:12500.00'\r\n"
    "MOA+12:12500.00'\r\n"
    "DTM+137:20261001:102'\r\n"
    "DOC+380+20261007'\r\n"
    "MOA+9:8000.00'\r\n"
    "MOA+52:160.00'\r\n"
    "MOA+12:7840.00'\r\n"
    "DTM+137:20261007:102'\r\n"
    "DOC+380+20261015'\r\n"
    "MOA+9:4375.50'\r\n"
    "MOA+12:3875.50'\r\n"
    "DTM+137:20261015:102'\r\n"
    "RFF+ON:PO-4471'\r\n"
    "AJT+4'\r\n"
    "MOA+5:500.00'\r\n"
    "DOC+381+KN-20261020'\r\n"
    "MOA+9:-1250.00'\r\n"
    "MOA+12:-1250.00'\r\n"
    "DTM+137:20261020:102'\r\n"
    "UNS+S'\r\n"
    "MOA+12:22965.50'\r\n"
    "UNT+33+1'\r\n"
    "UNZ+1+RA2611240001'\r\n"
).encode("iso8859-1")

#: Written by hand: two advices of KID payments in one interchange, EANCOM 2002 (D.01B), a comma as decimal
#: mark (UNA), LF line breaks, a released ":" in the free text.
KID_D01B = (
    "UNA:+,? '\n"
    "UNB+UNOC:3+NO987654321MVA:ZZZ+7090000000005:14+261124:1200+77'\n"
    "UNH+M1+REMADV:D:01B:UN:EAN005'\n"
    "BGM+481+KID-ADV-1+9'\n"
    "DTM+137:202611241200:203'\n"
    "DTM+209:20261125:102'\n"
    "FTX+AAI+++Innbetaling via nettbank?: november'\n"
    "NAD+PR+++Hansen Regnskap AS'\n"
    "CUX+2:NOK:11'\n"
    "DOC+380+10442'\n"
    "MOA+12:1250,00'\n"
    "RFF+PQ:0000104422'\n"
    "DOC+380+10443'\n"
    "MOA+12:399,90'\n"
    "RFF+PQ:0000104430'\n"
    "UNS+S'\n"
    "MOA+12:1649,90'\n"
    "UNT+16+M1'\n"
    "UNH+M2+REMADV:D:01B:UN:EAN005'\n"
    "BGM+481+KID-ADV-2+9'\n"
    "DTM+137:20261124:102'\n"
    "NAD+PR+++Lie ?+ Co'\n"
    "CUX+2:NOK:11'\n"
    "DOC+380+10450'\n"
    "MOA+12:980,00'\n"
    "RFF+PQ:0000104505'\n"
    "UNS+S'\n"
    "MOA+12:980,00'\n"
    "UNT+11+M2'\n"
    "UNZ+2+77'\n"
).encode("iso8859-1")


def _segment_at(data: bytes, tag: str, nth: int = -1) -> edifact.Segment:
    """The `nth` segment with `tag` as the syntax layer numbers it (UNA counts as segment 1)."""
    return [s for s in edifact.tokenize(data) if s.tag == tag][nth]


def _build(*bodies: list[edifact.Segment], release: tuple[str, str, str, str] = ("D", "96A", "UN", "EAN002"),
           types: tuple[str, ...] = ()) -> bytes:
    messages = [
        edifact.Message(str(n), types[n - 1] if types else "REMADV", *release, segments=body)
        for n, body in enumerate(bodies, start=1)
    ]
    interchange = edifact.build_interchange(
        sender=edifact.Party("7080001234567", "14"), recipient=edifact.Party("7090000000005", "14"),
        control_ref="501", prepared=dt.datetime(2026, 11, 24, 8, 0), messages=messages, una=True,
    )  # fmt: skip
    return edifact.write_interchange(interchange, newline="\n")


def _advice(*docs: list[edifact.Segment], total: str | None = "1000.00",
            cux: bool = True) -> list[edifact.Segment]:
    """A REMADV body: heading (payer, NOK unless `cux` is False), the DOC groups, UNS and the total."""
    body = [S("BGM", "481", "RA-1", "9"), S("DTM", ("137", "20261124", "102")),
            S("NAD", "PR", "", "", "Payer AS")]
    if cux:
        body.append(S("CUX", ("2", "NOK", "11")))
    for doc in docs:
        body.extend(doc)
    body.append(S("UNS", "S"))
    if total is not None:
        body.append(S("MOA", ("12", total)))
    return body


# ----------------------------------------------------------------------------------------------------------
# the hand-written advices


def test_hand_written_d96a_advice_reads_every_document_and_deduction() -> None:
    document = edifact_remadv.parse(BERG_D96A)
    assert (document.format, document.message_id, document.sender, document.receiver) == (
        "remadv", "RA2611240001", "7080001234567", "7090000000005")  # fmt: skip
    assert document.created_at == dt.datetime(2026, 11, 24, tzinfo=dt.UTC)
    assert (document.currency, document.account) == ("NOK", "86011117947")
    assert document.account_owner == "Kari's Kafé AS"
    assert (document.declared_count, document.declared_total, document.notes) == (1, Decimal("22965.50"), [])
    [payment] = document.payments
    assert (payment.amount, payment.currency, payment.direction) == (Decimal("22965.50"), "NOK", "credit")
    assert payment.bank_reference == "RA-88231"
    assert payment.value_date == dt.date(2026, 11, 26)
    assert payment.booking_date is None
    assert payment.end_to_end_id == "PAYORD-5512"
    assert (payment.payer_name, payment.payer_id) == ("Berg + Sønn AS Avd. Økonomi", "7080001234567")
    assert (payment.payer_account, payment.payee_account) == ("15030012345", "86011117947")
    assert (payment.kind, payment.hint_only) == ("remadv", False)
    assert payment.position == "message '1' (UNH at segment 3)"
    assert payment.invoice_numbers == ["20261001", "20261007", "20261015", "KN-20261020"]
    first, discounted, short, credit = payment.lines
    assert first == RemittanceLine(
        invoice_number="20261001", document_kind="invoice", amount=Decimal("12500.00"),
        document_amount=Decimal("12500.00"), document_date=dt.date(2026, 10, 1),
    )  # fmt: skip
    assert (discounted.amount, discounted.document_amount) == (Decimal("7840.00"), Decimal("8000.00"))
    assert (discounted.adjustment, discounted.adjustment_reason) == (Decimal("160.00"), "discount")
    assert (short.amount, short.adjustment, short.adjustment_reason) == (
        Decimal("3875.50"), Decimal("500.00"), "short delivery")  # fmt: skip
    assert short.text == "ON PO-4471"
    assert (credit.document_kind, credit.amount, credit.document_amount) == (
        "credit_note", Decimal("1250.00"), Decimal("1250.00"))  # fmt: skip
    assert credit.document_date == dt.date(2026, 10, 20)


def test_hand_written_d01b_kid_advices_are_two_payments() -> None:
    document = edifact_remadv.parse(KID_D01B)
    assert (document.message_id, document.sender, document.declared_count) == ("77", "NO987654321MVA", 2)
    assert document.created_at == dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
    assert document.declared_total == document.credit_total == Decimal("2629.90")
    first, second = document.payments
    assert (first.amount, first.bank_reference, first.payer_name) == (
        Decimal("1649.90"), "KID-ADV-1", "Hansen Regnskap AS")  # fmt: skip
    assert first.kids == ["0000104422", "0000104430"]
    assert [line.amount for line in first.lines] == [Decimal("1250.00"), Decimal("399.90")]
    assert first.free_text == ("Innbetaling via nettbank: november",)
    assert first.value_date == dt.date(2026, 11, 25)
    assert (second.amount, second.payer_name, second.kids) == (Decimal("980.00"), "Lie + Co", ["0000104505"])
    assert second.position == "message 'M2' (UNH at segment 19)"
    assert second.value_date is None


def test_the_advices_are_recognised_and_inspected_as_remadv() -> None:
    for data in (BERG_D96A, KID_D01B):
        assert edifact_remadv.sniff(data)
        assert detect_format(data) == "remadv"
        facts = inspect_file(data)
        assert (facts["format"], facts["valid"], facts["errors"]) == ("remadv", True, [])
        assert facts["envelope"]["format"] == "edifact"
        assert facts["payment_count"] == len(edifact_remadv.parse(data).payments)
    assert edifact_remadv.inspect(BERG_D96A)["payments"][0]["lines"][3]["document_kind"] == "credit_note"


def test_inspect_reports_what_the_remadv_grammar_finds() -> None:
    """The hand-written advices follow the EANCOM structure; a total MOA in the heading (the total-only
    advice of some payers) is reported, and the advice is still read."""
    assert edifact_remadv.inspect(BERG_D96A)["grammar_problems"] == []
    assert edifact_remadv.inspect(KID_D01B)["grammar_problems"] == []
    data = _build([S("BGM", "481", "R-1", "9"), S("DTM", ("137", "20261124", "102")),
                   S("MOA", ("9", "100.00")), S("CUX", ("2", "NOK"))])  # fmt: skip
    facts = edifact_remadv.inspect(data)
    assert facts["valid"] is True
    problems = [(p["segment_position"], p["segment_tag"], p["reason"]) for p in facts["grammar_problems"]]
    assert problems == [
        (6, "MOA", "mandatory segment UNS is missing before this segment"),  # read as the summary MOA
        (7, "CUX", "segment CUX is out of place here (wrong order or wrong segment group)"),
    ]


def test_other_files_are_not_sniffed_as_remadv() -> None:
    invoic = _build(_advice([S("DOC", "380", "A")]), types=("INVOIC",))
    mixed = _build(_advice([S("DOC", "380", "A")]), _advice(), types=("REMADV", "INVOIC"))
    x12_head = b"ISA*00*          *00*          *ZZ*A              *ZZ*B              *261124*1200*U*00401*"
    for data in (invoic, mixed, x12_head, b"UNB+", b"", b"not edifact"):
        assert not edifact_remadv.sniff(data)
    assert detect_format(mixed) != "remadv"


# ----------------------------------------------------------------------------------------------------------
# malformed advices: refused, naming the segment


def test_totals_that_do_not_add_up_are_refused_naming_the_total() -> None:
    bad = BERG_D96A.replace(b"MOA+12:22965.50", b"MOA+12:22956.50")
    total = _segment_at(bad, "MOA")
    with pytest.raises(RemadvError) as caught:
        edifact_remadv.parse(bad)
    error = caught.value
    assert (error.segment_position, error.segment_tag, error.element_index, error.component_index) == (
        total.position, "MOA", 1, 2)  # fmt: skip
    assert "22956.50 is 9.00 less than the documents add up to: 22965.50" in error.reason
    kept = edifact_remadv.parse(bad, unbalanced="note")
    assert kept.payments[0].amount == Decimal("22956.50")
    assert "9.00 less" in kept.notes[0] and kept.notes[0].startswith("message '1'")
    facts = inspect_file(bad)
    assert facts["valid"] is False
    assert facts["errors"][0]["segment_position"] == total.position
    assert facts["payments"][0]["amount"] == "22956.50"


def test_a_message_without_bgm_is_refused_naming_its_unh() -> None:
    bad = BERG_D96A.replace(b"BGM+481+RA-88231+9'\r\n", b"").replace(b"UNT+33+1", b"UNT+32+1")
    with pytest.raises(RemadvError) as caught:
        edifact_remadv.parse(bad)
    assert (caught.value.segment_position, caught.value.segment_tag) == (3, "UNH")
    assert "starts with BGM" in caught.value.reason and "found DTM" in caught.value.reason


def test_a_bad_moa_number_is_refused_naming_element_and_component() -> None:
    bad = BERG_D96A.replace(b"MOA+12:7840.00", b"MOA+12:78A0.00")
    segment = next(s for s in edifact.tokenize(bad) if s.tag == "MOA" and s.get(1, 2) == "78A0.00")
    with pytest.raises(RemadvError) as caught:
        edifact_remadv.parse(bad)
    assert (caught.value.segment_position, caught.value.element_index, caught.value.component_index) == (
        segment.position, 1, 2)  # fmt: skip
    assert "'78A0.00' is not a number" in caught.value.reason


def test_an_interchange_with_another_message_type_is_refused() -> None:
    data = _build(
        _advice([S("DOC", "380", "A"), S("MOA", ("12", "1000.00"))]),
        [S("BGM", "380", "INV-1", "9")],
        types=("REMADV", "INVOIC"),
    )
    second_unh = _segment_at(data, "UNH", 1)
    with pytest.raises(RemadvError) as caught:
        edifact_remadv.parse(data)
    assert (caught.value.segment_position, caught.value.segment_tag) == (second_unh.position, "UNH")
    assert "a INVOIC, not a REMADV" in caught.value.reason


def test_a_wrong_unt_count_is_refused_by_the_envelope() -> None:
    bad = BERG_D96A.replace(b"UNT+33+1", b"UNT+34+1")
    with pytest.raises(edifact.EdiSyntaxError) as caught:
        edifact_remadv.parse(bad)
    assert caught.value.segment_tag == "UNT"
    assert caught.value.segment_position == _segment_at(bad, "UNT").position
    with pytest.raises(edifact.EdiSyntaxError):
        inspect_file(bad)


def test_a_document_without_amount_among_documents_with_amounts_is_refused() -> None:
    data = _build(_advice([S("DOC", "380", "A"), S("MOA", ("12", "1000.00"))], [S("DOC", "380", "B")]))
    with pytest.raises(RemadvError) as caught:
        edifact_remadv.parse(data)
    assert caught.value.segment_position == _segment_at(data, "DOC").position
    assert "has no amount" in caught.value.reason


def test_an_advice_without_any_amount_is_refused_at_bgm() -> None:
    data = _build(_advice([S("DOC", "380", "A")], total=None))
    with pytest.raises(RemadvError) as caught:
        edifact_remadv.parse(data)
    assert caught.value.segment_tag == "BGM"


def test_amount_due_in_another_currency_cannot_stand_in_for_the_amount_remitted() -> None:
    data = _build(_advice([S("DOC", "380", "A"), S("MOA", ("9", "100.00", "EUR"))]))
    with pytest.raises(RemadvError) as caught:
        edifact_remadv.parse(data)
    error = caught.value
    assert (error.segment_tag, error.element_index, error.component_index) == ("MOA", 1, 3)
    assert "amount due in EUR, the payment is in NOK" in caught.value.reason
    # with MOA 12 given, the EUR amount due is simply not the payment's money
    fine = _build(_advice([S("DOC", "380", "A"), S("MOA", ("9", "100.00", "EUR")),
                           S("MOA", ("12", "1000.00"))]))  # fmt: skip
    [line] = edifact_remadv.parse(fine).payments[0].lines
    assert (line.amount, line.document_amount) == (Decimal("1000.00"), None)


def test_a_currency_is_needed() -> None:
    data = _build(_advice([S("DOC", "380", "A"), S("MOA", ("12", "1000.00"))], cux=False))
    with pytest.raises(RemadvError) as caught:
        edifact_remadv.parse(data)
    assert caught.value.segment_tag == "BGM" and "no currency" in caught.value.reason
    assert edifact_remadv.parse(data, default_currency="SEK").payments[0].currency == "SEK"
    body = _advice([S("DOC", "380", "A"), S("MOA", ("12", "1000.00"))], total=None, cux=False)
    named = _build([*body, S("MOA", ("12", "1000.00", "DKK"))])
    assert edifact_remadv.parse(named).payments[0].currency == "DKK"


def test_a_date_with_time_labelled_102_is_read_as_its_date() -> None:
    data = _build([S("BGM", "481", "RA-1", "9"), S("DTM", ("209", "202611251430", "102")),
                   S("CUX", ("2", "NOK")), S("UNS", "S"), S("MOA", ("12", "5.00"))])  # fmt: skip
    assert edifact_remadv.parse(data).payments[0].value_date == dt.date(2026, 11, 25)


def test_a_bad_date_is_refused_naming_the_dtm() -> None:
    data = _build([S("BGM", "481", "RA-1", "9"), S("DTM", ("137", "20261341", "102")), S("CUX", ("2", "NOK")),
                   S("UNS", "S"), S("MOA", ("12", "5.00"))])  # fmt: skip
    with pytest.raises(RemadvError) as caught:
        edifact_remadv.parse(data)
    error = caught.value
    assert (error.segment_tag, error.element_index, error.component_index) == ("DTM", 1, 2)


# ----------------------------------------------------------------------------------------------------------
# what real advices do


def test_a_total_only_advice_names_its_documents_without_amounts() -> None:
    """As some payers send it (and the EDI acknowledgement tests do): RFF IV and a heading MOA 9."""
    data = _build([
        S("BGM", "481", "R-1", "9"), S("DTM", ("137", "20261124", "102")), S("RFF", ("IV", "INV-1")),
        S("RFF", ("PQ", "0000104422")), S("MOA", ("9", "100.00")), S("CUX", ("2", "NOK")),
    ])  # fmt: skip
    [payment] = edifact_remadv.parse(data).payments
    assert payment.amount == Decimal("100.00")
    assert payment.lines == (RemittanceLine(invoice_number="INV-1"), RemittanceLine(kid="0000104422"))


def test_documents_without_a_total_make_the_amount_with_a_note() -> None:
    data = _build(_advice([S("DOC", "380", "A"), S("MOA", ("12", "700.00"))],
                          [S("DOC", "381", "B"), S("MOA", ("12", "200.00"))], total=None))  # fmt: skip
    document = edifact_remadv.parse(data)
    assert document.payments[0].amount == Decimal("500.00")
    assert "no total MOA" in document.notes[0]


def test_a_negative_total_is_money_back_to_the_payer() -> None:
    data = _build(_advice([S("DOC", "381", "CN-1"), S("MOA", ("12", "300.00"))], total="-300.00"))
    [payment] = edifact_remadv.parse(data).payments
    assert (payment.amount, payment.direction) == (Decimal("300.00"), "debit")
    assert edifact_remadv.parse(data).credit_total == 0


def test_a_negative_amount_on_an_invoice_is_a_credit_line() -> None:
    data = _build(_advice([S("DOC", "380", "A"), S("MOA", ("12", "1200.00"))],
                          [S("DOC", "380", "B"), S("MOA", ("12", "-200.00"))]))  # fmt: skip
    lines = edifact_remadv.parse(data).payments[0].lines
    assert [(line.document_kind, line.amount) for line in lines] == [
        ("invoice", Decimal("1200.00")), ("credit_note", Decimal("200.00"))]  # fmt: skip


def test_line_items_and_document_codes() -> None:
    """DLI groups are a document's detail: their MOA and AJT do not count; unknown codes are 'other'."""
    data = _build(_advice(
        [S("DOC", "383", "DN-1"), S("MOA", ("12", "600.00")), S("DLI", "1"), S("MOA", ("12", "9999.00")),
         S("AJT", "3"), S("MOA", ("5", "50.00"))],
        [S("DOC", "999", "X-1"), S("MOA", ("12", "400.00")), S("AJT", "ZZZ"), S("MOA", ("5", "-12.00")),
         S("FTX", "AAO", "", "", "Pallet fee")],
    ))  # fmt: skip
    debit, other = edifact_remadv.parse(data).payments[0].lines
    assert (debit.document_kind, debit.amount, debit.adjustment) == ("debit_note", Decimal("600.00"), None)
    assert (other.document_kind, other.adjustment, other.adjustment_reason) == (
        "other", Decimal("12.00"), "Pallet fee")  # fmt: skip


# ----------------------------------------------------------------------------------------------------------
# rendering


def _document(**changes: object) -> RemittanceDocument:
    payment = Payment(
        amount=Decimal("23450.00"), currency="NOK", value_date=dt.date(2026, 11, 24),
        booking_date=dt.date(2026, 11, 23), payer_name="Nordlys Bygg AS", payer_account="NO1215030012345",
        payer_id="7080000000009", payee_account="NO9386011117947", bank_reference="RA-2026-0042",
        end_to_end_id="PO-77", kind="remadv",
        free_text=("Betaling for oktober: " + " ".join(["faktura"] * 12),),
        lines=(
            RemittanceLine(invoice_number="INV-1001", document_kind="invoice", amount=Decimal("10000.00"),
                           document_amount=Decimal("10000.00"), document_date=dt.date(2026, 10, 1),
                           kid="0000104422"),
            RemittanceLine(invoice_number="INV-1002", document_kind="invoice", amount=Decimal("9800.00"),
                           document_amount=Decimal("10000.00"), adjustment=Decimal("200.00"),
                           adjustment_reason="discount"),
            RemittanceLine(invoice_number="INV-1003", document_kind="invoice", amount=Decimal("5150.00"),
                           document_amount=Decimal("5400.00"), adjustment=Decimal("250.00"),
                           adjustment_reason="short delivery"),
            RemittanceLine(invoice_number="CN-0007", document_kind="credit_note", amount=Decimal("1500.00")),
        ),
    )  # fmt: skip
    values: dict[str, object] = dict(
        format="remadv", payments=[payment], message_id="REM0001",
        created_at=dt.datetime(2026, 11, 20, 9, 30, tzinfo=dt.UTC), account="NO9386011117947",
        account_owner="Fjordkraft Levering AS", currency="NOK", sender="7080000000009",
        receiver="7300009000003", declared_count=1, declared_total=Decimal("23450.00"),
    )  # fmt: skip
    values.update(changes)
    return RemittanceDocument(**values)  # type: ignore[arg-type]


def _without_positions(document: RemittanceDocument) -> RemittanceDocument:
    payments = [dataclasses.replace(p, position="") for p in document.payments]
    return dataclasses.replace(document, payments=payments)


@pytest.mark.parametrize("version", ["D96A", "D01B"])
def test_render_then_parse_gives_the_document_back(version: str) -> None:
    document = _document()
    data = edifact_remadv.render(document, version=version)  # type: ignore[arg-type]
    assert data.startswith(b"UNA:+.? '\nUNB+UNOC:3+7080000000009:14+7300009000003:14+261120:0930+REM0001'")
    assert (b"REMADV:D:96A:UN:EAN002" if version == "D96A" else b"REMADV:D:01B:UN:EAN005") in data
    assert _without_positions(edifact_remadv.parse(data)) == document
    assert edifact_remadv.sniff(data)


def test_render_writes_several_payments_and_a_debit() -> None:
    first = _document().payments[0]
    refund = Payment(amount=Decimal("99.50"), currency="NOK", direction="debit", bank_reference="RA-2",
                     kind="remadv", lines=(RemittanceLine(invoice_number="CN-9", document_kind="credit_note",
                                                          amount=Decimal("99.50")),))  # fmt: skip
    document = _document(payments=[first, refund], declared_count=2, account=None)
    back = edifact_remadv.parse(edifact_remadv.render(document))
    assert _without_positions(back) == document
    positions = [p.position for p in back.payments]
    assert positions == ["message '1' (UNH at segment 3)", "message '2' (UNH at segment 34)"]


def test_render_d01b_carries_a_free_text_adjustment_reason() -> None:
    line = RemittanceLine(
        invoice_number="INV-5", document_kind="invoice", amount=Decimal("90.00"), adjustment=Decimal("10.00"),
        adjustment_reason="Returned pallets: 2 × 5.00",
    )  # fmt: skip
    payment = dataclasses.replace(_document().payments[0], amount=Decimal("90.00"), lines=(line,))
    document = _document(payments=[payment], declared_total=Decimal("90.00"))
    data = edifact_remadv.render(document, version="D01B")
    assert b"AJT+ZZZ'\nMOA+5:10.00'\nFTX+AAO+++Returned pallets?: 2 \xd7 5.00'" in data
    assert _without_positions(edifact_remadv.parse(data)) == document
    with pytest.raises(FormatError) as caught:
        edifact_remadv.render(document, version="D96A")
    assert caught.value.where == "payments[0].lines[0].adjustment_reason"


def test_render_refuses_what_a_remadv_cannot_carry() -> None:
    payment = _document().payments[0]
    texted = RemittanceLine(invoice_number="A", amount=Decimal(1), text="x")
    with_text = dataclasses.replace(payment, lines=(texted,))
    cases = {
        "payments[0].lines[0].text": with_text,
        "payments[0].instructed_amount": dataclasses.replace(payment, instructed_amount=Decimal(5)),
        "payments[0].hint_only": dataclasses.replace(payment, hint_only=True),
    }
    for where, broken in cases.items():
        with pytest.raises(FormatError) as caught:
            edifact_remadv.render(_document(payments=[broken]))
        assert caught.value.where == where
    with pytest.raises(FormatError) as caught:
        edifact_remadv.render(_document(sender=None))
    assert caught.value.where == "sender"


def test_render_checks_its_output_against_the_remadv_grammar() -> None:
    """A KID longer than D.96A's RFF 1154 (an..35) is refused naming the segment as written; D.01B has 70."""
    payment = _document().payments[0]
    long_kid = dataclasses.replace(payment.lines[0], kid="1" * 40)
    document = _document(payments=[dataclasses.replace(payment, lines=(long_kid, *payment.lines[1:]))])
    with pytest.raises(RemadvError) as caught:
        edifact_remadv.render(document)
    error = caught.value
    data = edifact_remadv.render(document, version="D01B")
    rff = next(s for s in edifact.tokenize(data) if s.tag == "RFF" and s.get(1, 1) == "PQ")
    assert (error.segment_position, error.segment_tag, error.element_index, error.component_index) == (
        rff.position, "RFF", 1, 2)  # fmt: skip
    assert error.reason.startswith("REMADV D96A grammar: 1154 reference")
    assert edifact_remadv.parse(data).payments[0].kids == ["1" * 40]


def test_render_refuses_characters_the_syntax_level_cannot_write() -> None:
    with pytest.raises(edifact.EdiSyntaxError):
        edifact_remadv.render(_document(account_owner="Fjordkraft Levering AS"), syntax_id="UNOA")
