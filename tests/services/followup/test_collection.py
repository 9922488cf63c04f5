"""Collection hand-off through the API: candidates past the last level, the CSV an agency gets, the
hand-off marks, no invoice twice, the same file again by its id, another tenant's id a 404."""

from __future__ import annotations

import csv
import datetime as dt
import io
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import CollectionHandoff, FollowUpState
from gateway.services.followup.rules import late_interest
from schemas.followup import FollowUpSettings
from tests.services.followup.helpers import disputed, post_invoice, promised, put_profile, reminded

ON = dt.date(2027, 3, 1)
NATIONAL_ID = "01010012356"  # a valid test fødselsnummer


def _last_level(engine: Engine, invoice_id: str) -> None:
    """Reminder, then warning and demand: the business strategy's last level (3), its deadline passed."""
    reminded(
        engine,
        invoice_id,
        [(1, "reminder", dt.date(2027, 1, 2)), (2, "reminder", dt.date(2027, 1, 20)),
         (3, "payment_demand", dt.date(2027, 2, 5))],
        fee_total="70.00",
        interest_total="123.45",
    )  # fmt: skip


def test_candidates_export_and_the_same_file_again(
    client: TestClient, auth: dict[str, str], engine: Engine, token_for: Any
) -> None:
    put_profile(client, auth, addresses={"email": "regnskap@midnattsol.example"})
    ready, disputed_one, promised_one, early, paid_to_level_two = (
        post_invoice(client, auth, n) for n in (1, 2, 3, 4, 5)
    )
    for invoice in (ready, disputed_one, promised_one):
        _last_level(engine, invoice["id"])
    disputed(engine, disputed_one["id"])
    promised(engine, promised_one["id"], ON + dt.timedelta(days=5), "100.00")
    reminded(engine, early["id"], [(1, "reminder", dt.date(2027, 2, 25))])  # deadline not passed
    reminded(engine, paid_to_level_two["id"], [(1, "reminder", dt.date(2027, 1, 2))])  # level 1 of 3
    found = client.get("/collection/candidates", params={"on": ON.isoformat()}, headers=auth).json()["items"]
    assert [c["number"] for c in found] == [ready["number"]]
    assert found[0]["level"] == 3 and found[0]["fees_charged"] == "70.00"

    export = client.post("/collection/exports", json={"on": ON.isoformat()}, headers=auth)
    assert export.status_code == 201, export.text
    body = export.json()
    assert body["count"] == 1 and [i["invoice_id"] for i in body["invoices"]] == [ready["id"]]
    data = client.get(body["download"], headers=auth)
    assert data.status_code == 200 and data.headers["content-type"].startswith("text/csv")
    assert data.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.DictReader(io.StringIO(data.content.decode("utf-8-sig")), delimiter=";"))
    [row] = rows
    assert row["debtor_name"] == "Midnattsol Drift AS" and row["debtor_org_number"] == "923609016"
    assert row["address"] == "Sjøgata 12" and row["city"] == "Tromsø" and row["postal_code"] == "9008"
    assert row["email"] == "regnskap@midnattsol.example" and row["invoice_number"] == ready["number"]
    assert row["original_amount"] == ready["payable_amount"] and row["open_amount"] == ready["payable_amount"]
    assert row["kid"] == ready["payment_reference"] and row["currency"] == "NOK"
    # interest to the export date at the dated rates, not the sum the notices stated (123.45)
    follow_up = client.get("/settings", headers=auth).json()["follow_up"]
    due = dt.date.fromisoformat(ready["due_date"])
    expected = late_interest(
        FollowUpSettings.model_validate(follow_up), Decimal(ready["payable_amount"]), due_date=due, on=ON
    )
    assert expected > 0 and row["interest_accrued"] == f"{expected:.2f}" != "123.45"
    assert row["fees_charged"] == "70.00"
    assert row["notices"] == (
        "2027-01-02 reminder level 1 | 2027-01-20 reminder level 2 | 2027-02-05 payment_demand level 3"
    )
    with session_scope(engine) as session:
        [handoff] = session.execute(select(CollectionHandoff)).scalars().all()
        assert handoff.invoice_id == ready["id"] and handoff.export_id == body["export_id"]
        assert session.get(FollowUpState, ready["id"]).handed_off_at is not None  # type: ignore[union-attr]

    # nothing twice: a repeat export finds nothing; naming the invoice is refused naming it
    assert (
        client.get("/collection/candidates", params={"on": ON.isoformat()}, headers=auth).json()["items"]
        == []
    )
    again = client.post("/collection/exports", json={"on": ON.isoformat()}, headers=auth)
    assert again.status_code == 409 and again.json()["errors"][0]["field"] == "invoice_ids"
    named = client.post(
        "/collection/exports", json={"on": ON.isoformat(), "invoice_ids": [ready["id"]]}, headers=auth
    )
    assert named.status_code == 422 and named.json()["errors"][0]["field"] == "invoice_ids[0]"
    # the same file again, byte for byte; another tenant's id is unknown to it
    assert client.get(body["download"], headers=auth).content == data.content
    assert client.get(body["download"], headers=token_for("globex")).status_code == 404
    assert client.get("/collection/exports/nope", headers=auth).status_code == 404


def test_a_consumers_national_id_goes_to_the_agency_only(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    put_profile(client, auth, "P-1", segment="private", national_id=NATIONAL_ID, preferred_channel="folder")
    invoice = post_invoice(client, auth, 1, receiver_id="P-1")
    levels = [(1, "reminder", dt.date(2027, 1, 2)), (2, "collection_warning", dt.date(2027, 1, 20))]
    reminded(engine, invoice["id"], levels, receiver_id="P-1")
    export = client.post(
        "/collection/exports", json={"on": ON.isoformat(), "invoice_ids": [invoice["id"]]}, headers=auth
    )
    assert export.status_code == 201, export.text
    assert NATIONAL_ID not in export.text  # the answer names the invoices, not the person
    data = client.get(export.json()["download"], headers=auth).content.decode("utf-8-sig")
    [row] = list(csv.DictReader(io.StringIO(data), delimiter=";"))
    assert row["debtor_national_id"] == NATIONAL_ID
