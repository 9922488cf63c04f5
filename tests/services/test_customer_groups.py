"""Customer groups end to end (issue 22): a parent company pays its subsidiaries' invoices.

Midnattsol Drift AS (org 923609016) is the parent; Vestkyst Handel AS (974760673) and Fjordbyen Bygg AS
(910667831) are the customers it pays for. Its bank account is learned the way a person teaches it (one
resolution); the group is set through the API, declared by a receiver profile, or learned from a person's
resolution. Bank files are camt.054 posted to `POST /remittances`; decisions are read back by
`GET /payments/{id}`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from gateway.cli.payments import _payment_lines
from gateway.samples import kid_for, sample_invoice_json
from tests.payment_scenarios import invoice, payment_status, receive
from tests.remittance_files import Tx, camt054

PARENT = "org:0192:923609016"
FJORDBYEN = "org:0192:910667831"
VESTKYST = "org:0192:974760673"
ACCOUNT = "12345678903"


def _payments(client: TestClient, auth: dict[str, str], transactions: list[Tx], message_id: str) -> list[Any]:
    for n, tx in enumerate(transactions, 1):
        tx.reference = tx.reference or f"{message_id}-{n}"  # a new bank reference: not a duplicate
    answer = receive(client, auth, camt054(transactions, message_id=message_id))
    assert answer.status_code in (200, 201, 202), answer.text
    return [client.get(f"/payments/{p['id']}", headers=auth).json() for p in answer.json()["payments"]]


def _teach_parents_account(client: TestClient, auth: dict[str, str], own: dict[str, Any]) -> None:
    """Midnattsol pays its own invoice from ACCOUNT under a name the bank cut short; a person resolves it."""
    tx = Tx(Decimal(own["payable_amount"]), payer="MIDNATTSOL DRIFT", account=ACCOUNT, reference="TEACH")
    (payment,) = _payments(client, auth, [tx], "TEACH")
    assert payment["status"] == "exception"
    answer = client.post(
        f"/payments/{payment['id']}/resolve",
        json={"allocations": [{"invoice_id": own["id"], "amount": own["payable_amount"]}]},
        headers=auth,
    )
    assert answer.status_code == 200, answer.text
    assert answer.json()["learned"]["accounts"] == [ACCOUNT]


def _link(client: TestClient, auth: dict[str, str], customer: str, parent: str) -> dict[str, Any]:
    answer = client.put("/matching/groups", json={"customer": customer, "parent": parent}, headers=auth)
    assert answer.status_code == 200, answer.text
    body: dict[str, Any] = answer.json()
    return body


def test_a_parent_pays_two_subsidiaries_invoices_in_one_sum_from_its_known_account(
    client: TestClient, auth: dict[str, str]
) -> None:
    own = invoice(client, auth, 1)  # Midnattsol 3 885.00
    vestkyst = invoice(client, auth, 2)  # 2 545.00
    fjordbyen = invoice(client, auth, 3)  # 3 902.50
    invoice(client, auth, 4)  # Midnattsol 12 152.50, open
    _teach_parents_account(client, auth, own)
    lump = Decimal(vestkyst["payable_amount"]) + Decimal(fjordbyen["payable_amount"])

    # without the group the parent's lump sum finds nothing among its own items
    (before,) = _payments(client, auth, [Tx(lump, payer="Midnattsol Drift AS", account=ACCOUNT)], "B1")
    assert before["status"] == "exception"
    assert before["decision"]["suggestions"] == []

    assert _link(client, auth, "910667831", "923609016")["parent"] == PARENT
    linked = _link(client, auth, "NO974760673MVA", PARENT)
    assert (linked["customer"], linked["source"]) == (VESTKYST, "api")

    (paid,) = _payments(client, auth, [Tx(lump, payer="Midnattsol Drift AS", account=ACCOUNT)], "G1")
    assert paid["status"] == "applied", paid["note"]
    assert sorted(a["number"] for a in paid["allocations"]) == [vestkyst["number"], fjordbyen["number"]]
    evidence = {e["kind"]: e["detail"] for e in paid["decision"]["proposal"]["evidence"]}
    assert "payer-group" in evidence and "payer-conflict" not in evidence
    assert "Midnattsol Drift AS" in evidence["payer-group"]
    assert paid["customer_key"] == PARENT
    for number in (vestkyst["number"], fjordbyen["number"]):
        assert payment_status(client, auth, number)["payment_status"] == "paid"
    # the earlier payment stays what it was: no false automatic application anywhere
    assert client.get("/matching/report", headers=auth).json()["per_payment"]["false_auto_applied"] == 0


def test_two_fits_across_the_group_go_to_a_person_with_the_right_one_suggested(
    client: TestClient, auth: dict[str, str]
) -> None:
    own = invoice(client, auth, 1)
    vestkyst = invoice(client, auth, 2)
    twin_means = sample_invoice_json(2)["payment_means"]
    twin_means[0]["payment_id"] = kid_for(202)
    twin = invoice(client, auth, 2, number="INV-000202", payment_means=twin_means)  # same amount as 2
    fjordbyen = invoice(client, auth, 3)
    _teach_parents_account(client, auth, own)
    _link(client, auth, FJORDBYEN, PARENT)
    _link(client, auth, VESTKYST, PARENT)
    lump = Decimal(vestkyst["payable_amount"]) + Decimal(fjordbyen["payable_amount"])
    (payment,) = _payments(client, auth, [Tx(lump, account=ACCOUNT)], "AMB")
    assert payment["status"] == "exception"
    suggested = [{a["number"] for a in s["allocations"]} for s in payment["decision"]["suggestions"]]
    assert {vestkyst["number"], fjordbyen["number"]} in suggested
    assert {twin["number"], fjordbyen["number"]} in suggested
    assert payment_status(client, auth, fjordbyen["number"])["payment_status"] == "unpaid"


def test_a_group_is_learned_from_a_persons_resolution_and_forgotten_when_it_is_reversed(
    client: TestClient, auth: dict[str, str]
) -> None:
    own = invoice(client, auth, 1)
    first = invoice(client, auth, 3)  # Fjordbyen 3 902.50
    second = invoice(client, auth, 6)  # Fjordbyen 8 951.25
    _teach_parents_account(client, auth, own)
    tx = Tx(Decimal(first["payable_amount"]), payer="Midnattsol Drift AS", account=ACCOUNT, reference="L1")
    (payment,) = _payments(client, auth, [tx], "L1")
    assert payment["status"] == "exception"
    answer = client.post(
        f"/payments/{payment['id']}/resolve",
        json={"allocations": [{"invoice_id": first["id"], "amount": first["payable_amount"]}],
              "reason": "Midnattsol pays for Fjordbyen"},
        headers=auth,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    learned = answer.json()["learned"]
    assert learned["groups"] == [{"customer": FJORDBYEN, "parent": PARENT}]
    assert learned["accounts"] == [], "the parent's account is never learned as the subsidiary's"
    assert answer.json()["payment"]["customer_key"] == PARENT
    printed = list(_payment_lines(answer.json()["payment"], learned))  # `gateway payments resolve`
    assert f"  learned groups: {PARENT} pays for {FJORDBYEN}" in printed
    links = client.get("/matching/groups", headers=auth).json()["items"]
    assert [(x["customer"], x["parent"], x["source"], x["learned_from"]) for x in links] == [
        (FJORDBYEN, PARENT, "resolution", payment["id"])
    ]

    tx2 = Tx(Decimal(second["payable_amount"]), payer="Midnattsol Drift AS", account=ACCOUNT, reference="L2")
    (next_payment,) = _payments(client, auth, [tx2], "L2")
    assert next_payment["status"] == "applied", next_payment["note"]
    assert [a["number"] for a in next_payment["allocations"]] == [second["number"]]

    reversed_ = client.post(f"/payments/{payment['id']}/reverse", json={"reason": "wrong"}, headers=auth)
    assert reversed_.status_code == 200
    assert reversed_.json()["decision"]["reversals"][-1]["forgot_groups"] == [
        {"customer": FJORDBYEN, "parent": PARENT}
    ]
    assert client.get("/matching/groups", headers=auth).json()["items"] == []


def test_a_receiver_profile_declares_the_parent(client: TestClient, auth: dict[str, str]) -> None:
    profile = {
        "receiver_id": "FJB",
        "preferred_channel": "folder",
        "addresses": {"folder": "fjordbyen"},
        "parent_customer": "923609016",
    }
    put = client.put("/receivers/FJB", json=profile, headers=auth)
    assert put.status_code == 200, put.text
    assert put.json()["parent_customer"] == "923609016"
    own = invoice(client, auth, 1)
    member = invoice(client, auth, 3, routing={"receiver_id": "FJB"})
    invoice(client, auth, 6)  # Fjordbyen too, but not through the profile: the same customer key
    _teach_parents_account(client, auth, own)
    links = client.get("/matching/groups", headers=auth).json()["items"]
    assert [(x["id"], x["customer"], x["parent"], x["source"]) for x in links] == [
        (None, FJORDBYEN, PARENT, "profile")
    ]
    tx = Tx(Decimal(member["payable_amount"]), payer="Midnattsol Drift AS", account=ACCOUNT)
    (payment,) = _payments(client, auth, [tx], "P1")
    assert payment["status"] == "applied", payment["note"]
    assert [a["number"] for a in payment["allocations"]] == [member["number"]]


def test_a_members_kid_from_the_parents_account_is_applied_not_a_payer_conflict(
    client: TestClient, auth: dict[str, str]
) -> None:
    own = invoice(client, auth, 1)
    member = invoice(client, auth, 3)
    _teach_parents_account(client, auth, own)
    tx = Tx(Decimal(member["payable_amount"]), kid=member["payment_reference"], account=ACCOUNT)
    (conflict,) = _payments(client, auth, [tx], "K1")
    assert conflict["status"] == "exception"
    assert "belong(s) to Fjordbyen Bygg AS" in conflict["note"]
    _link(client, auth, FJORDBYEN, PARENT)
    tx2 = Tx(
        Decimal(member["payable_amount"]), kid=member["payment_reference"], account=ACCOUNT, reference="K2"
    )
    (applied,) = _payments(client, auth, [tx2], "K2")
    assert applied["status"] == "applied", applied["note"]
    assert "payer-group" in {e["kind"] for e in applied["decision"]["proposal"]["evidence"]}


def test_group_links_are_refused_naming_the_field_and_removed_by_id(
    client: TestClient, auth: dict[str, str]
) -> None:
    invoice(client, auth, 1)
    invoice(client, auth, 3)
    unknown = client.put("/matching/groups", json={"customer": "999999999", "parent": PARENT}, headers=auth)
    assert unknown.status_code == 422
    assert unknown.json()["errors"][0]["field"] == "customer"
    itself = client.put("/matching/groups", json={"customer": PARENT, "parent": "923609016"}, headers=auth)
    assert itself.status_code == 422
    assert itself.json()["errors"][0]["field"] == "parent"
    extra = client.put(
        "/matching/groups", json={"customer": FJORDBYEN, "parent": PARENT, "x": 1}, headers=auth
    )
    assert extra.status_code == 422
    link = _link(client, auth, FJORDBYEN, PARENT)
    assert _link(client, auth, "910667831", "923609016")["id"] == link["id"], "idempotent"
    cycle = client.put("/matching/groups", json={"customer": PARENT, "parent": FJORDBYEN}, headers=auth)
    assert cycle.status_code == 422
    assert "no cycle" in cycle.json()["errors"][0]["reason"]
    assert client.delete("/matching/groups/nope", headers=auth).status_code == 404
    removed = client.delete(f"/matching/groups/{link['id']}", headers=auth)
    assert removed.status_code == 200 and removed.json()["customer"] == FJORDBYEN
    assert client.get("/matching/groups", headers=auth).json()["items"] == []


def test_a_parent_known_by_name_only_gets_its_groups_fit_as_a_suggestion(
    client: TestClient, auth: dict[str, str]
) -> None:
    invoice(client, auth, 1)  # Midnattsol's own, so its name is known
    vestkyst = invoice(client, auth, 2)
    fjordbyen = invoice(client, auth, 3)
    _link(client, auth, FJORDBYEN, PARENT)
    _link(client, auth, VESTKYST, PARENT)
    lump = Decimal(vestkyst["payable_amount"]) + Decimal(fjordbyen["payable_amount"])
    (payment,) = _payments(client, auth, [Tx(lump, payer="MIDNATTSOL DRIFT AS", account="99998877665")], "N1")
    assert payment["status"] == "exception"
    assert "by name only" in payment["note"]
    first = payment["decision"]["suggestions"][0]
    assert {a["number"] for a in first["allocations"]} == {vestkyst["number"], fjordbyen["number"]}
    assert "payer-group" in {e["kind"] for e in first["evidence"]}
