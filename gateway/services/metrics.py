"""What the gateway counts for Prometheus: the process's counters and histograms, and gauges read from the
outbox.

Two kinds of figures, because they live in different places:

- Counters and histograms of what *this process* did (invoices accepted at intake, deliveries tried and
  their outcomes, lease takeovers, matching runs, HTTP requests, latencies). They are module-level
  instruments, incremented by the services and the worker where the thing happens; every process (API
  replica, worker) exposes its own and Prometheus sums them.
- Gauges of the *outbox's state* (deliveries by status and channel, open deviations by cause, the webhook
  backlog, the oldest queued delivery's age), the same whoever asks: `DatabaseCollector` counts them in
  the database when scraped, cached `metrics_cache_seconds` so a scraper every few seconds, or several,
  cost one set of queries. The API's `/metrics` exposes both; a worker's own port only its instruments.

Nothing here is registered in prometheus_client's global registry: `registry()` builds a fresh
`CollectorRegistry` per app or worker, so two apps in one process (the tests) never collide. Labels are
bounded sets (status, channel, cause, outcome, route template): never a tenant, invoice or delivery id.
The latency histograms are observed from the outbox's status-change hook (`on_status_change`), after the
change's transaction commits, so a rolled-back change is never counted.
"""

from __future__ import annotations

import datetime as dt
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import Engine, event, func, select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import Delivery, DeliveryEvent, Deviation, InvoiceRecord, WebhookEvent, utcnow
from outbox.hooks import StatusChange
from outbox.states import DeliveryStatus

__all__ = [
    "DatabaseCollector",
    "on_status_change",
    "on_status_changes",
    "record_delivery_attempt",
    "record_delivery_outcome",
    "record_http_request",
    "record_intake",
    "record_lease_takeover",
    "record_matching_run",
    "registry",
]

S = DeliveryStatus

# No `*_created` sample beside every counter and histogram: Prometheus does not need them, and they double
# the lines a scrape returns (a process-wide switch of prometheus_client; the gateway owns its processes).
disable_created_metrics()  # type: ignore[no-untyped-call]

#: Seconds from intake to hand-over: a direct channel takes seconds, a print batch waits for its cut-off.
HANDOVER_BUCKETS = (0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 3 * 86400)
#: Seconds from hand-over to the receiver's confirmation (an MDN, a print receipt, a PEPPOL response).
CONFIRMATION_BUCKETS = (1, 10, 60, 300, 900, 3600, 4 * 3600, 12 * 3600, 86400, 3 * 86400, 7 * 86400)
#: An API request: milliseconds to a few seconds (a large bulk intake, a remittance upload).
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30)

INVOICES_ACCEPTED = Counter(
    "gateway_invoices_accepted",
    "Invoices and credit notes accepted at intake (stored and queued for delivery; repeats not counted).",
    registry=None,
)
INVOICES_REFUSED = Counter(
    "gateway_invoices_refused",
    "Invoices refused at intake, by outcome (rejected: invalid; conflict: the number is taken).",
    ["outcome"],
    registry=None,
)
DELIVERY_ATTEMPTS = Counter(
    "gateway_delivery_attempts",
    "Deliveries handed to a channel by a worker (rendered, validated, then sent).",
    ["channel"],
    registry=None,
)
DELIVERY_OUTCOMES = Counter(
    "gateway_delivery_outcomes",
    "What a worker recorded for a claimed delivery: delivered, sent, batched, queued (a retry), failed, "
    "deviation (including render and validation failures).",
    ["channel", "outcome"],
    registry=None,
)
INTAKE_TO_HANDOVER = Histogram(
    "gateway_delivery_intake_to_sent_seconds",
    "Seconds from an invoice's intake to its first attempt's hand-over to the channel (sent or delivered).",
    ["channel"],
    buckets=HANDOVER_BUCKETS,
    registry=None,
)
SENT_TO_DELIVERED = Histogram(
    "gateway_delivery_sent_to_delivered_seconds",
    "Seconds from a delivery's hand-over (sent) to its confirmation (delivered).",
    ["channel"],
    buckets=CONFIRMATION_BUCKETS,
    registry=None,
)
LEASE_TAKEOVERS = Counter(
    "gateway_lease_takeovers",
    "Deliveries claimed from a worker whose lease had expired (it crashed or stalled mid-delivery).",
    registry=None,
)
MATCHING_RUNS = Counter(
    "gateway_matching_runs",
    "Payment matching runs finished (one per tenant with new payments).",
    registry=None,
)
MATCHING_PAYMENTS = Counter(
    "gateway_matching_payments",
    "Payments decided by matching runs, by decision (applied, needs_approval, exception…).",
    ["decision"],
    registry=None,
)
HTTP_REQUESTS = Counter(
    "gateway_http_requests",
    "HTTP requests answered, by method, route template (never the raw path) and status code.",
    ["method", "route", "status"],
    registry=None,
)
HTTP_DURATION = Histogram(
    "gateway_http_request_duration_seconds",
    "Seconds from a request's arrival to the end of its answer, by method and route template.",
    ["method", "route"],
    buckets=HTTP_BUCKETS,
    registry=None,
)

#: Every instrument of this process, in the order they are exposed.
INSTRUMENTS: tuple[Collector, ...] = (
    INVOICES_ACCEPTED,
    INVOICES_REFUSED,
    DELIVERY_ATTEMPTS,
    DELIVERY_OUTCOMES,
    INTAKE_TO_HANDOVER,
    SENT_TO_DELIVERED,
    LEASE_TAKEOVERS,
    MATCHING_RUNS,
    MATCHING_PAYMENTS,
    HTTP_REQUESTS,
    HTTP_DURATION,
)


def registry(engine: Engine | None = None, *, cache_seconds: float = 10.0) -> CollectorRegistry:
    """A fresh registry of this process's instruments, and the outbox's gauges when `engine` is given."""
    built = CollectorRegistry(auto_describe=False)
    for instrument in INSTRUMENTS:
        built.register(instrument)
    if engine is not None:
        built.register(DatabaseCollector(engine, cache_seconds=cache_seconds))
    return built


# --- what the services and the worker report --------------------------------------------------------------


def record_intake(outcomes: Iterable[str]) -> None:
    """One intake call's outcomes (`created`, `duplicate`, `conflict`, `rejected`), counted after it
    committed."""
    for outcome in outcomes:
        if outcome == "created":
            INVOICES_ACCEPTED.inc()
        elif outcome in ("rejected", "conflict"):
            INVOICES_REFUSED.labels(outcome=outcome).inc()


def record_delivery_attempt(channel: str) -> None:
    DELIVERY_ATTEMPTS.labels(channel=channel).inc()


def record_delivery_outcome(channel: str, outcome: str) -> None:
    DELIVERY_OUTCOMES.labels(channel=channel, outcome=outcome).inc()


def record_lease_takeover() -> None:
    LEASE_TAKEOVERS.inc()


def record_matching_run(decisions: dict[str, int]) -> None:
    """One finished matching run and how many payments it decided each way."""
    MATCHING_RUNS.inc()
    for decision, count in decisions.items():
        MATCHING_PAYMENTS.labels(decision=decision).inc(count)


def record_http_request(method: str, route: str, status: int, seconds: float) -> None:
    HTTP_REQUESTS.labels(method=method, route=route, status=str(status)).inc()
    HTTP_DURATION.labels(method=method, route=route).observe(seconds)


# --- latencies, from the status-change hook ---------------------------------------------------------------

_PENDING = "gateway_metrics_pending"
_HANDED_OVER = {S.SENT.value, S.DELIVERED.value}
_WORKER_STEPS = {S.SENDING.value, S.BATCHED.value}


def on_status_change(session: Session, change: StatusChange) -> None:
    """`on_status_changes` of one change."""
    on_status_changes(session, [change])


def on_status_changes(session: Session, changes: Sequence[StatusChange]) -> None:
    """Note the latencies these changes complete (in order), to be observed when their transaction commits.

    Intake → hand-over is measured for a first attempt leaving `sending` (or its batch) for `sent` or
    `delivered` (a resend's attempt would measure the resend, not the intake): the intake times of all of
    them read with one statement (a worker's outcome transaction hands over a claim batch at once).
    Sent → delivered when a confirmation moves a sent delivery on: one read each."""
    handed_over = sorted({change.delivery_id for change in changes if _first_hand_over(change)})
    intake: dict[str, tuple[str, dt.datetime]] = {}
    if handed_over:
        rows = session.execute(
            select(col(Delivery.id), col(Delivery.channel), col(InvoiceRecord.created_at))
            .join(InvoiceRecord, col(InvoiceRecord.id) == col(Delivery.invoice_id))
            .where(col(Delivery.id).in_(handed_over))
        ).all()
        intake = {row[0]: (row[1], row[2]) for row in rows}
    for change in changes:
        found = intake.get(change.delivery_id) if _first_hand_over(change) else None
        if found is not None:
            _pending(session).append((INTAKE_TO_HANDOVER, found[0], _seconds(found[1], change.at)))
        if _confirmed(change):
            _observe_confirmation(session, change)


def _first_hand_over(change: StatusChange) -> bool:
    """A first attempt leaving `sending` (or its batch) for `sent` or `delivered`."""
    return change.to_status in _HANDED_OVER and change.from_status in _WORKER_STEPS and change.attempt == 1


def _confirmed(change: StatusChange) -> bool:
    """A confirmation moving a sent delivery on to `delivered`."""
    return change.from_status == S.SENT.value and change.to_status == S.DELIVERED.value


def _observe_confirmation(session: Session, change: StatusChange) -> None:
    """Sent → delivered: from the attempt's last `sent` event to this change."""
    sent_at = (
        select(func.max(col(DeliveryEvent.at)))
        .where(
            col(DeliveryEvent.delivery_id) == change.delivery_id,
            col(DeliveryEvent.attempt) == change.attempt,
            col(DeliveryEvent.to_status) == S.SENT.value,
        )
        .scalar_subquery()
    )
    found = session.execute(
        select(col(Delivery.channel), sent_at).where(col(Delivery.id) == change.delivery_id)
    ).first()
    if found is not None and found[1] is not None:
        _pending(session).append((SENT_TO_DELIVERED, found[0], _seconds(found[1], change.at)))


def _seconds(start: dt.datetime, end: dt.datetime) -> float:
    if start.tzinfo is None:
        start = start.replace(tzinfo=dt.UTC)
    if end.tzinfo is None:
        end = end.replace(tzinfo=dt.UTC)
    return max(0.0, (end - start).total_seconds())


def _pending(session: Session) -> list[tuple[Histogram, str, float]]:
    pending: list[tuple[Histogram, str, float]] = session.info.setdefault(_PENDING, [])
    return pending


@event.listens_for(Session, "after_commit")
def _observe_committed(session: Session) -> None:
    for histogram, channel, seconds in session.info.pop(_PENDING, ()):
        histogram.labels(channel=channel).observe(seconds)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)


# --- the outbox's state -----------------------------------------------------------------------------------


class DatabaseCollector(Collector):
    """Gauges counted in the outbox when scraped, kept `cache_seconds` (one set of queries per period,
    however many scrapers). A database that does not answer gives `gateway_database_up 0` and no gauges
    (an answer, not a scrape error: the alert is on `gateway_database_up`)."""

    def __init__(self, engine: Engine, *, cache_seconds: float = 10.0) -> None:
        self.engine = engine
        self.cache_seconds = cache_seconds
        self._lock = threading.Lock()
        self._cached: list[Metric] = []
        self._cached_at = float("-inf")

    def describe(self) -> Iterable[Metric]:
        return self._families(up=1)

    def collect(self) -> Iterable[Metric]:
        with self._lock:
            if time.monotonic() - self._cached_at >= self.cache_seconds:
                self._cached = list(self._read())
                self._cached_at = time.monotonic()
            return list(self._cached)

    def _read(self) -> Iterator[Metric]:
        try:
            with Session(self.engine) as session:
                figures = _outbox_figures(session, utcnow())
        except SQLAlchemyError:
            yield from self._families(up=0)
            return
        yield from self._families(up=1, **figures)

    @staticmethod
    def _families(
        *,
        up: int,
        deliveries: Iterable[tuple[str, str, int]] = (),
        deviations: Iterable[tuple[str, int]] = (),
        webhook_backlog: Iterable[tuple[str, int]] = (),
        oldest_queued: float | None = None,
        oldest_due: float | None = None,
    ) -> list[Metric]:
        database = GaugeMetricFamily("gateway_database_up", "1 when the outbox answered the last scrape.")
        database.add_metric([], up)
        if not up:
            return [database]
        by_status = GaugeMetricFamily(
            "gateway_deliveries",
            "Deliveries in the outbox by status and channel.",
            labels=["status", "channel"],
        )
        for status, channel, count in deliveries:
            by_status.add_metric([status, channel], count)
        open_deviations = GaugeMetricFamily(
            "gateway_deviations_open", "Open deviations (someone has to act) by cause.", labels=["cause"]
        )
        for cause, count in deviations:
            open_deviations.add_metric([cause], count)
        backlog = GaugeMetricFamily(
            "gateway_webhook_events_backlog",
            "Webhook events not yet delivered (pending or being sent), by status.",
            labels=["status"],
        )
        for status, count in webhook_backlog:
            backlog.add_metric([status], count)
        oldest = GaugeMetricFamily(
            "gateway_oldest_queued_delivery_age_seconds",
            "Age of the oldest delivery in `queued` (waiting or backing off); 0 when none is queued.",
        )
        oldest.add_metric([], oldest_queued or 0.0)
        lag = GaugeMetricFamily(
            "gateway_queue_lag_seconds",
            "How long the most overdue queued delivery has been due and not claimed; 0 when none is due.",
        )
        lag.add_metric([], oldest_due or 0.0)
        return [database, by_status, open_deviations, backlog, oldest, lag]


def _outbox_figures(session: Session, now: dt.datetime) -> dict[str, Any]:
    """The gauges' figures: five grouped counts or minimums, each one query."""
    status, channel = col(Delivery.status), col(Delivery.channel)
    deliveries = session.execute(
        select(status, channel, func.count()).group_by(status, channel).order_by(status, channel)
    ).all()
    cause = col(Deviation.cause)
    deviations = session.execute(
        select(cause, func.count()).where(col(Deviation.closed_at).is_(None)).group_by(cause).order_by(cause)
    ).all()
    hook_status = col(WebhookEvent.status)
    backlog = session.execute(
        select(hook_status, func.count())
        .where(hook_status.in_(("pending", "sending")))
        .group_by(hook_status)
        .order_by(hook_status)
    ).all()
    queued = status == S.QUEUED.value
    oldest_created = session.execute(select(func.min(col(Delivery.created_at))).where(queued)).scalar()
    oldest_due = session.execute(
        select(func.min(col(Delivery.next_attempt_at))).where(queued, col(Delivery.next_attempt_at) <= now)
    ).scalar()
    return {
        "deliveries": [(str(s), str(c), int(n)) for s, c, n in deliveries],
        "deviations": [(str(c), int(n)) for c, n in deviations],
        "webhook_backlog": [(str(s), int(n)) for s, n in backlog],
        "oldest_queued": _seconds(oldest_created, now) if oldest_created else None,
        "oldest_due": _seconds(oldest_due, now) if oldest_due else None,
    }


# --- a port of its own ------------------------------------------------------------------------------------


class MetricsServer:
    """A process's metrics on a port of its own (a worker has no HTTP server; an API may keep /metrics off
    its public port): prometheus_client's threaded server, stopped with `close`."""

    def __init__(self, port: int, host: str, served: CollectorRegistry) -> None:
        from prometheus_client import start_http_server

        self._server, self._thread = start_http_server(port, addr=host, registry=served)

    @property
    def port(self) -> int:
        """The port it listens on (the one given, or the one the system chose for port 0)."""
        return int(self._server.server_port)

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
