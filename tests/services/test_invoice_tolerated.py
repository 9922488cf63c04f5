"""The invoice page's service words each tolerated difference (`invoice_dossier.tolerated_differences`)
and names the specification (`profile_of`): which amount, stated and exact, and the official tolerance as
an amount — or, for a PEPPOL rule the invoice's own specification does not contain, that it is beyond it."""

from __future__ import annotations

from decimal import Decimal

from gateway.samples import sample_invoice
from gateway.services.outbound.invoice_dossier import profile_of, tolerated_differences
from schemas.canonical import Invoice, InvoiceLine, compute_totals, compute_vat_breakdown
from schemas.invoice_profiles import SELF_BILLING_CUSTOMIZATION, XRECHNUNG_CUSTOMIZATION
from tests.mappings.test_ubl_mapping import maximal_invoice


def test_a_line_net_a_cent_off_is_line_1_within_0_02() -> None:
    """3 × 16.1133 = 48.3399 stated as 48.33 (PEPPOL-EN16931-R120 allows 0.02): line 1, not a field path."""
    invoice = sample_invoice(5)
    price = invoice.lines[0].price.model_copy(update={"net": Decimal("16.1133")})
    line = invoice.lines[0].model_copy(
        update={"quantity": Decimal(3), "price": price, "net_amount": Decimal("48.33")}
    )
    lines: list[InvoiceLine] = [line, *invoice.lines[1:]]
    breakdown = compute_vat_breakdown(lines, invoice.allowances_charges)
    totals = compute_totals(lines, invoice.allowances_charges, breakdown)
    changed = Invoice.model_validate(
        invoice.model_copy(update={"lines": lines, "vat_breakdown": breakdown, "totals": totals}).model_dump()
    )
    [difference] = tolerated_differences(changed)
    assert difference["rule"] == "PEPPOL-EN16931-R120"
    assert difference["what"] == f"Line {line.id} net amount"
    assert (difference["stated"], difference["computed"]) == (Decimal("48.33"), Decimal("48.34"))
    assert difference["tolerance"] == Decimal("0.02")
    assert difference["outside_specification"] is None


def test_a_peppol_rule_outside_xrechnung_is_said_so() -> None:
    data = maximal_invoice().model_dump()
    data["customization_id"] = XRECHNUNG_CUSTOMIZATION
    data["type_code"] = None
    data["allowances_charges"][0]["base_amount"] = Decimal("205.00")  # 10 % is 20.50, stated 20.00
    invoice = Invoice.model_validate(data)
    [beyond] = [d for d in tolerated_differences(invoice) if d["outside_specification"]]
    allowance = invoice.allowances_charges[0]
    kind = "charge" if allowance.is_charge else "allowance"
    assert beyond["what"] == f"Document {kind} ({allowance.reason})"
    assert (beyond["rule"], beyond["outside_specification"]) == ("PEPPOL-EN16931-R040", "XRechnung 3.0")
    assert beyond["tolerance"] == Decimal("0.02")
    assert profile_of(invoice) == {
        "name": "XRechnung 3.0",
        "customization_id": XRECHNUNG_CUSTOMIZATION,
        "process_id": invoice.profile_id,
        "stated": True,
    }


def test_profiles_by_name() -> None:
    assert profile_of(sample_invoice(1))["name"] == "PEPPOL BIS Billing 3.0"
    assert profile_of(sample_invoice(1))["stated"] is False
    self_billed = sample_invoice(1).model_copy(update={"customization_id": SELF_BILLING_CUSTOMIZATION})
    assert profile_of(self_billed)["name"] == "PEPPOL BIS Self-Billing 3.0"
    assert tolerated_differences(sample_invoice(1)) == []
