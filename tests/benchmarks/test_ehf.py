"""benchmarks/ehf.py's clock: the measured deliveries run from their own claim to their last `delivered`.

A worker woken by intake's NOTIFY claims within milliseconds of the commit, before the intake child can note
the time; a window of "events after the noted commit" left the claim out and started at the next worker
event (on the grouped folder path: the first batch's outcomes, a whole batch later).
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine

from benchmarks.ehf import MEASURED_PREFIX, WORKER_PREFIX, event_window
from db.engine import session_scope
from gateway.samples import sample_invoice_json
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from outbox.queue import record_event
from outbox.states import DeliveryStatus as S

T0 = dt.datetime(2026, 12, 7, 19, 0, tzinfo=dt.UTC)


def _queue(engine: Engine, prefix: str) -> tuple[str, str]:
    """One invoice numbered `prefix`-000001 for the folder channel: its invoice and delivery ids."""
    item = IntakeItem(sample_invoice_json(1, number_prefix=prefix))
    [result] = accept_invoices(engine, "bench", [item], actor="bench", default_channel="folder")
    assert result.outcome == "created", result.errors
    assert result.invoice_id is not None
    return result.invoice_id, result.delivery_ids[0]


def _history(engine: Engine, invoice_id: str, delivery_id: str, *, claimed: float, done: float) -> None:
    """A worker's claim at T0 + `claimed` s, and the outcomes recorded together at T0 + `done` s."""
    steps = [(S.QUEUED, S.RENDERING, claimed), (S.RENDERING, S.SENDING, done), (S.SENDING, S.DELIVERED, done)]
    with session_scope(engine) as session:
        for from_status, to_status, seconds in steps:
            record_event(
                session, delivery_id=delivery_id, invoice_id=invoice_id, tenant_id="bench", attempt=1,
                from_status=from_status, to_status=to_status, actor=f"{WORKER_PREFIX}-0",
                at=T0 + dt.timedelta(seconds=seconds),
            )  # fmt: skip


def test_the_window_starts_at_the_claim_of_the_measured_invoices(engine: Engine) -> None:
    with session_scope(engine) as session:
        ensure_tenant(session, "bench")
    warm_up = _queue(engine, "W")
    measured = _queue(engine, MEASURED_PREFIX)
    _history(engine, *warm_up, claimed=-5.0, done=-4.0)  # the warm-up: before, and not counted
    # claimed 0.01 s after T0, its outcomes written a batch later: whenever the commit was noted, the
    # window is the claim -> the last delivered
    _history(engine, *measured, claimed=0.01, done=1.5)

    first, last = event_window(engine, MEASURED_PREFIX)

    assert first == (T0 + dt.timedelta(seconds=0.01)).timestamp()
    assert last == (T0 + dt.timedelta(seconds=1.5)).timestamp()
