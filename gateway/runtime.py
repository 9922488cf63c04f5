"""Opening the outbox the way every entry point (API, worker, CLI) does: engine, then migrations."""

from __future__ import annotations

from sqlalchemy import Engine

from gateway.settings import Settings
from outbox.db import make_engine, migrate


def open_outbox(settings: Settings, *, run_migrations: bool = True) -> Engine:
    engine = make_engine(settings.database)
    if run_migrations:
        migrate(engine)
    return engine
