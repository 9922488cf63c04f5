"""What a portal customer sees (`gateway.services.portal.customer_documents`): statuses and totals, documents
as sent, PODs, notices, the zip — and nothing of another customer, another seller, or (for an invoice link)
another invoice."""

from __future__ import annotations

import csv
import hashlib
import io
import json
import zipfile
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.followup.credit import today_in
from gateway.services.followup.disputes import approve_credit
from gateway.services.outbound.documents import document_store, load_document
from gateway.services.portal import customer_documents as docs
from gateway.services.portal.sessions import PortalIdentity
from gateway.settings import Settings
from tests.portal.customer_scenario import Customers, two_customers
from tests.portal.providers_config import STRIPE, VIPPS


def who(receiver: str, tenant: str = "acme", invoice_id: str | None = None) -> PortalIdentity:
    return PortalIdentity(
        session_id="s",
        tenant_id=tenant,
        receiver_id=receiver,
        user_id=None if invoice_id else "u",
        email=None if invoice_id else "ap@example.com",
        invoice_id=invoice_id,
        csrf_token="c",
    )


@pytest.fixture
def book(client: TestClient, engine: Engine, settings: Settings) -> Customers:
    return two_customers(client, engine, settings)


def _open(book: Customers, name: str) -> Decimal:
    view = book.views[name]
    return Decimal(view.get("open_amount") or view["payable_amount"])


def test_statuses_and_what_is_owed(engine: Engine, book: Customers) -> None:
    with session_scope(engine) as session:
        rows = docs.customer_invoices(session, who("C-A"), today=today_in())
        by_id = {row.id: row for row in rows}
        theirs = docs.customer_invoices(session, who("C-B"), today=today_in())
        other_seller = docs.customer_invoices(session, who("C-A", "globex"), today=today_in())
        open_rows = docs.customer_invoices(session, who("C-A"), today=today_in(), show="open")
        paid_rows = docs.customer_invoices(session, who("C-A"), today=today_in(), show="paid")
    status = {name: (by_id[book.ids[name]].status, by_id[book.ids[name]].overdue)
              for name in ("A1", "A2", "A3", "A4", "A5", "CN")}  # fmt: skip
    assert status == {
        "A1": ("partially_paid", True),
        "A2": ("open", False),
        "A3": ("overdue", True),
        "A4": ("paid", False),
        "A5": ("disputed", False),
        "CN": ("credit_note", False),
    }
    assert set(by_id) == {book.ids[n] for n in ("A1", "A2", "A3", "A4", "A5", "CN")}
    assert [row.id for row in theirs] == [book.ids["B1"]]
    assert [row.id for row in other_seller] == [book.ids["G1"]]
    assert book.ids["A4"] not in {row.id for row in open_rows} and book.ids["A1"] in {r.id for r in open_rows}
    assert [row.id for row in paid_rows] == [book.ids["A4"]]
    assert [by_id[book.ids[n]].payable for n in ("A1", "A2", "A3", "A4", "A5", "CN")] == [
        True, True, True, False, False, False,
    ]  # fmt: skip
    half = (Decimal(book.views["A1"]["payable_amount"]) / 2).quantize(Decimal("0.01"))
    assert by_id[book.ids["A1"]].open_amount == Decimal(book.views["A1"]["payable_amount"]) - half

    [totals] = docs.open_totals(rows)
    owed = (
        sum(by_id[book.ids[n]].open_amount for n in ("A1", "A2", "A3", "A5"))
        - by_id[book.ids["CN"]].open_amount
    )
    assert (totals.currency, totals.open) == ("NOK", owed)
    assert totals.overdue == by_id[book.ids["A1"]].open_amount + by_id[book.ids["A3"]].open_amount
    assert totals.next_due == by_id[book.ids["A2"]].due_date


def test_a_credited_invoice_reads_credited(client: TestClient, engine: Engine, book: Customers) -> None:
    opened = client.post(
        f"/invoices/{book.ids['A3']}/disputes",
        json={"reason": "Wrong price.", "category": "wrong_amount", "from": "customer"},
        headers=book.auth,
    )
    assert opened.status_code == 201, opened.text
    amount = book.views["A3"]["payable_amount"]
    resolved = client.post(
        f"/disputes/{opened.json()['id']}/resolve",
        json={"outcome": "credited", "credit_amount": amount},
        headers=book.auth,
    )
    assert resolved.status_code == 200, resolved.text
    with session_scope(engine) as session:
        approve_credit(
            session, opened.json()["id"], approver="console:boss@acme.example", approver_role="admin"
        )
    with session_scope(engine) as session:
        rows = {row.id: row for row in docs.customer_invoices(session, who("C-A"), today=today_in())}
    assert (rows[book.ids["A3"]].status, rows[book.ids["A3"]].open_amount) == ("credited", 0)


def test_another_customers_or_sellers_things_are_not_found(
    engine: Engine, settings: Settings, book: Customers
) -> None:
    store = document_store(settings, engine)
    with session_scope(engine) as session:
        a1 = docs.invoice_page(session, who("C-A"), book.ids["A1"], today=today_in())
        b1 = docs.invoice_page(session, who("C-B"), book.ids["B1"], today=today_in())
        [a1_pdf] = a1.documents
        [b1_pdf] = b1.documents
        assert a1_pdf.is_pdf and [pod["id"] for pod in a1.pods] == [book.pods["A1"]]
        assert [(p["date"], p["amount"]) for p in a1.payments] and a1.notices
        attempts = [
            lambda: docs.customer_invoice(session, who("C-B"), book.ids["A1"]),
            lambda: docs.customer_invoice(session, who("C-A", "globex"), book.ids["A1"]),
            lambda: docs.customer_invoice(session, who("C-A"), book.ids["G1"]),
            lambda: docs.customer_invoice(session, who("C-A"), "0" * 32),
            lambda: docs.invoice_document(session, store, who("C-B"), book.ids["B1"], a1_pdf.id),
            lambda: docs.invoice_document(session, store, who("C-B"), book.ids["A1"], a1_pdf.id),
            lambda: docs.invoice_document(session, store, who("C-A"), book.ids["A2"], a1_pdf.id),
            lambda: docs.invoice_document(session, store, who("C-A"), book.ids["A1"], b1_pdf.id),
            lambda: docs.invoice_pod(session, store, who("C-B"), book.ids["B1"], book.pods["A1"]),
            lambda: docs.invoice_pod(session, store, who("C-A"), book.ids["A1"], book.pods["B1"]),
            lambda: docs.invoice_pod(session, store, who("C-A"), book.ids["A3"], book.pods["A1"]),
            lambda: docs.notice_document(
                session, store, who("C-B"), book.statements["C-A"][0], statements=True
            ),
            lambda: docs.notice_document(
                session, store, who("C-A"), book.reminders["C-B"][0], statements=False
            ),
            lambda: docs.notice_document(
                session, store, who("C-A"), book.statements["C-A"][0], statements=False
            ),
            lambda: docs.notice_document(
                session, store, who("C-A", "globex"), book.statements["C-A"][0], statements=True
            ),
        ]
        for attempt in attempts:
            with pytest.raises(LookupError):
                attempt()
        _, data = docs.invoice_document(session, store, who("C-A"), book.ids["A1"], a1_pdf.id)
        assert data == load_document(session, store, a1_pdf.id, "acme")[1] and data.startswith(b"%PDF")
        _, statement = docs.notice_document(
            session, store, who("C-A"), book.statements["C-A"][0], statements=True
        )
        assert statement.startswith(b"%PDF")


def test_an_invoice_links_visitor_sees_that_invoice_only(
    engine: Engine, settings: Settings, book: Customers
) -> None:
    store = document_store(settings, engine)
    link = who("C-A", invoice_id=book.ids["A1"])
    with session_scope(engine) as session:
        assert [row.id for row in docs.customer_invoices(session, link, today=today_in())] == [book.ids["A1"]]
        assert docs.customer_notices(session, link, statements=True) == []
        assert docs.customer_notices(session, link, statements=False) == []
        assert docs.invoice_page(session, link, book.ids["A1"], today=today_in()).row.id == book.ids["A1"]
        assert docs.invoice_pod(session, store, link, book.ids["A1"], book.pods["A1"])[1].startswith(b"%PDF")
        with pytest.raises(docs.NotFound):
            docs.customer_invoice(session, link, book.ids["A3"])
        with pytest.raises(docs.NotFound):
            docs.invoice_page(session, link, book.ids["A2"], today=today_in())


def test_the_zip_holds_the_customers_documents_and_nothing_else(
    engine: Engine, settings: Settings, book: Customers
) -> None:
    store = document_store(settings, engine)
    with session_scope(engine) as session:
        data = docs.customer_zip(session, store, who("C-A"))
        b1 = docs.invoice_page(session, who("C-B"), book.ids["B1"], today=today_in()).documents[0]
        g1 = docs.invoice_page(session, who("C-A", "globex"), book.ids["G1"], today=today_in()).documents[0]
        with pytest.raises(docs.TooLarge):
            docs.customer_zip(session, store, who("C-A"), limit=1000)
    archive = zipfile.ZipFile(io.BytesIO(data))
    names = archive.namelist()
    index = list(csv.DictReader(io.StringIO(archive.read("index.csv").decode())))
    assert sorted(row["path"] for row in index) == sorted(n for n in names if n != "index.csv")
    for row in index:
        assert hashlib.sha256(archive.read(row["path"])).hexdigest() == row["sha256"]
    whats = [row["what"] for row in index]
    assert whats.count("proof of delivery") == 1 and whats.count("statement") == 1
    assert whats.count("reminder") == len(book.reminders["C-A"]) >= 1
    numbers = {row["invoice"] for row in index if row["what"] == "document"}
    assert numbers == {"INV-000001", "INV-000002", "INV-000003", "INV-000004", "INV-000005", "CN-000001"}
    assert any(name.endswith(".xml") for name in names) and any(name.endswith(".pdf") for name in names)
    shas = {row["sha256"] for row in index}
    assert b1.sha256 not in shas and g1.sha256 not in shas
    assert not any("INV-000006" in name for name in names)


def test_configured_providers_read_the_tenants_entry(settings: Settings, tmp_path: Path) -> None:
    assert docs.configured_providers(settings, "acme") == []
    path = tmp_path / "providers.json"
    path.write_text(json.dumps({"acme": {"vipps": VIPPS, "stripe": STRIPE}}))
    settings.payment_providers_file = path
    assert docs.configured_providers(settings, "acme") == ["stripe", "vipps"]
    assert docs.configured_providers(settings, "globex") == []
    path.write_text("not json")
    assert docs.configured_providers(settings, "acme") == []


def test_the_list_is_paged_by_keyset_and_each_page_is_the_customers(engine: Engine, book: Customers) -> None:
    """Page after page (two rows each) gives the whole list once, in its order; a cursor of another
    customer's invoice is no cursor; the overview counts every open invoice but lists only the first."""
    with session_scope(engine) as session:
        whole = [row.id for row in docs.customer_invoices(session, who("C-A"), today=today_in())]
        paged: list[str] = []
        after = None
        while True:
            listed = docs.invoice_list_page(session, who("C-A"), today=today_in(), after=after, size=2)
            assert len(listed.rows) <= 2
            paged.extend(row.id for row in listed.rows)
            if listed.after is None:
                break
            after = listed.after
        with pytest.raises(docs.NotFound):
            docs.invoice_list_page(session, who("C-A"), today=today_in(), after=book.ids["B1"], size=2)
        with pytest.raises(docs.NotFound):
            docs.invoice_list_page(session, who("C-A", "globex"), today=today_in(), after=whole[0], size=2)
        every_open = docs.customer_invoices(session, who("C-A"), today=today_in(), show="open")
        shown = docs.customer_overview(session, who("C-A"), today=today_in(), shown=1)
        full = docs.customer_overview(session, who("C-A"), today=today_in())
    assert len(whole) > 4 and paged == whole
    assert shown.open_count == len(full.open_rows) >= 2 and len(shown.open_rows) == 1
    assert shown.totals == full.totals == docs.open_totals(every_open)
