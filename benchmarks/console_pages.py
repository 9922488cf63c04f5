"""Console pages among a million invoices: median and p95 per page, on SQLite and PostgreSQL.

    python benchmarks/console_pages.py [--invoices 1000000] [--requests 60]
        [--payments-per-week 10000] [--databases sqlite,postgresql] [--postgres-url URL] [--only overview,…]

The store is the search benchmark's (`benchmarks/search.py`: its `outbox` and `load`, one tenant owning
every invoice, each with its delivery, 2 % of them in deviation), written so that the newest invoice is
from a minute ago: a million invoices, one every 30 seconds, span the last 347 days, so the overview's
fortnight holds about 40,000 deliveries. On top of it: an open deviation for each delivery in deviation
(causes in turn, so about 20,000 open, up to a year old) and `--payments-per-week` payments for each of the
last 8 weeks as matching leaves them (mostly applied, some exceptions and approvals waiting, some resolved,
ignored, duplicates, and automatic applications a person reversed).

Each page is then asked for `--requests` times (after 5 unmeasured requests) through the ASGI app with a
console user's session, signed in through the real form (`httpx.ASGITransport`: no network; the session
check, the queries, the template): the time to the whole answer, as an admin (who is shown every form).
Pages are a list of (name, path); every one must answer 200. Not a test: it prints the figures.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import Engine, insert, select, text

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.search import DEFAULT_POSTGRES, SPACING, TENANT, buyer_names, load, outbox, percentile
from db.engine import session_scope
from db.models import Delivery, Deviation, InvoiceRecord, PaymentRecord, RemittanceFile, new_id, utcnow
from gateway.api.app import create_app
from gateway.services.outbound.deviations import CAUSES
from gateway.services.tenancy.console_users import add_user
from gateway.settings import Settings

EMAIL, PASSWORD = "bench@console.example", "a long benchmark password"
CHUNK = 10_000
#: (name, path) of every page measured; `{invoice}` is an invoice id of the store.
PAGES: list[tuple[str, str]] = [
    ("overview", "/console/"),
    ("search by number (opens it)", "/console/invoices?q=INV-0123456"),
    ("search by buyer", "/console/invoices?q=Fjordbyen"),
    ("invoice", "/console/invoices/{invoice}"),
    ("search by amount", "/console/invoices?q=1250.00"),
    ("search unpaid by due date", "/console/invoices?payment_status=unpaid&sort=due_date"),
    ("invoice resend form", "/console/invoices/{invoice}/resend"),
    ("deviations", "/console/deviations"),
    ("deviations of one cause", "/console/deviations?cause=bounced"),
    ("payments", "/console/payments"),
    ("payments all", "/console/payments?tab=all"),
    ("remittances", "/console/remittances"),
    ("print batches", "/console/print-batches"),
    ("EDI partners", "/console/partners"),
    ("webhooks", "/console/webhooks"),
    ("settings", "/console/settings"),
]
#: Payments as matching leaves them: (status, decided by a person?, share in 1000).
PAYMENT_MIX: list[tuple[str, bool, int]] = [
    ("applied", False, 840),
    ("exception", False, 60),
    ("needs_approval", False, 20),
    ("resolved", True, 40),
    ("ignored", True, 10),
    ("duplicate", False, 15),
    ("exception", True, 10),  # an automatic application a person reversed
    ("resolved", True, 5),  # an automatic application a person re-allocated
]
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def add_deviations(engine: Engine) -> int:
    """An open deviation for every delivery in deviation, opened when it was created, causes in turn."""
    table = Deviation.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        rows = session.execute(
            select(Delivery.id, Delivery.invoice_id, Delivery.channel, Delivery.created_at).where(  # type: ignore[call-overload]
                Delivery.tenant_id == TENANT, Delivery.status == "deviation"
            )
        ).all()
    with engine.begin() as connection:
        for start in range(0, len(rows), CHUNK):
            connection.execute(
                insert(table),
                [
                    {
                        "id": new_id(),
                        "tenant_id": TENANT,
                        "delivery_id": delivery_id,
                        "invoice_id": invoice_id,
                        "attempt": 1,
                        "channel": channel,
                        "cause": CAUSES[n % len(CAUSES)],
                        "detail": "benchmark",
                        "opened_at": created,
                    }
                    for n, (delivery_id, invoice_id, channel, created) in enumerate(
                        rows[start : start + CHUNK], start
                    )
                ],
            )
    return len(rows)


def add_payments(engine: Engine, per_week: int, now: dt.datetime) -> int:
    """`per_week` payments in each of the last 8 weeks, spread evenly, statuses as `PAYMENT_MIX`."""
    rng = random.Random(8)
    statuses = [(status, by_person) for status, by_person, share in PAYMENT_MIX for _ in range(share)]
    file_id = new_id()
    with engine.begin() as connection:
        connection.execute(
            insert(RemittanceFile.__table__),  # type: ignore[attr-defined]
            [{"id": file_id, "tenant_id": TENANT, "payload_sha256": "0" * 64, "document_key": "bench",
              "size": 0, "format": "camt", "source": "api", "status": "accepted", "received_at": now}],
        )  # fmt: skip
    total = per_week * 8
    step = dt.timedelta(weeks=8) / total
    table = PaymentRecord.__table__  # type: ignore[attr-defined]
    for start in range(0, total, CHUNK):
        rows = []
        for n in range(start, min(start + CHUNK, total)):
            status, by_person = rng.choice(statuses)
            decision: dict[str, Any] = {"outcome": status}
            if by_person and status == "exception":
                decision["reversals"] = [{"by": "console:ops", "was_automatic": True, "reason": "wrong"}]
            elif by_person and status == "resolved" and n % 9 == 0:
                decision["resolutions"] = [{"by": "console:ops", "replaced_automatic": True}]
            created = now - dt.timedelta(weeks=8) + n * step
            rows.append(
                {
                    "id": new_id(),
                    "tenant_id": TENANT,
                    "file_id": file_id,
                    "sequence": n + 1,
                    "fingerprint": f"bench-{n}",
                    "kind": "credit",
                    "direction": "in",
                    "amount": f"{1000 + n % 9000}.00",
                    "currency": "NOK",
                    "data": {},
                    "status": status,
                    "decision": decision,
                    "decided_at": created,
                    "decided_by": "console:ops" if by_person else "matching",
                    "created_at": created,
                    "false_automatic": "reversals" in decision or "resolutions" in decision,
                }
            )
        with engine.begin() as connection:
            connection.execute(insert(table), rows)
    return total


async def sign_in(client: httpx.AsyncClient) -> None:
    form = await client.get("/console/login")
    token = _CSRF.search(form.text)
    assert token is not None, "the sign-in page has no CSRF token"
    answer = await client.post(
        "/console/login", data={"email": EMAIL, "password": PASSWORD, "csrf_token": token.group(1)}
    )
    assert answer.status_code == 303, answer.text


async def measure_pages(app: Any, pages: list[tuple[str, str]], requests: int) -> dict[str, Any]:
    """Median, p95 and max per page (milliseconds), each a request to the ASGI app with the session."""
    report: dict[str, Any] = {}
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:
        await sign_in(client)
        for name, path in pages:
            first = await client.get(path, follow_redirects=True)
            assert first.status_code == 200, f"{path}: {first.status_code} {first.text[:300]}"
            for _ in range(4):
                await client.get(path, follow_redirects=True)
            millis = []
            for _ in range(requests):
                started = time.perf_counter()
                answer = await client.get(path, follow_redirects=True)
                millis.append((time.perf_counter() - started) * 1000)
                assert answer.status_code == 200
            report[name] = {
                "median_ms": round(statistics.median(millis), 1),
                "p95_ms": round(percentile(millis, 0.95), 1),
                "max_ms": round(max(millis), 1),
                "bytes": len(answer.content),
            }
            print(f"  {name}: {report[name]}", flush=True)
    return report


def run(kind: str, args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    names = buyer_names(args.buyers, random.Random(14))
    now = utcnow()
    with outbox(kind, args.postgres_url, directory) as engine:
        print(f"{kind}: writing {args.invoices:,} invoices …", flush=True)
        seconds = load(engine, args.invoices, names, first_created=now - args.invoices * SPACING)
        started = time.perf_counter()
        deviations = add_deviations(engine)
        payments = add_payments(engine, args.payments_per_week, now)
        if engine.dialect.name == "postgresql":
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(text("VACUUM ANALYZE deviations"))
                connection.execute(text("VACUUM ANALYZE payments"))
        with session_scope(engine) as session:
            add_user(session, EMAIL, PASSWORD, role="admin", tenant_ids=[TENANT])
            invoice = session.execute(
                select(InvoiceRecord.id).where(InvoiceRecord.tenant_id == TENANT).limit(1)  # type: ignore[call-overload]
            ).scalar_one()
        print(
            f"  {deviations:,} open deviations, {payments:,} payments ({time.perf_counter() - started:.0f} s)"
        )
        url = engine.url.render_as_string(hide_password=False)
        settings = Settings(database_url=url, data_dir=directory, _env_file=None)  # type: ignore[call-arg]
        pages = [(name, path.format(invoice=invoice)) for name, path in PAGES if name in args.only]
        report: dict[str, Any] = {
            "database": kind, "invoices": args.invoices, "load_s": round(seconds),
            "open_deviations": deviations, "payments_stored": payments,
        }  # fmt: skip
        report.update(asyncio.run(measure_pages(create_app(settings, engine), pages, args.requests)))
        return report


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--invoices", type=int, default=1_000_000)
    parser.add_argument("--buyers", type=int, default=20_000, help="distinct customers among the invoices")
    parser.add_argument("--requests", type=int, default=60, help="measured requests per page")
    parser.add_argument("--payments-per-week", type=int, default=10_000)
    parser.add_argument("--databases", default="sqlite,postgresql")
    parser.add_argument("--only", default=",".join(name for name, _ in PAGES), help="pages by name")
    parser.add_argument(
        "--postgres-url",
        default=os.environ.get(
            "GATEWAY_BENCH_POSTGRES_URL", os.environ.get("GATEWAY_TEST_POSTGRES_URL", DEFAULT_POSTGRES)
        ),
    )
    args = parser.parse_args()
    args.only = {name.strip() for name in args.only.split(",")}
    for kind in args.databases.split(","):
        with tempfile.TemporaryDirectory(prefix="console-bench-") as directory:
            print(json.dumps(run(kind.strip(), args, Path(directory)), indent=2), flush=True)


if __name__ == "__main__":
    main()
