"""`gateway report …`: receivables and delivery reports for one tenant, as tables, JSON or charts.

`aging` (as of a day), `dso` (count-back and best-possible DSO, CEI, days late per customer), `deliveries`
(per channel in a month), `matching` (match rates of a month's payments) and `reconciliation` (a camt.053
statement against the booked payments and the journal's bank account). `--png FILE` / `--svg FILE` write the
chart beside the table (or the JSON). A parameter the report cannot use (a month written otherwise than
YYYY-MM, a month not begun) ends the command with exit 2 naming it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.common import (
    USAGE,
    JsonFlag,
    TenantOption,
    console,
    fail,
    print_json,
    print_lines,
    print_table,
    read_input,
)
from gateway.cli.context import cli_context

if TYPE_CHECKING:
    from gateway.services.reports.periods import Month

report_app = typer.Typer(
    help="Reports: receivables aging, DSO and CEI, deliveries per channel, matching rates; PNG/SVG charts.",
    no_args_is_help=True,
)

PngOption = Annotated[Path | None, typer.Option("--png", help="write the chart as PNG to this file")]
SvgOption = Annotated[Path | None, typer.Option("--svg", help="write the chart as SVG to this file")]
PeriodOption = Annotated[str, typer.Option("--period", help="the month, YYYY-MM (e.g. 2026-11)")]


def _month(text: str | None) -> Month:
    from gateway.services.followup.credit import today_in
    from gateway.services.reports.periods import Month, ReportRefused

    if not text:
        return Month.of(today_in())
    try:
        return Month.parse(text, "--period")
    except ReportRefused as refused:
        fail(str(refused), USAGE)


def _charts(report: Any, draw: Callable[..., bytes], png: Path | None, svg: Path | None) -> list[str]:
    written: list[str] = []
    for path, image_format in ((png, "png"), (svg, "svg")):
        if path is None:
            continue
        try:
            path.write_bytes(draw(report, image_format))
        except OSError as error:
            fail(f"{path}: {error.strerror or error}", USAGE)
        written.append(f"chart written to {path}")
    return written


@report_app.command("aging")
def aging(
    ctx: typer.Context,
    tenant: TenantOption = "",
    date: Annotated[
        dt.datetime | None,
        typer.Option("--date", formats=["%Y-%m-%d"], help="as of the end of this day (default: today, Oslo)"),
    ] = None,
    png: PngOption = None,
    svg: SvgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Open amounts per customer in buckets of days past due (not due, 1–30, 31–60, 61–90, over 90), per
    currency, as of a day (a past day: what was open then)."""
    from gateway.services.followup.credit import today_in
    from gateway.services.reports import plots
    from gateway.services.reports.aging import BUCKETS, aging_report
    from gateway.services.reports.periods import ReportRefused

    try:
        with cli_context(ctx).session() as session:
            report = aging_report(session, tenant, date.date() if date else today_in())
    except ReportRefused as refused:
        fail(str(refused).replace("date:", "--date:", 1), USAGE)
    written = _charts(report, plots.aging_chart, png, svg)
    if as_json:
        print_json(report.as_dict())
        return
    view = report.as_dict()
    labels = [label for _, label, _, _ in BUCKETS]
    print_lines(
        [f"aging of {tenant} as of {view['as_of']}"] + ([] if view["currencies"] else ["nothing open"])
    )
    for currency in view["currencies"]:
        rows = [
            (c["customer_key"], c["name"], *c["buckets"].values(), c["total"]) for c in currency["customers"]
        ]
        rows.append(("total", "", *currency["buckets"].values(), currency["total"]))
        print_table(
            ("customer", "name", *labels, "total"), rows, keys=("customer",), title=currency["currency"]
        )
    print_lines(written)


@report_app.command("dso")
def dso(
    ctx: typer.Context,
    tenant: TenantOption = "",
    period: Annotated[
        str | None, typer.Option("--period", help="the last month, YYYY-MM (default: this month)")
    ] = None,
    months: Annotated[int, typer.Option("--months", min=1, max=60, help="months shown")] = 12,
    png: PngOption = None,
    svg: SvgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Count-back DSO, best-possible DSO and collection effectiveness index per month and currency, and the
    payment-weighted average days late per customer over those months."""
    from gateway.services.followup.credit import today_in
    from gateway.services.reports import plots
    from gateway.services.reports.dso import dso_report
    from gateway.services.reports.periods import ReportRefused

    last = _month(period)
    try:
        with cli_context(ctx).session() as session:
            report = dso_report(session, tenant, last, months, today_in())
    except ReportRefused as refused:
        fail(f"--{refused}", USAGE)
    written = _charts(report, plots.dso_chart, png, svg)
    view = report.as_dict()
    if as_json:
        print_json(view)
        return
    for currency in view["currencies"]:
        print_table(
            ("month", "sales", "receivables", "current", "count-back DSO", "best DSO", "CEI %"),
            [
                (m["month"], m["sales"], m["receivables"], m["current_receivables"],
                 m["count_back_dso"] + ("" if m["count_back_complete"] else "+"),
                 m["best_possible_dso"] or "-", m["cei_pct"] or "-")
                for m in currency["months"]
            ],
            keys=("month",),
            title=currency["currency"],
        )  # fmt: skip
    if view["days_late"]:
        print_table(
            ("customer", "name", "currency", "payments", "amount", "average days late"),
            [
                (d["customer_key"], d["name"], d["currency"], str(d["payments"]), d["amount"],
                 d["average_days_late"])
                for d in view["days_late"]
            ],
            keys=("customer",),
            title="days late",
        )  # fmt: skip
    if not view["currencies"]:
        print_lines([f"no sales and no receivables for {tenant} in these months"])
    print_lines(written)


@report_app.command("deliveries")
def deliveries(
    ctx: typer.Context,
    period: PeriodOption,
    tenant: TenantOption = "",
    png: PngOption = None,
    svg: SvgOption = None,
    as_json: JsonFlag = False,
) -> None:
    """Deliveries created in a month, per channel: volume, where they stand, deviation rate, median and 90th
    percentile time to delivered, failures."""
    from gateway.services.reports import plots
    from gateway.services.reports.deliveries import delivery_report

    month = _month(period)
    with cli_context(ctx).session() as session:
        report = delivery_report(session, tenant, month)
    written = _charts(report, plots.deliveries_chart, png, svg)
    view = report.as_dict()
    if as_json:
        print_json(view)
        return

    def seconds(value: float | None) -> str:
        return "-" if value is None else f"{value:,.0f} s"

    print_table(
        ("channel", "deliveries", "delivered", "failed", "deviations", "deviation %", "median", "p90"),
        [
            (c["channel"], str(c["deliveries"]), str(c["delivered"]), str(c["failed"]), str(c["deviations"]),
             f"{c['deviation_rate_pct']:.1f}", seconds(c["median_seconds_to_delivered"]),
             seconds(c["p90_seconds_to_delivered"]))
            for c in view["channels"]
        ],
        keys=("channel",),
        title=f"deliveries of {tenant}, {view['period']}",
    )  # fmt: skip
    print_lines(written)


@report_app.command("matching")
def matching(
    ctx: typer.Context, period: PeriodOption, tenant: TenantOption = "", as_json: JsonFlag = False
) -> None:
    """Match rates of the payments received in a month: per payment and per invoice, by count and amount,
    the false-auto rate beside the auto rate."""
    from gateway.services.reports.matching import matching_report

    month = _month(period)
    with cli_context(ctx).session() as session:
        view = matching_report(session, tenant, month)
    if as_json:
        print_json(view)
        return
    per_payment, per_invoice = view["per_payment"], view["per_invoice"]
    console.print(f"[bold]matching of {tenant}, {view['period']}[/bold]")
    print_table(
        ("measure", "value"),
        [
            ("payments matchable", str(per_payment["matchable"])),
            ("applied automatically", f"{per_payment['auto_applied']} ({per_payment['auto_rate_pct']} %)"),
            (
                "false automatic",
                f"{per_payment['false_auto_applied']} ({per_payment['false_auto_rate_pct']} %)",
            ),
            ("auto rate by amount", f"{per_payment['auto_rate_by_amount_pct']} %"),
            ("open exceptions", str(per_payment["open_exceptions"])),
            ("awaiting approval", str(per_payment["awaiting_approval"])),
            ("invoices with payments", str(per_invoice["invoices_with_payments"])),
            (
                "settled automatically",
                f"{per_invoice['settled_automatically']} ({per_invoice['auto_rate_pct']} %)",
            ),
        ],
        keys=("measure",),
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
