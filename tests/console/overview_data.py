"""A tenant with a fortnight of traffic for the overview's tests and screenshots.

Invoices are pushed through the real API and delivered by a real worker; a test cannot wait two weeks, so
each delivery is then moved to its planned day, channel and status (`PLAN`), and deviations are opened with
planned ages. Payments come in as a camt.054 through `POST /remittances` and are matched by the real
engine; one automatic application is reversed through the API (a false automatic match). Another tenant
gets traffic of its own that the overview must never count.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlmodel import col

from db.engine import session_scope
from db.models import Delivery, Deviation, InvoiceRecord
from gateway.settings import Settings
from tests.console.helpers import api_auth, deliver, push_invoices
from tests.remittance_files import Tx, camt054

#: (channel, status, days ago) of each invoice's delivery, in push order.
PLAN: list[tuple[str, str, int]] = [
    # today
    ("peppol", "delivered", 0), ("peppol", "delivered", 0), ("peppol", "delivered", 0),
    ("email", "delivered", 0), ("email", "delivered", 0),
    ("print", "batched", 0), ("email", "queued", 0),
    # the fortnight
    ("peppol", "delivered", 1), ("peppol", "delivered", 1), ("email", "delivered", 1),
    ("peppol", "delivered", 2), ("print", "sent", 2), ("print", "sent", 2),
    ("peppol", "deviation", 3), ("print", "failed", 3), ("email", "delivered", 3),
    ("email", "deviation", 4), ("peppol", "delivered", 4),
    ("peppol", "cancelled", 5), ("email", "deviation", 5), ("print", "delivered", 5),
    ("peppol", "deviation", 7), ("peppol", "delivered", 8), ("peppol", "delivered", 8),
    ("email", "delivered", 10), ("print", "delivered", 12), ("peppol", "delivered", 13),
    # older than the window: only an unfinished one counts
    ("peppol", "delivered", 20), ("email", "delivered", 30), ("peppol", "held", 20),
]  # fmt: skip

#: (index in PLAN of a delivery in deviation, cause, hours open)
DEVIATIONS: list[tuple[int, str, float]] = [
    (13, "rejected", 2),
    (16, "rejected", 50),
    (19, "bounced", 5 * 24),
    (21, "validation-failed", 10 * 24),
]


def day_start(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), tzinfo=dt.UTC)


def moment(now: dt.datetime, days_ago: int) -> dt.datetime:
    """A time on the UTC day `days_ago` before `now`'s, never after `now` (halfway into the day so far)."""
    today = day_start(now.date())
    return today - dt.timedelta(days=days_ago) + (now - today) / 2


def _place(
    engine: Engine, invoice_ids: list[str], plan: list[tuple[str, str, int]], now: dt.datetime
) -> None:
    with session_scope(engine) as session:
        for invoice_id, (channel, status, days_ago) in zip(invoice_ids, plan, strict=True):
            at = moment(now, days_ago)
            session.execute(
                update(Delivery)
                .where(col(Delivery.invoice_id) == invoice_id)
                .values(channel=channel, status=status, created_at=at, updated_at=at)
            )
            session.execute(
                update(InvoiceRecord).where(col(InvoiceRecord.id) == invoice_id).values(created_at=at)
            )


def _open_deviations(
    engine: Engine, tenant: str, invoice_ids: list[str], rows: list[tuple[int, str, float]], now: dt.datetime
) -> None:
    with session_scope(engine) as session:
        for index, cause, hours in rows:
            delivery = session.execute(
                select(Delivery).where(col(Delivery.invoice_id) == invoice_ids[index])
            ).scalar_one()
            session.add(
                Deviation(
                    tenant_id=tenant,
                    delivery_id=delivery.id,
                    invoice_id=delivery.invoice_id,
                    attempt=delivery.attempt,
                    channel=delivery.channel,
                    cause=cause,
                    detail=f"{cause} (planned for the overview)",
                    opened_at=now - dt.timedelta(hours=hours),
                )
            )


def _payments(client: TestClient, auth: dict[str, str], invoices: list[dict[str, Any]]) -> None:
    """Three KID payments the engine applies, one of them reversed by a person, and an unknown payer."""
    views = [client.get(f"/invoices/{i['invoice_id']}", headers=auth).json() for i in invoices[:3]]
    txs = [
        Tx(Decimal(v["payable_amount"]), kid=v["payment_reference"], reference=f"R{n}")
        for n, v in enumerate(views)
    ]
    txs.append(Tx(Decimal("4321.00"), payer="UKJENT BETALER AS", account="12345678903", reference="R9"))
    answer = client.post(
        "/remittances",
        params={"filename": "bank.xml", "wait": "true"},  # the decisions in the answer
        content=camt054(txs, message_id="OVERVIEW-1"),
        headers={**auth, "Content-Type": "application/xml"},
    )
    assert answer.status_code == 201, answer.text
    statuses = [p["status"] for p in answer.json()["payments"]]
    assert statuses == ["applied", "applied", "applied", "exception"], statuses
    reversed_ = client.post(
        f"/payments/{answer.json()['payments'][2]['id']}/reverse",
        json={"reason": "wrong customer"},
        headers=auth,
    )
    assert reversed_.status_code == 200, reversed_.text


def build(client: TestClient, engine: Engine, settings: Settings, now: dt.datetime) -> None:
    """Tenant acme as `PLAN`, `DEVIATIONS` and `_payments` say; tenant globex with traffic of its own."""
    auth = api_auth(engine, "acme")
    invoices = push_invoices(client, auth, len(PLAN))
    deliver(engine, settings)
    ids = [answer["invoice_id"] for answer in invoices]
    _place(engine, ids, PLAN, now)
    _open_deviations(engine, "acme", ids, DEVIATIONS, now)
    # a deviation closed by a resend: not open, never counted
    with session_scope(engine) as session:
        delivery = session.execute(select(Delivery).where(col(Delivery.invoice_id) == ids[0])).scalar_one()
        session.add(
            Deviation(
                tenant_id="acme", delivery_id=delivery.id, invoice_id=ids[0], attempt=1, channel="peppol",
                cause="no-ack", opened_at=now - dt.timedelta(days=2), closed_at=now - dt.timedelta(days=1),
                closed_by="console:ops@acme.example", closure="resent",
            )
        )  # fmt: skip
    _payments(client, auth, invoices)

    other = api_auth(engine, "globex")
    others = push_invoices(client, other, 4, start=100)
    other_ids = [answer["invoice_id"] for answer in others]
    _place(engine, other_ids, [("email", "queued", 40), ("peppol", "deviation", 0), ("print", "failed", 1),
                               ("peppol", "delivered", 0)], now)  # fmt: skip
    _open_deviations(engine, "globex", other_ids, [(1, "bounced", 300)], now)
