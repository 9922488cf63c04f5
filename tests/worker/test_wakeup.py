"""Waking on new work: intake's NOTIFY wakes an idle worker on PostgreSQL; SQLite (and `poll`) poll.

The poll intervals here are a minute, so an invoice claimed within seconds was claimed because of the
notification, not found by a poll.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, text

from db.engine import session_scope
from gateway.samples import sample_invoice_json
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker import Worker
from outbox.wakeup import OUTBOX_CHANNEL

#: Far longer than the test waits: whatever is claimed in time was not found by a poll.
LONG_SECONDS = 60.0
WAIT_SECONDS = 15.0
QUIET_PERIODIC = {
    "batch_poll_seconds": 3600,
    "ack_check_seconds": 3600,
    "remittance_poll_seconds": 3600,
    "webhook_poll_seconds": 3600,
}


def _post(engine: Engine, number: int) -> None:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    [result] = accept_invoices(
        engine, "acme", [IntakeItem(sample_invoice_json(number))], actor="test", default_channel="folder"
    )
    assert result.outcome == "created", result.errors


def _wait_until(condition: object, what: str) -> float:
    started = time.monotonic()
    while not condition():  # type: ignore[operator]
        assert time.monotonic() - started < WAIT_SECONDS, what
        time.sleep(0.02)
    return time.monotonic() - started


@pytest.fixture
def running() -> Iterator[list[tuple[Worker, threading.Thread]]]:
    started: list[tuple[Worker, threading.Thread]] = []
    yield started
    for worker, thread in started:
        worker.stop()
        thread.join(timeout=30)
        assert not thread.is_alive(), "the worker did not stop"


def _start(worker: Worker, running: list[tuple[Worker, threading.Thread]]) -> None:
    thread = threading.Thread(target=worker.run, daemon=True)
    running.append((worker, thread))
    thread.start()
    _wait_until(lambda: worker.stats.rounds >= 1, "the worker's first round")
    time.sleep(0.2)  # past the first (empty) round, into the idle wait


def test_a_new_invoice_wakes_an_idle_worker(
    engine: Engine, settings: Settings, running: list[tuple[Worker, threading.Thread]]
) -> None:
    postgresql = engine.dialect.name == "postgresql"
    settings = settings.model_copy(
        update={
            **QUIET_PERIODIC,
            "worker_listen_poll_seconds": LONG_SECONDS,
            # SQLite cannot notify: the worker polls, so it is given a short poll interval there
            "poll_seconds": LONG_SECONDS if postgresql else 0.05,
        }
    )
    worker = Worker(engine, settings, worker_id="listener")
    assert worker.wakeup.listening is postgresql
    _start(worker, running)
    rounds, notified = worker.stats.rounds, worker.wakeup.notified
    _post(engine, 1)
    took = _wait_until(lambda: worker.stats.outcomes["delivered"] == 1, "the invoice delivered")
    if not postgresql:
        assert worker.wakeup.notified == 0  # SQLite: every look was a poll's
        return
    assert worker.stats.rounds > rounds and took < WAIT_SECONDS < LONG_SECONDS  # woken, not polling
    assert worker.wakeup.notified > notified  # and the wait that ended was ended by the NOTIFY

    # the LISTEN connection is cut (a restart, a proxy): the worker looks once, listens again, and the
    # next invoice wakes it as the first did
    listener = worker.wakeup._connection
    assert listener is not None
    with engine.connect() as connection:
        connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": listener.info.backend_pid})
    _wait_until(lambda: worker.wakeup._connection not in (None, listener), "listening again")
    time.sleep(0.2)
    rounds, notified = worker.stats.rounds, worker.wakeup.notified
    _post(engine, 2)
    _wait_until(lambda: worker.stats.outcomes["delivered"] == 2, "the second invoice delivered")
    assert worker.stats.rounds > rounds and worker.wakeup.notified > notified


def test_polling_is_chosen_by_setting_or_by_sqlite(engine: Engine, settings: Settings) -> None:
    polling = settings.model_copy(update={"worker_wakeup": "poll"})
    assert Worker(engine, polling).wakeup.listening is False
    assert Worker(engine, polling).wakeup.idle_seconds == settings.poll_seconds
    listening = Worker(engine, settings).wakeup
    assert listening.listening is (engine.dialect.name == "postgresql")


def test_intake_notifies_listeners_when_it_commits(engine: Engine) -> None:
    """What the workers listen for: intake's transaction sends it (on PostgreSQL; SQLite has none)."""
    if engine.dialect.name != "postgresql":
        _post(engine, 1)  # SQLite: nothing to notify, and intake does not try
        return
    import psycopg

    conninfo = engine.url.set(drivername="postgresql")
    with psycopg.connect(conninfo.render_as_string(hide_password=False), autocommit=True) as listener:
        listener.execute(f"LISTEN {OUTBOX_CHANNEL}")
        _post(engine, 1)
        assert [n.channel for n in listener.notifies(timeout=5, stop_after=1)] == [OUTBOX_CHANNEL]
