"""`gateway remittance …`, `gateway payments …` and `gateway match`: money in, matched, explained.

Credit control is its own desk: files in, the run and its report, the exception queue and the person's
answers.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gateway.cli.common import (
    OPERATOR,
    SftpOption,
    TenantOption,
    console,
    exit_if_rejected,
    fail,
    fails_on,
    print_items,
    print_json,
    print_table,
    read_drop,
)
from gateway.cli.context import cli_context

remittance_app = typer.Typer(
    help="Remittance files: bank (camt), Nets OCR giro, REMADV, X12 820.", no_args_is_help=True
)
payments_app = typer.Typer(
    help="Payments: the exception queue, people's answers, the export.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]
RECEIPT_COLUMNS = ("file", "outcome", "format", "payments", "duplicates", "reason")


def _error_cell(error: dict[str, Any] | None) -> str:
    """A refused file's `field: reason`, or nothing."""
    return f"{error.get('field')}: {error.get('reason')}" if error else ""


def _receipt_row(row: dict[str, Any]) -> tuple[str, ...]:
    return (
        str(row.get("name", "")),
        str(row.get("outcome", "")),
        str(row.get("format") or ""),
        str(row.get("payments", "")),
        str(row.get("duplicate_payments", "")),
        _error_cell(row.get("error")),
    )


@remittance_app.command("receive")
def remittance_receive(
    ctx: typer.Context,
    files: Annotated[list[Path], typer.Argument(help="remittance files")],
    tenant: TenantOption = "default",
    match: Annotated[bool, typer.Option(help="match the new payments right away")] = True,
    as_json: JsonOption = False,
) -> None:
    """Take in remittance files: each is read whole or refused whole (kept, with the reason)."""
    from gateway.services.outbound.documents import document_store
    from gateway.services.payments import matching_runs as payments
    from gateway.services.payments import remittances

    cli = cli_context(ctx)
    settings = cli.settings
    rows: list[dict[str, Any]] = []
    for path in files:
        if not path.is_file():
            fail(f"{path}: no such file")
        receipt = remittances.receive_remittance(
            cli.engine,
            document_store(settings),
            tenant_id=tenant,
            data=path.read_bytes(),
            filename=path.name,
            source="cli",
            actor=OPERATOR,
            max_bytes=settings.max_remittance_bytes,
        )
        rows.append({"name": path.name, **receipt.as_dict()})
    run = payments.run_matching(cli.engine, tenant).as_dict() if match else None
    if as_json:
        print_json({"files": rows, "matching": run})
    else:
        print_table(RECEIPT_COLUMNS, map(_receipt_row, rows))
        if run:
            console.print(f"matching: {run['outcomes']} in {run['seconds']} s")
    exit_if_rejected(any(row["status"] == "rejected" for row in rows))


@remittance_app.command("drop")
def remittance_drop(
    ctx: typer.Context,
    directory: Annotated[str, typer.Argument(help="local folder, or the remote folder with --sftp")],
    tenant: TenantOption = "default",
    sftp: SftpOption = None,
    match: Annotated[bool, typer.Option(help="match the new payments right away")] = True,
) -> None:
    """Read a drop folder (or pull from the bank's SFTP folder): files go to done/ or rejected/."""

    from gateway.services.outbound.documents import document_store
    from gateway.services.payments import matching_runs as payments
    from gateway.services.payments import remittances

    cli = cli_context(ctx)
    settings = cli.settings
    items = read_drop(
        directory,
        sftp,
        local=lambda folder: remittances.receive_remittance_folder(
            cli.engine,
            document_store(settings),
            folder,
            tenant,
            OPERATOR,
            max_bytes=settings.max_remittance_bytes,
        ),
        remote=lambda remote, folder: remittances.receive_remittance_sftp(
            cli.engine,
            document_store(settings),
            remote,
            folder,
            tenant,
            OPERATOR,
            max_bytes=settings.max_remittance_bytes,
        ),
    )
    print_table(
        ("file", "outcome", "file id", "reason"),
        ((item.name, item.outcome, item.file_id or "", item.reason or "") for item in items),
    )
    if match and any(item.outcome == "accepted" for item in items):
        console.print(f"matching: {payments.run_matching(cli.engine, tenant).as_dict()['outcomes']}")
    exit_if_rejected(any(item.outcome == "rejected" for item in items))


@remittance_app.command("list")
def remittance_list(
    ctx: typer.Context,
    tenant: TenantOption = "default",
    status: Annotated[str | None, typer.Option(help="accepted or rejected")] = None,
    as_json: JsonOption = False,
) -> None:
    """Received files, newest first."""
    from gateway.services.payments import remittances

    with cli_context(ctx).session() as session:
        views = [remittances.file_view(f) for f in remittances.list_files(session, tenant, status=status)]
    print_items(
        views,
        as_json=as_json,
        columns=("id", "received", "format", "status", "payments", "credit total", "file", "reason"),
        row=lambda view: (
            view["id"],
            view["received_at"][:19],
            view["format"] or "",
            view["status"],
            str(view["payments"]),
            f"{view['credit_total'] or ''} {view['currency'] or ''}",
            view["filename"] or "",
            _error_cell(view["error"]),
        ),
    )


@payments_app.command("list")
def payments_list(
    ctx: typer.Context,
    tenant: TenantOption = "default",
    status: Annotated[
        str | None, typer.Option(help="new, applied, exception, needs_approval, resolved, …")
    ] = None,
    limit: int = 100,
    as_json: JsonOption = False,
) -> None:
    """Payments and what became of them; `--status exception` is the work queue."""
    from gateway.services.payments import matching_runs as payments

    with cli_context(ctx).session() as session:
        found = [
            payments.payment_summary(p)
            for p in payments.list_payments(session, tenant, status=status, limit=limit)
        ]
    print_items(
        found,
        as_json=as_json,
        columns=("id", "status", "amount", "payer", "confidence", "invoices", "note"),
        row=lambda row: (
            row["id"],
            row["status"],
            f"{row['amount']} {row['currency']}",
            row["payer_name"] or "",
            "" if row["confidence"] is None else f"{row['confidence']:.2f}",
            ", ".join(row["invoices"]),
            (row["note"] or "")[:80],
        ),
    )


@payments_app.command("show")
def payments_show(ctx: typer.Context, payment_id: str, tenant: TenantOption = "default") -> None:
    """One payment with the engine's evidence and suggestions (JSON)."""
    from gateway.services.payments import matching_runs as payments

    with fails_on(payments.PaymentNotFound), cli_context(ctx).session() as session:
        print_json(payments.payment_view(session, payments.get_payment(session, tenant, payment_id)))


def _allocations(values: list[str]) -> list[tuple[str, Decimal]]:
    parsed: list[tuple[str, Decimal]] = []
    for value in values:
        invoice_id, _, amount = value.partition("=")
        try:
            parsed.append((invoice_id.strip(), Decimal(amount.strip())))
        except InvalidOperation:
            fail(f"--invoice {value!r}: write INVOICE=AMOUNT, e.g. INV-1002=1250.00")
    return parsed


def _run_action(action: Callable[[], Any]) -> None:
    """A person's answer on a payment, printed as JSON; a refused answer exits 2, an unknown payment 1."""
    from gateway.services.payments import matching_runs as payments

    with fails_on(payments.PaymentNotFound), fails_on(payments.ResolutionRefused, code=2):
        print_json(action())


@payments_app.command("resolve")
def payments_resolve(
    ctx: typer.Context,
    payment_id: str,
    invoice: Annotated[
        list[str],
        typer.Option(help="INVOICE=AMOUNT (its number, id or id's start); repeat for several invoices"),
    ],
    reason: Annotated[str | None, typer.Option(help="why (kept in the history)")] = None,
    write_off: Annotated[str, typer.Option(help="short amount written off")] = "0",
    learn: Annotated[
        bool, typer.Option(help="remember the payer's account, name and reference pattern")
    ] = True,
    tenant: TenantOption = "default",
) -> None:
    """Say which invoices a payment settles; the gateway learns from it for next time."""
    from gateway.services.outbound import lookup
    from gateway.services.outbound.deliveries import NotFound
    from gateway.services.payments import matching_runs as payments

    cli = cli_context(ctx)
    with fails_on(NotFound, lookup.AmbiguousReference, code=2), cli.session() as session:
        allocations = [
            (lookup.find_invoice(session, tenant, reference, prefix=True).id, amount)
            for reference, amount in _allocations(invoice)
        ]
    engine = cli.engine
    _run_action(
        lambda: payments.resolve_payment(
            engine,
            tenant,
            payment_id,
            allocations,
            actor=OPERATOR,
            reason=reason,
            write_off=Decimal(write_off),
            learn=learn,
        )
    )


@payments_app.command("approve")
def payments_approve(
    ctx: typer.Context,
    payment_id: str,
    suggestion: Annotated[int, typer.Option(help="0 = the proposal / best suggestion")] = 0,
    reason: str | None = None,
    tenant: TenantOption = "default",
) -> None:
    """Book the engine's proposal (needs approval) or one of its ranked suggestions (exception)."""
    from gateway.services.payments import matching_runs as payments

    engine = cli_context(ctx).engine
    _run_action(
        lambda: payments.approve_payment(
            engine, tenant, payment_id, actor=OPERATOR, reason=reason, suggestion=suggestion
        )
    )


@payments_app.command("ignore")
def payments_ignore(
    ctx: typer.Context,
    payment_id: str,
    reason: Annotated[str, typer.Option(help="why this is no invoice payment")],
    tenant: TenantOption = "default",
) -> None:
    """Not an invoice payment (a refund, a transfer): nothing is applied."""
    from gateway.services.payments import matching_runs as payments

    engine = cli_context(ctx).engine
    _run_action(lambda: payments.ignore_payment(engine, tenant, payment_id, actor=OPERATOR, reason=reason))


@payments_app.command("reverse")
def payments_reverse(
    ctx: typer.Context,
    payment_id: str,
    reason: Annotated[str, typer.Option(help="why it was wrong")],
    tenant: TenantOption = "default",
) -> None:
    """Take back what a payment applied; it waits as an exception again."""
    from gateway.services.payments import matching_runs as payments

    engine = cli_context(ctx).engine
    _run_action(lambda: payments.reverse_payment(engine, tenant, payment_id, actor=OPERATOR, reason=reason))


EXPORT_COLUMNS = (
    "payment_id",
    "booking_date",
    "value_date",
    "payer_name",
    "payer_account",
    "bank_reference",
    "payment_amount",
    "currency",
    "invoice_id",
    "invoice_number",
    "applied_amount",
    "write_off",
    "applied_by",
    "applied_at",
)


@payments_app.command("export")
def payments_export(
    ctx: typer.Context,
    tenant: TenantOption = "default",
    since: Annotated[str | None, typer.Option(help="ISO date-time: allocations made since then")] = None,
    output_format: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
) -> None:
    """Every allocation in force (automatic and by hand) for the ERP's ledger, one row per invoice."""
    from sqlalchemy import select
    from sqlmodel import col

    from db.models import InvoiceRecord, PaymentAllocation, PaymentRecord

    if output_format not in ("csv", "json"):
        fail("--format is csv or json")
    when = dt.datetime.fromisoformat(since) if since else None
    with cli_context(ctx).session() as session:
        query = (
            select(PaymentAllocation, PaymentRecord, col(InvoiceRecord.number))
            .join(PaymentRecord, col(PaymentRecord.id) == col(PaymentAllocation.payment_id))
            .join(InvoiceRecord, col(InvoiceRecord.id) == col(PaymentAllocation.invoice_id))
            .where(col(PaymentAllocation.tenant_id) == tenant, col(PaymentAllocation.reversed_at).is_(None))
            .order_by(col(PaymentAllocation.created_at))
        )
        if when is not None:
            query = query.where(col(PaymentAllocation.created_at) >= when)
        rows = [
            {
                "payment_id": payment.id,
                "booking_date": payment.booking_date.isoformat() if payment.booking_date else "",
                "value_date": payment.value_date.isoformat() if payment.value_date else "",
                "payer_name": payment.payer_name or "",
                "payer_account": payment.payer_account or "",
                "bank_reference": payment.bank_reference or "",
                "payment_amount": payment.amount,
                "currency": payment.currency,
                "invoice_id": allocation.invoice_id,
                "invoice_number": number,
                "applied_amount": allocation.amount,
                "write_off": allocation.write_off,
                "applied_by": allocation.created_by,
                "applied_at": allocation.created_at.isoformat(),
            }
            for allocation, payment, number in session.execute(query).all()
        ]
    if output_format == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    writer = csv.DictWriter(sys.stdout, fieldnames=EXPORT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: _csv_safe(str(v)) for k, v in row.items()})


def _csv_safe(text: str) -> str:
    """A cell a spreadsheet would run as a formula is neutralised (payer names come from strangers)."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") and not _is_number(text) else text


def _is_number(text: str) -> bool:
    try:
        Decimal(text)
    except InvalidOperation:
        return False
    return True


def match(
    ctx: typer.Context,
    tenant: TenantOption = "default",
    report: Annotated[
        bool, typer.Option("--report", help="print match rates (per payment and per invoice)")
    ] = False,
    since: Annotated[str | None, typer.Option(help="report on payments booked since (ISO date-time)")] = None,
    file_id: Annotated[str | None, typer.Option("--file", help="report on one remittance file")] = None,
    run: Annotated[bool, typer.Option(help="match new payments first")] = True,
    as_json: JsonOption = False,
) -> None:
    """Match the tenant's new payments; with --report, the statistics: auto rate next to false-auto rate."""
    from gateway.services.payments import matching_runs as payments

    cli = cli_context(ctx)
    result: dict[str, Any] = {}
    if run:
        with fails_on(payments.MatchingBusy):
            result["run"] = payments.run_matching(cli.engine, tenant).as_dict()
    if report:
        when = dt.datetime.fromisoformat(since) if since else None
        with cli.session() as session:
            result["report"] = payments.match_report(session, tenant, since=when, file_id=file_id)
    if as_json:
        print_json(result)
        return
    if "run" in result:
        outcome = result["run"]
        console.print(
            f"matched {outcome['payments']} payments in {outcome['seconds']} s against "
            f"{outcome['open_items']} open items: {outcome['outcomes']}; invoices {outcome['invoices']}"
        )
    if "report" in result:
        _print_report(result["report"])


def _print_report(report: dict[str, Any]) -> None:
    per_payment, per_invoice = report["per_payment"], report["per_invoice"]
    table = Table("measure", "by count", "by amount")
    table.add_row("payments to match", str(per_payment["matchable"]), per_payment["amount_matchable"])
    table.add_row(
        "applied automatically",
        f"{per_payment['auto_applied']} ({per_payment['auto_rate_pct']} %)",
        f"{per_payment['amount_auto_applied']} ({per_payment['auto_rate_by_amount_pct']} %)",
    )
    table.add_row(
        "false automatic (reversed / re-allocated by a person)",
        f"{per_payment['false_auto_applied']} ({per_payment['false_auto_rate_pct']} %)",
        f"{per_payment['false_auto_rate_by_amount_pct']} %",
    )
    table.add_row("open exceptions", str(per_payment["open_exceptions"]), "")
    table.add_row("awaiting approval", str(per_payment["awaiting_approval"]), "")
    table.add_row(
        "invoices with payments / settled automatically",
        f"{per_invoice['invoices_with_payments']} / {per_invoice['settled_automatically']} "
        f"({per_invoice['auto_rate_pct']} %)",
        f"{per_invoice['amount_applied']} / {per_invoice['amount_applied_automatically']}",
    )
    console.print(table)
    console.print(f"payments by status: {report['payments']['by_status']}")
