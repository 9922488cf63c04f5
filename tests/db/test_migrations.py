"""Alembic migrations are the schema: they match the models and go both ways on both databases."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Engine, inspect
from sqlmodel import SQLModel

import db.models  # noqa: F401
from db.engine import downgrade, make_engine, migrate


def test_migrated_schema_matches_the_models(engine: Engine) -> None:
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        differences = compare_metadata(context, SQLModel.metadata)
    assert differences == []


def test_migrations_go_down_and_up_again(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        migrate(engine)
        downgrade(engine, "base")
        assert set(inspect(engine).get_table_names()) <= {"alembic_version"}
        migrate(engine)
        migrate(engine)  # idempotent
        assert {"invoices", "deliveries", "delivery_events", "api_tokens", "tenants", "receivers"} <= set(
            inspect(engine).get_table_names()
        )
    finally:
        engine.dispose()
