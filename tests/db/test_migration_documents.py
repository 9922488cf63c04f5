"""Migration 0008 (deliveries carry documents other than invoices) on a database that holds deliveries.

SQLite rebuilds `deliveries` to let `invoice_id` be empty while events, deviations and batch items point
at it; the rows must come through both ways, on both databases.
"""

from __future__ import annotations

from sqlalchemy import Engine, text

from db.engine import downgrade, make_engine, migrate

NOW = "2026-11-25 12:00:00"


def _rows(engine: Engine, query: str) -> list[tuple[object, ...]]:
    with engine.connect() as connection:
        return [tuple(row) for row in connection.execute(text(query))]


def _run(engine: Engine, *statements: str) -> None:
    with engine.begin() as connection:
        for statement in statements:
            connection.execute(text(statement))


def test_deliveries_and_their_history_survive_both_ways(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine, "0007")
        _run(
            engine,
            f"INSERT INTO tenants (id, name, created_at) VALUES ('acme', 'acme', '{NOW}')",
            "INSERT INTO invoices (id, tenant_id, idempotency_key, payload_sha256, document_type, number, "
            "issue_date, currency, payable_amount, buyer_name, payload, created_at, payment_status) VALUES "
            f"('i1', 'acme', 'k1', 'x', 'invoice', 'INV-1', '2026-11-25', 'NOK', '10.00', 'B', '{{}}', "
            f"'{NOW}', 'unpaid')",
            "INSERT INTO deliveries (id, invoice_id, tenant_id, channel, chain_position, status, attempt, "
            f"tries, next_attempt_at, created_at, updated_at) VALUES ('d1', 'i1', 'acme', 'edi', 0, "
            f"'deviation', 1, 1, '{NOW}', '{NOW}', '{NOW}')",
            "INSERT INTO delivery_events (delivery_id, invoice_id, tenant_id, at, attempt, to_status, actor) "
            f"VALUES ('d1', 'i1', 'acme', '{NOW}', 1, 'deviation', 'w')",
            "INSERT INTO deviations (id, tenant_id, delivery_id, invoice_id, attempt, channel, cause, "
            f"opened_at) VALUES ('v1', 'acme', 'd1', 'i1', 1, 'edi', 'rejected', '{NOW}')",
        )
        migrate(engine)
        kinds = _rows(engine, "SELECT id, invoice_id, document_kind FROM deliveries")
        assert kinds == [("d1", "i1", "invoice")]
        assert _rows(engine, "SELECT delivery_id, invoice_id FROM delivery_events") == [("d1", "i1")]
        assert _rows(engine, "SELECT id, invoice_id FROM deviations") == [("v1", "i1")]

        _run(  # an acknowledgement of ours, queued as a delivery with its history
            engine,
            "INSERT INTO deliveries (id, invoice_id, document_kind, tenant_id, channel, chain_position, "
            "status, attempt, tries, next_attempt_at, created_at, updated_at) VALUES ('d2', NULL, "
            f"'edi-ack', 'acme', 'edi', 0, 'queued', 1, 0, '{NOW}', '{NOW}', '{NOW}')",
            "INSERT INTO delivery_events (delivery_id, invoice_id, tenant_id, at, attempt, to_status, actor) "
            f"VALUES ('d2', NULL, 'acme', '{NOW}', 1, 'queued', 'w')",
            "INSERT INTO edi_interchanges (id, tenant_id, partner_id, direction, standard, message_type, "
            "interchange_ref, message_refs, delivery_id, attempt, created_at, updated_at) VALUES ('e2', "
            f"'acme', 'ica', 'out', 'edifact', 'CONTRL', '1', '[\"1\"]', 'd2', 1, '{NOW}', '{NOW}')",
        )
        downgrade(engine, "0007")
        assert _rows(engine, "SELECT id, invoice_id FROM deliveries") == [("d1", "i1")]
        assert _rows(engine, "SELECT delivery_id FROM delivery_events") == [("d1",)]
        assert _rows(engine, "SELECT id FROM deviations") == [("v1",)]
        assert _rows(engine, "SELECT id, delivery_id FROM edi_interchanges") == [("e2", None)]
        migrate(engine)
        assert _rows(engine, "SELECT id, document_kind FROM deliveries") == [("d1", "invoice")]
    finally:
        engine.dispose()
