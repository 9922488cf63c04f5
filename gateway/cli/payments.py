"""`gateway remittance …`, `gateway payments …` and `gateway match`: money in, matched, explained.

Kept apart from `gateway/cli.py` (which registers these) because credit control is its own desk: files
in, the run and its report, the exception queue and the person's answers.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.table import Table

from gateway.cli.common import OPERATOR, SftpOption, TenantOption, _engine, _fail, console, load_sftp_settings
from gateway.settings import Settings

remittance_app = typer.Typer(
    help="Remittance files: bank (camt), Nets OCR giro, REMADV, X12 820.", no_args_is_help=True
)
payments_app = typer.Typer(
    help="Payments: the exception queue, people's answers, the export.", no_args_is_help=True
)

JsonOption = Annotated[bool, typer.Option("--json", help="print JSON")]


def _print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


def _receipt_table(rows: list[dict[str, Any]]) -> Table:
    table = Table("file", "outcome", "format", "payments", "duplicates", "reason")
    for row in rows:
        error = row.get("error") or {}
        reason = f"{error.get('field')}: {error.get('reason')}" if error else ""
        table.add_row(
            str(row.get("name", "")),
            str(row.get("outcome", "")),
            str(row.get("format") or ""),
            str(row.get("payments", "")),
            str(row.get("duplicate_payments", "")),
            reason,
        )
    return table


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

    settings = Settings()
    engine = _engine(ctx, settings)
    rows: list[dict[str, Any]] = []
    for path in files:
        if not path.is_file():
            _fail(f"{path}: no such file")
        receipt = remittances.receive_remittance(
            engine,
            document_store(settings),
            tenant_id=tenant,
            data=path.read_bytes(),
            filename=path.name,
            source="cli",
            actor=OPERATOR,
            max_bytes=settings.max_remittance_bytes,
        )
        rows.append({"name": path.name, **receipt.as_dict()})
    run = payments.run_matching(engine, tenant).as_dict() if match else None
    if as_json:
        _print_json({"files": rows, "matching": run})
    else:
        console.print(_receipt_table(rows))
        if run:
            console.print(f"matching: {run['outcomes']} in {run['seconds']} s")
    if any(row["status"] == "rejected" for row in rows):
        raise typer.Exit(2)


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
    from transports.sftp import SftpError

    settings = Settings()
    engine = _engine(ctx, settings)
    if sftp is None:
        if not Path(directory).is_dir():
            _fail(f"{directory}: not a directory")
        items = remittances.receive_remittance_folder(
            engine,
            document_store(settings),
            Path(directory),
            tenant,
            OPERATOR,
            max_bytes=settings.max_remittance_bytes,
        )
    else:
        remote = load_sftp_settings(sftp)
        try:
            items = remittances.receive_remittance_sftp(
                engine,
                document_store(settings),
                remote,
                directory,
                tenant,
                OPERATOR,
                max_bytes=settings.max_remittance_bytes,
            )
        except SftpError as error:
            _fail(f"SFTP: {error}")
            return
    table = Table("file", "outcome", "file id", "reason")
    for item in items:
        table.add_row(item.name, item.outcome, item.file_id or "", item.reason or "")
    console.print(table)
    if match and any(item.outcome == "accepted" for item in items):
        console.print(f"matching: {payments.run_matching(engine, tenant).as_dict()['outcomes']}")
    if any(item.outcome == "rejected" for item in items):
        raise typer.Exit(2)


@remittance_app.command("list")
def remittance_list(
    ctx: typer.Context,
    tenant: TenantOption = "default",
    status: Annotated[str | None, typer.Option(help="accepted or rejected")] = None,
    as_json: JsonOption = False,
) -> None:
    """Received files, newest first."""
    from db.engine import session_scope
    from gateway.services.payments import remittances

    with session_scope(_engine(ctx, Settings())) as session:
        views = [remittances.file_view(f) for f in remittances.list_files(session, tenant, status=status)]
    if as_json:
        _print_json(views)
        return
    table = Table("id", "received", "format", "status", "payments", "credit total", "file", "reason")
    for view in views:
        error = view["error"] or {}
        table.add_row(
            view["id"],
            view["received_at"][:19],
            view["format"] or "",
            view["status"],
            str(view["payments"]),
            f"{view['credit_total'] or ''} {view['currency'] or ''}",
            view["filename"] or "",
            f"{error.get('field')}: {error.get('reason')}" if error else "",
        )
    console.print(table)


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
    from db.engine import session_scope
    from gateway.services.payments import matching_runs as payments

    with session_scope(_engine(ctx, Settings())) as session:
        found = [
            payments.payment_summary(p)
            for p in payments.list_payments(session, tenant, status=status, limit=limit)
        ]
    if as_json:
        _print_json(found)
        return
    table = Table("id", "status", "amount", "payer", "confidence", "invoices", "note")
    for row in found:
        confidence = "" if row["confidence"] is None else f"{row['confidence']:.2f}"
        table.add_row(
            row["id"],
            row["status"],
            f"{row['amount']} {row['currency']}",
            row["payer_name"] or "",
            confidence,
            ", ".join(row["invoices"]),
            (row["note"] or "")[:80],
        )
    console.print(table)


@payments_app.command("show")
def payments_show(ctx: typer.Context, payment_id: str, tenant: TenantOption = "default") -> None:
    """One payment with the engine's evidence and suggestions (JSON)."""
    from db.engine import session_scope
    from gateway.services.payments import matching_runs as payments

    with session_scope(_engine(ctx, Settings())) as session:
        try:
            _print_json(payments.payment_view(session, payments.get_payment(session, tenant, payment_id)))
        except payments.PaymentNotFound as error:
            _fail(str(error))


def _allocations(values: list[str]) -> list[tuple[str, Decimal]]:
    parsed: list[tuple[str, Decimal]] = []
    for value in values:
        invoice_id, _, amount = value.partition("=")
        try:
            parsed.append((invoice_id.strip(), Decimal(amount.strip())))
        except InvalidOperation:
            _fail(f"--invoice {value!r}: write INVOICE_ID=AMOUNT, e.g. 01HX…=1250.00")
    return parsed


def _run_action(action: Any) -> None:
    from gateway.services.payments import matching_runs as payments

    try:
        _print_json(action())
    except payments.PaymentNotFound as error:
        _fail(str(error))
    except payments.ResolutionRefused as error:
        _fail(str(error), code=2)


@payments_app.command("resolve")
def payments_resolve(
    ctx: typer.Context,
    payment_id: str,
    invoice: Annotated[list[str], typer.Option(help="INVOICE_ID=AMOUNT; repeat for several invoices")],
    reason: Annotated[str | None, typer.Option(help="why (kept in the history)")] = None,
    write_off: Annotated[str, typer.Option(help="short amount written off")] = "0",
    learn: Annotated[
        bool, typer.Option(help="remember the payer's account, name and reference pattern")
    ] = True,
    tenant: TenantOption = "default",
) -> None:
    """Say which invoices a payment settles; the gateway learns from it for next time."""
    from gateway.services.payments import matching_runs as payments

    engine = _engine(ctx, Settings())
    _run_action(
        lambda: payments.resolve_payment(
            engine,
            tenant,
            payment_id,
            _allocations(invoice),
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

    engine = _engine(ctx, Settings())
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

    engine = _engine(ctx, Settings())
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

    engine = _engine(ctx, Settings())
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

    from db.engine import session_scope
    from db.models import InvoiceRecord, PaymentAllocation, PaymentRecord

    if output_format not in ("csv", "json"):
        _fail("--format is csv or json")
    when = dt.datetime.fromisoformat(since) if since else None
    with session_scope(_engine(ctx, Settings())) as session:
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
    from db.engine import session_scope
    from gateway.services.payments import matching_runs as payments

    engine = _engine(ctx, Settings())
    result: dict[str, Any] = {}
    if run:
        try:
            result["run"] = payments.run_matching(engine, tenant).as_dict()
        except payments.MatchingBusy as error:
            _fail(str(error))
    if report:
        when = dt.datetime.fromisoformat(since) if since else None
        with session_scope(engine) as session:
            result["report"] = payments.match_report(session, tenant, since=when, file_id=file_id)
    if as_json:
        _print_json(result)
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
