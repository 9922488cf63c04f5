"""schemathesis against the real app: no 5xx, and every answer as the OpenAPI document describes it.

Every operation of the document (the whole API: the console's pages are not in it) gets its documented
examples and a bounded number of generated requests (valid by the document, so they reach the routes),
with a token, on a throw-away outbox on SQLite and on PostgreSQL. The checks are those
that hold a server to its own document: never a 5xx; only documented statuses, content types and headers
(`X-Request-ID` on every answer); bodies that match the documented schema — the error envelope included.
Files are sent raw, as the file routes read them.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from fastapi import FastAPI
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from sqlalchemy import create_engine

from db.engine import make_engine, migrate
from gateway.api.app import create_app
from gateway.settings import Settings
from tests.conftest import DATABASES, PostgresSchema, make_token

#: Generated requests per operation besides its examples: ~40 operations × this stays well under a minute.
EXAMPLES_PER_OPERATION = 8
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
]
# The file routes read their body raw: send schemathesis' bytes as they are.
schemathesis.serializer.alias(
    ["application/EDIFACT", "application/EDI-X12", "message/rfc822", "application/pdf", "image/jpeg",
     "image/png"],
    "application/octet-stream",
)  # fmt: skip


@pytest.fixture(scope="module", params=DATABASES)
def api(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[FastAPI, str]]:
    """The app on a throw-away outbox of each test database: PostgreSQL refuses what SQLite takes (a NUL
    character in a text was a 500 there only)."""
    data_dir: Path = tmp_path_factory.mktemp("schemathesis")
    schema = PostgresSchema() if request.param == "postgresql" else None
    url = schema.url if schema else f"sqlite:///{data_dir / 'outbox.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    app_settings = Settings(database_url=url, data_dir=data_dir / "data", _env_file=None)  # type: ignore[call-arg]
    yield create_app(app_settings, engine), make_token(engine, "acme")
    engine.dispose()
    if schema is not None:
        schema.drop()


def _document_only_app() -> FastAPI:
    """An app to read the document from at collection time (it never touches its in-memory database);
    the requests go to the `api` fixture's app, which has a migrated outbox and a token."""
    document_settings = Settings(database_url="sqlite://", _env_file=None)  # type: ignore[call-arg]
    return create_app(document_settings, create_engine("sqlite://"))


#: schemathesis' coverage phase tries every boundary of every schema: for the canonical invoice (hundreds
#: of fields, in `/invoices` and `/invoices:bulk`) that is thousands of requests, so those two get their
#: examples and the generated ones only.
CONFIG = schemathesis.Config.from_dict(
    {
        "operations": [
            {"include-path-regex": "^/invoices(:bulk)?$", "phases": {"coverage": {"enabled": False}}}
        ]
    }
)
schema = schemathesis.openapi.from_asgi("/openapi.json", _document_only_app(), config=CONFIG)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    deadline=None,
    derandomize=True,
    database=None,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_every_operation_keeps_to_its_document(case: Any, api: tuple[FastAPI, str]) -> None:
    app, token = api
    case.call_and_validate(headers={"Authorization": f"Bearer {token}"}, checks=CHECKS, app=app)
