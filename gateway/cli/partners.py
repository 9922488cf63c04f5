"""`gateway partner …`: EDI trading partners (identifiers, syntax, message format, transport)."""

from __future__ import annotations

from pathlib import Path

import typer

from gateway.cli.common import (
    JsonFlag,
    OutputOption,
    TenantFilter,
    TenantOption,
    console,
    fail,
    fails_on,
    output_format,
    print_items,
    print_lines,
    read_input,
)
from gateway.cli.context import cli_context

partner_app = typer.Typer(
    help="EDI trading partners (identifiers, syntax, message format, transport).", no_args_is_help=True
)


@partner_app.command("put")
def partner_put(ctx: typer.Context, file: Path, tenant: TenantOption = "") -> None:
    """Create or replace a trading partner's EDI profile from a JSON file (schemas/edi_partner.py)."""
    from pydantic import ValidationError

    from gateway.services.tenancy.edi_partners import put_partner
    from gateway.services.tenancy.tenants import ensure_tenant
    from schemas.edi_partner import TradingPartner

    content = read_input(file)
    with fails_on(ValidationError):
        partner = TradingPartner.model_validate_json(content)
    with cli_context(ctx).session() as session:
        ensure_tenant(session, tenant)
        put_partner(session, tenant, partner)
    print_lines([f"trading partner {partner.partner_id} saved ({partner.message_format})"])


@partner_app.command("list")
def partner_list(
    ctx: typer.Context, tenant: TenantFilter = None, as_json: JsonFlag = False, output: OutputOption = None
) -> None:
    """The trading partners, per tenant (secrets masked in --json)."""
    from gateway.services.tenancy.edi_partners import list_partners

    shape = output_format(as_json, output)
    with cli_context(ctx).session() as session:
        found = list_partners(session, tenant)
    print_items(
        found,
        output=shape,
        columns=("tenant", "partner", "name", "format", "us", "them", "transport", "test"),
        keys=("tenant", "partner", "name"),
        row=lambda entry: (
            entry[0],
            entry[1].partner_id,
            entry[1].name or "",
            entry[1].message_format,
            f"{entry[1].us.qualifier}:{entry[1].us.id}",
            f"{entry[1].them.qualifier}:{entry[1].them.id}",
            entry[1].transport.kind,
            "yes" if entry[1].test else "",
        ),
        data=lambda entry: {"tenant_id": entry[0], **entry[1].model_dump(mode="json")},
    )


@partner_app.command("show")
def partner_show(ctx: typer.Context, partner_id: str, tenant: TenantOption = "") -> None:
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
