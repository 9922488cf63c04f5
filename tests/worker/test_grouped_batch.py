"""The worker's batch path for channels that write in groups (the folder): a claim batch's files flushed
once, then every outcome recorded in one transaction, a delivery `delivered` only once its files are in
place; the one-by-one path for everything else."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest
import structlog
from pydantic import SecretStr
from sqlalchemy import Engine, event, select, update
from sqlmodel import col

from channels.base import DeliveryResult, OutboundDelivery
from channels.folder import PARTS_DIRECTORY, FolderChannel
from db.engine import session_scope
from db.models import Delivery, StoredDocument
from gateway.logging_setup import bound_context
from gateway.samples import sample_invoice_json
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.documents import content_key
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker.context import WorkerContext
from gateway.worker.delivery import DeliveryLoop
from gateway.worker.runner import Worker
from tests.conftest import SHARED
from transports import files


def _accept(engine: Engine, items: list[dict[str, Any]]) -> list[str]:
    """Accept invoices for the folder channel; their delivery ids, in order."""
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    results = accept_invoices(
        engine, "acme", [IntakeItem(i) for i in items], actor="test", default_channel="folder"
    )
    assert [r.outcome for r in results] == ["created"] * len(items), [r.errors for r in results]
    return [r.delivery_ids[0] for r in results]


def _deliveries(engine: Engine) -> dict[str, dict[str, Any]]:
    """Every delivery as the API shows it (with its events), by id."""
    with session_scope(engine) as session:
        invoice_ids = session.execute(select(col(Delivery.invoice_id))).scalars().all()
        views = [service.invoice_view(session, "acme", str(i))["deliveries"] for i in set(invoice_ids)]
    return {delivery["id"]: delivery for view in views for delivery in view}


@pytest.fixture
def loop(engine: Engine, settings: Settings, tmp_path: Path) -> Iterator[DeliveryLoop]:
    # the local document store on both databases: its copies go through the batch's write group
    settings.documents_url = SecretStr(str(tmp_path / "documents"))
    context = WorkerContext(engine, settings, worker_id="w")
    yield DeliveryLoop(context)
    context.close_channels()


@pytest.fixture
def commits(engine: Engine) -> Iterator[list[int]]:
    counted: list[int] = []
    listener = lambda connection: counted.append(1)  # noqa: E731
    event.listen(engine, "commit", listener)
    yield counted
    event.remove(engine, "commit", listener)


def test_a_batch_is_delivered_with_one_transaction_for_every_outcome(
    engine: Engine, loop: DeliveryLoop, outbound_dir: Path, commits: list[int], tmp_path: Path
) -> None:
    ids = _accept(engine, [sample_invoice_json(n) for n in range(1, 6)])
    commits.clear()
    assert loop.grouped_channels() == {"folder"}
    assert loop.run_round() == 5
    assert len(commits) == 2  # the claim, then every outcome of the batch
    assert loop.context.stats.outcomes == {"delivered": 5}
    deliveries = _deliveries(engine)
    with session_scope(engine) as session:
        stored = set(session.execute(select(col(StoredDocument.id))).scalars())
    for delivery_id in ids:
        delivery = deliveries[delivery_id]
        assert delivery["status"] == "delivered"
        assert [e["to"] for e in delivery["events"]] == ["queued", "rendering", "sending", "delivered"]
        sending, delivered = delivery["events"][2:]
        assert sending["details"]["format"] == "canonical-json"
        assert delivered["details"]["document_id"] in stored
        written = Path(delivery["channel_message_id"])
        sidecar = json.loads(written.with_name(written.name.replace(".json", ".sidecar.json")).read_bytes())
        assert sidecar["delivery_id"] == delivery_id and sidecar["bytes"] == written.stat().st_size
    assert len(stored) == 5 and len(list((tmp_path / "documents").glob("??/??/*"))) == 5
    assert list((outbound_dir / PARTS_DIRECTORY).iterdir()) == []
    assert list((tmp_path / "documents" / PARTS_DIRECTORY).iterdir()) == []


def test_a_lease_lost_mid_batch_skips_that_delivery_and_records_the_rest(
    engine: Engine, loop: DeliveryLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _accept(engine, [sample_invoice_json(n) for n in range(1, 4)])
    stolen = ids[1]
    real_send = FolderChannel.send

    def send(self: FolderChannel, delivery: OutboundDelivery) -> DeliveryResult:
        if delivery.delivery_id == stolen:  # another worker took it over meanwhile
            with session_scope(engine) as session:
                session.execute(
                    update(Delivery).where(col(Delivery.id) == stolen).values(lease_token="other")
                )
        return real_send(self, delivery)

    monkeypatch.setattr(FolderChannel, "send", send)
    loop.run_round()
    assert loop.context.stats.outcomes == {"delivered": 2}
    assert loop.context.stats.lease_lost == 1
    deliveries = _deliveries(engine)
    assert [deliveries[i]["status"] for i in ids] == ["delivered", "rendering", "delivered"]
    assert [e["to"] for e in deliveries[stolen]["events"]] == ["queued", "rendering"]


def test_a_validation_deviation_inside_a_batch_leaves_the_others_delivered(
    engine: Engine, loop: DeliveryLoop, outbound_dir: Path, commits: list[int]
) -> None:
    loop.context.settings.rules_dir = SHARED / "validation"
    invoices = [sample_invoice_json(n) for n in range(1, 4)]
    invoices[1]["seller"]["vat_id"] = "NO987654321MVA"  # fails the mod 11 check: EHF rule NO-R-001
    for invoice in invoices:
        invoice["routing"] = {"format": "ehf"}
    ids = _accept(engine, invoices)
    commits.clear()
    loop.run_round()
    assert len(commits) == 2
    assert loop.context.stats.outcomes == {"delivered": 2, "deviation": 1}
    deliveries = _deliveries(engine)
    refused = deliveries[ids[1]]
    assert refused["status"] == "deviation" and "NO-R-001" in refused["last_error"]
    assert [e["to"] for e in refused["events"]] == ["queued", "rendering", "deviation"]
    assert "validation" in refused["events"][-1]["details"]
    assert sorted(p.name.split("__")[0] for p in (outbound_dir / "acme").glob("*.xml")) == [
        "INV-000001",
        "INV-000003",
    ]


def test_a_write_that_fails_to_settle_is_a_retry_and_nothing_of_it_is_in_place(
    engine: Engine, loop: DeliveryLoop, outbound_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _accept(engine, [sample_invoice_json(n) for n in range(1, 4)])
    real_replace = files.os.replace

    def replace(source: str | Path, final: str | Path) -> None:
        if Path(final).name.startswith("INV-000002__"):
            raise OSError(28, "No space left on device")
        real_replace(source, final)

    monkeypatch.setattr(files.os, "replace", replace)
    loop.run_round()
    assert loop.context.stats.outcomes == {"delivered": 2, "queued": 1}
    failed = _deliveries(engine)[ids[1]]
    assert failed["status"] == "queued" and failed["tries"] == 1
    assert "writing the files failed" in failed["last_error"] and "No space left" in failed["last_error"]
    assert [e["to"] for e in failed["events"]] == ["queued", "rendering", "sending", "queued"]
    assert not list((outbound_dir / "acme").glob("INV-000002__*"))
    assert list((outbound_dir / PARTS_DIRECTORY).iterdir()) == []


def test_a_dry_run_writes_one_by_one_as_before(engine: Engine, settings: Settings) -> None:
    settings.dry_run = True
    assert DeliveryLoop(WorkerContext(engine, settings, worker_id="w")).grouped_channels() == frozenset()


def test_a_worker_with_grouped_channels_claims_for_their_timeout_too(
    engine: Engine, settings: Settings
) -> None:
    settings.channels = {"folder": {"timeout_seconds": 7}}
    loop = DeliveryLoop(WorkerContext(engine, settings, worker_id="w"))
    assert loop.claim_lease_seconds(loop.grouped_channels()) == settings.lease_seconds + 7
    only_email = DeliveryLoop(WorkerContext(engine, settings, worker_id="w", channels=["email"]))
    assert only_email.claim_lease_seconds(only_email.grouped_channels()) == settings.lease_seconds


# -- the overlap: a grouped batch settled and recorded by a finisher thread (issue 23) --------------------


def _statuses(engine: Engine, ids: list[str]) -> list[str]:
    with session_scope(engine) as session:
        rows = {row[0]: row[1] for row in session.execute(select(col(Delivery.id), col(Delivery.status)))}
    return [str(getattr(rows[i], "value", rows[i])) for i in ids]


def test_the_finisher_settles_and_records_the_batch_on_its_own_thread_after_the_round_returns(
    engine: Engine, loop: DeliveryLoop, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _accept(engine, [sample_invoice_json(n) for n in range(1, 4)])
    release = threading.Event()
    settled_on: list[str] = []
    outcome_context: list[dict[str, Any]] = []
    real_settle, real_log_outcome = files.WriteGroup.settle, loop.log_outcome

    def settle(self: files.WriteGroup) -> files.Settled:
        settled_on.append(threading.current_thread().name)
        assert release.wait(30)  # the worker's round has returned meanwhile
        return real_settle(self)

    def log_outcome(claim: Any, status: str, reason: str | None = None) -> None:
        outcome_context.append(structlog.contextvars.get_contextvars())
        real_log_outcome(claim, status, reason)

    monkeypatch.setattr(files.WriteGroup, "settle", settle)
    monkeypatch.setattr(loop, "log_outcome", log_outcome)
    with bound_context(round="r1"):
        assert loop.run_round(overlap=True) == 3
    # the batch is in the finisher's hands, its files not yet durable: nothing recorded, nothing counted
    assert _statuses(engine, ids) == ["rendering"] * 3
    assert loop.context.stats.outcomes == {}
    release.set()
    loop.join_finisher()
    assert settled_on and settled_on[0] != threading.current_thread().name
    assert _statuses(engine, ids) == ["delivered"] * 3
    assert loop.context.stats.outcomes == {"delivered": 3}
    # each outcome line names its delivery, and the worker's context at the hand-over came along
    assert sorted(c["delivery_id"] for c in outcome_context) == sorted(ids)
    assert {c["round"] for c in outcome_context} == {"r1"}


def test_an_error_in_the_finisher_surfaces_at_the_next_join_and_nothing_is_delivered(
    engine: Engine, loop: DeliveryLoop, outbound_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _accept(engine, [sample_invoice_json(n) for n in range(1, 3)])

    def settle(self: files.WriteGroup) -> files.Settled:
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(files.WriteGroup, "settle", settle)
    assert loop.run_round(overlap=True) == 2  # handed over; the error is the finisher's
    second = _accept(engine, [sample_invoice_json(n) for n in range(3, 5)])
    with pytest.raises(RuntimeError, match="caught fire"):
        loop.run_round(overlap=True)  # claims and renders the next batch, then joins before handing over
    assert loop._finisher is None
    loop.join_finisher()  # raised once, not again
    assert _statuses(engine, first + second) == ["rendering"] * 4  # the leases expire; taken over later
    assert loop.context.stats.outcomes == {}
    assert not list(outbound_dir.glob("acme/*"))
    assert list((outbound_dir / PARTS_DIRECTORY).iterdir()) == []


def test_an_error_in_the_finisher_ends_the_worker_as_an_error_of_its_round_would(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _accept(engine, [sample_invoice_json(n) for n in range(1, 3)])

    def settle(self: files.WriteGroup) -> files.Settled:
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(files.WriteGroup, "settle", settle)
    with pytest.raises(RuntimeError, match="caught fire"):
        Worker(engine, settings, worker_id="w", periodic_tasks=()).run(once=True)
    assert _statuses(engine, ids) == ["rendering"] * 2


@pytest.mark.parametrize("overlap", [True, False])
def test_once_leaves_every_claimed_delivery_finished_in_both_modes(
    engine: Engine, settings: Settings, overlap: bool
) -> None:
    settings.worker_overlap_io = overlap
    settings.claim_batch = 2  # three batches: each one's finisher runs beside the next round
    ids = _accept(engine, [sample_invoice_json(n) for n in range(1, 6)])
    worker = Worker(engine, settings, worker_id="w", periodic_tasks=())
    stats = worker.run(once=True)
    assert worker.deliveries._finisher is None
    assert stats.claimed == 5 and stats.outcomes == {"delivered": 5}
    assert _statuses(engine, ids) == ["delivered"] * 5


def test_a_stop_request_joins_the_finisher_before_the_worker_returns(
    engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    ids = _accept(engine, [sample_invoice_json(n) for n in range(1, 4)])
    worker = Worker(engine, settings, worker_id="w", periodic_tasks=())
    real_send, real_settle = FolderChannel.send, files.WriteGroup.settle

    def send(self: FolderChannel, delivery: OutboundDelivery) -> DeliveryResult:
        worker.stop()  # SIGTERM while the first delivery is sent: the rest are handed back
        return real_send(self, delivery)

    def settle(self: files.WriteGroup) -> files.Settled:
        time.sleep(0.3)  # still settling when the loop sees the stop
        return real_settle(self)

    monkeypatch.setattr(FolderChannel, "send", send)
    monkeypatch.setattr(files.WriteGroup, "settle", settle)
    stats = worker.run()
    assert worker.deliveries._finisher is None
    assert stats.outcomes == {"delivered": 1}
    assert sorted(_statuses(engine, ids)) == ["delivered", "queued", "queued"]


def test_an_overlapping_worker_claims_for_the_previous_batch_s_settling_too(
    engine: Engine, settings: Settings
) -> None:
    settings.channels = {"folder": {"timeout_seconds": 7}}
    loop = DeliveryLoop(WorkerContext(engine, settings, worker_id="w"))
    grouped = loop.grouped_channels()
    assert loop.claim_lease_seconds(grouped, overlap=True) == settings.lease_seconds + 2 * 7


# -- stored copies in a store other than the local folder (PostgreSQL, S3): one step per batch -------------


class _BatchStore:
    """A store that is not the local folder store, keeping what it is given in a dict; counts its calls."""

    def __init__(self, fail: bool = False) -> None:
        self.documents: dict[str, bytes] = {}
        self.calls: list[int] = []
        self.fail = fail

    def put(self, data: bytes) -> str:
        return self.put_many([data])[0]

    def put_many(self, datas: Sequence[bytes]) -> list[str]:
        self.calls.append(len(datas))
        if self.fail:
            raise OSError("the store is away")
        keys = [content_key(data) for data in datas]
        self.documents.update(zip(keys, datas, strict=True))
        return keys

    def get(self, key: str) -> bytes:
        return self.documents[key]

    def exists(self, key: str) -> bool:
        return key in self.documents


@pytest.mark.parametrize("overlap", [False, True])
def test_a_batch_s_copies_for_another_store_are_put_in_one_step(
    engine: Engine, loop: DeliveryLoop, overlap: bool
) -> None:
    store = _BatchStore()
    loop.context._document_store = store
    ids = _accept(engine, [sample_invoice_json(n) for n in range(1, 5)])
    assert loop.run_round(overlap=overlap) == 4
    loop.join_finisher()
    assert store.calls == [4]  # one step for the batch, not a put each
    deliveries = _deliveries(engine)
    with session_scope(engine) as session:
        keys = dict(session.execute(select(col(StoredDocument.id), col(StoredDocument.storage_key))).all())
    for delivery_id in ids:
        delivered = deliveries[delivery_id]["events"][-1]
        assert delivered["to"] == "delivered"
        key = keys[delivered["details"]["document_id"]]
        assert store.get(key) == Path(deliveries[delivery_id]["channel_message_id"]).read_bytes()


def test_a_store_that_fails_loses_the_copies_not_the_outcomes(
    engine: Engine, loop: DeliveryLoop, caplog: pytest.LogCaptureFixture
) -> None:
    loop.context._document_store = _BatchStore(fail=True)
    ids = _accept(engine, [sample_invoice_json(n) for n in range(1, 3)])
    assert loop.run_round() == 2
    assert _statuses(engine, ids) == ["delivered"] * 2
    with session_scope(engine) as session:
        assert session.execute(select(col(StoredDocument.id))).first() is None
    assert (
        sum("cannot keep" in r.getMessage() and "the store is away" in r.getMessage() for r in caplog.records)
        == 2
    )
