"""`gateway reminders …`: the daily follow-up run by hand (or a dry run), and the notices it wrote."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import typer

from gateway.cli.common import (
    OPERATOR,
    JsonFlag,
    OutputOption,
    TenantOption,
    fails_on,
    output_format,
    print_items,
    print_json,
    print_lines,
    print_table,
    summary_lines,
)
from gateway.cli.context import cli_context

reminders_app = typer.Typer(
    help="Receivables follow-up: run it (reminders, warnings, payment demands), list and approve notices.",
    no_args_is_help=True,
)

DateOption = Annotated[
    dt.datetime | None,
    typer.Option("--date", formats=["%Y-%m-%d"], help="the run's day (default: today in Europe/Oslo)"),
]


def _summary_rows(report: dict[str, Any]) -> list[tuple[str, str, str]]:
    """A run's decisions as (what, which, count): notices per level, skips per reason, refusals per rule."""
    rows = [("notices", f"level {level}", str(count)) for level, count in report["notices_by_level"].items()]
    rows += [("skipped", reason, str(count)) for reason, count in report["skipped"].items()]
    rows += [("refused", rule, str(count)) for rule, count in report["refused"].items()]
    rows += [("without fee", rule, str(count)) for rule, count in report["without_fee"].items()]
    if report["past_last_level"]:
        rows.append(("past last level", "collection candidates", str(report["past_last_level"])))
    if report["promises_broken"] or report["promises_kept"]:
        rows.append(("promises", "broken / kept", f"{report['promises_broken']} / {report['promises_kept']}"))
    return rows


@reminders_app.command("run")
def run(
    ctx: typer.Context,
    tenant: TenantOption = "",
    date: DateOption = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="decide and report, write nothing")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Run follow-up for the tenant on a day: which notice each open invoice is due, what is skipped and
    why, what a rule refuses. Running it again the same day writes no second notice."""
    from gateway.services.followup.run import FollowUpRunBusy, run_follow_up, tenant_today

    on = date.date() if date is not None else tenant_today()
    context = cli_context(ctx)
    with fails_on(FollowUpRunBusy), context.session() as session:
        report = run_follow_up(
            session, tenant, on=on, dry_run=dry_run, actor=OPERATOR, settings=context.settings
        ).as_dict()
    if as_json:
        print_json(report)
        return
    what = "dry run" if dry_run else f"run {report['run_id']}"
    print_lines(
        [
            f"{what} on {report['date']}: {report['looked_at']} invoices looked at, "
            f"{report['notices']} notices "
            f"for {report['notice_invoices']} invoices ({report['awaiting_approval']} awaiting approval); "
            f"fees {report['fees']}, interest {report['interest']}"
        ]
    )
    print_table(("decision", "level / reason / rule", "count"), _summary_rows(report))


@reminders_app.command("list")
def list_reminders(
    ctx: typer.Context,
    tenant: TenantOption = "",
    status: Annotated[
        str | None, typer.Option(help="awaiting_approval, queued, sent, failed, cancelled")
    ] = None,
    customer: Annotated[str | None, typer.Option(help="customer key or receiver id")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """The tenant's notices, newest first."""
    from gateway.services.followup import reminders as service

    shape = output_format(as_json, output)
    with cli_context(ctx).session() as session:
        found = service.list_notices(
            session, tenant, status=status, customer=customer, limit=limit, offset=offset
        )
    print_items(
        found,
        output=shape,
        columns=("id", "customer", "level", "kind", "status", "date", "deadline", "total"),
        keys=("id",),
        row=lambda view: (
            view["id"],
            view["customer_key"],
            str(view["level"]),
            view["kind"],
            view["status"],
            view["notice_on"],
            view["deadline"],
            f"{view['total']} {view['currency']}",
        ),
    )


@reminders_app.command("show")
def show(
    ctx: typer.Context,
    notice_id: Annotated[str, typer.Argument(metavar="NOTICE")],
    tenant: TenantOption = "",
    as_json: JsonFlag = False,
) -> None:
    """A notice with its invoices and the decisions that wrote it. Exit 1 when there is no such notice."""
    from gateway.services.followup import reminders as service

    with fails_on(service.NoticeNotFound), cli_context(ctx).session() as session:
        view = service.show_notice(session, tenant, notice_id)
    if as_json:
        print_json(view)
    else:
        print_lines(summary_lines(view))


@reminders_app.command("approve")
def approve(
    ctx: typer.Context,
    notice_id: Annotated[str, typer.Argument(metavar="NOTICE")],
    tenant: TenantOption = "",
) -> None:
    """Approve a notice awaiting approval: it is queued for delivery. Exit 1 from any other status."""
    from gateway.services.followup import reminders as service

    context = cli_context(ctx)
    with fails_on(service.NoticeNotFound, service.NoticeStateError), context.session() as session:
        view = service.approve_notice(session, tenant, notice_id, actor=OPERATOR, settings=context.settings)
    print_lines([f"notice {view['id']} approved: {view['status']}"])


@reminders_app.command("cancel")
def cancel(
    ctx: typer.Context,
    notice_id: Annotated[str, typer.Argument(metavar="NOTICE")],
    reason: Annotated[str, typer.Option(help="why (kept with the notice)")],
    tenant: TenantOption = "",
) -> None:
    """Cancel a notice that has not left; the invoices' follow-up goes back, so a next run may write it
    again. Exit 1 once it has left."""
    from gateway.services.followup import reminders as service

    with fails_on(service.NoticeNotFound, service.NoticeStateError), cli_context(ctx).session() as session:
        view = service.cancel_notice(session, tenant, notice_id, actor=OPERATOR, reason=reason)
    print_lines([f"notice {view['id']} cancelled"])
