"""`gateway documents …`: the document store (invoices as sent, PODs, remittance files) as a whole.

`migrate` copies a folder store into the database or an S3 bucket when an installation moves to several
hosts; it is thin over `gateway.services.outbound.document_migration`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli.common import USAGE, JsonFlag, fail, print_json, print_lines
from gateway.cli.context import CliContext, cli_context

if TYPE_CHECKING:
    from gateway.services.outbound.documents import DocumentStore

documents_app = typer.Typer(
    help="The document store: invoices as sent, proofs of delivery, remittance files.", no_args_is_help=True
)

StoreUrl = Annotated[
    str,
    typer.Option(
        "--to",
        help="the store to copy into: database, postgresql+psycopg://…, s3://bucket/prefix?endpoint_url=…, "
        "file:///path",
        show_default=False,
    ),
]
SourceUrl = Annotated[
    str | None,
    typer.Option(
        "--from",
        help="the store to copy from (a folder path or any store URL); default: the local documents_dir",
        show_default=False,
    ),
]


def _open(cli: CliContext, url: str | None) -> DocumentStore:
    """The store at `url`; the outbox is opened only for a store that lives in it. A bad URL is exit 2."""
    from gateway.services.outbound.documents import DocumentStoreConfigError, open_document_store

    in_outbox = url in (None, "database") or (url or "").startswith("postgresql")
    try:
        return open_document_store(url, cli.settings, cli.engine if in_outbox else None)
    except DocumentStoreConfigError as error:
        fail(str(error), USAGE)


@documents_app.command("migrate")
def documents_migrate(
    ctx: typer.Context, to: StoreUrl, source: SourceUrl = None, as_json: JsonFlag = False
) -> None:
    """Copy every document the source holds into the target: resumable (keys already there are skipped),
    each copy read back and checked against its SHA-256; exit 1 when any document could not be copied."""
    from gateway.services.outbound.document_migration import migrate_documents
    from gateway.services.outbound.documents import ListableDocumentStore, LocalDocumentStore

    cli = cli_context(ctx)
    origin = _open(cli, source) if source else LocalDocumentStore(cli.settings.documents_dir)
    target = _open(cli, to)
    if not isinstance(origin, ListableDocumentStore):  # pragma: no cover - every store lists its keys
        fail("the source store cannot list its documents", USAGE)
    report = migrate_documents(origin, target)
    if as_json:
        print_json({"from": repr(origin), "to": repr(target), **report.as_dict()})
    else:
        print_lines(
            [
                f"from {origin!r} to {target!r}",
                f"copied {report.copied} ({report.bytes_copied} bytes), already there "
                f"{report.already_there}, failed {len(report.failed)}",
                *(f"failed {key}: {reason}" for key, reason in sorted(report.failed.items())),
            ]
        )
    if report.failed:
        raise typer.Exit(1)
