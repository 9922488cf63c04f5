"""The open amounts `history` rebuilds agree with the ones the gateway keeps (`invoices.open_amount`) after
the real services moved them: matching, a person's allocation with a write-off, a reversal, a credit note
set against an invoice in a dispute (no allocation row). Checked for every document of the tenant."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import InvoiceRecord
from gateway.services.followup.disputes import approve_credit
from gateway.services.reports.history import load_items
from tests.payment_scenarios import book_payments

LATER = dt.date(2100, 1, 1)


def _stored_and_rebuilt(engine: Engine) -> list[tuple[str, Decimal, Decimal]]:
    with session_scope(engine) as session:
        items = {item.id: item for item in load_items(session, "acme", LATER)}
        rows = session.execute(select(InvoiceRecord).where(col(InvoiceRecord.tenant_id) == "acme")).scalars()
        return [
            (
                row.number,
                Decimal(row.open_amount if row.open_amount is not None else row.payable_amount),
                items[row.id].open_on(LATER) * items[row.id].sign,
            )
            for row in rows
        ]


def test_the_rebuilt_open_amounts_are_the_stored_ones(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    booked = book_payments(client, auth)
    short = booked.payments["short"]
    resolved = client.post(
        f"/payments/{short['id']}/resolve",
        json={"allocations": [{"invoice_id": "INV-000002", "amount": str(Decimal(short["amount"]))}],
              "write_off": "12.50", "reason": "bank fee"},
        headers=auth,
    )  # fmt: skip
    assert resolved.status_code == 200, resolved.text
    by_kid = booked.payments["by_kid"]
    reversed_ = client.post(
        f"/payments/{by_kid['id']}/reverse", json={"reason": "wrong customer"}, headers=auth
    )
    assert reversed_.status_code == 200, reversed_.text
    target = booked.invoices["INV-000005"]["id"]
    dispute = client.post(
        f"/invoices/{target}/disputes",
        json={"reason": "two chairs broken", "category": "goods"},
        headers=auth,
    ).json()
    proposed = client.post(
        f"/disputes/{dispute['id']}/resolve",
        json={"outcome": "credited", "credit_amount": "100.00"},
        headers=auth,
    )
    assert proposed.status_code == 200, proposed.text
    with session_scope(engine) as session:
        approve_credit(session, dispute["id"], approver="console:kari", approver_role="credit")
    compared = _stored_and_rebuilt(engine)
    assert len(compared) == 7  # six invoices and the dispute's credit note
    assert [(number, stored) for number, stored, rebuilt in compared if stored != rebuilt] == []
    moved = {number for number, stored, _ in compared if stored != Decimal(0)}
    assert "INV-000002" not in moved  # paid short, the rest written off
    assert {"INV-000003", "INV-000005"} <= moved  # the reversal gave INV-000003 back; INV-000005 credited 100
    numbers = {number for number, _, _ in compared}
    assert any(number.startswith("CN") for number in numbers)  # the dispute's credit note, used up
