"""The Norwegian consumer waterfall end to end, on a real outbox (SQLite and PostgreSQL) and real channels.

A consumer biller's tenant sends consumers' invoices through `consumer_waterfall` = eFaktura, Digipost,
paper. The consumer has blocked this issuer in eFaktura (the provider's recipient search says so), has no
Digipost mailbox (the stand-in Digipost, which checks every signature and validates every XML against the
v8 XSDs, answers UNIDENTIFIED, and this tenant has no paper fallback at Digipost), so the invoice ends as one
paper letter in the print house's batch, each step in the invoice's history. Nothing here shows the
consumer's national identity number.
"""

from __future__ import annotations

import datetime as dt
import zipfile
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, select, update
from sqlmodel import col

from db.engine import session_scope
from db.models import Batch, BatchItem, utcnow
from gateway.samples import sample_invoice_json
from gateway.services.outbound import deliveries as delivery_service
from gateway.services.outbound.efaktura_recipients import import_recipients
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver, put_tenant_settings
from gateway.settings import Settings
from gateway.worker import Worker
from schemas.canonical import ReceiverProfile
from schemas.national_id import mask_national_id
from schemas.tenant import TenantSettings
from tests.digipost_fixtures import NATIONAL_ID, digipost_settings
from tests.digipost_server import BrokerKeys, DigipostStandIn

PROVIDER = "0192:910000009"  # the eFaktura provider's participant id


def consumer_settings(
    settings: Settings, stand_in: DigipostStandIn, keys: BrokerKeys, root: Path
) -> Settings:
    channels: dict[str, Any] = {
        "efaktura": {"provider_participant_id": PROVIDER},
        "digipost": digipost_settings(stand_in, keys),
        "print": {"directory": str(root / "print-house"), "profiles": {"default": {"cutoffs": ["15:00"]}}},
    }
    return settings.model_copy(update={"channels": channels})


def history(engine: Engine, invoice_id: str) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return list(delivery_service.invoice_view(session, "acme", invoice_id)["deliveries"])


def test_efaktura_blocked_then_digipost_unidentified_ends_in_one_paper_letter(
    engine: Engine, settings: Settings, stand_in: DigipostStandIn, keys: BrokerKeys, tmp_path: Path
) -> None:
    settings = consumer_settings(settings, stand_in, keys, tmp_path)
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        waterfall = TenantSettings(consumer_waterfall=["efaktura", "digipost", "print"])
        put_tenant_settings(session, "acme", waterfall, actor="test")
        put_receiver(
            session, "acme", ReceiverProfile(receiver_id="P-1", national_id=NATIONAL_ID, segment="private")
        )
    import_recipients(
        engine,
        "acme",
        f"national_id;name;street;postal_code;efaktura_id;status\n{NATIONAL_ID};;;;;blocked\n".encode(),
    )
    stand_in.answer(NATIONAL_ID, "unidentified")
    [accepted] = accept_invoices(
        engine,
        "acme",
        [IntakeItem(sample_invoice_json(1, receiver_id="P-1"))],
        actor="erp",
        default_channel="folder",
    )
    assert accepted.outcome == "created", accepted.errors
    invoice_id = accepted.invoice_id or ""

    Worker(engine, settings, worker_id="w").run(once=True)
    steps = history(engine, invoice_id)
    assert [(d["channel"], d["status"]) for d in steps] == [
        ("efaktura", "failed"),
        ("digipost", "failed"),
        ("print", "batched"),
    ], steps
    assert all(d["status"] != "deviation" for d in steps)
    # Digipost was asked (signed, XSD-valid) and sent nothing
    assert stand_in.requests and not stand_in.invalid_requests(), stand_in.invalid_requests()
    assert all(r.signature_ok and r.content_hash_ok for r in stand_in.requests)
    assert stand_in.messages == {}

    # the cut-off passes: the print house gets one batch with one letter
    with session_scope(engine) as session:
        session.execute(update(BatchItem).values(due_at=utcnow() - dt.timedelta(seconds=1)))
    Worker(engine, settings, worker_id="w").run(once=True)
    with session_scope(engine) as session:
        batches = list(session.execute(select(Batch).order_by(col(Batch.id))).scalars())
        items = list(session.execute(select(BatchItem)).scalars())
    assert len(batches) == 1 and len(items) == 1
    handed_over = [p for p in (tmp_path / "print-house").rglob("*") if p.is_file()]
    pdfs = [p for p in handed_over if p.suffix == ".pdf"]
    archives = [p for p in handed_over if p.suffix == ".zip"]
    letters = len(pdfs) + sum(
        1 for archive in archives for name in zipfile.ZipFile(archive).namelist() if name.endswith(".pdf")
    )
    assert letters == 1, handed_over

    steps = history(engine, invoice_id)
    assert [d["channel"] for d in steps] == ["efaktura", "digipost", "print"]
    assert steps[-1]["status"] in {"sent", "delivered"}, steps[-1]
    # each step says why it gave up and which step of the tenant's waterfall came next
    reasons = [event["reason"] or "" for d in steps for event in d["events"]]
    text = "\n".join(reasons)
    assert "blocked eFaktura from this issuer" in text, text
    assert "fallback: efaktura ended failed" in text and "next digipost" in text, text
    assert "fallback: digipost ended failed" in text and "next print" in text, text
    assert "consumer waterfall" in text, text
    assert NATIONAL_ID not in repr(steps)
    assert mask_national_id(NATIONAL_ID) in text or "national identity number" not in text
