"""What every job of one worker shares: the outbox, the settings, its name, its channels, its counters, and
its view of whether the database answers (`gateway.worker.outage`)."""

from __future__ import annotations

import os
import socket
import threading
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from sqlalchemy import Engine

from channels import channel_class, create_channel
from channels.base import Channel
from db.models import new_id
from gateway.logging_setup import get_logger
from gateway.services.outbound.documents import DocumentStore, document_store
from gateway.settings import Settings
from gateway.worker.outage import DatabaseOutage

T = TypeVar("T")

#: structlog over the stdlib logger `gateway.worker`: `%s` arguments work, key-value pairs go with them.
log = get_logger("gateway.worker")


@dataclass
class WorkerStats:
    #: delivery rounds run (each one claim query), whether or not they found work
    rounds: int = 0
    claimed: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    lease_lost: int = 0
    #: database outages ridden out, and how long they lasted in all
    outages: int = 0
    outage_seconds: float = 0.0
    #: writes of a delivery in flight that an outage interrupted, finished under their lease afterwards
    writes_resumed: int = 0


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
        stop_requested: threading.Event | None = None,
    ) -> None:
        self.engine = engine
        self.settings = settings
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{new_id()[:6]}"
        self.only_channels = channels
        self.stats = WorkerStats()
        #: set by SIGTERM/SIGINT (a caller may hand in its own, set before the worker existed)
        self.stop_requested = stop_requested or threading.Event()
        self.outage = DatabaseOutage(
            f"worker {self.worker_id}",
            initial_seconds=settings.worker_db_backoff_initial_seconds,
            max_seconds=settings.worker_db_backoff_max_seconds,
            engine=engine,
            log=log,
        )
        #: called when a stop is requested, to cut short a wait that is not on `stop_requested`
        self.on_stop: list[Callable[[], None]] = []
        self._channels: dict[str, Channel[Any]] = {}
        self._document_store: DocumentStore | None = None

    def request_stop(self) -> None:
        """Stop after the current delivery (and now, if the worker is waiting)."""
        self.stop_requested.set()
        for wake in self.on_stop:
            wake()

    def ride_out(self, write: Callable[[], T]) -> T:
        """`write()` (one transaction under a lease), tried again under the same lease when the database
        did not answer, until it does; a stop requested meanwhile ends the waiting with the error."""
        outages = self.outage.outages
        try:
            result = self.outage.wait_out(write, self.stop_requested)
        finally:
            self.note_outages()
        if self.outage.outages > outages:
            self.stats.writes_resumed += 1
        return result

    def note_outages(self) -> None:
        self.stats.outages = self.outage.outages
        self.stats.outage_seconds = round(self.outage.outage_seconds, 3)

    @property
    def document_store(self) -> DocumentStore:
        """Where extra documents are read from and documents as sent are kept."""
        if self._document_store is None:
            self._document_store = document_store(self.settings, self.engine)
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
