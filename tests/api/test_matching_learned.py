"""`/matching/learned`: what matching learned about payers, per tenant; a bad filter answered naming it."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tests.payment_scenarios import invoice, receive
from tests.remittance_files import Tx, camt054

ACCOUNT = "15032080119"


def _learn_one(client: TestClient, auth: dict[str, Any]) -> dict[str, Any]:
    view = invoice(client, auth, 1)
    tx = Tx(Decimal(view["payable_amount"]), kid=view["payment_reference"], account=ACCOUNT)
    assert receive(client, auth, camt054([tx])).json()["payments"][0]["status"] == "applied"
    [entry] = client.get("/matching/learned", headers=auth).json()["items"]
    return entry  # type: ignore[no-any-return]


def test_learned_identities_are_the_tenants_own(
    client: TestClient, auth: dict[str, Any], token_for: Any
) -> None:
    entry = _learn_one(client, auth)
    assert (entry["kind"], entry["value"], entry["source"], entry["by"]) == (
        "account",
        ACCOUNT,
        "automatic",
        "matching",
    )
    other = token_for("globex")
    assert client.get("/matching/learned", headers=other).json()["items"] == []
    assert client.delete(f"/matching/learned/{entry['id']}", headers=other).status_code == 404
    assert client.get("/matching/learned", headers=auth).json()["items"][0]["standing"] == "identifies"


def test_filters(client: TestClient, auth: dict[str, Any]) -> None:
    entry = _learn_one(client, auth)
    written = client.get("/matching/learned", params={"value": "1503.20.80119"}, headers=auth).json()["items"]
    assert [e["id"] for e in written] == [entry["id"]]
    assert client.get("/matching/learned", params={"kind": "name"}, headers=auth).json()["items"] == []
    by_customer = {"customer_key": entry["customer_key"]}
    assert len(client.get("/matching/learned", params=by_customer, headers=auth).json()["items"]) == 1
    bad = client.get("/matching/learned", params={"kind": "iban"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"].endswith("kind")
    gone = client.delete(f"/matching/learned/{entry['id']}", headers=auth).json()
    assert (gone["standing"], gone["withdrawn_by"] is not None) == ("withdrawn", True)
    assert client.get("/matching/learned", headers=auth).json()["items"] == []
    again = client.get("/matching/learned", params={"withdrawn": True}, headers=auth).json()["items"]
    assert [e["standing"] for e in again] == ["withdrawn"]
