"""`gateway receivables customer`, `gateway collection …` and `gateway statements run`: credit control's
view of one customer, the hand-off to a collection agency, and the periodic statements."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gateway.cli.common import (
    OPERATOR,
    JsonFlag,
    TenantOption,
    console,
    fail,
    fails_on,
    print_json,
    print_table,
)
from gateway.cli.context import cli_context

receivables_app = typer.Typer(
    help="Receivables: one customer's balance, limit and payment record.", no_args_is_help=True
)
collection_app = typer.Typer(
    help="Collection hand-off: invoices past the last dunning level.", no_args_is_help=True
)
statements_app = typer.Typer(
    help="Periodic statements of open items for statement customers.", no_args_is_help=True
)

DateOption = Annotated[
    dt.datetime | None, typer.Option("--date", formats=["%Y-%m-%d"], help="the day (default: today, Oslo)")
]


def _on(value: dt.datetime | None) -> dt.date:
    from gateway.services.followup.credit import today_in

    return value.date() if value else today_in()


@receivables_app.command("customer")
def receivables_customer(
    ctx: typer.Context,
    receiver_id: str,
    tenant: TenantOption = "",
    date: DateOption = None,
    as_json: JsonFlag = False,
) -> None:
    """One customer: balance, overdue, credit limit and headroom, disputes, promises, days late, follow-up."""
    from gateway.services.followup.customers import customer_view
    from gateway.services.outbound.deliveries import NotFound

    with fails_on(NotFound), cli_context(ctx).session() as session:
        view = customer_view(session, tenant, receiver_id, on=_on(date))
    if as_json:
        print_json(view)
        return
    _print_customer(view)


def _print_customer(view: dict[str, Any]) -> None:
    title = f"customer {view['receiver_id']}" + (f" - {view['name']}" if view["name"] else "")
    facts = Table.grid(padding=(0, 2))
    facts.add_column(style="bold")
    facts.add_column()
    limit = view["credit_limit"] or "none"
    facts.add_row("credit limit", limit + ("  [red]OVER[/red]" if view["over_limit"] else ""))
    facts.add_row("risk flag", view["risk_flag"] or "-")
    facts.add_row("statements", "yes" if view["statements"] else "no")
    disputes, promises, follow_up = view["disputes"], view["promises"], view["follow_up"]
    facts.add_row("open disputes", f"{disputes['count']} ({disputes['amount']})")
    facts.add_row(
        "promises",
        f"{promises['open']} open ({promises['open_amount']}), {promises['kept']} kept, "
        f"{promises['broken']} broken",
    )
    facts.add_row("average days late", f"{view['average_days_late'] or '-'} ({view['paid_invoices']} paid)")
    facts.add_row(
        "follow-up",
        f"level {follow_up['level_reached']}, {follow_up['notices_sent']} notices sent, "
        f"{follow_up['handed_off']} handed off",
    )
    console.print(f"[bold]{title}[/bold] on {view['on']}")
    console.print(facts)
    print_table(
        ("currency", "balance", "overdue", "overdue count", "headroom"),
        [
            (b["currency"], b["balance"], b["overdue_amount"], str(b["overdue_count"]), b["headroom"] or "-")
            for b in view["balances"]
        ],
    )


@collection_app.command("candidates")
def collection_candidates(
    ctx: typer.Context, tenant: TenantOption = "", date: DateOption = None, as_json: JsonFlag = False
) -> None:
    """Open invoices past the last level whose deadline has passed (not disputed, promised or handed off)."""
    from gateway.services.followup.collection import collection_candidates as candidates

    with cli_context(ctx).session() as session:
        items = [c.as_dict() for c in candidates(session, tenant, on=_on(date))]
    if as_json:
        print_json({"items": items, "next": None})
        return
    print_table(
        ("invoice", "number", "receiver", "due", "open", "currency", "level", "deadline"),
        [
            (i["invoice_id"], i["number"], i["receiver_id"] or "", i["due_date"] or "", i["open_amount"],
             i["currency"], str(i["level"]), i["last_deadline"] or "")
            for i in items
        ],
    )  # fmt: skip


@collection_app.command("export")
def collection_export(
    ctx: typer.Context,
    invoice: Annotated[list[str] | None, typer.Option("--invoice", help="only these invoice ids")] = None,
    output: Annotated[Path | None, typer.Option("-o", "--output", help="write the CSV here")] = None,
    tenant: TenantOption = "",
    date: DateOption = None,
) -> None:
    """Hand the candidates to collection: the CSV (UTF-8 with BOM, `;`) to FILE (or its name in the
    document store), each invoice marked handed off so follow-up stops."""
    from gateway.services.followup.collection import CollectionRefused, export_candidates

    context = cli_context(ctx)
    with fails_on(CollectionRefused), context.session() as session:
        export = export_candidates(
            session, context.document_store, tenant, on=_on(date), actor=OPERATOR, invoice_ids=invoice or None
        )
    if output is not None:
        try:
            output.write_bytes(export.data)
        except OSError as error:
            fail(f"{output}: {error.strerror}; the export is kept as {export.export_id}")
    console.print(
        f"export {export.export_id}: {len(export.invoices)} invoice(s) handed off"
        + (
            f", written to {output}"
            if output
            else f" ({export.filename}; GET /collection/exports/{export.export_id})"
        )
    )


@statements_app.command("run")
def statements_run(
    ctx: typer.Context,
    tenant: TenantOption = "",
    date: DateOption = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="say what would be written; write nothing")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """One statement of all open items per statement customer (profile `statements`, tenant switch on)."""
    from gateway.services.followup.statements import run_statements

    on = _on(date)
    context = cli_context(ctx)
    with context.session() as session:
        found = run_statements(
            session, tenant, on=on, actor=OPERATOR, settings=context.settings, dry_run=dry_run
        )
        results = [r.as_dict() for r in found]
    if as_json:
        print_json({"date": on.isoformat(), "dry_run": dry_run, "statements": results})
        return
    print_table(
        ("receiver", "currency", "items", "total", "status", "notice"),
        [
            (r["receiver_id"], r["currency"], str(r["items"]), r["total"], r["skipped"] or r["status"],
             r["notice_id"] or "")
            for r in results
        ],
    )  # fmt: skip
