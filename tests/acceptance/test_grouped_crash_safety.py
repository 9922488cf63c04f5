"""Crash safety of the worker's grouped writes: a real worker is SIGKILLed while a claim batch's files are
written but its outcomes not yet committed, again and again, and a fresh worker then finishes the outbox.

The folder channel writes a claim batch through one write group (parts, one flush, renames, one flush)
and the worker records the batch's outcomes after that. The kill lands while part files exist (the batch
is being written, nothing committed). Right after every kill, and at the end, every delivery the outbox
calls `delivered` must have its document and sidecar in place and complete (the document's size is the
sidecar's `bytes`, both parse); at the end every delivery is delivered, exactly once, with exactly one
document in the folder. Parts a killed writer left stay in the hidden parts directory, never in a
delivery folder.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col

from channels.folder import PARTS_DIRECTORY
from db.engine import make_engine, migrate, session_scope
from db.models import Delivery, DeliveryEvent, InvoiceRecord
from gateway.samples import sample_invoice_json
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from outbox.states import DeliveryStatus
from tests.conftest import DATABASES, PostgresSchema

pytestmark = pytest.mark.slow

S = DeliveryStatus
TENANT = "acme"
TOTAL = 300
KILLS = 4
WORKER_COMMAND = [sys.executable, "-c", "from gateway.cli import app; app()", "worker"]
DEADLINE_SECONDS = 180.0


def _accept(engine: Engine) -> dict[str, str]:
    """Accept the invoices; delivery id → invoice number."""
    with session_scope(engine) as session:
        ensure_tenant(session, TENANT)
    results = accept_invoices(
        engine,
        TENANT,
        [IntakeItem(sample_invoice_json(n)) for n in range(1, TOTAL + 1)],
        actor="test",
        default_channel="folder",
    )
    assert [r.outcome for r in results] == ["created"] * TOTAL
    return {r.delivery_ids[0]: r.number or "" for r in results}


def _delivered(engine: Engine) -> dict[str, str]:
    """Delivered deliveries: id → the path the channel reported."""
    with session_scope(engine) as session:
        rows = session.execute(
            select(col(Delivery.id), col(Delivery.channel_message_id)).where(
                col(Delivery.status) == S.DELIVERED.value
            )
        ).all()
    return {str(row[0]): str(row[1]) for row in rows}


def _assert_complete(engine: Engine, folder: Path, numbers: dict[str, str]) -> int:
    """Every delivered delivery's document and sidecar are in place and complete; how many."""
    delivered = _delivered(engine)
    for delivery_id, where in delivered.items():
        document = Path(where)
        assert document == folder / f"{numbers[delivery_id]}__{delivery_id}-1.json"
        sidecar = json.loads(document.with_name(document.name.replace(".json", ".sidecar.json")).read_bytes())
        assert sidecar["delivery_id"] == delivery_id
        content = document.read_bytes()
        assert len(content) == sidecar["bytes"]
        assert json.loads(content)["number"] == numbers[delivery_id]
    return len(delivered)


def _env(database_url: str, tmp_path: Path, outbound: Path) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
    folder = {"directory": str(outbound), "fsync": True, "timeout_seconds": 1.0}
    env.update(
        GATEWAY_DATABASE_URL=database_url,
        GATEWAY_DATA_DIR=str(tmp_path / "data"),
        GATEWAY_CHANNELS=json.dumps({"folder": folder}),
        GATEWAY_LEASE_SECONDS="2",
        GATEWAY_CLAIM_BATCH="20",
        GATEWAY_POLL_SECONDS="0.05",
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture
def processes() -> Iterator[list[subprocess.Popen[bytes]]]:
    """Every worker the test starts is killed however the test ends."""
    started: list[subprocess.Popen[bytes]] = []
    try:
        yield started
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)


def _spawn(
    env: dict[str, str], logs: Path, name: str, started: list[subprocess.Popen[bytes]]
) -> subprocess.Popen[bytes]:
    with (logs / f"{name}.log").open("wb") as stream:
        process = subprocess.Popen(
            [*WORKER_COMMAND, "--worker-id", name],
            stdin=subprocess.DEVNULL,
            stdout=stream,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=logs,
        )
    started.append(process)
    return process


def _tail(logs: Path) -> str:
    return "\n".join(
        f"--- {log.name}\n" + "\n".join(log.read_text(errors="replace").splitlines()[-10:])
        for log in sorted(logs.glob("*.log"))
    )


def _grouped_crash_test(database_url: str, tmp_path: Path, started: list[subprocess.Popen[bytes]]) -> None:
    outbound, logs = tmp_path / "outbound", tmp_path / "logs"
    logs.mkdir()
    folder, parts = outbound / TENANT, outbound / PARTS_DIRECTORY
    engine = make_engine(database_url)
    rng = random.Random()
    try:
        migrate(engine)
        numbers = _accept(engine)
        env = _env(database_url, tmp_path, outbound)
        parts_at_kills: list[int] = []
        for kill in range(KILLS):
            worker = _spawn(env, logs, f"victim-{kill}", started)
            deadline = time.monotonic() + 60
            # let it deliver a little first, then kill it while a batch is written and not yet committed
            progress = _assert_complete(engine, folder, numbers) + rng.randrange(0, 40)
            while True:
                assert worker.poll() is None, f"the worker exited on its own\n{_tail(logs)}"
                assert time.monotonic() < deadline, f"no batch in flight to kill\n{_tail(logs)}"
                written = len(list(folder.glob("*.sidecar.json"))) if folder.is_dir() else 0
                in_flight = len(list(parts.iterdir())) if parts.is_dir() else 0
                if in_flight and written >= progress:
                    break
                time.sleep(0.001)
            if kill % 2:  # now and then a moment later: the batch settling, or settled and committing
                time.sleep(rng.uniform(0, 0.03))
            worker.send_signal(signal.SIGKILL)
            worker.wait(timeout=10)
            parts_at_kills.append(in_flight)
            _assert_complete(engine, folder, numbers)  # nothing delivered that is not complete and in place
        finisher = _spawn(env, logs, "finisher", started)
        deadline = time.monotonic() + DEADLINE_SECONDS
        while _assert_complete(engine, folder, numbers) < TOTAL:
            assert finisher.poll() is None, f"the finishing worker exited\n{_tail(logs)}"
            assert time.monotonic() < deadline, f"not all delivered\n{_tail(logs)}"
            time.sleep(0.2)
        finisher.send_signal(signal.SIGTERM)
        assert finisher.wait(timeout=30) == 0, _tail(logs)

        # exactly one document and one sidecar per delivery, nothing else in the delivery folder
        names = sorted(p.name for p in folder.iterdir())
        documents = [n for n in names if not n.endswith(".sidecar.json")]
        assert sorted(documents) == sorted(f"{numbers[d]}__{d}-1.json" for d in numbers)
        assert len(names) == 2 * TOTAL
        with session_scope(engine) as session:
            events = session.execute(
                select(col(DeliveryEvent.delivery_id), col(DeliveryEvent.to_status))
            ).all()
            invoices = session.execute(select(col(InvoiceRecord.id))).all()
        assert len(invoices) == TOTAL
        delivered_events = Counter(str(e[0]) for e in events if e[1] == S.DELIVERED.value)
        assert delivered_events == Counter(dict.fromkeys(numbers, 1))
        assert sum(1 for count in parts_at_kills if count) == KILLS  # every kill hit a batch in flight
        print(f"\n[grouped crash safety] {TOTAL} delivered after {KILLS} kills with parts {parts_at_kills}")
    finally:
        engine.dispose()


def test_sigkilled_worker_between_write_and_commit_loses_no_delivered_document_on_sqlite(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    _grouped_crash_test(f"sqlite:///{tmp_path / 'outbox.sqlite3'}", tmp_path, processes)


@pytest.mark.skipif("postgresql" not in DATABASES, reason="GATEWAY_TEST_DATABASES leaves PostgreSQL out")
def test_sigkilled_worker_between_write_and_commit_loses_no_delivered_document_on_postgresql(
    tmp_path: Path, processes: list[subprocess.Popen[bytes]]
) -> None:
    schema = PostgresSchema()
    try:
        _grouped_crash_test(schema.url, tmp_path, processes)
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait(timeout=10)
        schema.drop()
