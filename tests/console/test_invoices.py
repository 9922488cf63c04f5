"""The invoice search and the invoice page over HTTP: what they find and show, what they refuse, and that
a tenant sees only its own invoices and documents."""

from __future__ import annotations

import re
from html import unescape

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.settings import Settings
from tests.console.helpers import ConsoleClient
from tests.console.invoice_scenario import Book, invoice_book


@pytest.fixture
def book(web: TestClient, engine: Engine, settings: Settings) -> Book:
    return invoice_book(web, engine, settings)


def _numbers(html: str) -> list[str]:
    """The invoice numbers of a result table, in order."""
    return re.findall(r'<a href="/console/invoices/[0-9a-f]{32}">([^<]+)</a>', html)


def _text(html: str) -> str:
    """The words of a page; the narrow no-break space inside amounts is kept."""
    return re.sub(r"[ \t\r\n]+", " ", unescape(re.sub(r"<[^>]+>", " ", html))).strip()


def test_the_search_finds_by_buyer_kid_and_amount_in_one_box(operator: ConsoleClient, book: Book) -> None:
    everything = operator.get("/console/invoices")
    assert everything.status_code == 200
    assert len(_numbers(everything.text)) == 10  # nine invoices and the credit note
    assert "One box for an invoice number" in everything.text

    by_buyer = operator.get("/console/invoices", params={"q": "fjordbyen"})
    assert by_buyer.status_code == 200
    assert sorted(_numbers(by_buyer.text)) == ["INV-000003", "INV-000003", "INV-000006", "INV-000009"]
    assert "Midnattsol" not in by_buyer.text

    view = operator.client.get(f"/invoices/{book.busy_id}", headers=book.auth).json()
    by_kid = operator.get(
        "/console/invoices", params={"q": view["payment_reference"]}, follow_redirects=False
    )
    assert _numbers(by_kid.text) == ["INV-000001"]  # a KID is not a number: listed, not jumped to
    amount = view["payable_amount"].replace(".", ",")
    by_amount = operator.get("/console/invoices", params={"q": amount})
    assert "INV-000001" in _numbers(by_amount.text)
    row = _text(by_amount.text)
    assert "Midnattsol Drift AS" in row and "NOK" in row and "partially paid" in row


def test_an_invoice_number_typed_in_full_opens_the_invoice(operator: ConsoleClient, book: Book) -> None:
    answer = operator.get("/console/invoices", params={"q": " INV-000004 "}, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/invoices/{book.ids['INV-000004']}"
    # a number two documents carry lists both
    shared = operator.get("/console/invoices", params={"q": "INV-000003"}, follow_redirects=False)
    assert shared.status_code == 200
    assert _numbers(shared.text) == ["INV-000003", "INV-000003"]
    assert "credit note" in shared.text


def test_filters_sort_and_the_next_page(operator: ConsoleClient, book: Book) -> None:
    failed_first = operator.get("/console/invoices", params={"status": "deviation"})
    assert _numbers(failed_first.text) == ["INV-000001"]
    by_channel = operator.get(
        "/console/invoices", params={"channel": "email", "payment_status": "partially_paid"}
    )
    assert _numbers(by_channel.text) == ["INV-000001"]
    issued = operator.get(
        "/console/invoices",
        params={"issued_from": "2026-10-09", "issued_to": "2026-10-21", "sort": "issue_date"},
    )
    assert _numbers(issued.text) == ["INV-000002", "INV-000003", "INV-000004", "INV-000005"]
    by_number = operator.get("/console/invoices", params={"sort": "-number", "amount_min": "0"})
    assert _numbers(by_number.text)[0] == "INV-000009"

    from gateway.console.pages import invoices

    original = invoices.PAGE_SIZE
    invoices.PAGE_SIZE = 4
    try:
        first = operator.get("/console/invoices", params={"sort": "number", "q": "AS"})
        assert len(_numbers(first.text)) == 4
        next_link = re.search(r'<a href="([^"]+)">Next page', first.text)
        assert next_link is not None
        second = operator.get(unescape(next_link.group(1)))
        assert second.status_code == 200
        assert set(_numbers(second.text)).isdisjoint(_numbers(first.text))
        assert "First page" in second.text
    finally:
        invoices.PAGE_SIZE = original


def test_an_empty_search_says_what_was_searched(operator: ConsoleClient, book: Book) -> None:
    answer = operator.get("/console/invoices", params={"q": "Nobody Such AS", "status": "failed"})
    assert answer.status_code == 200
    text = _text(answer.text)
    assert "No invoices match “Nobody Such AS” and delivery status “failed”." in text
    assert _numbers(answer.text) == []


@pytest.mark.parametrize(
    ("params", "label", "words"),
    [
        ({"due_from": "2026-13-45"}, "Due from", "'2026-13-45' is not a date: write it as YYYY-MM-DD"),
        ({"amount_max": "lots"}, "Amount to", "'lots' is not an amount"),
        ({"status": "lost"}, "Delivery status", "'lost' is not one of the choices"),
        ({"sort": "colour"}, "Sort", "'colour' is not one of the choices"),
        ({"cursor": "bogus"}, "Page", "not a cursor of this search"),
        ({"q": "x" * 201}, "Search", "at most 200 characters"),
    ],
)
def test_a_malformed_field_is_a_400_page_naming_it(
    operator: ConsoleClient, params: dict[str, str], label: str, words: str
) -> None:
    answer = operator.get("/console/invoices", params=params)
    assert answer.status_code == 400
    alert = re.search(r'role="alert"[^>]*>(.*?)</div>', answer.text, re.S)
    assert alert is not None
    assert f"{label}:" in _text(alert.group(1)) and words in _text(alert.group(1))
    if label != "Page":
        assert re.search(r'aria-invalid="true"', answer.text)
    if "due_from" in params:  # the form keeps what was typed, to be corrected
        assert 'value="2026-13-45"' in answer.text


def test_the_invoice_page_tells_the_whole_story(operator: ConsoleClient, book: Book) -> None:
    answer = operator.get(f"/console/invoices/{book.busy_number}")
    assert answer.status_code == 200
    text = _text(answer.text)
    view = operator.client.get(f"/invoices/{book.busy_id}", headers=book.auth).json()
    # the header
    assert "Invoice INV-000001" in text and "Midnattsol Drift AS" in text and "923609016" in text
    assert view["payment_reference"] in text
    payable = view["payable_amount"]
    assert f"Payable {payable} NOK".replace(payable, _grouped(payable)) in text
    assert "Total incl. VAT" in text and "VAT 25 %" in text
    assert "partially paid" in text
    open_amount = view["payment"]["open_amount"]
    assert f"Open amount {_grouped(open_amount)} NOK" in text
    # the deliveries and the timeline: who, what, why, on which channel
    assert "preferred" in text and "fallback 1" in text
    assert "document is 45" in text or "email takes at most 100" in text
    assert "by API token erp" in text
    assert "the buyer's accounts payable asked for a copy" in text
    assert "fallback: email ended deviation" in text
    events = sum(len(delivery["events"]) for delivery in view["deliveries"])
    assert answer.text.count("<li>") >= events
    assert f"{events} events, oldest first" in text
    # the documents as sent: the PDF in the page, with a download
    documents = re.findall(r"/console/documents/([0-9a-f]{32})\?download=1", answer.text)
    assert documents
    assert re.search(r'<iframe class="pdf" src="/console/documents/[0-9a-f]{32}"', answer.text)
    # the POD and the payment
    assert "delivery-note-4501.pdf" in text and "Ola Hansen" in text
    [allocation] = view["payment"]["allocations"]
    assert _grouped(allocation["amount"]) + " NOK" in text
    assert f"Id {book.busy_id}" in text


def _grouped(amount: str) -> str:
    whole, _, cents = amount.partition(".")
    groups = f"{int(whole):,}".replace(",", "\u202f")
    return f"{groups}.{cents}"


def test_an_invoice_by_id_by_number_and_the_choice_of_a_shared_number(
    operator: ConsoleClient, book: Book
) -> None:
    by_id = operator.get(f"/console/invoices/{book.ids['INV-000005']}")
    assert by_id.status_code == 200 and "Invoice INV-000005" in _text(by_id.text)
    # sent as canonical JSON to a folder: the document as sent is shown as text (escaped), no PDF frame
    shown = re.search(r'<pre class="document">(.*?)</pre>', by_id.text, re.S)
    assert shown is not None and '"number": "INV-000005"' in unescape(shown.group(1))
    assert "<iframe" not in by_id.text
    shared = operator.get("/console/invoices/INV-000003")
    assert shared.status_code == 409
    assert f'href="/console/invoices/{book.ids["INV-000003"]}"' in shared.text
    assert f'href="/console/invoices/{book.credit_note_id}"' in shared.text
    credit = operator.get(f"/console/invoices/{book.credit_note_id}")
    assert "Credit note INV-000003" in _text(credit.text)


def test_another_tenants_invoice_and_document_are_not_found(operator: ConsoleClient, book: Book) -> None:
    for path in (
        f"/console/invoices/{book.other_tenant_invoice_id}",
        "/console/invoices/NO-SUCH-1",
        f"/console/documents/{book.other_tenant_document_id}",
        "/console/documents/0123456789abcdef0123456789abcdef",
    ):
        answer = operator.get(path)
        assert answer.status_code == 404, path
        assert "<h1>Not found</h1>" in answer.text
    # and the other tenant's invoice is not in the search either
    searched = operator.get("/console/invoices", params={"q": book.other_tenant_invoice_id})
    assert searched.status_code == 200 and _numbers(searched.text) == []
    assert "No invoices match" in _text(searched.text)


def test_a_document_inline_or_as_a_download(operator: ConsoleClient, book: Book) -> None:
    page_html = operator.get(f"/console/invoices/{book.busy_id}").text
    pdf_id = re.search(r'<iframe class="pdf" src="/console/documents/([0-9a-f]{32})"', page_html)
    assert pdf_id is not None
    inline = operator.get(f"/console/documents/{pdf_id.group(1)}")
    assert inline.status_code == 200
    assert inline.headers["content-type"] == "application/pdf"
    assert inline.headers["content-disposition"].startswith('inline; filename="INV-000001.pdf"')
    assert inline.headers["x-content-type-options"] == "nosniff"
    assert inline.content.startswith(b"%PDF-")
    download = operator.get(f"/console/documents/{pdf_id.group(1)}", params={"download": "1"})
    assert download.headers["content-disposition"].startswith("attachment;")
    assert download.content == inline.content


def test_an_xml_or_html_document_is_never_shown_inline(
    operator: ConsoleClient, book: Book, engine: Engine, settings: Settings
) -> None:
    from db.engine import session_scope
    from gateway.services.outbound.documents import document_store, store_document

    svg = b"<svg xmlns='http://www.w3.org/2000/svg'><script>1</script></svg>"
    files = [
        ("text/html", b"<script>alert(1)</script>", "x.html"),
        ("image/svg+xml", svg, "x.svg"),
        ("application/xml", b"<Invoice/>", "x.xml"),
    ]
    with session_scope(engine) as session:
        store = document_store(settings)
        made = {
            media_type: store_document(
                session, store, tenant_id="acme", data=data, media_type=media_type, filename=name, kind="sent"
            ).id
            for media_type, data, name in files
        }
    for media_type, document_id in made.items():
        answer = operator.get(f"/console/documents/{document_id}")
        assert answer.status_code == 200
        assert answer.headers["content-disposition"].startswith("attachment;"), media_type
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_a_viewer_reads_the_same_pages(viewer: ConsoleClient, book: Book) -> None:
    assert viewer.get("/console/invoices", params={"q": "vestkyst"}).status_code == 200
    assert viewer.get(f"/console/invoices/{book.busy_id}").status_code == 200


def test_signed_out_the_search_asks_to_sign_in(web: TestClient) -> None:
    answer = web.get("/console/invoices?q=INV-1", follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/login?next=/console/invoices%3Fq%3DINV-1"


def test_the_actions_partial_is_included_with_the_invoice_in_its_context(
    operator: ConsoleClient, book: Book, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`invoice/actions.html` (the invoice actions' own partial) is placed near the header and sees the
    invoice's id, number, deliveries and PODs."""
    from jinja2 import ChoiceLoader, DictLoader

    from gateway.console.templating import ENVIRONMENT

    partial = "ACTIONS {{ invoice_id }} {{ invoice_number }} {{ deliveries | length }} {{ pods | length }}"
    monkeypatch.setattr(
        ENVIRONMENT,
        "loader",
        ChoiceLoader([DictLoader({"invoice/actions.html": partial}), ENVIRONMENT.loader]),
    )
    monkeypatch.setattr(ENVIRONMENT, "cache", None)  # its absence may be remembered
    html = operator.get(f"/console/invoices/{book.busy_id}").text
    assert f"ACTIONS {book.busy_id} INV-000001 2 1" in html
    assert html.index("ACTIONS") < html.index('id="deliveries"')
