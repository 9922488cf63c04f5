"""Matching learns a payer's account from its own confident applications (issue 22), end to end: camt.054
files posted to `POST /remittances`, decisions read back over the API, learned identities audited and
withdrawn over `/matching/learned`.

The safeguards: an account that pays for two customers is shared and never identifies anyone; an
intermediary's account is never learned; a reversal unlearns; an account a person taught as another
customer's is not learned over.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tests.mappings.test_ocr_giro import encoded, ocr_file, ocr_transaction
from tests.payment_scenarios import invoice, receive
from tests.remittance_files import Tx, camt054

ACCOUNT = "15032080119"


def _invoices(client: TestClient, auth: dict[str, str]) -> dict[str, dict[str, Any]]:
    """Two invoices each of Midnattsol Drift AS (1, 4) and Vestkyst Handel AS (2, 5), amounts all apart."""
    views = {n: invoice(client, auth, n) for n in (1, 4, 2, 5)}
    assert len({view["payable_amount"] for view in views.values()}) == 4
    return {view["number"]: view for view in views.values()}


def _pay(client: TestClient, auth: dict[str, str], tx: Tx, message_id: str) -> dict[str, Any]:
    answer = receive(client, auth, camt054([tx], message_id=message_id))
    assert answer.status_code == 201, answer.text
    payment_id = answer.json()["payments"][0]["id"]
    view: dict[str, Any] = client.get(f"/payments/{payment_id}", headers=auth).json()
    return view


def _kinds(view: dict[str, Any]) -> set[str]:
    decision = view["decision"]
    proposals = [decision["proposal"] or {}, *decision["suggestions"]]
    return {e["kind"] for e in decision["evidence"]} | {
        e["kind"] for proposal in proposals for e in proposal.get("evidence", [])
    }


def _amount(view: dict[str, Any]) -> Decimal:
    return Decimal(view["payable_amount"])


def test_a_kid_payment_teaches_the_account_and_the_next_payment_without_reference_applies(
    client: TestClient, auth: dict[str, str]
) -> None:
    invoices = _invoices(client, auth)
    first, second = invoices["INV-000001"], invoices["INV-000004"]
    kid = first["payment_reference"]
    paid = _pay(client, auth, Tx(_amount(first), kid=kid, payer="MIDNATTSOL", account=ACCOUNT), "L1")
    assert paid["status"] == "applied"
    assert paid["decision"]["learned"]["accounts"] == {ACCOUNT: paid["customer_key"]}
    later = _pay(client, auth, Tx(_amount(second), payer="MIDNATTSOL", account=ACCOUNT), "L2")
    assert later["status"] == "applied", later["note"]
    assert [a["number"] for a in later["allocations"]] == ["INV-000004"]
    [account] = [e for e in later["decision"]["proposal"]["evidence"] if e["kind"] == "payer-account"]
    assert account["detail"] == (
        f"payer account {ACCOUNT} is Midnattsol Drift AS's (learned from payment {paid['id']}'s KID {kid})"
    )
    # only the KID application taught: the amount-only one rests on what was learned, and teaches nothing
    learned = client.get("/matching/learned", headers=auth).json()["items"]
    assert [(e["value"], e["source"], e["payment_id"], e["standing"]) for e in learned] == [
        (ACCOUNT, "automatic", paid["id"], "identifies")
    ]
    assert "learned" not in later["decision"]


def test_an_account_paying_two_customers_kids_is_shared_and_never_identifies(
    client: TestClient, auth: dict[str, str]
) -> None:
    invoices = _invoices(client, auth)
    midnattsol, vestkyst = invoices["INV-000001"], invoices["INV-000002"]
    tx = Tx(
        _amount(midnattsol), kid=midnattsol["payment_reference"], payer="REGNSKAPSBYRAA AS", account=ACCOUNT
    )
    assert _pay(client, auth, tx, "S1")["status"] == "applied"
    tx = Tx(_amount(vestkyst), kid=vestkyst["payment_reference"], payer="REGNSKAPSBYRAA AS", account=ACCOUNT)
    second = _pay(client, auth, tx, "S2")
    # the learned account yields to the other customer's KID with exactly the amount
    assert second["status"] == "applied", second["note"]
    assert "payer-account-shared" in _kinds(second)
    learned = client.get("/matching/learned", params={"kind": "account"}, headers=auth).json()["items"]
    assert {e["standing"] for e in learned} == {"shared"} and len(learned) == 2
    later = _pay(client, auth, Tx(_amount(invoices["INV-000004"]), account=ACCOUNT), "S3")
    assert later["status"] == "exception"
    [shared] = [e for e in later["decision"]["evidence"] if e["kind"] == "payer-account-shared"]
    assert ACCOUNT in shared["detail"] and "several customers" in shared["detail"]
    assert not later["decision"].get("learned")


def test_an_intermediarys_account_is_never_learned(client: TestClient, auth: dict[str, str]) -> None:
    invoices = _invoices(client, auth)
    first = invoices["INV-000001"]
    tx = Tx(_amount(first), kid=first["payment_reference"], payer="VIPPS AS", account=ACCOUNT)
    paid = _pay(client, auth, tx, "V1")
    assert paid["status"] == "applied"
    assert paid["decision"]["learned"]["accounts"] == {}
    assert "intermediary" in paid["decision"]["learned"]["notes"][0]
    later = _pay(client, auth, Tx(_amount(invoices["INV-000004"]), payer="VIPPS AS", account=ACCOUNT), "V2")
    assert later["status"] == "exception"
    assert client.get("/matching/learned", headers=auth).json()["items"] == []


def test_a_policy_shared_account_is_never_learned(client: TestClient, auth: dict[str, str]) -> None:
    settings = client.get("/settings", headers=auth).json()
    settings["matching"]["shared_accounts"] = ["1503.20.80119"]
    put = client.put("/settings", json=settings, headers=auth)
    assert put.status_code == 200, put.text
    invoices = _invoices(client, auth)
    first = invoices["INV-000001"]
    paid = _pay(client, auth, Tx(_amount(first), kid=first["payment_reference"], account=ACCOUNT), "P1")
    assert paid["status"] == "applied" and paid["decision"]["learned"]["accounts"] == {}
    later = _pay(client, auth, Tx(_amount(invoices["INV-000004"]), account=ACCOUNT), "P2")
    assert later["status"] == "exception"


def test_a_reversal_unlearns(client: TestClient, auth: dict[str, str]) -> None:
    invoices = _invoices(client, auth)
    first = invoices["INV-000001"]
    tx = Tx(_amount(first), kid=first["payment_reference"], payer="MIDNATTSOL", account=ACCOUNT)
    paid = _pay(client, auth, tx, "R1")
    assert paid["decision"]["learned"]["accounts"] == {ACCOUNT: paid["customer_key"]}
    answer = client.post(f"/payments/{paid['id']}/reverse", json={"reason": "not theirs"}, headers=auth)
    assert answer.status_code == 200, answer.text
    assert answer.json()["decision"]["reversals"][0]["unlearned"] == [ACCOUNT]
    assert client.get("/matching/learned", headers=auth).json()["items"] == []
    [withdrawn] = client.get("/matching/learned", params={"withdrawn": True}, headers=auth).json()["items"]
    assert (withdrawn["standing"], withdrawn["withdrawn_by"]) == ("withdrawn", answer.json()["decided_by"])
    later = _pay(client, auth, Tx(_amount(invoices["INV-000004"]), payer="MIDNATTSOL", account=ACCOUNT), "R2")
    assert later["status"] == "exception"


def test_a_person_replacing_an_automatic_application_unlearns(
    client: TestClient, auth: dict[str, str]
) -> None:
    invoices = _invoices(client, auth)
    first = invoices["INV-000001"]
    paid = _pay(client, auth, Tx(_amount(first), kid=first["payment_reference"], account=ACCOUNT), "Q1")
    answer = client.post(
        f"/payments/{paid['id']}/resolve",
        json={"allocations": [{"invoice_id": first["id"], "amount": first["payable_amount"]}], "learn": False,
              "reason": "booked again by hand"},
        headers=auth,
    )  # fmt: skip
    assert answer.status_code == 200, answer.text
    assert answer.json()["payment"]["decision"]["resolutions"][0]["unlearned"] == [ACCOUNT]
    assert client.get("/matching/learned", headers=auth).json()["items"] == []


def test_an_account_a_person_taught_as_another_customers_is_not_learned(
    client: TestClient, auth: dict[str, str]
) -> None:
    invoices = _invoices(client, auth)
    midnattsol, vestkyst = invoices["INV-000001"], invoices["INV-000002"]
    unknown = _pay(client, auth, Tx(_amount(midnattsol), payer="MIDNATTSOL DRIFT", account=ACCOUNT), "T1")
    assert unknown["status"] == "exception"
    taught = client.post(
        f"/payments/{unknown['id']}/resolve",
        json={"allocations": [{"invoice_id": midnattsol["id"], "amount": midnattsol["payable_amount"]}],
              "reason": "confirmed"},
        headers=auth,
    )  # fmt: skip
    assert ACCOUNT in taught.json()["learned"]["accounts"]
    tx = Tx(_amount(vestkyst), kid=vestkyst["payment_reference"], account=ACCOUNT)
    other = _pay(client, auth, tx, "T2")
    assert other["status"] == "exception" and "payer-conflict" in _kinds(other)
    assert not (other["decision"].get("learned") or {}).get("accounts")
    [entry] = client.get("/matching/learned", params={"kind": "account"}, headers=auth).json()["items"]
    customer_key = taught.json()["payment"]["customer_key"]
    assert (entry["source"], entry["customer_key"], entry["standing"]) == (
        "person",
        customer_key,
        "identifies",
    )


def test_a_learned_account_is_withdrawn_by_a_person(client: TestClient, auth: dict[str, str]) -> None:
    invoices = _invoices(client, auth)
    first = invoices["INV-000001"]
    _pay(client, auth, Tx(_amount(first), kid=first["payment_reference"], account=ACCOUNT), "W1")
    [entry] = client.get("/matching/learned", headers=auth).json()["items"]
    gone = client.delete(f"/matching/learned/{entry['id']}", headers=auth)
    assert gone.status_code == 200 and gone.json()["standing"] == "withdrawn"
    assert client.delete("/matching/learned/nothing", headers=auth).status_code == 404
    later = _pay(client, auth, Tx(_amount(invoices["INV-000004"]), account=ACCOUNT), "W2")
    assert later["status"] == "exception"


def test_an_ocr_giro_kid_payment_teaches_its_debit_account(client: TestClient, auth: dict[str, str]) -> None:
    invoices = _invoices(client, auth)
    first, second = invoices["INV-000001"], invoices["INV-000004"]
    giro = ocr_file(
        [ocr_transaction(1, first["payable_amount"], first["payment_reference"], debit_account=ACCOUNT)]
    )
    answer = receive(client, auth, encoded(giro), "ocr.txt")
    assert answer.status_code == 201, answer.text
    [payment] = answer.json()["payments"]
    assert payment["status"] == "applied"
    view = client.get(f"/payments/{payment['id']}", headers=auth).json()
    assert view["decision"]["learned"]["accounts"] == {ACCOUNT: view["customer_key"]}
    # a camt.054 credit transfer without any reference from the same account, the customer's other amount
    later = _pay(client, auth, Tx(_amount(second), account=ACCOUNT), "O2")
    assert later["status"] == "applied", later["note"]
    assert [a["number"] for a in later["allocations"]] == ["INV-000004"]
