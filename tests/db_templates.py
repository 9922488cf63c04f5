"""Migrated test databases for the `engine` fixture without running Alembic once per test.

Running every migration (22 and counting) costs ~0.25 s on SQLite and ~0.4-1 s on PostgreSQL; some 1,600
tests take an `engine`, so that alone was many minutes of every CI run. Here the migrations run once per
session, for real, through `db.engine.migrate`, and each test gets the result:

- SQLite: the migrated file (its WAL checkpointed into the main file) is copied to the test's own path.
- PostgreSQL: every statement the migration sent to the server (DDL, data fixes, the `alembic_version` row) is
  recorded, and replayed in a fresh schema of the test's own, in one transaction; the schema search path pins
  every unqualified name to that schema, as it did when Alembic ran. A background thread keeps a couple of
  such schemas ready and drops the used ones, so the server's DDL work overlaps the tests instead of
  delaying each one.

Either way the test's database is what `migrate` makes of an empty one, and is its alone. The migrations
themselves are still tested by running Alembic: tests/db builds its own engines and schemas.
"""

from __future__ import annotations

import contextlib
import queue
import secrets
import shutil
import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import quote

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.engine.interfaces import ExecuteStyle
from sqlalchemy.pool import NullPool

from db.engine import make_engine, migrate


class SqliteTemplate:
    """One migrated SQLite file per session (made on first use), copied for each test."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._file: Path | None = None

    def migrated_engine(self, url: str) -> Engine:
        """An engine on `url`, a file-backed SQLite database, migrated to head."""
        database = make_url(url).database
        if not database or database == ":memory:" or Path(database).exists():
            engine = make_engine(url)  # nothing to copy onto (or something is there already): migrate it
            migrate(engine)
            return engine
        target = Path(database)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(self._template(), target)
        return make_engine(url)

    def _template(self) -> Path:
        if self._file is None:
            path = self.directory / "template.sqlite3"
            engine = make_engine(f"sqlite:///{path}")
            try:
                migrate(engine)
            finally:
                engine.dispose()
            with contextlib.closing(sqlite3.connect(path)) as connection:  # everything into the main file
                connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            self._file = path
        return self._file


@dataclass(frozen=True)
class _Statement:
    """One DBAPI call as SQLAlchemy made it: `cursor.executemany`, `cursor.execute` with or without parameters
    (the difference matters to psycopg: with parameters, `%%` in the text means `%`)."""

    sql: str
    parameters: Any
    style: Literal["many", "single", "no_parameters"]


#: Session-level advisory locks `migrate` takes around the migration: not part of the schema.
_NOT_REPLAYED = ("pg_advisory_lock", "pg_advisory_unlock")
#: How many migrated schemas are kept ready ahead of the tests.
_READY_AHEAD = 4


class PostgresSchemas:
    """Throw-away schemas in the test database: empty ones on demand, migrated ones made ahead by a thread.

    A schema's URL pins `search_path` to it. Used schemas are dropped by the same thread; `close` drops what
    is left (used, unused, and the template the migration was recorded in).
    """

    def __init__(self, url: str) -> None:
        self.url = url
        self._admin = create_engine(url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self._ready: queue.Queue[str | BaseException] = queue.Queue()
        self._to_drop: queue.Queue[str] = queue.Queue()
        self._wake = threading.Event()
        self._stop = False
        self._thread: threading.Thread | None = None
        self._migrated: set[str] = set()
        self._replay: list[_Statement] = []
        self._template: str | None = None

    def url_for(self, name: str) -> str:
        separator = "&" if "?" in self.url else "?"
        return f"{self.url}{separator}options={quote(f'-csearch_path={name}')}"

    def empty(self) -> str:
        """A new, empty schema (made now)."""
        name = f"t_{secrets.token_hex(6)}"
        with self._admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{name}"'))
        return name

    def migrated(self) -> str:
        """A new schema migrated to head (made ahead of time by the thread)."""
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="migrated-schemas", daemon=True)
            self._thread.start()
        ready = self._ready.get()
        self._wake.set()
        if isinstance(ready, BaseException):
            raise RuntimeError("could not prepare a migrated test schema") from ready
        self._migrated.add(self.url_for(ready))
        return ready

    def is_migrated(self, url: str) -> bool:
        return url in self._migrated

    def drop(self, name: str) -> None:
        """Drop the schema soon (in the background)."""
        self._to_drop.put(name)
        self._wake.set()

    def close(self) -> None:
        """Stop the thread and drop every schema made here that is still there."""
        if self._thread is not None:
            self._stop = True
            self._wake.set()
            self._thread.join()
        leftovers = [self._template] if self._template else []
        while not self._ready.empty():
            ready = self._ready.get()
            if isinstance(ready, str):
                leftovers.append(ready)
        while not self._to_drop.empty():
            leftovers.append(self._to_drop.get())
        for name in leftovers:
            self._drop_now(name)
        self._admin.dispose()

    def _drop_now(self, name: str) -> None:
        with self._admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))

    def _run(self) -> None:
        try:
            self._template = self.empty()
            self._replay = _batched(_record_migration(self.url_for(self._template)))
        except BaseException as error:
            self._ready.put(error)
            return
        while not self._stop:
            try:
                while not self._to_drop.empty():
                    self._drop_now(self._to_drop.get())
                if self._ready.qsize() < _READY_AHEAD:
                    self._ready.put(self._replayed())
                    continue
            except BaseException as error:
                self._ready.put(error)
                return
            self._wake.wait()
            self._wake.clear()

    def _replayed(self) -> str:
        name = self.empty()
        engine = create_engine(self.url_for(name), poolclass=NullPool)
        try:
            raw = engine.raw_connection()
            try:
                cursor = raw.cursor()
                for statement in self._replay:
                    if statement.style == "many":
                        cursor.executemany(statement.sql, statement.parameters)
                    elif statement.style == "single":
                        cursor.execute(statement.sql, statement.parameters)
                    else:
                        cursor.execute(statement.sql)
                cursor.close()
                raw.commit()
            finally:
                raw.close()
        finally:
            engine.dispose()
        return name


def _batched(statements: list[_Statement]) -> list[_Statement]:
    """The same calls, each run of plain ones (no parameters, no `%`: the DDL) joined into one script, so a
    replay is a handful of round trips rather than ~180; psycopg sends a parameterless script as is."""
    batched: list[_Statement] = []
    script: list[str] = []
    for statement in statements:
        if statement.style != "many" and not statement.parameters and "%" not in statement.sql:
            script.append(statement.sql)
            continue
        if script:
            batched.append(_Statement(";\n".join(script), None, "no_parameters"))
            script = []
        batched.append(statement)
    if script:
        batched.append(_Statement(";\n".join(script), None, "no_parameters"))
    return batched


def _record_migration(url: str) -> list[_Statement]:
    """Migrate the (empty) database at `url` with Alembic; return every statement it sent, in order."""
    statements: list[_Statement] = []

    def record(
        _connection: Any, _cursor: Any, sql: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        # Mirrors the branches of SQLAlchemy's Connection._exec_single_context / _exec_insertmany_context.
        if any(name in sql for name in _NOT_REPLAYED):
            return
        if executemany and context.execute_style is ExecuteStyle.EXECUTEMANY:
            statements.append(_Statement(sql, parameters, "many"))
        elif not executemany and not parameters and context.no_parameters:
            statements.append(_Statement(sql, parameters, "no_parameters"))
        else:
            statements.append(_Statement(sql, parameters, "single"))

    engine = make_engine(url)
    event.listen(engine, "before_cursor_execute", record)
    try:
        migrate(engine)
    finally:
        engine.dispose()
    return statements
