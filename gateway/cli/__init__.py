"""`gateway` command line: run the API and workers, push files, follow deliveries, and dry runs."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.progress import Progress
from rich.table import Table

from gateway.cli.common import (
    OPERATOR,
    SftpOption,
    TenantOption,
    _engine,
    _fail,
    console,
    errors,
    load_sftp_settings,
)
from gateway.cli.payments import match, payments_app, remittance_app
from gateway.settings import Settings

if TYPE_CHECKING:
    pass

app = typer.Typer(
    help="Invoice gateway: canonical invoices in, deliveries out, statuses back.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)
token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
receiver_app = typer.Typer(
    help="Receiver profiles (preferred channel, fallbacks, addresses).", no_args_is_help=True
)
app.add_typer(token_app, name="token")
app.add_typer(receiver_app, name="receiver")
tenant_app = typer.Typer(
    help="Tenant delivery settings (sending window, hold for review).", no_args_is_help=True
)
app.add_typer(tenant_app, name="tenant")
participant_app = typer.Typer(
    help="PEPPOL participants that can receive (local capability registry).", no_args_is_help=True
)
app.add_typer(participant_app, name="participant")
partner_app = typer.Typer(
    help="EDI trading partners (identifiers, syntax, message format, transport).", no_args_is_help=True
)
app.add_typer(partner_app, name="partner")


@app.command()
def serve(host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the HTTP API."""
    import uvicorn

    from gateway.api.app import create_app

    uvicorn.run(create_app(Settings()), host=host, port=port)


@app.command()
def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="deliver what is due now, then exit")] = False,
    channel: Annotated[list[str] | None, typer.Option(help="only these channels")] = None,
    worker_id: Annotated[str | None, typer.Option(help="name in events (default host:pid)")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="write what each channel would send under data_dir/dry-run/")
    ] = False,
) -> None:
    """Claim and deliver queued deliveries until SIGTERM (or, with --once, until none is due)."""
    import logging

    from gateway.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    settings = Settings()
    if dry_run:
        settings.dry_run = True
    runner = Worker(_engine(ctx, settings), settings, worker_id=worker_id, channels=channel)
    runner.install_signal_handlers()
    stats = runner.run(once=once)
    console.print(f"claimed {stats.claimed}; outcomes {dict(stats.outcomes)}; leases lost {stats.lease_lost}")


def _collect_files(paths: list[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(
                sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() in {".json", ".xml"})
            )
        elif path.is_file():
            files.append(path)
        else:
            _fail(f"{path}: no such file or directory")
    return files


@app.command()
def send(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(help="canonical JSON (one invoice or a list) or EHF/UBL XML files, or folders"),
    ],
    tenant: TenantOption = "default",
) -> None:
    """Push invoices into the outbox (the same intake as POST /invoices)."""
    from db.engine import session_scope
    from gateway.services.outbound.intake import IntakeItem, IntakeResult, accept_invoices
    from gateway.services.tenancy.tenants import ensure_tenant
    from mappings.base import FormatError
    from mappings.invoice.canonical_json import loads_exact
    from mappings.invoice.ubl import parse_invoice_ubl

    settings = Settings()
    engine = _engine(ctx, settings)
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
    table = Table("file", "#", "outcome", "number", "invoice id", "errors")
    rejected = 0
    paths = _collect_files(files)
    with Progress(console=errors, transient=True) as progress:
        task = progress.add_task("intake", total=len(paths))
        for path in paths:
            progress.advance(task)
            try:
                if path.suffix.lower() == ".xml":
                    data = parse_invoice_ubl(path.read_bytes()).model_dump(mode="json", exclude_none=True)
                else:
                    data = loads_exact(path.read_bytes(), max_bytes=settings.max_body_bytes * 4)
            except FormatError as error:
                found = getattr(error, "errors", None) or [error.as_dict()]
                reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in found)
                table.add_row(str(path), "-", "rejected", "", "", reasons)
                rejected += 1
                continue
            items = [IntakeItem(item) for item in (data if isinstance(data, list) else [data])]
            results: list[IntakeResult] = accept_invoices(
                engine, tenant, items, actor=OPERATOR, default_channel=settings.default_channel
            )
            for result in results:
                reasons = "; ".join(f"{e['field']}: {e['reason']}" for e in result.errors)
                table.add_row(
                    path.name,
                    str(result.index),
                    result.outcome,
                    result.number or "",
                    result.invoice_id or "",
                    reasons,
                )
                rejected += result.outcome in {"rejected", "conflict"}
    console.print(table)
    if rejected:
        raise typer.Exit(2)


@app.command()
def status(
    ctx: typer.Context,
    some_id: Annotated[str | None, typer.Argument(metavar="[ID]", help="invoice or delivery id")] = None,
    tenant: Annotated[str | None, typer.Option(help="limit to one tenant")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Without ID: deliveries per status and the latest ones. With ID: one invoice and its history."""
    from db.engine import session_scope
    from gateway.services.outbound import deliveries as service

    engine = _engine(ctx, Settings())
    with session_scope(engine) as session:
        if some_id is None:
            counts = service.status_counts(session, tenant)
            if as_json:
                console.print_json(json.dumps({"counts": counts}))
                return
            table = Table("status", "deliveries")
            for name, count in sorted(counts.items()):
                table.add_row(name, str(count))
            console.print(table)
            latest = Table(
                "delivery",
                "invoice",
                "channel",
                "status",
                "attempt",
                "updated",
                "last error",
                title="latest deliveries",
            )
            for item in service.list_deliveries(session, tenant, limit=10):
                latest.add_row(
                    item["id"],
                    item["invoice_id"],
                    item["channel"],
                    item["status"],
                    str(item["attempt"]),
                    item["updated_at"][:19],
                    (item["last_error"] or "")[:60],
                )
            console.print(latest)
            return
        try:
            delivery = service.resolve_delivery(session, tenant, some_id)
            view = service.invoice_view(session, delivery.tenant_id, delivery.invoice_id or "")
        except service.NotFound as error:
            _fail(str(error))
            return
    if as_json:
        console.print_json(json.dumps(view))
        return
    console.print(
        f"[bold]{view['document_type']} {view['number']}[/bold]  {view['payable_amount']} "
        f"{view['currency']}  to {view['buyer_name']}  (invoice {view['id']})"
    )
    for item in view["deliveries"]:
        console.print(
            f"\n delivery {item['id']} via [bold]{item['channel']}[/bold]: "
            f"[bold]{item['status']}[/bold] (attempt {item['attempt']})"
        )
        events = Table("at", "attempt", "from", "to", "actor", "reason / message id")
        for event in item["events"]:
            events.add_row(
                event["at"][:19],
                str(event["attempt"]),
                event["from"] or "",
                event["to"],
                event["actor"],
                event["reason"] or event["channel_message_id"] or "",
            )
        console.print(events)


@app.command()
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
) -> None:
    """Send an invoice again: a new attempt, with who and why in its history."""
    from channels import ChannelUnavailable, UnknownChannel
    from db.engine import session_scope
    from gateway.services.outbound import deliveries as service
    from gateway.services.outbound import resend as resend_service
    from outbox.queue import StaleStatus
    from outbox.states import IllegalTransition

    engine = _engine(ctx, Settings())
    try:
        with session_scope(engine) as session:
            delivery = service.resolve_delivery(session, None, some_id)
            if with_pod:
                if delivery.id != some_id:  # an invoice id: its delivery on --channel, else its latest
                    delivery = resend_service.pick_delivery(
                        session, delivery.tenant_id, delivery.invoice_id or "", channel
                    )
                resent = resend_service.resend_delivery(
                    session,
                    delivery,
                    actor=OPERATOR,
                    reason=reason,
                    with_pod=True,
                    channel=channel,
                    address=to,
                )
            else:
                resent = service.resend(
                    session, delivery, actor=OPERATOR, reason=reason, channel=channel, address=to
                )
            view = service.delivery_view(resent)
    except (
        service.NotFound,
        IllegalTransition,
        StaleStatus,
        UnknownChannel,
        ChannelUnavailable,
        resend_service.ResendRefused,
    ) as error:
        _fail(str(error))
        return
    extras = f", with {len(view['extra_documents'])} proof(s) of delivery" if view["extra_documents"] else ""
    console.print(
        f"delivery {view['id']} queued again via {view['channel']} (attempt {view['attempt']}){extras}"
    )


@app.command()
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
) -> None:
    """Fix data and resend: correct the buyer's postal address or e-mail (never amounts: credit note)."""
    from db.engine import session_scope
    from gateway.services.outbound import corrections
    from gateway.services.outbound import deliveries as service
    from gateway.services.outbound import resend as resend_service
    from mappings.base import FormatError
    from mappings.invoice.canonical_json import loads_exact
    from outbox.queue import StaleStatus
    from outbox.states import IllegalTransition

    address: dict[str, Any] | None = None
    if address_json is not None:
        try:
            loaded = loads_exact(address_json.read_bytes())
        except (OSError, FormatError) as error:
            _fail(f"{address_json}: {error}")
            return
        if not isinstance(loaded, dict):
            _fail(f"{address_json}: the address must be a JSON object")
            return
        address = loaded
    engine = _engine(ctx, Settings())
    try:
        with session_scope(engine) as session:
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
            resent_view: dict[str, Any] | None = None
            if resend_too:
                resent = corrections.resend_corrected(
                    session, tenant, invoice_id, actor=OPERATOR, reason=reason, buyer_email=email
                )
                resent_view = service.delivery_view(resent)
    except corrections.CorrectionInvalid as error:
        _fail("; ".join(f"{entry['field']}: {entry['reason']}" for entry in error.errors))
        return
    except (
        service.NotFound,
        corrections.CorrectionRefused,
        resend_service.ResendRefused,
        IllegalTransition,
        StaleStatus,
    ) as error:
        _fail(str(error))
        return
    console.print(f"invoice {invoice_id}: delivery data corrected")
    if resent_view is not None:
        console.print(
            f"delivery {resent_view['id']} queued again via {resent_view['channel']} "
            f"(attempt {resent_view['attempt']})"
        )


@app.command()
def receive(
    ctx: typer.Context,
    files: Annotated[
        list[Path], typer.Argument(help="Invoice Response (T111), MLR or MLS XML files, or folders of them")
    ],
    tenant: Annotated[str | None, typer.Option(help="the tenant whose invoices they answer")] = None,
) -> None:
    """Take in status documents from receivers: store each once, link it to its delivery, apply it."""
    from gateway.services.inbound.responses import receive_status_document
    from mappings.base import FormatError

    settings = Settings()
    engine = _engine(ctx, settings)
    paths: list[Path] = []
    for path in files:
        if path.is_dir():
            paths.extend(sorted(p for p in path.iterdir() if p.is_file() and p.suffix.lower() == ".xml"))
        elif path.is_file():
            paths.append(path)
        else:
            _fail(f"{path}: no such file or directory")
    table = Table("file", "kind", "code", "references", "delivery", "status", "applied", "note")
    rejected = 0
    for path in paths:
        try:
            result = receive_status_document(
                engine, path.read_bytes(), actor=OPERATOR, tenant_id=tenant, rules_dir=settings.rules_dir
            )
        except FormatError as error:
            table.add_row(path.name, "-", "-", "", "", "", "rejected", f"{error.where}: {error.reason}")
            rejected += 1
            continue
        table.add_row(
            path.name,
            result.kind,
            result.response_code or "",
            result.referenced_document_id or "",
            result.delivery_id or "",
            result.delivery_status or "",
            "yes" if result.applied else ("repeat" if result.duplicate else "no"),
            result.note or "",
        )
    console.print(table)
    if rejected:
        raise typer.Exit(2)


@app.command()
def bounces(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(help="DSN e-mails (.eml), mbox files, folders of them, or Maildir folders"),
    ],
    tenant: Annotated[str | None, typer.Option(help="the tenant whose deliveries they report on")] = None,
) -> None:
    """Take in e-mail delivery status notifications (bounces, delays, delivery reports): store, link, apply.

    A Maildir's unread messages (new/, and cur/ without the S flag) are read and then moved to cur/ with
    the `:2,S` flag, so the next run does not read them again; files and mbox files are left as they are
    (the same message twice is stored once and not applied again).
    """
    from gateway.services.inbound.bounces import mail_sources, receive_bounce
    from mappings.base import FormatError

    settings = Settings()
    engine = _engine(ctx, settings)
    table = Table("message", "action", "link", "delivery", "status", "applied", "note")
    rejected = 0
    try:
        for source in mail_sources(paths):
            try:
                result = receive_bounce(engine, source.data, actor=OPERATOR, tenant_id=tenant)
            except FormatError as error:
                table.add_row(source.name, "-", "", "", "", "rejected", f"{error.where}: {error.reason}")
                rejected += 1
                source.done()
                continue
            source.done()
            table.add_row(
                source.name,
                result.classification or "",
                result.linked_by or "",
                result.delivery_id or "",
                result.delivery_status or "",
                "yes" if result.applied else ("repeat" if result.duplicate else "no"),
                result.note or "",
            )
    except FileNotFoundError as error:
        _fail(str(error))
    console.print(table)
    if rejected:
        raise typer.Exit(2)


@app.command()
def batches(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="only this tenant's batches")] = None,
    status: Annotated[
        str | None, typer.Option(help="ready, sending, sent, accepted, rejected, failed")
    ] = None,
    close_now: Annotated[
        bool, typer.Option("--close-now", help="close every waiting batch now, without its cut-off")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Print batches (newest cut-off first) and the documents still waiting for their cut-off.

    `--close-now` is the operator's "print now": the waiting documents become batches at once; the next
    worker round uploads them.
    """
    from db.engine import session_scope
    from gateway.services.outbound.batches import batch_view, close_due_batches, list_batches, open_items

    engine = _engine(ctx, Settings())
    with session_scope(engine) as session:
        closed = close_due_batches(session, early=True) if close_now else []
        found = [batch_view(session, batch) for batch in list_batches(session, tenant, status)]
        waiting = open_items(session, tenant)
    if as_json:
        console.print_json(json.dumps({"closed": closed, "batches": found, "waiting": waiting}))
        return
    for batch_id in closed:
        console.print(f"closed {batch_id}")
    table = Table("batch", "tenant", "cut-off", "status", "documents", "tries", "last error")
    for view in found:
        table.add_row(
            view["id"],
            view["tenant_id"],
            view["cutoff_at"],
            view["status"],
            str(view["documents"]),
            str(view["tries"]),
            (view["last_error"] or "")[:80],
        )
    console.print(table)
    for group in waiting:
        console.print(
            f"waiting: {group['items']} document(s) of {group['tenant_id']} for the "
            f"{group['batch_key']} batch at {group['due_at']}"
        )


@app.command("receive-edi")
def receive_edi(
    ctx: typer.Context,
    files: Annotated[
        list[Path], typer.Argument(help="EDIFACT or X12 files (acks, REMADV, 820…), or folders of them")
    ],
    tenant: Annotated[str | None, typer.Option(help="the tenant whose trading partners sent them")] = None,
) -> None:
    """Take in EDI files: acknowledgements move deliveries; business messages are recorded and answered
    (CONTRL / 997 / 999 to the partner's transport). Exit code 2 when a file was rejected."""
    from gateway.services.inbound.edi_acks import receive_edi as receive
    from mappings.base import FormatError

    engine = _engine(ctx, Settings())
    paths: list[Path] = []
    for path in files:
        if path.is_dir():
            paths.extend(sorted(p for p in path.iterdir() if p.is_file() and not p.name.startswith(".")))
        elif path.is_file():
            paths.append(path)
        else:
            _fail(f"{path}: no such file or directory")
    table = Table(
        "file", "kind", "type", "partner", "interchange", "status", "linked", "applied", "answer", "note"
    )
    rejected = 0
    for path in paths:
        try:
            result = receive(engine, path.read_bytes(), tenant_id=tenant, actor=OPERATOR)
        except FormatError as error:
            table.add_row(
                path.name, "-", "", "", "", "rejected", "", "", "", f"{error.where}: {error.reason}"
            )
            rejected += 1
            continue
        rejected += result.rejected
        linked = ", ".join(
            str(item.get("delivery_id") or item.get("interchange_ref") or "") for item in result.linked
        )
        answer = result.answer or {}
        table.add_row(
            path.name,
            result.kind,
            result.message_type,
            result.partner_id or "",
            result.interchange_ref,
            result.status or "",
            linked,
            "yes" if result.applied else ("repeat" if result.duplicate else "no"),
            f"{answer.get('kind', '')} {answer.get('interchange_ref', '')}".strip(),
            result.note or "",
        )
    console.print(table)
    if rejected:
        raise typer.Exit(2)


@app.command("print-returns")
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
    from channels import create_channel
    from channels.print_sftp import PrintChannel
    from gateway.services.inbound.print_returns import poll_print_returns, receive_print_return

    settings = Settings()
    engine = _engine(ctx, settings)
    table = Table("file", "kind", "batch", "applied", "noted", "unlinked", "note")
    rejected = 0
    if files:
        outcomes = []
        for path in files:
            if not path.is_file():
                _fail(f"{path} is not a file")
            outcome = receive_print_return(engine, path.read_bytes(), source=path.name, actor=OPERATOR)
            outcomes.append({"file": path.name, **outcome.as_dict()})
    else:
        channel = create_channel(channel_name, settings.channel_settings(channel_name))
        if not isinstance(channel, PrintChannel):
            _fail(f"channel {channel_name} is not a print channel")
            return
        report = poll_print_returns(engine, channel, actor=f"{channel_name}:returns")
        outcomes = report.files
        for error in report.errors:
            errors.print(f"[yellow]warning:[/yellow] {error}")
    for row in outcomes:
        rejected += 1 if row["rejected"] else 0
        table.add_row(
            row["file"],
            row["kind"] or "-",
            row["batch_id"] or "",
            str(row["applied"]),
            str(row["noted"]),
            ", ".join(row["unlinked"]),
            "repeat" if row["repeated"] else (f"rejected: {row['rejected']}" if row["rejected"] else ""),
        )
    console.print(table)
    if rejected:
        raise typer.Exit(2)


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    tenant: TenantOption,
    name: Annotated[str, typer.Option(help="who uses it, e.g. the ERP")],
) -> None:
    """Create an API token for a tenant; it is printed once and stored only as a hash."""
    from db.engine import session_scope
    from gateway.services.tenancy.tenants import create_token

    with session_scope(_engine(ctx, Settings())) as session:
        token = create_token(session, tenant, name)
    console.print(token, soft_wrap=True, highlight=False)


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, token_id: str) -> None:
    """Revoke a token by its id (the part after `gw_`)."""
    from db.engine import session_scope
    from gateway.services.tenancy.tenants import revoke_token

    with session_scope(_engine(ctx, Settings())) as session:
        if not revoke_token(session, token_id):
            _fail(f"no active token {token_id}")
    console.print(f"revoked {token_id}")


@receiver_app.command("put")
def receiver_put(ctx: typer.Context, file: Path, tenant: TenantOption = "default") -> None:
    """Create or replace a receiver profile from a JSON file."""
    from pydantic import ValidationError

    from channels import known_channels
    from db.engine import session_scope
    from gateway.services.tenancy.tenants import put_receiver
    from schemas.canonical import ReceiverProfile

    try:
        profile = ReceiverProfile.model_validate_json(file.read_bytes())
    except ValidationError as error:
        _fail(str(error))
        return
    unknown = [
        c for c in [profile.preferred_channel, *profile.fallback_channels] if c not in known_channels()
    ]
    if unknown:
        _fail(f"unknown channel(s) {unknown}; known: {known_channels()}")
    with session_scope(_engine(ctx, Settings())) as session:
        put_receiver(session, tenant, profile)
    console.print(f"receiver {profile.receiver_id} saved")


@participant_app.command("add")
def participant_add(
    ctx: typer.Context,
    participant_id: Annotated[str, typer.Argument(help="scheme:value, e.g. 0192:987654325")],
    types: Annotated[
        str, typer.Option(help="comma-separated: invoice, credit_note or PEPPOL document type ids")
    ] = "invoice,credit_note",
    name: Annotated[str | None, typer.Option()] = None,
) -> None:
    """Record a receiver as PEPPOL-capable, so routing sends it PEPPOL instead of falling back."""
    from db.engine import session_scope
    from gateway.services.tenancy.tenants import put_participant

    document_types = [t.strip() for t in types.split(",") if t.strip()]
    try:
        with session_scope(_engine(ctx, Settings())) as session:
            put_participant(session, participant_id, document_types=document_types, name=name)
    except ValueError as error:
        _fail(str(error))
    console.print(f"participant {participant_id} receives {', '.join(document_types)}")


@partner_app.command("put")
def partner_put(ctx: typer.Context, file: Path, tenant: TenantOption = "default") -> None:
    """Create or replace a trading partner's EDI profile from a JSON file (schemas/edi_partner.py)."""
    from pydantic import ValidationError

    from db.engine import session_scope
    from gateway.services.tenancy.edi_partners import put_partner
    from gateway.services.tenancy.tenants import ensure_tenant
    from schemas.edi_partner import TradingPartner

    try:
        partner = TradingPartner.model_validate_json(file.read_bytes())
    except ValidationError as error:
        _fail(str(error))
        return
    with session_scope(_engine(ctx, Settings())) as session:
        ensure_tenant(session, tenant)
        put_partner(session, tenant, partner)
    console.print(f"trading partner {partner.partner_id} saved ({partner.message_format})")


@partner_app.command("list")
def partner_list(
    ctx: typer.Context, tenant: Annotated[str | None, typer.Option(help="only this tenant")] = None
) -> None:
    """The trading partners, per tenant."""
    from db.engine import session_scope
    from gateway.services.tenancy.edi_partners import list_partners

    with session_scope(_engine(ctx, Settings())) as session:
        found = list_partners(session, tenant)
    table = Table("tenant", "partner", "name", "format", "us", "them", "transport", "test")
    for tenant_id, partner in found:
        table.add_row(
            tenant_id,
            partner.partner_id,
            partner.name or "",
            partner.message_format,
            f"{partner.us.qualifier}:{partner.us.id}",
            f"{partner.them.qualifier}:{partner.them.id}",
            partner.transport.kind,
            "yes" if partner.test else "",
        )
    console.print(table)


@partner_app.command("show")
def partner_show(ctx: typer.Context, partner_id: str, tenant: TenantOption = "default") -> None:
    """One trading partner's profile as JSON (secrets masked)."""
    from pydantic import ValidationError

    from db.engine import session_scope
    from gateway.services.tenancy.edi_partners import get_partner

    try:
        with session_scope(_engine(ctx, Settings())) as session:
            partner = get_partner(session, tenant, partner_id)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors(include_input=False, include_url=False)
        )
        _fail(f"the stored profile of {partner_id} no longer validates: {problems}")
        return
    if partner is None:
        _fail(f"no trading partner {partner_id!r} for tenant {tenant!r}")
        return
    console.print_json(partner.model_dump_json())


@tenant_app.command("set")
def tenant_set(ctx: typer.Context, tenant: str, file: Path) -> None:
    """Replace a tenant's delivery settings from a JSON file (see schemas/tenant.py)."""
    from pydantic import ValidationError

    from db.engine import session_scope
    from gateway.services.tenancy.tenants import put_tenant_settings
    from schemas.tenant import TenantSettings

    try:
        settings = TenantSettings.model_validate_json(file.read_bytes())
    except ValidationError as error:
        _fail(str(error))
        return
    with session_scope(_engine(ctx, Settings())) as session:
        put_tenant_settings(session, tenant, settings)
    console.print_json(settings.model_dump_json())


@tenant_app.command("show")
def tenant_show(ctx: typer.Context, tenant: str) -> None:
    """Print a tenant's delivery settings."""
    from db.engine import session_scope
    from gateway.services.tenancy.tenants import tenant_settings

    with session_scope(_engine(ctx, Settings())) as session:
        console.print_json(tenant_settings(session, tenant).model_dump_json())


@app.command()
def release(
    ctx: typer.Context,
    ids: Annotated[list[str], typer.Argument(metavar="ID…", help="held delivery ids (or invoice ids)")],
    reason: Annotated[str, typer.Option(help="kept in the history")] = "released after review",
) -> None:
    """Let held deliveries go after review (they leave when the tenant's sending window allows)."""
    from db.engine import session_scope
    from gateway.services.outbound import deliveries as service
    from outbox.queue import StaleStatus
    from outbox.states import IllegalTransition

    engine = _engine(ctx, Settings())
    for some_id in ids:
        try:
            with session_scope(engine) as session:
                delivery = service.resolve_delivery(session, None, some_id)
                released = service.release(session, delivery, actor=OPERATOR, reason=reason)
                view = service.delivery_view(released)
        except (service.NotFound, IllegalTransition, StaleStatus) as error:
            _fail(str(error))
            return
        console.print(f"delivery {view['id']} released; due {view['next_attempt_at']}")


@app.command()
def render(
    file: Path,
    to: Annotated[str, typer.Option("--to", help="wire format")] = "canonical-json",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="write here instead of stdout")
    ] = None,
) -> None:
    """Dry run: print the wire document the gateway would send for a canonical invoice file."""
    from mappings import UnknownFormat
    from mappings import render as render_document
    from mappings.base import FormatError
    from mappings.invoice.canonical_json import InvoiceValidationError, parse_invoice_json

    try:
        invoice = parse_invoice_json(file.read_bytes())
        document = render_document(to, invoice)
    except InvoiceValidationError as error:
        _fail("; ".join(f"{e['field']}: {e['reason']}" for e in error.errors))
        return
    except (FormatError, UnknownFormat) as error:
        _fail(str(error))
        return
    except OSError as error:
        _fail(f"{file}: {error.strerror}")
        return
    if output:
        output.write_bytes(document.content)
        errors.print(f"wrote {len(document.content)} bytes ({document.media_type}) to {output}")
    else:
        sys.stdout.buffer.write(document.content)
        sys.stdout.buffer.write(b"\n")


@app.command()
def inspect(file: Path, as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """Detect what a file is and show what the gateway reads from it."""
    from mappings import inspect_file
    from mappings.base import FormatError

    try:
        result = inspect_file(file.read_bytes())
    except FormatError as error:
        _fail(str(error))
        return
    except OSError as error:
        _fail(f"{file}: {error.strerror}")
        return
    if as_json:
        console.print_json(json.dumps(result, default=str))
    else:
        console.print(result)


@app.command()
def validate(
    file: Path,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    rules_dir: Annotated[
        Path | None,
        typer.Option(help="official validation artefacts (default: GATEWAY_RULES_DIR, else bundled XSD+CEN)"),
    ] = None,
) -> None:
    """Validate a UBL document with the official XSD and schematron rules; exit 1 on a fatal or error."""
    from gateway.services.validation import get_validator

    try:
        data = file.read_bytes()
    except OSError as error:
        _fail(f"{file}: {error.strerror}")
        return
    try:
        validator = get_validator(rules_dir or Settings().rules_dir)
    except OSError as error:  # a rules directory that is not there
        _fail(str(error))
        return
    report = validator.validate(data)
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
    else:
        table = Table("rule", "flag", "location", "text", title=f"{file.name}: {report.document_kind}")
        colours = {"fatal": "red", "error": "red", "warning": "yellow"}
        for finding in report.findings:
            colour = colours.get(finding.flag, "blue")
            table.add_row(
                finding.rule_id, f"[{colour}]{finding.flag}[/{colour}]", finding.location, finding.text
            )
        if report.findings:
            console.print(table)
        verdict = "[green]valid[/green]" if report.ok else f"[red]{len(report.blocking)} blocking[/red]"
        rule_sets = ", ".join(report.rule_sets) or "none"
        console.print(f"{verdict}, {len(report.warnings)} warning(s); rule sets: {rule_sets}")
    if not report.ok:
        raise typer.Exit(1)


@app.command()
def schema(directory: Annotated[Path, typer.Argument()] = Path("schemas")) -> None:
    """Write the canonical model's JSON Schemas (invoice, receiver profile)."""
    from schemas.canonical import invoice_json_schema, receiver_json_schema

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "invoice.schema.json").write_text(json.dumps(invoice_json_schema(), indent=2) + "\n")
    (directory / "receiver.schema.json").write_text(json.dumps(receiver_json_schema(), indent=2) + "\n")
    console.print(f"wrote {directory}/invoice.schema.json and receiver.schema.json")


deviations_app = typer.Typer(
    help="Deviations across channels: list (default), resolve, resend.", invoke_without_command=True
)
app.add_typer(deviations_app, name="deviations")
webhook_app = typer.Typer(
    help="Webhooks to the ERP: endpoints, and sending due events.", no_args_is_help=True
)
app.add_typer(webhook_app, name="webhook")
app.add_typer(webhook_app, name="webhooks", hidden=True)  # `gateway webhooks send` reads naturally too


@deviations_app.callback()
def deviations_list(
    ctx: typer.Context,
    tenant: Annotated[str | None, typer.Option(help="only this tenant")] = None,
    cause: Annotated[str | None, typer.Option(help="validation-failed, bounced, returned-mail, …")] = None,
    channel: Annotated[str | None, typer.Option(help="only this channel")] = None,
    show_all: Annotated[bool, typer.Option("--all", help="closed ones too")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Open deviations (newest first) with their cause and the actions that fit."""
    if ctx.invoked_subcommand is not None:
        return
    from db.engine import session_scope
    from gateway.services.outbound.deviations import list_deviations

    with session_scope(_engine(ctx, Settings())) as session:
        items = list_deviations(
            session, tenant, status="all" if show_all else "open", cause=cause, channel=channel, limit=1000
        )
    if as_json:
        console.print_json(json.dumps(items))
        return
    table = Table(
        "id", "invoice", "buyer", "channel", "attempt", "cause", "opened", "status", "actions", "detail"
    )
    for item in items:
        table.add_row(
            item["id"],
            item["invoice_number"] or "",
            item["buyer"] or "",
            item["channel"],
            str(item["attempt"]),
            item["cause"],
            item["opened_at"][:19],
            item["status"] if item["status"] == "open" else f"{item['closure']} by {item['closed_by']}",
            ", ".join(a["action"] for a in item["actions"]),
            (item["detail"] or "")[:80],
        )
    console.print(table)


@deviations_app.command("resolve")
def deviations_resolve(
    ctx: typer.Context,
    deviation_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str, typer.Option(help="why it needs nothing more (kept in the history)")],
    tenant: Annotated[str | None, typer.Option(help="the deviation's tenant (checked)")] = None,
) -> None:
    """Close a deviation without sending again; the delivery's history records who and why."""
    from db.engine import session_scope
    from gateway.services.outbound.deliveries import NotFound
    from gateway.services.outbound.deviations import DeviationClosed, resolve_deviation

    try:
        with session_scope(_engine(ctx, Settings())) as session:
            view = resolve_deviation(session, tenant, deviation_id, actor=OPERATOR, reason=reason)
    except (NotFound, DeviationClosed) as error:
        _fail(str(error))
        return
    console.print(f"deviation {view['id']} resolved by {view['closed_by']}")


@deviations_app.command("resend")
def deviations_resend(
    ctx: typer.Context,
    deviation_id: Annotated[str, typer.Argument(metavar="ID")],
    reason: Annotated[str | None, typer.Option(help="why (kept in the history)")] = None,
    channel: Annotated[str | None, typer.Option(help="another channel (a new delivery)")] = None,
    to: Annotated[str | None, typer.Option("--to", help="another address")] = None,
    tenant: Annotated[str | None, typer.Option(help="the deviation's tenant (checked)")] = None,
) -> None:
    """Send the invoice again (next attempt, or a new delivery on --channel) and close the deviation."""
    from db.engine import session_scope
    from gateway.services.outbound.deliveries import NotFound
    from gateway.services.outbound.deviations import DeviationClosed, resend_deviation
    from outbox.queue import StaleStatus
    from outbox.states import IllegalTransition

    try:
        with session_scope(_engine(ctx, Settings())) as session:
            result = resend_deviation(
                session, tenant, deviation_id, actor=OPERATOR, reason=reason, channel=channel, address=to
            )
    except (NotFound, DeviationClosed, IllegalTransition, StaleStatus) as error:
        _fail(str(error))
        return
    delivery = result["delivery"]
    console.print(
        f"deviation {deviation_id} closed ({result['deviation']['closure']}); delivery {delivery['id']} "
        f"queued via {delivery['channel']} (attempt {delivery['attempt']})"
    )


@webhook_app.command("add")
def webhook_add(
    ctx: typer.Context,
    url: str,
    tenant: TenantOption = "default",
    events: Annotated[
        str,
        typer.Option(help="comma-separated: delivery.status_changed, deviation.opened, deviation.closed, *"),
    ] = "*",
    secret: Annotated[str | None, typer.Option(help="your own signing secret (default: generated)")] = None,
) -> None:
    """Add (or change) an endpoint; a generated secret is printed this once."""
    from db.engine import session_scope
    from gateway.services.tenancy import webhooks

    wanted = [e.strip() for e in events.split(",") if e.strip()]
    try:
        with session_scope(_engine(ctx, Settings())) as session:
            endpoint, created, generated = webhooks.put_endpoint(
                session, tenant, url=url, events=wanted, secret=secret
            )
            view = webhooks.endpoint_view(endpoint)
    except webhooks.WebhookError as error:
        _fail(str(error))
        return
    console.print(f"webhook {view['id']} {'added' if created else 'changed'}: {url} {view['events']}")
    if generated:
        console.print(f"secret (shown once): {generated}")


@webhook_app.command("list")
def webhook_list(
    ctx: typer.Context, tenant: Annotated[str | None, typer.Option(help="only this tenant")] = None
) -> None:
    """Endpoints (secrets are never shown) and their events by status."""
    from sqlalchemy import func, select
    from sqlmodel import col

    from db.engine import session_scope
    from db.models import WebhookEvent
    from gateway.services.tenancy import webhooks

    table = Table("id", "tenant", "url", "events", "active", "pending", "delivered", "failed")
    with session_scope(_engine(ctx, Settings())) as session:
        for endpoint in webhooks.list_endpoints(session, tenant):
            counts = dict(
                session.execute(
                    select(col(WebhookEvent.status), func.count())
                    .where(col(WebhookEvent.endpoint_id) == endpoint.id)
                    .group_by(col(WebhookEvent.status))
                ).all()
            )
            table.add_row(
                endpoint.id,
                endpoint.tenant_id,
                endpoint.url,
                ",".join(endpoint.events),
                "yes" if endpoint.active else "no",
                str(counts.get("pending", 0) + counts.get("sending", 0)),
                str(counts.get("delivered", 0)),
                str(counts.get("failed", 0)),
            )
    console.print(table)


@webhook_app.command("remove")
def webhook_remove(ctx: typer.Context, endpoint_id: str, tenant: TenantOption = "default") -> None:
    """Remove an endpoint and its events."""
    from db.engine import session_scope
    from gateway.services.tenancy import webhooks

    with session_scope(_engine(ctx, Settings())) as session:
        found = webhooks.delete_endpoint(session, tenant, endpoint_id)
    if not found:
        _fail(f"no webhook endpoint {endpoint_id} for tenant {tenant}")
    console.print(f"webhook {endpoint_id} removed")


@webhook_app.command("send")
def webhook_send(ctx: typer.Context) -> None:
    """Send every due webhook event now (a manual drain; workers do this every few seconds)."""
    from gateway.services.tenancy.webhooks import SendReport, send_due_events, webhook_policy

    settings = Settings()
    engine = _engine(ctx, settings)
    total = SendReport()
    while True:
        report = send_due_events(
            engine, policy=webhook_policy(settings), timeout_seconds=settings.webhook_timeout_seconds
        )
        if not report.claimed:
            break
        total.claimed += report.claimed
        total.delivered += report.delivered
        total.retried += report.retried
        total.failed += report.failed
        if not report.delivered and not report.failed:
            break  # only retries left, scheduled for later
    console.print(
        f"sent {total.claimed}: delivered {total.delivered}, to retry {total.retried}, failed {total.failed}"
    )


pod_app = typer.Typer(
    help="Proofs of delivery: add files, list the unlinked queue, link, take in a folder drop.",
    no_args_is_help=True,
)
app.add_typer(pod_app, name="pod")


def _pod_row(table: Table, view: dict[str, Any]) -> None:
    linked = ", ".join(f"{link['number']} ({link['linked_by']})" for link in view["links"])
    hint = "; ".join(f"{s['number']}: {', '.join(s['why'])}" for s in view["suggestions"])
    table.add_row(
        view["id"], view["kind"], view["signer_name"] or "", view["signed_at"] or "",
        json.dumps(view["references"]), linked or "-", hint,
    )  # fmt: skip


def _pod_table() -> Table:
    return Table("pod", "kind", "signer", "signed at", "references", "linked to", "suggestions")


@pod_app.command("add")
def pod_add(
    ctx: typer.Context,
    file: Path,
    tenant: TenantOption = "default",
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
    from gateway.services.outbound.documents import document_store

    settings = Settings()
    engine = _engine(ctx, settings)
    references = {
        kind: values
        for kind, values in (("order_numbers", order), ("delivery_notes", note), ("shipment_ids", shipment),
                             ("invoice_numbers", invoice))
        if values
    }  # fmt: skip
    try:
        if not file.is_file():
            raise pods.PodRefused("FILE", f"{file}: no such file")
        if file.stat().st_size > settings.max_pod_bytes:
            size = file.stat().st_size
            raise pods.PodRefused("FILE", f"{size:,} bytes; at most {settings.max_pod_bytes:,}", status=413)
        receipt = pods.receive_pod(
            engine, document_store(settings), tenant_id=tenant, data=file.read_bytes(), filename=file.name,
            signer_name=signer, signed_at=pods.parse_signed_at(signed_at, "--signed-at"), place=place,
            references=references, source="cli", actor=OPERATOR, max_bytes=settings.max_pod_bytes,
        )  # fmt: skip
    except pods.PodRefused as error:
        _fail(f"{error.field}: {error.reason}")
        return
    table = _pod_table()
    for view in receipt.pods:
        _pod_row(table, view)
    console.print(table)
    if receipt.duplicate:
        console.print("the same file was received before: these are its first PODs")


@pod_app.command("list")
def pod_list(
    ctx: typer.Context,
    tenant: TenantOption = "default",
    unlinked: Annotated[bool, typer.Option("--unlinked", help="only PODs waiting for a link")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """The tenant's PODs, newest first, with links or suggestions."""
    from db.engine import session_scope
    from gateway.services.inbound import pods

    engine = _engine(ctx, Settings())
    with session_scope(engine) as session:
        found = pods.list_pods(session, tenant, False if unlinked else None)
        views = [pods.pod_view(session, p) for p in found]
    if as_json:
        console.print_json(json.dumps(views))
        return
    table = _pod_table()
    for view in views:
        _pod_row(table, view)
    console.print(table)


@pod_app.command("link")
def pod_link(ctx: typer.Context, pod: str, invoice: str, tenant: TenantOption = "default") -> None:
    """Link a POD to an invoice by hand (POD id, invoice id)."""
    from db.engine import session_scope
    from gateway.services.inbound import pods

    engine = _engine(ctx, Settings())
    try:
        with session_scope(engine) as session:
            pods.link_pod(session, tenant, pod, invoice, OPERATOR)
    except pods.NotFound as error:
        _fail(str(error))
        return
    console.print(f"proof of delivery {pod} linked to invoice {invoice}")


@pod_app.command("drop")
def pod_drop(
    ctx: typer.Context,
    directory: Annotated[str, typer.Argument(help="local folder, or the remote folder with --sftp")],
    tenant: TenantOption = "default",
    sftp: SftpOption = None,
) -> None:
    """Take in a folder drop: files with a `<file>.json` sidecar or named `POD_<kind>_<reference>….<ext>`
    (kind order, note, shipment or invoice); each moves to done/ or rejected/ (with a .reason.txt). With
    `--sftp` the folder is on an SFTP server (host key pinned) and the files move there."""

    from gateway.services.inbound import pods
    from gateway.services.outbound.documents import document_store
    from transports.sftp import SftpError

    settings = Settings()
    if sftp is None:
        if not Path(directory).is_dir():
            _fail(f"{directory}: not a directory")
        engine = _engine(ctx, settings)
        items = pods.receive_pod_folder(
            engine, document_store(settings), Path(directory), tenant, OPERATOR,
            max_bytes=settings.max_pod_bytes,
        )  # fmt: skip
    else:
        remote = load_sftp_settings(sftp)
        engine = _engine(ctx, settings)
        try:
            items = pods.receive_pod_sftp(
                engine, document_store(settings), remote, directory, tenant, OPERATOR,
                max_bytes=settings.max_pod_bytes,
            )  # fmt: skip
        except SftpError as error:
            _fail(f"SFTP: {error}")
            return
    table = Table("file", "outcome", "pods", "reason")
    for item in items:
        table.add_row(item.file, item.outcome, ", ".join(item.pod_ids), item.reason or "")
    console.print(table)
    if any(item.outcome == "rejected" for item in items):
        raise typer.Exit(2)


@app.command()
def demo(count: Annotated[int, typer.Option(help="sample invoices to push")] = 5) -> None:
    """Push sample invoices through intake, outbox, worker and the folder channel; print their statuses."""
    from gateway.demo import run_demo

    run_demo(Settings(), count=count, console=console)


def main() -> None:  # pragma: no cover
    app()


# Credit control lives in its own module; registered here so `gateway --help` lists it with the rest.
app.add_typer(remittance_app, name="remittance")
app.add_typer(payments_app, name="payments")
app.command()(match)
