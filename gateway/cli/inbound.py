"""`gateway receive | bounces | receive-edi`: what receivers, mail servers, banks, carriers, print houses and
trading partners send back. `receive` is the one door for any of it (`gateway.services.inbound.door`).

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
    field_reasons,
    format_note,
    print_table,
    read_input,
    tracked,
)
from gateway.cli.context import cli_context


def receive(
    ctx: typer.Context,
    files: Annotated[
        list[Path],
        typer.Argument(
            help="files the gateway receives (status documents, DSNs, EDI files, remittance files, PODs, "
            "print returns), or folders of them"
        ),
    ],
    tenant: TenantFilter = None,
) -> None:
    """Take in any file the gateway receives: each is recognised by its content and handed to the service
    for it (a status document is stored once, linked to its delivery and applied). A file named here that
    the gateway does not receive is rejected (exit 2); in a folder, such a file is skipped and left."""
    from gateway.services.inbound.door import (
        InboundDoor,
        InboundFile,
        InboundRefused,
        NotReceived,
        body_limit,
        receive_inbound,
    )

    cli = cli_context(ctx)
    door = InboundDoor(cli.engine, cli.document_store, cli.settings)
    limit = body_limit(cli.settings)
    rows: list[tuple[str, ...]] = []
    rejected = 0
    found = _door_files(files)
    for path, named in tracked(found, "files"):
        try:
            if path.stat().st_size > limit:
                raise InboundRefused(413, [{"field": "content", "reason": f"larger than {limit:,} bytes"}])
            file = InboundFile(read_input(path), path.name, tenant, OPERATOR, source="cli")
            receipt = receive_inbound(door, file)
        except InboundRefused as error:
            if isinstance(error, NotReceived) and not named:
                rows.append((path.name, "-", "-", "", "", "", "skipped", "not a file the gateway receives"))
                continue
            rows.append((path.name, "-", "-", "", "", "", "rejected", field_reasons(error.errors)))
            rejected += 1
            continue
        rejected += bool(receipt.refused)
        summary = receipt.summary
        applied = "rejected" if receipt.refused else applied_cell(summary.applied, receipt.duplicate)
        rows.append(
            (
                path.name,
                summary.what,
                summary.code or "",
                summary.references or "",
                summary.delivery_id or "",
                summary.status or "",
                applied,
                summary.note or "",
            )
        )
    print_table(
        ("file", "kind", "code", "references", "delivery", "status", "applied", "note"),
        rows,
        keys=("file", "references", "delivery"),
    )
    exit_if_rejected(rejected)


def _door_files(paths: list[Path]) -> list[tuple[Path, bool]]:
    """The files named (True) and the files at the top of the folders named (False, hidden ones left out),
    in order; a missing path fails before anything is received."""
    found: list[tuple[Path, bool]] = []
    for path in paths:
        if path.is_dir():
            found += [
                (p, False) for p in sorted(path.iterdir()) if p.is_file() and not p.name.startswith(".")
            ]
        elif path.is_file():
            found.append((path, True))
        else:
            fail(f"{path}: no such file or directory", USAGE)
    return found


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
        rejected += result.rejected_interchanges
        # a file of several interchanges: one row each, "file#2" for the second
        for label, part in [(f"{path.name}#{p.index}", p) for p in result.interchanges] or [
            (path.name, result)
        ]:
            linked = ", ".join(
                str(item.get("delivery_id") or item.get("interchange_ref") or "") for item in part.linked
            )
            answer = part.answer or {}
            rows.append(
                (
                    label,
                    part.kind,
                    part.message_type,
                    part.partner_id or "",
                    part.interchange_ref,
                    part.status or "",
                    linked,
                    applied_cell(part.applied, part.duplicate),
                    f"{answer.get('kind', '')} {answer.get('interchange_ref', '')}".strip(),
                    part.note or "",
                )
            )
    print_table(
        ("file", "kind", "type", "partner", "interchange", "status", "linked", "applied", "answer", "note"),
        rows,
        keys=("file", "partner", "interchange", "linked"),
    )
    exit_if_rejected(rejected)


def digipost_events(
    ctx: typer.Context,
    channel_name: Annotated[str, typer.Option("--channel", help="the digipost channel to poll")] = "digipost",
) -> None:
    """Read Digipost's document events since the last poll (opened, postmarked, print failed, shredded, …)
    and apply them to the deliveries, as the worker does on its schedule; exits 1 when Digipost could not
    be read (the window is read again next time)."""
    from channels import create_channel
    from channels.digipost import DigipostChannel
    from gateway.services.inbound.digipost_events import poll_digipost_events

    cli = cli_context(ctx)
    channel = create_channel(channel_name, cli.settings.channel_settings(channel_name))
    if not isinstance(channel, DigipostChannel):
        fail(f"channel {channel_name} is not a digipost channel")
    try:
        report = poll_digipost_events(cli.engine, channel, channel_name=channel_name, actor=OPERATOR)
    finally:
        channel.close()
    print_table(
        ("document", "event", "created", "delivery", "result"),
        (
            (row["document"], row["event"], row["created"], row.get("delivery_id") or "", row["result"])
            for row in report.results
        ),
        keys=("document", "delivery"),
    )
    if report.error:
        fail(report.error)
