"""Uploaded files are parsed in the app's process pool: a slow file cannot stall other requests (issue 18).

Reproducer (before the pool): `POST /remittances` with a 7.6 MiB camt.054 — one entry of some 850,000
`<TxDtls/>` — read the file in a thread of the API process; lxml and the reader hold the GIL, and `/health`
did not answer for 25 s. Here a real uvicorn serves the app on loopback; one thread posts a camt of 300,000
`<TxDtls/>` (2.7 MB, seconds of CPU to read) while another polls `/health`: `/health` must answer several
times before the upload's answer arrives. Ordering is asserted, never a duration.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import uvicorn
from fastapi import FastAPI
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.api.parsing import ParsePool
from gateway.services.payments.remittances import RemittanceReading, read_remittance_file
from gateway.settings import Settings
from tests.mappings.test_linear_time import CAMT_HEAD, CAMT_TAIL, _camt_entry, camt_batch

TRANSACTIONS = 300_000


def _slow_camt() -> bytes:
    """One booked entry of 1.00 NOK with `TRANSACTIONS` empty TxDtls: read whole, one payment."""
    head = CAMT_HEAD + _camt_entry(1).split("<Btch>")[0]
    return (head + "<TxDtls/>" * TRANSACTIONS + CAMT_TAIL).encode()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def _served(app: FastAPI) -> Iterator[str]:
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


def test_health_answers_while_a_large_camt_is_parsed(
    settings: Settings, engine: Engine, auth: dict[str, Any]
) -> None:
    app = create_app(settings.model_copy(update={"parse_workers": 1}), engine)
    data = _slow_camt()
    with _served(app) as base:
        answer: list[httpx.Response] = []
        done = threading.Event()

        def upload() -> None:
            with httpx.Client(timeout=600) as client:
                answer.append(client.post(f"{base}/remittances?filename=big.xml", content=data, headers=auth))
            done.set()

        uploader = threading.Thread(target=upload)
        before_the_upload_answered = 0
        with httpx.Client(timeout=600) as client:
            uploader.start()
            while not done.is_set():
                health = client.get(f"{base}/health")
                assert health.status_code == 200, health.text
                if not done.is_set():
                    before_the_upload_answered += 1
        uploader.join()
        assert app.state.parse_pool.started, "the file was not parsed in the pool"
    [posted] = answer
    assert posted.status_code == 201, posted.text
    assert posted.json()["payments"][0]["amount"] == "1.00"
    assert before_the_upload_answered >= 5, before_the_upload_answered


def test_the_pool_reads_a_file_as_the_request_thread_would() -> None:
    """What crosses the process boundary (a document, or a refusal) is what reading in place gives."""
    good, _ = camt_batch(20_000)
    bad = good.replace(b"<NbOfTxs>", b"<NbOfTxs>9", 1)
    pool = ParsePool(1)
    try:
        for data in (good, bad, b"not a remittance file"):
            in_pool = _run(pool, data)
            assert in_pool == read_remittance_file(data)
        assert _run(pool, good).document is not None
        assert _run(pool, bad).error_where == "Ntfctn[1]/Ntry[1]"
    finally:
        pool.shutdown()
    assert not pool.started


def _run(pool: ParsePool, data: bytes) -> RemittanceReading:
    import asyncio

    return asyncio.run(pool.run(read_remittance_file, data))
