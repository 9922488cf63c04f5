"""`GET /invoices` through the real HTTP API on SQLite and PostgreSQL: every filter, combined filters, the
tenant's invoices only, every sort order paged with cursors, cursors that stay right while invoices arrive,
and cursors that were edited or belong to another search refused."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from db.engine import session_scope
from db.models import InvoiceRecord
from gateway.samples import kid_for, sample_invoice_json
from gateway.services.outbound import search as search_service

Auth = dict[str, str]


def make_invoice(
    n: int,
    *,
    issue: dt.date = dt.date(2026, 11, 2),
    buyer_name: str | None = None,
    credit: bool = False,
    prefix: str | None = None,
    receiver_id: str | None = None,
    vat_id: str | None = None,
) -> dict[str, Any]:
    data = sample_invoice_json(
        n, issue_date=issue, credit_note=credit, number_prefix=prefix, receiver_id=receiver_id
    )
    if buyer_name is not None:
        data["buyer"]["name"] = buyer_name
    if vat_id is not None:
        data["buyer"]["vat_id"] = vat_id
    return data


def post(client: TestClient, auth: Auth, data: dict[str, Any]) -> dict[str, Any]:
    answer = client.post("/invoices", json=data, headers=auth)
    assert answer.status_code == 201, answer.text
    view = client.get(f"/invoices/{answer.json()['invoice_id']}", headers=auth)
    return dict(view.json())


def found(client: TestClient, auth: Auth, **params: Any) -> list[str]:
    """The numbers a search finds (every page), in the order given."""
    answer = client.get("/invoices", params=params, headers=auth)
    assert answer.status_code == 200, answer.text
    numbers = [item["number"] for item in answer.json()["items"]]
    while answer.json()["next"]:
        answer = client.get(answer.json()["next"], headers=auth)
        assert answer.status_code == 200, answer.text
        numbers += [item["number"] for item in answer.json()["items"]]
    return numbers


def matches(client: TestClient, auth: Auth, **params: Any) -> list[str]:
    return sorted(found(client, auth, **params))


@pytest.fixture(params=["found and sorted", "walked in order", "walked, names by query"])
def plan(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """The search's two ways to a page, each forced: a handful of invoices is normally looked up and
    sorted; with no room for that, every filter that can is answered by walking the page order."""
    if request.param != "found and sorted":
        monkeypatch.setattr(search_service, "FEW_INVOICES", 0)
    if request.param == "walked, names by query":
        monkeypatch.setattr(search_service, "MANY_NAMES", 0)
    return str(request.param)


@pytest.fixture
def ledger(client: TestClient, auth: Auth, token_for: Any) -> dict[str, dict[str, Any]]:
    """Four documents of acme (one a credit note), and one of another tenant that looks like acme's."""
    profile = {"receiver_id": "C-9", "preferred_channel": "folder", "addresses": {"folder": "c9"}}
    assert client.put("/receivers/C-9", json=profile, headers=auth).status_code == 200
    invoices = {
        "a": post(client, auth, make_invoice(1)),
        "b": post(client, auth, make_invoice(2, issue=dt.date(2026, 10, 1), receiver_id="C-9")),
        "c": post(
            client,
            auth,
            make_invoice(
                3,
                issue=dt.date(2026, 9, 15),
                buyer_name="Tromsø  Båtbyggeri & Søn AS",
                vat_id="NO910667831MVA",
            ),
        ),
        "d": post(client, auth, make_invoice(4, credit=True)),
    }
    invoices["other"] = post(client, token_for("globex"), make_invoice(3, buyer_name="Tromsø Båtbyggeri"))
    return invoices


def test_each_filter_finds_exactly_its_invoices(
    client: TestClient, auth: Auth, ledger: dict[str, dict[str, Any]], engine: Engine, plan: str
) -> None:
    a, b, c = ledger["a"], ledger["b"], ledger["c"]
    everything = ["CN-000004", "INV-000001", "INV-000002", "INV-000003"]
    assert matches(client, auth) == everything
    assert matches(client, auth, number="INV-000002") == ["INV-000002"]
    for buyer in ("tromso batbyggeri", "TROMSØ", "  båtbyggeri   &  SØN ", "Tromsø  Båtbyggeri & Søn AS"):
        assert matches(client, auth, buyer=buyer) == ["INV-000003"], buyer
    assert matches(client, auth, buyer="drift") == ["CN-000004", "INV-000001"]
    assert matches(client, auth, buyer="100%") == [] and matches(client, auth, buyer="_") == []
    for buyer_id in ("910667831", "0192:910 667 831", "no910667831mva"):
        assert matches(client, auth, buyer_id=buyer_id) == ["INV-000003"], buyer_id
    assert matches(client, auth, receiver_id="C-9") == ["INV-000002"]
    assert matches(client, auth, kid=kid_for(1)) == ["INV-000001"]
    assert matches(client, auth, kid=" ".join(kid_for(1)[i : i + 3] for i in range(0, 10, 3))) == [
        "INV-000001"
    ]
    amounts = {
        item["number"]: Decimal(item["payable_amount"]) for item in ledger.values() if "number" in item
    }
    assert len(set(amounts.values())) == len(amounts)  # the samples' amounts differ
    assert matches(client, auth, amount=str(a["payable_amount"])) == ["INV-000001"]
    low, high = sorted(amounts.values())[1:3]
    between = sorted(n for n, v in amounts.items() if low <= v <= high)
    assert matches(client, auth, amount_min=str(low), amount_max=str(high)) == between
    assert matches(client, auth, amount_min=str(low + Decimal("0.001"))) == sorted(
        n for n, v in amounts.items() if v > low
    )
    assert matches(client, auth, issued_to="2026-10-01") == ["INV-000002", "INV-000003"]
    assert matches(client, auth, issued_from="2026-10-01", issued_to="2026-10-01") == ["INV-000002"]
    assert matches(client, auth, due_to="2026-10-15") == ["INV-000002", "INV-000003"]
    assert matches(client, auth, due_from="2026-10-16") == ["INV-000001"]  # a credit note has no due date
    assert matches(client, auth, status="queued") == everything
    assert (
        matches(client, auth, channel="folder") == everything and matches(client, auth, channel="email") == []
    )
    assert matches(client, auth, payment_status="unpaid") == everything

    changed_from = dt.datetime.now(dt.UTC)
    cancel = client.post(f"/deliveries/{b['deliveries'][0]['id']}/cancel", json={"reason": "x"}, headers=auth)
    assert cancel.status_code == 200
    with session_scope(engine) as session:
        session.execute(
            update(InvoiceRecord).where(InvoiceRecord.id == a["id"]).values(payment_status="paid")
        )
    assert matches(client, auth, status="cancelled") == ["INV-000002"]
    assert matches(client, auth, status=["cancelled", "queued"]) == everything
    assert matches(client, auth, status="cancelled", channel="email") == []
    assert matches(client, auth, payment_status="paid") == ["INV-000001"]
    assert matches(client, auth, payment_status=["paid", "unpaid"]) == everything
    assert matches(client, auth, since=changed_from.isoformat()) == ["INV-000002"]
    assert matches(client, auth, since="2000-01-01T00:00:00") == everything
    assert matches(client, auth, since="2999-01-01T00:00:00Z") == []

    assert matches(client, auth, q="INV-000002") == ["INV-000002"]
    assert matches(client, auth, q="båtbyggeri") == ["INV-000003"]
    assert matches(client, auth, q=kid_for(1)) == ["INV-000001"]
    assert matches(client, auth, q=c["id"]) == ["INV-000003"]
    amount = Decimal(a["payable_amount"])
    whole, cents = f"{amount:.2f}".split(".")
    spaced = f"{int(whole):,}".replace(",", " ") + "," + cents  # "1 234,50" as Norwegians write it
    assert matches(client, auth, q=spaced) == ["INV-000001"]
    assert matches(client, auth, q="nothing like this") == []


def test_filters_combine(
    client: TestClient, auth: Auth, ledger: dict[str, dict[str, Any]], plan: str
) -> None:
    assert matches(client, auth, buyer="drift", number="INV-000001") == ["INV-000001"]
    assert matches(client, auth, buyer="drift", status="queued", issued_from="2026-11-01") == [
        "CN-000004",
        "INV-000001",
    ]
    assert matches(client, auth, buyer="drift", kid=kid_for(2)) == []
    assert matches(client, auth, q="tromsø", buyer_id="910667831", channel="folder") == ["INV-000003"]


def test_a_tenant_finds_only_its_own_invoices(
    client: TestClient, auth: Auth, token_for: Any, ledger: dict[str, dict[str, Any]]
) -> None:
    globex = token_for("globex")
    assert matches(client, globex) == ["INV-000003"]
    assert matches(client, globex, buyer="drift") == []
    assert matches(client, auth, q=ledger["other"]["id"]) == []
    assert client.get(f"/invoices/{ledger['other']['id']}", headers=auth).status_code == 404
    assert client.get("/invoices/INV-000003", headers=globex).json()["id"] == ledger["other"]["id"]
    assert client.get("/invoices/INV-000003", headers=auth).json()["id"] == ledger["c"]["id"]
    assert client.get("/invoices").status_code == 401


def _sort_key(item: dict[str, Any], sort: str) -> Any:
    value = {
        "created": item["created_at"],
        "issue_date": item["issue_date"],
        "due_date": item["due_date"],
        "amount": Decimal(item["payable_amount"]),
        "number": item["number"],
    }[sort]
    return (value is not None, value if value is not None else "")  # an empty due date sorts lowest


@pytest.mark.parametrize("sort", ["created", "issue_date", "due_date", "amount", "number"])
def test_every_sort_order_pages_through_everything_once(
    client: TestClient, auth: Auth, ledger: dict[str, dict[str, Any]], sort: str, plan: str
) -> None:
    mine = [item for name, item in ledger.items() if name != "other"]
    filters: list[dict[str, Any]] = [{}, {"buyer": "a"}, {"status": ["queued", "held"]}]
    for descending, extra in ((d, f) for d in (False, True) for f in filters):
        expected = sorted(mine, key=lambda item: (_sort_key(item, sort), item["id"]), reverse=descending)
        order = f"-{sort}" if descending else sort
        numbers = [item["number"] for item in expected]
        assert found(client, auth, sort=order, limit=1, **extra) == numbers, (order, extra)
        assert found(client, auth, sort=order, limit=3, **extra) == numbers, (order, extra)


def test_the_default_order_is_newest_first_with_a_next_link(
    client: TestClient, auth: Auth, ledger: dict[str, dict[str, Any]]
) -> None:
    first = client.get("/invoices", params={"limit": 3, "buyer": "a"}, headers=auth).json()
    assert [item["number"] for item in first["items"]] == ["CN-000004", "INV-000003", "INV-000002"]
    assert (
        first["next"].startswith("/invoices?") and "buyer=a" in first["next"] and "limit=3" in first["next"]
    )
    item = first["items"][0]
    assert item["deliveries"][0]["channel"] == "folder" and item["deliveries"][0]["status"] == "queued"
    assert item["open_amount"] == item["payable_amount"] and item["payment_status"] == "unpaid"
    last = client.get(first["next"], headers=auth).json()
    assert [item["number"] for item in last["items"]] == ["INV-000001"] and last["next"] is None


def test_cursors_stay_right_while_invoices_arrive(client: TestClient, auth: Auth) -> None:
    for n in (2, 4, 6, 8):
        post(client, auth, make_invoice(n))
    page = client.get("/invoices", params={"sort": "number", "limit": 2}, headers=auth).json()
    seen = [item["number"] for item in page["items"]]
    assert seen == ["INV-000002", "INV-000004"]
    post(client, auth, make_invoice(1))  # sorts before the cursor: not on a later page
    post(client, auth, make_invoice(5))  # sorts after it: on a later page, once
    while page["next"]:
        page = client.get(page["next"], headers=auth).json()
        seen += [item["number"] for item in page["items"]]
        post(client, auth, make_invoice(len(seen) + 10))  # and more arrive between the pages
    assert seen[:5] == ["INV-000002", "INV-000004", "INV-000005", "INV-000006", "INV-000008"]
    assert len(seen) == len(set(seen))

    newest = client.get("/invoices", params={"limit": 3}, headers=auth).json()
    before = [item["id"] for item in newest["items"]]
    post(client, auth, make_invoice(99))  # newest first: a new invoice lands before the first page
    rest = found(client, auth, limit=3)
    listed = [item["id"] for item in newest["items"]]
    following = client.get(newest["next"], headers=auth).json()
    assert listed == before and not set(listed) & {item["id"] for item in following["items"]}
    assert "INV-000099" not in [item["number"] for item in following["items"]]
    assert rest[0] == "INV-000099"


def test_an_edited_or_foreign_cursor_is_refused(
    client: TestClient, auth: Auth, ledger: dict[str, dict[str, Any]]
) -> None:
    page = client.get("/invoices", params={"limit": 1, "sort": "amount"}, headers=auth).json()
    cursor = page["next"].split("cursor=")[1]
    for bad in (
        cursor[:-2] + ("AA" if cursor[-2:] != "AA" else "BB"),
        cursor[:10],
        "not-a-cursor",
        "%%%",
        "e30",
    ):
        answer = client.get("/invoices", params={"limit": 1, "sort": "amount", "cursor": bad}, headers=auth)
        assert answer.status_code == 400, bad
        assert answer.json()["errors"][0]["field"] == "query.cursor"
    for other_search in ({"sort": "-amount"}, {"sort": "amount", "buyer": "drift"}):
        answer = client.get("/invoices", params={"limit": 1, "cursor": cursor, **other_search}, headers=auth)
        assert answer.status_code == 400
        assert "another search" in answer.json()["errors"][0]["reason"]
    following = client.get("/invoices", params={"limit": 1, "sort": "amount", "cursor": cursor}, headers=auth)
    assert following.status_code == 200  # the cursor itself, unedited, still pages on


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"amount": "10.001"}, "query.amount"),
        ({"amount": "lots"}, "query.amount"),
        ({"status": "lost"}, "query.status"),
        ({"payment_status": "maybe"}, "query.payment_status"),
        ({"sort": "buyer"}, "query.sort"),
        ({"limit": "0"}, "query.limit"),
        ({"issued_from": "yesterday"}, "query.issued_from"),
        ({"buyer": ""}, "query.buyer"),
    ],
)
def test_invalid_filters_are_422_naming_them(
    client: TestClient, auth: Auth, params: dict[str, str], field: str
) -> None:
    answer = client.get("/invoices", params=params, headers=auth)
    assert answer.status_code == 422
    assert any(error["field"].startswith(field) for error in answer.json()["errors"]), answer.json()


def test_a_corrected_endpoint_is_searched_by_its_new_value(client: TestClient, auth: Auth) -> None:
    post(client, auth, make_invoice(1))
    assert matches(client, auth, buyer_id="923609016") == ["INV-000001"]
    corrected = client.post(
        "/invoices/INV-000001/corrections",
        json={"reason": "new PEPPOL id", "buyer_endpoint": {"scheme": "0192", "value": "999 888 777"}},
        headers=auth,
    )
    assert corrected.status_code == 200, corrected.text
    assert matches(client, auth, buyer_id="0192:999888777") == ["INV-000001"]
    assert matches(client, auth, buyer_id="923609016") == ["INV-000001"]  # still its organisation number
