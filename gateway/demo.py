"""`gateway demo`: the whole path on the embedded default, in one command.

It pushes sample invoices (and a credit note) through the real intake, shows a wrong total and a repeat
being handled, lets a worker deliver through the folder channel, and prints every delivery's status and
where its file landed.
"""

from __future__ import annotations

import copy
import os
from decimal import Decimal

from rich.console import Console
from rich.table import Table
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.samples import sample_invoice_json
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker import Worker

TENANT = "demo"


def run_demo(engine: Engine, settings: Settings, *, count: int = 5, console: Console) -> None:
    """The demo on an open outbox (the command line's, so its settings and engine are the run's own)."""
    console.print(f"outbox: [bold]{engine.url.render_as_string(hide_password=True)}[/bold]")
    with session_scope(engine) as session:
        ensure_tenant(session, TENANT, "Demo sender")

    items = [IntakeItem(sample_invoice_json(n, number_prefix="DEMO")) for n in range(1, count + 1)]
    items.append(IntakeItem(sample_invoice_json(1, number_prefix="DEMO-CN", credit_note=True)))
    wrong_total = copy.deepcopy(sample_invoice_json(count + 1, number_prefix="DEMO"))
    wrong_total["totals"]["payable"] = str(Decimal(wrong_total["totals"]["payable"]) + 1)
    items.append(IntakeItem(wrong_total))
    items.append(IntakeItem(sample_invoice_json(1, number_prefix="DEMO")))  # a repeat of the first

    results = accept_invoices(engine, TENANT, items, actor="demo", default_channel=settings.default_channel)
    intake = Table("#", "number", "intake", "detail", title="intake")
    for result in results:
        detail = "; ".join(f"{e['field']}: {e['reason']}" for e in result.errors)[:110]
        intake.add_row(str(result.index), result.number or "-", result.outcome, detail)
    console.print(intake)

    stats = Worker(engine, settings, worker_id="demo-worker").run(once=True)
    console.print(f"worker: claimed {stats.claimed}, outcomes {dict(stats.outcomes)}")

    table = Table("number", "channel", "status", "events", title="deliveries")
    table.add_column("file written", overflow="fold")
    with session_scope(engine) as session:
        shown: set[str] = set()
        for result in results:
            if result.invoice_id is None or result.invoice_id in shown or result.outcome == "conflict":
                continue
            shown.add(result.invoice_id)
            view = service.invoice_view(session, TENANT, result.invoice_id)
            for delivery in view["deliveries"]:
                written = delivery["channel_message_id"]
                table.add_row(
                    view["number"],
                    delivery["channel"],
                    delivery["status"],
                    str(len(delivery["events"])),
                    os.path.relpath(written) if written else "",
                )
    console.print(table)
    console.print("one invoice's whole history: gateway status <invoice or delivery id>")
    console.print(
        "the same in the ops console: `gateway user add you@example.com --tenant demo --role admin` "
        "(it asks for a password), `gateway serve`, then http://127.0.0.1:8000/console/",
        soft_wrap=True,
    )
