"""The folder channel: writes exactly what would be sent, plus a JSON sidecar, atomically.

It is the demo's channel, the tests' real channel, and a hand-off to any system that polls a directory.
Each file is written under a temporary name, flushed to disk and renamed; the sidecar is renamed last, so
a reader that waits for the sidecar never sees half a document. Names depend only on the delivery and its
attempt, so a try repeated after a crash replaces the file instead of adding a second one.

Handed a write group (`OutboundDelivery.write_group`, the worker's claim batch), it writes the same files
as parts through the group and flushes nothing itself: its `Delivered` then holds once the group has
settled (one flush for the batch, the sidecar renamed last). Without a group it writes as above.
"""

from __future__ import annotations

import contextlib
import json
import time
from pathlib import Path
from typing import ClassVar

from pydantic import Field

from channels.base import (
    Channel,
    ChannelCapabilities,
    ChannelConfig,
    Delivered,
    DeliveryResult,
    Failed,
    OutboundDelivery,
    Retry,
)
from channels.context import DocumentKind
from mappings import FORMATS
from transports.files import (
    WriteGroup,
    safe_name,
    sweep_stale_parts,
    sync_directory,
    write_atomically,
)

#: Where a write group's part files wait for `settle()`, under the channel's directory (the same file
#: system, so the rename into place is atomic); no tenant directory can have this name (`safe_name`).
PARTS_DIRECTORY = ".parts"


class FolderConfig(ChannelConfig):
    directory: Path = Field(Path("gateway-data/outbound"), description="where documents are written")
    write_sidecar: bool = True
    fsync: bool = Field(True, description="flush each file to disk before it is renamed into place")
    stale_temp_seconds: float = Field(
        3600.0, gt=0, description="temp files of a crashed writer older than this are removed"
    )


class FolderChannel(Channel[FolderConfig]):
    """Delivers by writing into a directory (per tenant, and per receiver address when one is given).

    A writer killed mid-file leaves a `.tmp-*.part` behind (never a document); the first write into a
    directory sweeps away such leftovers that are older than any live write could be.
    """

    name: ClassVar[str] = "folder"
    config_model: ClassVar[type[ChannelConfig]] = FolderConfig
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(
        formats=tuple(FORMATS),
        default_format="canonical-json",
        needs_address=False,
        confirms_delivery=True,
        writes_in_groups=True,
        description="write the wire document and a JSON sidecar into a directory",
        documents=tuple(DocumentKind),  # the dry-run sink: it writes whatever it is handed
    )

    def __init__(self, config: FolderConfig) -> None:
        super().__init__(config)
        self._swept: set[Path] = set()

    def _sweep(self, directory: Path) -> None:
        if directory in self._swept:
            return
        self._swept.add(directory)
        cutoff = time.time() - self.config.stale_temp_seconds
        for leftover in directory.glob(".tmp-*.part"):
            with contextlib.suppress(FileNotFoundError):
                if leftover.stat().st_mtime < cutoff:
                    leftover.unlink()

    def target_directory(self, delivery: OutboundDelivery) -> Path:
        directory = self.config.directory / safe_name(delivery.tenant_id)
        if delivery.address:
            parts = [safe_name(part) for part in delivery.address.split("/") if part not in {"", ".", ".."}]
            directory = directory.joinpath(*parts)
        return directory

    def _files(self, delivery: OutboundDelivery, directory: Path) -> list[tuple[Path, bytes]]:
        """Every file of one delivery, in the order they are put in place: the document, its
        attachments, and the sidecar last (a reader that waits for the sidecar sees complete files)."""
        invoice_number = delivery.invoice.number if delivery.invoice is not None else None
        name = invoice_number or delivery.document_kind
        if invoice_number and delivery.document_kind is not DocumentKind.INVOICE:  # not the invoice's name
            name = f"{delivery.document_kind}-{invoice_number}"
        stem = f"{safe_name(name)}__{delivery.idempotency_key}"
        document_path = directory / f"{stem}.{delivery.document.extension}"
        files = [(document_path, delivery.document.content)]
        files += [
            (directory / f"{stem}.{safe_name(attachment.format)}.{attachment.extension}", attachment.content)
            for attachment in delivery.attachments
        ]
        if self.config.write_sidecar:
            sidecar = {
                "delivery_id": delivery.delivery_id,
                "invoice_id": delivery.invoice_id,
                "tenant_id": delivery.tenant_id,
                "attempt": delivery.attempt,
                "invoice_number": invoice_number,
                "format": delivery.document.format,
                "media_type": delivery.document.media_type,
                "file": document_path.name,
                "bytes": len(delivery.document.content),
                "attachments": [a.format for a in delivery.attachments],
            }
            if delivery.document_kind is not DocumentKind.INVOICE:
                sidecar["document_kind"] = delivery.document_kind.value
            # indented for a person reading the folder; compact in a group (the worker's hot path)
            indent = None if delivery.write_group is not None else 2
            files.append((directory / f"{stem}.sidecar.json", json.dumps(sidecar, indent=indent).encode()))
        return files

    def send(self, delivery: OutboundDelivery) -> DeliveryResult:
        directory = self.target_directory(delivery)
        files = self._files(delivery, directory)
        group = delivery.write_group
        try:
            if group is not None:
                self._write_in_group(group, delivery.delivery_id, directory, files)
            else:
                directory.mkdir(parents=True, exist_ok=True)
                self._sweep(directory)
                for path, content in files:
                    write_atomically(path, content, fsync=self.config.fsync)
                if self.config.fsync:
                    sync_directory(directory)
        except PermissionError as error:
            return Failed(f"cannot write to {directory}: {error.strerror}", deviation=True)
        except OSError as error:
            return Retry(reason=f"writing to {directory} failed: {error.strerror or error}")
        return Delivered(message_id=str(files[0][0]))

    def _write_in_group(
        self, group: WriteGroup, tag: str, directory: Path, files: list[tuple[Path, bytes]]
    ) -> None:
        """The delivery's files as parts of `group`, in place once it settles; on an error none of them
        is left in the group (the caller answers `Failed`/`Retry` at once)."""
        parts = self.config.directory / PARTS_DIRECTORY
        try:
            group.ensure_directory(directory)
            self._sweep(directory)  # `.tmp-*.part` of a one-by-one writer that died here
            group.ensure_directory(parts)
            if parts not in self._swept:
                self._swept.add(parts)
                sweep_stale_parts(parts, self.config.stale_temp_seconds)
            for path, content in files:
                group.write(path, content, parts=parts, tag=tag, durable=self.config.fsync)
        except OSError:
            group.cancel(tag)
            raise
