"""Remittance intake and a matching run through the outbox: a bank file of N payments against M open invoices.

Measures what the engine-only benchmarks (`matching_scale.py`, `matching_hard_set.py`) leave out: reading the
camt file, booking the payments, loading the open invoices into the index, and writing every decision,
allocation and invoice status back — on SQLite (the embedded default) or PostgreSQL.

    python benchmarks/matching_service.py [--invoices 100000] [--payments 10000] [--database-url URL]
    python benchmarks/matching_service.py --api [--invoices 3000] [--payments 350] [--database-url URL]

Invoices are written straight into the table (intake is measured by `throughput.py`); three payments in
four carry the invoice's KID, the rest only the payer's name and the amount.

`--api` measures what a caller of `POST /remittances` waits for instead, through a real uvicorn on loopback:
one file of N payments posted with `?wait=true` (matched inside the request, decisions in the answer), then
another file of N payments for other invoices posted as callers do by default (the receipt at once, matching
after the answer), with the time until its last payment was decided (polled by `GET /payments?status=new`).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import secrets
import socket
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

import httpx
import uvicorn
from sqlalchemy import Engine, create_engine, insert, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from db.engine import session_scope
from db.models import InvoiceRecord, new_id
from gateway.api.app import create_app
from gateway.runtime import outbox_engine
from gateway.services.outbound.documents import LocalDocumentStore
from gateway.services.payments import matching_runs as payments
from gateway.services.payments import remittances
from gateway.services.tenancy.tenants import create_token, ensure_tenant
from gateway.settings import Settings
from schemas.kid import KidAgreement
from tests.remittance_files import Tx, camt054

TENANT = "bench"


def seed_invoices(engine: Engine, count: int) -> list[tuple[str, str, Decimal, str]]:
    agreement = KidAgreement(length=10)
    rows = []
    facts = []
    for n in range(1, count + 1):
        amount = Decimal(1000 + (n * 7919) % 90_000) / 100
        kid = agreement.generate_for(str(n))
        customer = n % max(count // 10, 1)
        rows.append({
            "id": new_id(), "tenant_id": TENANT, "idempotency_key": f"k{n}", "payload_sha256": "0" * 64,
            "document_type": "invoice", "number": f"INV-{n:07d}", "issue_date": dt.date(2026, 10, 1),
            "due_date": dt.date(2026, 10, 31), "currency": "NOK", "payable_amount": str(amount),
            "buyer_name": f"Kunde {customer} AS", "payment_reference": kid, "payload": "{}",
            "created_at": dt.datetime.now(dt.UTC), "customer_key": f"org:{customer}",
            "payment_status": "unpaid",
        })  # fmt: skip
        facts.append((f"INV-{n:07d}", kid, amount, f"Kunde {customer} AS"))
    with session_scope(engine) as session:
        ensure_tenant(session, TENANT)
        for start in range(0, len(rows), 5000):
            session.execute(insert(InvoiceRecord.__table__), rows[start : start + 5000])  # type: ignore[attr-defined]
    return facts


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--invoices", type=int, default=100_000)
    parser.add_argument("--payments", type=int, default=10_000)
    parser.add_argument("--database-url", default=None, help="default: a fresh SQLite file")
    parser.add_argument("--api", action="store_true", help="POST /remittances latency: wait=true and default")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        url = args.database_url or f"sqlite:///{directory}/bench.db"
        schema = None
        if url.startswith("postgresql"):  # a throw-away schema, dropped at the end
            schema = f"bench_{secrets.token_hex(6)}"
            admin = create_engine(url, isolation_level="AUTOCOMMIT")
            with admin.connect() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            url = f"{url}{'&' if '?' in url else '?'}options={quote(f'-csearch_path={schema}')}"
        try:
            settings = Settings(database_url=url, data_dir=Path(directory))
            with outbox_engine(settings) as engine:
                run = _run_api if args.api else _run
                report = run(engine, args, directory, url)
        finally:
            if schema is not None:
                with admin.connect() as connection:
                    connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                admin.dispose()
        print(json.dumps(report, indent=2))


def _run(engine: Engine, args: argparse.Namespace, directory: str, url: str) -> dict[str, object]:
    started = time.perf_counter()
    facts = seed_invoices(engine, args.invoices)
    seeded = time.perf_counter() - started
    step = max(len(facts) // args.payments, 1)
    chosen = facts[::step][: args.payments]
    transactions = [
        Tx(amount, kid=kid if i % 4 else None, payer=payer.upper(), reference=f"B{i}")
        for i, (_number, kid, amount, payer) in enumerate(chosen)
    ]
    data = camt054(transactions, message_id="BENCH")
    store = LocalDocumentStore(Path(directory) / "documents")
    started = time.perf_counter()
    receipt = remittances.receive_remittance(
        engine, store, tenant_id=TENANT, data=data, filename="bench.xml", actor="bench"
    )
    booked = time.perf_counter() - started
    started = time.perf_counter()
    run = payments.run_matching(engine, TENANT)
    matched = time.perf_counter() - started
    peak_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "database": url.split(":")[0], "invoices": args.invoices, "payments": len(transactions),
        "file_mb": round(len(data) / 1e6, 1), "seed_s": round(seeded, 1),
        "receive_s": round(booked, 2), "receive_payments_per_s": round(receipt.payments / booked),
        "match_s": round(matched, 2), "match_payments_per_s": round(run.payments / matched),
        "outcomes": dict(run.outcomes), "peak_rss_mib": round(peak_mib),
    }  # fmt: skip


def _transactions(chosen: list[tuple[str, str, Decimal, str]], prefix: str) -> list[Tx]:
    return [
        Tx(amount, kid=kid if i % 4 else None, payer=payer.upper(), reference=f"{prefix}{i}")
        for i, (_number, kid, amount, payer) in enumerate(chosen)
    ]


@contextmanager
def _served(settings: Settings, engine: Engine) -> Iterator[str]:
    """The app served by uvicorn on a free loopback port, as in production (background tasks and all)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = int(probe.getsockname()[1])
    config = uvicorn.Config(create_app(settings, engine), host="127.0.0.1", port=port, log_level="warning")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=60)


def _run_api(engine: Engine, args: argparse.Namespace, directory: str, url: str) -> dict[str, object]:
    facts = seed_invoices(engine, args.invoices)
    step = max(len(facts) // (2 * args.payments), 1)
    chosen = facts[::step][: 2 * args.payments]
    waited_file = camt054(_transactions(chosen[0::2], "W"), message_id="BENCH-WAIT")
    queued_file = camt054(_transactions(chosen[1::2], "Q"), message_id="BENCH-QUEUED")
    with session_scope(engine) as session:
        headers = {"Authorization": f"Bearer {create_token(session, TENANT, 'bench')}"}
    settings = Settings(database_url=url, data_dir=Path(directory), _env_file=None)  # type: ignore[call-arg]
    with _served(settings, engine) as base, httpx.Client(base_url=base, headers=headers, timeout=600) as http:
        warm_up = camt054([Tx(Decimal("1.00"), payer="WARM UP", reference="WARM")], message_id="BENCH-WARM")
        wait = {"wait": "true"}
        http.post("/remittances", params={"filename": "warm.xml", **wait}, content=warm_up)  # the parse pool
        started = time.perf_counter()
        waited = http.post("/remittances", params={"filename": "wait.xml", **wait}, content=waited_file)
        waited_s = time.perf_counter() - started
        started = time.perf_counter()
        queued = http.post("/remittances", params={"filename": "queued.xml"}, content=queued_file)
        queued_s = time.perf_counter() - started
        while http.get("/payments", params={"status": "new", "limit": 1}).json()["items"]:
            time.sleep(0.01)
        decided_s = time.perf_counter() - started
    outcomes: dict[str, int] = {}
    for answer in (waited, queued):
        for payment in answer.json()["payments"]:
            outcomes[payment["status"]] = outcomes.get(payment["status"], 0) + 1
    return {
        "database": url.split(":")[0], "invoices": args.invoices, "payments_per_file": args.payments,
        "wait_true": {"status": waited.status_code, "answer_s": round(waited_s, 2),
                      "matching": _matching_seconds(waited.json().get("matching"))},
        "default": {"status": queued.status_code, "answer_s": round(queued_s, 2),
                    "all_decided_s": round(decided_s, 2),
                    "matching": _matching_seconds(queued.json().get("matching"))},
        "statuses_in_the_answers": outcomes,
    }  # fmt: skip


def _matching_seconds(matching: object) -> object:
    """The answer's `matching` without its outcome counts: the run's seconds, or why it is not there."""
    if isinstance(matching, dict) and "seconds" in matching:
        return {"seconds": matching["seconds"], "payments": matching["payments"]}
    return matching


if __name__ == "__main__":
    main()
