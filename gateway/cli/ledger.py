"""`gateway ledger …`: post the receivables journal, read its vouchers and balances."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Annotated, Any

import typer

from gateway.cli.common import (
    OPERATOR,
    JsonFlag,
    TenantOption,
    console,
    fails_on,
    print_json,
    print_lines,
    print_table,
)
from gateway.cli.context import cli_context

ledger_app = typer.Typer(
    help="The ledger hand-off: post invoices, payments, allocations and notice charges as balanced "
    "vouchers; list vouchers and balances.",
    no_args_is_help=True,
)

UntilOption = Annotated[
    dt.datetime | None,
    typer.Option("--until", formats=["%Y-%m-%d"], help="post events dated up to this day (default: today)"),
]
PeriodOption = Annotated[
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
    from gateway.services.ledger.posting import LedgerRefused, post_in_session

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
    ctx: typer.Context, tenant: TenantOption = "", period: PeriodOption = None, as_json: JsonFlag = False
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
