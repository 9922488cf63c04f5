"""A database that does not answer: the worker waits with a capped backoff, says so once, and goes on."""

from __future__ import annotations

import logging
import threading
import time

import pytest
from sqlalchemy.exc import OperationalError, ProgrammingError

from db.engine import make_engine
from gateway.settings import Settings
from gateway.worker import Worker
from gateway.worker.outage import DatabaseOutage, is_outage

#: Nothing listens on port 1: every connection is refused at once, as during a restart.
UNREACHABLE = "postgresql+psycopg://gateway:s3cret-pw@127.0.0.1:1/outbox"


def _refused() -> OperationalError:
    return OperationalError("SELECT 1", {}, Exception("connection refused\nmore detail"))


def test_backoff_doubles_up_to_its_cap_and_the_outage_is_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    outage = DatabaseOutage("w", initial_seconds=0.5, max_seconds=4.0, log=logging.getLogger("test.outage"))
    with caplog.at_level(logging.INFO, logger="test.outage"):
        delays = [outage.failed(_refused()) for _ in range(7)]
        assert outage.ongoing
        outage.recovered()
        outage.recovered()  # no outage going on: nothing more to say
    # jittered down by at most a fifth: 0.5, 1, 2, 4, 4, 4, 4
    for delay, full in zip(delays, [0.5, 1, 2, 4, 4, 4, 4], strict=True):
        assert 0.8 * full <= delay <= full
    messages = [r.getMessage() for r in caplog.records if r.levelno >= logging.INFO]
    assert len(messages) == 2, messages
    assert messages[0] == (
        "w: the database does not answer (connection refused); waiting and trying again (backoff up to 4 s)"
    )
    assert messages[1].startswith("w: the database answers again after ") and "(7 tries)" in messages[1]
    assert (outage.outages, outage.ongoing) == (1, False)
    # the next outage starts again from the first delay
    assert outage.failed(_refused()) <= 0.5


def test_work_begun_before_the_outage_was_noticed_does_not_end_it() -> None:
    """The worker's round may end well just after its batch finisher found the database gone: that round
    began before the failure and proves nothing, so the outage goes on (one outage, not two)."""
    outage = DatabaseOutage("w", initial_seconds=0.01, max_seconds=0.01)
    round_started = time.monotonic()
    outage.failed(_refused())  # the finisher, meanwhile
    outage.recovered(round_started)
    assert outage.ongoing and outage.outages == 0
    outage.failed(_refused())
    outage.recovered(time.monotonic())  # a try begun during the outage answered
    assert (outage.ongoing, outage.outages) == (False, 1)


def test_what_counts_as_an_outage() -> None:
    assert is_outage(_refused())
    assert not is_outage(ProgrammingError("SELECT nonsense", {}, Exception("syntax error")))
    assert not is_outage(ValueError("not a database error"))


def test_a_worker_keeps_trying_a_database_that_does_not_answer_until_stopped(
    tmp_path: pytest.TempPathFactory, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(
        database_url=UNREACHABLE,
        data_dir=tmp_path,  # type: ignore[arg-type]
        worker_db_backoff_initial_seconds=0.02,
        worker_db_backoff_max_seconds=0.1,
        _env_file=None,  # type: ignore[call-arg]
    )
    engine = make_engine(settings.database)
    worker = Worker(engine, settings, worker_id="patient")
    thread = threading.Thread(target=worker.run, daemon=True)
    with caplog.at_level(logging.DEBUG, logger="gateway.worker"):
        thread.start()
        deadline = time.monotonic() + 30
        while worker.context.outage._tries < 8:  # the cap reached, several times over
            assert thread.is_alive(), "the worker ended on a database that does not answer"
            assert time.monotonic() < deadline
            time.sleep(0.02)
        assert thread.is_alive()
        worker.stop()
        thread.join(timeout=10)
    engine.dispose()
    assert not thread.is_alive(), "a stop during the outage is obeyed"
    warnings = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warnings) == 1 and "patient: the database does not answer" in warnings[0], warnings
    assert all("s3cret-pw" not in r.getMessage() for r in caplog.records)
    assert worker.stats.claimed == 0 and worker.stats.outages == 0  # never answered: no outage ended
