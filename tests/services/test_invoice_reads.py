"""The services behind the console's invoice pages: a search typed into a form, the invoice's dossier (one
timeline, the documents as sent), who an actor is, and how a stored document is handed back."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import StoredDocument
from gateway.services.downloads import document_headers
from gateway.services.outbound.documents import document_store
from gateway.services.outbound.invoice_dossier import describe_actor, invoice_dossier
from gateway.services.outbound.lookup import find_invoice
from gateway.services.outbound.search import InvalidSearch, search_from_form
from gateway.settings import Settings
from tests.console.invoice_scenario import invoice_book


def test_a_form_search_reads_amounts_as_written_and_lists_repeated_fields() -> None:
    search = search_from_form(
        [
            ("q", "  Fjordbyen "),
            ("amount_min", "1 250,50"),
            ("amount_max", ""),
            ("status", "failed"),
            ("status", "deviation"),
            ("due_from", "2026-11-01"),
            ("cursor", "not a filter"),
            ("sort", "-amount"),
        ]
    )
    assert search.q == "Fjordbyen"
    assert search.amount_min == Decimal("1250.50") and search.amount_max is None
    assert [status.value for status in search.status] == ["failed", "deviation"]
    assert search.due_from == dt.date(2026, 11, 1)
    assert search.sort == "-amount"


@pytest.mark.parametrize(
    ("values", "field", "words"),
    [
        ([("issued_to", "02.11.2026")], "issued_to", "is not a date: write it as YYYY-MM-DD"),
        ([("amount", "12.345")], "amount", "is not an amount"),
        ([("payment_status", "settled")], "payment_status", "'settled' is not one of the choices"),
        ([("sort", "buyer")], "sort", "is not one of the choices"),
    ],
)
def test_a_form_search_names_the_wrong_field(values: list[tuple[str, str]], field: str, words: str) -> None:
    with pytest.raises(InvalidSearch) as raised:
        search_from_form(values)
    assert raised.value.field == field
    assert words in raised.value.reason


def test_actors_are_named_as_a_person_reads_them() -> None:
    assert (describe_actor("api:erp").kind, describe_actor("api:erp").name) == ("api", "erp")
    assert describe_actor("console:ops@acme.example").name == "ops@acme.example"
    assert describe_actor("cli:kari").kind == "cli"
    assert describe_actor("system").kind == "system"
    assert describe_actor("vm:123:abc").kind == "worker"


@pytest.mark.parametrize(
    ("media_type", "inline", "disposition"),
    [
        ("application/pdf", True, "inline"),
        ("application/pdf", False, "attachment"),
        ("image/png", True, "inline"),
        ("text/html", True, "attachment"),
        ("image/svg+xml", True, "attachment"),
        ("application/xml", True, "attachment"),
        ("text/html; charset=utf-8\r\nX-Evil: 1", True, "attachment"),
    ],
)
def test_a_document_is_inline_only_when_its_type_runs_nothing(
    media_type: str, inline: bool, disposition: str
) -> None:
    document = StoredDocument(
        id="d" * 32, tenant_id="acme", sha256="0" * 64, size=1, media_type=media_type,
        filename='in"voice\n.pdf', kind="sent", storage_key="x",
    )  # fmt: skip
    served_as, headers = document_headers(document, inline=inline)
    assert headers["Content-Disposition"].startswith(f'{disposition}; filename="in_voice.pdf"')
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert "\n" not in served_as and "\r" not in served_as


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_the_dossier_tells_one_story_oldest_first(
    client: TestClient, engine: Engine, settings: Settings
) -> None:
    book = invoice_book(client, engine, settings)
    with session_scope(engine) as session:
        record = find_invoice(session, "acme", book.busy_number)
        dossier = invoice_dossier(session, "acme", record, store=document_store(settings))
        with pytest.raises(LookupError):
            invoice_dossier(session, "globex", record)
    times = [entry["at"] for entry in dossier.timeline]
    assert times == sorted(times)
    assert {entry["channel"] for entry in dossier.timeline} == {"email", "folder"}
    assert dossier.timeline[0]["actor"].kind == "api" and dossier.timeline[0]["to"] == "queued"
    [pdf] = [document for document in dossier.documents if document.is_pdf]
    assert [use["attempt"] for use in pdf.sent] == [1, 2]  # the resend handed over the same bytes
    assert dossier.facts["payable"] == Decimal(dossier.record.payable_amount)
    assert (
        dossier.facts["open_amount"] == dossier.facts["payable"] - dossier.payment["allocations"][0]["amount"]
    )
    assert [pod["signer_name"] for pod in dossier.pods] == ["Ola Hansen"]
    notes = [note for entry in dossier.timeline for note in entry["notes"]]
    assert "with ehf" in notes and not any("None" in note or "False" in note for note in notes)


def test_the_page_shows_the_invoices_own_pdf_before_a_pod_sent_with_it() -> None:
    from gateway.services.outbound.invoice_dossier import InvoiceDossier, SentDocument

    def pdf(name: str, role: str) -> SentDocument:
        return SentDocument(
            id=name, filename=name, media_type="application/pdf", size=1, sha256="0", kind="sent",
            created_at=dt.datetime.now(dt.UTC),
            sent=[{"channel": "email", "attempt": 1, "at": None, "role": role}],
        )  # fmt: skip

    pod, own = pdf("pod.pdf", "attachment"), pdf("INV-1.pdf", "invoice")
    dossier = InvoiceDossier(None, {}, [], [], [pod, own], [], {})  # type: ignore[arg-type]
    assert dossier.shown_pdf is own
    assert InvoiceDossier(None, {}, [], [], [pod], [], {}).shown_pdf is pod  # type: ignore[arg-type]
    assert InvoiceDossier(None, {}, [], [], [], [], {}).shown_pdf is None  # type: ignore[arg-type]
