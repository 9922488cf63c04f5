"""The worker against the real folder channel: delivery, retry with backoff, giving up, fallback."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, update

import channels
from db.engine import session_scope
from db.models import Delivery, utcnow
from gateway.samples import sample_invoice_json
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver
from gateway.settings import Settings
from gateway.worker import Worker
from outbox.queue import claim_deliveries
from schemas.canonical import ReceiverProfile
from transports import files


def _accept(engine: Engine, items: list[dict[str, Any]], tenant: str = "acme") -> list[str]:
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
    results = accept_invoices(
        engine, tenant, [IntakeItem(i) for i in items], actor="test", default_channel="folder"
    )
    assert [r.outcome for r in results] == ["created"] * len(items), [r.errors for r in results]
    return [r.invoice_id or "" for r in results]


def _view(engine: Engine, invoice_id: str, tenant: str = "acme") -> dict[str, Any]:
    with session_scope(engine) as session:
        return service.invoice_view(session, tenant, invoice_id)


def _make_due(engine: Engine) -> None:
    """Skip the backoff wait: the policy's delay is tested on its own, here only the path matters."""
    with session_scope(engine) as session:
        session.execute(update(Delivery).values(next_attempt_at=utcnow()))


def test_delivers_through_folder_channel(engine: Engine, settings: Settings, outbound_dir: Path) -> None:
    [invoice_id] = _accept(engine, [sample_invoice_json(1)])
    stats = Worker(engine, settings, worker_id="w").run(once=True)
    assert stats.outcomes == {"delivered": 1}
    [delivery] = _view(engine, invoice_id)["deliveries"]
    assert [e["to"] for e in delivery["events"]] == ["queued", "rendering", "sending", "delivered"]
    written = Path(delivery["channel_message_id"])
    assert written.parent == outbound_dir / "acme"
    assert json.loads(written.read_text())["number"] == "INV-000001"
    sidecar = json.loads(written.with_name(written.name.replace(".json", ".sidecar.json")).read_text())
    assert sidecar["delivery_id"] == delivery["id"]
    assert sidecar["attempt"] == 1


def test_transient_failure_retries_with_backoff_then_delivers(
    engine: Engine, settings: Settings, outbound_dir: Path
) -> None:
    settings.channels = {"folder": {"retry": {"base_seconds": 30, "jitter": False, "max_tries": 5}}}
    invoice = sample_invoice_json(1)
    invoice["routing"] = {"address": "blocked"}
    [invoice_id] = _accept(engine, [invoice])
    (outbound_dir / "acme").mkdir(parents=True)
    (outbound_dir / "acme" / "blocked").write_text("a file where the folder should be")
    worker = Worker(engine, settings, worker_id="w")
    assert worker.run(once=True).outcomes == {"queued": 1}
    assert worker.run(once=True).outcomes == {"queued": 1}  # not due yet: nothing claimed
    [delivery] = _view(engine, invoice_id)["deliveries"]
    assert delivery["status"] == "queued"
    assert delivery["tries"] == 1
    assert delivery["events"][-1]["details"]["retry_in_seconds"] == 30
    _make_due(engine)
    worker.run(once=True)
    [delivery] = _view(engine, invoice_id)["deliveries"]
    assert delivery["events"][-1]["details"]["retry_in_seconds"] == 60  # exponential
    (outbound_dir / "acme" / "blocked").unlink()
    _make_due(engine)
    worker.run(once=True)
    [delivery] = _view(engine, invoice_id)["deliveries"]
    assert delivery["status"] == "delivered"
    assert delivery["tries"] == 2


def test_gives_up_after_max_tries_and_keeps_the_reason(
    engine: Engine, settings: Settings, outbound_dir: Path
) -> None:
    settings.channels = {"folder": {"retry": {"base_seconds": 1, "max_tries": 3}}}
    invoice = sample_invoice_json(1)
    invoice["routing"] = {"address": "blocked"}
    [invoice_id] = _accept(engine, [invoice])
    (outbound_dir / "acme").mkdir(parents=True)
    (outbound_dir / "acme" / "blocked").write_text("x")
    worker = Worker(engine, settings, worker_id="w")
    for _ in range(3):
        _make_due(engine)
        worker.run(once=True)
    [delivery] = _view(engine, invoice_id)["deliveries"]
    assert delivery["status"] == "failed"
    assert "gave up after 3 tries" in delivery["last_error"]
    assert "writing to" in delivery["last_error"]
    assert [e["to"] for e in delivery["events"]].count("sending") == 3


def test_oversize_document_is_a_deviation_not_a_retry(engine: Engine, settings: Settings) -> None:
    settings.channels = {"folder": {"max_document_bytes": 100}}
    [invoice_id] = _accept(engine, [sample_invoice_json(1)])
    Worker(engine, settings).run(once=True)
    [delivery] = _view(engine, invoice_id)["deliveries"]
    assert delivery["status"] == "deviation"
    assert "takes at most 100" in delivery["last_error"]


def test_unknown_format_is_a_deviation_with_a_hint(engine: Engine, settings: Settings) -> None:
    invoice = sample_invoice_json(1)
    invoice["routing"] = {"format": "canonical-jsn"}
    [invoice_id] = _accept(engine, [invoice])
    Worker(engine, settings).run(once=True)
    [delivery] = _view(engine, invoice_id)["deliveries"]
    assert delivery["status"] == "deviation"
    assert "Did you mean 'canonical-json'" in delivery["last_error"]


@pytest.fixture
def archive_channel() -> Iterator[str]:
    """A second real channel (the folder channel under another name) so a fallback chain can be tested."""
    channels.register("archive", "channels.folder:FolderChannel")
    yield "archive"
    channels.REGISTRY.pop("archive", None)


def receiver_falling_back(engine: Engine, settings: Settings, tmp_path: Path, archive: str) -> None:
    """Receiver C-1 of acme prefers `folder`, which refuses anything over 100 bytes (a deviation), and
    falls back to `archive` (a folder channel under `tmp_path / "archive"`, address `paper`)."""
    settings.channels = {
        "folder": {"max_document_bytes": 100},
        archive: {"directory": str(tmp_path / "archive")},
    }
    with session_scope(engine) as session:
        put_receiver(
            session,
            "acme",
            ReceiverProfile(
                receiver_id="C-1",
                preferred_channel="folder",
                fallback_channels=[archive],
                addresses={archive: "paper"},
            ),
        )


def test_failed_delivery_falls_back_to_the_next_channel(
    engine: Engine, settings: Settings, outbound_dir: Path, tmp_path: Path, archive_channel: str
) -> None:
    receiver_falling_back(engine, settings, tmp_path, archive_channel)
    [invoice_id] = _accept(engine, [sample_invoice_json(1, receiver_id="C-1")])
    Worker(engine, settings).run(once=True)
    first, second = _view(engine, invoice_id)["deliveries"]
    assert (first["channel"], first["status"]) == ("folder", "deviation")
    assert (second["channel"], second["status"], second["chain_position"]) == (
        archive_channel,
        "delivered",
        1,
    )
    assert "fallback: folder ended deviation" in second["events"][0]["reason"]
    assert (tmp_path / "archive" / "acme" / "paper").is_dir()


def test_a_draining_worker_delivers_the_fallback_its_last_overlapped_batch_queued(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    archive_channel: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The folder's batch is settled and recorded by the finisher thread while the next round claims: that
    claim finds nothing (the fallback is not yet committed), and the drain must still not end before it."""
    settings.worker_overlap_io = True
    receiver_falling_back(engine, settings, tmp_path, archive_channel)
    real_settle = files.WriteGroup.settle

    def slow_settle(self: files.WriteGroup) -> files.Settled:
        time.sleep(0.5)  # the worker's next round claims (and finds nothing) meanwhile
        return real_settle(self)

    monkeypatch.setattr(files.WriteGroup, "settle", slow_settle)
    [invoice_id] = _accept(engine, [sample_invoice_json(1, receiver_id="C-1")])
    stats = Worker(engine, settings, periodic_tasks=()).run(once=True)
    first, second = _view(engine, invoice_id)["deliveries"]
    assert (first["status"], second["status"]) == ("deviation", "delivered")
    assert second["channel"] == archive_channel
    assert stats.claimed == 2


def test_shutdown_hands_claimed_work_back(engine: Engine, settings: Settings) -> None:
    _accept(engine, [sample_invoice_json(n) for n in range(1, 4)])
    worker = Worker(engine, settings, worker_id="w")
    worker.stop()
    with session_scope(engine) as session:
        claims = claim_deliveries(session, worker_id="w", limit=10)
    worker.deliveries.release(claims)
    with session_scope(engine) as session:
        assert service.status_counts(session) == {"queued": 3}
    assert Worker(engine, settings).run(once=True).outcomes == {"delivered": 3}
