"""`gateway report …`: receivables reports — here bank reconciliation of a camt.053 statement."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli.common import (
    USAGE,
    JsonFlag,
    TenantOption,
    fail,
    print_json,
    print_lines,
    print_table,
    read_input,
)
from gateway.cli.context import cli_context

report_app = typer.Typer(
    help="Receivables reports: bank reconciliation of a camt.053 statement (and the other reports).",
    no_args_is_help=True,
)


def _difference_rows(differences: list[dict[str, Any]]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for found in differences:
        amount = f"{found.get('amount') or ''} {found.get('currency') or ''}".strip()
        if found["kind"] == "amount_difference":
            amount = f"{amount} / gateway {found['gateway_amount']} {found['gateway_currency']}"
        rows.append(
            (
                found["kind"],
                found.get("reference") or found.get("position") or found.get("payment_id") or "",
                found.get("date") or "",
                amount,
                found.get("payer_name") or found.get("detail") or "",
            )
        )
    return rows


@report_app.command("reconciliation")
def reconciliation(
    ctx: typer.Context,
    statement: Annotated[Path, typer.Option("--statement", help="the camt.053 statement file")],
    tenant: TenantOption = "",
    as_json: JsonFlag = False,
) -> None:
    """Reconcile a camt.053 statement: its booked entries against the payments the gateway booked
    (matched, missing in the gateway, missing on the statement, amount differences; debits apart) and its
    balances against the journal's bank account for the same dates. A file that is not a camt.053 is
    refused naming why (exit 2)."""
    from gateway.services.reports.reconciliation import ReconciliationRefused, reconcile_file

    data = read_input(statement)
    try:
        with cli_context(ctx).session() as session:
            report = reconcile_file(session, tenant, data).as_dict()
    except ReconciliationRefused as refused:
        fail(f"{statement}: {refused.field}: {refused.reason}", USAGE)
    if as_json:
        print_json(report)
        return
    about, summary = report["statement"], report["summary"]
    lines = [
        f"statement {about['message_id'] or ''} ({about['format']}): account {about['account'] or '?'} "
        f"{about['currency']}, {about['period_from']} – {about['period_to']}, {about['entries']} entries",
        f"matched {summary['matched']['count']} ({summary['matched']['amount']}); "
        f"missing in the gateway {summary['missing_in_gateway']['count']} "
        f"({summary['missing_in_gateway']['amount']}); "
        f"missing on the statement {summary['missing_on_statement']['count']} "
        f"({summary['missing_on_statement']['amount']}); "
        f"amount differences {summary['amount_differences']['count']}; "
        f"debits apart {summary['debits']['count']} ({summary['debits']['amount']}); "
        f"not booked {summary['not_booked']['count']}",
    ]
    balances = report["balances"]
    if balances is not None:
        for name in ("opening", "movements", "closing"):
            line = balances[name]
            lines.append(
                f"{name}: statement {line['statement']}, journal {balances['account']} {line['journal']}, "
                f"difference {line['difference']} {balances['currency']}"
            )
    print_lines(lines)
    if report["differences"]:
        print_table(
            ("difference", "reference", "date", "amount", "detail"),
            _difference_rows(report["differences"]),
            keys=("reference",),
        )
    print_lines([*(f"note: {note}" for note in report["notes"]), f"verdict: {report['verdict']}"])
