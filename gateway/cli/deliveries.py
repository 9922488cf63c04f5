"""`gateway send | status | resend | correct | release`: invoices into the outbox, and their deliveries."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from gateway.cli.common import (
    OPERATOR,
    JsonFlag,
    TenantOption,
    collect_files,
    console,
    errors,
    exit_if_rejected,
    fail,
    fails_on,
    field_reasons,
    print_json,
    print_table,
)
from gateway.cli.context import CliContext, cli_context

if TYPE_CHECKING:
    from sqlmodel import Session


def send(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(help="canonical JSON (one invoice or a list) or EHF/UBL XML files, or folders"),
    ],
    tenant: TenantOption = "default",
) -> None:
    """Push invoices into the outbox (the same intake as POST /invoices)."""
    from gateway.services.tenancy.tenants import ensure_tenant

    cli = cli_context(ctx)
    with cli.session() as session:
        ensure_tenant(session, tenant)
    table = Table("file", "#", "outcome", "number", "invoice id", "errors")
    rejected = 0
    paths = collect_files(files, lambda path: path.suffix.lower() in {".json", ".xml"})
    with Progress(console=errors, transient=True) as progress:
        task = progress.add_task("intake", total=len(paths))
        for path in paths:
            progress.advance(task)
            rejected += _send_file(cli, path, tenant, table)
    console.print(table)
    exit_if_rejected(rejected)


def _send_file(cli: CliContext, path: Path, tenant: str, table: Table) -> int:
    """One file through intake, a row per invoice in it; how many of them were refused."""
    from gateway.services.outbound.intake import IntakeItem, accept_invoices
    from mappings.base import FormatError
    from mappings.invoice.canonical_json import loads_exact
    from mappings.invoice.ubl import parse_invoice_ubl

    settings = cli.settings
    try:
        if path.suffix.lower() == ".xml":
            data = parse_invoice_ubl(path.read_bytes()).model_dump(mode="json", exclude_none=True)
        else:
            data = loads_exact(path.read_bytes(), max_bytes=settings.max_body_bytes * 4)
    except FormatError as error:
        found = getattr(error, "errors", None) or [error.as_dict()]
        table.add_row(str(path), "-", "rejected", "", "", field_reasons(found))
        return 1
    items = [IntakeItem(item) for item in (data if isinstance(data, list) else [data])]
    results = accept_invoices(
        cli.engine, tenant, items, actor=OPERATOR, default_channel=settings.default_channel
    )
    for result in results:
        table.add_row(
            path.name,
            str(result.index),
            result.outcome,
            result.number or "",
            result.invoice_id or "",
            field_reasons(result.errors),
        )
    return sum(result.outcome in {"rejected", "conflict"} for result in results)


def status(
    ctx: typer.Context,
    some_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]", help="invoice number, invoice or delivery id (or an id's first characters)"
        ),
    ] = None,
    tenant: Annotated[str | None, typer.Option(help="limit to one tenant")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Without ID: deliveries per status and the latest ones. With ID: one invoice and its history."""
    from gateway.services.outbound import deliveries as service
    from gateway.services.outbound import lookup

    with cli_context(ctx).session() as session:
        if some_id is None:
            _print_overview(session, tenant, as_json)
            return
        with fails_on(service.NotFound), fails_on(lookup.AmbiguousReference, code=2):
            found = lookup.find_delivery_or_invoice(session, tenant, some_id, prefix=True)
            view = service.invoice_view(session, found.tenant_id, found.invoice_id)
    if as_json:
        print_json(view)
    else:
        _print_invoice_history(view)


def _print_overview(session: Session, tenant: str | None, as_json: bool) -> None:
    from gateway.services.outbound import deliveries as service

    counts = service.status_counts(session, tenant)
    if as_json:
        print_json({"counts": counts})
        return
    print_table(("status", "deliveries"), ((name, str(count)) for name, count in sorted(counts.items())))
    print_table(
        ("delivery", "invoice", "channel", "status", "attempt", "updated", "last error"),
        (
            (
                item["id"],
                item["invoice_id"],
                item["channel"],
                item["status"],
                str(item["attempt"]),
                item["updated_at"][:19],
                (item["last_error"] or "")[:60],
            )
            for item in service.list_deliveries(session, tenant, limit=10)
        ),
        title="latest deliveries",
    )


def _print_invoice_history(view: dict[str, Any]) -> None:
    console.print(
        f"[bold]{view['document_type']} {view['number']}[/bold]  {view['payable_amount']} "
        f"{view['currency']}  to {view['buyer_name']}  (invoice {view['id']})"
    )
    for item in view["deliveries"]:
        console.print(
            f"\n delivery {item['id']} via [bold]{item['channel']}[/bold]: "
            f"[bold]{item['status']}[/bold] (attempt {item['attempt']})"
        )
        print_table(
            ("at", "attempt", "from", "to", "actor", "reason / message id"),
            (
                (
                    event["at"][:19],
                    str(event["attempt"]),
                    event["from"] or "",
                    event["to"],
                    event["actor"],
                    event["reason"] or event["channel_message_id"] or "",
                )
                for event in item["events"]
            ),
        )


def resend(
    ctx: typer.Context,
    some_id: Annotated[
        str,
        typer.Argument(
            metavar="ID", help="delivery id, or invoice id or number (latest delivery); or an id's start"
        ),
    ],
    reason: Annotated[str, typer.Option(help="why (kept in the history)")] = "resend requested by operator",
    channel: Annotated[str | None, typer.Option(help="another channel (a new delivery)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="another address")] = None,
    with_pod: Annotated[
        bool, typer.Option("--with-pod", help="send the invoice's linked proofs of delivery with it")
    ] = False,
) -> None:
    """Send an invoice again: a new attempt, with who and why in its history."""
    from channels import ChannelUnavailable, UnknownChannel
    from gateway.services.outbound import deliveries as service
    from gateway.services.outbound import lookup
    from gateway.services.outbound import resend as resend_service
    from outbox.queue import StaleStatus
    from outbox.states import IllegalTransition

    refusals = (
        service.NotFound,
        IllegalTransition,
        StaleStatus,
        UnknownChannel,
        ChannelUnavailable,
        resend_service.ResendRefused,
    )
    with (
        fails_on(*refusals),
        fails_on(lookup.AmbiguousReference, code=2),
        cli_context(ctx).session() as session,
    ):
        found = lookup.find_delivery_or_invoice(session, None, some_id, prefix=True)
        delivery = lookup.named_or_latest_delivery(session, found)
        if with_pod:
            if found.delivery is None:  # an invoice: its delivery on --channel, else its latest
                delivery = resend_service.pick_delivery(session, found.tenant_id, found.invoice_id, channel)
            resent = resend_service.resend_delivery(
                session, delivery, actor=OPERATOR, reason=reason, with_pod=True, channel=channel, address=to
            )
        else:
            resent = service.resend(
                session, delivery, actor=OPERATOR, reason=reason, channel=channel, address=to
            )
        view = service.delivery_view(resent)
    extras = f", with {len(view['extra_documents'])} proof(s) of delivery" if view["extra_documents"] else ""
    console.print(
        f"delivery {view['id']} queued again via {view['channel']} (attempt {view['attempt']}){extras}"
    )


def correct(
    ctx: typer.Context,
    invoice_id: Annotated[
        str,
        typer.Argument(help="the invoice whose delivery data is corrected: its number or (start of its) id"),
    ],
    tenant: TenantOption,
    reason: Annotated[str, typer.Option(help="why (kept in the history)")],
    address_json: Annotated[
        Path | None, typer.Option("--address-json", help="JSON file with the buyer's postal address")
    ] = None,
    email: Annotated[str | None, typer.Option("--email", help="the buyer's e-mail contact")] = None,
    resend_too: Annotated[
        bool, typer.Option("--resend", help="send the corrected invoice again as the next attempt")
    ] = False,
) -> None:
    """Fix data and resend: correct the buyer's postal address or e-mail (never amounts: credit note)."""
    from gateway.services.outbound import corrections, lookup
    from gateway.services.outbound import deliveries as service
    from gateway.services.outbound import resend as resend_service
    from outbox.queue import StaleStatus
    from outbox.states import IllegalTransition

    address = _read_address(address_json) if address_json is not None else None
    refusals = (
        service.NotFound,
        corrections.CorrectionRefused,
        resend_service.ResendRefused,
        IllegalTransition,
        StaleStatus,
    )
    resent_view: dict[str, Any] | None = None
    with (
        fails_on(*refusals),
        fails_on(corrections.CorrectionInvalid, describe=lambda error: field_reasons(error.errors)),
        fails_on(lookup.AmbiguousReference, code=2),
        cli_context(ctx).session() as session,
    ):
        invoice_id = lookup.find_invoice(session, tenant, invoice_id, prefix=True).id
        corrections.correct_delivery_data(
            session,
            tenant,
            invoice_id,
            actor=OPERATOR,
            reason=reason,
            buyer_address=address,
            buyer_email=email,
            buyer_endpoint=None,
        )
        if resend_too:
            resent = corrections.resend_corrected(
                session, tenant, invoice_id, actor=OPERATOR, reason=reason, buyer_email=email
            )
            resent_view = service.delivery_view(resent)
    console.print(f"invoice {invoice_id}: delivery data corrected")
    if resent_view is not None:
        console.print(
            f"delivery {resent_view['id']} queued again via {resent_view['channel']} "
            f"(attempt {resent_view['attempt']})"
        )


def _read_address(path: Path) -> dict[str, Any]:
    from mappings.base import FormatError
    from mappings.invoice.canonical_json import loads_exact

    with fails_on(OSError, FormatError, describe=lambda error: f"{path}: {error}"):
        loaded = loads_exact(path.read_bytes())
    if not isinstance(loaded, dict):
        fail(f"{path}: the address must be a JSON object")
    return loaded


def release(
    ctx: typer.Context,
    ids: Annotated[
        list[str], typer.Argument(metavar="ID…", help="held delivery ids (or invoice ids or numbers)")
    ],
    reason: Annotated[str, typer.Option(help="kept in the history")] = "released after review",
) -> None:
    """Let held deliveries go after review (they leave when the tenant's sending window allows)."""
    from gateway.services.outbound import deliveries as service
    from gateway.services.outbound import lookup
    from outbox.queue import StaleStatus
    from outbox.states import IllegalTransition

    cli = cli_context(ctx)
    for some_id in ids:
        with (
            fails_on(service.NotFound, IllegalTransition, StaleStatus),
            fails_on(lookup.AmbiguousReference, code=2),
            cli.session() as session,
        ):
            found = lookup.find_delivery_or_invoice(session, None, some_id, prefix=True)
            delivery = lookup.named_or_latest_delivery(session, found)
            released = service.release(session, delivery, actor=OPERATOR, reason=reason)
            view = service.delivery_view(released)
        console.print(f"delivery {view['id']} released; due {view['next_attempt_at']}")
