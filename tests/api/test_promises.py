"""Promises to pay through the API: what is refused (naming the field), one open promise per invoice,
cancelling, tenant isolation, and settling kept / broken with the customer's counts."""

from __future__ import annotations

import datetime as dt
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import InvoiceRecord
from gateway.services.followup import promises as service
from gateway.services.followup.disputes import today
from tests.api.test_disputes import post_invoice

Auth = dict[str, Any]


def _promise(client: TestClient, auth: Auth, invoice_id: str, date: dt.date | str, amount: str) -> Any:
    day = date.isoformat() if isinstance(date, dt.date) else date
    return client.post(f"/invoices/{invoice_id}/promises", json={"date": day, "amount": amount}, headers=auth)


def test_promises_are_validated_and_one_open_promise_replaces_the_last(
    client: TestClient, auth: Auth, token_for: Any
) -> None:
    invoice = post_invoice(client, auth)
    invoice_id = invoice["invoice_id"]
    now = today()
    cases: list[tuple[dt.date | str, str, str]] = [
        (now - dt.timedelta(days=1), "10", "date"),
        (now + dt.timedelta(days=61), "10", "date"),  # promise_max_days 60 by default
        (now + dt.timedelta(days=5), "99999999", "amount"),
        (now + dt.timedelta(days=5), "0", "body.amount"),
        (now + dt.timedelta(days=5), "abc", "body.amount"),
        ("someday", "10", "body.date"),
    ]
    for date, amount, field in cases:
        refused = _promise(client, auth, invoice_id, date, amount)
        assert refused.status_code == 422, (date, amount, refused.text)
        assert refused.json()["errors"][0]["field"] == field, refused.json()
    first = _promise(client, auth, invoice_id, now, "100.00")  # today is allowed
    assert first.status_code == 201, first.text
    assert first.json()["status"] == "open" and first.json()["invoice_number"] == invoice["number"]
    second = _promise(client, auth, invoice["number"], now + dt.timedelta(days=60), "200").json()
    assert second["amount"] == "200.00"
    assert client.get(f"/promises/{first.json()['id']}", headers=auth).json()["status"] == "cancelled"
    open_now = client.get("/promises", params={"status": "open"}, headers=auth).json()["items"]
    assert [p["id"] for p in open_now] == [second["id"]]
    customer = second["customer_key"]
    assert customer
    by_customer = client.get("/promises", params={"customer": customer}, headers=auth).json()["items"]
    assert len(by_customer) == 2

    globex = token_for("globex")
    assert client.get(f"/promises/{second['id']}", headers=globex).status_code == 404
    assert client.delete(f"/promises/{second['id']}", headers=globex).status_code == 404
    assert _promise(client, globex, invoice_id, now, "1").status_code == 404
    assert client.get("/promises", headers=globex).json()["items"] == []

    cancelled = client.delete(f"/promises/{second['id']}", headers=auth)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert client.delete(f"/promises/{second['id']}", headers=auth).status_code == 409
    assert client.get("/promises", params={"status": "late"}, headers=auth).status_code == 422

    credit = post_invoice(client, auth, 3, document_type="credit_note", due_date=None, payment_means=[],
                          preceding_invoices=[{"id": "INV-000003"}])  # fmt: skip
    refused = _promise(client, auth, credit["invoice_id"], now, "1")
    assert refused.status_code == 422 and "credit note" in refused.json()["errors"][0]["reason"]


def test_promises_are_settled_kept_or_broken_and_counted_per_customer(
    client: TestClient, auth: Auth, engine: Engine
) -> None:
    paid = post_invoice(client, auth, 1)
    unpaid = post_invoice(client, auth, 4)  # the same buyer as invoice 1 (the samples cycle three buyers)
    now = dt.datetime.now(dt.UTC)
    with session_scope(engine) as session:
        first = service.add_promise(
            session, "acme", paid["invoice_id"], promised_on=dt.date(2026, 12, 1), amount="100",
            actor="t", on=dt.date(2026, 11, 20), now=now,
        )  # fmt: skip
        second = service.add_promise(
            session, "acme", unpaid["invoice_id"], promised_on=dt.date(2026, 12, 3), amount="100",
            actor="t", on=dt.date(2026, 11, 20), now=now,
        )  # fmt: skip
        record = session.get(InvoiceRecord, paid["invoice_id"])
        assert record is not None
        record.payment_status, record.open_amount = "paid", "0"
        customer = first.customer_key
        assert customer is not None and second.customer_key == customer
    with session_scope(engine) as session:
        for day, counts in ((1, (0, 0)), (2, (1, 0)), (4, (0, 1)), (5, (0, 0))):
            settled = service.settle_promises(session, "acme", dt.date(2026, 12, day))
            assert (settled.kept, settled.broken) == counts, day
        assert service.promise_counts(session, "acme", customer) == (1, 1)
        assert service.promise_counts(session, "globex", customer) == (0, 0)
