"""The daily run walked through a summer with a fixed clock, through the real API on both databases:
reminder → reminder → payment demand with fees 35/35/105 on a collection rate of 700, a second fee refused
before the first deadline, a partial payment between levels, a dispute and a promise that skip, a broken
promise that resumes, interest across a 1 July rate change, a decision for every invoice, an idempotent
rerun, a dry run that writes nothing, and a cancelled notice that a next run writes again."""

from __future__ import annotations

import datetime as dt
import threading
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import Session

from db.engine import session_scope
from db.models import (
    Dispute,
    FollowUpDecision,
    FollowUpRun,
    FollowUpState,
    PaymentPromise,
    ReminderNotice,
    ReminderNoticeItem,
)
from gateway.samples import kid_for, sample_invoice_json
from gateway.services.followup.rules import late_interest
from gateway.services.followup.run import FollowUpRunBusy, level_due_on, run_follow_up
from gateway.settings import Settings
from schemas.followup import DunningLevel, FollowUpSettings, NoticeKind
from tests.remittance_files import Tx, camt054

Auth = dict[str, str]
ISSUED = dt.date(2026, 5, 18)  # due 2026-06-01
DUE = dt.date(2026, 6, 1)
FOLLOW_UP: dict[str, Any] = {
    "enabled": True,
    "strategies": [
        {
            "segment": None,
            "levels": [
                {"level": 1, "kind": "reminder", "delay_days": 14},
                {"level": 2, "kind": "reminder", "delay_days": 0, "delay_from": "previous_notice"},
                {"level": 3, "kind": "payment_demand", "delay_days": 0, "delay_from": "previous_notice",
                 "approval_required": True},
            ],
        },
        {
            "segment": "priority",  # a hasty level 2 counted from the due date: before the first deadline
            "levels": [
                {"level": 1, "kind": "reminder", "delay_days": 14},
                {"level": 2, "kind": "reminder", "delay_days": 20},
            ],
        },
    ],
    "collection_rates": [{"effective_from": "2015-01-01", "collection_rate": "700"}],
    "interest_rates": [
        {"effective_from": "2026-01-01", "rate_percent": "10.00", "fixed_compensation": "0"},
        {"effective_from": "2026-07-01", "rate_percent": "12.00", "fixed_compensation": "0"},
    ],
}  # fmt: skip


def _setup(client: TestClient, auth: Auth) -> dict[str, dict[str, Any]]:
    settings = client.get("/settings", headers=auth).json()
    answer = client.put("/settings", json={**settings, "follow_up": FOLLOW_UP}, headers=auth)
    assert answer.status_code == 200, answer.text
    profile = {"receiver_id": "C-PRIO", "segment": "priority", "preferred_channel": "email",
               "addresses": {"email": "ap@prio.example"}}  # fmt: skip
    assert client.put("/receivers/C-PRIO", json=profile, headers=auth).status_code in (200, 201)
    invoices = {}
    for n, receiver in ((1, None), (2, None), (3, None), (4, None), (5, "C-PRIO")):
        data = sample_invoice_json(n, issue_date=ISSUED, receiver_id=receiver, number_prefix=f"F{n}")
        created = client.post("/invoices", json=data, headers=auth)
        assert created.status_code == 201, created.text
        invoices[str(n)] = client.get(f"/invoices/{created.json()['invoice_id']}", headers=auth).json()
    return invoices


def run(client: TestClient, auth: Auth, on: dt.date, *, dry_run: bool = False) -> dict[str, Any]:
    answer = client.post("/followup/run", json={"date": on.isoformat(), "dry_run": dry_run}, headers=auth)
    assert answer.status_code == 200, answer.text
    report: dict[str, Any] = answer.json()
    return report


def decisions(client: TestClient, auth: Auth, run_id: str) -> dict[str, dict[str, Any]]:
    page = client.get(f"/followup/runs/{run_id}/decisions", params={"limit": 1000}, headers=auth).json()
    assert page["total"] == len(page["items"])
    return {item["invoice_number"]: item for item in page["items"]}


def notice_of(client: TestClient, auth: Auth, notice_id: str) -> dict[str, Any]:
    answer = client.get(f"/reminders/{notice_id}", headers=auth)
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def table_counts(engine: Engine) -> dict[str, int]:
    with session_scope(engine) as session:
        return {
            model.__name__: session.execute(select(func.count()).select_from(model)).scalar_one()
            for model in (FollowUpRun, FollowUpDecision, ReminderNotice, ReminderNoticeItem, FollowUpState)
        }


def test_a_summer_of_follow_up(client: TestClient, auth: Auth, engine: Engine, token_for: Any) -> None:
    invoices = _setup(client, auth)
    one, two, three, four, prio = (invoices[str(n)] for n in range(1, 6))
    numbers = [view["number"] for view in invoices.values()]
    with session_scope(engine) as session:  # a dispute on 2 and a promise on 3 (the disputes module's rows)
        session.add(Dispute(tenant_id="acme", invoice_id=two["id"], category="goods", origin="customer",
                            reason="damaged", status="open", opened_by="test"))  # fmt: skip
        promised = dt.date(2026, 7, 10)
        amount = three["payable_amount"]
        session.add(PaymentPromise(tenant_id="acme", invoice_id=three["id"], promised_on=promised,
                                   amount=amount,
                                   status="open", created_by="test"))  # fmt: skip

    # 13 days after due: no level can be due yet, so the run does not even look at them
    early = run(client, auth, dt.date(2026, 6, 14))
    assert (early["notices"], early["looked_at"]) == (0, 0)

    # a dry run on the first due day reports what the real run then does, and writes nothing
    before = table_counts(engine)
    dry = run(client, auth, dt.date(2026, 6, 15), dry_run=True)
    assert table_counts(engine) == before and dry["run_id"] is None
    first = run(client, auth, dt.date(2026, 6, 15))
    assert {k: v for k, v in first.items() if k not in ("run_id", "dry_run")} == {
        k: v for k, v in dry.items() if k not in ("run_id", "dry_run")
    }
    assert first["notices_by_level"] == {"1": 2} and first["skipped"] == {"disputed": 1, "promised": 1}
    assert first["notice_invoices"] == 3  # 1 and 4 have the same buyer: one notice for both
    taken = decisions(client, auth, first["run_id"])
    assert set(taken) == set(numbers)  # a decision for every invoice it looked at
    assert taken[two["number"]]["reason"].startswith("disputed")
    assert taken[three["number"]]["reason"].startswith("promised")
    level_one = notice_of(client, auth, taken[one["number"]]["notice_id"])
    assert (level_one["kind"], level_one["fee"], level_one["deadline"]) == ("reminder", "35.00", "2026-06-29")
    items = {item["invoice_number"]: item for item in level_one["items"]}
    assert level_one["status"] == "queued" and set(items) == {one["number"], four["number"]}
    assert sorted(item["fee"] for item in items.values()) == ["0", "35.00"]  # one fee per notice
    settings = FollowUpSettings.model_validate(FOLLOW_UP)
    opened = Decimal(one["payable_amount"]) + Decimal(four["payable_amount"])
    interest_1 = sum(
        late_interest(settings, Decimal(view["payable_amount"]), due_date=DUE, on=dt.date(2026, 6, 15))
        for view in (one, four)
    )
    assert Decimal(level_one["interest"]) == interest_1 > 0
    assert Decimal(level_one["total"]) == opened + Decimal("35.00") + interest_1

    # the same day again: no second notice
    again = run(client, auth, dt.date(2026, 6, 15))
    assert again["notices"] == 0 and again["skipped"]["not_due"] == 3
    assert len(client.get("/reminders", params={"limit": 1000}, headers=auth).json()["items"]) == 2

    # the hasty priority level 2 (20 days after due) comes before the first deadline: refused, rule named
    hasty = run(client, auth, dt.date(2026, 6, 21))
    assert hasty["refused"] == {"NO-FEE-SEQUENCE": 1} and hasty["notices"] == 0
    refused = decisions(client, auth, hasty["run_id"])[prio["number"]]
    assert (refused["decision"], refused["rule"], refused["level"]) == ("refused", "NO-FEE-SEQUENCE", 2)
    assert "2026-06-29" in refused["reason"]

    # a partial payment between the levels: the second reminder claims what is left
    paid = Decimal("1000.00")
    bank = camt054([Tx(paid, kid=kid_for(1))], message_id="PART-1", day=dt.date(2026, 6, 25))
    received = client.post("/remittances", params={"filename": "part.xml"}, content=bank,
                           headers={**auth, "Content-Type": "application/xml"})  # fmt: skip
    assert received.status_code == 201, received.text
    [payment] = client.get("/payments", headers=auth).json()["items"]
    if payment["status"] != "matched":  # a short payment goes to a person, who places it
        resolved = client.post(
            f"/payments/{payment['id']}/resolve",
            json={"allocations": [{"invoice_id": one["id"], "amount": str(paid)}]},
            headers=auth,
        )
        assert resolved.status_code == 200, resolved.text
    left = Decimal(one["payable_amount"]) - paid
    assert (
        Decimal(client.get(f"/invoices/{one['id']}", headers=auth).json()["payment"]["open_amount"]) == left
    )

    second = run(client, auth, dt.date(2026, 6, 30))  # the day after the first deadline
    assert second["notices_by_level"] == {"2": 2}  # 1 + 4, and the priority invoice now its deadline passed
    level_two = notice_of(client, auth, decisions(client, auth, second["run_id"])[one["number"]]["notice_id"])
    assert (level_two["level"], level_two["fee"], level_two["deadline"]) == (2, "35.00", "2026-07-14")
    assert Decimal(level_two["open_total"]) == left + Decimal(four["payable_amount"])
    reminded = {item["invoice_number"]: item for item in level_two["items"]}
    assert Decimal(reminded[one["number"]]["open_amount"]) == left
    # interest on each day's balance: what is left for 29 days, and the 1000 paid on 25 June for the 24 days
    # it was late (not lost because it is paid now)
    paid_part = paid * Decimal("0.10") * 24 / 365
    on_balances = left * Decimal("0.10") * 29 / 365 + paid_part
    assert Decimal(reminded[one["number"]]["interest"]) == on_balances.quantize(Decimal("0.01"))
    only_what_is_left = late_interest(settings, left, due_date=DUE, on=dt.date(2026, 6, 30))
    assert on_balances.quantize(Decimal("0.01")) > only_what_is_left

    # 3's promise breaks on 11 July (unpaid): follow-up resumes, the broken promise counted per customer
    broken = run(client, auth, dt.date(2026, 7, 11))
    assert broken["promises_broken"] == 1 and sum(broken["broken_promises_by_customer"].values()) == 1
    resumed = decisions(client, auth, broken["run_id"])[three["number"]]
    assert resumed["decision"] == "notice" and resumed["level"] == 1

    # the payment demand after the second deadline: 105, awaiting approval; interest at 10 % to 30 June
    # and 12 % from 1 July
    demand_day = dt.date(2026, 7, 15)
    third = run(client, auth, demand_day)
    level_three = notice_of(
        client, auth, decisions(client, auth, third["run_id"])[one["number"]]["notice_id"]
    )
    assert (level_three["kind"], level_three["fee"], level_three["status"]) == (
        "payment_demand", "105.00", "awaiting_approval",
    )  # fmt: skip
    june_rate_only = late_interest(
        FollowUpSettings.model_validate({**FOLLOW_UP, "interest_rates": FOLLOW_UP["interest_rates"][:1]}),
        left, due_date=DUE, on=demand_day,
    )  # fmt: skip
    claimed = {item["invoice_number"]: item for item in level_three["items"]}
    expected = left * Decimal("0.10") * 30 / 365 + left * Decimal("0.12") * 14 / 365 + paid_part
    assert Decimal(claimed[one["number"]]["interest"]) == expected.quantize(Decimal("0.01")) != june_rate_only
    with session_scope(engine) as session:  # the notices' fees fell on 1 or 4: 35 + 35 + 105 in all
        states = [session.get(FollowUpState, view["id"]) for view in (one, four)]
        assert [state.level for state in states if state] == [3, 3]
        assert sum(Decimal(state.fee_total) for state in states if state) == Decimal("175.00")
        assert sum(state.fees_charged for state in states if state) == 2

    # approve it (another tenant cannot see it), then past the last level: a collection candidate
    other = token_for("globex")
    assert client.get(f"/reminders/{level_three['id']}", headers=other).status_code == 404
    assert client.post(f"/reminders/{level_three['id']}/approve", headers=other).status_code == 404
    approved = client.post(f"/reminders/{level_three['id']}/approve", headers=auth)
    assert approved.status_code == 200 and approved.json()["status"] == "queued"
    assert client.post(f"/reminders/{level_three['id']}/approve", headers=auth).status_code == 409
    after = run(client, auth, dt.date(2026, 7, 30))
    assert decisions(client, auth, after["run_id"])[one["number"]]["decision"] == "past_last_level"

    # every run recorded one decision per invoice it looked at
    with session_scope(engine) as session:
        for run_row in session.execute(select(FollowUpRun)).scalars():
            recorded = session.execute(
                select(func.count())
                .select_from(FollowUpDecision)
                .where(FollowUpDecision.run_id == run_row.id)
            ).scalar_one()
            assert recorded == run_row.counts["looked_at"], run_row.run_on


def test_a_cancelled_notice_is_written_again_by_the_next_run(
    client: TestClient, auth: Auth, engine: Engine
) -> None:
    invoices = _setup(client, auth)
    one = invoices["1"]
    first = run(client, auth, dt.date(2026, 6, 15))
    notice_id = decisions(client, auth, first["run_id"])[one["number"]]["notice_id"]
    missing = client.post(f"/reminders/{notice_id}/cancel", json={}, headers=auth)
    assert missing.status_code == 422 and "body.reason" in missing.text
    cancelled = client.post(
        f"/reminders/{notice_id}/cancel", json={"reason": "paid at the counter"}, headers=auth
    )
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert (
        client.post(f"/reminders/{notice_id}/cancel", json={"reason": "again"}, headers=auth).status_code
        == 409
    )
    with session_scope(engine) as session:
        state = session.get(FollowUpState, one["id"])
        assert state is not None and (state.level, state.last_notice_id, state.fees_charged) == (0, None, 0)
    rerun = run(client, auth, dt.date(2026, 6, 15))
    rewritten = decisions(client, auth, rerun["run_id"])[one["number"]]
    assert rewritten["decision"] == "notice" and rewritten["notice_id"] != notice_id
    listed = client.get("/reminders", params={"status": "cancelled"}, headers=auth).json()["items"]
    assert [item["id"] for item in listed] == [notice_id]


def test_bad_requests_name_the_field(client: TestClient, auth: Auth) -> None:
    bad_date = client.post("/followup/run", json={"date": "2026-02-30"}, headers=auth)
    assert bad_date.status_code == 422 and "body.date" in bad_date.text
    far = client.post("/followup/run", json={"date": "9999-12-31"}, headers=auth)
    assert far.status_code == 422 and "body.date" in far.text
    status = client.get("/reminders", params={"status": "lost"}, headers=auth)
    assert status.status_code == 422 and "query.status" in status.text
    assert client.get("/reminders/nope", headers=auth).status_code == 404
    assert client.get("/followup/runs/nope/decisions", headers=auth).status_code == 404
    today = client.post("/followup/run", headers=auth)  # no body: today, for real
    assert today.status_code == 200 and today.json()["run_id"]


def test_a_pause_is_added_once_to_the_next_level() -> None:
    """Regression: the days a dispute paused follow-up were added to every later level counted from the
    previous notice (a 20-day pause before the second reminder put the payment demand 20 days late again).
    A level counted from the previous notice starts from that notice's deadline, which the pause moved
    (`disputes._resume_follow_up`); only a level counted from the due date adds the days paused."""
    due, deadline = dt.date(2026, 3, 15), dt.date(2026, 5, 17)
    following = DunningLevel(
        level=3, kind=NoticeKind.PAYMENT_DEMAND, delay_days=0, delay_from="previous_notice"
    )
    assert level_due_on(following, due_date=due, last_deadline=deadline, paused_days=20) == dt.date(
        2026, 5, 18
    )
    dated = DunningLevel(level=2, kind=NoticeKind.REMINDER, delay_days=20)
    assert level_due_on(dated, due_date=due, last_deadline=deadline, paused_days=20) == dt.date(2026, 4, 24)
    first = DunningLevel(level=1, kind=NoticeKind.REMINDER, delay_days=0, delay_from="previous_notice")
    assert level_due_on(first, due_date=due, last_deadline=None, paused_days=5) == dt.date(2026, 3, 20)


def test_statement_customers_are_skipped_and_an_undeliverable_notice_does_not_stop_the_run(
    client: TestClient, auth: Auth, engine: Engine
) -> None:
    invoices = _setup(client, auth)
    settings = client.get("/settings", headers=auth).json()
    settings["follow_up"]["statements"] = True
    assert client.put("/settings", json=settings, headers=auth).status_code == 200
    profiles = {
        "C-STMT": {"receiver_id": "C-STMT", "preferred_channel": "folder", "statements": True},
        # a consumer reachable on PEPPOL only: no channel can carry a reminder to it
        "C-BAD": {"receiver_id": "C-BAD", "segment": "private", "preferred_channel": "peppol"},
    }
    made = {}
    for n, (receiver, profile) in enumerate(profiles.items(), start=6):
        assert client.put(f"/receivers/{receiver}", json=profile, headers=auth).status_code in (200, 201)
        data = sample_invoice_json(n, issue_date=ISSUED, receiver_id=receiver, number_prefix=f"F{n}")
        created = client.post("/invoices", json=data, headers=auth)
        assert created.status_code == 201, created.text
        made[receiver] = client.get(f"/invoices/{created.json()['invoice_id']}", headers=auth).json()

    report = run(client, auth, dt.date(2026, 6, 15))
    taken = decisions(client, auth, report["run_id"])
    statement = taken[made["C-STMT"]["number"]]
    assert (statement["decision"], statement["notice_id"]) == ("skipped", None)
    assert statement["reason"].startswith("statement_customer")
    assert report["skipped"].get("statement_customer") == 1
    bad = taken[made["C-BAD"]["number"]]
    assert bad["decision"] == "notice" and bad["reason"].startswith("undeliverable: "), bad
    assert report["undeliverable"] == 1
    assert notice_of(client, auth, bad["notice_id"])["status"] == "failed"
    # the others' notices were queued all the same
    one = taken[invoices["1"]["number"]]
    queued = notice_of(client, auth, one["notice_id"])
    assert queued["status"] == "queued" and queued["delivery_id"] is not None


def test_two_runs_at_once_write_the_notices_once(
    client: TestClient, auth: Auth, engine: Engine, settings: Settings
) -> None:
    """A second run (another worker, the CLI) while the first holds the tenant's run: on PostgreSQL it is
    refused at once (the advisory lock); on SQLite it waits for the first to commit and finds the notices
    written. Either way no invoice gets two notices."""
    _setup(client, auth)
    on = dt.date(2026, 6, 15)
    holding = Session(engine)
    first = run_follow_up(holding, "acme", on=on, dry_run=False, actor="first", settings=settings)
    assert first.notices > 0
    outcome: dict[str, Any] = {}
    started = threading.Event()

    def second() -> None:
        started.set()
        try:
            outcome["report"] = run_follow_up(
                engine, "acme", on=on, dry_run=False, actor="second", settings=settings
            )
        except FollowUpRunBusy as busy:
            outcome["busy"] = busy

    thread = threading.Thread(target=second)
    thread.start()
    if engine.dialect.name == "postgresql":
        thread.join()  # the lock is tried, not waited for: refused while the first holds it
        assert "busy" in outcome and "report" not in outcome
    else:
        started.wait()
    holding.commit()
    holding.close()
    thread.join()
    if "report" in outcome:
        assert outcome["report"].notices == 0
    with session_scope(engine) as session:
        notices = session.execute(select(func.count()).select_from(ReminderNotice)).scalar_one()
        per_invoice = session.execute(
            select(ReminderNoticeItem.invoice_id, func.count())  # type: ignore[call-overload]
            .group_by(ReminderNoticeItem.invoice_id)
            .having(func.count() > 1)
        ).all()
    assert notices == first.notices and per_invoice == []
    # and once the first has ended, a run may go again (it finds nothing new to write)
    again = run_follow_up(engine, "acme", on=on, dry_run=False, actor="third", settings=settings)
    assert again.notices == 0
