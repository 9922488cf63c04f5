"""`gateway pod …`: proofs of delivery — add files, list the unlinked queue, link, take in a folder drop."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli.common import (
    OPERATOR,
    JsonFlag,
    OutputOption,
    SftpOption,
    TenantOption,
    exit_if_rejected,
    fails_on,
    output_format,
    print_items,
    print_lines,
    print_table,
    read_drop,
    read_input,
)
from gateway.cli.context import cli_context

pod_app = typer.Typer(
    help="Proofs of delivery: add files, list the unlinked queue, link, take in a folder drop.",
    no_args_is_help=True,
)

POD_COLUMNS = ("pod", "kind", "signer", "signed at", "references", "linked to", "suggestions")
POD_KEYS = ("pod", "linked to")


def _pod_row(view: dict[str, Any]) -> tuple[str, ...]:
    linked = ", ".join(f"{link['number']} ({link['linked_by']})" for link in view["links"])
    hint = "; ".join(f"{s['number']}: {', '.join(s['why'])}" for s in view["suggestions"])
    return (
        view["id"], view["kind"], view["signer_name"] or "", view["signed_at"] or "",
        json.dumps(view["references"]), linked or "-", hint,
    )  # fmt: skip


@pod_app.command("add")
def pod_add(
    ctx: typer.Context,
    file: Path,
    tenant: TenantOption = "",
    order: Annotated[list[str] | None, typer.Option("--order", help="order number (BT-13)")] = None,
    note: Annotated[list[str] | None, typer.Option("--note", help="delivery note (BT-16)")] = None,
    shipment: Annotated[list[str] | None, typer.Option("--shipment", help="shipment id")] = None,
    invoice: Annotated[list[str] | None, typer.Option("--invoice", help="invoice number")] = None,
    signer: Annotated[str | None, typer.Option("--signer", help="who signed for the goods")] = None,
    signed_at: Annotated[str | None, typer.Option("--signed-at", help="ISO 8601; UTC without a zone")] = None,
    place: Annotated[str | None, typer.Option(help="where it was delivered")] = None,
) -> None:
    """Take in one POD file (PDF, JPEG, PNG, IFTSTA or X12 214) and link it by its references."""
    from gateway.services.inbound import pods

    cli = cli_context(ctx)
    settings = cli.settings
    references = {
        kind: values
        for kind, values in (("order_numbers", order), ("delivery_notes", note), ("shipment_ids", shipment),
                             ("invoice_numbers", invoice))
        if values
    }  # fmt: skip
    if not file.is_file():
        read_input(file)  # ends the command: not there, or a folder (exit 2)
    with fails_on(pods.PodRefused, describe=lambda error: f"{error.field}: {error.reason}"):
        if file.stat().st_size > settings.max_pod_bytes:
            size = file.stat().st_size
            raise pods.PodRefused("FILE", f"{size:,} bytes; at most {settings.max_pod_bytes:,}", status=413)
        receipt = pods.receive_pod(
            cli.engine,
            cli.document_store,
            tenant_id=tenant,
            data=read_input(file),
            filename=file.name,
            signer_name=signer,
            signed_at=pods.parse_signed_at(signed_at, "--signed-at"),
            place=place,
            references=references,
            source="cli",
            actor=OPERATOR,
            max_bytes=settings.max_pod_bytes,
        )
    print_table(POD_COLUMNS, map(_pod_row, receipt.pods), keys=POD_KEYS)
    if receipt.duplicate:
        print_lines(["the same file was received before: these are its first PODs"])


@pod_app.command("list")
def pod_list(
    ctx: typer.Context,
    tenant: TenantOption = "",
    unlinked: Annotated[bool, typer.Option("--unlinked", help="only PODs waiting for a link")] = False,
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """The tenant's PODs, newest first, with links or suggestions."""
    from gateway.services.inbound import pods

    shape = output_format(as_json, output)
    with cli_context(ctx).session() as session:
        found = pods.list_pods(session, tenant, False if unlinked else None)
        views = [pods.pod_view(session, p) for p in found]
    print_items(views, output=shape, columns=POD_COLUMNS, row=_pod_row, keys=POD_KEYS)


@pod_app.command("link")
def pod_link(ctx: typer.Context, pod: str, invoice: str, tenant: TenantOption = "") -> None:
    """Link a POD to an invoice by hand (POD id, invoice id)."""
    from gateway.services.inbound import pods

    with fails_on(pods.NotFound), cli_context(ctx).session() as session:
        pods.link_pod(session, tenant, pod, invoice, OPERATOR)
    print_lines([f"proof of delivery {pod} linked to invoice {invoice}"])


@pod_app.command("drop")
def pod_drop(
    ctx: typer.Context,
    directory: Annotated[str, typer.Argument(help="local folder, or the remote folder with --sftp")],
    tenant: TenantOption = "",
    sftp: SftpOption = None,
) -> None:
    """Take in a folder drop: files with a `<file>.json` sidecar or named `POD_<kind>_<reference>….<ext>`
    (kind order, note, shipment or invoice); each moves to done/ or rejected/ (with a .reason.txt). With
    `--sftp` the folder is on an SFTP server (host key pinned) and the files move there."""

    from gateway.services.inbound import pods

    cli = cli_context(ctx)
    settings = cli.settings
    items = read_drop(
        directory,
        sftp,
        lambda folder: pods.receive_pod_drop(
            cli.engine, cli.document_store, folder, tenant, OPERATOR, max_bytes=settings.max_pod_bytes
        ),
    )
    print_table(
        ("file", "outcome", "pods", "reason"),
        ((item.file, item.outcome, ", ".join(item.pod_ids), item.reason or "") for item in items),
        keys=("file", "pods"),
    )
    exit_if_rejected(any(item.outcome == "rejected" for item in items))
