"""The customer's pages (overview, invoices, one invoice, its documents and PODs, statements, reminders, the
zip): what a customer sees, and that nothing of another customer or seller is reachable on any route."""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.portal.texts import TEXTS
from gateway.services.outbound.documents import document_store, load_document
from gateway.settings import Settings
from tests.portal.customer_scenario import Customers, two_customers
from tests.portal.helpers import portal_session
from tests.portal.providers_config import STRIPE

TEMPLATES = Path(__file__).parents[2] / "gateway" / "portal" / "templates" / "invoices"


@pytest.fixture
def book(client: TestClient, engine: Engine, settings: Settings) -> Customers:
    return two_customers(client, engine, settings)


def _links(html: str, kind: str) -> list[str]:
    return re.findall(rf'href="(/portal/invoices/[0-9a-f]+/{kind}/[0-9a-f]+)"', html)


def _status_of(html: str, number: str) -> list[str]:
    """The status badges of the list's row of invoice `number`."""
    row = next(r for r in html.split("<tr>") if f">{number}</a>" in r)
    return re.findall(r'class="status status-([a-z_]+)"', row)


def test_the_overview_and_the_list_show_the_customers_invoices_with_their_status(
    client: TestClient, engine: Engine, book: Customers
) -> None:
    portal_session(client, engine, "acme", "C-A")
    overview = client.get("/portal/")
    assert overview.status_code == 200
    html = overview.text
    assert 'href="/portal/invoices"' in html and 'href="/portal/statements"' in html  # the navigation
    assert "INV-000002" in html and "INV-000006" not in html and 'class="responsive' in html
    assert "/portal/pay" not in html  # no provider configured: no pay form
    listed = client.get("/portal/invoices?show=all").text
    assert _status_of(listed, "INV-000001") == ["partially_paid", "overdue"]
    assert _status_of(listed, "INV-000002") == ["open"]
    assert _status_of(listed, "INV-000003") == ["overdue"]
    assert _status_of(listed, "INV-000004") == ["paid"]
    assert _status_of(listed, "INV-000005") == ["disputed"]
    assert _status_of(listed, "CN-000001") == ["credit_note"]
    assert 'data-label="' in listed and "INV-000006" not in listed
    only_open = client.get("/portal/invoices?show=open").text
    assert "INV-000004" not in only_open and "INV-000001" in only_open
    only_paid = client.get("/portal/invoices?show=paid").text
    assert "INV-000004" in only_paid and "INV-000001" not in only_paid
    assert client.get("/portal/invoices?show=everything").status_code == 422
    client.cookies.set("gw_portal_lang", "en", path="/portal")
    english = client.get("/portal/invoices").text
    assert "Partially paid" in english and "Delvis betalt" not in english


def test_the_pay_form_is_there_when_the_seller_takes_cards(
    client: TestClient, engine: Engine, book: Customers, tmp_path: Path
) -> None:
    path = tmp_path / "providers.json"
    path.write_text(json.dumps({"acme": {"stripe": STRIPE}}))
    client.app.state.settings.payment_providers_file = path  # type: ignore[attr-defined]
    identity = portal_session(client, engine, "acme", "C-A")
    html = client.get("/portal/").text
    form = html[html.index('<form method="post" action="/portal/pay"') :]
    assert f'name="csrf_token" value="{identity.csrf_token}"' in form
    assert 'name="provider" value="stripe"' in form and 'value="vipps"' not in form
    boxes = re.findall(r'name="invoice" value="([0-9a-f]+)" form="pay-form"', html)
    assert set(boxes) == {book.ids["A1"], book.ids["A2"], book.ids["A3"]}  # not the disputed, paid or credit
    page = client.get(f"/portal/invoices/{book.ids['A2']}").text
    assert f'<input type="hidden" name="invoice" value="{book.ids["A2"]}">' in page
    assert f'href="/portal/invoices/{book.ids["A2"]}/inquiry"' in page
    paid = client.get(f"/portal/invoices/{book.ids['A4']}").text
    assert "/portal/pay" not in paid


def test_documents_and_pods_are_served_as_sent(
    client: TestClient, engine: Engine, settings: Settings, book: Customers
) -> None:
    portal_session(client, engine, "acme", "C-A")
    store = document_store(settings, engine)
    a1 = client.get(f"/portal/invoices/{book.ids['A1']}").text
    [pdf_link] = _links(a1, "documents")
    [pod_link] = _links(a1, "pods")
    pdf = client.get(pdf_link)
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["content-disposition"].startswith("inline")
    assert pdf.headers["x-content-type-options"] == "nosniff"
    with session_scope(engine) as session:
        assert pdf.content == load_document(session, store, pdf_link.rsplit("/", 1)[1], "acme")[1]
    pod = client.get(pod_link)
    assert pod.status_code == 200 and pod.content.startswith(b"%PDF")
    [xml_link] = _links(client.get(f"/portal/invoices/{book.ids['A2']}").text, "documents")
    xml = client.get(xml_link)
    assert xml.headers["content-type"].startswith("application/xml")
    assert xml.headers["content-disposition"].startswith("attachment")
    with session_scope(engine) as session:
        assert xml.content == load_document(session, store, xml_link.rsplit("/", 1)[1], "acme")[1]
    for kind, notice_id in (
        ("statements", book.statements["C-A"][0]),
        ("reminders", book.reminders["C-A"][0]),
    ):
        listing = client.get(f"/portal/{kind}").text
        assert f'href="/portal/{kind}/{notice_id}.pdf"' in listing
        document = client.get(f"/portal/{kind}/{notice_id}.pdf")
        assert document.status_code == 200 and document.content.startswith(b"%PDF")


def test_every_route_answers_404_for_another_customers_or_sellers_ids(
    client: TestClient, engine: Engine, book: Customers
) -> None:
    portal_session(client, engine, "acme", "C-A")
    a1 = client.get(f"/portal/invoices/{book.ids['A1']}").text
    [a1_pdf] = _links(a1, "documents")
    [a1_pod] = _links(a1, "pods")
    a1_document, a1_pod_id = a1_pdf.rsplit("/", 1)[1], a1_pod.rsplit("/", 1)[1]
    portal_session(client, engine, "acme", "C-B", email="ap@c-b.example")
    b1 = client.get(f"/portal/invoices/{book.ids['B1']}")
    assert b1.status_code == 200
    [b1_pdf] = _links(b1.text, "documents")
    b1_document = b1_pdf.rsplit("/", 1)[1]
    foreign = [
        f"/portal/invoices/{book.ids['A1']}",
        f"/portal/invoices/{book.ids['G1']}",
        f"/portal/invoices/{'0' * 32}",
        a1_pdf,
        a1_pod,
        f"/portal/invoices/{book.ids['B1']}/documents/{a1_document}",
        f"/portal/invoices/{book.ids['B1']}/pods/{a1_pod_id}",
        f"/portal/statements/{book.statements['C-A'][0]}.pdf",
        f"/portal/reminders/{book.reminders['C-A'][0]}.pdf",
        f"/portal/statements/{book.reminders['C-B'][0]}.pdf",  # its own reminder is no statement
    ]
    for path in foreign:
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert "<html" in answer.text and "%PDF" not in answer.text
    assert client.get(f"/portal/reminders/{book.reminders['C-B'][0]}.pdf").status_code == 200
    listing = client.get("/portal/invoices").text + client.get("/portal/").text
    assert "INV-000001" not in listing and "INV-000006" in listing

    portal_session(client, engine, "globex", "C-A")  # the same receiver id at another seller
    assert client.get(f"/portal/invoices/{book.ids['G1']}").status_code == 200
    for path in (
        f"/portal/invoices/{book.ids['A1']}",
        a1_pdf,
        a1_pod,
        f"/portal/invoices/{book.ids['G1']}/documents/{b1_document}",
    ):
        assert client.get(path).status_code == 404, path
    assert "INV-000002" not in client.get("/portal/invoices").text
    archive = zipfile.ZipFile(io.BytesIO(client.get("/portal/download.zip").content))
    assert [n for n in archive.namelist() if n != "index.csv"] and not any(
        "INV-000002" in n for n in archive.namelist()
    )


def test_an_invoice_links_visitor_sees_its_invoice_and_nothing_else(
    client: TestClient, engine: Engine, book: Customers
) -> None:
    portal_session(client, engine, "acme", "C-A", email=None, invoice_id=book.ids["A1"])
    page = client.get(f"/portal/invoices/{book.ids['A1']}")
    assert page.status_code == 200 and "INV-000001" in page.text
    assert 'class="tabs"' not in page.text  # no navigation to pages it may not see
    [pdf] = _links(page.text, "documents")
    [pod] = _links(page.text, "pods")
    assert client.get(pdf).status_code == 200 and client.get(pod).status_code == 200
    assert client.get(f"/portal/invoices/{book.ids['A3']}").status_code == 404
    assert (
        client.get(f"/portal/invoices/{book.ids['A3']}/documents/{pdf.rsplit('/', 1)[1]}").status_code == 404
    )
    lists = (
        "/portal/",
        "/portal/invoices",
        "/portal/statements",
        "/portal/reminders",
        "/portal/download.zip",
    )
    for path in (*lists, f"/portal/statements/{book.statements['C-A'][0]}.pdf"):
        answer = client.get(path, follow_redirects=False)
        assert answer.status_code == 303 and answer.headers["location"].startswith("/portal/sign-in"), path


def test_the_list_pages_with_show_more(client: TestClient, engine: Engine, book: Customers) -> None:
    """`after` (the last invoice shown) gives the rest of the list; another customer's invoice as the cursor
    is a 404 like any id of theirs."""
    portal_session(client, engine, "acme", "C-A")
    first = client.get("/portal/invoices")
    numbers = re.findall(r'href="/portal/invoices/[0-9a-f]+">([A-Z]+-\d+)</a>', first.text)
    ids = re.findall(r'href="/portal/invoices/([0-9a-f]+)">', first.text)
    assert len(ids) >= 3 and 'rel="next"' not in first.text  # fewer than a page: no "show more"
    rest = client.get("/portal/invoices", params={"show": "all", "after": ids[1]})
    assert rest.status_code == 200
    assert re.findall(r'href="/portal/invoices/[0-9a-f]+">([A-Z]+-\d+)</a>', rest.text) == numbers[2:]
    assert 'href="/portal/invoices?show=all"' in rest.text  # back to the newest
    assert client.get("/portal/invoices", params={"after": book.ids["B1"]}).status_code == 404


def test_the_zip_route(client: TestClient, engine: Engine, book: Customers) -> None:
    portal_session(client, engine, "acme", "C-A")
    answer = client.get("/portal/download.zip")
    assert answer.status_code == 200 and answer.headers["content-type"] == "application/zip"
    assert answer.headers["content-disposition"].startswith("attachment")
    archive = zipfile.ZipFile(io.BytesIO(answer.content))
    assert "index.csv" in archive.namelist()
    assert any(n.startswith("statements/") for n in archive.namelist())
    assert any(n.startswith("proofs-of-delivery/INV-000001/") for n in archive.namelist())


def test_every_text_the_pages_use_is_there_in_both_languages() -> None:
    used: set[str] = set()
    for template in TEMPLATES.glob("*.html"):
        used |= set(re.findall(r"""\bt\(\s*["']([a-z_]+)["']\s*[,)]""", template.read_text()))
    used |= {
        f"status_{s}"
        for s in ("open", "overdue", "partially_paid", "paid", "credited", "disputed", "credit_note")
    }
    used |= {
        f"notice_{k}" for k in ("statement", "nudge", "reminder", "collection_warning", "payment_demand")
    }
    used |= {"overview", "invoices", "inquiries", "statements", "reminders", "account", "pay_with_stripe",
             "pay_with_vipps", "invoice", "credit_note", "pay_this", "pay_selected", "file_pdf", "file_xml",
             "file_other", "no_statements", "no_reminders"}  # fmt: skip
    missing = sorted(key for key in used if set(TEXTS.get(key, {})) != {"nb", "en"})
    assert missing == []
