"""The outbox on real SQLite and PostgreSQL: claims, leases, the state machine and its events."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import Engine, func, select
from sqlmodel import col

from db.engine import session_scope
from db.models import Delivery, DeliveryEvent, InvoiceRecord, utcnow
from gateway.samples import sample_invoice_json
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from outbox.queue import LeaseLost, StaleStatus, claim_deliveries, leased_transition
from outbox.retry import RetryPolicy
from outbox.states import FINAL, TRANSITIONS, DeliveryStatus, IllegalTransition, check_transition

S = DeliveryStatus


def _accept(engine: Engine, count: int, tenant: str = "acme", prefix: str = "INV") -> list[str]:
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
    results = accept_invoices(
        engine,
        tenant,
        [IntakeItem(sample_invoice_json(n, number_prefix=prefix)) for n in range(1, count + 1)],
        actor="test",
        default_channel="folder",
    )
    assert all(r.outcome == "created" for r in results)
    return [r.delivery_ids[0] for r in results]


def _statuses(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return service.status_counts(session)


def test_invoice_and_first_delivery_are_written_together(engine: Engine) -> None:
    [delivery_id] = _accept(engine, 1)
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        assert delivery.status == S.QUEUED
        events = session.execute(
            select(DeliveryEvent).where(col(DeliveryEvent.delivery_id) == delivery_id)
        ).all()
        assert len(events) == 1
        assert session.get(InvoiceRecord, delivery.invoice_id) is not None


def test_claim_takes_each_delivery_once(engine: Engine) -> None:
    _accept(engine, 12)
    with session_scope(engine) as session:
        first = claim_deliveries(session, worker_id="w1", limit=5)
    with session_scope(engine) as session:
        second = claim_deliveries(session, worker_id="w2", limit=100)
    with session_scope(engine) as session:
        third = claim_deliveries(session, worker_id="w3", limit=100)
    assert len(first) == 5
    assert len(second) == 7
    assert third == []
    assert not {c.delivery_id for c in first} & {c.delivery_id for c in second}
    assert _statuses(engine) == {"rendering": 12}


def test_concurrent_claims_never_overlap(engine: Engine) -> None:
    _accept(engine, 60)
    claimed: list[list[str]] = []
    lock = threading.Lock()

    def claimer(name: str) -> None:
        while True:
            with session_scope(engine) as session:
                claims = claim_deliveries(session, worker_id=name, limit=3)
            if not claims:
                return
            with lock:
                claimed.append([c.delivery_id for c in claims])

    threads = [threading.Thread(target=claimer, args=(f"w{i}",)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    ids = [delivery_id for batch in claimed for delivery_id in batch]
    assert len(ids) == 60
    assert len(set(ids)) == 60


def test_expired_lease_is_taken_over_and_the_late_write_refused(engine: Engine) -> None:
    _accept(engine, 1)
    start = utcnow()
    with session_scope(engine) as session:
        [stalled] = claim_deliveries(session, worker_id="stalled", lease_seconds=10, now=start)
    # Within the lease nobody else can take it.
    with session_scope(engine) as session:
        assert claim_deliveries(session, worker_id="other", now=start + dt.timedelta(seconds=5)) == []
    later = start + dt.timedelta(seconds=11)
    with session_scope(engine) as session:
        [fresh] = claim_deliveries(session, worker_id="rescuer", lease_seconds=10, now=later)
    assert fresh.taken_over
    assert fresh.lease_token != stalled.lease_token
    # The stalled worker wakes up and tries to finish: refused, nothing written.
    with pytest.raises(LeaseLost), session_scope(engine) as session:
        leased_transition(
            session,
            stalled,
            from_status=S.RENDERING,
            to_status=S.SENDING,
            actor="stalled",
            extend_lease_seconds=30,
            now=later,
        )
    with session_scope(engine) as session:
        moved = leased_transition(
            session,
            fresh,
            from_status=S.RENDERING,
            to_status=S.SENDING,
            actor="rescuer",
            extend_lease_seconds=30,
            now=later,
        )
        leased_transition(
            session,
            moved,
            from_status=S.SENDING,
            to_status=S.DELIVERED,
            actor="rescuer",
            channel_message_id="file-1",
            now=later,
        )
    with session_scope(engine) as session:
        delivery = session.get(Delivery, fresh.delivery_id)
        assert delivery is not None
        assert delivery.status == S.DELIVERED
        assert delivery.lease_token is None
        events = (
            session.execute(
                select(DeliveryEvent)
                .where(col(DeliveryEvent.delivery_id) == fresh.delivery_id)
                .order_by(col(DeliveryEvent.id))
            )
            .scalars()
            .all()
        )
    assert [(e.from_status, e.to_status, e.actor) for e in events] == [
        (None, "queued", "test"),
        ("queued", "rendering", "stalled"),
        ("rendering", "rendering", "rescuer"),
        ("rendering", "sending", "rescuer"),
        ("sending", "delivered", "rescuer"),
    ]
    assert "taken over" in (events[2].reason or "")
    assert events[-1].channel_message_id == "file-1"


def test_write_with_expired_token_is_refused_even_if_nobody_took_over(engine: Engine) -> None:
    _accept(engine, 1)
    start = utcnow()
    with session_scope(engine) as session:
        [claim] = claim_deliveries(session, worker_id="slow", lease_seconds=5, now=start)
    with pytest.raises(LeaseLost), session_scope(engine) as session:
        leased_transition(
            session,
            claim,
            from_status=S.RENDERING,
            to_status=S.DEVIATION,
            actor="slow",
            reason="late",
            now=start + dt.timedelta(seconds=6),
        )
    assert _statuses(engine) == {"rendering": 1}


def test_transition_from_wrong_status_is_refused(engine: Engine) -> None:
    _accept(engine, 1)
    with session_scope(engine) as session:
        [claim] = claim_deliveries(session, worker_id="w")
    with pytest.raises(LeaseLost), session_scope(engine) as session:
        # The row is in rendering, not sending: the guarded update matches nothing.
        leased_transition(session, claim, from_status=S.SENDING, to_status=S.DELIVERED, actor="w")


def test_state_machine_rules() -> None:
    check_transition(S.QUEUED, S.RENDERING)
    check_transition(S.SENT, S.DEVIATION)
    for final in FINAL - {S.CANCELLED}:
        check_transition(final, S.QUEUED)  # a resend starts a new attempt
    with pytest.raises(IllegalTransition):
        check_transition(S.CANCELLED, S.QUEUED)
    with pytest.raises(IllegalTransition):
        check_transition(S.QUEUED, S.DELIVERED)
    with pytest.raises(IllegalTransition):
        check_transition(S.DELIVERED, S.CANCELLED)
    assert set(TRANSITIONS) == set(S)


def test_resend_is_a_new_attempt_and_history_stays(engine: Engine) -> None:
    [delivery_id] = _accept(engine, 1)
    with session_scope(engine) as session:
        [claim] = claim_deliveries(session, worker_id="w")
        claim = leased_transition(
            session, claim, from_status=S.RENDERING, to_status=S.SENDING, actor="w", extend_lease_seconds=30
        )
        leased_transition(session, claim, from_status=S.SENDING, to_status=S.DELIVERED, actor="w")
    with session_scope(engine) as session:
        delivery = service.find_delivery(session, "acme", delivery_id)
        service.resend(session, delivery, actor="cli:ops", reason="customer lost it")
    with session_scope(engine) as session:
        view = service.invoice_view(session, "acme", delivery.invoice_id)
    [item] = view["deliveries"]
    assert item["status"] == "queued"
    assert item["attempt"] == 2
    assert [(e["attempt"], e["to"]) for e in item["events"]] == [
        (1, "queued"),
        (1, "rendering"),
        (1, "sending"),
        (1, "delivered"),
        (2, "queued"),
    ]
    assert item["events"][-1]["actor"] == "cli:ops"
    assert item["events"][-1]["reason"] == "customer lost it"


def test_cannot_cancel_delivered_or_resend_while_leased(engine: Engine) -> None:
    [delivery_id] = _accept(engine, 1)
    with session_scope(engine) as session:
        claim_deliveries(session, worker_id="w")
    with pytest.raises(StaleStatus), session_scope(engine) as session:
        service.resend(session, service.find_delivery(session, "acme", delivery_id), actor="x", reason=None)
    with session_scope(engine) as session:
        count = session.execute(select(func.count()).select_from(DeliveryEvent)).scalar_one()
    assert count == 2


def test_tenant_cannot_see_another_tenants_delivery(engine: Engine) -> None:
    [delivery_id] = _accept(engine, 1, tenant="acme")
    with pytest.raises(service.NotFound), session_scope(engine) as session:
        service.find_delivery(session, "globex", delivery_id)


def test_retry_policy_backs_off_exponentially_with_bounded_jitter() -> None:
    policy = RetryPolicy(base_seconds=10, factor=2, max_delay_seconds=100, max_tries=5, jitter=False)
    assert [policy.delay_after(n) for n in range(1, 6)] == [10, 20, 40, 80, 100]
    jittered = RetryPolicy(base_seconds=10, factor=2, max_delay_seconds=100, max_tries=5)
    for tries in range(1, 6):
        delay = jittered.delay_after(tries)
        full = policy.delay_after(tries)
        assert full / 2 <= delay <= full
    assert policy.gives_up_after(5)
    assert not policy.gives_up_after(4)
