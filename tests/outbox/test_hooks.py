"""Status-change hooks: the outbox calls its subscribers and imports nothing of the gateway, and every entry
point of the gateway has subscribed before it can change a status."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.engine import session_scope
from db.models import Delivery, DeliveryEvent
from gateway.samples import sample_invoice_json
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from outbox import hooks
from outbox.queue import change_status, claim_deliveries, note_event
from outbox.states import DeliveryStatus

S = DeliveryStatus


def _python(code: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)


def test_the_outbox_loads_without_the_gateway() -> None:
    done = _python(
        "import sys, outbox.queue, outbox.lease, outbox.hooks, outbox.retry, outbox.states\n"
        "loaded = sorted(m for m in sys.modules if m.startswith(('gateway', 'channels')))\n"
        "assert not loaded, loaded\n"
        "assert outbox.hooks.subscribers() == ()\n"
    )
    assert done.returncode == 0, done.stderr


_SUBSCRIBED = (
    "['gateway.services._status_changed', 'gateway.services._latency_observed', "
    "'gateway.services._notice_followed']"
)
_PRINT_SUBSCRIBERS = (
    "from outbox.hooks import subscribers\nprint([f'{h.__module__}.{h.__name__}' for h in subscribers()])\n"
)


@pytest.mark.parametrize(
    "entry_point", ["gateway.api.app", "gateway.worker", "gateway.demo", "gateway.runtime"]
)
def test_every_entry_point_has_the_gateway_subscribed(entry_point: str) -> None:
    done = _python(f"import {entry_point}\n" + _PRINT_SUBSCRIBERS)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == _SUBSCRIBED


def test_the_cli_has_the_gateway_subscribed_once_a_command_opens_the_outbox(tmp_path: Path) -> None:
    # the CLI imports its commands' modules lazily; a command reaches the outbox through gateway.runtime
    env = {k: v for k, v in os.environ.items() if not k.startswith("GATEWAY_")}
    env["GATEWAY_DATA_DIR"] = str(tmp_path / "data")
    done = subprocess.run(
        [
            sys.executable,
            "-c",
            "from typer.testing import CliRunner\n"
            "from gateway.cli import app\n"
            "result = CliRunner().invoke(app, ['worker', '--once'])\n"
            "assert result.exit_code == 0, result.output\n" + _PRINT_SUBSCRIBERS,
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == _SUBSCRIBED


@pytest.fixture
def recorded() -> Iterator[list[hooks.StatusChange]]:
    seen: list[hooks.StatusChange] = []

    def hook(_session: Session, change: hooks.StatusChange) -> None:
        seen.append(change)

    hooks.subscribe(hook)
    hooks.subscribe(hook)  # idempotent: still one hook
    try:
        yield seen
    finally:
        hooks.unsubscribe(hook)


def _one_delivery(engine: Engine) -> str:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    [result] = accept_invoices(
        engine, "acme", [IntakeItem(sample_invoice_json(1))], actor="test", default_channel="folder"
    )
    return result.delivery_ids[0]


def test_hooks_see_each_status_change_once_and_not_notes(
    engine: Engine, recorded: list[hooks.StatusChange]
) -> None:
    delivery_id = _one_delivery(engine)
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        note_event(session, delivery, actor="ops", reason="a note changes nothing")
        change_status(session, delivery, S.CANCELLED, actor="ops", reason="not wanted")
    [change] = recorded
    assert (change.delivery_id, change.from_status, change.to_status) == (delivery_id, "queued", "cancelled")
    assert (change.actor, change.reason, change.tenant_id, change.attempt) == ("ops", "not wanted", "acme", 1)


def test_a_failing_hook_rolls_the_change_back(engine: Engine) -> None:
    delivery_id = _one_delivery(engine)

    def refuse(_session: Session, _change: hooks.StatusChange) -> None:
        raise RuntimeError("no")

    hooks.subscribe(refuse)
    try:
        with session_scope(engine) as session:
            delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        with pytest.raises(RuntimeError), session_scope(engine) as session:
            change_status(session, session.merge(delivery), S.CANCELLED, actor="ops", reason="not wanted")
    finally:
        hooks.unsubscribe(refuse)
    with session_scope(engine) as session:
        assert session.get(Delivery, delivery_id).status == "queued"  # type: ignore[union-attr]
        events = session.execute(
            select(DeliveryEvent).where(col(DeliveryEvent.delivery_id) == delivery_id)
        ).all()
        assert len(events) == 1


def test_a_hook_that_takes_many_gets_a_claim_batchs_changes_in_one_call(engine: Engine) -> None:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    items = [IntakeItem(sample_invoice_json(n)) for n in (1, 2, 3)]
    accept_invoices(engine, "acme", items, actor="test", default_channel="folder")
    one_by_one: list[hooks.StatusChange] = []
    batches: list[list[hooks.StatusChange]] = []

    def each(_session: Session, change: hooks.StatusChange) -> None:
        one_by_one.append(change)

    def many(_session: Session, changes: Sequence[hooks.StatusChange]) -> None:
        batches.append(list(changes))

    hooks.subscribe(each, many=many)
    try:
        with session_scope(engine) as session:
            claims = claim_deliveries(session, worker_id="w", limit=10)
    finally:
        hooks.unsubscribe(each)
    assert one_by_one == [] and len(batches) == 1
    assert sorted(c.delivery_id for c in batches[0]) == sorted(c.delivery_id for c in claims)
    assert {(c.from_status, c.to_status) for c in batches[0]} == {("queued", "rendering")}
    hooks.subscribe(each)  # unsubscribed, its `many` went too: now called one by one
    try:
        hooks.notify_all(session, batches[0])
    finally:
        hooks.unsubscribe(each)
    assert one_by_one == batches[0] and len(batches) == 1
