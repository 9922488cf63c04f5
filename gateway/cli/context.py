"""One `gateway` run's shared state: the settings, read once, and the outbox, opened on first use.

The root callback puts a `CliContext` on the Typer context; every command takes it with `cli_context(ctx)`.
The engine is opened only when a command asks for it, so the dry runs (`render`, `inspect`, `schema`)
never touch a database. A caller may hand in its own settings (or a whole `CliContext`) as `obj`.

Settings that cannot be read end the command with what is wrong (exit 1), never a traceback; an outbox
whose schema is not current is refused (exit 1) rather than migrated behind the operator's back — only a
new, empty one is created (see `gateway.cli.checks`).
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import typer

from gateway.cli.common import fail, fails_on
from gateway.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session

    from gateway.services.outbound.documents import DocumentStore


class CliContext:
    """The settings and the (lazily opened) outbox of one command-line run."""

    def __init__(self, settings: Settings | None = None) -> None:
        self._settings = settings
        self._engine: Engine | None = None
        self._resources = contextlib.ExitStack()

    @property
    def settings(self) -> Settings:
        """Read from the environment (and `.env`) the first time a command needs them."""
        if self._settings is None:
            self._settings = read_settings()
        return self._settings

    @property
    def has_settings(self) -> bool:
        """Settings were handed in or already read (`gateway check` reads them itself, to report on them)."""
        return self._settings is not None

    @property
    def engine(self) -> Engine:
        """The outbox, its schema current; opened on first use and disposed when the run ends."""
        if self._engine is None:
            from gateway import runtime
            from gateway.cli.checks import SchemaNotCurrent, require_current_schema

            engine = runtime.open_outbox(self.settings, run_migrations=False)
            self._resources.callback(engine.dispose)
            with fails_on(SchemaNotCurrent, describe=lambda error: f"outbox: {error}"):
                require_current_schema(engine)
            self._engine = engine
        return self._engine

    @property
    def document_store(self) -> DocumentStore:
        """The configured document store (in the outbox's database when that is where it lives)."""
        from gateway.services.outbound.documents import document_store

        return document_store(self.settings, self.engine)

    @property
    def engine_opened(self) -> bool:
        return self._engine is not None

    def session(self) -> contextlib.AbstractContextManager[Session]:
        """One transaction on the outbox: committed when the block ends, rolled back on an error."""
        from db.engine import session_scope

        return session_scope(self.engine)

    def close(self) -> None:
        self._resources.close()
        self._engine = None


def read_settings() -> Settings:
    """The settings from the environment; a malformed one ends the command naming the variable (exit 1)."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from gateway.cli.checks import settings_findings

    try:
        return Settings()
    except (ValidationError, SettingsError) as error:
        problems = "; ".join(f"{f.check}: {f.detail}" for f in settings_findings(error))
        fail(f"the settings cannot be read: {problems}")


def attach_cli_context(ctx: typer.Context) -> CliContext:
    """Put the run's `CliContext` on `ctx` (keeping one, or the settings, a caller passed as `obj`)."""
    given = ctx.obj
    context = (
        given if isinstance(given, CliContext) else CliContext(given if isinstance(given, Settings) else None)
    )
    ctx.obj = context
    ctx.call_on_close(context.close)
    return context


def cli_context(ctx: typer.Context) -> CliContext:
    """The run's shared context; a command invoked without the root callback (a sub-app on its own) makes
    its own, closed when the command ends."""
    found = ctx.find_object(CliContext)
    return found if found is not None else attach_cli_context(ctx)
