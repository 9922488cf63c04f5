"""`gateway invoices | document`: find invoices by what people know, and fetch a document as it was sent."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gateway.cli.common import (
    JsonFlag,
    TenantFilter,
    TenantOption,
    console,
    fail,
    fails_on,
    print_json,
    print_table,
)
from gateway.cli.context import cli_context

_Filter = Annotated[str | None, typer.Option(show_default=False)]


def invoices(
    ctx: typer.Context,
    q: Annotated[
        str | None,
        typer.Argument(metavar="[TEXT]", help="one box: number, id, part of the buyer's name, KID or amount"),
    ] = None,
    number: _Filter = None,
    buyer: Annotated[str | None, typer.Option(help="part of the buyer's name (any case, accents)")] = None,
    buyer_id: Annotated[str | None, typer.Option(help="org number, VAT id or endpoint")] = None,
    receiver_id: _Filter = None,
    kid: _Filter = None,
    amount: Annotated[str | None, typer.Option(help="the amount due, exactly")] = None,
    amount_min: _Filter = None,
    amount_max: _Filter = None,
    status: Annotated[list[str] | None, typer.Option(help="a delivery status (repeat for several)")] = None,
    channel: Annotated[list[str] | None, typer.Option(help="a delivery channel (repeat for several)")] = None,
    payment_status: Annotated[
        list[str] | None, typer.Option(help="unpaid, partially_paid, paid, overpaid")
    ] = None,
    issued_from: _Filter = None,
    issued_to: _Filter = None,
    due_from: _Filter = None,
    due_to: _Filter = None,
    since: Annotated[str | None, typer.Option(help="changed since (ISO 8601 time)")] = None,
    sort: Annotated[
        str, typer.Option(help="created, issue_date, due_date, amount, number; -x descending")
    ] = ("-created"),
    limit: Annotated[int, typer.Option(min=1, max=500)] = 50,
    cursor: Annotated[str | None, typer.Option(help="the `next` of the previous page")] = None,
    tenant: TenantOption = "",
    as_json: JsonFlag = False,
) -> None:
    """Find invoices (the same search as GET /invoices); `--json` prints {"items": [...], "next": cursor}."""
    from pydantic import ValidationError

    from gateway.services.outbound import search as service

    asked: dict[str, Any] = {
        "q": q,
        "number": number,
        "buyer": buyer,
        "buyer_id": buyer_id,
        "receiver_id": receiver_id,
        "kid": kid,
        "amount": amount,
        "amount_min": amount_min,
        "amount_max": amount_max,
        "status": status or [],
        "channel": channel or [],
        "payment_status": payment_status or [],
        "issued_from": issued_from,
        "issued_to": issued_to,
        "due_from": due_from,
        "due_to": due_to,
        "since": since,
        "sort": sort,
    }
    try:
        search = service.InvoiceSearch.model_validate({k: v for k, v in asked.items() if v is not None})
    except ValidationError as error:
        problems = "; ".join(
            f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}" for e in error.errors(include_url=False)
        )
        fail(problems, code=2)
    with fails_on(service.InvalidSearch, code=2), cli_context(ctx).session() as session:
        page = service.search_invoices(session, tenant, search, cursor=cursor, limit=limit)
    if as_json:
        print_json({"items": page.items, "next": page.next_cursor})
        return
    print_table(
        ("number", "type", "buyer", "amount", "due", "payment", "deliveries", "id"),
        (
            (
                item["number"],
                item["document_type"],
                item["buyer_name"],
                f"{item['payable_amount']} {item['currency']}",
                item["due_date"] or "",
                item["payment_status"],
                ", ".join(f"{d['channel']} {d['status']}" for d in item["deliveries"]),
                item["id"],
            )
            for item in page.items
        ),
    )
    if page.next_cursor:
        console.print(f"more: --cursor {page.next_cursor}", soft_wrap=True)


def document(
    ctx: typer.Context,
    document_id: Annotated[
        str, typer.Argument(metavar="ID", help="a stored document's id (or its first characters)")
    ],
    output: Annotated[
        str | None,
        typer.Option("--output", "-o", help="the file to write; - for stdout; default: its own name, here"),
    ] = None,
    tenant: TenantFilter = None,
    force: Annotated[bool, typer.Option("--force", help="overwrite an existing file")] = False,
) -> None:
    """Write a document exactly as it was sent (each outcome event names its `document_id`)."""
    from gateway.services.downloads import safe_filename
    from gateway.services.outbound import lookup
    from gateway.services.outbound.documents import (
        DocumentNotFound,
        DocumentStoreError,
        load_document,
    )

    cli = cli_context(ctx)
    with (
        fails_on(DocumentNotFound, DocumentStoreError),
        fails_on(lookup.AmbiguousReference, code=2),
        cli.session() as session,
    ):
        found = lookup.find_document(session, tenant, document_id, prefix=True)
        stored, data = load_document(session, cli.document_store, found.id, found.tenant_id)
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.buffer.flush()
        return
    target = Path(output) if output else Path(safe_filename(stored.filename, f"document-{stored.id}"))
    if target.exists() and not force:
        fail(f"{target} exists; --force overwrites it")
    with fails_on(OSError, describe=lambda error: f"{target}: {error}"):
        target.write_bytes(data)
    console.print(f"{target}: {len(data)} bytes, {stored.media_type} (document {stored.id})", soft_wrap=True)
