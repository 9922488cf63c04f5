"""`gateway portal invite | users | disable`: who of a customer may use the seller's portal.

`invite` makes (or enables again) the portal user and e-mails it a one-time link valid `portal_invite_days`,
through the installation's e-mail settings; the link starts with `portal_base_url`, which must be set (the
command line has no request address to take instead). The link is never printed: it is a credential.
"""

from __future__ import annotations

import datetime as dt
import getpass
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli.common import (
    USAGE,
    JsonFlag,
    OutputOption,
    TenantOption,
    fail,
    fails_on,
    output_format,
    print_items,
    print_lines,
)
from gateway.cli.context import cli_context

if TYPE_CHECKING:
    from gateway.services.portal.access import PortalUserView

portal_app = typer.Typer(
    help="The customer portal's users: invite an address, list a customer's users, disable one.",
    no_args_is_help=True,
)

ReceiverArgument = Annotated[str, typer.Argument(help="the customer: the tenant's receiver id")]
EmailArgument = Annotated[str, typer.Argument(help="the user's e-mail address")]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@portal_app.command("invite")
def portal_invite(
    ctx: typer.Context,
    receiver: ReceiverArgument,
    email: EmailArgument,
    language: Annotated[str | None, typer.Option(help="nb or en (default nb)")] = None,
    as_name: Annotated[
        str | None, typer.Option("--as", help="who invites (recorded as cli:NAME; default: your login name)")
    ] = None,
    tenant: TenantOption = "",
) -> None:
    """Invite EMAIL to customer RECEIVER's portal pages: the user, and an e-mail with a one-time link."""
    from gateway.services.portal.access import PortalAccessError, UnknownCustomer
    from gateway.services.portal.mail import invite_and_send

    context = cli_context(ctx)
    settings = context.settings
    if not settings.portal_base_url:
        fail("the invitation link needs the portal's address: set GATEWAY_PORTAL_BASE_URL", USAGE)
    with (
        fails_on(PortalAccessError, code=USAGE, describe=lambda error: f"{error.field}: {error.reason}"),
        fails_on(UnknownCustomer, describe=lambda error: f"no customer {receiver!r} for tenant {tenant}"),
        context.session() as session,
    ):
        invitation = invite_and_send(
            session,
            settings,
            tenant,
            receiver,
            email,
            language=language,
            invited_by=f"cli:{as_name or getpass.getuser()}",
            base_url=None,
            now=_now(),
        )
    view = invitation.user
    if invitation.mail_error is not None:
        fail(f"invited {view.email}, but the e-mail did not go: {invitation.mail_error}")
    print_lines(
        [f"invited {view.email} to customer {receiver} (the link works {settings.portal_invite_days:g} days)"]
    )


USER_COLUMNS = ("id", "email", "language", "password", "last sign-in", "status")


def _row(user: PortalUserView) -> tuple[str, ...]:
    status = "active" if user.active else f"disabled {user.disabled_at:%Y-%m-%d %H:%M}"
    last = f"{user.last_sign_in_at:%Y-%m-%d %H:%M}" if user.last_sign_in_at else "never"
    return (user.id, user.email, user.language, "yes" if user.has_password else "no", last, status)


@portal_app.command("users")
def portal_users(
    ctx: typer.Context,
    receiver: ReceiverArgument,
    tenant: TenantOption = "",
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """Customer RECEIVER's portal users, disabled ones too; never a password hash."""
    from gateway.services.portal.access import list_users, receiver_exists

    shape = output_format(as_json, output)
    with cli_context(ctx).session() as session:
        if not receiver_exists(session, tenant, receiver):
            fail(f"no customer {receiver!r} for tenant {tenant}")
        found = list_users(session, tenant, receiver)
    print_items(
        found,
        output=shape,
        columns=USER_COLUMNS,
        row=_row,
        keys=("id",),
        data=lambda user: {
            "id": user.id,
            "email": user.email,
            "language": user.language,
            "has_password": user.has_password,
            "invited_by": user.invited_by,
            "created_at": user.created_at.isoformat(),
            "last_sign_in_at": user.last_sign_in_at.isoformat() if user.last_sign_in_at else None,
            "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
        },
    )


@portal_app.command("disable")
def portal_disable(
    ctx: typer.Context, receiver: ReceiverArgument, email: EmailArgument, tenant: TenantOption = ""
) -> None:
    """Stop EMAIL signing in to customer RECEIVER's pages; its sessions and unused links end at once."""
    from gateway.services.portal.access import PortalAccessError, disable_user, find_user

    with (
        fails_on(PortalAccessError, describe=lambda error: error.reason),
        cli_context(ctx).session() as session,
    ):
        user = find_user(session, tenant, email, receiver)
        disabled = disable_user(session, tenant, receiver, user.id, _now())
    assert disabled is not None
    print_lines([f"disabled {disabled.email} of customer {receiver}"])
