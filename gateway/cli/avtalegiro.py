"""`gateway avtalegiro …`: payers' AvtaleGiro mandates from Nets' agreements files, and withdrawing claims."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli.common import (
    OPERATOR,
    USAGE,
    JsonFlag,
    Output,
    OutputOption,
    TenantFilter,
    TenantOption,
    fail,
    fails_on,
    output_format,
    print_items,
    print_json,
    print_lines,
    read_input,
)
from gateway.cli.context import cli_context

avtalegiro_app = typer.Typer(
    help="AvtaleGiro direct debit: payers' mandates (Nets' agreements files) and withdrawing claims.",
    no_args_is_help=True,
)


@avtalegiro_app.command("mandates")
def mandates(
    ctx: typer.Context,
    file: Annotated[
        Path | None, typer.Argument(help="Nets' agreements file to apply; without it, list the mandates")
    ] = None,
    tenant: TenantOption = "",
    kid: Annotated[str | None, typer.Option(help="only the mandate for this KID")] = None,
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """Apply Nets' AvtaleGiro agreements FILE to the tenant's mandates (new, updated, deleted), then list
    them. Exit 2 for a file that is not an agreements file."""
    from gateway.services.outbound import avtalegiro as service
    from mappings.base import FormatError

    shape = output_format(as_json, output)
    summary: dict[str, Any] | None = None
    with cli_context(ctx).session() as session:
        if file is not None:
            data = read_input(file)
            try:
                summary = service.import_mandates(session, tenant, data, source_file=file.name).as_dict()
            except FormatError as error:
                fail(f"{file}: {error.where}: {error.reason}", USAGE)
        found = service.list_mandates(session, tenant, kid=kid, limit=100_000)
    if shape is Output.JSON:
        print_json({"applied": summary, "items": found, "next": None})
        return
    if summary is not None:
        print_lines(
            [
                f"{file}: {summary['new']} new, {summary['updated']} updated, {summary['deleted']} deleted, "
                f"{summary['unchanged']} unchanged (account {summary['account']})"
            ]
        )
    print_items(
        found,
        output=shape,
        columns=("kid", "status", "notify", "registration", "updated", "source file"),
        keys=("kid",),
        row=lambda view: (
            view["kid"],
            view["status"],
            "yes" if view["notify"] else "no",
            view["registration"],
            view["updated_at"],
            view["source_file"] or "",
        ),
    )


@avtalegiro_app.command("cancel")
def cancel(
    ctx: typer.Context,
    some_id: Annotated[
        str, typer.Argument(metavar="ID", help="the AvtaleGiro delivery id, or the invoice id")
    ],
    tenant: TenantFilter = None,
) -> None:
    """Withdraw a claim already handed over to Nets (until its due date): a cancellation record goes in
    the tenant's next claim file, and the delivery's history says so. Exit 1 when it cannot be withdrawn."""
    from channels import create_channel
    from channels.avtalegiro import AvtaleGiroChannel
    from gateway.services.outbound import avtalegiro as service

    cli = cli_context(ctx)
    channel = create_channel(service.CHANNEL, cli.settings.channel_settings(service.CHANNEL))
    if not isinstance(channel, AvtaleGiroChannel):  # pragma: no cover - the registry names it
        fail(f"channel {service.CHANNEL} is not the AvtaleGiro channel")

    def cutoff_for(tenant_id: str) -> dt.datetime:
        try:
            return channel.next_cutoff(tenant_id)
        except LookupError as error:
            raise service.CancellationRefused(str(error)) from error

    with fails_on(service.CancellationRefused), cli.session() as session:
        row = service.queue_cancellation(session, tenant, some_id, cutoff_for=cutoff_for, actor=OPERATOR)
        view = service.cancellation_view(row)
    print_lines(
        [
            f"claim of delivery {view['delivery_id']} withdrawn: KID {view['kid']}, NOK {view['amount']}, "
            f"due {view['due_date']}; the cancellation goes in the claim file closing {view['due_at']}"
        ]
    )
