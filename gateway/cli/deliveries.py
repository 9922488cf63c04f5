"""`gateway send | status | resend | correct | cancel | release`: invoices in, and their deliveries."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gateway.cli.common import (
    OPERATOR,
    USAGE,
    JsonFlag,
    Output,
    OutputOption,
    TenantFilter,
    TenantOption,
    collect_files,
    exit_if_rejected,
    fail,
    fails_on,
    field_reasons,
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

if TYPE_CHECKING:
    from sqlmodel import Session

SEND_COLUMNS = ("file", "#", "outcome", "number", "buyer", "invoice id", "errors")
DELIVERY_COLUMNS = (
    "delivery",
    "invoice",
    "number",
    "buyer",
    "channel",
    "status",
    "attempt",
    "updated",
    "last error",
)
DELIVERY_KEYS = ("delivery", "invoice", "number", "buyer")


def send(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(help="canonical JSON (one invoice or a list) or EHF/UBL or CII XML files, or folders"),
    ],
    tenant: TenantOption = "",
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """Push invoices into the outbox (the same intake as POST /invoices); exit 2 when one was rejected."""
    from gateway.services.tenancy.tenants import ensure_tenant

    shape = output_format(as_json, output)
    cli = cli_context(ctx)
    paths = collect_files(files, lambda path: path.suffix.lower() in {".json", ".xml"})
    with cli.session() as session:
        ensure_tenant(session, tenant)
    rows: list[dict[str, Any]] = []
    for path in tracked(paths, "intake"):
        rows.extend(_send_file(cli, path, tenant))
    print_items(
        rows,
        output=shape,
        columns=SEND_COLUMNS,
        keys=("number", "buyer", "invoice id"),
        row=lambda row: (
            row["file"],
            str(row.get("index", "-")),
            row["outcome"],
            row.get("number") or "",
            row.get("buyer") or "",
            row.get("invoice_id") or "",
            field_reasons(row.get("errors") or []),
        ),
    )
    exit_if_rejected(sum(row["outcome"] in {"rejected", "conflict"} for row in rows))


def _send_file(cli: CliContext, path: Path, tenant: str) -> list[dict[str, Any]]:
    """One file through intake: a row per invoice in it (a file that cannot be read is one rejected row)."""
    from gateway.services.outbound.intake import IntakeItem, accept_invoices, ubl_intake_data
    from mappings.base import FormatError
    from mappings.invoice.canonical_json import loads_exact

    settings = cli.settings
    content = read_input(path)
    try:
        if path.suffix.lower() == ".xml":
            data = ubl_intake_data(content)  # EHF / UBL or CII
        else:
            data = loads_exact(content, max_bytes=settings.max_body_bytes * 4)
    except FormatError as error:
        found = getattr(error, "errors", None) or [error.as_dict()]
        return [{"file": str(path), "outcome": "rejected", "errors": found}]
    offered = data if isinstance(data, list) else [data]
    results = accept_invoices(
        cli.engine,
        tenant,
        [IntakeItem(item) for item in offered],
        actor=OPERATOR,
        default_channel=settings.default_channel,
    )
    return [
        {"file": path.name, **result.as_dict(), "buyer": _buyer_name(offered, result.index)}
        for result in results
    ]


def _buyer_name(offered: list[Any], index: int) -> str | None:
    item = offered[index] if 0 <= index < len(offered) else None
    buyer = item.get("buyer") if isinstance(item, dict) else None
    name = buyer.get("name") if isinstance(buyer, dict) else None
    return name if isinstance(name, str) else None


def _invoice_labels(session: Session, invoice_ids: set[str]) -> dict[str, tuple[str, str]]:
    """Invoice id → (number, buyer name): what a person recognises next to the ids."""
    from sqlalchemy import select
    from sqlmodel import col

    from db.models import InvoiceRecord

    if not invoice_ids:
        return {}
    rows = session.execute(
        select(col(InvoiceRecord.id), col(InvoiceRecord.number), col(InvoiceRecord.buyer_name)).where(
            col(InvoiceRecord.id).in_(invoice_ids)
        )
    ).all()
    return {invoice_id: (number or "", buyer or "") for invoice_id, number, buyer in rows}


def status(
    ctx: typer.Context,
    some_id: Annotated[
        str | None,
        typer.Argument(
            metavar="[ID]", help="invoice number, invoice or delivery id (or an id's first characters)"
        ),
    ] = None,
    tenant: TenantFilter = None,
    limit: Annotated[int, typer.Option(help="how many of the latest deliveries")] = 10,
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """Without ID: deliveries per status and the latest ones. With ID: one invoice and its history."""
    from gateway.services.outbound import deliveries as service
    from gateway.services.outbound import lookup

    shape = output_format(as_json, output)
    with cli_context(ctx).session() as session:
        if some_id is None:
            _print_overview(session, tenant, limit, shape)
            return
        with fails_on(service.NotFound), fails_on(lookup.AmbiguousReference, code=USAGE):
            found = lookup.find_delivery_or_invoice(session, tenant, some_id, prefix=True)
            view = service.invoice_view(session, found.tenant_id, found.invoice_id or "")
    if shape is Output.JSON:
        print_json(view)
    elif shape is Output.CSV:
        fail("--output csv lists deliveries: use it without an ID", USAGE)
    else:
        _print_invoice_history(view)


def _print_overview(session: Session, tenant: str | None, limit: int, shape: Output) -> None:
    from gateway.services.outbound import deliveries as service

    counts = service.status_counts(session, tenant)
    latest = service.list_deliveries(session, tenant, limit=limit)
    labels = _invoice_labels(session, {item["invoice_id"] for item in latest})
    for item in latest:
        item["invoice_number"], item["buyer_name"] = labels.get(item["invoice_id"], ("", ""))
    if shape is Output.JSON:
        print_json({"counts": counts, "items": latest, "next": None})
        return
    if shape is Output.TABLE and stdout_is_terminal():  # a pipe gets the delivery rows only
        print_table(("status", "deliveries"), ((name, str(count)) for name, count in sorted(counts.items())))
    print_items(
        latest,
        output=shape,
        columns=DELIVERY_COLUMNS,
        keys=DELIVERY_KEYS,
        row=lambda item: (
            item["id"],
            item["invoice_id"],
            item["invoice_number"],
            item["buyer_name"],
            item["channel"],
            item["status"],
            str(item["attempt"]),
            item["updated_at"][:19],
            item["last_error"] or "",
        ),
    )


def _print_invoice_history(view: dict[str, Any]) -> None:
    print_lines(
        [
            f"{view['document_type']} {view['number']}  {view['payable_amount']} {view['currency']}  "
            f"to {view['buyer_name']}  (invoice {view['id']})"
        ]
    )
    for item in view["deliveries"]:
        print_lines(
            [
                "",
                f" delivery {item['id']} via {item['channel']}: {item['status']} (attempt {item['attempt']})",
            ]
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


CancelOthersOption = Annotated[
    bool,
    typer.Option(
        "--cancel-others",
        help="cancel the invoice's other deliveries still waiting (queued, held, in an open print batch)",
    ),
]


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
    tenant: TenantFilter = None,
    cancel_others: CancelOthersOption = False,
) -> None:
    """Send an invoice again: a new attempt, with who and why in its history. The invoice's other
    deliveries still waiting (e.g. a print fallback) are named, or cancelled with --cancel-others."""
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
        fails_on(lookup.AmbiguousReference, code=USAGE),
        cli_context(ctx).session() as session,
    ):
        found = lookup.find_delivery_or_invoice(session, tenant, some_id, prefix=True)
        delivery = lookup.named_or_latest_delivery(session, found)
        if with_pod:
            if found.delivery is None:  # an invoice: its delivery on --channel, else its latest
                delivery = resend_service.pick_delivery(
                    session, found.tenant_id, found.invoice_id or "", channel
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
    print_lines(
        [
            f"delivery {view['id']} queued again via {view['channel']} (attempt {view['attempt']}){extras}",
            *(f"warning: {sibling.warning}" for sibling in siblings),
        ]
    )


def correct(
    ctx: typer.Context,
    invoice_id: Annotated[
        str,
        typer.Argument(help="the invoice whose delivery data is corrected: its number or (start of its) id"),
    ],
    reason: Annotated[str, typer.Option(help="why (kept in the history)")],
    tenant: TenantOption = "",
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
    with (
        fails_on(*refusals),
        fails_on(corrections.CorrectionInvalid, describe=lambda error: field_reasons(error.errors)),
        fails_on(lookup.AmbiguousReference, code=USAGE),
        cli_context(ctx).session() as session,
    ):
        invoice_id = lookup.find_invoice(session, tenant, invoice_id, prefix=True).id
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
    lines = [f"invoice {invoice_id}: delivery data corrected ({', '.join(correction['corrected'])})"]
    lines += [
        f"delivery {moved['delivery_id']} via {moved['channel']} now goes to {moved['after']}"
        for moved in correction["readdressed"]
    ]
    target = correction["resend_target"]
    if target is not None:
        named = f"delivery {target['delivery_id']} via {target['channel']} to {target['address'] or '-'}"
        if correction["resent"]:
            lines.append(f"{named}: queued again (attempt {target['attempt']})")
        elif not resend_too:
            lines.append(f"--resend sends {named} (now {target['status']})")
    print_lines([*lines, *(f"warning: {warning}" for warning in correction["warnings"])])


def _read_address(path: Path) -> dict[str, Any]:
    from mappings.base import FormatError
    from mappings.invoice.canonical_json import loads_exact

    content = read_input(path)
    with fails_on(FormatError, code=USAGE, describe=lambda error: f"{path}: {error}"):
        loaded = loads_exact(content)
    if not isinstance(loaded, dict):
        fail(f"{path}: the address must be a JSON object", USAGE)
    return loaded


def cancel(
    ctx: typer.Context,
    some_id: Annotated[
        str, typer.Argument(metavar="ID", help="delivery id, or invoice id (its latest delivery)")
    ],
    reason: Annotated[str, typer.Option(help="why (kept in the history)")],
    tenant: TenantFilter = None,
) -> None:
    """Stop a delivery that has not gone yet (held, queued, failed, a deviation, or in a print batch that has
    not closed); it is never sent. Exit 1 when it has already left."""
    from gateway.services.outbound import deliveries as service
    from outbox.queue import StaleStatus
    from outbox.states import IllegalTransition

    with fails_on(service.NotFound, IllegalTransition, StaleStatus), cli_context(ctx).session() as session:
        delivery = service.resolve_delivery(session, tenant, some_id)
        cancelled = service.cancel(session, delivery, actor=OPERATOR, reason=reason)
        view = service.delivery_view(cancelled)
        number, buyer = _invoice_labels(session, {view["invoice_id"]}).get(view["invoice_id"], ("", ""))
    print_lines(
        [
            f"delivery {view['id']} via {view['channel']} cancelled "
            f"(invoice {number} to {buyer}, {view['invoice_id']})"
        ]
    )


def release(
    ctx: typer.Context,
    ids: Annotated[
        list[str], typer.Argument(metavar="ID…", help="held delivery ids (or invoice ids or numbers)")
    ],
    reason: Annotated[str, typer.Option(help="kept in the history")] = "released after review",
    tenant: TenantFilter = None,
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
            fails_on(lookup.AmbiguousReference, code=USAGE),
            cli.session() as session,
        ):
            found = lookup.find_delivery_or_invoice(session, tenant, some_id, prefix=True)
            delivery = lookup.named_or_latest_delivery(session, found)
            released = service.release(session, delivery, actor=OPERATOR, reason=reason)
            view = service.delivery_view(released)
        print_lines([f"delivery {view['id']} released; due {view['next_attempt_at']}"])
