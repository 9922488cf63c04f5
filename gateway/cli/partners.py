"""`gateway partner …`: EDI trading partners (identifiers, syntax, message format, transport)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import TenantOption, console, fail, fails_on, print_table
from gateway.cli.context import cli_context

partner_app = typer.Typer(
    help="EDI trading partners (identifiers, syntax, message format, transport).", no_args_is_help=True
)


@partner_app.command("put")
def partner_put(ctx: typer.Context, file: Path, tenant: TenantOption = "default") -> None:
    """Create or replace a trading partner's EDI profile from a JSON file (schemas/edi_partner.py)."""
    from pydantic import ValidationError

    from gateway.services.tenancy.edi_partners import put_partner
    from gateway.services.tenancy.tenants import ensure_tenant
    from schemas.edi_partner import TradingPartner

    with fails_on(ValidationError):
        partner = TradingPartner.model_validate_json(file.read_bytes())
    with cli_context(ctx).session() as session:
        ensure_tenant(session, tenant)
        put_partner(session, tenant, partner)
    console.print(f"trading partner {partner.partner_id} saved ({partner.message_format})")


@partner_app.command("list")
def partner_list(
    ctx: typer.Context, tenant: Annotated[str | None, typer.Option(help="only this tenant")] = None
) -> None:
    """The trading partners, per tenant."""
    from gateway.services.tenancy.edi_partners import list_partners

    with cli_context(ctx).session() as session:
        found = list_partners(session, tenant)
    print_table(
        ("tenant", "partner", "name", "format", "us", "them", "transport", "test"),
        (
            (
                tenant_id,
                partner.partner_id,
                partner.name or "",
                partner.message_format,
                f"{partner.us.qualifier}:{partner.us.id}",
                f"{partner.them.qualifier}:{partner.them.id}",
                partner.transport.kind,
                "yes" if partner.test else "",
            )
            for tenant_id, partner in found
        ),
    )


@partner_app.command("show")
def partner_show(ctx: typer.Context, partner_id: str, tenant: TenantOption = "default") -> None:
    """One trading partner's profile as JSON (secrets masked)."""
    from pydantic import ValidationError

    from gateway.services.tenancy.edi_partners import get_partner

    def no_longer_valid(error: ValidationError) -> str:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in item['loc'])}: {item['msg']}"
            for item in error.errors(include_input=False, include_url=False)
        )
        return f"the stored profile of {partner_id} no longer validates: {problems}"

    with fails_on(ValidationError, describe=no_longer_valid), cli_context(ctx).session() as session:
        partner = get_partner(session, tenant, partner_id)
    if partner is None:
        fail(f"no trading partner {partner_id!r} for tenant {tenant!r}")
    console.print_json(partner.model_dump_json())
