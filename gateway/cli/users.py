"""`gateway user add | list | disable | reset-password`: the people who sign in to the ops console.

A password is read from standard input when it is not a terminal (one line, for scripts and secrets
managers), else prompted for twice without echo; it never appears on the command line, where the process
list and the shell history would keep it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli.common import (
    USAGE,
    JsonFlag,
    OutputOption,
    TenantFilter,
    TenantOption,
    fail,
    fails_on,
    output_format,
    print_items,
    print_lines,
)
from gateway.cli.context import cli_context

if TYPE_CHECKING:
    from gateway.services.tenancy.console_users import ConsoleUserView

user_app = typer.Typer(
    help="Console users (viewer, operator, credit, admin) and their passwords.", no_args_is_help=True
)

EmailArgument = Annotated[str, typer.Argument(help="the user's e-mail address (their sign-in name)")]


def _read_password() -> str:
    if not sys.stdin.isatty():
        line = sys.stdin.readline()
        password = line.rstrip("\r\n")
        if not password:
            fail("no password on standard input", USAGE)
        return password
    prompted: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    return prompted


@user_app.command("add")
def user_add(
    ctx: typer.Context,
    email: EmailArgument,
    role: Annotated[str, typer.Option(help="viewer, operator (deliveries), credit (payments) or admin")],
    tenant: TenantOption = "",
) -> None:
    """Add a console user of a tenant (an admin may hold several: --tenant acme,globex). The password
    comes from standard input or a prompt, never an argument."""
    from gateway.services.tenancy.console_users import ConsoleUserError, add_user

    password = _read_password()
    with (
        fails_on(ConsoleUserError, code=USAGE, describe=lambda error: f"{error.field}: {error.reason}"),
        cli_context(ctx).session() as session,
    ):
        added = add_user(session, email, password, role=role, tenant_ids=tenant.split(","))
    print_lines([f"added {added.email} ({added.role}, {', '.join(added.tenant_ids)})"])


USER_COLUMNS = ("email", "role", "tenants", "created", "status")


def _user_row(user: ConsoleUserView) -> tuple[str, ...]:
    status = "active" if user.active else f"disabled {user.disabled_at:%Y-%m-%d %H:%M}"
    return (user.email, user.role, ", ".join(user.tenant_ids), f"{user.created_at:%Y-%m-%d %H:%M}", status)


@user_app.command("list")
def user_list(
    ctx: typer.Context, tenant: TenantFilter = None, as_json: JsonFlag = False, output: OutputOption = None
) -> None:
    """The console users: address, role, tenants and whether they may sign in; never a password hash."""
    from gateway.services.tenancy.console_users import list_users

    shape = output_format(as_json, output)
    with cli_context(ctx).session() as session:
        found = list_users(session, tenant)
    print_items(
        found,
        output=shape,
        columns=USER_COLUMNS,
        row=_user_row,
        keys=("email",),
        data=lambda user: {
            "email": user.email,
            "role": user.role,
            "tenants": list(user.tenant_ids),
            "created_at": user.created_at.isoformat(),
            "disabled_at": user.disabled_at.isoformat() if user.disabled_at else None,
        },
    )


@user_app.command("disable")
def user_disable(ctx: typer.Context, email: EmailArgument) -> None:
    """Stop a user signing in; their open sessions end at once."""
    from gateway.services.tenancy.console_users import ConsoleUserError, disable_user

    with (
        fails_on(ConsoleUserError, describe=lambda error: error.reason),
        cli_context(ctx).session() as session,
    ):
        disabled = disable_user(session, email)
    print_lines([f"disabled {disabled.email}"])


@user_app.command("reset-password")
def user_reset_password(ctx: typer.Context, email: EmailArgument) -> None:
    """Give a user a new password (read like `add` reads it); their open sessions end, a disabled user is
    enabled again."""
    from gateway.services.tenancy.console_users import ConsoleUserError, reset_password

    password = _read_password()
    with (
        fails_on(ConsoleUserError, code=USAGE, describe=lambda error: f"{error.field}: {error.reason}"),
        cli_context(ctx).session() as session,
    ):
        changed = reset_password(session, email, password)
    print_lines([f"new password for {changed.email}"])
