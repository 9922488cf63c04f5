"""The card payment advice as remittance intake reads it (format "card-advice"): one card payment whose
lines name the invoices, the provider's payment id as its reference, the day it was paid in Oslo; what is
wrong with an advice refused naming the field; sniffed and inspected through the registry like every
remittance format."""

from __future__ import annotations

import datetime as dt
import json
import time
from decimal import Decimal
from pathlib import Path

import pytest
from typer.testing import CliRunner

import mappings
from gateway.cli import app
from gateway.services.payments.remittances import payment_fingerprint, read_remittance
from mappings.base import FormatError
from mappings.remittance import card_advice
from tests.remittance_files import Tx, camt054
from tests.remittance_files import card_advice as advice_bytes

TWO = [("INV-1001", "10010000016", Decimal("1250.00")), ("INV-1002", None, Decimal("99.50"))]


def test_an_advice_is_one_card_payment_whose_lines_name_the_invoices() -> None:
    data = advice_bytes(TWO, payment="pi_3QxY", checkout="c" * 32, event="evt_9")
    assert mappings.detect_format(data) == "card-advice"
    name, document = read_remittance(data)
    assert name == "card-advice" and document.format == "card-advice"
    (payment,) = document.payments
    assert (payment.kind, payment.direction, payment.amount, payment.currency) == (
        "card", "credit", Decimal("1349.50"), "NOK",
    )  # fmt: skip
    assert (payment.bank_reference, payment.end_to_end_id, payment.payer_name) == (
        "pi_3QxY", "c" * 32, "Kari Nordmann",
    )  # fmt: skip
    assert payment.booking_date == payment.value_date == dt.date(2026, 11, 20)
    assert [(line.invoice_number, line.kid, line.amount, line.document_kind) for line in payment.lines] == [
        ("INV-1001", "10010000016", Decimal("1250.00"), "invoice"),
        ("INV-1002", None, Decimal("99.50"), "invoice"),
    ]
    assert any("Stripe" in text for text in payment.free_text)
    assert document.message_id == "evt_9" and document.declared_total == Decimal("1349.50")


def test_the_day_is_the_sellers_day_in_oslo() -> None:
    late = dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.UTC)  # 00:30 on the 21st in Oslo
    (payment,) = card_advice.parse(advice_bytes(TWO, paid_at=late)).payments
    assert payment.booking_date == dt.date(2026, 11, 21)
    vipps = card_advice.parse(advice_bytes(TWO, provider="vipps", payment="93f2a1b0"))
    assert any("Vipps" in text for text in vipps.payments[0].free_text)


def test_the_same_provider_payment_in_two_advices_has_one_fingerprint() -> None:
    first = card_advice.parse(advice_bytes(TWO, event="evt_1")).payments[0]
    again = card_advice.parse(
        advice_bytes(TWO, event="evt_2", paid_at=dt.datetime(2026, 11, 21, 8, 0, tzinfo=dt.UTC))
    ).payments[0]
    other = card_advice.parse(advice_bytes(TWO, payment="pi_other")).payments[0]
    assert payment_fingerprint(first) == payment_fingerprint(again) != payment_fingerprint(other)
    # a bank entry that happens to carry the same reference is another payment
    bank = mappings.parse("camt", camt054([Tx(Decimal("1349.50"), reference="pi_3QabcDEF")])).payments[0]
    assert payment_fingerprint(bank) != payment_fingerprint(first)


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda d: d.pop("provider_payment"), "provider_payment"),
        (lambda d: d.update(provider="klarna"), "provider"),
        (lambda d: d.update(currency="nok"), "currency"),
        (lambda d: d.update(amount="-5.00"), "amount"),
        (lambda d: d.update(invoices=[]), "invoices"),
        (lambda d: d["invoices"][1].update(amount="abc"), "invoices.1.amount"),
        (lambda d: d.update(paid_at="yesterday"), "paid_at"),
        (lambda d: d.update(surprise=1), "surprise"),
        (lambda d: d.update(amount="2000.00"), "invoices"),  # the lines do not add up to the amount
    ],
)
def test_a_bad_advice_is_refused_naming_the_field(change: object, field: str) -> None:
    data = json.loads(advice_bytes(TWO))
    change(data)  # type: ignore[operator]
    with pytest.raises(FormatError) as refused:
        card_advice.parse(json.dumps(data).encode())
    assert refused.value.where == field


def test_broken_json_and_oversize_are_refused_at_once() -> None:
    with pytest.raises(FormatError) as broken:
        card_advice.parse(advice_bytes(TWO)[:-3])
    assert broken.value.where == "file"
    huge = advice_bytes(TWO)[:-1] + b', "padding": "' + b"x" * 4_000_000 + b'"}'
    assert card_advice.sniff(huge)
    started = time.perf_counter()
    with pytest.raises(FormatError, match="at most"):
        card_advice.parse(huge)
    assert time.perf_counter() - started < 0.05


def test_sniffing_takes_only_an_advice() -> None:
    assert not card_advice.sniff(b'{"type": "gateway.something-else"}')
    assert not card_advice.sniff(b'["gateway.card-payment-advice"]')
    assert not card_advice.sniff(b"")
    assert card_advice.sniff(b'\xef\xbb\xbf  {"version": 1, "type" : "gateway.card-payment-advice"}')


def test_gateway_inspect_json_shows_the_payment_and_the_provider(tmp_path: Path) -> None:
    path = tmp_path / "advice.json"
    path.write_bytes(advice_bytes(TWO, payment="pi_42"))
    result = CliRunner().invoke(app, ["inspect", str(path), "--json"])
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    assert shown["format"] == "card-advice" and shown["valid"] is True
    assert shown["provider"] == "stripe" and shown["provider_payment"] == "pi_42"
    assert shown["payments"][0]["kind"] == "card" and shown["credit_total"] == "1349.50"
    bad = json.loads(path.read_bytes())
    bad["currency"] = "kroner"
    shown = card_advice.inspect(json.dumps(bad).encode())
    assert shown["valid"] is False and shown["errors"][0]["field"] == "currency"
