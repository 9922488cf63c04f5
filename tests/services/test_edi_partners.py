"""Trading partner profiles and control numbers on a real outbox (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from pydantic import ValidationError
from sqlalchemy import Engine, select, update

from db.engine import session_scope
from db.models import EdiControlCounter, EdiInterchange
from gateway.services.tenancy.edi_partners import (
    ControlNumbersExhausted,
    envelope_for,
    get_partner,
    interchange_for_attempt,
    list_partners,
    next_control_number,
    put_partner,
)
from gateway.services.tenancy.tenants import ensure_tenant
from schemas.edi_partner import TradingPartner


def partner(partner_id: str = "ica", **changes: Any) -> TradingPartner:
    values: dict[str, Any] = {
        "partner_id": partner_id,
        "us": {"id": "7080000000009", "qualifier": "14"},
        "them": {"id": "7300009000003", "qualifier": "14"},
        "transport": {"kind": "folder", "directory": "/srv/edi/ica"},
    }
    values.update(changes)
    return TradingPartner.model_validate(values)


def test_profiles_are_stored_per_tenant_and_replaced(engine: Engine) -> None:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        ensure_tenant(session, "other")
        put_partner(session, "acme", partner())
        put_partner(session, "other", partner(test=True))
        put_partner(session, "acme", partner(message_format="edifact-d01b"))
    with session_scope(engine) as session:
        found = get_partner(session, "acme", "ica")
        assert found is not None and found.message_format == "edifact-d01b" and not found.test
        other = get_partner(session, "other", "ica")
        assert other is not None and other.test
        assert get_partner(session, "acme", "coop") is None
        assert [(t, p.partner_id) for t, p in list_partners(session)] == [("acme", "ica"), ("other", "ica")]


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"message_format": "x12-810", "them": {"id": "A" * 16, "qualifier": "ZZ"}}, "at most 15"),
        ({"message_format": "x12-810", "x12_separators": "**~^"}, "must differ"),
        ({"syntax_id": "UNOA", "us": {"id": "acme ltd", "qualifier": "ZZZ"}}, "UNOA"),
        ({"transport": {"kind": "sftp"}}, "sftp settings"),
        ({"partner_id": "../etc"}, "pattern"),
        ({"service_characters": ":+.? "}, "at least 6"),
    ],
)
def test_bad_profiles_are_refused_naming_the_problem(changes: dict[str, Any], message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        partner(**changes)


def test_control_numbers_count_per_tenant_partner_and_kind(engine: Engine) -> None:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        ensure_tenant(session, "other")
        seen = [next_control_number(session, "acme", "ica", "interchange") for _ in range(3)]
        seen.append(next_control_number(session, "acme", "ica", "message"))
        seen.append(next_control_number(session, "acme", "coop", "interchange"))
        seen.append(next_control_number(session, "other", "ica", "interchange"))
    assert seen == [1, 2, 3, 1, 1, 1]


def test_a_used_up_counter_is_an_error_not_a_wrap_around(engine: Engine) -> None:
    with session_scope(engine) as session:
        next_control_number(session, "acme", "ica", "interchange")
        session.execute(update(EdiControlCounter).values(last_value=999_999_999))
    with pytest.raises(ControlNumbersExhausted, match="used up"), session_scope(engine) as session:
        next_control_number(session, "acme", "ica", "interchange")


def test_numbers_are_fixed_per_delivery_attempt(engine: Engine) -> None:
    profile = partner(ack_deadline_hours=4)
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        first = interchange_for_attempt(
            session, tenant_id="acme", partner=profile, delivery_id="d1", attempt=1,
            invoice_id="i1", message_type="INVOIC",
        )  # fmt: skip
        again = interchange_for_attempt(
            session, tenant_id="acme", partner=profile, delivery_id="d1", attempt=1,
            invoice_id="i1", message_type="INVOIC",
        )  # fmt: skip
        resend = interchange_for_attempt(
            session, tenant_id="acme", partner=profile, delivery_id="d1", attempt=2,
            invoice_id="i1", message_type="INVOIC",
        )  # fmt: skip
        assert again.id == first.id
        assert (first.interchange_ref, first.message_refs) == ("1", ["1"])
        assert (resend.interchange_ref, resend.message_refs) == ("2", ["2"])
        assert first.ack_due_at is not None
        assert round((first.ack_due_at - first.created_at).total_seconds()) == 4 * 3600


def test_concurrent_sessions_never_get_the_same_number(engine: Engine) -> None:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    got: list[int] = []
    lock = threading.Lock()
    start = threading.Barrier(4)

    def take() -> None:
        start.wait()
        for _ in range(15):
            with session_scope(engine) as session:
                value = next_control_number(session, "acme", "ica", "interchange")
            with lock:
                got.append(value)

    threads = [threading.Thread(target=take) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(got) == list(range(1, 61))
    with session_scope(engine) as session:
        assert session.execute(select(EdiInterchange)).first() is None


def test_every_try_of_an_attempt_gets_the_same_envelope(engine: Engine) -> None:
    """What lets the gateway hand the EDI channel byte-identical interchanges on every try of one attempt."""
    profile = partner(ack_requested=True, test=True)
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        first = interchange_for_attempt(
            session, tenant_id="acme", partner=profile, delivery_id="d1", attempt=1, invoice_id=None,
            message_type="INVOIC",
        )  # fmt: skip
        envelope = envelope_for(profile, first)
    with session_scope(engine) as session:
        again = interchange_for_attempt(
            session, tenant_id="acme", partner=profile, delivery_id="d1", attempt=1, invoice_id=None,
            message_type="INVOIC",
        )  # fmt: skip
        assert envelope_for(profile, again) == envelope
    assert (envelope.interchange_ref, envelope.group_ref, envelope.message_ref) == ("1", "1", "1")
    assert (envelope.sender_id, envelope.recipient_id) == ("7080000000009", "7300009000003")
    assert envelope.prepared == first.created_at and envelope.ack_requested and envelope.test
