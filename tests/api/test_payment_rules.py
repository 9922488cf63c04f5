"""Matching's known rules through the real API (issue 22): bank files posted, decisions read back.

A partial payment and an overpayment by a valid KID in an OCR giro file (whose lines carry no payer name:
the KID's customer is the payer), the policy that holds partials back, a stranger's valid KID, and a
camt.054 payment that uses the customer's old KID for another of its invoices.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from tests.mappings.test_ocr_giro import encoded, ocr_file, ocr_transaction
from tests.payment_scenarios import invoice, payment_status
from tests.remittance_files import Tx, camt054


def post(client: TestClient, auth: dict[str, str], data: bytes, name: str) -> list[dict[str, Any]]:
    """Post a bank file (matched inside the request) and read each payment back with its decision."""
    answer = client.post(
        "/remittances", params={"filename": name}, content=data,
        headers={**auth, "Content-Type": "application/octet-stream"},
    )  # fmt: skip
    assert answer.status_code == 201, answer.text
    views = []
    for payment in answer.json()["payments"]:
        view = client.get(f"/payments/{payment['id']}", headers=auth)
        assert view.status_code == 200, view.text
        views.append(view.json())
    return views


def kinds(view: dict[str, Any]) -> set[str]:
    decision = view["decision"]
    found = {e["kind"] for e in decision["evidence"]}
    for proposal in [decision["proposal"] or {"evidence": []}, *decision["suggestions"]]:
        found |= {e["kind"] for e in proposal["evidence"]}
    return found


def suggested(view: dict[str, Any]) -> list[list[str]]:
    return [[a["number"] for a in s["allocations"]] for s in view["decision"]["suggestions"]]


def test_an_ocr_file_applies_a_partial_payment_and_an_overpayment_by_their_valid_kids(
    client: TestClient, auth: dict[str, str]
) -> None:
    first = invoice(client, auth, 1)  # Midnattsol Drift AS
    other = invoice(client, auth, 3)  # Fjordbyen Bygg AS
    owed, other_owed = Decimal(first["payable_amount"]), Decimal(other["payable_amount"])
    part, over = Decimal("500.00"), other_owed + Decimal("100.00")
    assert part < owed - 50 and part != other_owed
    data = ocr_file(
        [
            ocr_transaction(1, str(part), first["payment_reference"]),
            ocr_transaction(2, str(over), other["payment_reference"], debit_account="12345678903"),
        ]
    )
    partial, overpaid = post(client, auth, encoded(data), "ocr.txt")
    assert partial["status"] == "applied", partial["decision"]["reason"]
    assert {"payer-from-kid", "partial-reference", "amount-partial"} <= kinds(partial)
    assert "payer-unconfirmed" not in kinds(partial)
    status = payment_status(client, auth, first["id"])
    assert status["payment_status"] == "partially_paid" and Decimal(status["open_amount"]) == owed - part
    assert overpaid["status"] == "applied", overpaid["decision"]["reason"]
    assert {"payer-from-kid", "amount-over"} <= kinds(overpaid)
    status = payment_status(client, auth, other["id"])
    assert status["payment_status"] == "overpaid" and Decimal(status["open_amount"]) == -100


def test_partial_payments_wait_for_a_person_when_the_tenants_policy_says_so(
    client: TestClient, auth: dict[str, str]
) -> None:
    assert (
        client.put("/settings", json={"matching": {"partial_payments": False}}, headers=auth).status_code
        == 200
    )
    first = invoice(client, auth, 1)
    data = ocr_file([ocr_transaction(1, "500.00", first["payment_reference"])])
    [view] = post(client, auth, encoded(data), "ocr.txt")
    assert view["status"] == "exception"
    assert "partial payments wait for a person (policy)" in view["decision"]["reason"]
    assert suggested(view)[0] == [first["number"]]
    assert payment_status(client, auth, first["id"])["payment_status"] == "unpaid"


def test_a_nameless_valid_kid_for_an_amount_another_customer_owes_is_not_applied(
    client: TestClient, auth: dict[str, str]
) -> None:
    first = invoice(client, auth, 1)  # its KID is used...
    meant = invoice(client, auth, 2)  # ...to pay exactly what Vestkyst Handel AS owes on INV-000002
    amount = Decimal(meant["payable_amount"])
    assert amount < Decimal(first["payable_amount"])
    data = ocr_file(
        [ocr_transaction(1, str(amount), first["payment_reference"], debit_account="12345678903")]
    )
    [view] = post(client, auth, encoded(data), "ocr.txt")
    assert view["status"] == "exception"
    assert "kid-amount-conflict" in kinds(view)
    assert [meant["number"]] in suggested(view)
    assert payment_status(client, auth, first["id"])["payment_status"] == "unpaid"


def test_a_camt054_payment_with_the_customers_old_kid_ranks_the_invoice_the_amount_fits_first(
    client: TestClient, auth: dict[str, str]
) -> None:
    old = invoice(client, auth, 1)  # Midnattsol Drift AS, last month
    new = invoice(client, auth, 4)  # Midnattsol Drift AS, this month
    amount = Decimal(new["payable_amount"])
    assert amount != Decimal(old["payable_amount"])
    payments = [
        Tx(amount, kid=old["payment_reference"], reference="OLD-1"),  # no name, no account
        Tx(amount, kid=old["payment_reference"], payer="MIDNATTSOL DRIFT AS", reference="OLD-2"),
    ]
    for view in post(client, auth, camt054(payments), "camt.xml"):
        assert view["status"] == "exception"
        assert suggested(view)[:2] == [[new["number"]], [old["number"]]]
        reason = view["decision"]["reason"]
        assert reason.startswith(f"conflicting evidence: KID {old['payment_reference']} names invoice ")
        assert reason.endswith(f"equals invoice {new['number']}'s open amount, same customer: an old KID?")
        assert "old-kid" in {e["kind"] for e in view["decision"]["suggestions"][0]["evidence"]}
    assert payment_status(client, auth, old["id"])["payment_status"] == "unpaid"
    assert payment_status(client, auth, new["id"])["payment_status"] == "unpaid"
