"""Bulk resend / resolve of deviations: planned without changing anything, then done item by item through
the single-item services, each in its own transaction; a closed one is skipped, a failing one reported, and
another tenant's id refuses the whole request before anything is done."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import col

from db.engine import session_scope
from db.models import Delivery, Deviation
from gateway.services.outbound import deviation_bulk as bulk
from gateway.services.outbound import deviations as service
from gateway.services.outbound.deliveries import NotFound
from outbox.states import DeliveryStatus as S
from tests.outbox_helpers import delivery_events, delivery_row
from tests.services.test_deviations import _deviating, _only_open


def _states(engine: Engine) -> list[tuple[object, ...]]:
    with session_scope(engine) as session:
        columns = (Deviation.id, Deviation.closure, Deviation.closed_by)
        return sorted(tuple(row) for row in session.execute(select(*map(col, columns))).all())


def test_plan_says_what_will_happen_and_changes_nothing(engine: Engine) -> None:
    bounced = _only_open(engine, _deviating(engine, 1, "e-mail bounced (DSN: failed): a@b.test 5.1.1"))
    closed = _only_open(
        engine, _deviating(engine, 2, "no acknowledgement from ica within 24 h", channel="edi")
    )
    with session_scope(engine) as session:
        service.resolve_deviation(session, "acme", closed.id, actor="api:erp", reason="phoned")
    before = _states(engine)
    with session_scope(engine) as session:
        steps = bulk.plan_bulk(session, "acme", [bounced.id, closed.id], "resend")
    assert [(s.label, s.will, s.what) for s in steps] == [
        ("invoice INV-000001", "resend", "attempt 2 on email to kunde@ok.test"),
        ("invoice INV-000002", "skip", "already closed (resolved by api:erp)"),
    ]
    assert _states(engine) == before


def test_run_resends_each_in_its_own_transaction_and_reports_failures(engine: Engine) -> None:
    ids = [_deviating(engine, n, f"e-mail bounced (DSN: failed): {n}@b.test 5.1.1") for n in (1, 2, 3)]
    deviations = [_only_open(engine, delivery_id).id for delivery_id in ids]
    with session_scope(engine) as session:  # a worker holds the second one's delivery right now
        session.execute(update(Delivery).where(col(Delivery.id) == ids[1]).values(status=S.SENDING.value))
    outcome = bulk.run_bulk(engine, "acme", deviations, "resend", actor="console:ops@x", reason="new MX")
    assert outcome.resent == ["invoice INV-000001", "invoice INV-000003"]
    [(label, why)] = outcome.failed
    assert label == "invoice INV-000002" and why
    assert outcome.summary().startswith("Resent 2, resolved 0, skipped 0; failed 1 (invoice INV-000002: ")
    for delivery_id in (ids[0], ids[2]):
        assert delivery_row(engine, delivery_id).attempt == 2
        last = delivery_events(engine, delivery_id)[-1]
        assert (last.actor, last.reason) == ("console:ops@x", "new MX")
    assert delivery_row(engine, ids[1]).attempt == 1


def test_another_tenants_id_refuses_all_and_resolve_needs_a_reason(engine: Engine) -> None:
    mine = _only_open(engine, _deviating(engine, 1, "e-mail bounced (DSN: failed): a@b.test")).id
    theirs = _only_open(
        engine, _deviating(engine, 2, "e-mail bounced (DSN: failed): c@d.test", tenant="globex")
    ).id
    before = _states(engine)
    with pytest.raises(NotFound):
        bulk.run_bulk(engine, "acme", [mine, theirs], "resolve", actor="console:ops@x", reason="done")
    with session_scope(engine) as session, pytest.raises(NotFound):
        bulk.plan_bulk(session, "acme", [mine, theirs], "resolve")
    with pytest.raises(ValueError, match="needs a reason"):
        bulk.run_bulk(engine, "acme", [mine], "resolve", actor="console:ops@x", reason="")
    assert _states(engine) == before
    with pytest.raises(bulk.TooManyItems):
        bulk.checked_ids([mine, theirs, mine], 1)
    assert bulk.checked_ids([mine, theirs, mine], 2) == [mine, theirs]
