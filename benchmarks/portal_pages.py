"""The customer portal at a real seller's size: median and p95 per page for a big and a small customer, the
zip's time and peak memory, the sign-in link request, and Stripe webhooks handled per second.

    python benchmarks/portal_pages.py [--invoices 100000] [--big-customer 5000] [--customers 10000]
        [--requests 30] [--zip-requests 3] [--events 200] [--databases sqlite,postgresql] [--postgres-url URL]
        [--only overview,…]

The store is the search benchmark's (`benchmarks/search.py`: its `outbox`, one tenant, an invoice every 30
seconds with its delivery, a third unpaid), each invoice given a customer (`receiver_id`): one big
customer holds `--big-customer` invoices spread through the whole store, a small one 20, and the rest
are shared by `--customers` others. The big and the small customer's invoices each have their document as
sent (a small PDF of its own, kept in the installation's document store and named by a delivery event, as
the worker leaves it); a tenth of the big customer's open invoices have a part payment applied, some are
disputed, and both customers were sent a few statements and reminders (each with its PDF). Every
customer has a portal user.

Each page is asked for 3 times unmeasured, then `--requests` times (`--zip-requests` for the zip) through
the ASGI app (`httpx.ASGITransport`: no network; the session cookie check, the queries, the template), with
a portal session made as `tests/portal/helpers.py` makes one (`start_session` + the signed cookie). The
zip is then asked for once more under `tracemalloc`: its peak is the Python memory the request held. The
sign-in link request is `POST /portal/sign-in` (the e-mail goes to an aiosmtpd on loopback; the ASGI app
returns once its background task has sent it, so the figure includes the SMTP conversation) and the
service call `request_sign_in_link` alone. The webhook rate is `--events` signed Stripe
`checkout.session.completed` events through `POST /portal/providers/stripe/webhook`, one per open checkout
(bulk-made `CardCheckout` rows, one open invoice of some customer each): each books a card payment advice
and matches it. Not a test: it prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import json
import logging
import os
import random
import re
import socket
import statistics
import sys
import tempfile
import time
import tracemalloc
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope
from aiosmtpd.smtp import Session as SmtpSession
from itsdangerous import Signer
from sqlalchemy import Engine, insert, select, text, update
from sqlmodel import col

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.search import DEFAULT_POSTGRES, SPACING, TENANT, buyer_names, load, outbox, percentile
from db.engine import session_scope
from db.models import (
    CardCheckout,
    Delivery,
    DeliveryEvent,
    Dispute,
    InvoiceRecord,
    PaymentAllocation,
    PaymentRecord,
    PortalUser,
    ReminderNotice,
    ReminderNoticeItem,
    RemittanceFile,
    StoredDocument,
    new_id,
    utcnow,
)
from gateway.api.app import create_app
from gateway.services.installation_key import signing_key
from gateway.services.outbound.documents import document_store
from gateway.services.portal.access import request_sign_in_link
from gateway.services.portal.sessions import start_session
from gateway.settings import Settings

BIG, SMALL = "0192:999000001", "0192:999000002"
SMALL_COUNT = 20
CHUNK = 10_000
STRIPE_SECRET = "whsec_bench"
#: (name, path) of every page measured; `{invoice}` is an open invoice of the customer.
PAGES: list[tuple[str, str]] = [
    ("overview", "/portal/"),
    ("invoices open", "/portal/invoices?show=open"),
    ("invoices all", "/portal/invoices?show=all"),
    ("invoice", "/portal/invoices/{invoice}"),
    ("statements", "/portal/statements"),
    ("download.zip", "/portal/download.zip"),
]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def customer_of(n: int, count: int, big: int, customers: int) -> str:
    """The receiver of invoice `n`: the big customer every `count // big`-th, the small one 20 times
    spread through the store, else one of `customers`."""
    stride = max(count // big, 1)
    small_stride = max(count // SMALL_COUNT, 1)
    if n % small_stride == small_stride // 2 and n // small_stride < SMALL_COUNT:
        return SMALL
    if n % stride == 0 and n // stride < big:
        return BIG
    return f"0192:9{(n * 7919) % customers:08d}"


def small_pdf(label: str) -> bytes:
    """A small, valid one-page PDF saying `label` (distinct bytes per document: the store is by SHA-256)."""
    stream = f"BT /F1 12 Tf 72 720 Td ({label}) Tj ET".encode()
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    out += b"%" + b"x" * 2000 + b"\n"  # about the size of a small real invoice PDF's fonts-free body
    return bytes(out)


def keep_documents(engine: Engine, settings: Settings, receiver_id: str, now: dt.datetime) -> int:
    """A PDF as sent for each of the customer's invoices: in the store, a `StoredDocument` row and a delivery
    event naming it (as the worker leaves them)."""
    store = document_store(settings, engine)
    with session_scope(engine) as session:
        rows = session.execute(
            select(
                col(InvoiceRecord.id), col(InvoiceRecord.number), col(Delivery.id), col(Delivery.created_at)
            )
            .join(Delivery, col(Delivery.invoice_id) == col(InvoiceRecord.id))
            .where(col(InvoiceRecord.tenant_id) == TENANT, col(InvoiceRecord.receiver_id) == receiver_id)
        ).all()
    documents, events = [], []
    for invoice_id, number, delivery_id, created in rows:
        data = small_pdf(f"Invoice {number} {invoice_id}")
        key = store.put(data)
        document_id = new_id()
        documents.append(
            {"id": document_id, "tenant_id": TENANT, "sha256": hashlib.sha256(data).hexdigest(),
             "size": len(data), "media_type": "application/pdf", "filename": f"{number}.pdf",
             "kind": "invoice-as-sent", "storage_key": key, "created_at": created}
        )  # fmt: skip
        events.append(
            {"delivery_id": delivery_id, "tenant_id": TENANT, "attempt": 1, "from_status": "sending",
             "to_status": "delivered", "actor": "worker-bench", "at": created,
             "details": {"document_id": document_id}}
        )  # fmt: skip
    with engine.begin() as connection:
        for start in range(0, len(documents), CHUNK):
            connection.execute(insert(StoredDocument.__table__), documents[start : start + CHUNK])  # type: ignore[attr-defined]
            connection.execute(insert(DeliveryEvent.__table__), events[start : start + CHUNK])  # type: ignore[attr-defined]
    return len(documents)


def add_customer_history(
    engine: Engine, settings: Settings, receiver_id: str, now: dt.datetime
) -> dict[str, int]:
    """Part payments on a tenth of the customer's open invoices, a few disputes, and statements and
    reminders sent (each with its PDF)."""
    store = document_store(settings, engine)
    with session_scope(engine) as session:
        open_ids = list(
            session.execute(
                select(
                    col(InvoiceRecord.id), col(InvoiceRecord.payable_amount), col(InvoiceRecord.customer_key)
                )
                .where(
                    col(InvoiceRecord.tenant_id) == TENANT,
                    col(InvoiceRecord.receiver_id) == receiver_id,
                    col(InvoiceRecord.payment_status) == "unpaid",
                )
                .order_by(col(InvoiceRecord.id))
            ).all()
        )
        customer_key = open_ids[0][2] if open_ids else "bench"
        remittance = RemittanceFile(
            tenant_id=TENANT, payload_sha256=hashlib.sha256(receiver_id.encode()).hexdigest(),
            document_key="bench", size=0, format="camt", source="api", status="accepted", received_at=now,
        )  # fmt: skip
        session.add(remittance)
        session.flush()
        partial = open_ids[::10]
        for sequence, (invoice_id, amount, _) in enumerate(partial, 1):
            part = (Decimal(amount) / 2).quantize(Decimal("0.01"))
            payment = PaymentRecord(
                tenant_id=TENANT, file_id=remittance.id, sequence=sequence,
                fingerprint=f"bench-{receiver_id}-{sequence}", kind="credit", direction="in",
                amount=str(part), currency="NOK", data={}, status="applied",
                decision={"outcome": "applied"}, decided_by="matching", decided_at=now,
                booking_date=now.date(), value_date=now.date(),
            )  # fmt: skip
            session.add(payment)
            session.flush()
            session.add(
                PaymentAllocation(tenant_id=TENANT, payment_id=payment.id, invoice_id=invoice_id,
                                  amount=str(part), created_by="matching")
            )  # fmt: skip
            session.execute(
                update(InvoiceRecord)
                .where(col(InvoiceRecord.id) == invoice_id)
                .values(payment_status="partially_paid", open_amount=str(Decimal(amount) - part))
            )
        disputed = open_ids[1 :: max(len(open_ids) // 5, 1)][:5]
        for invoice_id, _, _ in disputed:
            session.add(
                Dispute(tenant_id=TENANT, invoice_id=invoice_id, category="wrong_amount", origin="portal",
                        reason="benchmark", status="open", opened_by="portal:bench")
            )  # fmt: skip
        notices = 0
        for month in range(6):
            for kind in ("statement", "reminder"):
                data = small_pdf(f"{kind} {receiver_id} {month}")
                document = StoredDocument(
                    tenant_id=TENANT, sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                    media_type="application/pdf", filename=f"{kind}-{month}.pdf", kind=kind,
                    storage_key=store.put(data),
                )  # fmt: skip
                delivery = Delivery(
                    invoice_id=open_ids[month % max(len(open_ids), 1)][0], tenant_id=TENANT, channel="email",
                    chain_position=0, status="delivered", attempt=1, tries=1, next_attempt_at=now,
                )  # fmt: skip
                session.add_all([document, delivery])
                session.flush()
                session.add(
                    DeliveryEvent(delivery_id=delivery.id, tenant_id=TENANT, attempt=1, to_status="delivered",
                                  actor="worker-bench", details={"document_id": document.id})
                )  # fmt: skip
                on = now.date() - dt.timedelta(days=30 * month + (0 if kind == "statement" else 12))
                notice = ReminderNotice(
                    tenant_id=TENANT, customer_key=customer_key, receiver_id=receiver_id,
                    level=0 if kind == "statement" else 1, kind=kind, status="sent", notice_on=on,
                    deadline=on + dt.timedelta(days=14), currency="NOK", open_total="1000.00",
                    total="1070.00" if kind == "reminder" else "1000.00", delivery_id=delivery.id,
                )  # fmt: skip
                session.add(notice)
                session.flush()
                for invoice_id, amount, _ in open_ids[month * 3 : month * 3 + 3]:
                    session.add(
                        ReminderNoticeItem(notice_id=notice.id, invoice_id=invoice_id, open_amount=amount)
                    )
                notices += 1
    return {"part_payments": len(partial), "disputes": len(disputed), "notices": notices}


def add_users(engine: Engine, customers: int) -> None:
    """A portal user for the big, the small and every other customer (the sign-in request finds one)."""
    rows = [
        {"id": new_id(), "tenant_id": TENANT, "receiver_id": receiver, "email": f"ap@{receiver[5:]}.example",
         "language": "nb", "created_at": utcnow()}
        for receiver in [BIG, SMALL, *(f"0192:9{n:08d}" for n in range(customers))]
    ]  # fmt: skip
    with engine.begin() as connection:
        for start in range(0, len(rows), CHUNK):
            connection.execute(insert(PortalUser.__table__), rows[start : start + CHUNK])  # type: ignore[attr-defined]


def add_checkouts(engine: Engine, count: int, now: dt.datetime) -> list[dict[str, Any]]:
    """`count` open Stripe checkouts, each over one unpaid invoice of some ordinary customer."""
    with session_scope(engine) as session:
        invoices = session.execute(
            select(
                col(InvoiceRecord.id),
                col(InvoiceRecord.receiver_id),
                col(InvoiceRecord.payable_amount),
                col(InvoiceRecord.number),
                col(InvoiceRecord.payment_reference),
            )
            .where(
                col(InvoiceRecord.tenant_id) == TENANT,
                col(InvoiceRecord.payment_status) == "unpaid",
                col(InvoiceRecord.receiver_id).not_in([BIG, SMALL]),
            )
            .limit(count)
        ).all()
    rows = [
        {"id": new_id(), "tenant_id": TENANT, "receiver_id": receiver, "provider": "stripe",
         "provider_reference": f"cs_test_bench{n:08d}", "invoice_ids": [invoice_id], "amount": amount,
         "currency": "NOK", "status": "open", "created_by": "portal:bench", "created_at": now,
         "detail": json.dumps({"lines": [{"invoice_id": invoice_id, "number": number, "kid": kid,
                                          "amount": amount}]})}
        for n, (invoice_id, receiver, amount, number, kid) in enumerate(invoices)
    ]  # fmt: skip
    with engine.begin() as connection:
        connection.execute(insert(CardCheckout.__table__), rows)  # type: ignore[attr-defined]
    return rows


def stripe_event(checkout: dict[str, Any]) -> bytes:
    """Stripe's `checkout.session.completed` for the checkout, as Stripe sends it."""
    amount = int(Decimal(checkout["amount"]) * 100)
    session = {
        "id": checkout["provider_reference"], "object": "checkout.session", "mode": "payment",
        "status": "complete", "payment_status": "paid", "amount_total": amount, "currency": "nok",
        "client_reference_id": checkout["id"], "customer_email": None,
        "customer_details": {"email": None, "name": "Kari Kunde"},
        "metadata": {"gw_tenant": TENANT, "gw_checkout": checkout["id"]},
        "payment_intent": "pi_" + checkout["id"][:24],
    }  # fmt: skip
    event = {
        "id": "evt_" + checkout["id"][:24], "object": "event", "api_version": "2024-06-20",
        "created": int(time.time()), "livemode": False, "pending_webhooks": 1,
        "type": "checkout.session.completed", "data": {"object": session},
    }  # fmt: skip
    return json.dumps(event).encode()


def stripe_headers(body: bytes) -> dict[str, str]:
    import hmac

    stamp = int(time.time())
    digest = hmac.new(STRIPE_SECRET.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return {"Content-Type": "application/json", "Stripe-Signature": f"t={stamp},v1={digest}"}


class Inbox:
    """aiosmtpd's handler: counts what arrived."""

    def __init__(self) -> None:
        self.count = 0

    async def handle_DATA(  # noqa: N802 (aiosmtpd's name)
        self, server: SMTP, session: SmtpSession, envelope: Envelope
    ) -> str:
        self.count += 1
        return "250 OK"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def session_cookie(engine: Engine, settings: Settings, receiver_id: str) -> str:
    """A signed-in portal session of the customer's user, as `tests/portal/helpers.py` makes one."""
    with session_scope(engine) as session:
        user_id = session.execute(
            select(col(PortalUser.id)).where(
                col(PortalUser.tenant_id) == TENANT, col(PortalUser.receiver_id) == receiver_id
            )
        ).scalar_one()
        token, _ = start_session(
            session,
            tenant_id=TENANT,
            receiver_id=receiver_id,
            user_id=user_id,
            lifetime=dt.timedelta(hours=8),
        )
    return Signer(signing_key(settings), salt="gw-portal").sign(token.encode()).decode()


def an_open_invoice(engine: Engine, receiver_id: str) -> str:
    with session_scope(engine) as session:
        found: str = session.execute(
            select(col(InvoiceRecord.id))
            .where(
                col(InvoiceRecord.tenant_id) == TENANT,
                col(InvoiceRecord.receiver_id) == receiver_id,
                col(InvoiceRecord.payment_status) != "paid",
            )
            .order_by(col(InvoiceRecord.issue_date).desc())
            .limit(1)
        ).scalar_one()
        return found


async def timed(client: httpx.AsyncClient, path: str, times: int) -> tuple[list[float], httpx.Response]:
    millis = []
    answer = None
    for _ in range(times):
        started = time.perf_counter()
        answer = await client.get(path)
        millis.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, f"{path}: {answer.status_code}"
    assert answer is not None
    return millis, answer


def figures(millis: list[float], answer: httpx.Response) -> dict[str, Any]:
    return {
        "median_ms": round(statistics.median(millis), 1),
        "p95_ms": round(percentile(millis, 0.95), 1),
        "bytes": len(answer.content),
    }


async def measure_customer(
    app: Any, cookie: str, invoice: str, pages: list[tuple[str, str]], args: argparse.Namespace
) -> dict[str, Any]:
    report: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://bench") as client:
        client.cookies.set("gw_portal", cookie, path="/portal")
        for name, path in pages:
            path = path.format(invoice=invoice)
            first = await client.get(path)
            assert first.status_code == 200, f"{path}: {first.status_code} {first.text[:300]}"
            zipped = name == "download.zip"
            await timed(client, path, 1 if zipped else 3)
            millis, answer = await timed(client, path, args.zip_requests if zipped else args.requests)
            report[name] = figures(millis, answer)
            if zipped:
                tracemalloc.start()
                await client.get(path)
                _, peak = tracemalloc.get_traced_memory()
                tracemalloc.stop()
                report[name]["peak_mib"] = round(peak / 2**20, 1)
            print(f"    {name}: {report[name]}", flush=True)
    return report


async def measure_sign_in(
    app: Any, engine: Engine, customers: int, requests: int, box: Inbox
) -> dict[str, Any]:
    """`POST /portal/sign-in` for known addresses (a link made and mailed each time), then the service
    call alone."""
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="https://bench") as client:
        form = await client.get("/portal/sign-in", params={"seller": TENANT})
        token = _CSRF.search(form.text)
        assert token is not None, "the sign-in page has no CSRF token"
        before = box.count
        millis = []
        for n in range(requests + 3):
            started = time.perf_counter()
            answer = await client.post(
                "/portal/sign-in",
                data={
                    "seller": TENANT,
                    "email": f"ap@9{n % customers:08d}.example",
                    "csrf_token": token.group(1),
                },
                headers={"Origin": "https://bench"},
            )
            if n >= 3:
                millis.append((time.perf_counter() - started) * 1000)
            assert answer.status_code == 200, f"sign-in: {answer.status_code} {answer.text[:300]}"
        page = figures(millis, answer)
        page["mails"] = box.count - before
    service = []
    for n in range(requests):
        started = time.perf_counter()
        with session_scope(engine) as session:
            address, client = f"ap@9{(n + 7) % customers:08d}.example", f"10.0.{n // 250}.{n % 250}"
            link = request_sign_in_link(
                session, TENANT, address, client=client, browser_hash="0" * 64, limit=1_000_000,
                lifetime=dt.timedelta(minutes=15), now=utcnow(),
            )  # fmt: skip
        assert link is not None
        service.append((time.perf_counter() - started) * 1000)
    return {
        "sign-in POST (mail sent)": page,
        "request_sign_in_link": {
            "median_ms": round(statistics.median(service), 1),
            "p95_ms": round(percentile(service, 0.95), 1),
        },
    }


async def measure_webhooks(app: Any, checkouts: list[dict[str, Any]]) -> dict[str, Any]:
    transport = httpx.ASGITransport(app=app)
    bodies = [stripe_event(checkout) for checkout in checkouts]
    async with httpx.AsyncClient(transport=transport, base_url="https://bench") as client:
        warm, rest = bodies[:5], bodies[5:]
        for body in warm:
            answer = await client.post(
                "/portal/providers/stripe/webhook", content=body, headers=stripe_headers(body)
            )
            assert answer.status_code == 200, answer.text
        millis = []
        started = time.perf_counter()
        outcomes: dict[str, int] = {}
        for body in rest:
            one = time.perf_counter()
            answer = await client.post(
                "/portal/providers/stripe/webhook", content=body, headers=stripe_headers(body)
            )
            millis.append((time.perf_counter() - one) * 1000)
            assert answer.status_code == 200, answer.text
            outcome = str(answer.json().get("outcome"))
            outcomes[outcome] = outcomes.get(outcome, 0) + 1
        seconds = time.perf_counter() - started
    return {
        "events": len(rest),
        "events_per_s": round(len(rest) / seconds, 1),
        "median_ms": round(statistics.median(millis), 1),
        "p95_ms": round(percentile(millis, 0.95), 1),
        "outcomes": outcomes,
    }


def applied(engine: Engine, checkouts: list[dict[str, Any]]) -> int:
    """How many of the checkouts' invoices matching left paid."""
    ids = [checkout["invoice_ids"][0] for checkout in checkouts]
    with session_scope(engine) as session:
        return len(
            session.execute(
                select(col(InvoiceRecord.id)).where(
                    col(InvoiceRecord.id).in_(ids), col(InvoiceRecord.payment_status) == "paid"
                )
            ).all()
        )


def explain(engine: Engine) -> list[str]:
    """The query plans of the portal's list queries for the big customer (what reads an index, what scans)."""
    prefix = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
    queries = {
        "customer's invoices, newest first": (
            "SELECT id FROM invoices WHERE tenant_id = :t AND receiver_id = :r "
            "ORDER BY issue_date DESC, number DESC"
        ),
        "customer's open invoices": (
            "SELECT id FROM invoices WHERE tenant_id = :t AND receiver_id = :r "
            "AND payment_status IN ('unpaid', 'partially_paid') ORDER BY issue_date DESC, number DESC"
        ),
        "customer's notices": (
            "SELECT id FROM reminder_notices WHERE tenant_id = :t AND receiver_id = :r AND status = 'sent' "
            "AND kind = 'statement' ORDER BY notice_on DESC, created_at DESC"
        ),
        "disputes of invoices": "SELECT invoice_id, status FROM disputes WHERE invoice_id IN (:r, :t)",
        "link user by address": "SELECT id FROM portal_users WHERE tenant_id = :t AND email = :r",
        "link requests counted": (
            "SELECT count(*) FROM portal_link_requests WHERE tenant_id = :t AND email_hash = :r "
            "AND at >= '2020-01-01'"
        ),
    }
    lines = []
    with engine.connect() as connection:
        for name, sql in queries.items():
            plan = connection.execute(text(prefix + sql), {"t": TENANT, "r": BIG}).all()
            shown = "; ".join(str(row[-1]) for row in plan)
            lines.append(f"  {name}: {shown}")
    return lines


def run(kind: str, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    names = buyer_names(args.customers, random.Random(14))
    now = utcnow()
    box = Inbox()
    smtp_port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    providers = directory / "providers.json"
    providers.write_text(
        json.dumps({TENANT: {"stripe": {"secret_key": "sk_test_bench", "webhook_secret": STRIPE_SECRET}}})
    )
    try:
        with outbox(kind, args.postgres_url, directory) as engine:
            print(f"{kind}: writing {args.invoices:,} invoices …", flush=True)
            seconds = load(
                engine, args.invoices, names, now - args.invoices * SPACING,
                receiver_of=lambda n: customer_of(n, args.invoices, args.big_customer, args.customers),
            )  # fmt: skip
            url = engine.url.render_as_string(hide_password=False)
            settings = Settings(  # type: ignore[call-arg]
                database_url=url, data_dir=directory, _env_file=None, payment_providers_file=providers,
                portal_link_limit=1_000_000,
                channels={"email": {"host": "127.0.0.1", "port": smtp_port, "security": "none",
                                    "from_address": "faktura@bench.test"}},
            )  # fmt: skip
            started = time.perf_counter()
            kept = {receiver: keep_documents(engine, settings, receiver, now) for receiver in (BIG, SMALL)}
            history = {
                receiver: add_customer_history(engine, settings, receiver, now) for receiver in (BIG, SMALL)
            }
            add_users(engine, args.customers)
            checkouts = add_checkouts(engine, args.events + 5, now)
            if engine.dialect.name == "postgresql":
                with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                    connection.execute(text("VACUUM ANALYZE"))
            print(f"  documents {kept}, {history} ({time.perf_counter() - started:.0f} s)", flush=True)
            for line in explain(engine):
                print(line, flush=True)
            app = create_app(settings, engine)
            pages = [(name, path) for name, path in PAGES if name in args.only]
            report: dict[str, Any] = {"database": kind, "invoices": args.invoices, "load_s": round(seconds)}
            for label, receiver in (("big", BIG), ("small", SMALL)):
                print(f"  {label} customer ({receiver}):", flush=True)
                cookie = session_cookie(engine, settings, receiver)
                report[label] = asyncio.run(
                    measure_customer(app, cookie, an_open_invoice(engine, receiver), pages, args)
                )
            if "sign-in" in args.only:
                report.update(asyncio.run(measure_sign_in(app, engine, args.customers, args.requests, box)))
                print(f"    sign-in: {report['sign-in POST (mail sent)']} {report['request_sign_in_link']}")
            if "webhook" in args.only:
                report["stripe webhook"] = asyncio.run(measure_webhooks(app, checkouts))
                report["stripe webhook"]["invoices_paid"] = applied(engine, checkouts)
                print(f"    webhook: {report['stripe webhook']}", flush=True)
            return report
    finally:
        controller.stop()


def table(report: dict[str, Any]) -> list[str]:
    lines = [
        f"| page ({report['database']}, {report['invoices']:,} invoices) | big: median / p95 ms | small |"
    ]
    lines.append("|---|---|---|")
    for name, _ in PAGES:
        big, small = report["big"].get(name), report["small"].get(name)
        if big is None:
            continue
        extra = f" ({big['peak_mib']} MiB peak)" if "peak_mib" in big else ""
        small_figure = f"{small['median_ms']} / {small['p95_ms']}"
        lines.append(f"| {name} | {big['median_ms']} / {big['p95_ms']}{extra} | {small_figure} |")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--big-customer", type=int, default=5_000, help="invoices of the big customer")
    parser.add_argument("--customers", type=int, default=10_000, help="other customers sharing the rest")
    parser.add_argument("--requests", type=int, default=30, help="measured requests per page")
    parser.add_argument("--zip-requests", type=int, default=3, help="measured requests of the zip")
    parser.add_argument("--events", type=int, default=200, help="Stripe webhook events")
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument(
        "--only",
        default=",".join([*(name for name, _ in PAGES), "sign-in", "webhook"]),
        help="figures by name",
    )
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "GATEWAY_BENCH_POSTGRES_URL", os.environ.get("GATEWAY_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
        ),
    )
    args = parser.parse_args()
    for noisy in ("gateway", "httpx", "mail.log"):  # a line per request: most of the run's output
        logging.getLogger(noisy).setLevel(logging.WARNING)
    args.only = {name.strip() for name in args.only.split(",")}
    summaries = []
    for kind in args.databases.split(","):
        with tempfile.TemporaryDirectory(prefix="portal-bench-") as directory:
            report = run(kind.strip(), args, Path(directory))
            print(json.dumps(report, indent=2), flush=True)
            print("\n".join(table(report)), flush=True)
            summaries.append(report)
    for report in summaries:
        big, small = report["big"], report["small"]
        hook = report.get("stripe webhook", {})
        zipped = big.get("download.zip", {})
        print(
            f"{report['database']}: {report['invoices']:,} invoices; big: overview "
            f"{big.get('overview', {}).get('median_ms')} ms, all invoices "
            f"{big.get('invoices all', {}).get('median_ms')} ms, zip {zipped.get('median_ms')} ms / "
            f"{zipped.get('peak_mib')} MiB peak; small: overview "
            f"{small.get('overview', {}).get('median_ms')} ms; webhooks {hook.get('events_per_s')}/s"
        )


if __name__ == "__main__":
    main()
