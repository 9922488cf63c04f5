"""The worker process: delivery rounds and the periodic tasks, until stopped.

Each round claims and delivers what is due (`gateway.worker.delivery`), then runs the periodic tasks whose
own interval has passed (`gateway.worker.tasks`). A round that found nothing waits (`gateway.worker.wakeup`):
on PostgreSQL until intake's NOTIFY, the next periodic task, or `worker_listen_poll_seconds`, whichever
comes first; on SQLite (or with `worker_wakeup=poll`) `poll_seconds`. A dry run is one read-only pass
instead (`gateway.worker.dry_run`).
A database that does not answer does not end the worker: the round is tried again after a backoff
(`gateway.worker.outage`), for as long as the outage lasts.
SIGTERM/SIGINT stop the loop after the current delivery; claimed deliveries not yet started are handed
back to the queue.
With `worker_overlap_io` (the default) a grouped batch's disk flushes and outcome transaction run on a
finisher thread beside the next round (`DeliveryLoop.run_round`); the loop joins it before it returns.
The validator's schemas and stylesheets are compiled when the worker starts (`warm_validator`), not
inside the first EHF delivery (a couple of seconds, under that delivery's lease).
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any

from sqlalchemy import Engine

from gateway.services import install_status_hooks
from gateway.services.validation import validator_from_settings
from gateway.settings import Settings
from gateway.worker.context import WorkerContext, WorkerStats, log
from gateway.worker.delivery import DeliveryLoop
from gateway.worker.dry_run import DryRun
from gateway.worker.outage import is_outage
from gateway.worker.periodic import PeriodicScheduler, PeriodicTask
from gateway.worker.tasks import PERIODIC_TASKS
from gateway.worker.wakeup import Wakeup


def stop_on_signals(stop: Callable[[], None], who: str) -> None:
    """SIGTERM and SIGINT call `stop` (the process ends its current work and exits 0)."""

    def handler(signum: int, _frame: FrameType | None) -> None:
        log.info("%s: signal %s, finishing the current delivery", who, signum)
        stop()

    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def warm_validator(settings: Settings) -> None:
    """Compile the UBL XSDs and the billing stylesheets of `settings.rules_dir` now (once per process).

    A rules directory that cannot be read is not the start's problem: it is logged, and the first delivery
    that needs validation meets it as it always did."""
    try:
        validator_from_settings(settings).warm_up()
    except Exception as error:
        log.warning("worker.validator_not_warmed", rules_dir=str(settings.rules_dir), reason=repr(error))


class Worker:
    """Delivers queued deliveries through their channels; several may run against one outbox."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        *,
        worker_id: str | None = None,
        channels: list[str] | None = None,
        periodic_tasks: Sequence[PeriodicTask] = PERIODIC_TASKS,
        stop_requested: threading.Event | None = None,
    ) -> None:
        install_status_hooks()  # already done by importing the services; said here because it matters
        self.context = WorkerContext(
            engine, settings, worker_id=worker_id, channels=channels, stop_requested=stop_requested
        )
        self.deliveries = DeliveryLoop(self.context)
        self.periodic = PeriodicScheduler(self.context, periodic_tasks)
        self.wakeup = Wakeup(engine, settings, self.context.stop_requested, f"worker {self.worker_id}")
        self.context.on_stop.append(self.wakeup.interrupt)

    @property
    def worker_id(self) -> str:
        return self.context.worker_id

    @property
    def engine(self) -> Engine:
        return self.context.engine

    @property
    def settings(self) -> Settings:
        return self.context.settings

    @property
    def stats(self) -> WorkerStats:
        return self.context.stats

    def stop(self, *_: Any) -> None:
        self.context.request_stop()

    def install_signal_handlers(self) -> None:
        stop_on_signals(self.stop, f"worker {self.worker_id}")

    def run(self, *, once: bool = False, idle_exit: bool = False) -> WorkerStats:
        """Work until stopped; `once` drains what is due now and returns (`idle_exit` likewise).

        With `settings.dry_run` it is one read-only pass (`gateway.worker.dry_run`): what is due now is
        written to the dry-run folder, and the outbox is left exactly as it was."""
        warm_validator(self.settings)
        if self.settings.dry_run:
            try:
                DryRun(self.context, self.deliveries).run()
            finally:
                self.wakeup.close()
                self.context.close_channels()
            return self.stats
        try:
            self._loop(draining=once or idle_exit)
        finally:
            self.deliveries.close()  # the batch still settling, if the loop ended on an error
            self.wakeup.close()
            self.context.close_channels()
            self.context.note_outages()
        return self.stats

    def _loop(self, *, draining: bool) -> None:
        """Rounds until stopped (or, draining, until a round finds nothing): each looks for due deliveries
        when told to (a notification, work found last round, an outage just over) or when its idle interval
        has passed, then runs the periodic tasks that are due."""
        context, wakeup = self.context, self.wakeup
        stop = context.stop_requested
        wakeup.start()
        look, next_look = True, 0.0
        while not stop.is_set():
            round_started = time.monotonic()
            try:
                handled = 0
                if look or draining or not wakeup.listening or time.monotonic() >= next_look:
                    handled += self.deliveries.run_round(overlap=self.settings.worker_overlap_io)
                    next_look = time.monotonic() + wakeup.idle_seconds
                handled += self.periodic.run_due(draining=draining)
            except Exception as error:
                if not is_outage(error):
                    raise
                stop.wait(context.outage.failed(error))
                look = True
                continue
            context.outage.recovered(round_started)
            context.note_outages()
            if handled:
                look = True
                continue
            if draining:
                break
            if wakeup.listening:
                timeout = min(next_look - time.monotonic(), self.periodic.seconds_until_due())
            else:
                timeout = self.settings.poll_seconds
            look = wakeup.wait(timeout)
        self._join_finisher_at_stop()

    def _join_finisher_at_stop(self) -> None:
        """The loop is over: the grouped batch still settling beside it is waited for and counted. An
        outage that outlasted the stop request leaves that batch's deliveries under their leases (taken
        over when they expire, as after any stop during an outage); any other error is raised."""
        try:
            self.deliveries.join_finisher()
        except Exception as error:
            if not is_outage(error):
                raise
            log.warning(
                "worker %s: stopped during an outage; the last batch's deliveries are taken over when "
                "their leases expire",
                self.worker_id,
            )
