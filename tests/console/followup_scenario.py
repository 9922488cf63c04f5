"""A tenant with receivables to follow up, made through the real API and the real run on a fixed day.

- follow-up enabled: level 1 a reminder 14 days after due that a person must approve, level 2 a reminder
  from the first deadline, at a collection rate of 700 and 10 % interest;
- customer C-LONG (a long name, a credit limit, a risk flag) with two invoices, and C-2 with one;
- a dispute opened through the API on all of C-2's invoice (customer side, an owner, a due date passed);
- the run on 2026-06-16 writes one notice awaiting approval for C-LONG (both its invoices, one fee) and
  skips the disputed invoice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import ReminderNotice
from gateway.samples import sample_invoice_json
from gateway.services.followup.run import run_follow_up
from gateway.settings import Settings

ISSUED = dt.date(2026, 5, 18)  # due 2026-06-01
RUN_ON = dt.date(2026, 6, 16)
LONG_NAME = "Nordlandske Bygg- og Anleggsentreprenører Holding AS avd. Helgelandskysten Vest"
FOLLOW_UP: dict[str, Any] = {
    "enabled": True,
    "strategies": [
        {
            "segment": None,
            "levels": [
                {"level": 1, "kind": "reminder", "delay_days": 14, "approval_required": True},
                {"level": 2, "kind": "reminder", "delay_days": 0, "delay_from": "previous_notice"},
            ],
        }
    ],
    "collection_rates": [{"effective_from": "2015-01-01", "collection_rate": "700"}],
    "interest_rates": [{"effective_from": "2026-01-01", "rate_percent": "10.00", "fixed_compensation": "0"}],
}


@dataclass(frozen=True)
class FollowUpTenant:
    auth: dict[str, str]
    invoices: dict[str, dict[str, Any]]  # number → GET /invoices/{id}
    notice_id: str
    dispute_id: str

    def invoice(self, number: str) -> dict[str, Any]:
        return self.invoices[number]


def _invoice(
    client: TestClient, auth: dict[str, str], n: int, receiver: str, name: str | None
) -> dict[str, Any]:
    data = sample_invoice_json(n, issue_date=ISSUED, receiver_id=receiver, number_prefix="FU")
    if receiver == "C-LONG":  # one buyer (org. no.) for both: one notice lists both invoices
        data["buyer"] = {**sample_invoice_json(1)["buyer"], "name": name}
    created = client.post("/invoices", json=data, headers=auth)
    assert created.status_code == 201, created.text
    view: dict[str, Any] = client.get(f"/invoices/{created.json()['invoice_id']}", headers=auth).json()
    return view


def follow_up_tenant(client: TestClient, engine: Engine, auth: dict[str, str]) -> FollowUpTenant:
    settings = client.get("/settings", headers=auth).json()
    answer = client.put("/settings", json={**settings, "follow_up": FOLLOW_UP}, headers=auth)
    assert answer.status_code == 200, answer.text
    profiles = [
        {"receiver_id": "C-LONG", "name": LONG_NAME, "segment": "business", "preferred_channel": "folder",
         "credit_limit": "50000.00", "risk_flag": "watch"},
        {"receiver_id": "C-2", "name": "Fjord Fisk AS", "segment": "business", "preferred_channel": "folder"},
    ]  # fmt: skip
    for profile in profiles:
        put = client.put(f"/receivers/{profile['receiver_id']}", json=profile, headers=auth)
        assert put.status_code in (200, 201), put.text
    invoices = {}
    for n, receiver, name in (
        (1, "C-LONG", LONG_NAME),
        (2, "C-LONG", LONG_NAME),
        (3, "C-2", "Fjord Fisk AS"),
    ):
        view = _invoice(client, auth, n, receiver, name)
        invoices[view["number"]] = view
    disputed = invoices["FU-000003"]
    opened = client.post(
        f"/invoices/{disputed['id']}/disputes",
        json={"reason": "Three of ten pallets arrived broken; photos follow.", "category": "goods",
              "from": "customer", "owner": "kari@acme.example", "due_date": "2026-06-05"},
        headers=auth,
    )  # fmt: skip
    assert opened.status_code == 201, opened.text
    settings: Settings = client.app.state.settings  # type: ignore[attr-defined]  # the app's own
    run_follow_up(engine, "acme", on=RUN_ON, dry_run=False, actor="cli:test", settings=settings)
    with session_scope(engine) as session:
        notice_id = session.execute(
            select(col(ReminderNotice.id)).where(col(ReminderNotice.receiver_id) == "C-LONG")
        ).scalar_one()
    return FollowUpTenant(auth, invoices, str(notice_id), opened.json()["id"])
