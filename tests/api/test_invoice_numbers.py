"""Every route that names an invoice takes its number as well as its id; a number two documents share (an
invoice and the credit note that credits it) is a 409 listing both, never a guess."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from gateway.samples import sample_invoice_json
from tests.api.test_search import post
from tests.remittance_files import Tx, camt054
from tests.services.test_pods import make_png

Auth = dict[str, str]


def _payment_id(client: TestClient, auth: Auth, amount: Decimal) -> str:
    """A payment the matcher could not place (no reference, an unknown payer): an exception to resolve."""
    tx = Tx(amount, payer="SOMEONE ELSE AS", account="12345678903", reference="see mail")
    answer = client.post(
        "/remittances", content=camt054([tx]), headers={**auth, "Content-Type": "application/xml"}
    )
    assert answer.status_code == 201, answer.text
    [payment] = client.get("/payments", headers=auth).json()["items"]
    return str(payment["id"])


def test_routes_take_an_invoice_number(client: TestClient, auth: Auth) -> None:
    invoice = post(client, auth, sample_invoice_json(2))
    by_number = client.get("/invoices/INV-000002", headers=auth)
    assert by_number.status_code == 200 and by_number.json()["id"] == invoice["id"]
    assert client.get("/invoices/INV-999999", headers=auth).status_code == 404
    corrected = client.post(
        "/invoices/INV-000002/corrections",
        json={"reason": "new address", "buyer_email": "ap@vestkyst.example"},
        headers=auth,
    )
    assert corrected.status_code == 200, corrected.text
    assert corrected.json()["id"] == invoice["id"]
    cancel = client.post(
        f"/deliveries/{invoice['deliveries'][0]['id']}/cancel", json={"reason": "x"}, headers=auth
    )
    assert cancel.status_code == 200
    resent = client.post(
        "/invoices/INV-000002/resend", json={"channel": "email", "to": "a@b.example"}, headers=auth
    )
    assert resent.status_code == 202, resent.text
    assert resent.json()["invoice_id"] == invoice["id"]

    pod = client.post(
        "/pods",
        params={"signer_name": "Kari"},
        content=make_png(),
        headers={**auth, "Content-Type": "image/png"},
    )
    pod_id = pod.json()["pods"][0]["id"]
    linked = client.post(f"/pods/{pod_id}/links", json={"invoice_id": "INV-000002"}, headers=auth)
    assert linked.status_code == 201 and linked.json()["links"][0]["invoice_id"] == invoice["id"]
    unlinked = client.delete(f"/pods/{pod_id}/links/INV-000002", headers=auth)
    assert unlinked.status_code == 200 and unlinked.json()["links"] == []

    payment_id = _payment_id(client, auth, Decimal("500.00"))
    resolved = client.post(
        f"/payments/{payment_id}/resolve",
        json={"allocations": [{"invoice_id": "INV-000002", "amount": "500.00"}]},
        headers=auth,
    )
    assert resolved.status_code == 200, resolved.text
    view = client.get("/invoices/INV-000002", headers=auth).json()
    assert view["payment"]["payment_status"] == "partially_paid"
    unknown = client.post(
        f"/payments/{payment_id}/resolve",
        json={"allocations": [{"invoice_id": "INV-999999", "amount": "1.00"}]},
        headers=auth,
    )
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "allocations[0].invoice_id"


def _conflict(answer: Any, ids: set[str], field: str) -> None:
    assert answer.status_code == 409, answer.text
    body = answer.json()
    assert {candidate["id"] for candidate in body["candidates"]} == ids
    assert {candidate["kind"] for candidate in body["candidates"]} == {"invoice", "credit_note"}
    assert body["errors"][0]["field"] == field
    assert all(identifier in body["errors"][0]["reason"] for identifier in ids)


def test_a_number_shared_by_an_invoice_and_a_credit_note_is_409_listing_both(
    client: TestClient, auth: Auth, token_for: Any
) -> None:
    invoice = post(client, auth, sample_invoice_json(1))
    credit = post(client, auth, sample_invoice_json(1, credit_note=True, number_prefix="INV"))
    post(client, token_for("globex"), sample_invoice_json(7))
    both = {invoice["id"], credit["id"]}
    assert credit["number"] == invoice["number"] == "INV-000001"
    _conflict(client.get("/invoices/INV-000001", headers=auth), both, "invoice_id")
    _conflict(client.post("/invoices/INV-000001/resend", json={}, headers=auth), both, "invoice_id")
    _conflict(
        client.post(
            "/invoices/INV-000001/corrections", json={"reason": "x", "buyer_email": "a@b.c"}, headers=auth
        ),
        both,
        "invoice_id",
    )
    payment_id = _payment_id(client, auth, Decimal("100.00"))
    _conflict(
        client.post(
            f"/payments/{payment_id}/resolve",
            json={"allocations": [{"invoice_id": "INV-000001", "amount": "100.00"}]},
            headers=auth,
        ),
        both,
        "allocations[0].invoice_id",
    )
    # the ids still name each one, and the search lists both
    assert client.get(f"/invoices/{credit['id']}", headers=auth).json()["document_type"] == "credit_note"
    listed = client.get("/invoices", params={"number": "INV-000001"}, headers=auth).json()["items"]
    assert {item["id"] for item in listed} == both
    # another tenant's invoice is no candidate and no match
    assert client.get("/invoices/INV-000007", headers=auth).status_code == 404
