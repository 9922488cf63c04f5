"""`gateway disputes …` and `gateway promises …`: disputed invoices and promises to pay, for an operator.

The command line runs on the gateway's host, so its user is trusted as an operator: `disputes approve ID
--as NAME` approves a proposed credit (never NAME's own proposal: four eyes), which no API token may.
"""

from __future__ import annotations

import datetime as dt
import getpass
import mimetypes
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli.common import (
    USAGE,
    JsonFlag,
    Output,
    OutputOption,
    TenantOption,
    fail,
    fails_on,
    output_format,
    print_items,
    print_json,
    print_lines,
    read_input,
    summary_lines,
)
from gateway.cli.context import CliContext, cli_context

disputes_app = typer.Typer(
    help="Disputed invoices: open, list, show, write to, resolve, and approve a proposed credit.",
    no_args_is_help=True,
)
promises_app = typer.Typer(help="Promises to pay: follow-up waits until their date.", no_args_is_help=True)

AsOption = Annotated[
    str | None, typer.Option("--as", help="who you are (recorded as cli:NAME; default: your login name)")
]


def _actor(name: str | None) -> str:
    name = (name or getpass.getuser()).strip()
    if not name or len(name) > 150 or any(not c.isprintable() for c in name):
        raise typer.BadParameter("a name of 1 to 150 printable characters", param_hint="'--as'")
    return f"cli:{name}"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _refusals() -> Any:
    from gateway.services.followup.disputes import FollowUpRefused
    from gateway.services.outbound.deliveries import NotFound
    from gateway.services.outbound.lookup import AmbiguousReference

    return fails_on(FollowUpRefused, NotFound, AmbiguousReference)


def _print_dispute(view: dict[str, Any], shape: Output) -> None:
    if shape is Output.JSON:
        print_json(view)
        return
    print_lines(summary_lines({key: value for key, value in view.items() if key != "messages"}))
    for message in view.get("messages", []):
        attached = message["attachment"]
        extra = f" [attachment {attached['filename']} {attached['document_id']}]" if attached else ""
        print_lines([f"{message['at']} {message['author']} ({message['from']}, {message['event']}): "
                     f"{message['text'] or ''}{extra}"])  # fmt: skip


@disputes_app.command("list")
def list_disputes(
    ctx: typer.Context,
    tenant: TenantOption = "",
    status: Annotated[
        str | None, typer.Option(help="open, awaiting_approval, rejected, credited, withdrawn")
    ] = None,
    owner: Annotated[str | None, typer.Option(help="only this owner's")] = None,
    overdue: Annotated[bool, typer.Option("--overdue", help="only open ones past their due date")] = False,
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """The tenant's disputes, oldest first."""
    from gateway.services.followup import disputes as service

    shape = output_format(as_json, output)
    statuses = ("open", "awaiting_approval", "rejected", "credited", "withdrawn")
    if status is not None and status not in statuses:
        fail(f"--status {status!r} is not one of {', '.join(statuses)}", USAGE)
    with cli_context(ctx).session() as session:
        found = service.list_disputes(
            session, tenant, status=status, owner=owner, overdue_on=service.today() if overdue else None,
            limit=100_000,
        )  # fmt: skip
        items = [service.dispute_summary(d) for d in found]
    print_items(
        items,
        output=shape,
        columns=("id", "invoice", "status", "category", "amount", "owner", "due", "opened"),
        keys=("id",),
        row=lambda v: (
            v["id"], v["invoice_id"], v["status"], v["category"], v["amount"] or "all", v["owner"] or "",
            v["due_date"] or "", v["opened_at"],
        ),
    )  # fmt: skip


@disputes_app.command("show")
def show(
    ctx: typer.Context,
    dispute_id: Annotated[str, typer.Argument(metavar="ID")],
    tenant: TenantOption = "",
    as_json: JsonFlag = False,
) -> None:
    """One dispute with its invoice, history and the days follow-up has been paused."""
    from gateway.services.followup import disputes as service

    with _refusals(), cli_context(ctx).session() as session:
        view = service.dispute_view(session, service.get_dispute(session, tenant, dispute_id), now=_now())
    _print_dispute(view, Output.JSON if as_json else Output.TABLE)


@disputes_app.command("open")
def open_dispute(
    ctx: typer.Context,
    invoice: Annotated[str, typer.Argument(metavar="INVOICE", help="the invoice's id or number")],
    reason: Annotated[str, typer.Option(help="why it is disputed")],
    category: Annotated[str, typer.Option(help="wrong_amount, not_received, already_paid, goods, other")],
    amount: Annotated[str | None, typer.Option(help="the disputed part (default: all of it)")] = None,
    side: Annotated[str, typer.Option("--from", help="customer or internal")] = "customer",
    owner: Annotated[str | None, typer.Option(help="who works on it")] = None,
    due: Annotated[dt.datetime | None, typer.Option(formats=["%Y-%m-%d"], help="answer by this date")] = None,
    tenant: TenantOption = "",
    as_: AsOption = None,
) -> None:
    """Open a dispute on an invoice: follow-up stops on the disputed amount."""
    from gateway.services.followup import disputes as service

    with _refusals(), cli_context(ctx).session() as session:
        dispute = service.open_dispute(
            session, tenant, invoice, reason=reason, category=category, side=side, amount=amount, owner=owner,
            due_on=due.date() if due else None, actor=_actor(as_), now=_now(),
        )  # fmt: skip
        print_lines([f"dispute {dispute.id} opened on invoice {invoice}"])


def _tell(cli: CliContext, tenant_id: str, dispute_id: str, answer_id: int | None) -> None:
    """After the transaction: e-mail the customer's portal users about the answer or the outcome (a mail
    that fails is noted on the dispute's history and said here, the change stands)."""
    from gateway.services.portal.notify import tell_customer

    told = tell_customer(cli.engine, cli.settings, tenant_id, dispute_id, message_id=answer_id)
    if told.sent:
        print_lines([f"the customer was told by e-mail: {', '.join(told.sent)}"])
    for address, reason in told.failed:
        print_lines([f"e-mail to {address} failed: {reason} (noted on the dispute's history)"])


@disputes_app.command("note")
def note(
    ctx: typer.Context,
    dispute_id: Annotated[str, typer.Argument(metavar="ID")],
    text: Annotated[str | None, typer.Argument(help="the message")] = None,
    attach: Annotated[Path | None, typer.Option(help="a PDF, JPEG or PNG to keep with the message")] = None,
    side: Annotated[str, typer.Option("--from", help="customer or internal")] = "internal",
    tenant: TenantOption = "",
    as_: AsOption = None,
) -> None:
    """Write a message (and/or attach a file) to the dispute's history."""
    from gateway.services.followup import disputes as service

    cli = cli_context(ctx)
    attachment = None
    if attach is not None:
        media_type = mimetypes.guess_type(attach.name)[0]
        attachment = service.AttachmentUpload(read_input(attach), attach.name, media_type)
    with _refusals(), cli.session() as session:
        message = service.add_message(
            session, cli.document_store, tenant, dispute_id, text=text, side=side, attachment=attachment,
            max_bytes=cli.settings.max_pod_bytes, actor=_actor(as_), now=_now(),
        )  # fmt: skip
        print_lines([f"message {message.id} written to dispute {dispute_id}"])
        answer_id = message.id if message.side == "seller" else None
    if answer_id is not None:
        _tell(cli, tenant, dispute_id, answer_id)


@disputes_app.command("resolve")
def resolve(
    ctx: typer.Context,
    dispute_id: Annotated[str, typer.Argument(metavar="ID")],
    outcome: Annotated[
        str, typer.Option(help="rejected, withdrawn or credited (a credit then awaits approval)")
    ],
    note_text: Annotated[str | None, typer.Option("--note", help="why")] = None,
    credit_amount: Annotated[str | None, typer.Option(help="the credit agreed (outcome credited)")] = None,
    tenant: TenantOption = "",
    as_: AsOption = None,
) -> None:
    """Resolve a dispute: rejected / withdrawn resume follow-up with the days paused added; credited proposes
    a credit that another person approves (`gateway disputes approve`)."""
    from gateway.services.followup import disputes as service

    cli = cli_context(ctx)
    with _refusals(), cli.session() as session:
        dispute = service.resolve_dispute(
            session, tenant, dispute_id, outcome=outcome, note=note_text, credit_amount=credit_amount,
            actor=_actor(as_), now=_now(),
        )  # fmt: skip
        if dispute.status == "awaiting_approval":
            print_lines(
                [f"dispute {dispute.id}: credit of {dispute.credit_amount} awaits another person's approval"]
            )
        else:
            print_lines([f"dispute {dispute.id} {dispute.status}; {dispute.paused_days} day(s) paused added"])
        closed = dispute.status != "awaiting_approval"
    if closed:
        _tell(cli, tenant, dispute_id, None)


@disputes_app.command("approve")
def approve(
    ctx: typer.Context,
    dispute_id: Annotated[str, typer.Argument(metavar="ID")],
    as_: Annotated[str, typer.Option("--as", help="who approves (recorded as cli:NAME); not the proposer")],
    tenant: TenantOption = "",
) -> None:
    """Approve a proposed credit: the credit note is written and sent like any credit note, the invoice's
    open amount goes down by it. Exit 1 for the person who proposed it (four eyes)."""
    from gateway.services.followup import disputes as service

    cli = cli_context(ctx)
    with _refusals(), cli.session() as session:
        dispute = service.approve_credit(
            session, dispute_id, approver=_actor(as_), approver_role=service.HOST_OPERATOR, tenant_id=tenant,
            default_channel=cli.settings.default_channel, now=_now(),
        )  # fmt: skip
        print_lines(
            [
                f"dispute {dispute.id} credited: credit note {dispute.credit_note_invoice_id} "
                f"for {dispute.credit_amount}"
            ]
        )
    _tell(cli, dispute.tenant_id, dispute_id, None)


# --- promises -----------------------------------------------------------------------------------------------


@promises_app.command("list")
def list_promises(
    ctx: typer.Context,
    tenant: TenantOption = "",
    status: Annotated[str | None, typer.Option(help="open, kept, broken, cancelled")] = None,
    customer: Annotated[str | None, typer.Option(help="only this customer key's")] = None,
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """The tenant's promises to pay, soonest first."""
    from gateway.services.followup import promises as service

    shape = output_format(as_json, output)
    with cli_context(ctx).session() as session:
        found = service.list_promises(session, tenant, status=status, customer=customer, limit=100_000)
        items = [service.promise_view(p) for p in found]
    print_items(
        items,
        output=shape,
        columns=("id", "invoice", "customer", "date", "amount", "status"),
        keys=("id",),
        row=lambda v: (
            v["id"],
            v["invoice_id"],
            v["customer_key"] or "",
            v["date"],
            v["amount"],
            v["status"],
        ),
    )


@promises_app.command("add")
def add(
    ctx: typer.Context,
    invoice: Annotated[str, typer.Argument(metavar="INVOICE", help="the invoice's id or number")],
    date: Annotated[dt.datetime, typer.Option(formats=["%Y-%m-%d"], help="the customer pays by this date")],
    amount: Annotated[str, typer.Option(help="how much")],
    tenant: TenantOption = "",
    as_: AsOption = None,
) -> None:
    """Record a promise to pay; an open one on the invoice is cancelled."""
    from gateway.services.followup import promises as service
    from gateway.services.followup.disputes import today

    now = _now()
    with _refusals(), cli_context(ctx).session() as session:
        promise = service.add_promise(
            session,
            tenant,
            invoice,
            promised_on=date.date(),
            amount=amount,
            actor=_actor(as_),
            on=today(now),
            now=now,
        )
        print_lines([f"promise {promise.id}: {promise.amount} by {promise.promised_on.isoformat()}"])


@promises_app.command("cancel")
def cancel(
    ctx: typer.Context,
    promise_id: Annotated[str, typer.Argument(metavar="ID")],
    tenant: TenantOption = "",
    as_: AsOption = None,
) -> None:
    """Cancel an open promise: follow-up no longer waits for it."""
    from gateway.services.followup import promises as service

    with _refusals(), cli_context(ctx).session() as session:
        promise = service.cancel_promise(session, tenant, promise_id, actor=_actor(as_), now=_now())
        print_lines([f"promise {promise.id} cancelled"])
