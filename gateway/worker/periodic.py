"""Periodic tasks and the one scheduler that runs them between delivery rounds.

A periodic task is declared once, with the setting that holds its interval (`PeriodicTask`); the worker
runs every registered task (`gateway.worker.tasks.PERIODIC_TASKS`) when its own interval has passed. A
worker draining the queue (`run(once=True)`, `idle_exit`) runs the tasks that take part in a drain every
round, due or not, and goes on while any of them (or the delivery loop) still finds work.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from db.models import utcnow
from gateway.settings import Settings
from gateway.worker.context import WorkerContext


@dataclass(frozen=True)
class PeriodicTask:
    """Something a worker does every `interval_setting` seconds besides delivering."""

    name: str
    #: The `Settings` field holding the interval in seconds (read each time, so a change shows at once).
    interval_setting: str
    #: Does the work due at `now`; returns how much it handled (files, batches, events…).
    run: Callable[[WorkerContext, dt.datetime], int]
    #: The first run waits one interval (a worker started for one round does not run it).
    waits_first_interval: bool = False
    #: A draining worker runs it every round, due or not.
    runs_when_draining: bool = True
    #: What it handled keeps a draining worker going (else it is a side effect of the round).
    counts_as_work: bool = True

    def __post_init__(self) -> None:
        if self.interval_setting not in Settings.model_fields:
            raise ValueError(f"periodic task {self.name}: no setting {self.interval_setting!r}")

    def interval(self, settings: Settings) -> dt.timedelta:
        return dt.timedelta(seconds=float(getattr(settings, self.interval_setting)))


class PeriodicScheduler:
    """When each of one worker's periodic tasks is next due, and running the ones that are."""

    def __init__(self, context: WorkerContext, tasks: Sequence[PeriodicTask]) -> None:
        names = [task.name for task in tasks]
        if len(set(names)) != len(names):
            raise ValueError(f"periodic task names repeat: {names}")
        self.context = context
        self.tasks = tuple(tasks)
        started = utcnow()
        self._next_due = {
            task.name: started + task.interval(context.settings) if task.waits_first_interval else started
            for task in self.tasks
        }

    def next_due(self, name: str) -> dt.datetime:
        return self._next_due[name]

    def make_due(self, name: str, at: dt.datetime | None = None) -> None:
        """Run `name` at the next round that starts at or after `at` (now by default)."""
        if name not in self._next_due:
            raise KeyError(f"no periodic task {name!r}; there are {sorted(self._next_due)}")
        self._next_due[name] = at or utcnow()

    def seconds_until_due(self) -> float:
        """How long until the next task is due (0 when one is due now; an idle worker sleeps until then)."""
        if not self.tasks:
            return float("inf")
        return max(0.0, (min(self._next_due.values()) - utcnow()).total_seconds())

    def run_due(self, *, draining: bool = False) -> int:
        """Run every task whose interval has passed (with `draining`, every task that takes part in a
        drain); how much the tasks that count as work handled."""
        handled = 0
        for task in self.tasks:
            now = utcnow()
            if not (draining and task.runs_when_draining) and now < self._next_due[task.name]:
                continue
            self._next_due[task.name] = now + task.interval(self.context.settings)
            done = task.run(self.context, now)
            if task.counts_as_work:
                handled += done
        return handled
