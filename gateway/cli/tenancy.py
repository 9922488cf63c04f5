"""`gateway token | receiver | tenant | participant`: who may send, to whom, and how a tenant sends."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import TenantOption, console, fail, fails_on
from gateway.cli.context import cli_context

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
    tenant: TenantOption,
    name: Annotated[str, typer.Option(help="who uses it, e.g. the ERP")],
) -> None:
    """Create an API token for a tenant; it is printed once and stored only as a hash."""
    from gateway.services.tenancy.tenants import create_token

    with cli_context(ctx).session() as session:
        token = create_token(session, tenant, name)
    console.print(token, soft_wrap=True, highlight=False)


@token_app.command("revoke")
def token_revoke(ctx: typer.Context, token_id: str) -> None:
    """Revoke a token by its id (the part after `gw_`)."""
    from gateway.services.tenancy.tenants import revoke_token

    with cli_context(ctx).session() as session:
        if not revoke_token(session, token_id):
            fail(f"no active token {token_id}")
    console.print(f"revoked {token_id}")


@receiver_app.command("put")
def receiver_put(ctx: typer.Context, file: Path, tenant: TenantOption = "default") -> None:
    """Create or replace a receiver profile from a JSON file."""
    from pydantic import ValidationError

    from channels import known_channels
    from gateway.services.tenancy.tenants import put_receiver
    from schemas.canonical import ReceiverProfile

    with fails_on(ValidationError):
        profile = ReceiverProfile.model_validate_json(file.read_bytes())
    unknown = [
        c for c in [profile.preferred_channel, *profile.fallback_channels] if c not in known_channels()
    ]
    if unknown:
        fail(f"unknown channel(s) {unknown}; known: {known_channels()}")
    with cli_context(ctx).session() as session:
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
    from gateway.services.tenancy.tenants import put_participant

    document_types = [t.strip() for t in types.split(",") if t.strip()]
    with fails_on(ValueError), cli_context(ctx).session() as session:
        put_participant(session, participant_id, document_types=document_types, name=name)
    console.print(f"participant {participant_id} receives {', '.join(document_types)}")


@tenant_app.command("set")
def tenant_set(ctx: typer.Context, tenant: str, file: Path) -> None:
    """Replace a tenant's delivery settings from a JSON file (see schemas/tenant.py)."""
    from pydantic import ValidationError

    from gateway.services.tenancy.tenants import put_tenant_settings
    from schemas.tenant import TenantSettings

    with fails_on(ValidationError):
        settings = TenantSettings.model_validate_json(file.read_bytes())
    with cli_context(ctx).session() as session:
        put_tenant_settings(session, tenant, settings)
    console.print_json(settings.model_dump_json())


@tenant_app.command("show")
def tenant_show(ctx: typer.Context, tenant: str) -> None:
    """Print a tenant's delivery settings."""
    from gateway.services.tenancy.tenants import tenant_settings

    with cli_context(ctx).session() as session:
        console.print_json(tenant_settings(session, tenant).model_dump_json())
