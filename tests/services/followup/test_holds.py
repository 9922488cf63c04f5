"""Holding follow-up on an invoice: the state row is made when missing, the daily run skips the held invoice
with the reason `held`, the invoice's history says who held it and why, and resuming lets the run write it."""

from __future__ import annotations

import datetime as dt

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import FollowUpState
from gateway.services.followup.disputes import FollowUpRefused
from gateway.services.followup.holds import hold_note, set_hold
from tests.services.followup.test_run import _setup, decisions, run

NOW = dt.datetime(2026, 6, 10, 9, tzinfo=dt.UTC)


def test_a_held_invoice_is_skipped_by_the_run_until_resumed(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    invoices = _setup(client, auth)
    one = invoices["1"]
    with session_scope(engine) as session:
        assert session.get(FollowUpState, one["id"]) is None  # follow-up never touched it
        with pytest.raises(FollowUpRefused, match="reason"):
            set_hold(session, "acme", one["id"], held=True, reason=" ", actor="console:k", now=NOW)
        set_hold(session, "acme", one["number"], held=True, reason="in administration",
                 actor="console:kari@acme.example", now=NOW)  # fmt: skip
    with session_scope(engine) as session:
        state = session.get(FollowUpState, one["id"])
        assert state is not None and state.held
        note = hold_note(session, one["id"])
        assert note is not None and (note["actor"], note["reason"]) == (
            "console:kari@acme.example",
            "in administration",
        )
        with pytest.raises(FollowUpRefused) as twice:
            set_hold(session, "acme", one["id"], held=True, reason="again", actor="x", now=NOW)
        assert twice.value.status == 409
    first = run(client, auth, dt.date(2026, 6, 15))
    taken = decisions(client, auth, first["run_id"])[one["number"]]
    assert (taken["decision"], taken["notice_id"]) == ("skipped", None) and taken["reason"].startswith("held")
    assert first["skipped"].get("held") == 1
    with session_scope(engine) as session:
        set_hold(session, "acme", one["id"], held=False, reason="administrator pays",
                 actor="console:kari@acme.example", now=NOW)  # fmt: skip
    again = run(client, auth, dt.date(2026, 6, 16))
    assert decisions(client, auth, again["run_id"])[one["number"]]["decision"] == "notice"
