"""Shared fixtures: a real outbox on SQLite and on PostgreSQL, a settings object, an API client.

Every database test runs on both stores. PostgreSQL tests use a fresh schema per test (dropped after it) in
the database of `GATEWAY_TEST_POSTGRES_URL` (default: the `test` database on 127.0.0.1:5432, trust auth),
so two runs can share one server; if that server is unreachable the tests fail rather than skip, unless
`GATEWAY_TEST_DATABASES` leaves PostgreSQL out on purpose.

The real samples and the official validation artefacts are read from `GATEWAY_SHARED_DIR` (default:
`../shared` next to this checkout): every test that needs them takes the path from `SHARED` here. The
first lines of a test run say which database and which folder were used.
"""

from __future__ import annotations

import gc
import logging
import os
import secrets
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url

from db.engine import make_engine, migrate, session_scope
from gateway.api.app import create_app
from gateway.logging_setup import remove_logging
from gateway.services.tenancy.tenants import create_token
from gateway.settings import Settings
from tests import log_audit
from tests.db_templates import PostgresSchemas, SqliteTemplate

#: The stand-in Digipost's fixtures (`keys`, `stand_in_server`, `stand_in`) for the tests that talk to it.
pytest_plugins = ["tests.digipost_fixtures"]

POSTGRES_URL = os.environ.get(
    "GATEWAY_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"
)
DATABASES = [
    name.strip() for name in os.environ.get("GATEWAY_TEST_DATABASES", "sqlite,postgresql").split(",")
]


def shared_dir(environ: Mapping[str, str] = os.environ) -> Path:
    """The shared samples and validation artefacts: `GATEWAY_SHARED_DIR`, else `../shared`."""
    given = environ.get("GATEWAY_SHARED_DIR")
    return (
        Path(given).expanduser().resolve() if given else Path(__file__).resolve().parents[1].parent / "shared"
    )


SHARED = shared_dir()


def pytest_addoption(parser: pytest.Parser) -> None:
    log_audit.addoption(parser)


def pytest_configure(config: pytest.Config) -> None:
    log_audit.configure(config)  # every log line of the run, rendered as in production, then scanned


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The code-quality checks (tests/acceptance/test_quality.py) run last, and their checker processes
    start now: mypy's minutes on a cold cache overlap the rest of the suite instead of adding to it."""
    quality = [item for item in items if item.nodeid.startswith("tests/acceptance/test_quality.py::")]
    if quality:
        from tests.acceptance.test_quality import start_checks

        items[:] = [item for item in items if item not in quality] + quality
        start_checks([item.name for item in quality])


def pytest_runtest_logstart(nodeid: str) -> None:
    log_audit.test_started(nodeid)


def pytest_runtest_logfinish() -> None:
    log_audit.test_finished()


def pytest_sessionfinish(session: pytest.Session) -> None:
    if "tests.acceptance.test_quality" in sys.modules:
        sys.modules["tests.acceptance.test_quality"].stop_checks()
    log_audit.session_finished(session)


@pytest.hookimpl(trylast=True)
def pytest_unconfigure(config: pytest.Config) -> None:
    """The run is over and reported: the heap it built (gigabytes by the end of the whole suite) is frozen,
    so the interpreter's collections at exit skip it instead of walking it (a CI run spent minutes in
    `gc_collect_main` after its last line)."""
    gc.freeze()


def pytest_terminal_summary(terminalreporter: Any) -> None:
    log_audit.summary(terminalreporter)


def pytest_report_header() -> list[str]:
    postgres = make_url(POSTGRES_URL).render_as_string(hide_password=True)
    shared = f"{SHARED}" + ("" if SHARED.is_dir() else " (missing: set GATEWAY_SHARED_DIR)")
    return [
        f"gateway: databases {', '.join(DATABASES)}; PostgreSQL {postgres} (GATEWAY_TEST_POSTGRES_URL)",
        f"gateway: shared samples {shared} (GATEWAY_SHARED_DIR)",
    ]


class PostgresSchema:
    """A throw-away schema in the test database; its URL pins `search_path` to it."""

    def __init__(self) -> None:
        self.name = f"t_{secrets.token_hex(6)}"
        self.admin = create_engine(POSTGRES_URL, isolation_level="AUTOCOMMIT")
        with self.admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{self.name}"'))
        separator = "&" if "?" in POSTGRES_URL else "?"
        self.url = f"{POSTGRES_URL}{separator}options={quote(f'-csearch_path={self.name}')}"

    def drop(self) -> None:
        with self.admin.connect() as connection:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{self.name}" CASCADE'))
        self.admin.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> SqliteTemplate:
    """The migrated SQLite file the `engine` fixture copies (migrated once per run, on first use)."""
    return SqliteTemplate(tmp_path_factory.mktemp("sqlite_template"))


@pytest.fixture(scope="session")
def postgres_schemas() -> Iterator[PostgresSchemas]:
    """Per-test PostgreSQL schemas; migrated ones (for the `engine` fixture) are made ahead by a thread."""
    schemas = PostgresSchemas(POSTGRES_URL)
    yield schemas
    schemas.close()


@pytest.fixture(params=DATABASES)
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The test's own database. A test that takes `engine` gets it migrated already (tests/db_templates.py);
    one that takes only the URL gets an empty one."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'outbox.sqlite3'}"
    elif request.param == "postgresql":
        schemas: PostgresSchemas = request.getfixturevalue("postgres_schemas")
        name = schemas.migrated() if "engine" in request.fixturenames else schemas.empty()
        try:
            yield schemas.url_for(name)
        finally:
            schemas.drop(name)
    else:  # pragma: no cover
        raise ValueError(f"unknown test database {request.param}")


@pytest.fixture
def engine(database_url: str, request: pytest.FixtureRequest) -> Iterator[Engine]:
    """An engine on the test's database, migrated to head: a copy of what `migrate` made once per run."""
    if database_url.startswith("sqlite"):
        engine = request.getfixturevalue("sqlite_template").migrated_engine(database_url)
    elif request.getfixturevalue("postgres_schemas").is_migrated(database_url):
        engine = make_engine(database_url)
    else:  # `engine` taken by getfixturevalue, after an empty schema was made: migrate it here
        engine = make_engine(database_url)
        migrate(engine)
    yield engine
    engine.dispose()


@pytest.fixture
def settings(database_url: str, tmp_path: Path) -> Settings:
    return Settings(
        database_url=database_url,
        data_dir=tmp_path / "data",
        lease_seconds=30,
        poll_seconds=0.05,
        parse_workers=0,  # uploads parse in a thread: a process pool per test app would cost a spawn each
        _env_file=None,  # type: ignore[call-arg]
    )


@pytest.fixture
def outbound_dir(settings: Settings) -> Path:
    return settings.data_dir / "outbound"


@pytest.fixture
def client(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    app = create_app(settings, engine)
    with TestClient(app) as test_client:
        yield test_client


def make_token(engine: Engine, tenant: str, name: str = "erp") -> str:
    with session_scope(engine) as session:
        return create_token(session, tenant, name)


@pytest.fixture
def token_for(engine: Engine) -> Any:
    """Make a bearer header for another tenant: `token_for("globex")`."""

    def make(tenant: str, name: str = "erp") -> dict[str, str]:
        return {"Authorization": f"Bearer {make_token(engine, tenant, name)}"}

    return make


@pytest.fixture
def token(engine: Engine) -> str:
    return make_token(engine, "acme")


@pytest.fixture
def auth(token: str) -> dict[str, Any]:
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture(scope="session")
def s3_server() -> Iterator[Any]:
    """A real S3-protocol server (moto's server mode) on a free loopback port, one per run; a test takes
    a bucket of its own (`s3_server.new_bucket()`). Imported here lazily: most runs need no S3."""
    from tests.document_stores import running_s3_server

    yield from running_s3_server()


@pytest.fixture(scope="session")
def parse_pool_for_tests() -> Iterator[Any]:
    """One real parse pool (one process) for the tests that check uploads parse in it (`RecordingPool`):
    spawned on first use, once per run, ended with the run."""
    from tests.parse_pools import RecordingPool

    pool = RecordingPool()
    yield pool
    pool.close()


@pytest.fixture(autouse=True)
def _logging_as_it_was() -> Iterator[None]:
    """`create_app` sets up the process's logging (a handler on the root logger, its level): undone after
    each test, so a later test's captured output (a CLI's stderr) holds no lines logged for this one."""
    root = logging.getLogger()
    level = root.level
    yield
    remove_logging()
    root.setLevel(level)
