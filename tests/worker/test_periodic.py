"""The worker's periodic tasks: one registry, one scheduler, each task on its own interval."""

from __future__ import annotations

import datetime as dt
from collections import Counter

import pytest
from sqlalchemy import Engine

from db.models import utcnow
from gateway.settings import Settings
from gateway.worker import PERIODIC_TASKS, PeriodicTask, Worker, WorkerContext


def test_the_registry_gives_each_task_its_own_interval_setting() -> None:
    assert {task.name: task.interval_setting for task in PERIODIC_TASKS} == {
        "batches": "batch_poll_seconds",
        "print-returns": "return_poll_seconds",
        "digipost-events": "digipost_events_poll_seconds",
        "ack-deadlines": "ack_check_seconds",
        "remittances": "remittance_poll_seconds",
        "webhooks": "webhook_poll_seconds",
        "followup": "followup_interval_seconds",
        "console-history": "console_cleanup_seconds",
    }


def test_a_task_names_a_setting_that_exists() -> None:
    with pytest.raises(ValueError, match="no setting 'nap_seconds'"):
        PeriodicTask("nap", "nap_seconds", lambda _context, _now: 0)


class Recorder:
    """Periodic tasks that count their runs and report `work` as handled."""

    def __init__(self) -> None:
        self.runs: Counter[str] = Counter()
        self.work = 0

    def task(self, name: str, setting: str, **flags: bool) -> PeriodicTask:
        def run(_context: WorkerContext, _now: dt.datetime) -> int:
            self.runs[name] += 1
            return self.work

        return PeriodicTask(name, setting, run, **flags)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


def _worker(engine: Engine, settings: Settings, tasks: list[PeriodicTask]) -> Worker:
    return Worker(engine, settings, worker_id="w", periodic_tasks=tasks)


def test_each_task_runs_on_its_own_interval(engine: Engine, settings: Settings, recorder: Recorder) -> None:
    settings.batch_poll_seconds = 3600
    settings.ack_check_seconds = 3600
    settings.return_poll_seconds = 3600
    worker = _worker(
        engine,
        settings,
        [
            recorder.task("batches", "batch_poll_seconds"),
            recorder.task("ack-deadlines", "ack_check_seconds", counts_as_work=False),
            recorder.task("print-returns", "return_poll_seconds", waits_first_interval=True),
        ],
    )
    scheduler = worker.periodic
    scheduler.run_due()
    assert recorder.runs == {"batches": 1, "ack-deadlines": 1}  # print returns wait one interval
    scheduler.run_due()
    assert recorder.runs == {"batches": 1, "ack-deadlines": 1}  # nothing due again for an hour
    # the ack check and the print-return poll come due on their own, not when the batch timer fires
    scheduler.make_due("ack-deadlines")
    scheduler.run_due()
    assert recorder.runs == {"batches": 1, "ack-deadlines": 2}
    scheduler.make_due("print-returns")
    scheduler.run_due()
    assert recorder.runs == {"batches": 1, "ack-deadlines": 2, "print-returns": 1}
    assert scheduler.next_due("print-returns") > utcnow() + dt.timedelta(seconds=3500)
    with pytest.raises(KeyError, match="no periodic task 'nap'"):
        scheduler.make_due("nap")


def test_a_changed_interval_applies_from_the_next_run(
    engine: Engine, settings: Settings, recorder: Recorder
) -> None:
    settings.webhook_poll_seconds = 3600
    scheduler = _worker(engine, settings, [recorder.task("webhooks", "webhook_poll_seconds")]).periodic
    scheduler.run_due()
    settings.webhook_poll_seconds = 1
    scheduler.make_due("webhooks")
    before = utcnow()
    scheduler.run_due()
    assert scheduler.next_due("webhooks") <= before + dt.timedelta(seconds=2)
    assert recorder.runs["webhooks"] == 2


def test_draining_runs_the_drain_tasks_every_round_and_only_work_keeps_it_going(
    engine: Engine, settings: Settings, recorder: Recorder
) -> None:
    settings.batch_poll_seconds = settings.ack_check_seconds = settings.return_poll_seconds = 3600
    recorder.work = 2
    worker = _worker(
        engine,
        settings,
        [
            recorder.task("batches", "batch_poll_seconds"),
            recorder.task("ack-deadlines", "ack_check_seconds", counts_as_work=False),
            recorder.task(
                "print-returns",
                "return_poll_seconds",
                waits_first_interval=True,
                runs_when_draining=False,
                counts_as_work=False,
            ),
        ],
    )
    assert worker.periodic.run_due(draining=True) == 2  # only the batches' work counts
    assert worker.periodic.run_due(draining=True) == 2
    assert recorder.runs == {"batches": 2, "ack-deadlines": 2}  # not the print returns: not due
    recorder.work = 0
    stats = worker.run(once=True)  # one more round finds nothing and the drain ends
    assert recorder.runs == {"batches": 3, "ack-deadlines": 3}
    assert stats.claimed == 0


def test_task_names_are_unique(engine: Engine, settings: Settings, recorder: Recorder) -> None:
    with pytest.raises(ValueError, match="repeat"):
        _worker(
            engine,
            settings,
            [recorder.task("x", "batch_poll_seconds"), recorder.task("x", "ack_check_seconds")],
        )
