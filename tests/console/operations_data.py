"""Real data for the operational pages, made through the real services and a real worker.

- print: paper invoices accepted for the `print` channel (a folder print house), staged by the worker,
  closed at the cut-off into a batch and handed over; the print house answers with a receipt and a
  production report read by `receive_print_return`.
- EDI: a trading partner on a folder transport; the worker sends it INVOIC interchanges; the partner's
  CONTRL accepts one and rejects another naming segment and element; a third passes its deadline and the
  worker's `flag_overdue` marks it.
- webhooks: endpoints of the tenant's ERP; status changes write their events; one round of sending
  against an ERP that answers 200 on one endpoint and 503 on the other (an `httpx.MockTransport`).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, select, update
from sqlmodel import col

from db.engine import session_scope
from db.models import Batch, BatchItem, Delivery, EdiInterchange, utcnow
from gateway.samples import sample_invoice_json
from gateway.services.inbound.edi_acks import flag_overdue, receive_edi
from gateway.services.inbound.print_returns import receive_print_return
from gateway.services.net_policy import AddressPolicy
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy import webhooks
from gateway.services.tenancy.edi_partners import put_partner
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker import Worker
from outbox.queue import change_status
from outbox.states import DeliveryStatus as S
from schemas.edi_partner import TradingPartner

US, THEM = "7080000000009", "7300009000003"

#: The example ERPs are names no resolver here knows: the address policy is not what these pages show.
ANY_ADDRESS = AddressPolicy(allow_private=True)


def use_print_and_edi(settings: Settings, root: Path) -> None:
    """The print channel writes to a folder print house under `root` (cut-off 15:00)."""
    settings.channels = {
        "print": {
            "directory": str(root / "print-house"),
            "profiles": {"default": {"cutoffs": ["15:00"]}},
            "retry": {"base_seconds": 1, "jitter": False, "max_tries": 2},
        }
    }


def accept(engine: Engine, tenant: str, numbers: range, routing: dict[str, Any]) -> list[str]:
    """Sample invoices `numbers` (several buyers and amounts) routed as `routing`; their ids."""
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
    items = []
    for n in numbers:
        payload = sample_invoice_json(n)
        payload["routing"] = routing
        items.append(IntakeItem(payload))
    results = accept_invoices(engine, tenant, items, actor="test", default_channel="folder")
    assert [r.outcome for r in results] == ["created"] * len(numbers), [r.errors for r in results]
    return [r.invoice_id or "" for r in results]


def work(engine: Engine, settings: Settings) -> None:
    Worker(engine, settings, worker_id="w").run(once=True)


def pass_cutoff(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.execute(update(BatchItem).values(due_at=utcnow() - dt.timedelta(seconds=1)))


@dataclass
class PrintData:
    batch_id: str
    numbers: list[str]


def print_batch(
    engine: Engine, settings: Settings, tenant: str, numbers: range, *, answer: bool = True
) -> PrintData:
    """A handed-over batch of `numbers`; with `answer` the print house accepts it and reports two posted."""
    accept(engine, tenant, numbers, {"channel": "print"})
    work(engine, settings)
    pass_cutoff(engine)
    work(engine, settings)
    with session_scope(engine) as session:
        batch = (
            session.execute(
                select(Batch)
                .where(col(Batch.tenant_id) == tenant)
                .order_by(col(Batch.created_at).desc(), col(Batch.id).desc())
            )
            .scalars()
            .first()
        )
        assert batch is not None and batch.status == "sent", batch
        items = list(
            session.execute(
                select(BatchItem).where(col(BatchItem.batch_id) == batch.id).order_by(col(BatchItem.sequence))
            ).scalars()
        )
        batch_id = batch.id
    if answer:
        receipt = (
            f'<PrintReceipt xmlns="urn:invoice-gateway:print-return:1" batchId="{batch_id}" status="accepted"'
            f' documents="{len(items)}" receivedAt="2026-11-24T15:03:00Z"/>'
        )
        rows = "".join(
            f"production;{batch_id};{item.sequence};{item.delivery_id};;posted;2026-11-25;;\n"
            for item in items[:2]
        )
        production = (
            "record;batch_id;sequence;delivery_id;invoice_number;status;date;reason_code;reason\n" + rows
        )
        for name, data in (("receipt.xml", receipt), ("production.csv", production)):
            outcome = receive_print_return(engine, data.encode(), source=name, actor="print-house")
            assert outcome.rejected is None, outcome.rejected
    return PrintData(batch_id, [f"INV-{n:06d}" for n in numbers])


def waiting_print_documents(engine: Engine, settings: Settings, tenant: str, numbers: range) -> None:
    """Paper invoices staged and waiting for the next cut-off."""
    accept(engine, tenant, numbers, {"channel": "print"})
    work(engine, settings)


def edi_partner(root: Path, partner_id: str = "ica", **changes: Any) -> TradingPartner:
    values: dict[str, Any] = {
        "partner_id": partner_id,
        "name": "ICA Sverige AB",
        "message_format": "edifact-d96a",
        "us": {"id": US, "qualifier": "14"},
        "them": {"id": THEM, "qualifier": "14"},
        "transport": {"kind": "folder", "directory": str(root / "edi" / partner_id)},
        "ack_deadline_hours": 24,
    }
    values.update(changes)
    return TradingPartner.model_validate(values)


def contrl(body: str, ref: str) -> bytes:
    """The partner's CONTRL (EDIFACT syntax 3) around `body`, as partners write them."""
    segments = body.count("'") + 2
    return (
        f"UNB+UNOC:3+{THEM}:14+{US}:14+261124:1200+{ref}'UNH+1+CONTRL:D:3:UN'{body}"
        f"UNT+{segments}+1'UNZ+1+{ref}'"
    ).encode()


@dataclass
class EdiData:
    partner_id: str
    #: interchange refs by the state they end in
    accepted: str
    rejected: str
    overdue: str


def edi_interchanges(engine: Engine, settings: Settings, root: Path, tenant: str = "acme") -> EdiData:
    """Three INVOIC interchanges to `ica`: accepted, rejected (segment 5 element 2), and overdue."""
    partner = edi_partner(root)
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
        put_partner(session, tenant, partner)
    invoice_ids = accept(engine, tenant, range(11, 14), {"channel": "edi", "address": partner.partner_id})
    work(engine, settings)
    with session_scope(engine) as session:
        rows = {
            row.invoice_id: row.interchange_ref
            for row in session.execute(
                select(EdiInterchange).where(col(EdiInterchange.tenant_id) == tenant)
            ).scalars()
        }
    accepted, rejected, overdue = (rows[i] for i in invoice_ids)
    for ref, body in (
        ("9001", f"UCI+{accepted}+{US}:14+{THEM}:14+7'"),
        ("9002", f"UCI+{rejected}+{US}:14+{THEM}:14+4'UCM+1+INVOIC:D:96A:UN:EAN008+4'UCS+5'UCD+12+3:1'"),
    ):
        receipt = receive_edi(engine, contrl(body, ref), tenant_id=tenant, actor="test")
        assert receipt.linked, receipt.as_dict()
    with session_scope(engine) as session:
        session.execute(
            update(EdiInterchange)
            .where(col(EdiInterchange.interchange_ref) == overdue, col(EdiInterchange.tenant_id) == tenant)
            .values(ack_due_at=utcnow() - dt.timedelta(hours=1))
        )
    assert flag_overdue(engine) == 1
    return EdiData(partner.partner_id, accepted, rejected, overdue)


@dataclass
class WebhookData:
    healthy_id: str
    failing_id: str
    events_each: int


def webhook_endpoints(engine: Engine, settings: Settings, tenant: str = "acme") -> WebhookData:
    """Two endpoints; two delivered invoices then go to deviation (a bounce), which writes their events;
    one sending round: 200 on one endpoint, 503 on the other.

    The worker runs before the endpoints exist: its own webhook step would otherwise try the hosts."""
    invoice_ids = accept(engine, tenant, range(21, 23), {"channel": "folder"})
    work(engine, settings)
    with session_scope(engine) as session:
        healthy, _, _ = webhooks.put_endpoint(
            session,
            tenant,
            url="https://erp.nordlys.example/gateway/events",
            events=["*"],
            secret="whsec_x",
            actor="test",
            addresses=ANY_ADDRESS,
        )
        failing, _, _ = webhooks.put_endpoint(
            session,
            tenant,
            url="https://hooks.nordlys.example:8443/in?token=very-secret-token",
            events=["deviation.opened", "delivery.status_changed"],
            secret="whsec_y",
            actor="test",
            addresses=ANY_ADDRESS,
        )
        ids = (healthy.id, failing.id)
    webhooks.invalidate_endpoint_cache()
    with session_scope(engine) as session:
        for delivery in session.execute(
            select(Delivery).where(col(Delivery.invoice_id).in_(invoice_ids))
        ).scalars():
            change_status(
                session, delivery, S.DEVIATION, actor="bounces", reason="e-mail bounced: 5.1.1 no such user"
            )

    def erp(request: httpx.Request) -> httpx.Response:
        if request.url.host == "erp.nordlys.example":
            return httpx.Response(200, text="ok")
        return httpx.Response(503, text="maintenance until 06:00")

    with httpx.Client(transport=httpx.MockTransport(erp)) as client:
        report = webhooks.send_due_events(engine, client=client, now=utcnow() + dt.timedelta(seconds=1))
    assert report.delivered == report.retried and report.delivered > 0, report
    return WebhookData(ids[0], ids[1], report.delivered)
