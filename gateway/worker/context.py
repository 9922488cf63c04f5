"""What every job of one worker shares: the outbox, the settings, its name, its channels, its counters."""

from __future__ import annotations

import os
import socket
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine

from channels import channel_class, create_channel
from channels.base import Channel
from db.models import new_id
from gateway.logging_setup import get_logger
from gateway.services.outbound.documents import DocumentStore, document_store
from gateway.settings import Settings

#: structlog over the stdlib logger `gateway.worker`: `%s` arguments work, key-value pairs go with them.
log = get_logger("gateway.worker")


@dataclass
class WorkerStats:
    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    lease_lost: int = 0


class WorkerContext:
    """One worker's outbox, settings, name and channel filter, shared by the delivery loop and every
    periodic task; it opens each channel once and keeps it until the worker ends (`close_channels`)."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        worker_id: str | None = None,
        channels: list[str] | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{new_id()[:6]}"
        self.only_channels = channels
        self.stats = WorkerStats()
        self.stop_requested = threading.Event()
        self._channels: dict[str, Channel[Any]] = {}
        self._document_store: DocumentStore | None = None

    @property
    def document_store(self) -> DocumentStore:
        """Where extra documents are read from and documents as sent are kept."""
        if self._document_store is None:
            self._document_store = document_store(self.settings)
        return self._document_store

    def wants(self, channel: str) -> bool:
        """Whether this worker serves `channel` (all channels unless started with a list)."""
        return self.only_channels is None or channel in self.only_channels

    def channel(self, name: str) -> Channel[Any]:
        """The configured channel, or in dry-run mode a folder sink standing in for it."""
        if name not in self._channels:
            if self.settings.dry_run:
                channel_class(name)  # an unknown channel is an error in a dry run too
                sink = {"directory": str(self.settings.data_dir / "dry-run" / name)}
                self._channels[name] = create_channel("folder", sink)
            else:
                self._channels[name] = create_channel(name, self.settings.channel_settings(name))
        return self._channels[name]

    def close_channels(self) -> None:
        for channel in self._channels.values():
            channel.close()
