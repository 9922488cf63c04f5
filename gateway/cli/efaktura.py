"""`gateway efaktura …`: the tenant's eFaktura recipient registry (imported from a provider's search answer).

National identity numbers are stored (the lookup is by them) but every line printed here shows them masked.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from gateway.cli.common import (
    JsonFlag,
    OutputOption,
    TenantOption,
    fails_on,
    output_format,
    print_items,
    print_json,
    print_lines,
    print_table,
    read_input,
)
from gateway.cli.context import cli_context

efaktura_app = typer.Typer(help="eFaktura: the tenant's recipient registry.", no_args_is_help=True)
recipients_app = typer.Typer(
    help="The eFaktura recipient registry: import a provider's recipient-search answer, list it.",
    no_args_is_help=True,
)
efaktura_app.add_typer(recipients_app, name="recipients")

COLUMNS = ("national id", "name", "postal code", "efaktura id", "status", "source", "result")


def _row(view: dict[str, Any]) -> tuple[str, ...]:
    return (
        view["national_id"] or "", view["name"] or "", view["postal_code"] or "", view["efaktura_id"] or "",
        view["status"], view.get("source") or "", view.get("result") or view.get("note") or "",
    )  # fmt: skip


@recipients_app.command("import")
def recipients_import(
    ctx: typer.Context, file: Path, tenant: TenantOption = "", as_json: JsonFlag = False
) -> None:
    """Read a provider's recipient-search answer (CSV: national_id;name;street;postal_code;efaktura_id;status)
    into the tenant's registry; a file with a bad line is refused whole, each bad line named."""
    from gateway.services.outbound.efaktura_recipients import import_recipients
    from mappings.base import FormatError

    data = read_input(file)
    with fails_on(FormatError, code=2):
        report = import_recipients(cli_context(ctx).engine, tenant, data)
    if as_json:
        print_json(report.as_dict())
        return
    print_table(COLUMNS, (_row({**line, "source": "import"}) for line in report.lines), keys=("national id",))
    print_lines([f"{report.added} added, {report.updated} updated for tenant {tenant}"])


@recipients_app.command("list")
def recipients_list(
    ctx: typer.Context, tenant: TenantOption = "", as_json: JsonFlag = False, output: OutputOption = None
) -> None:
    """The tenant's eFaktura recipients as the last search, import or receipt left them (numbers masked)."""
    from gateway.services.outbound.efaktura_recipients import recipient_views

    with cli_context(ctx).session() as session:
        views = recipient_views(session, tenant)
    print_items(
        views, output=output_format(as_json, output), columns=COLUMNS, row=_row, keys=("national id",)
    )
