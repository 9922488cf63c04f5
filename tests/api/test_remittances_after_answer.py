"""`POST /remittances` answers with the receipt and matches after the answer (issue 22); `?wait=true` matches
before it. Through the real API on SQLite and PostgreSQL: the answer lists the payments `new` with
`matching: {"queued": …}`, the decisions are read back by `GET /payments`; a busy lease, a failed run and
`match=false` leave the payments `new` for the worker, whose step then matches them.

A TestClient returns once the app's background task has run too, so the tests that must see the answer
arrive BEFORE matching ends serve the app with a real uvicorn on loopback and hold the run at a gate: the
ordering is asserted, never a duration.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

import httpx
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.services.payments import intake
from gateway.services.payments import matching_runs as payment_service
from gateway.services.payments.intake import MATCHING_QUEUED
from gateway.settings import Settings
from gateway.worker import Worker
from tests.api.test_parse_pool import _served
from tests.payment_scenarios import invoice, payment_status, receive
from tests.remittance_files import Tx, camt054
from tests.services.test_remittance_zips import build_zip

#: How long a test waits for what the server does after its answer before it fails.
PATIENCE_SECONDS = 60.0


def _kid_file(invoices: list[dict[str, Any]], message_id: str) -> bytes:
    """One payment per invoice: its whole amount with its KID (the engine applies each)."""
    return camt054(
        [
            Tx(Decimal(view["payable_amount"]), kid=view["payment_reference"], reference=f"{message_id}-{n}")
            for n, view in enumerate(invoices)
        ],
        message_id=message_id,
    )


def _statuses(client: TestClient, auth: dict[str, Any], file_id: str) -> list[str]:
    items = client.get("/payments", params={"file_id": file_id}, headers=auth).json()["items"]
    return [item["status"] for item in items]


def test_the_answer_comes_with_the_receipt_and_the_payments_are_matched_after_it(
    client: TestClient, auth: dict[str, Any]
) -> None:
    invoices = [invoice(client, auth, n) for n in (1, 2, 3)]
    answer = receive(client, auth, _kid_file(invoices, "AFTER-1"), "after.xml", wait=False)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["matching"] == {"queued": MATCHING_QUEUED}
    assert body["outcome"] == "accepted"
    assert [(p["status"], p["invoices"]) for p in body["payments"]] == [("new", [])] * 3
    assert answer.headers["Location"] == f"/remittances/{body['file_id']}"
    # read back: matched once the answer was sent
    assert _statuses(client, auth, body["file_id"]) == ["applied"] * 3
    assert [payment_status(client, auth, view["id"])["payment_status"] for view in invoices] == ["paid"] * 3
    detail = client.get(f"/remittances/{body['file_id']}", headers=auth).json()
    assert [item["status"] for item in detail["payment_items"]] == ["applied"] * 3


def test_wait_true_answers_with_the_decisions(client: TestClient, auth: dict[str, Any]) -> None:
    invoices = [invoice(client, auth, n) for n in (1, 2)]
    answer = receive(client, auth, _kid_file(invoices, "WAIT-1"), "wait.xml", wait=True)
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["matching"]["payments"] == 2 and body["matching"]["outcomes"] == {"applied": 2}
    assert [(p["status"], p["invoices"]) for p in body["payments"]] == [
        ("applied", [view["number"]]) for view in invoices
    ]


def test_a_repeated_file_queues_nothing(client: TestClient, auth: dict[str, Any]) -> None:
    data = _kid_file([invoice(client, auth, 1)], "AGAIN-1")
    assert receive(client, auth, data, "first.xml", wait=False).status_code == 201
    again = receive(client, auth, data, "first.xml", wait=False)
    assert again.status_code == 200, again.text
    assert "matching" not in again.json()  # nothing new was booked: no run queued
    assert [p["status"] for p in again.json()["payments"]] == ["applied"]  # as booked and matched then


def test_a_busy_lease_leaves_the_payments_new_for_the_worker(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    invoices = [invoice(client, auth, n) for n in (1, 2)]
    assert payment_service.acquire_lease(engine, "acme", "someone-else")
    try:
        answer = receive(client, auth, _kid_file(invoices, "BUSY-1"), "busy.xml", wait=False)
        assert answer.status_code == 201, answer.text
        assert answer.json()["matching"] == {"queued": MATCHING_QUEUED}
        file_id = answer.json()["file_id"]
        assert _statuses(client, auth, file_id) == ["new", "new"]  # the run after the answer found it busy
    finally:
        payment_service.release_lease(engine, "acme", "someone-else")
    assert _statuses(client, auth, file_id) == ["new", "new"]  # nobody else matches them...
    Worker(engine, settings, worker_id="w").run(once=True)  # ...but the worker's periodic step
    assert _statuses(client, auth, file_id) == ["applied", "applied"]
    assert [payment_status(client, auth, view["id"])["payment_status"] for view in invoices] == ["paid"] * 2


def test_a_run_that_fails_after_the_answer_leaves_the_payments_new_for_the_worker(
    client: TestClient,
    auth: dict[str, Any],
    engine: Engine,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    invoices = [invoice(client, auth, n) for n in (1, 2)]

    def failing(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("the process died here")

    with monkeypatch.context() as patched:
        patched.setattr(payment_service, "match_payment", failing)
        answer = receive(client, auth, _kid_file(invoices, "FAIL-1"), "fail.xml", wait=False)
    assert answer.status_code == 201, answer.text  # the caller had its receipt before the run failed
    file_id = answer.json()["file_id"]
    assert _statuses(client, auth, file_id) == ["new", "new"]
    assert any("after the answer failed" in record.getMessage() for record in caplog.records)
    assert payment_service.acquire_lease(engine, "acme", "next")  # the failed run gave its lease back
    payment_service.release_lease(engine, "acme", "next")
    Worker(engine, settings, worker_id="w").run(once=True)
    assert _statuses(client, auth, file_id) == ["applied", "applied"]


def test_match_false_books_without_matching(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    invoices = [invoice(client, auth, n) for n in (1, 2)]
    for wait in ("false", "true"):
        answer = client.post(
            "/remittances", params={"match": "false", "wait": wait, "filename": f"later-{wait}.xml"},
            content=_kid_file(invoices, f"LATER-{wait}"), headers={**auth, "Content-Type": "application/xml"},
        )  # fmt: skip
        assert answer.status_code == 201, answer.text
        assert "matching" not in answer.json()
        assert [p["status"] for p in answer.json()["payments"]] == ["new", "new"]
        assert _statuses(client, auth, answer.json()["file_id"]) == ["new", "new"]  # nothing ran after it
    assert [payment_status(client, auth, view["id"])["payment_status"] for view in invoices] == ["unpaid"] * 2
    Worker(engine, settings, worker_id="w").run(once=True)  # the worker's periodic matching takes them
    assert sorted(p["status"] for p in client.get("/payments", headers=auth).json()["items"]) == [
        *["applied"] * 2,
        *["exception"] * 2,  # the same KIDs again, the invoices paid: a person looks
    ]


def test_a_statement_zip_is_answered_at_once_and_its_members_matched_after(
    client: TestClient, auth: dict[str, Any]
) -> None:
    invoices = [invoice(client, auth, n) for n in (1, 2)]
    members = [(f"camt054-{n}.xml", _kid_file([view], f"ZIP-{n}")) for n, view in enumerate(invoices, 1)]
    answer = client.post(
        "/remittances", params={"filename": "day.zip"}, content=build_zip(members),
        headers={**auth, "Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["matching"] == {"queued": MATCHING_QUEUED}
    assert [f["payments"][0]["status"] for f in body["files"]] == ["new", "new"]
    assert [_statuses(client, auth, f["file_id"]) for f in body["files"]] == [["applied"], ["applied"]]


# --- against a real server: the answer does not wait for matching ---------------------------------------


def _until(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        assert time.monotonic() < deadline, f"still waiting for {what}"
        time.sleep(0.02)


class _Gate:
    """Holds a matching run when it renews its lease before its first batch (the lease held, no transaction
    open: SQLite's one writer stays free for other uploads) until opened; records what each run after an
    answer did."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.open = threading.Event()
        self.held = threading.Event()
        self.runs: list[str] = []
        holders: set[str] = set()
        real_acquire, real_run = payment_service.acquire_lease, intake.run_matching

        def held_acquire(engine: Engine, tenant_id: str, holder: str, seconds: float = 600.0) -> bool:
            taken = real_acquire(engine, tenant_id, holder, seconds)
            if taken and holder in holders and not self.open.is_set():  # a renewal: the run is under way
                self.held.set()
                assert self.open.wait(PATIENCE_SECONDS), "the test never opened the gate"
            holders.add(holder)
            return taken

        def recorded_run(*args: Any, **kwargs: Any) -> payment_service.MatchRun:
            try:
                run = real_run(*args, **kwargs)
            except payment_service.MatchingBusy:
                self.runs.append("busy")
                raise
            self.runs.append(f"matched {run.payments}")
            return run

        monkeypatch.setattr(payment_service, "acquire_lease", held_acquire)
        monkeypatch.setattr(intake, "run_matching", recorded_run)


def test_the_answer_arrives_while_matching_still_runs_and_a_file_posted_meanwhile_is_matched_next(
    settings: Settings, engine: Engine, auth: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    with TestClient(create_app(settings, engine)) as client:
        first = [invoice(client, auth, n) for n in (1, 2)]
        second = [invoice(client, auth, n) for n in (3, 4, 5)]
    gate = _Gate(monkeypatch)
    with _served(create_app(settings, engine)) as base, httpx.Client(base_url=base, headers=auth) as http:

        def statuses() -> list[str]:
            return sorted(p["status"] for p in http.get("/payments").json()["items"])

        answer = http.post("/remittances", params={"filename": "a.xml"}, content=_kid_file(first, "A"))
        assert answer.status_code == 201, answer.text
        assert [p["status"] for p in answer.json()["payments"]] == ["new", "new"]
        _until(gate.held.is_set, "the run after the answer to start")  # it holds the lease, at the gate
        # another upload meanwhile: answered too; its own run finds the lease busy
        other = http.post("/remittances", params={"filename": "b.xml"}, content=_kid_file(second, "B"))
        assert other.status_code == 201, other.text
        assert other.json()["matching"] == {"queued": MATCHING_QUEUED}
        _until(lambda: gate.runs == ["busy"], "the second upload's run to find the lease busy")
        assert statuses() == ["new"] * 5  # both answered, nothing decided yet
        gate.open.set()
        # the first run decides its file, then finds the second file's payments new and runs again
        _until(lambda: statuses() == ["applied"] * 5, "every payment to be decided")
        assert gate.runs == ["busy", "matched 2", "matched 3"]
