"""Realistic sample invoices for the demo, the tests and the benchmarks (Norwegian seller, EHF-ready).

The totals are computed with the same EN 16931 arithmetic the intake checks, so every sample is valid.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from stdnum import luhn

from schemas.canonical import (
    AllowanceCharge,
    Invoice,
    InvoiceLine,
    compute_totals,
    compute_vat_breakdown,
    line_net_amount,
)

SELLER: dict[str, Any] = {
    "name": "Nordlys Verktøy AS",
    "legal_registration": {"value": "987654325", "scheme": "0192"},
    "vat_id": "NO987654325MVA",
    "legal_info": "Foretaksregisteret",
    "endpoint": {"value": "987654325", "scheme": "0192"},
    "address": {"lines": ["Storgata 1"], "city": "Oslo", "postal_code": "0155", "country": "NO"},
    "contact": {"name": "Kari Nordmann", "phone": "+47 22 00 00 00", "email": "faktura@nordlys.example"},
}

BUYERS: list[dict[str, Any]] = [
    {
        "name": "Fjordbyen Bygg AS",
        "legal_registration": {"value": "910667831", "scheme": "0192"},
        "endpoint": {"value": "910667831", "scheme": "0192"},
        "address": {"lines": ["Bryggen 5"], "city": "Bergen", "postal_code": "5003", "country": "NO"},
        "contact": {"email": "invoice@fjordbyen.example"},
    },
    {
        "name": "Midnattsol Drift AS",
        "legal_registration": {"value": "923609016", "scheme": "0192"},
        "endpoint": {"value": "923609016", "scheme": "0192"},
        "address": {"lines": ["Sjøgata 12"], "city": "Tromsø", "postal_code": "9008", "country": "NO"},
    },
    {
        "name": "Vestkyst Handel AS",
        "legal_registration": {"value": "974760673", "scheme": "0192"},
        "endpoint": {"value": "974760673", "scheme": "0192"},
        "address": {"lines": ["Kongens gate 3"], "city": "Trondheim", "postal_code": "7011", "country": "NO"},
    },
]

ITEMS: list[tuple[str, str, Decimal, str, Decimal]] = [
    # name, unit (UN/ECE Rec 20), net price, VAT category, rate
    ("Skrutrekker sett", "EA", Decimal("349.00"), "S", Decimal("25")),
    ("Arbeidstimer montering", "HUR", Decimal("950.00"), "S", Decimal("25")),
    ("Fagbok: Trearbeid", "EA", Decimal("420.00"), "Z", Decimal("0")),
    ("Transport", "KMT", Decimal("12.50"), "S", Decimal("25")),
    ("Matservering kurs", "EA", Decimal("180.00"), "S", Decimal("15")),
]


def kid_for(number: int) -> str:
    """A MOD10 (Luhn) KID: the invoice number padded, plus its check digit."""
    base = f"{number:09d}"
    return base + luhn.calc_check_digit(base)


def sample_invoice(
    n: int = 1,
    *,
    lines: int = 3,
    issue_date: dt.date = dt.date(2026, 11, 2),
    credit_note: bool = False,
    number_prefix: str | None = None,
    receiver_id: str | None = None,
) -> Invoice:
    """Invoice number `n`: a few lines across VAT rates, a freight charge, KID and bank account."""
    line_models: list[InvoiceLine] = []
    for index in range(lines):
        name, unit, price, category, rate = ITEMS[(n + index) % len(ITEMS)]
        quantity = Decimal((n + index) % 7 + 1)
        draft: dict[str, Any] = {
            "id": str(index + 1),
            "quantity": quantity,
            "unit_code": unit,
            "net_amount": Decimal(0),
            "price": {"net": price},
            "vat_category": category,
            "vat_rate": rate,
            "item": {"name": name, "seller_id": f"SKU-{(n + index) % len(ITEMS) + 100}"},
        }
        line = InvoiceLine.model_validate(draft)
        line.net_amount = line_net_amount(line)
        line_models.append(line)
    buyer = BUYERS[n % len(BUYERS)]
    data: dict[str, Any] = {
        "document_type": "credit_note" if credit_note else "invoice",
        "number": f"{number_prefix or ('CN' if credit_note else 'INV')}-{n:06d}",
        "issue_date": issue_date,
        "due_date": None if credit_note else issue_date + dt.timedelta(days=14),
        "currency": "NOK",
        "buyer_reference": f"REF-{n}",
        "order_reference": f"PO-{4500 + n}",
        "seller": SELLER,
        "buyer": buyer,
        "payment_means": []
        if credit_note
        else [{"code": "30", "payment_id": kid_for(n), "account": {"id": "86011117947"}}],
        "payment_terms": "14 dager netto",
        "allowances_charges": [
            {
                "is_charge": True,
                "amount": Decimal("150.00"),
                "vat_category": "S",
                "vat_rate": Decimal("25"),
                "reason": "Frakt",
                "reason_code": "FC",
            }
        ],
        "lines": [line.model_dump() for line in line_models],
        "routing": {"receiver_id": receiver_id} if receiver_id else None,
    }
    if credit_note:
        data["preceding_invoices"] = [{"id": f"INV-{n:06d}", "issue_date": issue_date}]
    charges = [AllowanceCharge.model_validate(item) for item in data["allowances_charges"]]
    breakdown = compute_vat_breakdown(line_models, charges)
    data["vat_breakdown"] = [vb.model_dump() for vb in breakdown]
    data["totals"] = compute_totals(line_models, charges, breakdown).model_dump()
    return Invoice.model_validate(data)


def sample_invoice_json(n: int = 1, **kwargs: Any) -> dict[str, Any]:
    """`sample_invoice` as the JSON an ERP would post (decimals as strings)."""
    return sample_invoice(n, **kwargs).model_dump(mode="json", exclude_none=True)
