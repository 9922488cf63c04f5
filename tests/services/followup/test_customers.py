"""GET /receivables/customers/{id} and the over-limit listing: balances, overdue, limit and headroom,
disputes, promises, days late from the payments, follow-up level and notices (SQLite and PostgreSQL)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.payment_scenarios import receive
from tests.remittance_files import Tx, camt054
from tests.services.followup.helpers import (
    amount,
    disputed,
    post_invoice,
    promised,
    put_profile,
    reminded,
)


def test_one_customer_at_a_glance(
    client: TestClient, auth: dict[str, str], engine: Engine, token_for: Any
) -> None:
    put_profile(client, auth, credit_limit="10000", risk_flag="watch", name="Midnattsol Drift AS")
    paid, late, third = (post_invoice(client, auth, n) for n in (1, 2, 3))
    paid_on = dt.date.fromisoformat(paid["due_date"]) + dt.timedelta(days=6)
    booked = receive(client, auth, camt054([Tx(amount(1), kid=paid["payment_reference"])], day=paid_on))
    assert booked.status_code == 201, booked.text
    disputed(engine, late["id"], amount="500.00")
    disputed(engine, third["id"], status="rejected")
    promised(engine, third["id"], dt.date(2027, 2, 1), "1000.00")
    promised(engine, third["id"], dt.date(2027, 1, 1), "200.00", status="broken")
    promised(engine, late["id"], dt.date(2027, 1, 1), "300.00", status="kept")
    reminded(
        engine,
        late["id"],
        [(1, "reminder", dt.date(2027, 1, 5)), (2, "collection_warning", dt.date(2027, 1, 20))],
    )
    on = dt.date(2027, 3, 1)
    answer = client.get("/receivables/customers/C-1", params={"on": on.isoformat()}, headers=auth)
    assert answer.status_code == 200, answer.text
    view = answer.json()
    balance = amount(2) + amount(3)
    [nok] = view["balances"]
    assert nok["currency"] == "NOK" and Decimal(nok["balance"]) == balance
    assert nok["overdue_count"] == 2 and Decimal(nok["overdue_amount"]) == balance
    assert Decimal(nok["headroom"]) == Decimal("10000") - balance and nok["over_limit"] is False
    assert view["credit_limit"] == "10000.00" and view["risk_flag"] == "watch" and view["over_limit"] is False
    assert view["disputes"] == {"count": 1, "amount": "500.00"}
    promises = view["promises"]
    assert (promises["open"], promises["kept"], promises["broken"]) == (1, 1, 1)
    assert promises["open_amount"] == "1000.00" and promises["next_promised_on"] == "2027-02-01"
    assert view["average_days_late"] == "6.0" and view["paid_invoices"] == 1
    follow_up = view["follow_up"]
    assert follow_up["level_reached"] == 2 and follow_up["notices_sent"] == 2
    assert follow_up["notices_by_kind"] == {"collection_warning": 1, "reminder": 1}
    assert follow_up["handed_off"] == 0
    # another tenant's customer, and one nobody knows: 404
    assert client.get("/receivables/customers/C-1", headers=token_for("globex")).status_code == 404
    assert client.get("/receivables/customers/NOPE", headers=auth).status_code == 404


def test_a_customer_without_a_limit_has_no_headroom(client: TestClient, auth: dict[str, str]) -> None:
    put_profile(client, auth, "C-9")
    post_invoice(client, auth, 1, receiver_id="C-9")
    view = client.get("/receivables/customers/C-9", headers=auth).json()
    assert view["credit_limit"] is None and view["balances"][0]["headroom"] is None


def test_the_over_limit_listing(client: TestClient, auth: dict[str, str], token_for: Any) -> None:
    put_profile(client, auth, "C-1", credit_limit="1000")
    put_profile(client, auth, "C-2", credit_limit="100000")
    put_profile(client, auth, "C-3")
    for n, receiver in ((1, "C-1"), (2, "C-2"), (3, "C-3")):
        post_invoice(client, auth, n, receiver_id=receiver)
    everyone = client.get("/receivables/customers", headers=auth).json()["items"]
    assert [c["receiver_id"] for c in everyone] == ["C-1", "C-2", "C-3"]
    over = client.get("/receivables/customers", params={"over_limit": "true"}, headers=auth).json()
    assert [c["receiver_id"] for c in over["items"]] == ["C-1"]
    assert Decimal(over["items"][0]["balances"][0]["headroom"]) == Decimal("1000") - amount(1)
    page = client.get("/receivables/customers", params={"limit": 1, "offset": 1}, headers=auth).json()
    assert [c["receiver_id"] for c in page["items"]] == ["C-2"]
    assert client.get("/receivables/customers", headers=token_for("globex")).json()["items"] == []
