"""Shared set-up of the follow-up tests: a customer's invoices through POST /invoices, follow-up rows
written as the engine, disputes and promises helpers would write them."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import Dispute, FollowUpState, PaymentPromise, ReminderNotice, ReminderNoticeItem
from gateway.samples import sample_invoice_json


def amount(n: int) -> Decimal:
    """The payable amount of sample invoice `n`."""
    return Decimal(sample_invoice_json(n)["totals"]["payable"])


def put_profile(client: TestClient, auth: dict[str, str], receiver_id: str = "C-1", **fields: Any) -> None:
    profile = {"receiver_id": receiver_id, "preferred_channel": "folder", **fields}
    answer = client.put(f"/receivers/{receiver_id}", json=profile, headers=auth)
    assert answer.status_code == 200, answer.text


def post_invoice(
    client: TestClient, auth: dict[str, str], n: int, receiver_id: str = "C-1", **changes: Any
) -> dict[str, Any]:
    data = sample_invoice_json(n)
    data["routing"] = {"receiver_id": receiver_id}
    data.update(changes)
    answer = client.post("/invoices", json=data, headers=auth)
    assert answer.status_code == 201, answer.text
    view: dict[str, Any] = client.get(f"/invoices/{answer.json()['invoice_id']}", headers=auth).json()
    return view


def reminded(
    engine: Engine,
    invoice_id: str,
    levels: list[tuple[int, str, dt.date]],
    *,
    receiver_id: str = "C-1",
    tenant_id: str = "acme",
    fee_total: str = "0",
    interest_total: str = "0",
) -> None:
    """Notices sent at `levels` ((level, kind, date), each giving 14 days) and the state they leave."""
    with session_scope(engine) as session:
        for level, kind, on in levels:
            notice = ReminderNotice(
                tenant_id=tenant_id, customer_key=receiver_id, receiver_id=receiver_id, level=level,
                kind=kind, status="sent", notice_on=on, deadline=on + dt.timedelta(days=14), currency="NOK",
                open_total="0", total="0",
            )  # fmt: skip
            session.add(notice)
            session.flush()
            session.add(ReminderNoticeItem(notice_id=notice.id, invoice_id=invoice_id, open_amount="0"))
        level, _, on = levels[-1]
        session.add(
            FollowUpState(
                invoice_id=invoice_id, tenant_id=tenant_id, level=level, last_notice_on=on,
                last_deadline=on + dt.timedelta(days=14), fees_charged=len(levels), fee_total=fee_total,
                interest_total=interest_total,
            )
        )  # fmt: skip


def disputed(engine: Engine, invoice_id: str, amount: str | None = None, status: str = "open") -> None:
    with session_scope(engine) as session:
        session.add(
            Dispute(
                tenant_id="acme", invoice_id=invoice_id, category="goods", origin="customer", reason="broken",
                amount=amount, status=status, opened_by="test",
            )
        )  # fmt: skip


def promised(engine: Engine, invoice_id: str, on: dt.date, amount: str, status: str = "open") -> None:
    with session_scope(engine) as session:
        session.add(
            PaymentPromise(
                tenant_id="acme", invoice_id=invoice_id, promised_on=on, amount=amount, status=status,
                created_by="test",
            )
        )  # fmt: skip
