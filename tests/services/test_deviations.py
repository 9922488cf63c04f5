"""Deviations: opened with their cause when a delivery enters `deviation`, closed with who/when/why.

Each cause comes through the code path that really produces it (the worker's validation and rendering,
a Postfix DSN, a print house's returned-mail file, EDI acknowledgements, an overdue acknowledgement); the
classification table uses the reason texts those paths write.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import col
from typer.testing import CliRunner

import gateway.cli
from db.engine import downgrade, migrate, session_scope
from db.models import Delivery, Deviation
from gateway.cli import app as cli_app
from gateway.samples import sample_invoice_json
from gateway.services.inbound.edi_acks import flag_overdue
from gateway.services.inbound.print_returns import poll_print_returns
from gateway.services.outbound import deviations as service
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver
from gateway.settings import Settings
from gateway.worker import Worker
from outbox.queue import change_status, enqueue_delivery
from outbox.states import DeliveryStatus as S
from schemas.canonical import ReceiverProfile
from tests.acceptance.test_ehf_delivery import RULES
from tests.channels.print import test_worker_batches as test_print_channel
from tests.outbox_helpers import delivery_events, delivery_row, take_to_sent
from tests.services import test_bounces, test_edi_acks
from tests.worker.test_worker import archive_channel, receiver_falling_back  # noqa: F401  (fixture)

# --- the cause of each reason text ------------------------------------------------------------------------

CASES: list[tuple[str, str | None, str, dict[str, Any] | None, str]] = [
    (
        "folder",
        "w",
        "validation failed (XSD, CEN, PEPPOL): NO-R-001 (fatal): [NO-R-001]-For Norwegian suppliers …",
        {"validation": {"ok": False}},
        "validation-failed",
    ),
    ("folder", "w", "validation failed (XSD): UBL-SR-01 (fatal): …", None, "validation-failed"),
    ("folder", "w", "cannot render for folder: unknown format 'canonical-jsn'", None, "render-failed"),
    ("folder", "w", "rendering failed unexpectedly: ValueError('x')", None, "render-failed"),
    ("print", "w", "not printable: page 1 is not A4", None, "render-failed"),
    ("print", "w", "not a postable address: no postcode for NO", None, "validation-failed"),
    ("email", "w", "receiver address 'x' is not an e-mail address: no @", None, "validation-failed"),
    (
        "email",
        "cli:ops",
        "e-mail bounced (DSN: failed) from mta.hub.test: ukjent@ok.test 5.1.1 (smtp; 550 5.1.1 unknown)",
        {"kind": "dsn"},
        "bounced",
    ),
    ("email", "api:erp", "e-mail bounced (DSN: failed): kunde@ok.test 5.2.2", None, "bounced"),
    (
        "print",
        "print:returns",
        "returned mail (MOVED: Flyttet, ukjent adresse), returned on 2026-12-01; the buyer's postal address "
        "needs checking",
        {"batch_id": "b", "sequence": 1, "reason_code": "MOVED"},
        "returned-mail",
    ),
    ("print", "print:returns", "print house rejected batch acme-default-1: R1: bad index", None, "rejected"),
    (
        "peppol",
        "api:erp",
        "Invoice Response RE (Rejected) from 0192:810305682: REF: wrong order reference",
        {"kind": "invoice-response"},
        "rejected",
    ),
    ("peppol", "api:erp", "Message Level Response RE (Rejected): BR-CO-10", None, "rejected"),
    (
        "edi",
        "test",
        "APERAK from ica (interchange 17): rejected: message 31: code 186 (Duplicate invoice number)",
        {"kind": "edi-ack", "ack_kind": "APERAK"},
        "rejected",
    ),
    (
        "edi",
        "test",
        "CONTRL from ica (interchange 17): rejected: segment 5 element 2 component 1: code 12 "
        "(invalid value)",
        {"kind": "edi-ack", "ack_kind": "CONTRL"},
        "negative-ack",
    ),
    (
        "edi",
        "test",
        "997 from SENDER (interchange 18): partial: message 2 (810): rejected",
        None,
        "negative-ack",
    ),
    ("edi", "test", "TA1 from SENDER (interchange 19): rejected: code 006", None, "negative-ack"),
    (
        "edi",
        "worker-1",
        "no acknowledgement from ica within 24 h (interchange 17)",
        {"kind": "edi-ack-overdue"},
        "no-ack",
    ),
    ("edi", "worker-1", "no acknowledgement from ica within 0.5 h (interchange 3)", None, "no-ack"),
    (
        "email",
        "w",
        "mx.ok.test:25 refused the recipient at RCPT TO: 550 5.1.1 no such user",
        None,
        "undeliverable",
    ),
    ("email", "w", "mx.ok.test:25 refused the message at DATA: 554 spam", None, "undeliverable"),
    (
        "print",
        "w",
        "batch acme-default-x: SFTP login print@127.0.0.1:2222 refused: password refused",
        None,
        "undeliverable",
    ),
    (
        "print",
        "w",
        "batch acme-default-x: SFTP server 127.0.0.1:2222 offered host key ssh-ed25519 SHA256:x, but the "
        "pinned key is ssh-ed25519 SHA256:y; refused before logging in",
        None,
        "undeliverable",
    ),
    ("print", "w", "batch b: permission denied: [Errno 13] out", None, "undeliverable"),
    ("print", "w", "batch b gave up after 2 tries; last: connection lost", None, "undeliverable"),
    ("peppol", "w", "access point refused the document (400): bad SBDH", None, "undeliverable"),
    ("folder", "w", "document is 4711 bytes; folder takes at most 100", None, "undeliverable"),
    ("folder", "w", "the partner said so on the phone", {"cause": "no-ack"}, "no-ack"),
    ("folder", "w", "something nobody planned for", None, "other"),
]


@pytest.mark.parametrize(("channel", "actor", "reason", "details", "cause"), CASES)
def test_classify_deviation(
    channel: str, actor: str | None, reason: str, details: dict[str, Any] | None, cause: str
) -> None:
    assert service.classify_deviation(channel, actor, reason, details) == cause
    assert cause in service.CAUSES


# --- helpers -----------------------------------------------------------------------------------------------


def _deviations(engine: Engine, **filters: Any) -> list[dict[str, Any]]:
    filters.setdefault("status", "all")
    with session_scope(engine) as session:
        return service.list_deviations(session, "acme", **filters)


def _rows(engine: Engine, delivery_id: str) -> list[Deviation]:
    with session_scope(engine) as session:
        return list(
            session.execute(
                select(Deviation)
                .where(col(Deviation.delivery_id) == delivery_id)
                .order_by(col(Deviation.opened_at))
            ).scalars()
        )


def _accept(engine: Engine, invoice: dict[str, Any], tenant: str = "acme") -> str:
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
    [result] = accept_invoices(engine, tenant, [IntakeItem(invoice)], actor="test", default_channel="folder")
    assert result.invoice_id is not None, result.errors
    return result.invoice_id


def _deviating(
    engine: Engine,
    n: int,
    reason: str,
    *,
    channel: str = "email",
    details: dict[str, Any] | None = None,
    tenant: str = "acme",
) -> str:
    """Invoice n with a delivery on `channel` taken to `sent`, then to `deviation` for `reason`."""
    invoice_id = _accept(engine, sample_invoice_json(n), tenant)
    with session_scope(engine) as session:
        delivery_id = enqueue_delivery(
            session,
            invoice_id=invoice_id,
            tenant_id=tenant,
            channel=channel,
            address="kunde@ok.test",
            actor="test",
            reason="test",
        ).id
    take_to_sent(engine, delivery_id, lambda attempt: f"m-{attempt}", channels=[channel])
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        change_status(session, delivery, S.DEVIATION, actor="reporter", reason=reason, details=details)
    return delivery_id


def _only_open(engine: Engine, delivery_id: str) -> Deviation:
    [row] = [r for r in _rows(engine, delivery_id) if r.closed_at is None]
    return row


# --- each cause through the path that produces it ---------------------------------------------------------


def test_a_validation_failure_opens_a_validation_failed_deviation(engine: Engine, settings: Settings) -> None:
    settings.rules_dir = RULES
    invoice = sample_invoice_json(2)
    invoice["seller"]["vat_id"] = "NO987654321MVA"  # EHF rule NO-R-001
    invoice["routing"] = {"format": "ehf"}
    invoice_id = _accept(engine, invoice)
    Worker(engine, settings, worker_id="w").run(once=True)
    [row] = _deviations(engine)
    assert row["invoice_id"] == invoice_id and row["cause"] == "validation-failed"
    assert row["channel"] == "folder" and row["attempt"] == 1 and row["status"] == "open"
    assert "NO-R-001" in row["detail"]
    assert row["invoice_number"] == invoice["number"] and row["buyer"] == invoice["buyer"]["name"]
    assert [a["action"] for a in row["actions"]] == ["resend", "resend-elsewhere", "resolve"]


def test_an_unknown_format_is_render_failed(engine: Engine, settings: Settings) -> None:
    invoice = sample_invoice_json(1)
    invoice["routing"] = {"format": "canonical-jsn"}
    _accept(engine, invoice)
    Worker(engine, settings, worker_id="w").run(once=True)
    [row] = _deviations(engine)
    assert row["cause"] == "render-failed"


def test_a_bounce_is_bounced(engine: Engine) -> None:
    address = test_bounces.SAMPLE_ADDRESSES["INV-1003"]  # the recipient the sample reports on
    delivery_id = test_bounces._email_delivery(engine, "INV-1003", address=address)
    result = test_bounces._receive(engine, test_bounces._sample("INV-1003", "failed"))
    assert result.applied and delivery_row(engine, delivery_id).status == S.DEVIATION
    row = _only_open(engine, delivery_id)
    assert row.cause == "bounced" and row.channel == "email"
    assert row.detail is not None and row.detail.startswith("e-mail bounced")


def test_a_returned_letter_is_returned_mail(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    root = test_print_channel._print_settings(settings, tmp_path / "print-house")
    batch, deliveries = test_print_channel._sent_batch(engine, settings, root, 1)
    outgoing = root / "out"
    outgoing.mkdir(parents=True)
    (outgoing / "returned.xml").write_text(
        '<ReturnedMail xmlns="urn:invoice-gateway:print-return:1" reportedAt="2026-12-02T08:00:00Z">'
        f'<Item deliveryId="{deliveries[0]["id"]}" batchId="{batch.id}" returnedOn="2026-12-01"'
        ' reasonCode="MOVED">Flyttet, ukjent adresse</Item></ReturnedMail>'
    )
    poll_print_returns(engine, test_print_channel._print_channel(settings), actor="print:returns")
    row = _only_open(engine, deliveries[0]["id"])
    assert (row.cause, row.channel) == ("returned-mail", "print")
    [listed] = _deviations(engine, cause="returned-mail")
    hints = {a["action"]: a["hint"] for a in listed["actions"]}
    assert "postal address" in hints["resend"] and "e-mail or EHF" in hints["resend-elsewhere"]


def test_a_negative_contrl_is_negative_ack_and_an_aperak_is_rejected(engine: Engine, tmp_path: Path) -> None:
    acks = test_edi_acks
    acks._put(engine, acks._partner(tmp_path))
    contrl_id = acks._sent_delivery(engine, "INV-1", n=1)
    acks._interchange(engine, contrl_id)
    acks._receive(
        engine,
        acks._contrl(
            f"UCI+17+{acks.US}:14+{acks.THEM}:14+4'UCM+1+INVOIC:D:96A:UN:EAN008+4'UCS+5'UCD+12+3:1'"
        ),
    )
    assert _only_open(engine, contrl_id).cause == "negative-ack"
    aperak_id = acks._sent_delivery(engine, "INV-2", n=2)
    acks._interchange(engine, aperak_id, ref="18", messages=("31",))
    aperak = (
        f"UNB+UNOC:3+{acks.THEM}:14+{acks.US}:14+261124:1200+77'UNH+1+APERAK:D:96A:UN'BGM+12E::9+AP-1+27'"
        "RFF+ACW:31'ERC+186::92'FTX+AAO+++Duplicate invoice number'UNT+6+1'UNZ+1+77'"
    ).encode()
    acks._receive(engine, aperak)
    assert _only_open(engine, aperak_id).cause == "rejected"
    assert {d["cause"] for d in _deviations(engine, channel="edi")} == {"negative-ack", "rejected"}


def test_an_overdue_ack_is_no_ack_and_a_late_positive_ack_resolves_it(engine: Engine, tmp_path: Path) -> None:
    acks = test_edi_acks
    acks._put(engine, acks._partner(tmp_path))
    delivery_id = acks._sent_delivery(engine, "INV-1", n=1)
    acks._interchange(engine, delivery_id, ref="17", due=acks.NOW - dt.timedelta(hours=1))
    assert flag_overdue(engine, acks.NOW, "worker-1") == 1
    row = _only_open(engine, delivery_id)
    assert row.cause == "no-ack" and row.detail == "no acknowledgement from ica within 24 h (interchange 17)"
    [listed] = _deviations(engine, status="open")
    assert "out of band" in {a["action"]: a["hint"] for a in listed["actions"]}["resolve"]
    acks._receive(engine, acks._accepting_contrl(of="17"))
    assert delivery_row(engine, delivery_id).status == S.DELIVERED
    [closed] = _rows(engine, delivery_id)
    assert (closed.closure, closed.closed_by) == ("resolved", "test")
    assert closed.closure_reason is not None and "CONTRL from ica" in closed.closure_reason
    assert _deviations(engine, status="open") == []


# --- filters, resolve, resend, fallback ------------------------------------------------------------------


def test_filters_by_status_cause_channel_and_since(engine: Engine) -> None:
    bounced = _deviating(engine, 1, "e-mail bounced (DSN: failed): a@b.test 5.1.1", details={"kind": "dsn"})
    _deviating(engine, 2, "no acknowledgement from ica within 24 h (interchange 1)", channel="edi")
    _deviating(engine, 3, "not a postable address: no street", channel="print")
    _deviating(engine, 4, "e-mail bounced (DSN: failed): b@b.test", tenant="globex")
    assert len(_deviations(engine)) == 3  # globex's is not acme's
    assert [d["cause"] for d in _deviations(engine, cause="bounced")] == ["bounced"]
    assert [d["channel"] for d in _deviations(engine, channel="print")] == ["print"]
    assert [d["cause"] for d in _deviations(engine, channel="edi", cause="no-ack")] == ["no-ack"]
    assert _deviations(engine, since=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=1)) == []
    with session_scope(engine) as session:
        deviation = _only_open(engine, bounced)
        service.resolve_deviation(session, "acme", deviation.id, actor="ops", reason="sent by post")
    assert len(_deviations(engine, status="open")) == 2
    assert [d["delivery_id"] for d in _deviations(engine, status="closed")] == [bounced]
    assert len(_deviations(engine, status="all")) == 3


def test_resolve_closes_with_who_and_why_and_leaves_the_delivery(engine: Engine) -> None:
    delivery_id = _deviating(
        engine, 1, "no acknowledgement from ica within 24 h (interchange 1)", channel="edi"
    )
    deviation = _only_open(engine, delivery_id)
    with session_scope(engine) as session:
        view = service.resolve_deviation(
            session, "acme", deviation.id, actor="cli:ops", reason="partner confirmed by phone"
        )
    assert (view["status"], view["closure"], view["closed_by"]) == ("closed", "resolved", "cli:ops")
    assert view["closure_reason"] == "partner confirmed by phone" and view["actions"] == []
    assert delivery_row(engine, delivery_id).status == S.DEVIATION
    last = delivery_events(engine, delivery_id)[-1]
    assert (last.from_status, last.to_status, last.actor) == ("deviation", "deviation", "cli:ops")
    assert last.reason is not None and "partner confirmed by phone" in last.reason
    assert last.details is not None and last.details["deviation_id"] == deviation.id
    with session_scope(engine) as session, pytest.raises(service.DeviationClosed):
        service.resolve_deviation(session, "acme", deviation.id, actor="x", reason="again")
    with session_scope(engine) as session, pytest.raises(service.NotFound):
        service.resolve_deviation(session, "globex", deviation.id, actor="x", reason="not yours")


def test_resend_closes_resent_and_queues_the_next_attempt(engine: Engine) -> None:
    delivery_id = _deviating(engine, 1, "e-mail bounced (DSN: failed): a@b.test", details={"kind": "dsn"})
    deviation = _only_open(engine, delivery_id)
    with session_scope(engine) as session:
        result = service.resend_deviation(
            session, "acme", deviation.id, actor="ops", reason="new address", address="ny@ok.test"
        )
    assert result["deviation"]["closure"] == "resent" and result["deviation"]["closed_by"] == "ops"
    delivery = delivery_row(engine, delivery_id)
    assert (delivery.status, delivery.attempt, delivery.address) == (S.QUEUED, 2, "ny@ok.test")
    assert result["delivery"]["id"] == delivery_id
    # a second deviation on the new attempt is a new row
    take_to_sent(engine, delivery_id, lambda attempt: f"m-{attempt}", channels=["email"])
    with session_scope(engine) as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        change_status(session, row, S.DEVIATION, actor="r", reason="e-mail bounced (DSN: failed): again")
    rows = _rows(engine, delivery_id)
    assert [(r.attempt, r.closure) for r in rows] == [(1, "resent"), (2, None)]


def test_resend_on_another_channel_closes_fallback(engine: Engine) -> None:
    delivery_id = _deviating(engine, 1, "returned mail (MOVED), returned on 2026-12-01", channel="print")
    deviation = _only_open(engine, delivery_id)
    with session_scope(engine) as session:
        result = service.resend_deviation(
            session,
            "acme",
            deviation.id,
            actor="ops",
            reason="switch to e-mail",
            channel="email",
            address="a@b.c",
        )
    assert result["deviation"]["closure"] == "fallback"
    assert result["delivery"]["channel"] == "email" and result["delivery"]["id"] != delivery_id
    assert delivery_row(engine, delivery_id).status == S.DEVIATION


def test_cancel_closes_resolved_with_the_cancel_reason(engine: Engine) -> None:
    from gateway.services.outbound.deliveries import cancel

    delivery_id = _deviating(engine, 1, "e-mail bounced (DSN: failed): a@b.test")
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        cancel(session, delivery, actor="ops", reason="credited instead")
    [row] = _rows(engine, delivery_id)
    assert (row.closure, row.closed_by, row.closure_reason) == ("resolved", "ops", "credited instead")


def test_the_workers_fallback_closes_fallback(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    archive_channel: str,  # noqa: F811
) -> None:
    receiver_falling_back(engine, settings, tmp_path, archive_channel)
    _accept(engine, sample_invoice_json(1, receiver_id="C-1"))
    Worker(engine, settings, worker_id="w").run(once=True)
    [row] = _deviations(engine)
    assert (row["channel"], row["cause"], row["closure"], row["closed_by"]) == (
        "folder",
        "undeliverable",
        "fallback",
        "w",
    )
    assert "fallback: folder ended deviation" in row["closure_reason"]


def _fallen_back(engine: Engine, settings: Settings, tmp_path: Path, archive: str) -> tuple[str, str]:
    """Invoice 1 for receiver C-1: too big for `folder`, so the worker falls back to `archive` (delivered).

    The ids of the deviating folder delivery and of the archive delivery that covers it."""
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    receiver_falling_back(engine, settings, tmp_path, archive)
    invoice_id = _accept(engine, sample_invoice_json(1, receiver_id="C-1"))
    Worker(engine, settings, worker_id="w").run(once=True)
    with session_scope(engine) as session:
        rows = session.execute(
            select(Delivery)
            .where(col(Delivery.invoice_id) == invoice_id)
            .order_by(col(Delivery.chain_position))
        ).scalars()
        folder, covering = [(d.id, d.status) for d in rows]
    assert (folder[1], covering[1]) == (S.DEVIATION, S.DELIVERED)
    return folder[0], covering[0]


def test_a_deviation_a_fallback_took_over_stays_listed_as_covered(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    archive_channel: str,  # noqa: F811
) -> None:
    folder_id, covering_id = _fallen_back(engine, settings, tmp_path, archive_channel)
    [row] = _rows(engine, folder_id)
    assert (row.closure, row.covered_by) == ("fallback", covering_id) and row.closed_at is not None
    with session_scope(engine) as session:
        listed = service.list_deviations(session, "acme", status=service.LISTED_BY_DEFAULT)
        assert service.list_deviations(session, "acme", status="open") == []
        assert service.list_deviations(session, "acme", status="closed") == []
        assert [d["id"] for d in service.list_deviations(session, "acme", status="covered")] == [row.id]
    [item] = listed
    assert item["status"] == "covered" and item["actions"] == []
    assert item["covered_by"] == {
        "delivery_id": covering_id,
        "channel": archive_channel,
        "status": "delivered",
    }
    with pytest.raises(ValueError, match="'shut': open, covered, closed or all"):
        service.wanted_states(["open", "shut"])


def test_api_and_cli_list_open_covered_and_closed(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    archive_channel: str,  # noqa: F811
    client: TestClient,
    auth: dict[str, str],
    cli_env: Settings,
) -> None:
    folder_id, covering_id = _fallen_back(engine, settings, tmp_path, archive_channel)
    open_id = _deviating(engine, 2, "e-mail bounced (DSN: failed): a@b.test", details={"kind": "dsn"})
    resolved_id = _deviating(
        engine, 3, "no acknowledgement from ica within 24 h (interchange 1)", channel="edi"
    )
    with session_scope(engine) as session:
        service.resolve_deviation(
            session, "acme", _only_open(engine, resolved_id).id, actor="ops", reason="confirmed by phone"
        )

    def listed(**params: Any) -> list[tuple[str, str]]:
        response = client.get("/deviations", params=params, headers=auth)
        assert response.status_code == 200, response.text
        return sorted((item["delivery_id"], item["status"]) for item in response.json()["items"])

    assert listed() == sorted([(folder_id, "covered"), (open_id, "open")])
    assert listed(state="open") == [(open_id, "open")]
    assert listed(state="covered") == [(folder_id, "covered")]
    assert listed(state="closed") == [(resolved_id, "closed")]
    assert listed(state=["open", "closed"]) == sorted([(open_id, "open"), (resolved_id, "closed")])
    assert len(listed(state="all")) == 3
    assert listed(status="covered") == [(folder_id, "covered")]  # the older name
    assert len(listed(status="all")) == 3
    for bad in ({"state": "shut"}, {"state": "open", "status": "open"}):
        assert client.get("/deviations", params=bad, headers=auth).status_code == 422
    [covered] = client.get("/deviations", params={"state": "covered"}, headers=auth).json()["items"]
    assert covered["covered_by"] == {
        "delivery_id": covering_id,
        "channel": archive_channel,
        "status": "delivered",
    }
    assert covered["closure"] == "fallback" and covered["closed_by"] == "w"

    runner = CliRunner()
    default = runner.invoke(cli_app, ["deviations", "--tenant", "acme"])
    assert default.exit_code == 0, default.output
    assert f"covered by {covering_id} ({archive_channel}, delivered)" in default.output
    assert "bounced" in default.output and "no-ack" not in default.output
    only_open = runner.invoke(cli_app, ["deviations", "--tenant", "acme", "--state", "open", "--json"])
    assert only_open.exit_code == 0, only_open.output
    assert [d["delivery_id"] for d in _json_items(only_open.output)] == [open_id]
    closed = runner.invoke(
        cli_app, ["deviations", "--tenant", "acme", "--state", "closed", "--state", "covered", "--json"]
    )
    assert closed.exit_code == 0, closed.output
    assert sorted(d["status"] for d in _json_items(closed.output)) == ["closed", "covered"]
    assert runner.invoke(cli_app, ["deviations", "--state", "shut"]).exit_code != 0


def _json_items(output: str) -> list[dict[str, Any]]:
    """The items of a listing's `--json` (the API's page shape, or a bare list)."""
    loaded = json.loads(output)
    items: list[dict[str, Any]] = loaded["items"] if isinstance(loaded, dict) else loaded
    return items


def test_rows_closed_by_a_fallback_before_covered_by_existed_get_it_from_their_reason(
    engine: Engine,
    settings: Settings,
    tmp_path: Path,
    archive_channel: str,  # noqa: F811
) -> None:
    folder_id, covering_id = _fallen_back(engine, settings, tmp_path, archive_channel)
    downgrade(engine, "0008")
    migrate(engine)
    [row] = _rows(engine, folder_id)
    assert (row.closure, row.covered_by) == ("fallback", covering_id)


def test_resend_elsewhere_names_the_receivers_other_channels(engine: Engine) -> None:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        put_receiver(
            session,
            "acme",
            ReceiverProfile(
                receiver_id="C-1", preferred_channel="email", fallback_channels=["print", "peppol"]
            ),
        )
    invoice_id = _accept(engine, sample_invoice_json(1, receiver_id="C-1"))
    with session_scope(engine) as session:
        delivery = session.execute(
            select(Delivery).where(col(Delivery.invoice_id) == invoice_id)
        ).scalar_one()
        change_status(session, delivery, S.CANCELLED, actor="t", reason="not this one")
        delivery_id = enqueue_delivery(
            session, invoice_id=invoice_id, tenant_id="acme", channel="email", actor="t", reason="t"
        ).id
    take_to_sent(engine, delivery_id, lambda attempt: "m", channels=["email"])
    with session_scope(engine) as session:
        row = session.get(Delivery, delivery_id)
        assert row is not None
        change_status(session, row, S.DEVIATION, actor="r", reason="e-mail bounced (DSN: failed): x")
    [listed] = _deviations(engine)
    elsewhere = next(a for a in listed["actions"] if a["action"] == "resend-elsewhere")
    assert elsewhere["channels"] == ["print", "peppol"]


# --- API and CLI ------------------------------------------------------------------------------------------


def test_api_list_resolve_resend(
    engine: Engine, client: TestClient, auth: dict[str, str], token_for: Any
) -> None:
    first = _deviating(engine, 1, "e-mail bounced (DSN: failed): a@b.test", details={"kind": "dsn"})
    second = _deviating(engine, 2, "no acknowledgement from ica within 24 h (interchange 1)", channel="edi")
    listed = client.get("/deviations", headers=auth).json()["items"]
    assert {d["delivery_id"] for d in listed} == {first, second}
    by_cause = client.get("/deviations", params={"cause": "bounced"}, headers=auth).json()["items"]
    assert [d["delivery_id"] for d in by_cause] == [first]
    assert (
        client.get("/deviations", params={"channel": "edi"}, headers=auth).json()["items"][0]["cause"]
        == "no-ack"
    )
    assert client.get("/deviations", params={"status": "bogus"}, headers=auth).status_code == 422
    future = (dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat()
    assert client.get("/deviations", params={"since": future}, headers=auth).json()["items"] == []
    other = token_for("globex")
    assert client.get("/deviations", headers=other).json()["items"] == []
    bounced_id = by_cause[0]["id"]
    assert (
        client.post(f"/deviations/{bounced_id}/resolve", json={"reason": "x"}, headers=other).status_code
        == 404
    )
    assert client.post(f"/deviations/{bounced_id}/resolve", json={}, headers=auth).status_code == 422
    response = client.post(
        f"/deviations/{bounced_id}/resend",
        json={"reason": "new address", "address": "ny@ok.test"},
        headers=auth,
    )
    assert response.status_code == 202, response.text
    assert response.json()["deviation"]["closure"] == "resent"
    assert response.json()["delivery"]["attempt"] == 2
    assert client.post(f"/deviations/{bounced_id}/resend", json={}, headers=auth).status_code == 409
    no_ack_id = next(d["id"] for d in listed if d["delivery_id"] == second)
    resolved = client.post(f"/deviations/{no_ack_id}/resolve", json={"reason": "confirmed"}, headers=auth)
    assert resolved.status_code == 200 and resolved.json()["closure"] == "resolved"
    assert client.get("/deviations", headers=auth).json()["items"] == []
    assert len(client.get("/deviations", params={"status": "closed"}, headers=auth).json()["items"]) == 2


@pytest.fixture
def cli_env(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> Settings:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setattr(gateway.cli.console, "width", 300)
    return settings


def test_cli_list_resolve_resend(engine: Engine, cli_env: Settings) -> None:
    runner = CliRunner()
    bounced = _deviating(engine, 1, "e-mail bounced (DSN: failed): a@b.test", details={"kind": "dsn"})
    returned = _deviating(engine, 2, "returned mail (MOVED), returned on 2026-12-01", channel="print")
    result = runner.invoke(cli_app, ["deviations", "--tenant", "acme", "--json"])
    assert result.exit_code == 0, result.output
    assert "bounced" in result.output and "returned-mail" in result.output
    result = runner.invoke(cli_app, ["deviations", "--cause", "returned-mail", "--tenant", "acme"])
    assert result.exit_code == 0 and "returned-mail" in result.output and "bounced" not in result.output
    bounced_id, returned_id = _only_open(engine, bounced).id, _only_open(engine, returned).id
    result = runner.invoke(cli_app, ["deviations", "resolve", bounced_id, "--reason", "paid already"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        cli_app, ["deviations", "resend", returned_id, "--channel", "email", "--to", "a@b.c"]
    )
    assert result.exit_code == 0, result.output
    assert "(fallback)" in result.output
    result = runner.invoke(cli_app, ["deviations", "resolve", bounced_id, "--reason", "twice"])
    assert result.exit_code == 1
    result = runner.invoke(cli_app, ["deviations", "--all", "--tenant", "acme", "--json"])
    assert result.exit_code == 0 and result.output.count('"closure"') == 2


# --- what an inbox needs: age, keyset pages, counts, channels --------------------------------------------


def test_opened_before_keyset_pages_counts_and_channels(engine: Engine) -> None:
    bounced = _deviating(engine, 1, "e-mail bounced (DSN: failed): a@b.test 5.1.1", details={"kind": "dsn"})
    _deviating(engine, 2, "e-mail bounced (DSN: failed): c@d.test 5.1.1", details={"kind": "dsn"})
    _deviating(engine, 3, "no acknowledgement from ica within 24 h (interchange 1)", channel="edi")
    _deviating(engine, 4, "not a postable address: no street", channel="print")
    _deviating(engine, 5, "e-mail bounced (DSN: failed): x@globex.test", tenant="globex")
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        old = _only_open(engine, bounced)
        old_row = session.get(Deviation, old.id)
        assert old_row is not None
        old_row.opened_at = now - dt.timedelta(days=3)
    assert [d["id"] for d in _deviations(engine, opened_before=now - dt.timedelta(days=1))] == [old.id]
    assert len(_deviations(engine, opened_before=now + dt.timedelta(minutes=1))) == 4

    everything = [d["id"] for d in _deviations(engine)]
    pages: list[str] = []
    cursor: service.DeviationCursor | None = None
    while True:
        page = _deviations(engine, after=cursor, limit=3)
        pages += [d["id"] for d in page]
        if len(page) < 3:
            break
        cursor = (dt.datetime.fromisoformat(page[-1]["opened_at"]), page[-1]["id"])
    assert pages == everything and len(everything) == 4

    with session_scope(engine) as session:
        assert service.count_by_cause(session, "acme") == {
            "bounced": 2,
            "no-ack": 1,
            "validation-failed": 1,
        }
        assert service.count_by_cause(session, "acme", channel="email") == {"bounced": 2}
        assert service.count_by_cause(session, "acme", opened_before=now - dt.timedelta(days=1)) == {
            "bounced": 1
        }
        assert service.deviation_channels(session, "acme") == ["edi", "email", "print"]
        assert service.deviation_channels(session, "globex") == ["email"]
