"""The canonical model: exact money, EN 16931 arithmetic rules, field-level rejections."""

from __future__ import annotations

import copy
import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from gateway.samples import sample_invoice, sample_invoice_json
from mappings.invoice import canonical_json
from mappings.invoice.canonical_json import InvoiceValidationError, loads_exact
from schemas.canonical import (
    Invoice,
    business_rule_violations,
    currency_minor_units,
    invoice_json_schema,
    receiver_json_schema,
    round_amount,
)


def _errors(data: dict[str, Any]) -> list[dict[str, Any]]:
    with pytest.raises(InvoiceValidationError) as caught:
        canonical_json.parse(json.dumps(data))
    return caught.value.errors


def _rules(data: dict[str, Any]) -> set[str]:
    return {error["rule"] for error in _errors(data) if "rule" in error}


def test_sample_invoice_is_valid_and_adds_up() -> None:
    invoice = sample_invoice(7)
    assert business_rule_violations(invoice) == []
    totals = invoice.totals
    assert totals.payable == totals.tax_exclusive + totals.tax_amount
    assert isinstance(totals.payable, Decimal)


def test_round_trip_through_json_is_lossless() -> None:
    invoice = sample_invoice(3, lines=5)
    again = canonical_json.parse(canonical_json.render(invoice).content)
    assert again == invoice.model_copy(update={"routing": None})


def test_numbers_are_read_exactly_never_through_float() -> None:
    raw = sample_invoice_json(1)
    price = raw["lines"][0]["price"]["net"]
    raw["lines"][0]["price"]["net"] = "PRICE"
    text = json.dumps(raw).replace('"PRICE"', f"{Decimal(price):.6f}")
    invoice = canonical_json.parse(text)
    assert str(invoice.lines[0].price.net) == f"{Decimal(price):.6f}"  # a float would drop the zeros
    assert loads_exact('{"a": 0.1000000000000000055511151231257827}')["a"] == Decimal(
        "0.1000000000000000055511151231257827"
    )


@pytest.mark.parametrize(
    ("mutate", "rule"),
    [
        (lambda d: d["totals"].update(line_extension="1.00"), "BR-CO-10"),
        (lambda d: d["totals"].update(charge_total="0.00"), "BR-CO-12"),
        (lambda d: d["totals"].update(tax_exclusive="1.00"), "BR-CO-13"),
        (lambda d: d["totals"].update(tax_amount="1.00"), "BR-CO-14"),
        (lambda d: d["totals"].update(tax_inclusive="1.00"), "BR-CO-15"),
        (lambda d: d["totals"].update(payable=str(Decimal(d["totals"]["payable"]) + 1)), "BR-CO-16"),
        (lambda d: d["vat_breakdown"][0].update(tax_amount="0.01"), "BR-CO-17"),
        (lambda d: d["lines"][0].update(net_amount="0.01"), "PEPPOL-EN16931-R120"),
        (lambda d: d["vat_breakdown"].pop(), "BR-CO-18"),
    ],
)
def test_wrong_totals_are_rejected_naming_the_rule(mutate: Any, rule: str) -> None:
    data = copy.deepcopy(sample_invoice_json(4))
    mutate(data)
    assert rule in _rules(data)


def test_document_allowance_sum_is_checked() -> None:
    data = copy.deepcopy(sample_invoice_json(5))
    data["allowances_charges"].append(
        {"is_charge": False, "amount": "10.00", "vat_category": "S", "vat_rate": "25", "reason": "Rabatt"}
    )
    rules = _rules(data)
    assert "BR-CO-11" in rules  # allowance total not updated
    assert "BR-S-08" in rules  # taxable amount in S 25% no longer matches


def test_rule_errors_name_their_field() -> None:
    data = copy.deepcopy(sample_invoice_json(2))
    data["totals"]["payable"] = "1.00"
    [error] = [e for e in _errors(data) if e.get("rule") == "BR-CO-16"]
    assert error["field"] == "totals.payable"
    assert "BR-CO-16" in error["reason"]


@pytest.mark.parametrize(
    ("path", "value", "expected_field"),
    [
        (("currency",), "XYZ", "currency"),
        (("issue_date",), "2026-02-30", "issue_date"),
        (("issue_date",), "yesterday", "issue_date"),
        (("lines", 0, "quantity"), "three", "lines.0.quantity"),
        (("lines", 0, "vat_category"), "Q", "lines.0.vat_category"),
        (("seller", "address", "country"), "XX", "seller.address.country"),
        (("totals", "payable"), "12.345", "totals.payable"),
        (("seller", "contact", "email"), "not-an-address", "seller.contact.email"),
    ],
)
def test_bad_fields_are_named(path: tuple[Any, ...], value: Any, expected_field: str) -> None:
    data = copy.deepcopy(sample_invoice_json(1))
    target: Any = data
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    fields = {error["field"] for error in _errors(data)}
    assert expected_field in fields


def test_unknown_fields_and_missing_required_are_rejected() -> None:
    data = copy.deepcopy(sample_invoice_json(1))
    data["surprise"] = 1
    del data["seller"]
    fields = {error["field"] for error in _errors(data)}
    assert {"surprise", "seller"} <= fields


def test_currency_minor_units_follow_iso_4217() -> None:
    assert currency_minor_units("NOK") == 2
    assert currency_minor_units("JPY") == 0
    assert currency_minor_units("KWD") == 3


def test_zero_decimal_currency_refuses_cents() -> None:
    data = copy.deepcopy(sample_invoice_json(1))
    data["currency"] = "JPY"
    # sample amounts end in .00 or .50; a 12.50 transport price gives cents somewhere
    data_with_cents = copy.deepcopy(sample_invoice_json(3))
    data_with_cents["currency"] = "JPY"
    rules = _rules(data_with_cents)
    assert "currency-minor-units" in rules


def test_vat_category_rates() -> None:
    data = copy.deepcopy(sample_invoice_json(1))
    line = next(item for item in data["lines"] if item["vat_category"] == "S")
    line["vat_rate"] = "0"
    assert "BR-S-05" in _rules(data)


def test_rounding_is_half_up_to_two_decimals() -> None:
    assert round_amount(Decimal("2.345")) == Decimal("2.35")
    assert round_amount(Decimal("-2.345")) == Decimal("-2.35")
    assert round_amount(Decimal("2.344999")) == Decimal("2.34")


def test_credit_note_type_code() -> None:
    assert sample_invoice(1, credit_note=True).effective_type_code == "381"
    assert sample_invoice(1).effective_type_code == "380"


def test_published_json_schema_is_current() -> None:
    directory = Path(__file__).resolve().parents[2] / "schemas"
    published = json.loads((directory / "invoice.schema.json").read_text())
    assert published == json.loads(json.dumps(invoice_json_schema()))
    receiver = json.loads((directory / "receiver.schema.json").read_text())
    assert receiver == json.loads(json.dumps(receiver_json_schema()))


def test_attachment_needs_valid_base64_and_safe_name() -> None:
    data = copy.deepcopy(sample_invoice_json(1))
    data["attachments"] = [
        {
            "id": "POD-1",
            "filename": "../../etc/passwd",
            "mime_type": "application/pdf",
            "content_base64": "JVBERi0=",
        }
    ]
    assert "attachments.0.filename" in {e["field"] for e in _errors(data)}
    data["attachments"] = [
        {
            "id": "POD-1",
            "filename": "pod.pdf",
            "mime_type": "application/pdf",
            "content_base64": "not base64!",
        }
    ]
    assert any(e["field"].startswith("attachments.0") for e in _errors(data))
    data["attachments"] = [
        {"id": "POD-1", "filename": "pod.pdf", "mime_type": "application/pdf", "content_base64": "JVBERi0="}
    ]
    assert Invoice.model_validate(data).attachments[0].filename == "pod.pdf"
