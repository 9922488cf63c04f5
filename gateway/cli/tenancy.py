"""`gateway token | receiver | tenant | participant`: who may send, to whom, and how a tenant sends."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli.common import (
    OPERATOR,
    JsonFlag,
    OutputOption,
    TenantFilter,
    TenantOption,
    console,
    fail,
    fails_on,
    output_format,
    print_items,
    print_json,
    print_lines,
    read_input,
    validation_problems,
)
from gateway.cli.context import cli_context

if TYPE_CHECKING:
    from gateway.services.tenancy.tenants import ReceiverView, TokenView

token_app = typer.Typer(help="API tokens.", no_args_is_help=True)
receiver_app = typer.Typer(
    help="Receiver profiles (preferred channel, fallbacks, addresses).", no_args_is_help=True
)
tenant_app = typer.Typer(
    help="Tenant delivery settings (sending window, hold for review).", no_args_is_help=True
)
participant_app = typer.Typer(
    help="PEPPOL participants that can receive (local capability registry).", no_args_is_help=True
)


@token_app.command("create")
def token_create(
    ctx: typer.Context,
    name: Annotated[str, typer.Option(help="who uses it, e.g. the ERP")],
    tenant: TenantOption = "",
) -> None:
    """Create an API token for a tenant; it is printed once and stored only as a hash."""
    from gateway.services.tenancy.tenants import create_token

    with cli_context(ctx).session() as session:
        token = create_token(session, tenant, name)
    console.print(token, soft_wrap=True, highlight=False, markup=False)


TOKEN_COLUMNS = ("id", "tenant", "name", "created", "status")


def _token_row(token: TokenView) -> tuple[str, ...]:
    status = "active" if token.active else f"revoked {token.revoked_at:%Y-%m-%d %H:%M}"
    return (token.id, token.tenant_id, token.name, f"{token.created_at:%Y-%m-%d %H:%M}", status)


@token_app.command("list")
def token_list(
    ctx: typer.Context,
    tenant: TenantFilter = None,
    show_revoked: Annotated[bool, typer.Option("--all", help="revoked tokens too")] = False,
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """The tokens: id (what `token revoke` takes), tenant, name and since when; never a secret."""
    from gateway.services.tenancy.tenants import list_tokens

    shape = output_format(as_json, output)
    with cli_context(ctx).session() as session:
        found = list_tokens(session, tenant, include_revoked=show_revoked)
    print_items(
        found,
        output=shape,
        columns=TOKEN_COLUMNS,
        row=_token_row,
        keys=("id", "tenant", "name"),
        data=lambda token: token.as_dict(),
    )


@token_app.command("revoke")
def token_revoke(
    ctx: typer.Context,
    token_id: Annotated[str, typer.Argument(help="the token's id (the part after `gw_`)")],
    tenant: TenantFilter = None,
) -> None:
    """Revoke a token by its id (the part after `gw_`); with a tenant, only that tenant's token."""
    from gateway.services.tenancy.tenants import find_token, revoke_token

    with cli_context(ctx).session() as session:
        found = find_token(session, token_id)
        if (
            found is None
            or (tenant is not None and found.tenant_id != tenant)
            or not revoke_token(session, token_id)
        ):
            fail(f"no active token {token_id}" + (f" of tenant {tenant}" if tenant else ""))
    print_lines([f"revoked {token_id}"])


@receiver_app.command("put")
def receiver_put(ctx: typer.Context, file: Path, tenant: TenantOption = "") -> None:
    """Create or replace a receiver profile from a JSON file."""
    from pydantic import ValidationError

    from channels import known_channels
    from gateway.services.tenancy.tenants import put_receiver
    from schemas.canonical import ReceiverProfile

    content = read_input(file)
    with fails_on(ValidationError, describe=lambda error: f"{file}: {validation_problems(error)}"):
        profile = ReceiverProfile.model_validate_json(content)
    unknown = [
        c
        for c in [
            *([profile.preferred_channel] if profile.preferred_channel else []),
            *profile.fallback_channels,
        ]
        if c not in known_channels()
    ]
    if unknown:
        fail(f"unknown channel(s) {unknown}; known: {known_channels()}")
    with cli_context(ctx).session() as session:
        put_receiver(session, tenant, profile)
    print_lines([f"receiver {profile.receiver_id} saved"])


RECEIVER_COLUMNS = (
    "receiver", "tenant", "name", "preferred", "fallbacks", "addresses", "national id", "updated"
)  # fmt: skip
#: What the preferred column says of a consumer's profile that names no channel.
CONSUMER_WATERFALL = "(consumer waterfall)"


def _receiver_row(view: ReceiverView) -> tuple[str, ...]:
    from schemas.national_id import mask_national_id

    profile = view.profile
    return (
        profile.receiver_id,
        view.tenant_id,
        profile.name or "",
        profile.preferred_channel or CONSUMER_WATERFALL,
        ", ".join(profile.fallback_channels),
        ", ".join(f"{channel}: {address}" for channel, address in profile.addresses.items()),
        mask_national_id(profile.national_id) or "",
        f"{view.updated_at:%Y-%m-%d %H:%M}",
    )


@receiver_app.command("list")
def receiver_list(
    ctx: typer.Context, tenant: TenantFilter = None, as_json: JsonFlag = False, output: OutputOption = None
) -> None:
    """Receiver profiles: preferred channel, fallbacks and the address for each channel."""
    from gateway.services.tenancy.tenants import list_receivers

    shape = output_format(as_json, output)
    with cli_context(ctx).session() as session:
        found = list_receivers(session, tenant)
    print_items(
        found,
        output=shape,
        columns=RECEIVER_COLUMNS,
        row=_receiver_row,
        keys=("receiver", "tenant", "name"),
        data=lambda view: view.as_dict(),
    )


@receiver_app.command("show")
def receiver_show(
    ctx: typer.Context,
    receiver_id: Annotated[str, typer.Argument(metavar="ID", help="the receiver id of the profile")],
    tenant: TenantOption = "",
    as_json: JsonFlag = False,
) -> None:
    """One receiver profile: how this customer gets its invoices (a national identity number masked)."""
    from gateway.services.tenancy.tenants import get_receiver
    from schemas.national_id import mask_national_id

    with cli_context(ctx).session() as session:
        view = get_receiver(session, tenant, receiver_id)
    if view is None:
        fail(f"no receiver {receiver_id!r} for tenant {tenant!r}")
    if as_json:
        print_json(view.as_dict())
        return
    profile = view.profile
    chain = (
        " → ".join([profile.preferred_channel, *profile.fallback_channels])
        if profile.preferred_channel
        else "the tenant's consumer waterfall"
    )
    lines = [
        f"receiver {profile.receiver_id}" + (f" ({profile.name})" if profile.name else "") + f" of {tenant}",
        f"  channels: {chain}",
        *([f"  segment: {profile.segment}"] if profile.segment else []),
        *([f"  national id: {mask_national_id(profile.national_id)}"] if profile.national_id else []),
        *(f"  {channel} address: {address}" for channel, address in profile.addresses.items()),
        *(f"  {channel} format: {wire}" for channel, wire in profile.formats.items()),
        f"  updated: {view.updated_at:%Y-%m-%d %H:%M:%S}",
    ]
    print_lines(lines)


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
    from gateway.services.tenancy.tenants import put_participant

    document_types = [t.strip() for t in types.split(",") if t.strip()]
    with fails_on(ValueError), cli_context(ctx).session() as session:
        put_participant(session, participant_id, document_types=document_types, name=name)
    print_lines([f"participant {participant_id} receives {', '.join(document_types)}"])


@tenant_app.command("set")
def tenant_set(ctx: typer.Context, file: Path, tenant: TenantOption = "") -> None:
    """Replace a tenant's delivery settings from a JSON file (see schemas/tenant.py)."""
    from pydantic import ValidationError

    from gateway.services.outbound.routing import waterfall_problems
    from gateway.services.tenancy.tenants import put_tenant_settings
    from schemas.tenant import TenantSettings

    content = read_input(file)
    with fails_on(ValidationError, describe=lambda error: f"{file}: {validation_problems(error)}"):
        settings = TenantSettings.model_validate_json(content)
    problems = waterfall_problems(settings.consumer_waterfall)
    if problems:
        fail(f"{file}: " + "; ".join(f"{p['field']}: {p['reason']}" for p in problems))
    with cli_context(ctx).session() as session:
        put_tenant_settings(session, tenant, settings, actor=OPERATOR)
    print_json(settings.model_dump(mode="json"))


@tenant_app.command("show")
def tenant_show(ctx: typer.Context, tenant: TenantOption = "") -> None:
    """Print a tenant's delivery settings (JSON, the shape `tenant set` takes)."""
    from gateway.services.tenancy.tenants import tenant_settings

    with cli_context(ctx).session() as session:
        print_json(tenant_settings(session, tenant).model_dump(mode="json"))
