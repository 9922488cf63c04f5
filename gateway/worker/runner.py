"""The worker process: delivery rounds and the periodic tasks, until stopped.

Each round claims and delivers what is due (`gateway.worker.delivery`), then runs the periodic tasks whose
own interval has passed (`gateway.worker.tasks`); a round that found nothing waits `poll_seconds`. A dry
run is one read-only pass instead (`gateway.worker.dry_run`).
SIGTERM/SIGINT stop the loop after the current delivery; claimed deliveries not yet started are handed
back to the queue.
"""

from __future__ import annotations

import signal
from collections.abc import Sequence
from types import FrameType
from typing import Any

from sqlalchemy import Engine

from gateway.services import install_status_hooks
from gateway.settings import Settings
from gateway.worker.context import WorkerContext, WorkerStats, log
from gateway.worker.delivery import DeliveryLoop
from gateway.worker.dry_run import DryRun
from gateway.worker.periodic import PeriodicScheduler, PeriodicTask
from gateway.worker.tasks import PERIODIC_TASKS


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
    ) -> None:
        install_status_hooks()  # already done by importing the services; said here because it matters
        self.context = WorkerContext(engine, settings, worker_id=worker_id, channels=channels)
        self.deliveries = DeliveryLoop(self.context)
        self.periodic = PeriodicScheduler(self.context, periodic_tasks)

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
        self.context.stop_requested.set()

    def install_signal_handlers(self) -> None:
        def handler(signum: int, _frame: FrameType | None) -> None:
            log.info("worker %s: signal %s, finishing the current delivery", self.worker_id, signum)
            self.stop()

        signal.signal(signal.SIGTERM, handler)
        signal.signal(signal.SIGINT, handler)

    def run(self, *, once: bool = False, idle_exit: bool = False) -> WorkerStats:
        """Work until stopped; `once` drains what is due now and returns (`idle_exit` likewise).

        With `settings.dry_run` it is one read-only pass (`gateway.worker.dry_run`): what is due now is
        written to the dry-run folder, and the outbox is left exactly as it was."""
        if self.settings.dry_run:
            try:
                DryRun(self.context, self.deliveries).run()
            finally:
                self.context.close_channels()
            return self.stats
        draining = once or idle_exit
        stop = self.context.stop_requested
        try:
            while not stop.is_set():
                handled = self.deliveries.run_round() + self.periodic.run_due(draining=draining)
                if handled == 0:
                    if draining:
                        break
                    stop.wait(self.settings.poll_seconds)
        finally:
            self.context.close_channels()
        return self.stats
