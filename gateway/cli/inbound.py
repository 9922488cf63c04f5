"""`gateway receive | bounces | receive-edi`: what receivers, mail servers and trading partners send back.

Each reads files, prints one row per file or message, and exits 2 when one of them was rejected. The
documents name their tenant themselves; `--tenant` (or $GATEWAY_TENANT) only limits the linking to one.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import (
    OPERATOR,
    USAGE,
    TenantFilter,
    applied_cell,
    collect_files,
    exit_if_rejected,
    fail,
    format_note,
    print_table,
    read_input,
    tracked,
)
from gateway.cli.context import cli_context


def receive(
    ctx: typer.Context,
    files: Annotated[
        list[Path], typer.Argument(help="Invoice Response (T111), MLR or MLS XML files, or folders of them")
    ],
    tenant: TenantFilter = None,
) -> None:
    """Take in status documents from receivers: store each once, link it to its delivery, apply it."""
    from gateway.services.inbound.responses import receive_status_document
    from mappings.base import FormatError

    cli = cli_context(ctx)
    paths = collect_files(files, lambda path: path.suffix.lower() == ".xml")
    engine = cli.engine
    rows: list[tuple[str, ...]] = []
    rejected = 0
    for path in tracked(paths, "status documents"):
        try:
            result = receive_status_document(
                engine, read_input(path), actor=OPERATOR, tenant_id=tenant, rules_dir=cli.settings.rules_dir
            )
        except FormatError as error:
            rows.append((path.name, "-", "-", "", "", "", "rejected", format_note(error)))
            rejected += 1
            continue
        rows.append(
            (
                path.name,
                result.kind,
                result.response_code or "",
                result.referenced_document_id or "",
                result.delivery_id or "",
                result.delivery_status or "",
                applied_cell(result.applied, result.duplicate),
                result.note or "",
            )
        )
    print_table(
        ("file", "kind", "code", "references", "delivery", "status", "applied", "note"),
        rows,
        keys=("file", "references", "delivery"),
    )
    exit_if_rejected(rejected)


def bounces(
    ctx: typer.Context,
    paths: Annotated[
        list[Path],
        typer.Argument(help="DSN e-mails (.eml), mbox files, folders of them, or Maildir folders"),
    ],
    tenant: TenantFilter = None,
) -> None:
    """Take in e-mail delivery status notifications (bounces, delays, delivery reports): store, link, apply.

    A Maildir's unread messages (new/, and cur/ without the S flag) are read and then moved to cur/ with
    the `:2,S` flag, so the next run does not read them again; files and mbox files are left as they are
    (the same message twice is stored once and not applied again).
    """
    from gateway.services.inbound.bounces import mail_sources, receive_bounce
    from mappings.base import FormatError

    missing = [path for path in paths if not path.exists()]
    if missing:
        fail(f"{missing[0]}: no such file or directory", USAGE)
    engine = cli_context(ctx).engine
    rows: list[tuple[str, ...]] = []
    rejected = 0
    for source in tracked(mail_sources(paths), "messages"):
        try:
            result = receive_bounce(engine, source.data, actor=OPERATOR, tenant_id=tenant)
        except FormatError as error:
            rows.append((source.name, "-", "", "", "", "rejected", format_note(error)))
            rejected += 1
            source.done()
            continue
        source.done()
        rows.append(
            (
                source.name,
                result.classification or "",
                result.linked_by or "",
                result.delivery_id or "",
                result.delivery_status or "",
                applied_cell(result.applied, result.duplicate),
                result.note or "",
            )
        )
    print_table(
        ("message", "action", "link", "delivery", "status", "applied", "note"),
        rows,
        keys=("message", "delivery"),
    )
    exit_if_rejected(rejected)


def receive_edi(
    ctx: typer.Context,
    files: Annotated[
        list[Path], typer.Argument(help="EDIFACT or X12 files (acks, REMADV, 820…), or folders of them")
    ],
    tenant: TenantFilter = None,
) -> None:
    """Take in EDI files: acknowledgements move deliveries; business messages are recorded and answered
    (CONTRL / 997 / 999 to the partner's transport). Exit code 2 when a file was rejected."""
    from gateway.services.inbound.edi_acks import receive_edi as receive
    from mappings.base import FormatError

    paths = collect_files(files, lambda path: not path.name.startswith("."))
    engine = cli_context(ctx).engine
    rows: list[tuple[str, ...]] = []
    rejected = 0
    for path in tracked(paths, "EDI files"):
        try:
            result = receive(engine, read_input(path), tenant_id=tenant, actor=OPERATOR)
        except FormatError as error:
            rows.append((path.name, "-", "", "", "", "rejected", "", "", "", format_note(error)))
            rejected += 1
            continue
        rejected += result.rejected
        linked = ", ".join(
            str(item.get("delivery_id") or item.get("interchange_ref") or "") for item in result.linked
        )
        answer = result.answer or {}
        rows.append(
            (
                path.name,
                result.kind,
                result.message_type,
                result.partner_id or "",
                result.interchange_ref,
                result.status or "",
                linked,
                applied_cell(result.applied, result.duplicate),
                f"{answer.get('kind', '')} {answer.get('interchange_ref', '')}".strip(),
                result.note or "",
            )
        )
    print_table(
        ("file", "kind", "type", "partner", "interchange", "status", "linked", "applied", "answer", "note"),
        rows,
        keys=("file", "partner", "interchange", "linked"),
    )
    exit_if_rejected(rejected)
