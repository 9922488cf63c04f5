"""How an idle worker waits for work: woken by PostgreSQL `NOTIFY`, or by the clock.

With `worker_wakeup=listen` on PostgreSQL the worker keeps one dedicated connection (outside the pool) in
`LISTEN gateway_outbox` and waits on its socket; intake notifies in its transaction (`outbox.wakeup`), so a
new invoice is claimed at once instead of at the next poll, and an idle worker looks on its own only every
`worker_listen_poll_seconds` (retries coming due, a notification sent while it was reconnecting). On SQLite,
or with `worker_wakeup=poll`, it sleeps `poll_seconds` between looks, as before.

A stop request must cut the wait short, and a signal handler cannot interrupt `select` (Python resumes it),
so the wait also watches a pipe that `interrupt` writes to.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
import time
from typing import TYPE_CHECKING

from gateway.worker.context import log
from outbox.wakeup import OUTBOX_CHANNEL

if TYPE_CHECKING:
    import psycopg
    from sqlalchemy import Engine

    from gateway.settings import Settings

#: How long connecting the listening connection may take before the worker polls instead.
CONNECT_TIMEOUT_SECONDS = 5


class Wakeup:
    """One worker's idle wait: on its LISTEN connection, or a plain sleep; always cut short by a stop."""

    def __init__(self, engine: Engine, settings: Settings, stop: threading.Event, who: str) -> None:
        self.engine = engine
        self.settings = settings
        self.stop = stop
        self.who = who
        self.listening = settings.worker_wakeup == "listen" and engine.dialect.name == "postgresql"
        self._connection: psycopg.Connection[tuple[object, ...]] | None = None
        self._retry_at = 0.0
        self._failures = 0
        #: waits a notification ended: tells a wake by NOTIFY from a poll's look without timing either
        self.notified = 0
        #: the self-pipe a stop writes to, made by `start` (a worker never run holds no descriptors)
        self._pipe: tuple[int, int] | None = None

    @property
    def idle_seconds(self) -> float:
        """How long an idle worker goes without looking for due work on its own."""
        return self.settings.worker_listen_poll_seconds if self.listening else self.settings.poll_seconds

    def interrupt(self) -> None:
        """Cut the current (or next) wait short: safe from a signal handler."""
        if self._pipe is not None:
            with contextlib.suppress(OSError):  # the pipe is full (a wake is pending anyway) or closed
                os.write(self._pipe[1], b"x")

    def start(self) -> None:
        """Listen from now on (before the first look, so no notification falls between the two). Quietly:
        a database that does not answer yet is the worker's outage to report, once."""
        if self._pipe is None:
            self._pipe = os.pipe()
            for fd in self._pipe:
                os.set_blocking(fd, False)
        if self.listening:
            self._listener(quiet=True)

    def wait(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds; True when a notification (or a lost listener) says look now."""
        if self.stop.is_set():
            return False
        connection = self._listener() if self.listening else None
        if connection is None or self._pipe is None:
            if not self.listening:  # polling, by choice or on SQLite: every wait ends in a look
                self._sleep(timeout)
                return False
            # the listener cannot connect: nothing would wake the worker, so it looks every poll_seconds
            self._sleep(min(timeout, self.settings.poll_seconds))
            return True
        try:
            ready, _, _ = select.select([connection.fileno(), self._pipe[0]], [], [], max(0.0, timeout))
        except (OSError, ValueError):  # the connection's socket went away under us
            self._drop()
            return True
        self._drain_pipe()
        if connection.fileno() not in ready:
            return False
        try:
            notifications = sum(1 for _ in connection.notifies(timeout=0.0))  # one look serves them all
        except Exception as error:  # any driver error: the listener is gone; look once
            log.info("%s: the LISTEN connection was lost (%s); reconnecting", self.who, error)
            self._drop()
            return True
        if notifications:
            self.notified += 1
        return True

    def close(self) -> None:
        self._drop()
        for fd in self._pipe or ():
            with contextlib.suppress(OSError):
                os.close(fd)
        self._pipe = None

    # -- the listening connection --------------------------------------------------------------------

    def _listener(self, *, quiet: bool = False) -> psycopg.Connection[tuple[object, ...]] | None:
        """The LISTEN connection, (re)connected when it is gone and a retry is due; None meanwhile."""
        if self._connection is not None and not self._connection.closed:
            return self._connection
        if time.monotonic() < self._retry_at:
            return None
        import psycopg

        conninfo = self.engine.url.set(drivername="postgresql").render_as_string(hide_password=False)
        try:
            connection = psycopg.connect(conninfo, autocommit=True, connect_timeout=CONNECT_TIMEOUT_SECONDS)
            connection.execute(f"LISTEN {OUTBOX_CHANNEL}")
        except psycopg.Error as error:
            if quiet:
                return None
            self._failures += 1
            backoff = min(self.settings.worker_db_backoff_max_seconds, 2.0 ** min(self._failures, 10))
            self._retry_at = time.monotonic() + backoff
            if self._failures == 1:  # once per stretch of failures, not once per try
                reason = (str(error).strip().splitlines() or [type(error).__name__])[0]
                log.warning("%s: cannot LISTEN (%s); polling until it can", self.who, reason)
            return None
        if self._failures:
            log.info("%s: listening for new work again", self.who)
        self._failures = 0
        self._connection = connection
        return connection

    def _drop(self) -> None:
        if self._connection is not None:
            with contextlib.suppress(Exception):  # closing a broken connection: nothing to do about it
                self._connection.close()
        self._connection = None

    def _sleep(self, seconds: float) -> None:
        """Sleep, cut short by a stop (setting the event wakes its waiter, from a signal handler too)."""
        if seconds > 0:
            self.stop.wait(seconds)

    def _drain_pipe(self) -> None:
        if self._pipe is None:
            return
        with contextlib.suppress(OSError):  # BlockingIOError: empty
            while os.read(self._pipe[0], 512):
                pass
