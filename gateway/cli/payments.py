"""`gateway remittance …`, `gateway payments …` and `gateway match`: money in, matched, explained.

Credit control is its own desk: files in, the run and its report, the exception queue and the person's
answers.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from collections.abc import Callable, Iterator
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.common import (
    OPERATOR,
    USAGE,
    JsonFlag,
    OutputOption,
    SftpOption,
    TenantOption,
    exit_if_rejected,
    fail,
    fails_on,
    output_format,
    print_items,
    print_json,
    print_lines,
    print_table,
    read_drop,
    read_input,
    stdout_is_terminal,
    summary_lines,
    tracked,
    working,
)
from gateway.cli.context import cli_context

if TYPE_CHECKING:
    from gateway.services.payments.intake import MatchingStep

remittance_app = typer.Typer(
    help="Remittance files: bank (camt), Nets OCR giro, REMADV, X12 820.", no_args_is_help=True
)
payments_app = typer.Typer(
    help="Payments: the exception queue, people's answers, the export.", no_args_is_help=True
)

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
    tenant: TenantOption = "",
    match: Annotated[bool, typer.Option(help="match the new payments right away")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Take in remittance files: each is read whole or refused whole (kept, with the reason); the new
    payments are matched at once when a file was accepted."""
    from gateway.services.payments.intake import RemittanceUpload, receive_and_match, zip_limits
    from gateway.services.payments.remittances import RemittanceNameRefused, check_remittance_filename

    for path in files:
        if not path.is_file():
            read_input(path)  # not there, or a folder: exit 2 before anything is read
        with fails_on(RemittanceNameRefused, code=USAGE):
            check_remittance_filename(path.name)
    cli = cli_context(ctx)
    settings = cli.settings
    intake = receive_and_match(
        cli.engine,
        cli.document_store,
        (RemittanceUpload(read_input(path), path.name) for path in tracked(files, "remittance files")),
        tenant_id=tenant,
        source="cli",
        actor=OPERATOR,
        max_bytes=settings.max_remittance_bytes,
        match=match,
        limits=zip_limits(settings),
    )
    # a statement zip gives one row per member (`<zip>#<member>`)
    rows = [{"name": received.name or "", **received.receipt.as_dict()} for received in intake.files]
    run = intake.matching_answer()
    if as_json:
        print_json({"files": rows, "matching": run})
    else:
        print_table(RECEIPT_COLUMNS, map(_receipt_row, rows), keys=("file",))
        _print_matching(intake)
    exit_if_rejected(any(row["status"] == "rejected" for row in rows))


def _print_matching(step: MatchingStep) -> None:
    """The run's outcomes, or why matching was left to the worker; nothing when there was nothing new."""
    if step.matching is not None:
        run = step.matching.as_dict()
        print_lines([f"matching: {run['outcomes']} in {run['seconds']} s"])
    elif step.matching_deferred is not None:
        print_lines([f"matching: {step.matching_deferred}"])


@remittance_app.command("drop")
def remittance_drop(
    ctx: typer.Context,
    directory: Annotated[str, typer.Argument(help="local folder, or the remote folder with --sftp")],
    tenant: TenantOption = "",
    sftp: SftpOption = None,
    match: Annotated[bool, typer.Option(help="match the new payments right away")] = True,
) -> None:
    """Read a drop folder (or pull from the bank's SFTP folder): files go to done/ or rejected/."""

    from gateway.services.payments.intake import receive_drop_and_match, zip_limits

    cli = cli_context(ctx)
    settings = cli.settings
    intake = read_drop(
        directory,
        sftp,
        lambda folder: receive_drop_and_match(
            cli.engine,
            cli.document_store,
            folder,
            tenant_id=tenant,
            actor=OPERATOR,
            max_bytes=settings.max_remittance_bytes,
            match=match,
            limits=zip_limits(settings),
        ),
    )
    print_table(
        ("file", "outcome", "file id", "reason"),
        ((item.name, item.outcome, item.file_id or "", item.reason or "") for item in intake.items),
        keys=("file", "file id"),
    )
    _print_matching(intake)
    exit_if_rejected(any(item.outcome == "rejected" for item in intake.items))


@remittance_app.command("list")
def remittance_list(
    ctx: typer.Context,
    tenant: TenantOption = "",
    status: Annotated[str | None, typer.Option(help="accepted or rejected")] = None,
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """Received files, newest first."""
    from gateway.services.payments import remittances

    shape = output_format(as_json, output)
    with cli_context(ctx).session() as session:
        views = [remittances.file_view(f) for f in remittances.list_files(session, tenant, status=status)]
    print_items(
        views,
        output=shape,
        keys=("id", "file"),
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
    tenant: TenantOption = "",
    status: Annotated[
        str | None, typer.Option(help="new, applied, exception, needs_approval, resolved, reconciled, …")
    ] = None,
    limit: int = 100,
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """Payments and what became of them; `--status exception` is the work queue."""
    from gateway.services.payments import matching_runs as payments

    shape = output_format(as_json, output)
    with cli_context(ctx).session() as session:
        found = [
            payments.payment_summary(p)
            for p in payments.list_payments(session, tenant, status=status, limit=limit)
        ]
    print_items(
        found,
        output=shape,
        keys=("id", "payer", "invoices"),
        columns=("id", "status", "amount", "payer", "confidence", "invoices", "note"),
        row=lambda row: (
            row["id"],
            row["status"],
            f"{row['amount']} {row['currency']}",
            row["payer_name"] or "",
            "" if row["confidence"] is None else f"{row['confidence']:.2f}",
            ", ".join(row["invoices"]),
            row["note"] or "",
        ),
    )


@payments_app.command("show")
def payments_show(
    ctx: typer.Context, payment_id: str, tenant: TenantOption = "", as_json: JsonFlag = False
) -> None:
    """One payment with the engine's evidence and suggestions (a summary; --json for everything)."""
    from gateway.services.payments import matching_runs as payments

    with fails_on(payments.PaymentNotFound), cli_context(ctx).session() as session:
        view = payments.payment_view(session, payments.get_payment(session, tenant, payment_id))
    if as_json:
        print_json(view)
        return
    print_lines(_payment_lines(view))
    details = {key: view[key] for key in ("remittance", "decision") if view.get(key)}
    print_lines(summary_lines(details, "  "))


@payments_app.command("checkouts")
def payments_checkouts(
    ctx: typer.Context,
    tenant: TenantOption = "",
    status: Annotated[str | None, typer.Option(help="open, paid, expired, declined or failed")] = None,
    customer: Annotated[str | None, typer.Option(help="only this customer's (its receiver id)")] = None,
    limit: int = 100,
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """The portal's card checkouts, newest first: customer, invoices, amount, provider, status, and the
    provider events of each (--json)."""
    from gateway.services.portal import card_payments

    if status is not None and status not in card_payments.CHECKOUT_STATUSES:
        fail(f"--status: one of {', '.join(card_payments.CHECKOUT_STATUSES)}", USAGE)
    shape = output_format(as_json, output)
    with cli_context(ctx).session() as session:
        found = card_payments.list_card_checkouts(
            session, tenant, status=status, receiver_id=customer, limit=max(1, limit)
        )
    print_items(
        found,
        output=shape,
        keys=("id", "customer", "invoices"),
        columns=("id", "customer", "invoices", "amount", "provider", "status", "created", "events"),
        row=lambda row: (
            row["id"],
            row["customer_name"] or row["receiver_id"],
            ", ".join(str(invoice["number"]) for invoice in row["invoices"]),
            f"{row['amount']} {row['currency']}",
            row["provider"],
            row["status"],
            str(row["created_at"] or "")[:16],
            ", ".join(f"{event['event_type']}: {event['outcome']}" for event in row["events"]),
        ),
    )


@payments_app.command("payouts")
def payments_payouts(
    ctx: typer.Context,
    tenant: TenantOption = "",
    status: Annotated[str | None, typer.Option(help="announced or reconciled")] = None,
    limit: int = 100,
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """The payment providers' payouts, newest first: net, gross, fees, arrival, and whether the bank
    statement's entry for it was found (reconciled, with that bank payment's id)."""
    from gateway.services.portal import card_payments

    if status is not None and status not in card_payments.PAYOUT_STATUSES:
        fail(f"--status: one of {', '.join(card_payments.PAYOUT_STATUSES)}", USAGE)
    shape = output_format(as_json, output)
    with cli_context(ctx).session() as session:
        found = card_payments.list_card_payouts(session, tenant, status=status, limit=max(1, limit))
    print_items(
        found,
        output=shape,
        keys=("id", "reference", "bank payment"),
        columns=("id", "provider", "reference", "net", "gross", "fees", "arrival", "advices", "status",
                 "bank payment"),
        row=lambda row: (
            row["id"],
            row["provider"],
            row["payout_reference"],
            f"{row['amount']} {row['currency']}",
            row["gross"],
            row["fees"],
            row["arrival_date"] or "",
            str(row["advices"]),
            row["status"],
            row["bank_payment_id"] or "",
        ),
    )  # fmt: skip


def _payment_lines(view: dict[str, Any], learned: dict[str, Any] | None = None) -> Iterator[str]:
    """A payment for a person: what it is, what became of it, and what it is applied to."""
    payer = view["payer_name"] or view["payer_account"] or "an unknown payer"
    yield (
        f"payment {view['id']}: {view['status']} - {view['amount']} {view['currency']} from {payer}"
        + (f", booked {view['booking_date']}" if view["booking_date"] else "")
    )
    if view["decided_by"]:
        yield f"  decided by {view['decided_by']} at {view['decided_at'][:19].replace('T', ' ')}" + (
            f": {view['note']}" if view["note"] else ""
        )
    if view["applied_amount"] is not None:
        yield (
            f"  applied {view['applied_amount']}, written off {view['write_off'] or '0'}, "
            f"unapplied {view['unapplied'] if view['unapplied'] is not None else '-'}"
        )
    for allocation in view["allocations"]:
        state = f" (reversed by {allocation['reversed_by']})" if allocation["reversed_at"] else ""
        yield f"  {allocation['number']}  {allocation['amount']}  invoice {allocation['invoice_id']}{state}"
    for kind, values in (learned or {}).items():
        if values:
            yield f"  learned {kind}: {', '.join(_learned_text(value) for value in values)}"


def _learned_text(value: Any) -> str:
    """One thing learned: an account, a name, a pattern, or a customer group link."""
    if isinstance(value, dict) and {"customer", "parent"} <= value.keys():
        return f"{value['parent']} pays for {value['customer']}"
    return str(value)


def _allocations(values: list[str]) -> list[tuple[str, Decimal]]:
    parsed: list[tuple[str, Decimal]] = []
    for value in values:
        invoice_id, _, amount = value.partition("=")
        try:
            parsed.append((invoice_id.strip(), Decimal(amount.strip())))
        except InvalidOperation:
            fail(f"--invoice {value!r}: write INVOICE=AMOUNT, e.g. INV-1002=1250.00", USAGE)
    return parsed


def _run_action(action: Callable[[], dict[str, Any]], as_json: bool) -> None:
    """A person's answer on a payment, printed as a summary (or JSON); a refused answer or an unknown
    payment exits 1."""
    from gateway.services.payments import matching_runs as payments

    with fails_on(payments.PaymentNotFound), fails_on(payments.ResolutionRefused):
        result = action()
    if as_json:
        print_json(result)
        return
    view, learned = (result["payment"], result.get("learned")) if "payment" in result else (result, None)
    print_lines(_payment_lines(view, learned))


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
    tenant: TenantOption = "",
    as_json: JsonFlag = False,
) -> None:
    """Say which invoices a payment settles; the gateway learns from it for next time."""
    from gateway.services.outbound import lookup
    from gateway.services.outbound.deliveries import NotFound
    from gateway.services.payments import matching_runs as payments

    with fails_on(
        InvalidOperation, code=USAGE, describe=lambda _: f"--write-off {write_off!r}: not an amount"
    ):
        written_off = Decimal(write_off)
    cli = cli_context(ctx)
    with fails_on(NotFound, lookup.AmbiguousReference, code=USAGE), cli.session() as session:
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
            write_off=written_off,
            learn=learn,
        ),
        as_json,
    )


@payments_app.command("approve")
def payments_approve(
    ctx: typer.Context,
    payment_id: str,
    suggestion: Annotated[int, typer.Option(help="0 = the proposal / best suggestion")] = 0,
    reason: str | None = None,
    tenant: TenantOption = "",
    as_json: JsonFlag = False,
) -> None:
    """Book the engine's proposal (needs approval) or one of its ranked suggestions (exception)."""
    from gateway.services.payments import matching_runs as payments

    engine = cli_context(ctx).engine
    _run_action(
        lambda: payments.approve_payment(
            engine, tenant, payment_id, actor=OPERATOR, reason=reason, suggestion=suggestion
        ),
        as_json,
    )


@payments_app.command("ignore")
def payments_ignore(
    ctx: typer.Context,
    payment_id: str,
    reason: Annotated[str, typer.Option(help="why this is no invoice payment")],
    tenant: TenantOption = "",
    as_json: JsonFlag = False,
) -> None:
    """Not an invoice payment (a refund, a transfer): nothing is applied."""
    from gateway.services.payments import matching_runs as payments

    engine = cli_context(ctx).engine
    _run_action(
        lambda: payments.ignore_payment(engine, tenant, payment_id, actor=OPERATOR, reason=reason), as_json
    )


@payments_app.command("reverse")
def payments_reverse(
    ctx: typer.Context,
    payment_id: str,
    reason: Annotated[str, typer.Option(help="why it was wrong")],
    tenant: TenantOption = "",
    as_json: JsonFlag = False,
) -> None:
    """Take back what a payment applied; it waits as an exception again."""
    from gateway.services.payments import matching_runs as payments

    engine = cli_context(ctx).engine
    _run_action(
        lambda: payments.reverse_payment(engine, tenant, payment_id, actor=OPERATOR, reason=reason), as_json
    )


def _run_matching(engine: Any, tenant: str) -> dict[str, Any]:
    """One matching run for the tenant (a spinner while it runs); busy elsewhere is exit 1."""
    from gateway.services.payments import matching_runs as payments

    with fails_on(payments.MatchingBusy), working("matching payments"):
        return payments.run_matching(engine, tenant).as_dict()


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
    tenant: TenantOption = "",
    since: Annotated[str | None, typer.Option(help="ISO date-time: allocations made since then")] = None,
    export_format: Annotated[str, typer.Option("--format", help="csv or json")] = "csv",
) -> None:
    """Every allocation in force (automatic and by hand) for the ERP's ledger, one row per invoice."""
    from sqlalchemy import select
    from sqlmodel import col

    from db.models import InvoiceRecord, PaymentAllocation, PaymentRecord

    if export_format not in ("csv", "json"):
        fail("--format is csv or json", USAGE)
    when = _moment(since, "--since")
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
    if export_format == "json":
        sys.stdout.write(json.dumps(rows, indent=2) + "\n")
        return
    from mappings.csv_text import csv_record

    sys.stdout.write(csv_record(EXPORT_COLUMNS))
    for row in rows:
        sys.stdout.write(csv_record(str(row[column]) for column in EXPORT_COLUMNS))


def _moment(text: str | None, option: str) -> dt.datetime | None:
    """An ISO 8601 date-time option; anything else is a usage error (exit 2)."""
    if text is None:
        return None
    try:
        return dt.datetime.fromisoformat(text)
    except ValueError:
        fail(f"{option} {text!r}: not an ISO 8601 date-time, e.g. 2026-11-01 or 2026-11-01T08:00", USAGE)


def match(
    ctx: typer.Context,
    tenant: TenantOption = "",
    report: Annotated[
        bool, typer.Option("--report", help="print match rates (per payment and per invoice)")
    ] = False,
    since: Annotated[str | None, typer.Option(help="report on payments booked since (ISO date-time)")] = None,
    file_id: Annotated[str | None, typer.Option("--file", help="report on one remittance file")] = None,
    run: Annotated[bool, typer.Option(help="match new payments first")] = True,
    as_json: JsonFlag = False,
) -> None:
    """Match the tenant's new payments; with --report, the statistics: auto rate next to false-auto rate."""
    from gateway.services.payments import matching_runs as payments

    when = _moment(since, "--since")
    cli = cli_context(ctx)
    result: dict[str, Any] = {}
    if run:
        result["run"] = _run_matching(cli.engine, tenant)
    if report:
        with cli.session() as session:
            result["report"] = payments.match_report(session, tenant, since=when, file_id=file_id)
    if as_json:
        print_json(result)
        return
    if "run" in result:
        outcome = result["run"]
        print_lines(
            [
                f"matched {outcome['payments']} payments in {outcome['seconds']} s against "
                f"{outcome['open_items']} open items: {outcome['outcomes']}; invoices {outcome['invoices']}"
            ]
        )
    if "report" in result:
        _print_report(result["report"])


def _print_report(report: dict[str, Any]) -> None:
    per_payment, per_invoice = report["per_payment"], report["per_invoice"]
    rows = [
        ("payments to match", str(per_payment["matchable"]), str(per_payment["amount_matchable"])),
        (
            "applied automatically",
            f"{per_payment['auto_applied']} ({per_payment['auto_rate_pct']} %)",
            f"{per_payment['amount_auto_applied']} ({per_payment['auto_rate_by_amount_pct']} %)",
        ),
        (
            "false automatic (reversed / re-allocated by a person)",
            f"{per_payment['false_auto_applied']} ({per_payment['false_auto_rate_pct']} %)",
            f"{per_payment['false_auto_rate_by_amount_pct']} %",
        ),
        ("open exceptions", str(per_payment["open_exceptions"]), ""),
        ("awaiting approval", str(per_payment["awaiting_approval"]), ""),
        (
            "invoices with payments / settled automatically",
            f"{per_invoice['invoices_with_payments']} / {per_invoice['settled_automatically']} "
            f"({per_invoice['auto_rate_pct']} %)",
            f"{per_invoice['amount_applied']} / {per_invoice['amount_applied_automatically']}",
        ),
    ]
    print_table(("measure", "by count", "by amount"), rows)
    if stdout_is_terminal():
        print_lines([f"payments by status: {report['payments']['by_status']}"])
