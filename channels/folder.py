"""The folder channel: writes exactly what would be sent, plus a JSON sidecar, atomically.

It is the demo's channel, the tests' real channel, and a hand-off to any system that polls a directory.
Each file is written under a temporary name, flushed to disk and renamed; the sidecar is renamed last, so
a reader that waits for the sidecar never sees half a document. Names depend only on the delivery and its
attempt, so a try repeated after a crash replaces the file instead of adding a second one.
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
from transports.files import safe_name, sync_directory, write_atomically


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

    def send(self, delivery: OutboundDelivery) -> DeliveryResult:
        directory = self.target_directory(delivery)
        invoice_number = delivery.invoice.number if delivery.invoice is not None else None
        name = invoice_number or delivery.document_kind
        if invoice_number and delivery.document_kind is not DocumentKind.INVOICE:  # not the invoice's name
            name = f"{delivery.document_kind}-{invoice_number}"
        stem = f"{safe_name(name)}__{delivery.idempotency_key}"
        document_path = directory / f"{stem}.{delivery.document.extension}"
        try:
            directory.mkdir(parents=True, exist_ok=True)
            self._sweep(directory)
            write_atomically(document_path, delivery.document.content, fsync=self.config.fsync)
            for attachment in delivery.attachments:
                write_atomically(
                    directory / f"{stem}.{safe_name(attachment.format)}.{attachment.extension}",
                    attachment.content,
                    fsync=self.config.fsync,
                )
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
                write_atomically(
                    directory / f"{stem}.sidecar.json",
                    json.dumps(sidecar, indent=2).encode(),
                    fsync=self.config.fsync,
                )
            if self.config.fsync:
                sync_directory(directory)
        except PermissionError as error:
            return Failed(f"cannot write to {directory}: {error.strerror}", deviation=True)
        except OSError as error:
            return Retry(reason=f"writing to {directory} failed: {error.strerror or error}")
        return Delivered(message_id=str(document_path))
