"""Invoices with deliveries and proofs of delivery for the action pages' tests (HTTP and browser), made
through the real API and a real worker, and a snapshot of everything an action could change."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select

from db.engine import session_scope
from db.models import Delivery, DeliveryEvent, InvoiceRecord, PodLink, ProofOfDelivery
from gateway.settings import Settings
from tests.console.helpers import api_auth, deliver, push_invoices
from tests.services.test_resend_with_pod import pod_pdf


@dataclass(frozen=True)
class InvoiceWithPod:
    """A delivered invoice (on the folder channel) with a signed POD linked to it, and two more invoices."""

    invoice_id: str
    number: str
    delivery_id: str
    pod_id: str
    pod_filename: str
    others: list[dict[str, Any]]


def invoice_with_pod(
    web: TestClient, engine: Engine, settings: Settings, tenant: str = "acme"
) -> InvoiceWithPod:
    auth = api_auth(engine, tenant)
    answers = push_invoices(web, auth, 3)
    deliver(engine, settings)
    first = answers[0]
    filename = f"POD_{first['number']}_signed.pdf"
    received = web.post(
        "/pods",
        content=pod_pdf(1),
        params={"invoice_number": first["number"], "filename": filename, "signer_name": "Kari Nordmann"},
        headers={**auth, "Content-Type": "application/pdf"},
    )
    assert received.status_code == 201, received.text
    pod = received.json()["pods"][0]
    assert pod["linked"], pod
    return InvoiceWithPod(
        invoice_id=first["invoice_id"],
        number=first["number"],
        delivery_id=first["delivery_ids"][0],
        pod_id=pod["id"],
        pod_filename=filename,
        others=answers[1:],
    )


def database_state(engine: Engine) -> dict[str, Any]:
    """Everything an invoice action could change: deliveries, their events, invoices' payloads, POD links."""
    with session_scope(engine) as session:
        deliveries = session.execute(
            select(Delivery.id, Delivery.status, Delivery.attempt, Delivery.address, Delivery.channel)
        ).all()
        return {
            "deliveries": sorted(tuple(row) for row in deliveries),
            "events": session.execute(select(func.count()).select_from(DeliveryEvent)).scalar_one(),
            "payloads": sorted(session.execute(select(InvoiceRecord.id, InvoiceRecord.payload)).all()),
            "links": sorted(session.execute(select(PodLink.pod_id, PodLink.invoice_id)).all()),
            "pods": session.execute(select(func.count()).select_from(ProofOfDelivery)).scalar_one(),
        }


def events_of(engine: Engine, delivery_id: str) -> list[DeliveryEvent]:
    with session_scope(engine) as session:
        rows = list(
            session.execute(
                select(DeliveryEvent)
                .where(DeliveryEvent.delivery_id == delivery_id)
                .order_by(DeliveryEvent.id)
            ).scalars()
        )
        session.expunge_all()
        return rows
