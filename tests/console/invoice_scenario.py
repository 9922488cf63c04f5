"""A tenant with a realistic invoice book for the invoice pages: pushed through the real API, delivered by a
real worker, resent by an operator, paid in part from a bank file, with a proof of delivery.

- INV-000001 (Midnattsol Drift AS, receiver profile C-MAIL): e-mail first, refused for its size (a deviation),
  then the folder channel as fallback with the PDF, resent through the API, a POD linked, half paid by KID.
- INV-000002 … INV-000009: the default channel (canonical JSON in a folder), several buyers and issue dates.
- INV-000003 is also a credit note's number (a number two documents carry).
- Tenant `globex` has its own INV-000001, and a document of its own.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.samples import sample_invoice_json
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver
from gateway.settings import Settings
from schemas.canonical import ReceiverProfile
from tests.console.helpers import api_auth, deliver
from tests.remittance_files import Tx, camt054
from tests.services.test_pods import make_pdf


@dataclass(frozen=True)
class Book:
    """What the scenario made: ids and numbers the tests look for."""

    auth: dict[str, str]
    busy_id: str  # INV-000001 with two deliveries, a resend, a POD and a part payment
    busy_number: str
    ids: dict[str, str]  # number → id of acme's invoices (not the credit note)
    credit_note_id: str
    other_tenant_invoice_id: str
    other_tenant_document_id: str


def _push(client: TestClient, auth: dict[str, str], n: int, **fields: object) -> dict[str, str]:
    answer = client.post("/invoices", json=sample_invoice_json(n, **fields), headers=auth)  # type: ignore[arg-type]
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def invoice_book(client: TestClient, engine: Engine, settings: Settings) -> Book:
    """Tenant `acme`'s invoices (see the module's docstring), delivered; tenant `globex` beside it."""
    settings.channels = {
        # a real SMTP configuration that refuses anything bigger than 100 bytes: the PDF falls back
        "email": {
            "host": "127.0.0.1",
            "port": 9,
            "security": "none",
            "from_address": "faktura@nordlys.example",
            "max_document_bytes": 100,
        }
    }
    auth = api_auth(engine, "acme")
    with session_scope(engine) as session:
        ensure_tenant(session, "globex")
        put_receiver(
            session,
            "acme",
            ReceiverProfile(
                receiver_id="C-MAIL",
                name="Midnattsol Drift AS, accounts payable",
                preferred_channel="email",
                fallback_channels=["folder"],
                addresses={"email": "ap@midnattsol.example"},
                formats={"folder": "pdf"},
            ),
        )
    busy = _push(client, auth, 1, receiver_id="C-MAIL", issue_date=dt.date(2026, 11, 2))
    ids = {"INV-000001": busy["invoice_id"]}
    for n in range(2, 10):
        pushed = _push(client, auth, n, issue_date=dt.date(2026, 10, 1) + dt.timedelta(days=4 * n))
        ids[pushed["number"]] = pushed["invoice_id"]
    credit = _push(client, auth, 3, credit_note=True, number_prefix="INV")
    deliver(engine, settings)
    deliver(engine, settings)  # the fallback queued by the first pass

    resent = client.post(
        f"/invoices/{busy['invoice_id']}/resend",
        json={"reason": "the buyer's accounts payable asked for a copy"},
        headers=auth,
    )
    assert resent.status_code == 202, resent.text
    deliver(engine, settings)

    pod = client.post(
        "/pods",
        params={"invoice_number": "INV-000001", "signer_name": "Ola Hansen", "place": "Bergen",
                "filename": "delivery-note-4501.pdf"},
        content=make_pdf("Received in good order, Ola Hansen"),
        headers={**auth, "Content-Type": "application/pdf"},
    )  # fmt: skip
    assert pod.status_code == 201, pod.text

    view = client.get(f"/invoices/{busy['invoice_id']}", headers=auth).json()
    half = (Decimal(view["payable_amount"]) / 2).quantize(Decimal("0.01"))
    paid = client.post(
        "/remittances",
        params={"filename": "camt054-20261120.xml"},
        content=camt054([Tx(half, kid=view["payment_reference"], payer="MIDNATTSOL DRIFT AS")]),
        headers={**auth, "Content-Type": "application/xml"},
    )
    assert paid.status_code == 201, paid.text

    globex = api_auth(engine, "globex")
    theirs = _push(client, globex, 1)
    deliver(engine, settings)
    their_view = client.get(f"/invoices/{theirs['invoice_id']}", headers=globex).json()
    their_document = next(
        event["details"]["document_id"]
        for delivery in their_view["deliveries"]
        for event in delivery["events"]
        if event["details"] and event["details"].get("document_id")
    )
    return Book(
        auth=auth,
        busy_id=busy["invoice_id"],
        busy_number="INV-000001",
        ids=ids,
        credit_note_id=credit["invoice_id"],
        other_tenant_invoice_id=theirs["invoice_id"],
        other_tenant_document_id=their_document,
    )
