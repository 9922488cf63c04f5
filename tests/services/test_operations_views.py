"""The read-side helpers the console's operational pages use: URLs shown without secrets, and an
interchange's acknowledgement state when no acknowledgement has come (yet)."""

from __future__ import annotations

import datetime as dt

import pytest

from db.models import EdiInterchange
from gateway.services.inbound.edi_interchanges import ack_in_words, ack_state
from gateway.services.tenancy.webhooks import shown_url

NOW = dt.datetime(2026, 11, 24, 12, 0, tzinfo=dt.UTC)


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("https://erp.example/hooks", "https://erp.example/hooks"),
        ("https://erp.example:8443/in?token=s3cret", "https://erp.example:8443/in …"),
        ("https://user:pa55@erp.example/in", "https://erp.example/in …"),
        ("http://[::1]:9000/x#frag", "http://[::1]:9000/x …"),
    ],
)
def test_a_webhook_url_is_shown_without_what_may_carry_a_secret(url: str, shown: str) -> None:
    assert shown_url(url) == shown
    assert "s3cret" not in shown_url(url) and "pa55" not in shown_url(url)


def _interchange(**changes: object) -> EdiInterchange:
    values: dict[str, object] = {
        "tenant_id": "acme",
        "partner_id": "ica",
        "direction": "out",
        "standard": "edifact",
        "message_type": "INVOIC",
        "interchange_ref": "17",
        "message_refs": ["1"],
        "created_at": NOW - dt.timedelta(hours=2),
    }
    values.update(changes)
    return EdiInterchange(**values)


def test_ack_state_without_an_acknowledgement() -> None:
    due_later = _interchange(ack_due_at=NOW + dt.timedelta(hours=22))
    assert ack_state(due_later, NOW) == "waiting"
    assert "due 2026-11-25 10:00 UTC" in ack_in_words(due_later, NOW)
    due_passed = _interchange(ack_due_at=NOW - dt.timedelta(minutes=1))  # not yet flagged by the worker
    assert ack_state(due_passed, NOW) == "overdue"
    assert ack_in_words(due_passed, NOW) == "No acknowledgement by 2026-11-24 11:59 UTC."
    assert ack_state(_interchange(), NOW) == "not expected"
    answer = _interchange(message_type="CONTRL", ack_due_at=None)
    assert ack_state(answer, NOW) == "not expected"
    assert "none is expected back" in ack_in_words(answer, NOW)
    received = _interchange(direction="in", message_type="REMADV")
    assert (ack_state(received, NOW), ack_in_words(received, NOW)) == (
        "not expected",
        "Received from the partner.",
    )


def test_ack_words_for_a_partial_acknowledgement() -> None:
    partial = _interchange(
        ack_status="partial",
        message_refs=["1", "2"],
        ack_details={
            "latest": {
                "kind": "997",
                "status": "partial",
                "errors": [],
                "messages": [
                    {"ref": "1", "type": "810", "status": "accepted", "errors": []},
                    {
                        "ref": "2",
                        "type": "810",
                        "status": "rejected",
                        "errors": [
                            {
                                "segment_position": 4,
                                "segment_tag": "N1",
                                "element": 2,
                                "component": None,
                                "code": "7",
                                "text": "invalid code value",
                            }
                        ],
                    },
                ],
                "note": "",
            }
        },
    )
    assert ack_state(partial, NOW) == "partially"
    words = ack_in_words(partial, NOW)
    assert words.startswith("997: partly accepted — message 2 (810): segment 4 (N1) element 2")
    assert "message 1" not in words
