"""Bounces that are not RFC 3464 reports, auto-replies and feedback reports, on a real outbox (issue 17).

The bounces here are the real sisimai samples re-addressed to what the gateway sent: the notice sent to
our VERP address, the returned message's Message-ID ours, the failed recipient the delivery's address.
Each test says which real file it stands for.
"""

from __future__ import annotations

import re

from sqlalchemy import Engine

from outbox.states import DeliveryStatus
from tests.conftest import SHARED
from tests.services.test_bounces import _delivery, _email_delivery, _events, _receive

S = DeliveryStatus
SISIMAI = SHARED / "samples" / "email" / "sisimai"


def _qmail_bounce(*, to: str, failed: str, returned_id: str) -> bytes:
    """lhost-qmail-15.eml (qmail-send's plain-text "failure notice"), addressed to `to` about `failed`."""
    data = (SISIMAI / "lhost-qmail-15.eml").read_bytes()
    data = data.replace(b"To: kijitora@nq.example.jp", f"To: {to}".encode(), 1)
    data = data.replace(b"pseudo-local-part-of-microsoft-outlook@outlook.com", failed.encode())
    return data.replace(b"<20240624085801.44552.qmail@nq.example.jp>", returned_id.encode())


def test_a_plain_text_bounce_is_linked_by_verp_and_applied_to_that_delivery_only(engine: Engine) -> None:
    first = _email_delivery(engine, "INV-2001", n=1, address="a@kunde.test")
    second = _email_delivery(engine, "INV-2002", n=2, address="b@kunde.test")
    # VERP names the second delivery; the returned Message-ID is not ours (the first key wins)
    bounce = _qmail_bounce(
        to=f"bounces+{second}@hub.test", failed="b@kunde.test", returned_id="<x@elsewhere>"
    )
    result = _receive(engine, bounce)
    assert (result.delivery_id, result.linked_by, result.applied) == (second, "verp", True)
    assert result.classification == "failed"
    assert _delivery(engine, second).status == S.DEVIATION
    assert _delivery(engine, first).status == S.SENT  # the other delivery is untouched
    assert "b@kunde.test" in (_events(engine, second)[-1].reason or "")


def test_a_plain_text_bounce_is_linked_by_the_returned_message_id(engine: Engine) -> None:
    first = _email_delivery(engine, "INV-2011", n=1, address="a@kunde.test")
    second = _email_delivery(engine, "INV-2012", n=2, address="b@kunde.test")
    bounce = _qmail_bounce(
        to="postmaster@hub.test", failed="a@kunde.test", returned_id=f"<{first}-1@hub.test>"
    )
    result = _receive(engine, bounce)
    assert (result.delivery_id, result.linked_by, result.attempt) == (first, "message-id", 1)
    assert _delivery(engine, first).status == S.DEVIATION and _delivery(engine, second).status == S.SENT


def test_linking_by_recipient_only_when_one_sent_delivery_has_that_address(engine: Engine) -> None:
    only = _email_delivery(engine, "INV-2021", n=1, address="solo@kunde.test")
    bounce = _qmail_bounce(to="postmaster@hub.test", failed="solo@kunde.test", returned_id="<x@elsewhere>")
    result = _receive(engine, bounce)
    assert (result.delivery_id, result.linked_by) == (only, "recipient")
    assert _delivery(engine, only).status == S.DEVIATION
    # two sent deliveries to the same address: the bounce names no key but the address — not guessed
    one = _email_delivery(engine, "INV-2022", n=2, address="twice@kunde.test")
    two = _email_delivery(engine, "INV-2023", n=3, address="twice@kunde.test")
    ambiguous = _receive(
        engine,
        _qmail_bounce(to="postmaster@hub.test", failed="twice@kunde.test", returned_id="<y@elsewhere>"),
    )
    assert ambiguous.delivery_id is None and not ambiguous.applied
    assert ambiguous.note is not None and "more than one sent e-mail delivery" in ambiguous.note
    assert _delivery(engine, one).status == S.SENT and _delivery(engine, two).status == S.SENT


def test_an_auto_reply_is_recorded_linked_and_never_applied(engine: Engine) -> None:
    """rfc3834-03.eml (an Apple vacation notice), in reply to our invoice mail."""
    delivery = _email_delivery(engine, "INV-2031", n=1, address="kijitora@apple.example.com")
    data = (SISIMAI / "rfc3834-03.eml").read_bytes()
    data = data.replace(
        b"<25203A4E-F90F-4A14-BF51-3E7B9D39BE8E@libsisimai.org>", f"<{delivery}-1@hub.test>".encode()
    )
    result = _receive(engine, data)
    assert result.classification == "auto-reply" and not result.applied
    assert (result.delivery_id, result.linked_by) == (delivery, "references")
    assert result.note is not None and "never applied" in result.note
    assert _delivery(engine, delivery).status == S.SENT


def test_a_feedback_report_is_recorded_and_never_applied(engine: Engine) -> None:
    """arf-19.eml (an ARF report about a message) — even when it names our delivery."""
    delivery = _email_delivery(engine, "INV-2041", n=1, address="kunde@ok.test")
    data = (SISIMAI / "arf-19.eml").read_bytes()
    data = re.sub(
        rb"(?im)^(Message-ID:\s*)<[^>]+>", lambda m: m.group(1) + f"<{delivery}-1@hub.test>".encode(), data
    )
    result = _receive(engine, data)
    assert result.classification == "feedback-report" and not result.applied
    assert _delivery(engine, delivery).status == S.SENT


def test_a_report_with_a_recipient_block_without_action_applies_the_others(engine: Engine) -> None:
    """lhost-yandex-02.eml (two failed recipients), its first block's Action removed."""
    delivery = _email_delivery(engine, "INV-2051", n=1, address="sabineko@example.jp")
    data = (SISIMAI / "lhost-yandex-02.eml").read_bytes()
    data = data.replace(b"Action: failed", b"", 1)
    data = re.sub(rb"(?m)^To: [^\r\n]*", f"To: bounces+{delivery}@hub.test".encode(), data, count=1)
    result = _receive(engine, data)
    assert [r["final_recipient"] for r in result.recipients] == ["sabineko@example.jp"]
    assert result.applied and _delivery(engine, delivery).status == S.DEVIATION
