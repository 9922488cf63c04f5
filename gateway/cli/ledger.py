"""`gateway ledger …`: the ledger hand-off — posting the receivables journal and reading its vouchers and
balances, the monthly journal files (GBAT10, CSV, JSON) that close a month, their numbered exports, the
periods, and the SAF-T Financial file of a date range."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli.common import (
    OPERATOR,
    USAGE,
    JsonFlag,
    TenantOption,
    console,
    errors,
    fail,
    fails_on,
    print_json,
    print_lines,
    print_table,
)
from gateway.cli.context import cli_context
from gateway.services.ledger.errors import LedgerRefused

ledger_app = typer.Typer(
    help="Ledger hand-off: posting, vouchers and balances, monthly journal files (GBAT10, CSV, JSON), "
    "numbered exports, periods, SAF-T files.",
    no_args_is_help=True,
)

PeriodOption = Annotated[str, typer.Option("--period", help="the month, YYYY-MM (it must have ended)")]
FormatOption = Annotated[str, typer.Option("--format", help="gbat10, csv or json")]


@ledger_app.command("journal")
def ledger_journal(
    ctx: typer.Context,
    period: PeriodOption,
    fmt: FormatOption = "gbat10",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="write the file here (default: to stdout)")
    ] = None,
    tenant: TenantOption = "",
    as_json: Annotated[
        bool, typer.Option("--json", help="print the export record as JSON instead of the file")
    ] = False,
) -> None:
    """Export a period's journal: post what is not posted up to its last day, write the file, number the
    run and close the period. A closed period again: the same bytes as its first export in that format."""
    from gateway.services.followup.credit import today_in
    from gateway.services.ledger import exports

    context = cli_context(ctx)
    with fails_on(LedgerRefused):
        export = exports.export_journal(
            context.engine, context.settings, tenant, period, fmt, OPERATOR,
            post=exports.POST_BEFORE_EXPORT, today=today_in(), store=context.document_store,
        )  # fmt: skip
    view = exports.export_view(export)
    if output is not None or not as_json:
        with context.session() as session:
            _, _, data = exports.export_file(session, context.document_store, tenant, export.id)
        if output is None:
            typer.echo(data, nl=False)
        else:
            try:
                output.write_bytes(data)
            except OSError as error:
                fail(
                    f"{output}: {error.strerror}; the export is kept as number {export.number} ({export.id})"
                )
    if as_json:
        print_json(view)
        return
    where = f"written to {output}" if output else view["filename"]
    errors.print(
        f"export {export.number}: {period} as {fmt}, {export.voucher_count} voucher(s), {where} "
        f"(GET {view['download']})",
        soft_wrap=True,
    )


@ledger_app.command("exports")
def ledger_exports(
    ctx: typer.Context,
    tenant: TenantOption = "",
    limit: Annotated[int, typer.Option("--limit", min=1, max=1000, help="how many (newest first)")] = 100,
    before: Annotated[int | None, typer.Option("--before", min=1, help="only those numbered below")] = None,
    as_json: JsonFlag = False,
) -> None:
    """The numbered exports kept (journal files and SAF-T), newest first."""
    from gateway.services.ledger import exports

    with cli_context(ctx).session() as session:
        found = exports.list_exports(session, tenant, limit=limit + 1, before=before)
        items = [exports.export_view(export) for export in found[:limit]]
    if as_json:
        following = f"--before {items[-1]['number']}" if len(found) > limit else None
        print_json({"items": items, "next": following})
        return
    print_table(
        ("no", "period", "format", "vouchers", "bytes", "created", "by", "id"),
        [
            (str(i["number"]), i["period"], i["format"], str(i["vouchers"]), str(i["size"]),
             i["created_at"][:19], i["created_by"], i["id"])
            for i in items
        ],
        keys=("no", "id"),
    )  # fmt: skip


@ledger_app.command("periods")
def ledger_periods(ctx: typer.Context, tenant: TenantOption = "", as_json: JsonFlag = False) -> None:
    """The periods with vouchers or a status, newest first: open or closed (by which export), the number of
    vouchers, debit and credit totals."""
    from gateway.services.ledger import exports

    with cli_context(ctx).session() as session:
        items = [summary.as_dict() for summary in exports.list_periods(session, tenant)]
    if as_json:
        print_json({"items": items, "next": None})
        return
    print_table(
        ("period", "status", "vouchers", "debit", "credit", "balanced", "export", "closed"),
        [
            (p["period"], p["status"], str(p["vouchers"]), p["debit_total"], p["credit_total"],
             "yes" if p["balanced"] else "NO", str(p["export_number"] or ""), _day(p["closed_at"]))
            for p in items
        ],
        keys=("period",),
    )  # fmt: skip


def _day(moment: str | None) -> str:
    return dt.datetime.fromisoformat(moment).strftime("%Y-%m-%d %H:%M") if moment else ""


DAY = ["%Y-%m-%d"]


@ledger_app.command("saft")
def saft(
    ctx: typer.Context,
    date_from: Annotated[dt.datetime, typer.Option("--from", formats=DAY, help="the first day (YYYY-MM-DD)")],
    date_to: Annotated[dt.datetime, typer.Option("--to", formats=DAY, help="the last day (YYYY-MM-DD)")],
    output: Annotated[Path, typer.Option("--output", "-o", help="the file to write", dir_okay=False)],
    tenant: TenantOption = "",
    as_json: JsonFlag = False,
) -> None:
    """Write the tenant's SAF-T Financial 1.30 file of the vouchers dated --from..--to, with the chart's and
    the customers' opening and closing balances. It is validated against the official XSD
    ($GATEWAY_RULES_DIR/saf-t-1.30/) and checked (references, balances) before it is written: exit 1 with
    the field and the reason, and no file, when anything does not add up. Each file is kept, numbered."""
    from gateway.services.ledger import saft as service
    from gateway.services.ledger.posting import post as post_events

    if not output.parent.is_dir():
        fail(f"{output.parent}: no such folder", USAGE)
    context = cli_context(ctx)
    with fails_on(LedgerRefused):
        result = service.export_to_path(
            context.engine,
            context.settings,
            tenant,
            date_from.date(),
            date_to.date(),
            output,
            actor=OPERATOR,
            store=context.document_store,
            before_export=lambda until: post_events(context.engine, tenant, until=until, actor=OPERATOR),
        )
    if as_json:
        print_json({**result.as_dict(), "path": str(output)})
        return
    print_lines(
        [
            f"SAF-T export {result.number}: {result.transactions} transactions "
            f"{result.date_from}..{result.date_to}, debit {result.total_debit:.2f} = credit "
            f"{result.total_credit:.2f}, {result.accounts} accounts, {result.customers} customers",
            f"{output} ({result.size} bytes, sha256 {result.sha256})",
        ]
    )


UntilOption = Annotated[
    dt.datetime | None,
    typer.Option("--until", formats=["%Y-%m-%d"], help="post events dated up to this day (default: today)"),
]
VoucherPeriodOption = Annotated[
    str | None, typer.Option("--period", help="YYYY-MM: only the vouchers of this period")
]
DateOption = Annotated[
    dt.datetime | None,
    typer.Option("--date", formats=["%Y-%m-%d"], help="balances at the end of this day (default: today)"),
]


def _refusal(error: Any) -> str:
    return f"{error.field}: {error.reason}"


@ledger_app.command("post")
def post(
    ctx: typer.Context, tenant: TenantOption = "", until: UntilOption = None, as_json: JsonFlag = False
) -> None:
    """Post every event up to --until not posted yet (each once): invoices, credit notes, payments,
    allocations and their reversals, notice charges. A refusal (no tax code, no exchange rate…) names the
    field and writes nothing (exit 1)."""
    from gateway.services.ledger.posting import post_in_session

    day = until.date() if until is not None else dt.date.today()
    with fails_on(LedgerRefused, describe=_refusal), cli_context(ctx).session() as session:
        result = post_in_session(session, tenant, until=day, actor=OPERATOR).as_dict()
    if as_json:
        print_json(result)
        return
    numbers = f" (numbers {result['first_number']}–{result['last_number']})" if result["vouchers"] else ""
    print_lines([f"posted {result['vouchers']} vouchers up to {result['until']}{numbers}"])
    print_table(("type", "vouchers"), [(kind, str(count)) for kind, count in result["by_type"].items()])


def _json_stream(items: Iterator[dict[str, Any]]) -> None:
    """`{"items": [...], "next": null}` written as it is read (a period can hold many vouchers)."""
    out = console.file
    out.write('{"items": [')
    for index, item in enumerate(items):
        out.write(("," if index else "") + "\n" + json.dumps(item))
    out.write('\n], "next": null}\n')
    out.flush()


@ledger_app.command("vouchers")
def vouchers(
    ctx: typer.Context,
    tenant: TenantOption = "",
    period: VoucherPeriodOption = None,
    as_json: JsonFlag = False,
) -> None:
    """The posted vouchers in number order with their lines (of one period with --period)."""
    from gateway.services.ledger import journal

    with cli_context(ctx).session() as session:
        found = journal.iter_vouchers(session, tenant, period=period)
        if as_json:
            _json_stream(journal.voucher_view(voucher) for voucher in found)
            return
        rows = [
            (
                str(voucher.number), voucher.voucher_date.isoformat(), voucher.voucher_type, line.account,
                str(line.debit), str(line.credit), line.customer_number or "", line.document_number or "",
                line.tax_code or "", line.text,
            )
            for voucher in found
            for line in voucher.lines
        ]  # fmt: skip
    print_table(
        ("voucher", "date", "type", "account", "debit", "credit", "customer", "document", "tax", "text"),
        rows,
        keys=("voucher", "account"),
    )


@ledger_app.command("balances")
def balances(
    ctx: typer.Context, tenant: TenantOption = "", date: DateOption = None, as_json: JsonFlag = False
) -> None:
    """Every account's balance (debit − credit) and every customer's receivables at the end of --date."""
    from gateway.services.ledger import journal

    day = date.date() if date is not None else dt.date.today()
    with cli_context(ctx).session() as session:
        view = journal.balances_view(session, tenant, day)
    if as_json:
        print_json(view)
        return
    print_table(
        ("account", "name", "balance"),
        [(row["account"], row["name"], row["balance"]) for row in view["accounts"]],
        keys=("account",),
    )
    print_table(
        ("customer", "number", "receivables"),
        [(row["customer_key"], row["customer_number"], row["balance"]) for row in view["customers"]],
        keys=("customer",),
    )
