"""One `gateway` run's shared state: the settings, read once, and the outbox, opened on first use.

The root callback puts a `CliContext` on the Typer context; every command takes it with `cli_context(ctx)`.
The engine is opened only when a command asks for it, so the dry runs (`render`, `inspect`, `schema`)
never touch a database. A caller may hand in its own settings (or a whole `CliContext`) as `obj`.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING

import typer

from gateway.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine
    from sqlmodel import Session


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
            self._settings = Settings()
        return self._settings

    @property
    def engine(self) -> Engine:
        """The migrated outbox; opened on first use and disposed when the run ends."""
        if self._engine is None:
            from gateway.runtime import outbox_engine

            self._engine = self._resources.enter_context(outbox_engine(self.settings))
        return self._engine

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
