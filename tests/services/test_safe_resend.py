"""Safe fix-and-resend (issue 14): a correction touches only its channel's deliveries and names the one it
resends; every resend warns about — or cancels — the invoice's other deliveries still waiting.

The scene is the one operators meet: an e-mail to a wrong address bounced, and the receiver's print
fallback is queued, waiting in an open print batch, or already handed to the print house. Everything goes
through the real HTTP API and the real CLI, on SQLite and PostgreSQL; the print batches are the print
channel's own (folder transport), staged by the real worker.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import col
from typer.testing import CliRunner

import gateway.cli
from db.engine import session_scope
from db.models import BatchItem, Delivery, InvoiceRecord
from gateway.cli import app as cli_app
from gateway.samples import sample_invoice_json
from gateway.services.outbound.batches import close_due_batches
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver
from gateway.settings import Settings
from gateway.worker import Worker
from mappings.invoice import canonical_json
from outbox.queue import change_status, enqueue_delivery
from outbox.states import DeliveryStatus as S
from schemas.canonical import ReceiverProfile
from tests.channels.print.test_worker_batches import _pass_cutoff, _print_settings
from tests.outbox_helpers import delivery_events, delivery_row, take_to_sent

WRONG, RIGHT = "feil@kunde.no", "ap@kunde.no"


@pytest.fixture
def scene(engine: Engine, settings: Settings, tmp_path: Path) -> Settings:
    """Tenant acme, receiver C-1 (e-mail first, then paper), the print channel on a folder print house."""
    _print_settings(settings, tmp_path / "print-house")
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        put_receiver(
            session,
            "acme",
            ReceiverProfile(
                receiver_id="C-1",
                preferred_channel="email",
                fallback_channels=["print"],
                addresses={"email": WRONG},
            ),
        )
    return settings


def bounced(engine: Engine, settings: Settings, n: int, letter: str) -> tuple[str, str, str]:
    """Invoice n went by e-mail to the wrong address (`routing.address`) and bounced; the print fallback
    is `letter`: queued, batched (in a print batch that has not closed) or sent (handed over).

    The invoice's, the e-mail delivery's and the print delivery's ids."""
    invoice = sample_invoice_json(n, receiver_id="C-1")
    invoice["routing"]["address"] = WRONG
    [result] = accept_invoices(engine, "acme", [IntakeItem(invoice)], actor="erp", default_channel="folder")
    assert result.invoice_id is not None and result.outcome == "created", result.errors
    [email_id] = result.delivery_ids
    take_to_sent(engine, email_id, lambda attempt: f"<{email_id}-{attempt}@hub.test>", channels=["email"])
    with session_scope(engine) as session:
        email = session.get(Delivery, email_id)
        assert email is not None and email.address == WRONG
        change_status(
            session, email, S.DEVIATION, actor="mta", reason=f"e-mail bounced (DSN: failed): {WRONG}"
        )
        print_id = enqueue_delivery(  # what the worker's fallback queues
            session,
            invoice_id=result.invoice_id,
            tenant_id="acme",
            channel="print",
            chain_position=1,
            actor="w",
            reason="fallback: email ended deviation",
            details={"fallback_of": email_id},
        ).id
    if letter in {"batched", "sent"}:
        assert Worker(engine, settings, worker_id="w").run(once=True).outcomes["batched"] == 1
    if letter == "sent":
        _pass_cutoff(engine)
        with session_scope(engine) as session:
            close_due_batches(session)
        Worker(engine, settings, worker_id="w").run(once=True)
    assert delivery_row(engine, print_id).status == S(letter)
    return result.invoice_id, email_id, print_id


def _payload(engine: Engine, invoice_id: str) -> Any:
    with session_scope(engine) as session:
        record = session.get(InvoiceRecord, invoice_id)
        assert record is not None
        return canonical_json.parse(record.payload)


def _open_batch_items(engine: Engine, delivery_id: str) -> int:
    with session_scope(engine) as session:
        rows = session.execute(
            select(BatchItem).where(
                col(BatchItem.delivery_id) == delivery_id, col(BatchItem.batch_id).is_(None)
            )
        )
        return len(rows.all())


# --- correct: only the corrected channel, the delivery named ---------------------------------------------


def test_api_correct_email_readdresses_and_resends_the_email_never_the_letter_that_left(
    engine: Engine, scene: Settings, client: TestClient, auth: dict[str, str]
) -> None:
    invoice_id, email_id, print_id = bounced(engine, scene, 1, "sent")
    letter_history = len(delivery_events(engine, print_id))
    response = client.post(
        f"/invoices/{invoice_id}/corrections",
        json={"reason": "bounce: new address from the customer", "buyer_email": RIGHT, "resend": True},
        headers=auth,
    )
    assert response.status_code == 200, response.text
    correction = response.json()["correction"]
    assert correction["corrected"] == ["buyer.contact.email"] and correction["channels"] == ["email"]
    assert correction["readdressed"] == [
        {"delivery_id": email_id, "channel": "email", "before": WRONG, "after": RIGHT}
    ]
    assert correction["resend_target"] == {
        "delivery_id": email_id,
        "channel": "email",
        "address": RIGHT,
        "status": "queued",
        "attempt": 2,
    }
    assert correction["resent"] is True and correction["warnings"] == [] and correction["siblings"] == []

    email, letter = delivery_row(engine, email_id), delivery_row(engine, print_id)
    assert (email.status, email.attempt, email.address) == (S.QUEUED, 2, RIGHT)
    assert (letter.status, letter.attempt) == (S.SENT, 1)  # the letter that left is not sent again
    assert len(delivery_events(engine, print_id)) == letter_history  # nor touched at all
    invoice = _payload(engine, invoice_id)
    assert invoice.buyer.contact.email == RIGHT and invoice.routing.address == RIGHT
    [note] = [e for e in delivery_events(engine, email_id) if (e.reason or "").startswith("delivery data")]
    assert note.details is not None and note.details["readdressed"] == correction["readdressed"]


def test_api_correct_names_the_target_warns_about_a_waiting_letter_and_cancels_it_when_asked(
    engine: Engine, scene: Settings, client: TestClient, auth: dict[str, str]
) -> None:
    first, first_email, first_letter = bounced(engine, scene, 1, "batched")
    second, second_email, second_letter = bounced(engine, scene, 2, "batched")

    # Without resend: the target is named, the letter in the open batch is reported, nothing moves.
    named = client.post(
        f"/invoices/{first}/corrections", json={"reason": "new address", "buyer_email": RIGHT}, headers=auth
    )
    assert named.status_code == 200, named.text
    correction = named.json()["correction"]
    assert correction["resent"] is False and correction["resend_target"]["delivery_id"] == first_email
    assert correction["resend_target"]["status"] == "deviation"
    [warning] = correction["warnings"]
    assert warning.startswith(f"delivery {first_letter} via print is still batched in an open print batch")
    assert delivery_row(engine, first_email).status == S.DEVIATION
    assert delivery_row(engine, first_letter).status == S.BATCHED
    refused = client.post(
        f"/invoices/{first}/corrections",
        json={"reason": "x", "buyer_email": "other@kunde.no", "cancel_others": True},
        headers=auth,
    )
    assert refused.status_code == 422 and refused.json()["errors"][0]["field"] == "cancel_others"

    # resend + cancel_others: the e-mail goes again, the letter leaves its batch, cancelled with who and why.
    cancelled = client.post(
        f"/invoices/{second}/corrections",
        json={"reason": "new address", "buyer_email": RIGHT, "resend": True, "cancel_others": True},
        headers=auth,
    )
    assert cancelled.status_code == 200, cancelled.text
    correction = cancelled.json()["correction"]
    assert correction["siblings"] == [
        {
            "delivery_id": second_letter,
            "channel": "print",
            "address": None,
            "waited_as": "batched",
            "status": "cancelled",
            "cancelled": True,
        }
    ]
    assert correction["warnings"] == [
        f"delivery {second_letter} via print was batched in an open print batch: cancelled"
    ]
    assert delivery_row(engine, second_letter).status == S.CANCELLED
    assert _open_batch_items(engine, second_letter) == 0
    last = delivery_events(engine, second_letter)[-1]
    assert (last.to_status, last.actor) == ("cancelled", "api:erp")
    assert last.reason is not None and last.reason.startswith(
        f"cancelled by api:erp: the invoice went again as delivery {second_email} via email"
    )
    assert last.details is not None and last.details["cancelled_for"] == second_email
    assert delivery_row(engine, second_email).status == S.QUEUED
    # the letter of the first invoice is still in its batch
    assert _open_batch_items(engine, first_letter) == 1


def test_api_correct_refuses_a_resend_with_no_delivery_on_the_corrected_channel(
    engine: Engine, scene: Settings, client: TestClient, auth: dict[str, str]
) -> None:
    invoice = sample_invoice_json(3)
    invoice["routing"] = {"channel": "print"}
    [result] = accept_invoices(engine, "acme", [IntakeItem(invoice)], actor="erp", default_channel="folder")
    response = client.post(
        f"/invoices/{result.invoice_id}/corrections",
        json={"reason": "x", "buyer_email": RIGHT, "resend": True},
        headers=auth,
    )
    assert response.status_code == 409
    assert "has no delivery on email to send again (its deliveries: print (queued))" in response.text
    assert _payload(engine, result.invoice_id or "").buyer.contact.email != RIGHT  # nothing was written


# --- resend: the API routes and the CLI warn, and cancel when asked ------------------------------------


def test_api_resends_warn_and_cancel(
    engine: Engine, scene: Settings, client: TestClient, auth: dict[str, str]
) -> None:
    second, second_email, second_letter = bounced(engine, scene, 2, "batched")
    _first, first_email, first_letter = bounced(engine, scene, 1, "queued")  # after: the worker ran before

    warned = client.post(
        f"/deliveries/{first_email}/resend", json={"reason": "again", "address": RIGHT}, headers=auth
    )
    assert warned.status_code == 202, warned.text
    body = warned.json()
    assert body["id"] == first_email and body["attempt"] == 2 and body["address"] == RIGHT
    assert [s["delivery_id"] for s in body["siblings"]] == [first_letter]
    assert body["warnings"] == [
        f"delivery {first_letter} via print is still queued: it goes out too unless cancelled "
        "(cancel_others, --cancel-others)"
    ]
    assert delivery_row(engine, first_letter).status == S.QUEUED

    cancelled = client.post(
        f"/invoices/{second}/resend",
        json={"reason": "customer asked for e-mail", "channel": "email", "to": RIGHT, "cancel_others": True},
        headers=auth,
    )
    assert cancelled.status_code == 202, cancelled.text
    assert cancelled.json()["id"] == second_email
    assert [(s["delivery_id"], s["cancelled"]) for s in cancelled.json()["siblings"]] == [
        (second_letter, True)
    ]
    assert delivery_row(engine, second_letter).status == S.CANCELLED


def test_api_deviation_resend_cancels_others(
    engine: Engine, scene: Settings, client: TestClient, auth: dict[str, str]
) -> None:
    invoice = sample_invoice_json(4, receiver_id="C-1")
    [result] = accept_invoices(engine, "acme", [IntakeItem(invoice)], actor="erp", default_channel="folder")
    [email_id] = result.delivery_ids
    take_to_sent(engine, email_id, lambda attempt: f"m-{attempt}", channels=["email"])
    with session_scope(engine) as session:
        email = session.get(Delivery, email_id)
        assert email is not None
        change_status(
            session, email, S.DEVIATION, actor="mta", reason=f"e-mail bounced (DSN: failed): {WRONG}"
        )
        letter = enqueue_delivery(  # an operator's own extra letter: the deviation stays open
            session,
            invoice_id=result.invoice_id or "",
            tenant_id="acme",
            channel="print",
            actor="ops",
            reason="x",
        ).id
    [deviation] = client.get("/deviations", params={"state": "open"}, headers=auth).json()["items"]
    response = client.post(
        f"/deviations/{deviation['id']}/resend",
        json={"reason": "new address", "address": RIGHT, "cancel_others": True},
        headers=auth,
    )
    assert response.status_code == 202, response.text
    assert [(s["delivery_id"], s["status"]) for s in response.json()["siblings"]] == [(letter, "cancelled")]
    assert delivery_row(engine, letter).status == S.CANCELLED


@pytest.fixture
def cli(scene: Settings, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", scene.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(scene.data_dir))
    monkeypatch.setattr(gateway.cli.console, "width", 400)
    return CliRunner()


def test_cli_correct_and_resend(engine: Engine, scene: Settings, cli: CliRunner) -> None:
    third, third_email, third_letter = bounced(engine, scene, 3, "sent")  # the worker runs: letters first
    first, first_email, first_letter = bounced(engine, scene, 1, "batched")
    second, second_email, second_letter = bounced(engine, scene, 2, "queued")

    named = cli.invoke(
        cli_app, ["correct", first, "--tenant", "acme", "--reason", "bounce", "--email", RIGHT]
    )
    assert named.exit_code == 0, named.output
    assert f"delivery {first_email} via email now goes to {RIGHT}" in named.output
    assert f"--resend sends delivery {first_email} via email to {RIGHT} (now deviation)" in named.output
    assert (
        f"warning: delivery {first_letter} via print is still batched in an open print batch" in named.output
    )
    assert delivery_row(engine, first_letter).status == S.BATCHED

    resent = cli.invoke(
        cli_app,
        [
            "correct",
            second,
            "--tenant",
            "acme",
            "--reason",
            "bounce",
            "--email",
            RIGHT,
            "--resend",
            "--cancel-others",
        ],
    )
    assert resent.exit_code == 0, resent.output
    assert f"delivery {second_email} via email to {RIGHT}: queued again (attempt 2)" in resent.output
    assert f"warning: delivery {second_letter} via print was queued: cancelled" in resent.output
    assert delivery_row(engine, second_letter).status == S.CANCELLED
    assert delivery_events(engine, second_letter)[-1].actor.startswith("cli:")

    # the letter of the third invoice left already: the e-mail goes again, the letter stays as it was
    left = cli.invoke(
        cli_app, ["correct", third, "--tenant", "acme", "--reason", "bounce", "--email", RIGHT, "--resend"]
    )
    assert left.exit_code == 0, left.output
    assert "warning" not in left.output
    assert (delivery_row(engine, third_letter).status, delivery_row(engine, third_letter).attempt) == (
        S.SENT,
        1,
    )
    assert delivery_row(engine, third_email).status == S.QUEUED


def test_cli_resend_warns_and_cancels(engine: Engine, scene: Settings, cli: CliRunner) -> None:
    _first, first_email, first_letter = bounced(engine, scene, 1, "batched")
    _second, second_email, second_letter = bounced(engine, scene, 2, "batched")
    warned = cli.invoke(cli_app, ["resend", first_email, "--reason", "again", "--to", RIGHT])
    assert warned.exit_code == 0, warned.output
    assert f"delivery {first_email} queued again via email (attempt 2)" in warned.output
    assert (
        f"warning: delivery {first_letter} via print is still batched in an open print batch" in warned.output
    )
    assert delivery_row(engine, first_letter).status == S.BATCHED

    cancelled = cli.invoke(cli_app, ["resend", second_email, "--to", RIGHT, "--cancel-others"])
    assert cancelled.exit_code == 0, cancelled.output
    assert f"warning: delivery {second_letter} via print was batched in an open print batch: cancelled" in (
        cancelled.output
    )
    assert delivery_row(engine, second_letter).status == S.CANCELLED
    assert _open_batch_items(engine, second_letter) == 0
