"""Two customers of tenant `acme` and one of `globex`, with everything the customer's pages show, made through
the real API, a real worker and the real follow-up run.

Customer C-A (folder channel):
- A1 issued 2026-01-05 (overdue), sent as PDF, a POD linked, half paid by KID (partially paid), reminded;
- A2 issued today, sent as EHF XML (open);
- A3 issued 2026-01-09 (overdue), reminded;
- A4 paid in full (paid);
- A5 disputed by the customer (disputed);
- CN-000001: a credit note;
- a reminder (the run of today) and a statement (after it), both delivered as PDFs.
Customer C-B: B1 (PDF, a POD), reminded. Tenant `globex`: G1 for a receiver also named C-A.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import ReminderNotice
from gateway.samples import sample_invoice_json
from gateway.services.followup.credit import today_in
from gateway.services.followup.run import run_follow_up
from gateway.settings import Settings
from tests.console.helpers import api_auth, deliver
from tests.remittance_files import Tx, camt054
from tests.services.test_pods import make_pdf

FOLLOW_UP: dict[str, Any] = {
    "enabled": True,
    "statements": True,
    "strategies": [
        {"segment": None, "levels": [{"level": 1, "kind": "reminder", "delay_days": 14}]},
    ],
    "collection_rates": [{"effective_from": "2015-01-01", "collection_rate": "700"}],
    "interest_rates": [{"effective_from": "2026-01-01", "rate_percent": "10.00", "fixed_compensation": "0"}],
}


@dataclass
class Customers:
    """What the scenario made: ids by name (A1 … A5, CN, B1, G1), PODs and notices by customer."""

    auth: dict[str, str]
    globex: dict[str, str]
    ids: dict[str, str]
    views: dict[str, dict[str, Any]]
    pods: dict[str, str] = field(default_factory=dict)  # invoice name → pod id
    reminders: dict[str, list[str]] = field(default_factory=dict)  # receiver → notice ids
    statements: dict[str, list[str]] = field(default_factory=dict)


def _profile(client: TestClient, auth: dict[str, str], receiver: str, fmt: str, **more: Any) -> None:
    profile = {
        "receiver_id": receiver,
        "name": f"Customer {receiver}",
        "preferred_channel": "folder",
        "formats": {"folder": fmt},
        "addresses": {"email": f"ap@{receiver.lower()}.example"},
        **more,
    }
    answer = client.put(f"/receivers/{receiver}", json=profile, headers=auth)
    assert answer.status_code in (200, 201), answer.text


def _push(client: TestClient, auth: dict[str, str], n: int, receiver: str, **fields: Any) -> str:
    data = sample_invoice_json(n, receiver_id=receiver, **fields)
    answer = client.post("/invoices", json=data, headers=auth)
    assert answer.status_code == 201, answer.text
    return str(answer.json()["invoice_id"])


def _pay(client: TestClient, auth: dict[str, str], view: dict[str, Any], amount: Decimal, name: str) -> None:
    answer = client.post(
        "/remittances",
        params={"filename": f"camt054-{name}.xml"},
        content=camt054([Tx(amount, kid=view["payment_reference"], payer=str(view["buyer_name"]).upper())]),
        headers={**auth, "Content-Type": "application/xml"},
    )
    assert answer.status_code == 201, answer.text


def _pod(client: TestClient, auth: dict[str, str], number: str, text: str) -> str:
    answer = client.post(
        "/pods",
        params={"invoice_number": number, "signer_name": "Ola Hansen", "place": "Bergen",
                "filename": f"delivery-note-{number}.pdf"},
        content=make_pdf(text),
        headers={**auth, "Content-Type": "application/pdf"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    return str(answer.json()["pods"][0]["id"])


def _notices(engine: Engine, kind_is_statement: bool) -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    with session_scope(engine) as session:
        for notice in session.execute(select(ReminderNotice).order_by(col(ReminderNotice.id))).scalars():
            if (notice.kind == "statement") == kind_is_statement:
                assert notice.status == "sent", (notice.kind, notice.status, notice.cancel_reason)
                found.setdefault(str(notice.receiver_id), []).append(notice.id)
    return found


def two_customers(client: TestClient, engine: Engine, settings: Settings) -> Customers:
    """The book of the module's docstring."""
    auth = api_auth(engine, "acme")
    globex = api_auth(engine, "globex")
    today = today_in()
    _profile(client, auth, "C-A", "pdf")
    _profile(client, auth, "C-B", "pdf")
    ids = {
        "A1": _push(client, auth, 1, "C-A", issue_date=dt.date(2026, 1, 5)),
        "A3": _push(client, auth, 3, "C-A", issue_date=dt.date(2026, 1, 9)),
        "A4": _push(client, auth, 4, "C-A", issue_date=dt.date(2026, 2, 2)),
        "A5": _push(client, auth, 5, "C-A", issue_date=dt.date(2026, 3, 2)),
        "CN": _push(client, auth, 1, "C-A", credit_note=True, issue_date=dt.date(2026, 1, 20)),
        "B1": _push(client, auth, 6, "C-B", issue_date=dt.date(2026, 1, 7)),
    }
    deliver(engine, settings)
    _profile(client, auth, "C-A", "ehf")  # the next one goes as EHF XML
    ids["A2"] = _push(client, auth, 2, "C-A", issue_date=today)
    deliver(engine, settings)
    _profile(client, globex, "C-A", "pdf")
    ids["G1"] = _push(client, globex, 1, "C-A")
    deliver(engine, settings)
    views = {name: client.get(f"/invoices/{i}", headers=globex if name == "G1" else auth).json()
             for name, i in ids.items()}  # fmt: skip
    pods = {
        "A1": _pod(client, auth, "INV-000001", "A1 received"),
        "B1": _pod(client, auth, "INV-000006", "B1"),
    }
    half = (Decimal(views["A1"]["payable_amount"]) / 2).quantize(Decimal("0.01"))
    _pay(client, auth, views["A1"], half, "a1")
    _pay(client, auth, views["A4"], Decimal(views["A4"]["payable_amount"]), "a4")
    opened = client.post(
        f"/invoices/{ids['A5']}/disputes",
        json={"reason": "Two pallets arrived broken.", "category": "goods", "from": "customer"},
        headers=auth,
    )
    assert opened.status_code == 201, opened.text

    current = client.get("/settings", headers=auth).json()
    answer = client.put("/settings", json={**current, "follow_up": FOLLOW_UP}, headers=auth)
    assert answer.status_code == 200, answer.text
    run_follow_up(engine, "acme", on=today, dry_run=False, actor="cli:test", settings=settings)
    deliver(engine, settings)
    _profile(client, auth, "C-A", "ehf", statements=True)
    ran = client.post("/statements/run", json={"date": today.isoformat()}, headers=auth)
    assert ran.status_code == 200, ran.text
    deliver(engine, settings)
    views = {name: client.get(f"/invoices/{i}", headers=globex if name == "G1" else auth).json()
             for name, i in ids.items()}  # fmt: skip
    return Customers(
        auth=auth,
        globex=globex,
        ids=ids,
        views=views,
        pods=pods,
        reminders=_notices(engine, False),
        statements=_notices(engine, True),
    )
