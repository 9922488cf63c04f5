"""Opening the outbox the way every entry point (API, worker, CLI, demo) does: hooks, engine, migrations."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from sqlalchemy import Engine

from db.engine import make_engine, migrate
from gateway.services import install_status_hooks
from gateway.settings import Settings


def open_outbox(settings: Settings, *, run_migrations: bool = True) -> Engine:
    """An engine on the configured outbox, with the gateway subscribed to its status changes."""
    install_status_hooks()
    engine = make_engine(settings.database)
    if run_migrations:
        migrate(engine)
    return engine


@contextlib.contextmanager
def outbox_engine(settings: Settings) -> Iterator[Engine]:
    """An open, migrated outbox for the length of one command; its connections closed after."""
    engine = open_outbox(settings)
    try:
        yield engine
    finally:
        engine.dispose()
