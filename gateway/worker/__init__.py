"""The delivery worker: a delivery loop (claim → render → validate → send → record) and a registry of
periodic tasks, each with its own interval, run by one scheduler between delivery rounds.

- `runner`: `Worker`, the process's loop, stop and signals;
- `delivery`: the delivery loop (`DeliveryLoop.outbound_delivery` builds what a channel is handed);
- `periodic`: `PeriodicTask` and the scheduler; `tasks`: the tasks and their registry `PERIODIC_TASKS`;
- `batches`: handing over print batches; `documents`: extra documents and documents kept as sent;
  `fallback`: the receiver's next channel; `context`: what all of them share;
- `dry_run`: `gateway worker --dry-run`, one read-only pass writing what is due to the dry-run folder.
"""

from __future__ import annotations

from gateway.worker.context import WorkerContext, WorkerStats
from gateway.worker.delivery import DeliveryLoop, RenderedDelivery, validation_summary
from gateway.worker.documents import (
    APPENDS_PAGES,
    EMBEDS_ATTACHMENTS,
    ExtraDocument,
    ExtraDocuments,
    load_extra_documents,
    load_payloads,
    record_stored_document,
    with_pod_attachments,
)
from gateway.worker.dry_run import DryRun
from gateway.worker.periodic import PeriodicScheduler, PeriodicTask
from gateway.worker.runner import Worker
from gateway.worker.tasks import PERIODIC_TASKS

__all__ = [
    "APPENDS_PAGES",
    "EMBEDS_ATTACHMENTS",
    "PERIODIC_TASKS",
    "DeliveryLoop",
    "DryRun",
    "ExtraDocument",
    "ExtraDocuments",
    "PeriodicScheduler",
    "PeriodicTask",
    "RenderedDelivery",
    "Worker",
    "WorkerContext",
    "WorkerStats",
    "load_extra_documents",
    "load_payloads",
    "record_stored_document",
    "validation_summary",
    "with_pod_attachments",
]
