"""`gateway batches | print-returns`: the print house's batches going out and its return files coming back."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli.common import (
    OPERATOR,
    JsonFlag,
    console,
    errors,
    exit_if_rejected,
    fail,
    print_json,
    print_table,
)
from gateway.cli.context import CliContext, cli_context


def batches(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="only this tenant's batches")] = None,
    status: Annotated[
        str | None, typer.Option(help="ready, sending, sent, accepted, rejected, failed")
    ] = None,
    close_now: Annotated[
        bool, typer.Option("--close-now", help="close every waiting batch now, without its cut-off")
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Print batches (newest cut-off first) and the documents still waiting for their cut-off.

    `--close-now` is the operator's "print now": the waiting documents become batches at once; the next
    worker round uploads them.
    """
    from gateway.services.outbound.batches import batch_view, close_due_batches, list_batches, open_items

    with cli_context(ctx).session() as session:
        closed = close_due_batches(session, early=True) if close_now else []
        found = [batch_view(session, batch) for batch in list_batches(session, tenant, status)]
        waiting = open_items(session, tenant)
    if as_json:
        print_json({"closed": closed, "batches": found, "waiting": waiting})
        return
    for batch_id in closed:
        console.print(f"closed {batch_id}")
    print_table(
        ("batch", "tenant", "cut-off", "status", "documents", "tries", "last error"),
        (
            (
                view["id"],
                view["tenant_id"],
                view["cutoff_at"],
                view["status"],
                str(view["documents"]),
                str(view["tries"]),
                (view["last_error"] or "")[:80],
            )
            for view in found
        ),
    )
    for group in waiting:
        console.print(
            f"waiting: {group['items']} document(s) of {group['tenant_id']} for the "
            f"{group['batch_key']} batch at {group['due_at']}"
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
    )
    exit_if_rejected(sum(1 for row in outcomes if row["rejected"]))


def _read_return_files(cli: CliContext, files: list[Path]) -> list[dict[str, Any]]:
    from gateway.services.inbound.print_returns import receive_print_return

    outcomes = []
    for path in files:
        if not path.is_file():
            fail(f"{path} is not a file")
        outcome = receive_print_return(cli.engine, path.read_bytes(), source=path.name, actor=OPERATOR)
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
