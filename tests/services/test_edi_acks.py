"""EDI acknowledgements and partner messages on a real outbox (SQLite and PostgreSQL).

Sent interchanges are inserted as `EdiInterchange` rows next to a delivery a worker took to `sent`, as the
EDI channel records them; the partner's acknowledgements are written here the way partners write them.
Our answers (CONTRL, 997, 999, TA1) are deliveries on the `edi` channel: a real worker sends them, and the
tests read the file the channel wrote.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlmodel import col
from typer.testing import CliRunner

from db.engine import session_scope
from db.models import Delivery, EdiInterchange, InboundDocument, TradingPartnerRecord
from gateway.cli import app as cli_app
from gateway.samples import sample_invoice_json
from gateway.services.inbound.edi_acks import (
    KIND_ACK,
    KIND_MESSAGE,
    KIND_REJECTED,
    EdiReceipt,
    flag_overdue,
    overdue_acknowledgements,
    receive_edi,
)
from gateway.services.outbound import deliveries as delivery_service
from gateway.services.outbound.deviations import list_deviations
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.edi_partners import put_partner
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker import Worker
from mappings.acks.model import AckError, AckFormatError
from mappings.acks.received import read_acknowledgement
from mappings.syntax import edifact, x12
from outbox.queue import enqueue_delivery
from outbox.states import DeliveryStatus as S
from schemas.edi_partner import TradingPartner
from tests.conftest import SHARED
from tests.outbox_helpers import delivery_events, delivery_row, take_to_sent

US, THEM = "7080000000009", "7300009000003"
NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)
SAFEWAY_820 = SHARED / "samples" / "edi" / "x12" / "820" / "bots_820-004010-01_safeway.x12"


# --- set-up ------------------------------------------------------------------------------------------------


def _partner(
    folder: Path, partner_id: str = "ica", *, standard: str = "edifact", **changes: Any
) -> TradingPartner:
    values: dict[str, Any] = {
        "partner_id": partner_id,
        "us": {"id": US, "qualifier": "14"},
        "them": {"id": THEM, "qualifier": "14"},
        "transport": {"kind": "folder", "directory": str(folder / partner_id)},
    }
    if standard == "x12":
        values.update(
            message_format="x12-810",
            us={"id": "RECEIVER", "qualifier": "ZZ"},
            them={"id": "SENDER", "qualifier": "ZZ"},
        )
    values.update(changes)
    return TradingPartner.model_validate(values)


def _put(engine: Engine, profile: TradingPartner, tenant: str = "acme") -> TradingPartner:
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
        put_partner(session, tenant, profile)
    return profile


def _sent_delivery(engine: Engine, number: str = "INV-1", *, tenant: str = "acme", n: int = 1) -> str:
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
    data = sample_invoice_json(n)
    data["number"] = number
    [result] = accept_invoices(engine, tenant, [IntakeItem(data)], actor="test", default_channel="folder")
    assert result.invoice_id is not None, result.errors
    with session_scope(engine) as session:
        delivery = enqueue_delivery(
            session, invoice_id=result.invoice_id, tenant_id=tenant, channel="edi", actor="test", reason="EDI"
        )
        delivery_id = delivery.id
    take_to_sent(engine, delivery_id, lambda attempt: f"edi-{attempt}", channels=["edi"])
    return delivery_id


def _interchange(
    engine: Engine,
    delivery_id: str | None,
    *,
    ref: str = "17",
    group: str = "5",
    messages: tuple[str, ...] = ("1",),
    standard: str = "edifact",
    attempt: int = 1,
    due: dt.datetime | None = None,
    partner_id: str = "ica",
    tenant: str = "acme",
) -> str:
    with session_scope(engine) as session:
        invoice_id = session.get(Delivery, delivery_id).invoice_id if delivery_id else None  # type: ignore[union-attr]
        row = EdiInterchange(
            tenant_id=tenant,
            partner_id=partner_id,
            direction="out",
            standard=standard,
            message_type="INVOIC" if standard == "edifact" else "810",
            interchange_ref=ref,
            group_ref=group,
            message_refs=list(messages),
            delivery_id=delivery_id,
            invoice_id=invoice_id,
            attempt=attempt,
            ack_due_at=due,
            created_at=NOW - dt.timedelta(days=2),
            updated_at=NOW - dt.timedelta(days=2),
        )
        session.add(row)
        session.flush()
        return row.id


def _row(engine: Engine, interchange_id: str) -> EdiInterchange:
    with session_scope(engine) as session:
        row = session.get(EdiInterchange, interchange_id)
        assert row is not None
        return row


def _receive(engine: Engine, data: bytes, tenant: str | None = "acme") -> EdiReceipt:
    return receive_edi(engine, data, tenant_id=tenant, actor="test", now=NOW)


def _contrl(body: str, ref: str = "9001", sender: str = THEM, recipient: str = US) -> bytes:
    segments = body.count("'") + 2
    return (
        f"UNB+UNOC:3+{sender}:14+{recipient}:14+261124:1200+{ref}'UNH+1+CONTRL:D:3:UN'{body}"
        f"UNT+{segments}+1'UNZ+1+{ref}'"
    ).encode()


def _accepting_contrl(of: str = "17", ref: str = "9001") -> bytes:
    return _contrl(f"UCI+{of}+{US}:14+{THEM}:14+7'", ref)


def _x12(
    segments: list[str],
    *,
    set_id: str = "997",
    control: int = 901,
    ta1: list[str] | None = None,
    version: str = "00401",
) -> bytes:
    """A partner's X12 ack: SENDER → RECEIVER, one FA group around `segments` (unless only TA1s)."""
    body = [x12.Segment.of(s.split("*")[0], *s.split("*")[1:]) for s in segments]
    groups = []
    if segments:
        implementation = "005010X231A1" if set_id == "999" else ""
        transaction = x12.TransactionSet(set_id, "0001", implementation, body)
        groups.append(
            x12.FunctionalGroup(
                "FA",
                "SENDER",
                "RECEIVER",
                "20261124",
                "1200",
                str(control),
                "X",
                implementation or "004010",
                [transaction],
            )
        )
    interchange = x12.build_interchange(
        sender=x12.Party("ZZ", "SENDER"),
        receiver=x12.Party("ZZ", "RECEIVER"),
        control_number=control,
        prepared=NOW,
        groups=groups,
        version=version,
    )
    interchange.acknowledgments = [x12.Segment.of(t.split("*")[0], *t.split("*")[1:]) for t in ta1 or []]
    return x12.write_interchange(interchange, newline="\n")


def _remadv(ref: str = "R42", *, document: str = "R-1", syntax_id: str = "UNOA") -> bytes:
    message = edifact.Message(
        reference="7",
        type="REMADV",
        version="D",
        release="96A",
        agency="UN",
        segments=[
            edifact.Segment.of("BGM", "481", document, "9"),
            edifact.Segment.of("DTM", ("137", "20261124", "102")),
            edifact.Segment.of("RFF", ("IV", "INV-1")),
            edifact.Segment.of("MOA", ("9", "100.00")),
        ],
    )
    interchange = edifact.build_interchange(
        sender=edifact.Party(THEM, "14"),
        recipient=edifact.Party(US, "14"),
        control_ref=ref,
        prepared=NOW,
        messages=[message],
        syntax_id=syntax_id,
        una=True,
    )
    return edifact.write_interchange(interchange, newline="\n")


def _inbound(engine: Engine) -> list[InboundDocument]:
    with session_scope(engine) as session:
        return list(
            session.execute(select(InboundDocument).order_by(col(InboundDocument.received_at))).scalars()
        )


def _interchanges(engine: Engine, direction: str) -> list[EdiInterchange]:
    with session_scope(engine) as session:
        return list(
            session.execute(
                select(EdiInterchange)
                .where(col(EdiInterchange.direction) == direction)
                .order_by(col(EdiInterchange.created_at), col(EdiInterchange.interchange_ref))
            ).scalars()
        )


def _send_answers(engine: Engine, settings: Settings) -> Counter[str]:
    """A worker's round on the `edi` channel: our queued answers go out as deliveries."""
    return Worker(engine, settings, worker_id="w", channels=["edi"]).run(once=True).outcomes


def _answer_delivery(engine: Engine, receipt: EdiReceipt) -> Delivery:
    """The delivery that carries the receipt's answer."""
    assert receipt.answer is not None and receipt.answer["delivery_id"], receipt
    return delivery_row(engine, receipt.answer["delivery_id"])


def _edi_deliveries(engine: Engine) -> list[Delivery]:
    with session_scope(engine) as session:
        return list(session.execute(select(Delivery).where(col(Delivery.channel) == "edi")).scalars())


# --- acknowledgements of what we sent ----------------------------------------------------------------------


def test_an_accepting_contrl_delivers(engine: Engine, tmp_path: Path) -> None:
    _put(engine, _partner(tmp_path))
    delivery_id = _sent_delivery(engine)
    interchange_id = _interchange(engine, delivery_id)
    receipt = _receive(engine, _accepting_contrl())
    assert (receipt.kind, receipt.message_type, receipt.partner_id, receipt.status) == (
        KIND_ACK,
        "CONTRL",
        "ica",
        "accepted",
    )
    assert receipt.applied and receipt.linked[0]["delivery_id"] == delivery_id
    assert receipt.answer is None  # a CONTRL is never answered
    assert delivery_row(engine, delivery_id).status == S.DELIVERED
    row = _row(engine, interchange_id)
    assert row.ack_status == "accepted" and row.ack_document_id == receipt.inbound_id
    assert row.ack_details is not None and row.ack_details["latest"]["of_interchange_ref"] == "17"
    [document] = _inbound(engine)
    assert (document.kind, document.response_code, document.delivery_id, document.applied) == (
        KIND_ACK,
        "accepted",
        delivery_id,
        True,
    )


def test_a_rejecting_contrl_with_ucm_ucs_ucd_is_a_deviation_naming_segment_and_element(
    engine: Engine, tmp_path: Path
) -> None:
    _put(engine, _partner(tmp_path))
    delivery_id = _sent_delivery(engine)
    interchange_id = _interchange(engine, delivery_id)
    data = _contrl(f"UCI+17+{US}:14+{THEM}:14+4'UCM+1+INVOIC:D:96A:UN:EAN008+4'UCS+5'UCD+12+3:1'")
    receipt = _receive(engine, data)
    assert receipt.status == "rejected" and receipt.applied
    delivery = delivery_row(engine, delivery_id)
    assert delivery.status == S.DEVIATION
    assert delivery.last_error is not None
    assert "CONTRL from ica (interchange 17): rejected" in delivery.last_error
    assert "segment 5 element 2 component 1: code 12 (invalid value)" in delivery.last_error
    event = delivery_events(engine, delivery_id)[-1]
    assert (
        event.details is not None
        and event.details["acknowledgement"]["messages"][0]["errors"][0]["element"] == 2
    )
    assert _row(engine, interchange_id).ack_status == "rejected"


def test_997_accepted_and_997_rejected_with_ak3_ak4(engine: Engine, tmp_path: Path) -> None:
    _put(engine, _partner(tmp_path, standard="x12"))
    accepted_id = _sent_delivery(engine, "INV-1", n=1)
    _interchange(engine, accepted_id, ref="17", group="5", messages=("1",), standard="x12")
    rejected_id = _sent_delivery(engine, "INV-2", n=2)
    _interchange(engine, rejected_id, ref="18", group="6", messages=("2",), standard="x12")
    ok = _receive(engine, _x12(["AK1*IN*5", "AK2*810*0001", "AK5*A", "AK9*A*1*1*1"]))
    assert ok.status == "accepted" and ok.applied
    assert delivery_row(engine, accepted_id).status == S.DELIVERED
    bad = _receive(
        engine,
        _x12(
            ["AK1*IN*6", "AK2*810*0002", "AK3*N1*4**8", "AK4*2**7*XX", "AK5*R*5", "AK9*R*1*1*0"], control=902
        ),
    )
    assert bad.status == "rejected" and bad.applied
    delivery = delivery_row(engine, rejected_id)
    assert delivery.status == S.DEVIATION and delivery.last_error is not None
    assert "997 from ica (interchange 18): rejected" in delivery.last_error
    assert "segment 4 (N1) element 2: code 7 (invalid code value, bad value 'XX')" in delivery.last_error
    assert "code 5 (one or more segments in error)" in delivery.last_error


def test_999_with_ik3_ik4_is_a_deviation(engine: Engine, tmp_path: Path) -> None:
    _put(engine, _partner(tmp_path, standard="x12"))
    delivery_id = _sent_delivery(engine)
    _interchange(engine, delivery_id, standard="x12")
    receipt = _receive(
        engine,
        _x12(
            ["AK1*IN*5*005010", "AK2*810*0001", "IK3*N1*4**8", "IK4*2**7", "IK5*R*I5", "AK9*R*1*1*0"],
            set_id="999",
            version="00501",
        ),
    )
    assert receipt.message_type == "999" and receipt.status == "rejected"
    delivery = delivery_row(engine, delivery_id)
    assert delivery.status == S.DEVIATION and delivery.last_error is not None
    assert "segment 4 (N1) element 2: code 7" in delivery.last_error
    assert "code I5" in delivery.last_error


def test_a_rejecting_ta1_is_a_deviation(engine: Engine, tmp_path: Path) -> None:
    _put(engine, _partner(tmp_path, standard="x12"))
    delivery_id = _sent_delivery(engine)
    interchange_id = _interchange(engine, delivery_id, ref="17", standard="x12")
    receipt = _receive(engine, _x12([], ta1=["TA1*000000017*261124*1159*R*006"]))
    assert (receipt.message_type, receipt.status) == ("TA1", "rejected")
    delivery = delivery_row(engine, delivery_id)
    assert delivery.status == S.DEVIATION and delivery.last_error is not None
    assert "TA1 from ica (interchange 17): rejected: ISA: code 006 (invalid interchange sender ID)" in (
        delivery.last_error
    )
    assert _row(engine, interchange_id).ack_status == "rejected"


def test_an_aperak_with_erc_is_a_deviation_linked_by_its_message_reference(
    engine: Engine, tmp_path: Path
) -> None:
    _put(engine, _partner(tmp_path))
    delivery_id = _sent_delivery(engine)
    _interchange(engine, delivery_id, messages=("31",))
    aperak = (
        f"UNB+UNOC:3+{THEM}:14+{US}:14+261124:1200+77'UNH+1+APERAK:D:96A:UN'BGM+12E::9+AP-1+27'"
        "RFF+ACW:31'ERC+186::92'FTX+AAO+++Duplicate invoice number'UNT+6+1'UNZ+1+77'"
    ).encode()
    receipt = _receive(engine, aperak)
    assert (receipt.message_type, receipt.status) == ("APERAK", "rejected")
    delivery = delivery_row(engine, delivery_id)
    assert delivery.status == S.DEVIATION and delivery.last_error is not None
    assert "code 186 (Duplicate invoice number)" in delivery.last_error


def test_an_aperak_naming_only_the_invoice_number_links_by_it(engine: Engine, tmp_path: Path) -> None:
    _put(engine, _partner(tmp_path))
    delivery_id = _sent_delivery(engine, "INV-77")
    _interchange(engine, delivery_id)
    aperak = (
        f"UNB+UNOC:3+{THEM}:14+{US}:14+261124:1200+78'UNH+1+APERAK:D:96A:UN'BGM+12E::9+AP-2+6'"
        "RFF+IV:INV-77'UNT+4+1'UNZ+1+78'"
    ).encode()
    receipt = _receive(engine, aperak)
    assert receipt.status == "accepted" and receipt.applied
    assert delivery_row(engine, delivery_id).status == S.DELIVERED


def test_a_partial_997_deviates_for_the_rejected_set(engine: Engine, tmp_path: Path) -> None:
    _put(engine, _partner(tmp_path, standard="x12"))
    delivery_id = _sent_delivery(engine)
    interchange_id = _interchange(engine, delivery_id, messages=("11", "12"), standard="x12")
    receipt = _receive(
        engine,
        _x12(
            [
                "AK1*IN*5",
                "AK2*810*0011",
                "AK5*A",
                "AK2*810*0012",
                "AK3*IT1*7**8",
                "AK4*4**5",
                "AK5*R*5",
                "AK9*P*2*2*1",
            ]
        ),
    )
    assert receipt.status == "partial" and receipt.applied
    delivery = delivery_row(engine, delivery_id)
    assert delivery.status == S.DEVIATION and delivery.last_error is not None
    assert "997 from ica (interchange 17): partial" in delivery.last_error
    assert "message 0012 (810): segment 7 (IT1): code 8" in delivery.last_error
    assert "0011" not in delivery.last_error
    row = _row(engine, interchange_id)
    assert row.ack_status == "partial"
    latest = row.ack_details["latest"]  # type: ignore[index]
    assert [(m["ref"], m["status"]) for m in latest["messages"]] == [
        ("0011", "accepted"),
        ("0012", "rejected"),
    ]
    assert latest["messages"][1]["errors"][1] == {
        "segment_position": 7,
        "segment_tag": "IT1",
        "element": 4,
        "component": None,
        "code": "5",
        "text": "data element too long",
    }


def test_the_same_ack_twice_is_applied_once(engine: Engine, tmp_path: Path) -> None:
    _put(engine, _partner(tmp_path))
    delivery_id = _sent_delivery(engine)
    interchange_id = _interchange(engine, delivery_id)
    first = _receive(engine, _accepting_contrl())
    again = _receive(engine, _accepting_contrl())
    assert first.applied and not again.applied and again.duplicate
    assert again.inbound_id == first.inbound_id and again.status == "accepted"
    assert "received before" in (again.note or "")
    other_file = _receive(engine, _accepting_contrl(ref="9002"))  # another file, the same verdict
    assert not other_file.applied and "same verdict" in (other_file.note or "")
    assert len(_inbound(engine)) == 2
    delivered = [e for e in delivery_events(engine, delivery_id) if e.to_status == "delivered"]
    assert len(delivered) == 2  # the move, and the note about the repeat (no second move)
    assert [e.from_status for e in delivered] == ["sent", "delivered"]
    history = _row(engine, interchange_id).ack_details["history"]  # type: ignore[index]
    assert [h["applied"] for h in history] == [True, False]


def test_an_ack_for_an_older_attempt_is_noted_not_applied(engine: Engine, tmp_path: Path) -> None:
    _put(engine, _partner(tmp_path))
    delivery_id = _sent_delivery(engine)
    old = _interchange(engine, delivery_id, ref="17", attempt=1)
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        delivery_service.resend(session, delivery, actor="test", reason="partner lost it")
    take_to_sent(engine, delivery_id, lambda attempt: f"edi-{attempt}", channels=["edi"])
    _interchange(engine, delivery_id, ref="18", attempt=2, messages=("2",))
    receipt = _receive(engine, _contrl(f"UCI+17+{US}:14+{THEM}:14+4+29+UNZ'"))
    assert not receipt.applied
    assert "for attempt 1; the delivery is on attempt 2" in (receipt.note or "")
    delivery = delivery_row(engine, delivery_id)
    assert (delivery.status, delivery.attempt) == (S.SENT, 2)
    noted = delivery_events(engine, delivery_id)[-1]
    assert (noted.from_status, noted.to_status) == ("sent", "sent") and "attempt 1" in (noted.reason or "")
    assert _row(engine, old).ack_status == "rejected"


def test_unlinked_acks_are_stored_with_a_note(engine: Engine, tmp_path: Path) -> None:
    _put(engine, _partner(tmp_path))
    unknown_partner = _receive(engine, _contrl(f"UCI+17+{US}:14+999:14+7'", sender="999"))
    assert not unknown_partner.applied and unknown_partner.partner_id is None
    assert "no trading partner of tenant acme with sender '999' (14)" in (unknown_partner.note or "")
    no_interchange = _receive(engine, _accepting_contrl(of="404", ref="9003"))
    assert no_interchange.partner_id == "ica" and not no_interchange.linked
    assert "no interchange of ours to ica found (interchange 404)" in (no_interchange.note or "")
    documents = _inbound(engine)
    assert [d.kind for d in documents] == [KIND_ACK, KIND_ACK]
    assert all(d.note and not d.applied for d in documents)


def test_another_tenants_partner_is_not_used(engine: Engine, tmp_path: Path) -> None:
    _put(engine, _partner(tmp_path))
    delivery_id = _sent_delivery(engine)
    _interchange(engine, delivery_id)
    with session_scope(engine) as session:
        ensure_tenant(session, "globex")
    receipt = _receive(engine, _accepting_contrl(), tenant="globex")
    assert receipt.partner_id is None and not receipt.applied
    assert delivery_row(engine, delivery_id).status == S.SENT
    across = _receive(engine, _accepting_contrl(ref="9005"), tenant=None)  # no tenant: found across tenants
    assert across.partner_id == "ica" and across.applied


def test_overdue_acknowledgements_become_deviations_and_a_late_ack_still_delivers(
    engine: Engine, tmp_path: Path
) -> None:
    _put(engine, _partner(tmp_path))
    late_id = _sent_delivery(engine, "INV-1", n=1)
    late = _interchange(engine, late_id, ref="17", due=NOW - dt.timedelta(hours=1))
    waiting_id = _sent_delivery(engine, "INV-2", n=2)
    _interchange(engine, waiting_id, ref="18", messages=("2",), due=NOW + dt.timedelta(hours=1))
    with session_scope(engine) as session:
        assert [r.interchange_ref for r in overdue_acknowledgements(session, NOW)] == ["17"]
    assert flag_overdue(engine, NOW, "worker-1") == 1
    assert flag_overdue(engine, NOW, "worker-1") == 0
    delivery = delivery_row(engine, late_id)
    assert delivery.status == S.DEVIATION
    assert delivery.last_error == "no acknowledgement from ica within 24 h (interchange 17)"
    assert _row(engine, late).ack_status == "overdue"
    assert delivery_row(engine, waiting_id).status == S.SENT
    receipt = _receive(engine, _accepting_contrl(of="17"))
    assert receipt.applied
    assert delivery_row(engine, late_id).status == S.DELIVERED
    assert _row(engine, late).ack_status == "accepted"


def test_a_contrl_receipt_is_an_event(engine: Engine, tmp_path: Path) -> None:
    _put(engine, _partner(tmp_path))
    delivery_id = _sent_delivery(engine)
    interchange_id = _interchange(engine, delivery_id)
    receipt = _receive(engine, _contrl(f"UCI+17+{US}:14+{THEM}:14+8'"))
    assert receipt.status == "received"
    assert delivery_row(engine, delivery_id).status == S.SENT
    assert "received" in (delivery_events(engine, delivery_id)[-1].reason or "")
    assert _row(engine, interchange_id).ack_status == "received"


# --- business messages from partners -----------------------------------------------------------------------


def test_a_remadv_is_recorded_and_answered_with_a_contrl_in_the_partner_folder(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    partner = _put(engine, _partner(tmp_path, syntax_id="UNOA"))
    receipt = _receive(engine, _remadv("R42"))
    assert (receipt.kind, receipt.message_type, receipt.status) == (KIND_MESSAGE, "REMADV", "recorded")
    assert receipt.answer is not None and receipt.answer["kind"] == "CONTRL"
    path = tmp_path / "ica" / "ica_ack_1.edi"
    queued = _answer_delivery(engine, receipt)  # the answer is a delivery; nothing is written directly
    assert (queued.channel, queued.status, queued.address) == ("edi", S.QUEUED, "ica")
    assert queued.format == "edifact-ack"
    assert (queued.document_kind, queued.invoice_id) == ("edi-ack", None)
    assert receipt.ack_written is None and not path.exists()

    assert _send_answers(engine, settings) == {"sent": 1}
    sent = delivery_row(engine, queued.id)
    assert (sent.status, sent.channel_message_id, sent.tries) == (S.SENT, "ica:1", 0)
    events = delivery_events(engine, sent.id)
    assert [e.to_status for e in events] == ["queued", "rendering", "sending", "sent"]
    assert "CONTRL 1 for trading partner ica: written to" in (events[-1].reason or "")
    answer = edifact.parse(path.read_bytes())
    assert (answer.sender.id, answer.recipient.id, answer.control_ref) == (US, THEM, "1")
    assert (answer.syntax_id, answer.syntax_version) == ("UNOA", 3)
    [message] = answer.messages
    assert (message.type, message.reference) == ("CONTRL", "1")
    assert [(s.tag, s.elements) for s in message.segments] == [
        ("UCI", (("R42",), (THEM, "14"), (US, "14"), ("7",)))
    ]
    [inbound] = _interchanges(engine, "in")
    assert (inbound.partner_id, inbound.message_type, inbound.interchange_ref, inbound.message_refs) == (
        partner.partner_id,
        "REMADV",
        "R42",
        ["7"],
    )
    [out] = _interchanges(engine, "out")
    assert (out.message_type, out.interchange_ref, out.ack_due_at) == ("CONTRL", "1", None)
    assert (out.delivery_id, out.attempt) == (sent.id, 1)
    assert out.ack_details is not None and out.ack_details["written"] == str(path)
    again = _receive(engine, _remadv("R42"))  # the same file again says where the first answer went
    assert again.duplicate and again.ack_written == str(path)
    assert again.answer is not None and again.answer["delivery_id"] == sent.id


def test_a_repeated_interchange_number_is_a_duplicate_and_the_contrl_says_so(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _put(engine, _partner(tmp_path))
    _receive(engine, _remadv("R42"))
    same_bytes = _receive(engine, _remadv("R42"))
    assert (
        same_bytes.duplicate and same_bytes.answer is not None and same_bytes.answer["interchange_ref"] == "1"
    )
    assert len(_edi_deliveries(engine)) == 1  # the same file is not answered twice
    repeat = _receive(engine, _remadv("R42", document="R-2"))
    assert (repeat.kind, repeat.status) == (KIND_REJECTED, "rejected")
    assert "duplicate: interchange R42 from ica" in (repeat.note or "")
    assert _send_answers(engine, settings) == {"sent": 2}
    assert sorted(p.name for p in (tmp_path / "ica").iterdir()) == ["ica_ack_1.edi", "ica_ack_2.edi"]
    uci = edifact.parse((tmp_path / "ica" / "ica_ack_2.edi").read_bytes()).messages[0].segments[0]
    assert (uci.get(1), uci.get(4), uci.get(5)) == ("R42", "4", "26")
    assert len(_interchanges(engine, "in")) == 1


def test_a_malformed_remadv_gets_a_negative_contrl_naming_the_segment(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _put(engine, _partner(tmp_path, syntax_id="UNOA"))
    bad = _remadv("R43").replace(b"RFF+IV:INV-1", b"RFF+IV:inv-1")
    receipt = _receive(engine, bad)
    assert (receipt.kind, receipt.status) == (KIND_REJECTED, "rejected")
    assert receipt.errors[0]["segment_position"] == 6 and receipt.errors[0]["segment_tag"] == "RFF"
    assert "refused by the syntax check at segment 6 (RFF): element 1 component 2" in (receipt.note or "")
    assert _send_answers(engine, settings) == {"sent": 1}
    contrl = read_acknowledgement((tmp_path / "ica" / "ica_ack_1.edi").read_bytes())
    assert (contrl.of_interchange_ref, contrl.status) == ("R43", "rejected")
    [message] = contrl.messages
    assert (message.ref, message.type) == ("7", "REMADV")
    assert message.errors[0] == AckError(4, "", 1, 2, "21", "invalid character(s)")
    assert _interchanges(engine, "in") == []
    resent = _receive(engine, _remadv("R43"))  # the corrected file under the same number is welcome
    assert resent.status == "recorded"


def test_an_820_is_answered_with_a_997(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    _put(
        engine,
        _partner(
            tmp_path,
            standard="x12",
            us={"id": "XXXXXXXXXX", "qualifier": "XX"},
            them={"id": "9251750000", "qualifier": "08"},
        ),
    )
    receipt = _receive(engine, SAFEWAY_820.read_bytes())
    assert (receipt.kind, receipt.message_type, receipt.interchange_ref) == (KIND_MESSAGE, "820", "000025029")
    path = tmp_path / "ica" / "ica_ack_1.x12"
    assert _answer_delivery(engine, receipt).format == "x12-ack"
    assert _send_answers(engine, settings) == {"sent": 1}
    assert _interchanges(engine, "out")[0].ack_details["written"] == str(path)  # type: ignore[index]
    answer = x12.parse(path.read_bytes())
    assert (answer.sender, answer.receiver) == (x12.Party("XX", "XXXXXXXXXX"), x12.Party("08", "9251750000"))
    assert (answer.control_number, answer.version) == ("000000001", "00401")
    [group] = answer.groups
    assert (group.functional_id, group.control_number, group.version) == ("FA", "1", "004010")
    ack = read_acknowledgement(path.read_bytes())
    assert (ack.kind, ack.of_group_ref, ack.status, ack.message_ref) == ("997", "106", "accepted", "0001")
    assert [(m.type, m.ref) for m in ack.messages] == [("820", "00106001")]
    [inbound] = _interchanges(engine, "in")
    assert (inbound.interchange_ref, inbound.group_ref, inbound.message_refs) == (
        "000025029",
        "106",
        ["00106001"],
    )


def test_the_partner_profile_chooses_999_or_no_answer_at_all(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    x12_ids = {"us": {"id": "XXXXXXXXXX", "qualifier": "XX"}, "them": {"id": "9251750000", "qualifier": "08"}}
    _put(engine, _partner(tmp_path, standard="x12", functional_ack="999", **x12_ids))
    receipt = _receive(engine, SAFEWAY_820.read_bytes())
    path = tmp_path / "ica" / "ica_ack_1.x12"
    assert receipt.answer is not None and receipt.answer["kind"] == "999"
    assert _send_answers(engine, settings) == {"sent": 1}
    assert read_acknowledgement(path.read_bytes()).kind == "999"

    _put(engine, _partner(tmp_path, standard="x12", answer_inbound=False, **x12_ids))
    next_interchange = SAFEWAY_820.read_bytes().replace(b"000025029", b"000025030")  # ISA13 and IEA02
    quiet = _receive(engine, next_interchange)
    assert quiet.answer is None and quiet.interchange_ref == "000025030"
    assert "takes no acknowledgements" in (quiet.note or "")
    assert len(_edi_deliveries(engine)) == 1  # nothing queued for it
    assert _send_answers(engine, settings) == {}
    assert sorted(p.name for p in (tmp_path / "ica").iterdir()) == ["ica_ack_1.x12"]


def test_a_malformed_820_gets_a_997_with_the_set_error(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _put(
        engine,
        _partner(
            tmp_path,
            standard="x12",
            us={"id": "XXXXXXXXXX", "qualifier": "XX"},
            them={"id": "9251750000", "qualifier": "08"},
        ),
    )
    bad = SAFEWAY_820.read_bytes().replace(b"SE*39*", b"SE*38*", 1)
    receipt = _receive(engine, bad)
    assert receipt.kind == KIND_REJECTED and receipt.errors[0]["segment_tag"] == "SE"
    assert _send_answers(engine, settings) == {"sent": 1}
    ack = read_acknowledgement((tmp_path / "ica" / "ica_ack_1.x12").read_bytes())
    assert ack.status == "rejected"
    assert ack.messages[0].errors[0].code == "4"


def test_a_partner_we_do_not_know_gets_no_answer(engine: Engine, tmp_path: Path) -> None:
    receipt = _receive(engine, _remadv("R50"))
    assert receipt.partner_id is None and receipt.answer is None
    assert "no trading partner" in (receipt.note or "")
    assert [d.kind for d in _inbound(engine)] == [KIND_MESSAGE]


def test_an_unwritable_transport_is_a_retry_of_the_answers_delivery(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    blocker = tmp_path / "blocked"
    blocker.write_text("a file where the folder should be")
    _put(engine, _partner(blocker))
    receipt = _receive(engine, _remadv("R60"))
    assert receipt.status == "recorded" and not receipt.errors  # receiving never waits for the partner
    assert _send_answers(engine, settings) == {"queued": 1}
    waiting = _answer_delivery(engine, receipt)
    assert (waiting.status, waiting.tries) == (S.QUEUED, 1)
    assert "writing to" in (waiting.last_error or "") and "failed" in (waiting.last_error or "")
    [out] = _interchanges(engine, "out")
    assert out.ack_details is not None and out.ack_details["written"] is None

    blocker.unlink()  # the folder can be written again; the retry is due
    with session_scope(engine) as session:
        session.execute(update(Delivery).values(next_attempt_at=dt.datetime.now(dt.UTC)))
    assert _send_answers(engine, settings) == {"sent": 1}
    path = blocker / "ica" / "ica_ack_1.edi"
    assert read_acknowledgement(path.read_bytes()).of_interchange_ref == "R60"
    assert delivery_row(engine, waiting.id).status == S.SENT
    assert _interchanges(engine, "out")[0].ack_details == {**out.ack_details, "written": str(path)}


def test_an_answer_that_cannot_go_is_a_deviation_like_any_delivery(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _put(engine, _partner(tmp_path))
    receipt = _receive(engine, _remadv("R61"))
    with session_scope(engine) as session:  # the partner's profile broke after the answer was queued
        record = session.execute(select(TradingPartnerRecord)).scalar_one()
        record.profile = {**record.profile, "syntax_id": "UNOZ"}
        session.add(record)
    assert _send_answers(engine, settings) == {"deviation": 1}
    stuck = _answer_delivery(engine, receipt)
    assert stuck.status == S.DEVIATION
    assert "trading partner 'ica': the stored profile no longer validates" in (stuck.last_error or "")
    with session_scope(engine) as session:
        [listed] = list_deviations(session, "acme", channel="edi")
    assert (listed["delivery_id"], listed["invoice_id"], listed["status"]) == (stuck.id, None, "open")
    assert not (tmp_path / "ica").exists()


def test_unreadable_files_raise_format_errors_naming_the_place(engine: Engine) -> None:
    with pytest.raises(edifact.EdiSyntaxError) as refused:
        _receive(engine, b"UNB+++++4'UNZ+0+4'")
    assert refused.value.segment_position == 1 and refused.value.segment_tag == "UNB"
    with pytest.raises(AckFormatError):
        _receive(engine, b"hello")
    assert _inbound(engine) == []


# --- API and CLI -------------------------------------------------------------------------------------------


def test_api_post_edi(client: TestClient, auth: dict[str, str], engine: Engine, tmp_path: Path) -> None:
    _put(engine, _partner(tmp_path))
    delivery_id = _sent_delivery(engine)
    _interchange(engine, delivery_id)
    headers = {**auth, "Content-Type": "application/EDIFACT"}
    response = client.post("/edi", content=_accepting_contrl(), headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["kind"], body["status"], body["applied"]) == ("edi-ack", "accepted", True)
    assert body["linked"][0]["delivery_id"] == delivery_id
    assert client.post("/edi", content=_accepting_contrl(), headers=headers).status_code == 200
    message = client.post(
        "/edi", content=_remadv("R70"), headers={**auth, "Content-Type": "application/octet-stream"}
    )
    assert message.status_code == 201 and message.json()["answer"]["kind"] == "CONTRL"
    listed = client.get("/deliveries", params={"channel": "edi", "status": "queued"}, headers=auth).json()
    [answer] = listed["items"]  # our CONTRL, waiting for the worker like any delivery
    assert answer["id"] == message.json()["answer"]["delivery_id"]
    assert (answer["invoice_id"], answer["address"], answer["format"]) == (None, "ica", "edifact-ack")
    broken = client.post("/edi", content=b"UNB+UNOC:3++X+261124:1200+1'UNZ+0+1'", headers=headers)
    assert broken.status_code == 422
    [error] = broken.json()["errors"]
    assert (error["segment_position"], error["segment_tag"], error["element_index"]) == (1, "UNB", 2)
    assert client.post("/edi", content=b"\x00junk", headers=headers).status_code == 422
    assert (
        client.post("/edi", content=b"{}", headers={**auth, "Content-Type": "application/json"}).status_code
        == 415
    )
    assert client.post("/edi", content=_accepting_contrl()).status_code == 401


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    import gateway.cli

    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(settings.data_dir.parent)
    monkeypatch.setattr(gateway.cli.console, "width", 300)
    return settings


def test_cli_receive_edi(cli_env: Settings, engine: Engine, tmp_path: Path) -> None:
    _put(engine, _partner(tmp_path / "partners"))
    delivery_id = _sent_delivery(engine)
    _interchange(engine, delivery_id)
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a_contrl.edi").write_bytes(_accepting_contrl())
    (folder / "b_remadv.edi").write_bytes(_remadv("R80"))
    runner = CliRunner()
    result = runner.invoke(cli_app, ["receive-edi", str(folder), "--tenant", "acme"])
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    contrl_line = next(line for line in lines if "a_contrl.edi" in line)
    assert "CONTRL" in contrl_line and "accepted" in contrl_line and delivery_id in contrl_line
    assert "CONTRL 1" in next(line for line in lines if "b_remadv.edi" in line)
    (folder / "c_bad.edi").write_bytes(_remadv("R81").replace(b"UNT+6+7", b"UNT+9+7"))
    (folder / "d_junk.edi").write_bytes(b"UNB+")
    bad = runner.invoke(cli_app, ["receive-edi", str(folder / "c_bad.edi"), str(folder / "d_junk.edi")])
    assert bad.exit_code == 2, bad.output
    junk_line = next(line for line in bad.output.splitlines() if "d_junk" in line)
    assert "edi-rejected" in bad.output and "rejected" in junk_line


# --- the partner's SFTP transport (a real sshd on loopback) ------------------------------------------------


def test_the_answer_is_uploaded_to_the_partners_sftp_outgoing_folder(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    import os

    from tests.sftp_server import OpenSshSftpServer

    with OpenSshSftpServer() as server:
        folder = f"out/edi_{engine.dialect.name}"
        directory = server.local(folder)
        directory.mkdir(mode=0o755)
        os.chown(directory, server.uid, server.gid)
        login = server.settings().model_dump()
        for secret in ("password", "private_key", "private_key_passphrase"):
            if login.get(secret) is not None:
                login[secret] = login[secret].get_secret_value()
        sftp = {key: value for key, value in login.items() if value is not None}
        _put(engine, _partner(tmp_path, transport={"kind": "sftp", "sftp": sftp, "outgoing": folder}))
        receipt = _receive(engine, _remadv("R90"))
        assert _send_answers(engine, settings) == {"sent": 1}, _answer_delivery(engine, receipt).last_error
        [out] = _interchanges(engine, "out")
        where = f"sftp://127.0.0.1:{server.port}/{folder}/ica_ack_1.edi"
        assert out.ack_details is not None and out.ack_details["written"] == where
        uploaded = (directory / "ica_ack_1.edi").read_bytes()
        assert read_acknowledgement(uploaded).of_interchange_ref == "R90"
        assert [p.name for p in directory.iterdir()] == ["ica_ack_1.edi"]  # no .part left behind


def test_a_partners_aperak_that_breaks_the_syntax_is_still_read(engine: Engine, tmp_path: Path) -> None:
    _put(
        engine,
        _partner(
            tmp_path, us={"id": "SENDERID", "qualifier": "14"}, them={"id": "RECEIVERID", "qualifier": "14"}
        ),
    )
    delivery_id = _sent_delivery(engine)
    _interchange(engine, delivery_id, messages=("PO123456",))
    data = (
        SHARED / "samples" / "edi" / "edifact" / "APERAK" / "pydifact_aperak_rejected_v3.edi"
    ).read_bytes()
    receipt = _receive(engine, data)
    assert (receipt.kind, receipt.message_type, receipt.partner_id, receipt.status) == (
        KIND_ACK,
        "APERAK",
        "ica",
        "rejected",
    )
    assert receipt.answer is None  # acknowledgements are never answered
    assert "read leniently: segment 8 (FTX)" in (receipt.note or "")
    delivery = delivery_row(engine, delivery_id)
    assert delivery.status == S.DEVIATION
    assert "code 12 (Order rejected due to invalid product code)" in (delivery.last_error or "")
