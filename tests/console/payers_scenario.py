"""What matching knows about payers, made the way production makes it: invoices pushed through the real API,
camt.054 files posted to `POST /remittances?wait=true` and applied by the real engine, which learns the
payers' accounts from its own KID applications; one customer group set through `PUT /matching/groups`.

- account 1503.20.80119 paid Midnattsol Drift AS's KID: it identifies Midnattsol;
- account 9710.05.12345 paid the KID of a customer with a long Norwegian name: it identifies that customer;
- account 1234.56.78903 paid Vestkyst Handel AS's KID, then Fjordbyen Bygg AS's: shared, identifies no one;
- Midnattsol Drift AS pays for the long-named customer (a stored link, removable).

Invoice numbers start at 301 so that the scenario sits beside other books (`invoice_book`) without clashing.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient

from gateway.samples import BUYERS
from tests.payment_scenarios import invoice, receive
from tests.remittance_files import Tx, camt054

MIDNATTSOL_ACCOUNT = "15032080119"
LONG_ACCOUNT = "97100512345"
SHARED_ACCOUNT = "12345678903"
LONG_NAME = "Sørøst-Ærfugl Økologiske Gårdsbruk og Sjømatforedling Nord-Trøndelag Vestre Avdeling AS"
LONG_ORG = "912345602"
LONG_KEY = f"org:0192:{LONG_ORG}"
MIDNATTSOL_KEY = "org:0192:923609016"


@dataclass(frozen=True)
class Payers:
    """Ids the tests look for: the payments that taught, the learned entries by account, the link."""

    payments: dict[str, str]  # midnattsol, long, shared_1, shared_2 -> payment id
    entries: dict[str, str]  # account -> learned entry id (the newest, for the shared one)
    link_id: str


def long_named_buyer() -> dict[str, Any]:
    return {
        **BUYERS[0],
        "name": LONG_NAME,
        "legal_registration": {"value": LONG_ORG, "scheme": "0192"},
        "endpoint": {"value": LONG_ORG, "scheme": "0192"},
        "address": {"lines": ["Ærfuglvegen 7"], "city": "Steinkjær", "postal_code": "7713", "country": "NO"},
    }


def _pay(
    client: TestClient, auth: dict[str, str], view: dict[str, Any], payer: str, account: str, ref: str
) -> str:
    tx = Tx(Decimal(view["payable_amount"]), kid=view["payment_reference"], payer=payer, account=account,
            reference=ref)  # fmt: skip
    answer = receive(client, auth, camt054([tx], message_id=ref), f"camt054-{ref}.xml")
    assert answer.status_code == 201, answer.text
    [payment] = answer.json()["payments"]
    assert payment["status"] == "applied", payment
    return str(payment["id"])


def learn_payers(client: TestClient, auth: dict[str, str]) -> Payers:
    """The learned identities and the group of the module's docstring."""
    midnattsol = invoice(client, auth, 301, number="INV-000301")  # 301 % 3 == 1: Midnattsol Drift AS
    vestkyst = invoice(client, auth, 302, number="INV-000302")
    fjordbyen = invoice(client, auth, 303, number="INV-000303")
    long_named = invoice(client, auth, 304, number="INV-000304", buyer=long_named_buyer())
    assert len({v["payable_amount"] for v in (midnattsol, vestkyst, fjordbyen, long_named)}) == 4
    payments = {
        "midnattsol": _pay(client, auth, midnattsol, "MIDNATTSOL DRIFT AS", MIDNATTSOL_ACCOUNT, "P-301"),
        "long": _pay(client, auth, long_named, "SØRØST-ÆRFUGL ØKOLOGISKE GÅRDSBRUK", LONG_ACCOUNT, "P-304"),
        "shared_1": _pay(client, auth, vestkyst, "REGNSKAPSBYRÅET AS", SHARED_ACCOUNT, "P-302"),
        "shared_2": _pay(client, auth, fjordbyen, "REGNSKAPSBYRÅET AS", SHARED_ACCOUNT, "P-303"),
    }
    learned = client.get("/matching/learned", headers=auth).json()["items"]
    entries: dict[str, str] = {}
    for entry in reversed(learned):  # oldest first: the newest of an account wins
        entries[entry["value"]] = entry["id"]
    assert {MIDNATTSOL_ACCOUNT, LONG_ACCOUNT, SHARED_ACCOUNT} <= set(entries), learned
    link = client.put("/matching/groups", json={"customer": LONG_ORG, "parent": MIDNATTSOL_KEY}, headers=auth)
    assert link.status_code == 200, link.text
    return Payers(payments=payments, entries=entries, link_id=link.json()["id"])
