"""`gateway deviations [resolve | resend]`: what went wrong on any channel, and the operator's answer."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gateway.cli.common import (
    OPERATOR,
    USAGE,
    JsonFlag,
    OutputOption,
    TenantFilter,
    fails_on,
    output_format,
    print_items,
    print_lines,
)
from gateway.cli.context import cli_context

deviations_app = typer.Typer(
    help="Deviations across channels: list (default), resolve, resend.", invoke_without_command=True
)


@deviations_app.callback()
def deviations_list(
    ctx: typer.Context,
    tenant: TenantFilter = None,
    cause: Annotated[str | None, typer.Option(help="validation-failed, bounced, returned-mail, …")] = None,
    channel: Annotated[str | None, typer.Option(help="only this channel")] = None,
    state: Annotated[
        list[str] | None,
        typer.Option(help="open, covered, closed or all; repeat for several [default: open and covered]"),
    ] = None,
    show_all: Annotated[bool, typer.Option("--all", help="every state (closed ones too)")] = False,
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """Open and covered deviations (newest first) with their cause and the actions that fit; a covered
    one names the delivery that took over."""
    if ctx.invoked_subcommand is not None:
        return
    from gateway.services.outbound.deviations import LISTED_BY_DEFAULT, list_deviations, wanted_states

    shape = output_format(as_json, output)
    with fails_on(ValueError, code=USAGE):
        states = wanted_states(["all"] if show_all else state or LISTED_BY_DEFAULT)
    with cli_context(ctx).session() as session:
        items = list_deviations(session, tenant, status=states, cause=cause, channel=channel, limit=1000)
    print_items(
        items,
        output=shape,
        keys=("id", "delivery", "invoice", "buyer"),
        columns=(
            "id",
            "delivery",
            "invoice",
            "buyer",
            "channel",
            "attempt",
            "cause",
            "opened",
            "status",
            "actions",
            "detail",
        ),
        row=_deviation_row,
    )


def _deviation_row(item: dict[str, Any]) -> tuple[str, ...]:
    return (
        item["id"],
        item["delivery_id"],
        item["invoice_number"] or "",
        item["buyer"] or "",
        item["channel"],
        str(item["attempt"]),
        item["cause"],
        item["opened_at"][:19],
        _state_text(item),
        ", ".join(a["action"] for a in item["actions"]),
        item["detail"] or "",
    )


def _state_text(item: dict[str, Any]) -> str:
    covering = item.get("covered_by")
    if covering:
        return f"covered by {covering['delivery_id']} ({covering['channel']}, {covering['status']})"
    return item["status"] if item["status"] == "open" else f"{item['closure']} by {item['closed_by']}"


@deviations_app.command("resolve")
def deviations_resolve(
    ctx: typer.Context,
    deviation_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="why it needs nothing more (kept in the history)")],
    tenant: TenantFilter = None,
) -> None:
    """Close a deviation without sending again; the delivery's history records who and why."""
    from gateway.services.outbound.deliveries import NotFound
    from gateway.services.outbound.deviations import DeviationClosed, resolve_deviation

    with fails_on(NotFound, DeviationClosed), cli_context(ctx).session() as session:
        view = resolve_deviation(session, tenant, deviation_id, actor=OPERATOR, reason=reason)
    print_lines([f"deviation {view['id']} resolved by {view['closed_by']}"])


@deviations_app.command("resend")
def deviations_resend(
    ctx: typer.Context,
    deviation_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str | None, typer.Option(help="why (kept in the history)")] = None,
    channel: Annotated[str | None, typer.Option(help="another channel (a new delivery)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="another address")] = None,
    tenant: TenantFilter = None,
    cancel_others: Annotated[
        bool,
        typer.Option("--cancel-others", help="cancel the invoice's other deliveries still waiting"),
    ] = False,
) -> None:
    """Send the invoice again (next attempt, or a new delivery on --channel) and close the deviation; the
    invoice's other deliveries still waiting are named, or cancelled with --cancel-others."""
    from gateway.services.outbound.deliveries import NotFound
    from gateway.services.outbound.deviations import DeviationClosed, resend_deviation
    from outbox.queue import StaleStatus
    from outbox.states import IllegalTransition

    refusals = (NotFound, DeviationClosed, IllegalTransition, StaleStatus)
    with fails_on(*refusals), cli_context(ctx).session() as session:
        result = resend_deviation(
            session,
            tenant,
            deviation_id,
            actor=OPERATOR,
            reason=reason,
            channel=channel,
            address=to,
            cancel_others=cancel_others,
        )
    delivery = result["delivery"]
    print_lines(
        [
            f"deviation {deviation_id} closed ({result['deviation']['closure']}); delivery {delivery['id']} "
            f"queued via {delivery['channel']} (attempt {delivery['attempt']})",
            *(f"warning: {warning}" for warning in result["warnings"]),
        ]
    )
