"""Migration 0008 fills the search columns of invoices accepted before it, the way the intake writes them."""

from __future__ import annotations

import datetime as dt

import sqlalchemy as sa

from db.engine import make_engine, migrate, session_scope
from gateway.samples import sample_invoice
from gateway.services.outbound.search import InvoiceSearch, invoice_search_columns, search_invoices

_tenants = sa.table("tenants", sa.column("id"), sa.column("name"), sa.column("created_at"))
_COLUMNS_AT_0007 = (
    "id tenant_id idempotency_key payload_sha256 document_type number issue_date due_date currency "
    "payable_amount buyer_name payment_reference payload created_at payment_status"
)
_invoices = sa.table("invoices", *(sa.column(name) for name in _COLUMNS_AT_0007.split()))


def test_existing_invoices_are_found_after_the_migration(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, "0007")
        invoice = sample_invoice(3)
        invoice.buyer.name = "Tromsø Båtbyggeri AS"
        now = dt.datetime(2026, 11, 2, 12, 0)
        with engine.begin() as connection:
            connection.execute(sa.insert(_tenants).values(id="acme", name="acme", created_at=now))
            connection.execute(
                sa.insert(_invoices).values(
                    id="a" * 32,
                    tenant_id="acme",
                    idempotency_key="k",
                    payload_sha256="0" * 64,
                    document_type="invoice",
                    number=invoice.number,
                    issue_date=invoice.issue_date,
                    due_date=invoice.due_date,
                    currency="NOK",
                    payable_amount=str(invoice.totals.payable),
                    buyer_name=invoice.buyer.name,
                    payment_reference=invoice.kid,
                    payload=invoice.model_dump_json(exclude_none=True),
                    created_at=now,
                    payment_status="unpaid",
                )
            )
        migrate(engine)
        with session_scope(engine) as session:
            row = session.execute(sa.text("SELECT * FROM invoices")).mappings().one()
            assert {name: row[name] for name in invoice_search_columns(invoice)} == invoice_search_columns(
                invoice
            )
            assert row["buyer_search"] == "tromso batbyggeri as"
            for search in (
                InvoiceSearch(buyer="BÅTBYGGERI"),
                InvoiceSearch(buyer_id="910667831"),
                InvoiceSearch(amount=invoice.totals.payable),
                InvoiceSearch(q="tromso"),
            ):
                page = search_invoices(session, "acme", search)
                assert [item["id"] for item in page.items] == ["a" * 32], search
    finally:
        engine.dispose()
