"""A tenant's receivables and bank files for the payment pages: invoices pushed through the real API, camt.054
files received over `POST /remittances?wait=true` and matched by the real engine before the answer.

`book_payments` leaves, among others, an exception with two suggestions: a payment of 3 885.00 NOK from
Midnattsol Drift AS with a KID that belongs to nothing, while two of its open invoices (INV-000001 and
INV-000101) have exactly that amount: the engine will not pick one, a person does.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from gateway.samples import kid_for, sample_invoice_json
from tests.remittance_files import Tx, camt054


@dataclass
class Booked:
    """The invoices (by number) and payments (by what they are) `book_payments` made."""

    invoices: dict[str, dict[str, Any]]
    payments: dict[str, dict[str, Any]]


def invoice(client: TestClient, auth: dict[str, str], n: int, **changes: Any) -> dict[str, Any]:
    data = sample_invoice_json(n)
    data.update(changes)
    answer = client.post("/invoices", json=data, headers=auth)
    assert answer.status_code == 201, answer.text
    view: dict[str, Any] = client.get(f"/invoices/{answer.json()['invoice_id']}", headers=auth).json()
    return view


def receive(
    client: TestClient, auth: dict[str, str], data: bytes, name: str = "bank.xml", *, wait: bool = True
) -> Any:
    """`POST /remittances`; `wait` (these scenarios read the decisions from the answer): matched before it."""
    params = {"filename": name, "wait": "true"} if wait else {"filename": name}
    return client.post(
        "/remittances", params=params, content=data, headers={**auth, "Content-Type": "application/xml"}
    )


def payment_status(client: TestClient, auth: dict[str, str], number: str) -> dict[str, Any]:
    view: dict[str, Any] = client.get(f"/invoices/{number}", headers=auth).json()["payment"]
    return view


def book_payments(client: TestClient, auth: dict[str, str]) -> Booked:
    """Six invoices of three buyers and one bank file of five payments: an exception with two suggestions,
    an exception by name only, a short payment with nothing to go on, one applied by KID, one refund."""
    twin = sample_invoice_json(1)["payment_means"]
    twin[0]["payment_id"] = kid_for(101)
    invoices = {
        view["number"]: view
        for view in (
            invoice(client, auth, 1),
            invoice(client, auth, 1, number="INV-000101", payment_means=twin),
            invoice(client, auth, 2),
            invoice(client, auth, 3),
            invoice(client, auth, 4),
            invoice(client, auth, 5),
        )
    }
    amount = {number: Decimal(view["payable_amount"]) for number, view in invoices.items()}
    assert amount["INV-000001"] == amount["INV-000101"]
    transactions = {
        "twins": Tx(amount["INV-000001"], kid=kid_for(555), payer="Midnattsol Drift AS", reference="NB-1001"),
        "by_name": Tx(amount["INV-000004"], payer="MIDNATTSOL DRIFT", account="12345678903",
                      reference="NB-1002"),
        "short": Tx(amount["INV-000002"] - Decimal("12.50"), payer="V. HANDEL", reference="NB-1003"),
        "by_kid": Tx(amount["INV-000003"], kid=invoices["INV-000003"]["payment_reference"],
                     payer="Fjordbyen Bygg AS", reference="NB-1004"),
        "refund": Tx(Decimal("450.00"), payer="Skatteetaten", text="Tilbakebetaling", reference="NB-1005"),
    }  # fmt: skip
    answer = receive(
        client,
        auth,
        camt054(list(transactions.values()), message_id="CAMT-2026-11-20"),
        "camt054-20261120.xml",
    )
    assert answer.status_code == 201, answer.text
    payments = dict(zip(transactions, answer.json()["payments"], strict=True))
    assert payments["twins"]["status"] == "exception"
    assert payments["by_kid"]["status"] in ("applied", "needs_approval")  # the latter above a set limit
    return Booked(invoices, payments)


def refuse_a_file(client: TestClient, auth: dict[str, str]) -> None:
    """A camt.054 whose batch says three transactions but holds two: refused whole."""
    broken = camt054([Tx(Decimal("100.00")), Tx(Decimal("10.00"))], message_id="CAMT-BROKEN")
    answer = receive(
        client, auth, broken.replace(b"<NbOfTxs>2</NbOfTxs>", b"<NbOfTxs>3</NbOfTxs>"), "camt054-broken.xml"
    )
    assert answer.status_code == 422, answer.text
