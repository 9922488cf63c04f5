"""E-mail bounces end to end through a real Postfix (tests/mta.py): the gateway's email channel hands the
invoice to Postfix on loopback, Postfix relays it to an aiosmtpd "remote" MTA, and Postfix's own DSN comes
back to the bounce domain's Maildir; `receive_bounce` then moves the delivery.

- unknown user: the remote refuses at RCPT with 550 5.1.1 → Postfix bounces (Action: failed,
  Status: 5.1.1) → the delivery becomes `deviation` with the diagnostic;
- known user: the remote accepts; it does not offer DSN, so Postfix reports NOTIFY=SUCCESS as
  Action: relayed, Status: 2.0.0 → handed on is not delivered: the delivery stays `sent`.

The first test checks the rig itself with stdlib smtplib, independent of the gateway.
"""

from __future__ import annotations

import smtplib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.samples import sample_invoice_json
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver
from gateway.settings import Settings
from gateway.worker import Worker
from schemas.canonical import ReceiverProfile
from tests.mta import PostfixRig, dsn_reports, postfix_rig

TENANT = "acme"


@pytest.fixture(scope="module")
def rig(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostfixRig]:
    """One private Postfix for the module (~2 s to start); DSNs are told apart by their delivery id."""
    with postfix_rig(tmp_path_factory.mktemp("mta")) as running:
        yield running


def _recipients(message: Any) -> list[tuple[str, str, str]]:
    return [(r["Action"], r["Status"], r.get("Diagnostic-Code", "")) for r in dsn_reports(message)]


def test_rig_returns_real_postfix_dsns(rig: PostfixRig) -> None:
    """The rig alone, with stdlib smtplib: DSN advertised, and Postfix's failed / relayed / delayed DSNs."""
    started = time.monotonic()
    with smtplib.SMTP("127.0.0.1", rig.smtpd_port, timeout=10) as smtp:
        smtp.ehlo("erp.hub.example")
        assert smtp.has_extn("dsn"), smtp.esmtp_features
        for envid, user in (("RIG-FAIL", "ukjent"), ("RIG-OK", "kunde"), ("RIG-SLOW", "treg")):
            smtp.sendmail(
                f"bounces+{envid}@{rig.bounce_domain}",
                [rig.address(user)],
                f"From: faktura@seller.example\r\nTo: {rig.address(user)}\r\nSubject: {envid}\r\n"
                "\r\nTest\r\n",
                mail_options=["RET=HDRS", f"ENVID={envid}"],
                rcpt_options=["NOTIFY=SUCCESS,FAILURE,DELAY"],
            )
    failed = rig.wait_for_dsn(20, envid="RIG-FAIL")
    assert failed["Subject"] == "Undelivered Mail Returned to Sender"
    assert failed["X-Envelope-To"] == f"bounces+RIG-FAIL@{rig.bounce_domain}"
    [(action, status, diagnostic)] = _recipients(failed)
    assert (action, status) == ("failed", "5.1.1")
    assert diagnostic.startswith("smtp; 550 5.1.1 <ukjent@remote.example>")

    relayed = rig.wait_for_dsn(20, envid="RIG-OK")
    assert relayed["Subject"] == "Successful Mail Delivery Report"
    assert _recipients(relayed) == [("relayed", "2.0.0", "smtp; 250 2.0.0 OK stored")]

    delayed = rig.wait_for_dsn(20, envid="RIG-SLOW")
    assert delayed["Subject"] == "Delayed Mail (still being retried)"
    [(action, status, _)] = _recipients(delayed)
    assert (action, status) == ("delayed", "4.3.0")
    assert time.monotonic() - started < 20  # in practice well under a second each
    assert [m["rcpt_tos"] for m in rig.remote_received if b"RIG-OK" in m["data"]] == [
        ["kunde@remote.example"]
    ]


# ---- through the real gateway: email channel → Postfix → DSN → receive_bounce ----------------------------


def _send_by_email(engine: Engine, settings: Settings, rig: PostfixRig, user: str) -> dict[str, Any]:
    settings.channels = {
        "email": {
            "host": "127.0.0.1",
            "port": rig.smtpd_port,
            "security": "none",
            "from_address": "faktura@seller.example",
            "bounce_domain": rig.bounce_domain,
        }
    }
    with session_scope(engine) as session:
        ensure_tenant(session, TENANT)
        put_receiver(
            session,
            TENANT,
            ReceiverProfile(
                receiver_id="C-MAIL",
                preferred_channel="email",
                addresses={"email": rig.address(user)},
            ),
        )
    results = accept_invoices(
        engine,
        TENANT,
        [IntakeItem(sample_invoice_json(1, receiver_id="C-MAIL"))],
        actor="test",
        default_channel="folder",
    )
    assert [r.outcome for r in results] == ["created"], [r.errors for r in results]
    Worker(engine, settings, worker_id="w").run(once=True)
    [delivery] = _view(engine, results[0].invoice_id or "")["deliveries"]
    assert (delivery["channel"], delivery["status"]) == ("email", "sent"), (
        delivery["last_error"],
        rig.log()[-3000:],
    )
    return delivery


def _view(engine: Engine, invoice_id: str) -> dict[str, Any]:
    with session_scope(engine) as session:
        return service.invoice_view(session, TENANT, invoice_id)


def _receive(engine: Engine, rig: PostfixRig, delivery_id: str, action: str) -> Any:
    from gateway.services.inbound.bounces import receive_bounce

    dsn = rig.wait_for_dsn(20, mentioning=delivery_id, action=action)
    # the channel asked for DSN (Postfix advertises it): the report carries the ENVID and the VERP sender
    assert {r["Original-Envelope-Id"] for r in dsn_reports(dsn)} == {f"{delivery_id}-1"}
    assert dsn["X-Envelope-To"] == f"bounces+{delivery_id}@{rig.bounce_domain}"
    path = rig.message_path(dsn)
    assert path is not None
    result = receive_bounce(engine, path.read_bytes(), actor="test", tenant_id=TENANT)
    assert result.delivery_id == delivery_id, result.as_dict()
    return dsn, result


def test_unknown_user_bounce_from_postfix_makes_the_delivery_a_deviation(
    engine: Engine, settings: Settings, rig: PostfixRig
) -> None:
    delivery = _send_by_email(engine, settings, rig, "ukjent")
    dsn, result = _receive(engine, rig, delivery["id"], "failed")
    [(action, status, diagnostic)] = _recipients(dsn)
    assert (action, status) == ("failed", "5.1.1")
    assert "550 5.1.1" in diagnostic
    assert result.applied
    assert (result.classification, result.linked_by) == ("failed", "envid")

    [after] = _view(engine, delivery["invoice_id"])["deliveries"]
    assert after["status"] == "deviation"
    assert "5.1.1" in after["last_error"]
    assert "ukjent@remote.example" in after["last_error"]


def test_relayed_report_from_postfix_does_not_make_a_deviation(
    engine: Engine, settings: Settings, rig: PostfixRig
) -> None:
    delivery = _send_by_email(engine, settings, rig, "kunde")
    dsn, result = _receive(engine, rig, delivery["id"], "relayed")
    assert _recipients(dsn) == [("relayed", "2.0.0", "smtp; 250 2.0.0 OK stored")]
    assert (result.classification, result.linked_by) == ("relayed", "envid")

    [after] = _view(engine, delivery["invoice_id"])["deliveries"]
    assert after["status"] == "sent"  # handed on, not delivered; above all not a deviation
    assert after["events"][-1]["details"]["recipients"][0]["action"] == "relayed"
    assert any(
        m["rcpt_tos"] == ["kunde@remote.example"] and delivery["id"].encode() in m["data"]
        for m in rig.remote_received
    )
