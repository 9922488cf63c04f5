"""AvtaleGiro claim files under counted numbers (SQLite and PostgreSQL): every closed batch gets the data
transmitter's next transmission number and assignment numbers, fixed once and committed before the
hand-over, so a retried try — also after a crash between the numbering and the hand-over — writes the same
numbers; and the counter stops at 9,999,999 with a clear error instead of wrapping (Nets refuses a number
used before).

The worker and the outbox are the real ones; Nets is a drop folder the test reads as Nets would, with
netsgiro.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import netsgiro
import pytest
from sqlalchemy import Engine, select, update
from sqlmodel import col

from channels import create_channel
from channels.avtalegiro import AvtaleGiroChannel
from channels.base import BatchResult, OutboundBatch
from db.engine import session_scope
from db.models import AvtaleGiroCounter, AvtaleGiroTransmission, Batch, BatchItem, utcnow
from gateway.samples import sample_invoice_json
from gateway.services.outbound import deliveries as delivery_service
from gateway.services.outbound.avtalegiro import import_mandates
from gateway.services.outbound.avtalegiro_transmissions import (
    NUMBER_LIMIT,
    TransmissionNumbersExhausted,
    next_number,
    numbers_for_batch,
)
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker import Worker
from tests.conftest import SHARED

AGREEMENTS = SHARED / "samples" / "ocr" / "netsgiro_avtalegiro_agreements.txt"
#: Payers with an active mandate in the shared agreements file.
KIDS = ("000112000507155", "001006300507304")
ACCOUNT = "86011117947"
TRANSMITTER = "12345678"
OSLO = ZoneInfo("Europe/Oslo")


@pytest.fixture
def nets(engine: Engine, settings: Settings, tmp_path: Path) -> Path:
    """Nets' drop folder, the AvtaleGiro channel writing into it, and the payers' mandates."""
    root = tmp_path / "nets"
    settings.channels = {
        "avtalegiro": {
            "directory": str(root),
            "data_transmitter": TRANSMITTER,
            "agreements": {"default": {"assignment_account": ACCOUNT, "agreement_id": "123456789"}},
            "retry": {"base_seconds": 1, "jitter": False, "max_tries": 5},
        }
    }
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        import_mandates(session, "acme", AGREEMENTS.read_bytes(), source_file=AGREEMENTS.name)
    return root / "avtalegiro" / "out"


def stage_claim(engine: Engine, settings: Settings, n: int) -> str:
    """One invoice (sample `n`) routed to AvtaleGiro and staged by the worker; its cut-off then passed."""
    channel = create_channel("avtalegiro", settings.channel_settings("avtalegiro"))
    assert isinstance(channel, AvtaleGiroChannel)
    payload = sample_invoice_json(n)
    payload["routing"] = {"channel": "avtalegiro"}
    payload["due_date"] = (
        channel.next_cutoff("acme").astimezone(OSLO).date() + dt.timedelta(days=30)
    ).isoformat()
    payload["payment_means"][0]["payment_id"] = KIDS[n % 2]
    (result,) = accept_invoices(engine, "acme", [IntakeItem(payload)], actor="test", default_channel="folder")
    assert result.outcome == "created", result.errors
    Worker(engine, settings, worker_id="stager").run(once=True)
    past = utcnow() - dt.timedelta(seconds=1)
    with session_scope(engine) as session:
        session.execute(update(BatchItem).values(due_at=past))
    return result.invoice_id or ""


def hand_over(engine: Engine, settings: Settings) -> dict[str, int]:
    """One worker pass with every waiting batch due now (a retry's back-off skipped)."""
    with session_scope(engine) as session:
        session.execute(update(Batch).values(next_attempt_at=utcnow() - dt.timedelta(seconds=1)))
    outcomes: dict[str, int] = dict(Worker(engine, settings, worker_id="handover").run(once=True).outcomes)
    return outcomes


def numbers_in(path: Path) -> tuple[str, str, list[str]]:
    """What Nets reads: the data transmitter, the transmission number and the assignment numbers."""
    transmission = netsgiro.parse(path.read_bytes().decode("iso-8859-1"))
    return transmission.data_transmitter, transmission.number, [a.number for a in transmission.assignments]


def rows(engine: Engine) -> list[tuple[str, int, int | None]]:
    with session_scope(engine) as session:
        found = session.execute(
            select(AvtaleGiroTransmission).order_by(col(AvtaleGiroTransmission.transmission_number))
        ).scalars()
        return [(row.batch_id, row.transmission_number, row.claims_assignment) for row in found]


def counter(engine: Engine, kind: str = "transmission") -> int | None:
    with session_scope(engine) as session:
        row = session.get(AvtaleGiroCounter, (TRANSMITTER, kind))
        return row.last_value if row is not None else None


def status_of(engine: Engine, invoice_id: str) -> str:
    with session_scope(engine) as session:
        view: dict[str, Any] = delivery_service.invoice_view(session, "acme", invoice_id)
    return str(view["deliveries"][0]["status"])


# --- through the worker ------------------------------------------------------------------------------------


def test_two_batches_get_different_consecutive_numbers(
    engine: Engine, settings: Settings, nets: Path
) -> None:
    stage_claim(engine, settings, 1)
    assert hand_over(engine, settings) == {"batch sent": 1}
    stage_claim(engine, settings, 2)  # the same cut-off again: a second batch, a second file
    assert hand_over(engine, settings) == {"batch sent": 1}
    first, second = sorted(nets.iterdir(), key=lambda path: path.stat().st_mtime_ns)
    assert numbers_in(first) == (TRANSMITTER, "0000001", ["0000001"])
    assert numbers_in(second) == (TRANSMITTER, "0000002", ["0000002"])
    assert [(number, assignment) for _batch, number, assignment in rows(engine)] == [(1, 1), (2, 2)]
    assert [batch_id for batch_id, _n, _a in rows(engine)] == [f"{first.stem}", f"{second.stem}"]


def test_a_retried_hand_over_of_the_same_batch_writes_the_same_number(
    engine: Engine, settings: Settings, nets: Path
) -> None:
    invoice_id = stage_claim(engine, settings, 1)
    nets.parent.mkdir(parents=True)
    nets.write_text("a file where the outgoing folder should be (the share is not mounted yet)")
    assert hand_over(engine, settings) == {"batch retry": 1}
    assert status_of(engine, invoice_id) == "batched"
    ((batch_id, number, assignment),) = rows(engine)  # numbered before the failed try, and kept
    assert (number, assignment) == (1, 1)
    nets.unlink()
    assert hand_over(engine, settings) == {"batch sent": 1}
    (path,) = nets.iterdir()
    assert path.stem == batch_id
    assert numbers_in(path) == (TRANSMITTER, "0000001", ["0000001"])
    assert rows(engine) == [(batch_id, 1, 1)] and counter(engine) == 1  # no number spent on the retry
    assert status_of(engine, invoice_id) == "sent"


def test_a_crash_after_the_numbering_and_before_the_hand_over_reuses_the_number(
    engine: Engine, settings: Settings, nets: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    invoice_id = stage_claim(engine, settings, 1)
    handed: list[OutboundBatch] = []

    def crash(self: AvtaleGiroChannel, batch: OutboundBatch) -> BatchResult:
        handed.append(batch)
        raise RuntimeError("the worker died before the claim file was written")

    with monkeypatch.context() as patched:
        patched.setattr(AvtaleGiroChannel, "send_batch", crash)
        assert hand_over(engine, settings) == {"batch retry": 1}
    (crashed,) = handed
    assert crashed.transmission is not None and crashed.transmission.transmission == "0000001"
    assert not nets.exists() and status_of(engine, invoice_id) == "batched"
    assert rows(engine) == [(crashed.batch_id, 1, 1)]  # committed before the channel was called
    stage_claim(engine, settings, 2)  # another batch is numbered meanwhile: it gets the next number
    assert hand_over(engine, settings) == {"batch sent": 2}
    by_batch = {path.stem: numbers_in(path) for path in nets.iterdir()}
    assert by_batch[crashed.batch_id] == (TRANSMITTER, "0000001", ["0000001"])
    (other,) = set(by_batch) - {crashed.batch_id}
    assert by_batch[other] == (TRANSMITTER, "0000002", ["0000002"])
    assert counter(engine) == 2 and counter(engine, "assignment") == 2
    assert status_of(engine, invoice_id) == "sent"


def test_the_last_number_is_used_and_then_the_batch_fails_naming_the_transmitter(
    engine: Engine, settings: Settings, nets: Path
) -> None:
    with session_scope(engine) as session:
        session.add(
            AvtaleGiroCounter(data_transmitter=TRANSMITTER, kind="transmission", last_value=9_999_998)
        )
    stage_claim(engine, settings, 1)
    assert hand_over(engine, settings) == {"batch sent": 1}
    (path,) = nets.iterdir()
    assert numbers_in(path)[1] == "9999999"
    refused = stage_claim(engine, settings, 2)
    assert hand_over(engine, settings) == {"batch failed": 1}
    assert [p.name for p in nets.iterdir()] == [path.name]  # no second file, no number wrapped to 0000000
    with session_scope(engine) as session:
        failed = session.execute(select(Batch).where(col(Batch.status) == "failed")).scalar_one()
        assert failed.last_error is not None
        assert "AvtaleGiro transmission numbers of data transmitter 12345678 are used up" in failed.last_error
        assert "agree a new data transmitter id with Nets" in failed.last_error
        assert session.get(AvtaleGiroTransmission, failed.id) is None
    assert counter(engine) == NUMBER_LIMIT  # the refused count was rolled back
    assert status_of(engine, refused) == "deviation"


# --- the counting itself -----------------------------------------------------------------------------------


def closed_batch(engine: Engine, batch_id: str) -> None:
    now = utcnow()
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        session.add(
            Batch(
                id=batch_id, tenant_id="acme", channel="avtalegiro", batch_key="default", cutoff_at=now,
                status="ready", item_count=1, next_attempt_at=now, created_at=now, updated_at=now,
            )
        )  # fmt: skip


def test_a_batch_counts_only_the_assignments_its_file_holds_and_keeps_them(engine: Engine) -> None:
    for batch_id in ("claims", "both", "withdrawals", "elsewhere"):
        closed_batch(engine, batch_id)
    with session_scope(engine) as session:
        claims = numbers_for_batch(
            session, batch_id="claims", data_transmitter=TRANSMITTER, claims=True, cancellations=False
        )
        both = numbers_for_batch(
            session, batch_id="both", data_transmitter=TRANSMITTER, claims=True, cancellations=True
        )
        withdrawals = numbers_for_batch(
            session, batch_id="withdrawals", data_transmitter=TRANSMITTER, claims=False, cancellations=True
        )
        elsewhere = numbers_for_batch(
            session, batch_id="elsewhere", data_transmitter="87654321", claims=True, cancellations=False
        )
        found = [
            (row.transmission_number, row.claims_assignment, row.cancellations_assignment)
            for row in (claims, both, withdrawals, elsewhere)
        ]
    assert found == [(1, 1, None), (2, 2, 3), (3, None, 4), (1, 1, None)]  # per data transmitter
    with session_scope(engine) as session:
        again = numbers_for_batch(
            session, batch_id="both", data_transmitter=TRANSMITTER, claims=True, cancellations=True
        )
        assert (again.transmission_number, again.claims_assignment, again.cancellations_assignment) == (
            2,
            2,
            3,
        )
    assert counter(engine) == 3 and counter(engine, "assignment") == 4


def test_a_used_up_counter_is_an_error_not_a_wrap_around(engine: Engine) -> None:
    with session_scope(engine) as session:
        assert next_number(session, TRANSMITTER, "assignment") == 1
        session.execute(update(AvtaleGiroCounter).values(last_value=NUMBER_LIMIT))
    used_up = pytest.raises(TransmissionNumbersExhausted, match=r"used up \(the last was 9999999\)")
    with used_up, session_scope(engine) as session:
        next_number(session, TRANSMITTER, "assignment")
    assert counter(engine, "assignment") == NUMBER_LIMIT
