"""A consumer's invoice for the invoice page, made the way production makes it: the tenant's consumer
waterfall (eFaktura, then the folder), a receiver profile that is a private person with a national identity
number, the eFaktura recipient registry filled from a recipient-search file, an AvtaleGiro mandate read
from Nets' agreements file, and the invoice pushed through the real API and delivered by a real worker.

The invoice is EHF forward billing (grid rent billed through the power supplier, as DFØ's example) and its
VAT is 0.05 short of taxable × rate — within BR-CO-17's tolerance, so it is accepted with a warning. The
registry says the consumer has blocked eFaktura from this issuer, so step 1 fails and step 2 (the folder)
delivers it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.samples import kid_for, sample_invoice_json
from gateway.services.outbound.avtalegiro import import_mandates
from gateway.services.outbound.efaktura_recipients import import_recipients
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver, put_tenant_settings
from gateway.settings import Settings
from schemas.canonical import ReceiverProfile
from schemas.invoice_profiles import EHF_FORWARD_BILLING_CUSTOMIZATION, EHF_FORWARD_BILLING_PROCESS
from schemas.tenant import TenantSettings
from tests.channels.test_avtalegiro_outbox import agreements_file
from tests.console.helpers import api_auth, deliver

NATIONAL_ID = "01019000083"  # valid, synthetic
MASKED = "*******0083"
PROVIDER = "0192:910000009"  # the eFaktura provider's participant id
AGREEMENTS_FILE = "avtalegiro-agreements-20261201.txt"
NUMBER = 41
VAT_SHORT_BY = Decimal("0.05")


@dataclass(frozen=True)
class ConsumerInvoice:
    auth: dict[str, str]
    invoice_id: str
    number: str
    kid: str
    vat_stated: Decimal
    vat_computed: Decimal


def consumer_invoice_json(n: int = NUMBER, **changes: Any) -> dict[str, Any]:
    """Sample invoice `n` to the consumer profile P-1, as EHF forward billing, its 25 % VAT 0.05 short."""
    data = sample_invoice_json(n, receiver_id="P-1", issue_date=dt.date(2026, 11, 2))
    data["customization_id"] = EHF_FORWARD_BILLING_CUSTOMIZATION
    data["profile_id"] = EHF_FORWARD_BILLING_PROCESS
    data["buyer"] = {
        "name": "Ingrid Fjeld",
        "address": {"lines": ["Fjellveien 7"], "city": "Bergen", "postal_code": "5019", "country": "NO"},
    }
    [standard] = [vb for vb in data["vat_breakdown"] if Decimal(vb["rate"]) == 25]
    standard["tax_amount"] = str(Decimal(standard["tax_amount"]) - VAT_SHORT_BY)
    totals = data["totals"]
    for name in ("tax_amount", "tax_inclusive", "payable"):
        totals[name] = str(Decimal(totals[name]) - VAT_SHORT_BY)
    data.update(changes)
    return data


def consumer_book(client: TestClient, engine: Engine, settings: Settings) -> ConsumerInvoice:
    """Tenant `acme` with the consumer's invoice delivered (see the module's docstring)."""
    settings.channels = {**(settings.channels or {}), "efaktura": {"provider_participant_id": PROVIDER}}
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        put_tenant_settings(
            session, "acme", TenantSettings(consumer_waterfall=["efaktura", "folder"]), actor="test"
        )
        put_receiver(
            session, "acme", ReceiverProfile(receiver_id="P-1", national_id=NATIONAL_ID, segment="private")
        )
    import_recipients(
        engine,
        "acme",
        f"national_id;name;street;postal_code;efaktura_id;status\n{NATIONAL_ID};;;;;blocked\n".encode(),
    )
    kid = kid_for(NUMBER)
    with session_scope(engine) as session:
        import_mandates(session, "acme", agreements_file((kid, 1, True)), source_file=AGREEMENTS_FILE)
    auth = api_auth(engine, "acme")
    data = consumer_invoice_json()
    answer = client.post("/invoices", json=data, headers=auth)
    assert answer.status_code == 201, answer.text
    deliver(engine, settings)  # step 1: eFaktura, refused by the registry (blocked)
    deliver(engine, settings)  # step 2: the folder
    [standard] = [vb for vb in data["vat_breakdown"] if Decimal(vb["rate"]) == 25]
    stated = Decimal(standard["tax_amount"])
    return ConsumerInvoice(
        auth=auth,
        invoice_id=answer.json()["invoice_id"],
        number=answer.json()["number"],
        kid=kid,
        vat_stated=stated,
        vat_computed=stated + VAT_SHORT_BY,
    )
