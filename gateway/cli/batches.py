"""`gateway batches | print-returns`: the print house's batches going out and its return files coming back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli.common import (
    OPERATOR,
    JsonFlag,
    Output,
    OutputOption,
    TenantFilter,
    errors,
    exit_if_rejected,
    fail,
    output_format,
    print_items,
    print_json,
    print_lines,
    print_table,
    read_input,
    stdout_is_terminal,
    tracked,
)
from gateway.cli.context import CliContext, cli_context


def batches(
    ctx: typer.Context,
    tenant: TenantFilter = None,
    status: Annotated[
        str | None, typer.Option(help="ready, sending, sent, accepted, rejected, failed")
    ] = None,
    close_now: Annotated[
        bool, typer.Option("--close-now", help="close every waiting batch now, without its cut-off")
    ] = False,
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """Print batches (newest cut-off first) and the documents still waiting for their cut-off.

    `--close-now` is the operator's "print now": the waiting documents become batches at once; the next
    worker round uploads them.
    """
    from gateway.services.outbound.batches import batch_view, close_due_batches, list_batches, open_items

    shape = output_format(as_json, output)
    with cli_context(ctx).session() as session:
        closed = close_due_batches(session, early=True) if close_now else []
        found = [batch_view(session, batch) for batch in list_batches(session, tenant, status)]
        waiting = open_items(session, tenant)
    if shape is Output.JSON:
        print_json({"items": found, "next": None, "closed": closed, "waiting": waiting})
        return
    # what was closed and what waits are for a person; a pipe or a CSV gets the batch rows only
    notes = shape is Output.TABLE and stdout_is_terminal()
    if notes:
        print_lines(f"closed {batch_id}" for batch_id in closed)
    print_items(
        found,
        output=shape,
        columns=("batch", "tenant", "cut-off", "status", "documents", "tries", "last error"),
        keys=("batch", "tenant"),
        row=lambda view: (
            view["id"],
            view["tenant_id"],
            view["cutoff_at"],
            view["status"],
            str(view["documents"]),
            str(view["tries"]),
            view["last_error"] or "",
        ),
    )
    if notes:
        print_lines(
            f"waiting: {group['items']} document(s) of {group['tenant_id']} for the "
            f"{group['batch_key']} batch at {group['due_at']}"
            for group in waiting
        )


def print_returns(
    ctx: typer.Context,
    files: Annotated[
        list[Path] | None,
        typer.Argument(help="return files to read; none: poll the print channel's outgoing folder"),
    ] = None,
    channel_name: Annotated[str, typer.Option("--channel", help="the print channel to poll")] = "print",
) -> None:
    """Read the print house's receipts, production reports and returned-mail files, and apply them.

    Polled files are archived in the print house's archive folder once stored; the same file twice is
    stored once and applied once.
    """
    cli = cli_context(ctx)
    outcomes = _read_return_files(cli, files) if files else _poll_return_files(cli, channel_name)
    print_table(
        ("file", "kind", "batch", "applied", "noted", "unlinked", "note"),
        (
            (
                row["file"],
                row["kind"] or "-",
                row["batch_id"] or "",
                str(row["applied"]),
                str(row["noted"]),
                ", ".join(row["unlinked"]),
                "repeat" if row["repeated"] else (f"rejected: {row['rejected']}" if row["rejected"] else ""),
            )
            for row in outcomes
        ),
        keys=("file", "batch"),
    )
    exit_if_rejected(sum(1 for row in outcomes if row["rejected"]))


def _read_return_files(cli: CliContext, files: list[Path]) -> list[dict[str, Any]]:
    from gateway.services.inbound.print_returns import receive_print_return

    outcomes = []
    for path in files:
        if not path.is_file():
            read_input(path)  # not there, or a folder: exit 2 before anything is read
    for path in tracked(files, "return files"):
        outcome = receive_print_return(cli.engine, read_input(path), source=path.name, actor=OPERATOR)
        outcomes.append({"file": path.name, **outcome.as_dict()})
    return outcomes


def _poll_return_files(cli: CliContext, channel_name: str) -> list[dict[str, Any]]:
    from channels import create_channel
    from channels.print_sftp import PrintChannel
    from gateway.services.inbound.print_returns import poll_print_returns

    channel = create_channel(channel_name, cli.settings.channel_settings(channel_name))
    if not isinstance(channel, PrintChannel):
        fail(f"channel {channel_name} is not a print channel")
    report = poll_print_returns(cli.engine, channel, actor=f"{channel_name}:returns")
    for error in report.errors:
        errors.print(f"[yellow]warning:[/yellow] {error}")
    return report.files
