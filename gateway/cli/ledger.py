"""`gateway ledger …`: the ledger hand-off — the SAF-T Financial file of a date range."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import (
    OPERATOR,
    USAGE,
    JsonFlag,
    TenantOption,
    fail,
    fails_on,
    print_json,
    print_lines,
)
from gateway.cli.context import cli_context

ledger_app = typer.Typer(
    help="The ledger hand-off: SAF-T Financial 1.30 files of the receivables journal.",
    no_args_is_help=True,
)

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
    from gateway.services.ledger.errors import LedgerRefused

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
