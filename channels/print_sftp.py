"""The print-house channel: paper invoices in daily batches, uploaded over SFTP (or into a local folder).

Per delivery (`stage`) the PDF is checked the way a print house checks it (A4, free left margin, page
limit, embedded fonts, not encrypted) and the buyer's postal address is checked for a letter; a document
that fails goes to deviation on its own and the rest of the batch goes on. At the profile's cut-off the
worker closes the batch and calls `send_batch`: the PDFs (one per document or merged) and an index file,
optionally zipped and PGP-encrypted, are uploaded under a temporary name and renamed when complete. The
batch id is fixed when the batch closes and the final rename is the commit point, so a try repeated after
a dropped connection finds the committed batch and does not make a second print job.

Return files (receipts, production reports, returned mail) are listed, read and archived through the same
transport; `gateway.services.inbound.print_returns` reads and applies them.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import posixpath
from collections.abc import Iterator
from typing import Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from pypdf import PdfReader
from pypdf.errors import PdfReadError

from channels.base import (
    BatchResult,
    ChannelCapabilities,
    ChannelConfig,
    Failed,
    OutboundBatch,
    OutboundDelivery,
    Retry,
    Sent,
    Staged,
)
from channels.context import DocumentKind
from channels.drop_handover import DropHandoverChannel, DropTransportConfig
from mappings.base import FormatError
from mappings.print.batch import (
    PostalRecipient,
    PrintItem,
    build_print_batch,
    package_zip,
    recipient_from_invoice,
)
from mappings.print.printability import check_printable
from schemas.print_profile import PrintProfile
from transports.committed_drop import CommittedDrop, DropUnavailable
from transports.drop_folder import DropFolder
from transports.pgp import PgpEncryptor, PgpError


class PrintHouseFolders(BaseModel):
    """Where batches go and where the print house leaves its return files (relative to the transport root)."""

    model_config = ConfigDict(extra="forbid")

    incoming: str = Field("in", description="batches are uploaded here")
    outgoing: str = Field("out", description="the print house's receipts, reports and returned-mail files")
    archive: str = Field("out/archive", description="return files are moved here once read")


class PrintConfig(DropTransportConfig):
    transport: Literal["folder", "sftp"] = Field(
        "folder", description="sftp for a print house; folder for a local or mounted hand-off directory"
    )
    folders: PrintHouseFolders = Field(default_factory=PrintHouseFolders)
    profiles: dict[str, PrintProfile] = Field(
        default_factory=lambda: {"default": PrintProfile()},
        description="print profiles by name; a tenant picks one with the print_profile setting",
    )
    max_return_file_bytes: int = Field(20_000_000, gt=0)
    timeout_seconds: float = Field(300.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _profiles(self) -> PrintConfig:
        if not self.profiles:
            raise ValueError("at least one print profile is needed (tenants without one use 'default')")
        return self


class PrintHouseUnavailable(DropUnavailable):
    """The print house's file drop could not be used; `transient` says whether a retry may help."""


class PrintChannel(DropHandoverChannel[PrintConfig]):
    """Paper invoices through a print house, batched per tenant and profile at the profile's cut-offs."""

    name: ClassVar[str] = "print"
    drop_unavailable: ClassVar[type[DropUnavailable]] = PrintHouseUnavailable
    drop_folder_label: ClassVar[str] = "the print folder"
    config_model: ClassVar[type[ChannelConfig]] = PrintConfig
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(
        formats=("pdf",),
        default_format="pdf",
        needs_address=False,
        confirms_delivery=False,
        batched=True,
        description="print-house batches (PDFs + index, optionally PGP) over SFTP at set times of day",
        # a follow-up notice (its PDF) goes as a letter in the same batch, to the first reminded
        # invoice's buyer, its kind in the index so the print house and its returns can tell it apart
        documents=(DocumentKind.INVOICE, DocumentKind.REMINDER),
    )

    # -- per document ------------------------------------------------------------------------------

    def profile_for(self, delivery: OutboundDelivery) -> tuple[str, PrintProfile] | None:
        settings = delivery.tenant_settings
        name = (settings.print_profile if settings else None) or "default"
        profile = self.config.profiles.get(name)
        return (name, profile) if profile is not None else None

    def stage(self, delivery: OutboundDelivery) -> Staged | Failed | Retry:
        chosen = self.profile_for(delivery)
        if chosen is None:
            wanted = (
                delivery.tenant_settings.print_profile if delivery.tenant_settings else None
            ) or "default"
            known = ", ".join(sorted(self.config.profiles))
            return Failed(
                f"no print profile {wanted!r} in the print channel (known: {known})", deviation=True
            )
        profile_name, profile = chosen
        if delivery.document.format != "pdf":
            return Failed(f"the print house takes PDF, not {delivery.document.format}", deviation=True)
        try:
            recipient = recipient_from_invoice(delivery.the_invoice())
        except FormatError as error:
            return Failed(f"not a postable address: {error}", deviation=True)
        pdf = delivery.document.content
        problems = check_printable(pdf, max_pages=profile.max_pages, margin_band_mm=None)
        if problems:
            listed = "; ".join(
                f"{problem.code}"
                + (f" (page {problem.page})" if problem.page else "")
                + f": {problem.detail}"
                for problem in problems[:5]
            )
            return Failed(f"not printable: {listed}", deviation=True)
        try:
            pages = len(PdfReader(io.BytesIO(pdf)).pages)
        except (PdfReadError, ValueError) as error:  # pragma: no cover - check_printable reads it first
            return Failed(f"not printable: the PDF cannot be read ({error})", deviation=True)
        due = profile.next_cutoff(dt.datetime.now(dt.UTC))
        return Staged(
            batch_key=profile_name,
            due_at=due,
            meta={
                **self.document_meta(delivery),
                "pages": pages,
                "recipient": {
                    "name": recipient.name,
                    "lines": list(recipient.lines),
                    "postcode": recipient.postcode,
                    "city": recipient.city,
                    "country_code": recipient.country_code,
                },
            },
            detail=f"waiting for the {profile_name} print batch at {profile.local_label(due)} "
            f"({profile.timezone}); {pages} page(s)",
        )

    @staticmethod
    def document_meta(delivery: OutboundDelivery) -> dict[str, Any]:
        """What the index says the document is: an invoice by its number; a follow-up notice by its kind
        (`reminder`), its notice id and the numbers of the invoices it reminds of."""
        if delivery.document_kind is DocumentKind.REMINDER and delivery.notice is not None:
            numbers = ", ".join(invoice.number for invoice in delivery.notice.invoices)
            return {
                "invoice_number": numbers[:200] or delivery.the_invoice().number,
                "document_kind": DocumentKind.REMINDER.value,
                "notice_kind": str(delivery.notice.kind),
                "notice_id": delivery.notice.notice_id,
            }
        return {"invoice_number": delivery.the_invoice().number}

    # -- per batch ---------------------------------------------------------------------------------

    def build_batch_files(
        self, batch: OutboundBatch, profile: PrintProfile
    ) -> tuple[str, list[tuple[str, bytes]], bool, dict[str, Any]]:
        """The remote name, the files, whether they go as a directory, and a summary for the history."""
        items = [
            PrintItem(
                delivery_id=entry.delivery_id,
                sequence=entry.sequence,
                invoice_number=str(entry.meta.get("invoice_number", "")),
                document_kind=str(entry.meta.get("document_kind", DocumentKind.INVOICE.value)),
                pdf=entry.document.content,
                pages=int(entry.meta["pages"]),
                recipient=PostalRecipient(
                    name=entry.meta["recipient"]["name"],
                    lines=tuple(entry.meta["recipient"]["lines"]),
                    postcode=entry.meta["recipient"]["postcode"],
                    city=entry.meta["recipient"]["city"],
                    country_code=entry.meta["recipient"]["country_code"],
                ),
            )
            for entry in batch.entries
        ]
        built = build_print_batch(
            batch.batch_id, items, profile, tenant_id=batch.tenant_id, cutoff=batch.cutoff_at
        )
        files = list(built.files)
        as_directory = profile.packaging == "directory"
        if not as_directory:
            files = [package_zip(batch.batch_id, files)]
        if profile.pgp_public_key:
            encryptor = PgpEncryptor(profile.pgp_public_key)
            try:
                files = [(f"{name}.gpg", encryptor.encrypt(content)) for name, content in files]
            finally:
                encryptor.close()
        remote = posixpath.join(self.config.folders.incoming, batch.batch_id if as_directory else files[0][0])
        summary = dict(built.summary)
        summary["files"] = [name for name, _content in files]
        return remote, files, as_directory, summary

    def send_batch(self, batch: OutboundBatch) -> BatchResult:
        profile = self.config.profiles.get(batch.batch_key)
        if profile is None:
            return Failed(f"no print profile {batch.batch_key!r} for batch {batch.batch_id}", deviation=True)
        if not batch.entries:
            return Sent(message_id=batch.batch_id, detail="empty batch: nothing to upload")
        try:
            remote, files, as_directory, summary = self.build_batch_files(batch, profile)
        except PgpError as error:
            return Failed(f"PGP encryption failed: {error}", deviation=True)
        except (FormatError, ValueError) as error:
            return Failed(f"the batch cannot be built: {error}", deviation=True)
        except (KeyError, TypeError) as error:  # a staged entry without what staging records
            return Failed(f"the batch cannot be built: a staged entry lacks {error}", deviation=True)

        def upload(store: CommittedDrop) -> bool:
            if as_directory:
                return store.upload_directory(remote, files)
            ((_name, content),) = files
            return store.upload_file(remote, content)

        return self.hand_over(
            batch,
            upload,
            committed=f"uploaded {remote}: {summary.get('documents')} document(s), "
            f"{summary.get('pages')} page(s), {summary.get('sheets')} sheet(s)",
            already=f"{remote} was already on the print house's side (committed by an earlier try)",
        )

    # -- the file drop -----------------------------------------------------------------------------

    @contextlib.contextmanager
    def return_folder(self) -> Iterator[DropFolder]:
        """The print house's outgoing folder for one poll (one connection), walked with
        `transports.drop_folder.take_waiting_files`. A file read is moved to the archive folder whether it
        was applied or not (`done` and `rejected` both lead there): a malformed one is kept in the gateway
        with its reason."""
        folders = self.config.folders
        with self.store() as store:
            yield store.drop_folder(folders.outgoing, posixpath.relpath(folders.archive, folders.outgoing))
