"""Riding out a database that does not answer: the worker waits, tries again, and goes on.

A PostgreSQL restart (or a failover, or a network partition) breaks every open connection and refuses new
ones for a while. A worker must outlive that, however long it lasts: `DatabaseOutage` tells such errors
from others (`is_outage`), logs the outage once when it starts and once when it ends (with its length,
not a line per try), throws the engine's pooled connections away (they are dead; the pool reconnects
when the database is back) and says how long to wait before the next try: exponential backoff from
`worker_db_backoff_initial_seconds`, capped at `worker_db_backoff_max_seconds`, jittered so that workers
do not reconnect in lock-step.

Why waiting is safe for the outbox: every hold on a delivery is a lease with a token (`outbox.lease`). A
write that did not reach the database is tried again under the same token when it is back; a write that
did reach it but whose answer was lost is refused on the second try (`LeaseLost`: the row has moved on),
so nothing is recorded twice; and a delivery whose worker gives up (stopped during the outage) stays held
until its lease expires and is then taken over, as after a crash.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import Engine
from sqlalchemy.exc import DBAPIError, DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

T = TypeVar("T")

#: What a database that does not answer (or dropped the connection) raises through SQLAlchemy.
OUTAGE_ERRORS: tuple[type[Exception], ...] = (
    OperationalError,
    InterfaceError,
    DisconnectionError,
    PoolTimeout,
)


def is_outage(error: BaseException) -> bool:
    """Whether `error` says the database cannot be reached now (rather than that a statement is wrong)."""
    if isinstance(error, DBAPIError) and error.connection_invalidated:
        return True
    return isinstance(error, OUTAGE_ERRORS)


def reason_of(error: BaseException | str) -> str:
    """The first line of the driver's message (the URL's password is never in it: libpq leaves it out)."""
    if isinstance(error, str):
        return error
    text = str(getattr(error, "orig", None) or error).strip()
    return (text.splitlines() or [type(error).__name__])[0]


class DatabaseOutage:
    """One process's view of whether its database answers, and how long to wait before trying again."""

    def __init__(
        self,
        who: str,
        *,
        initial_seconds: float,
        max_seconds: float,
        engine: Engine | None = None,
        log: logging.Logger | None = None,
    ) -> None:
        self.who = who
        self.initial_seconds = initial_seconds
        self.max_seconds = max_seconds
        self.engine = engine
        self.log = log or logging.getLogger("gateway.worker")
        self._since: float | None = None
        self._tries = 0
        #: the worker's thread and its batch finisher (`BatchFinisher`) both report here
        self._lock = threading.Lock()
        #: outages ridden out and their total length, for the worker's statistics
        self.outages = 0
        self.outage_seconds = 0.0

    @property
    def ongoing(self) -> bool:
        return self._since is not None

    def failed(self, error: BaseException | str) -> float:
        """The database did not answer: log it if this starts an outage, drop the pooled connections, and
        return how long to wait before the next try."""
        with self._lock:
            return self._failed(error)

    def _failed(self, error: BaseException | str) -> float:
        if self._since is None:
            self._since = time.monotonic()
            self._tries = 0
            self.log.warning(
                "%s: the database does not answer (%s); waiting and trying again (backoff up to %g s)",
                self.who,
                reason_of(error),
                self.max_seconds,
            )
        else:
            self.log.debug("%s: the database still does not answer: %s", self.who, reason_of(error))
        if self.engine is not None:
            self.engine.dispose()  # every pooled connection is dead; new ones are made when it answers
        delay = min(self.max_seconds, self.initial_seconds * 2.0**self._tries)
        self._tries += 1
        return delay * random.uniform(0.8, 1.0)  # jitter, so workers do not retry in lock-step

    def recovered(self, asked_at: float | None = None) -> None:
        """The database answered: log the end of an outage (once) with how long it lasted.

        `asked_at` (`time.monotonic()`) is when the work that succeeded began: work begun before the outage
        was noticed proves nothing about the database now (the worker's round may end well just after its
        batch finisher, on another thread, found the database gone), so it ends no outage."""
        with self._lock:
            if asked_at is None or self._since is None or asked_at >= self._since:
                self._recovered()

    def _recovered(self) -> None:
        if self._since is None:
            return
        lasted = time.monotonic() - self._since
        self.outages += 1
        self.outage_seconds += lasted
        self.log.warning(
            "%s: the database answers again after %.1f s (%d tries); going on", self.who, lasted, self._tries
        )
        self._since = None
        self._tries = 0

    def wait_out(
        self,
        attempt: Callable[[], T],
        stop: threading.Event,
        *,
        give_up_after: float | None = None,
    ) -> T:
        """`attempt()`, tried again after each outage error until it succeeds.

        Raises the last outage error when `stop` is set while waiting, or when `give_up_after` seconds
        have passed since the first failure (a one-off command: a worker waits as long as it takes)."""
        started = time.monotonic()
        while True:
            asked_at = time.monotonic()
            try:
                result = attempt()
            except Exception as error:
                if not is_outage(error):
                    raise
                delay = self.failed(error)
                if give_up_after is not None:
                    left = give_up_after - (time.monotonic() - started)
                    if left <= 0:
                        raise
                    delay = min(delay, left)
                if stop.wait(delay):
                    raise
                continue
            self.recovered(asked_at)
            return result
