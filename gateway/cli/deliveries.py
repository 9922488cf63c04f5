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
    from mappings.invoice import ubl
    from mappings.invoice.canonical_json import loads_exact

    settings = cli.settings
    try:
        if path.suffix.lower() == ".xml":
            data = ubl.parse(path.read_bytes()).model_dump(mode="json", exclude_none=True)
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
    some_id: Annotated[str | None, typer.Argument(metavar="[ID]", help="invoice or delivery id")] = None,
    tenant: Annotated[str | None, typer.Option(help="limit to one tenant")] = None,
    as_json: JsonFlag = False,
) -> None:
    """Without ID: deliveries per status and the latest ones. With ID: one invoice and its history."""
    from gateway.services.outbound import deliveries as service

    with cli_context(ctx).session() as session:
        if some_id is None:
            _print_overview(session, tenant, as_json)
            return
        with fails_on(service.NotFound):
            delivery = service.resolve_delivery(session, tenant, some_id)
            view = service.invoice_view(session, delivery.tenant_id, delivery.invoice_id or "")
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
        str, typer.Argument(metavar="ID", help="delivery id, or invoice id (latest delivery)")
    ],
    reason: Annotated[str, typer.Option(help="why (kept in the history)")] = "resend requested by operator",
    channel: Annotated[str | None, typer.Option(help="another channel (a new delivery)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="another address")] = None,
    with_pod: Annotated[
        bool, typer.Option("--with-pod", help="send the invoice's linked proofs of delivery with it")
    ] = False,
    cancel_others: CancelOthersOption = False,
) -> None:
    """Send an invoice again: a new attempt, with who and why in its history. The invoice's other
    deliveries still waiting (e.g. a print fallback) are named, or cancelled with --cancel-others."""
    from channels import ChannelUnavailable, UnknownChannel
    from gateway.services.outbound import deliveries as service
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
    with fails_on(*refusals), cli_context(ctx).session() as session:
        delivery = service.resolve_delivery(session, None, some_id)
        if with_pod:
            if delivery.id != some_id:  # an invoice id: its delivery on --channel, else its latest
                delivery = resend_service.pick_delivery(
                    session, delivery.tenant_id, delivery.invoice_id or "", channel
                )
            resent = resend_service.resend_delivery(
                session, delivery, actor=OPERATOR, reason=reason, with_pod=True, channel=channel, address=to
            )
        else:
            resent = service.resend(
                session, delivery, actor=OPERATOR, reason=reason, channel=channel, address=to
            )
        siblings = resend_service.settle_siblings(
            session, resent, actor=OPERATOR, reason=reason, cancel_others=cancel_others
        )
        view = service.delivery_view(resent)
    extras = f", with {len(view['extra_documents'])} proof(s) of delivery" if view["extra_documents"] else ""
    console.print(
        f"delivery {view['id']} queued again via {view['channel']} (attempt {view['attempt']}){extras}"
    )
    _print_warnings([sibling.warning for sibling in siblings])


CancelOthersOption = Annotated[
    bool,
    typer.Option(
        "--cancel-others",
        help="cancel the invoice's other deliveries still waiting (queued, held, in an open print batch)",
    ),
]


def _print_warnings(warnings: list[str]) -> None:
    for warning in warnings:
        console.print(f"warning: {warning}", highlight=False, soft_wrap=True)


def correct(
    ctx: typer.Context,
    invoice_id: Annotated[str, typer.Argument(help="the invoice whose delivery data is corrected")],
    tenant: TenantOption,
    reason: Annotated[str, typer.Option(help="why (kept in the history)")],
    address_json: Annotated[
        Path | None, typer.Option("--address-json", help="JSON file with the buyer's postal address")
    ] = None,
    email: Annotated[str | None, typer.Option("--email", help="the buyer's e-mail contact")] = None,
    resend_too: Annotated[
        bool, typer.Option("--resend", help="send the corrected invoice again as the next attempt")
    ] = False,
    cancel_others: CancelOthersOption = False,
) -> None:
    """Fix data and resend: correct the buyer's postal address or e-mail (never amounts: credit note).

    Only the deliveries on the corrected channel (and on channels no buyer field addresses) are touched:
    --email readdresses the e-mail delivery and never re-queues a print letter. It names the delivery
    --resend sends again, and the invoice's other deliveries still waiting (cancelled: --cancel-others)."""
    from gateway.services.outbound import corrections
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
    with (
        fails_on(*refusals),
        fails_on(corrections.CorrectionInvalid, describe=lambda error: field_reasons(error.errors)),
        cli_context(ctx).session() as session,
    ):
        correction = corrections.correct_and_resend(
            session,
            tenant,
            invoice_id,
            actor=OPERATOR,
            reason=reason,
            buyer_address=address,
            buyer_email=email,
            buyer_endpoint=None,
            resend=resend_too,
            cancel_others=cancel_others,
        ).as_dict()
    corrected = ", ".join(correction["corrected"])
    console.print(f"invoice {invoice_id}: delivery data corrected ({corrected})", soft_wrap=True)
    for moved in correction["readdressed"]:
        console.print(
            f"delivery {moved['delivery_id']} via {moved['channel']} now goes to {moved['after']}",
            soft_wrap=True,
        )
    target = correction["resend_target"]
    if target is not None:
        named = f"delivery {target['delivery_id']} via {target['channel']} to {target['address'] or '-'}"
        if correction["resent"]:
            console.print(f"{named}: queued again (attempt {target['attempt']})", soft_wrap=True)
        elif not resend_too:
            console.print(f"--resend sends {named} (now {target['status']})", soft_wrap=True)
    _print_warnings(correction["warnings"])


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
    ids: Annotated[list[str], typer.Argument(metavar="ID…", help="held delivery ids (or invoice ids)")],
    reason: Annotated[str, typer.Option(help="kept in the history")] = "released after review",
) -> None:
    """Let held deliveries go after review (they leave when the tenant's sending window allows)."""
    from gateway.services.outbound import deliveries as service
    from outbox.queue import StaleStatus
    from outbox.states import IllegalTransition

    cli = cli_context(ctx)
    for some_id in ids:
        with fails_on(service.NotFound, IllegalTransition, StaleStatus), cli.session() as session:
            delivery = service.resolve_delivery(session, None, some_id)
            released = service.release(session, delivery, actor=OPERATOR, reason=reason)
            view = service.delivery_view(released)
        console.print(f"delivery {view['id']} released; due {view['next_attempt_at']}")
