"""Extreme query values are a 4xx naming the parameter, never a 5xx (issue 18, defect 5).

Reproducers: `GET /deliveries?offset=99999999999999999999` (also `/deviations`, `/pods`) overflowed the
database's bigint; `since=0001-01-01T00:00:00+14:00` or `9999-12-31T23:59:59-23:59` raised OverflowError
when turned into UTC; `since=2026-01-01` (no zone) was a 500 on `/payments` and `/matching/report` while
`/deviations` read it as UTC. Now every integer parameter has bounds, every date-time is read as UTC
when it names no offset (a date alone is its midnight, UTC) and one outside the years 1–9999 in UTC is a
422 on `query.<name>`.
"""

from __future__ import annotations

import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.samples import sample_invoice_json
from tests.services.test_pods import make_pdf

Auth = dict[str, str]

INTEGERS = ["99999999999999999999", "-99999999999999999999", "9223372036854775808", "2147483648", "-1", "0"]
DATE_TIMES = [
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-23:59",
    "0001-01-01T00:00:00",
    "9999-12-31T23:59:59.999999",
    "2026-01-01",
    "2026-01-01T00:00:00",
    "0001-01-01",
    "9999-12-31",
    "99999-01-01",
]
DATES = ["0001-01-01", "9999-12-31", "2026-02-30", "10000-01-01"]
NUMBERS = ["1e400", "-1e400", "99999999999999999999999.99", "NaN", "Infinity"]


def _values(schema: dict[str, Any]) -> list[str]:
    options = schema.get("anyOf", [schema])
    values: list[str] = []
    for option in options:
        kind, shape = option.get("type"), option.get("format")
        if kind == "integer":
            values += INTEGERS
        elif kind == "string" and shape == "date-time":
            values += DATE_TIMES
        elif kind == "string" and shape == "date":
            values += DATES
        elif kind == "number" or (kind == "string" and option.get("pattern", "").startswith("^(?!^[-+.]*$)")):
            values += NUMBERS
    return values


def _query_parameters(spec: dict[str, Any]) -> list[tuple[str, str, list[str]]]:
    found = []
    for path, item in spec["paths"].items():
        for parameter in item.get("get", {}).get("parameters", []):
            if parameter["in"] == "query":
                values = _values(parameter.get("schema", {}))
                if values:
                    found.append((path, parameter["name"], values))
    return found


def test_every_integer_and_date_query_parameter_of_every_get_route_takes_extreme_values(
    client: TestClient, auth: Auth
) -> None:
    assert client.post("/invoices", json=sample_invoice_json(1), headers=auth).status_code == 201
    parameters = _query_parameters(client.app.openapi())  # type: ignore[attr-defined]
    names = {(path, name) for path, name, _ in parameters}
    # the reproducers' routes are among those walked
    assert {("/deliveries", "offset"), ("/deviations", "offset"), ("/pods", "offset")} <= names
    assert {("/payments", "since"), ("/matching/report", "since"), ("/invoices", "since")} <= names
    assert len(parameters) >= 20
    for path, name, values in parameters:
        url = re.sub(r"\{[^}]+\}", "x", path)
        for value in values:
            answer = client.get(url, params={name: value}, headers=auth)
            assert answer.status_code < 500, (path, name, value, answer.text)
            if answer.status_code == 422 and "{" not in path:
                fields = [error["field"] for error in answer.json()["errors"]]
                assert fields == [f"query.{name}"], (path, name, value, fields)


@pytest.mark.parametrize("path", ["/deviations", "/payments", "/matching/report", "/invoices"])
def test_a_date_without_a_zone_is_read_as_utc_everywhere(client: TestClient, auth: Auth, path: str) -> None:
    """`since=2026-01-01` (or a naive date-time) is midnight UTC on every route that takes `since`."""
    for value in ("2026-01-01", "2026-01-01T00:00:00", "2026-01-01T00:00:00Z"):
        answer = client.get(path, params={"since": value}, headers=auth)
        assert answer.status_code == 200, (path, value, answer.text)


@pytest.mark.parametrize("value", ["0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-23:59"])
def test_a_moment_outside_the_years_1_to_9999_in_utc_is_a_422_naming_since(
    client: TestClient, auth: Auth, value: str
) -> None:
    answer = client.get("/deviations", params={"since": value}, headers=auth)
    assert answer.status_code == 422
    [error] = answer.json()["errors"]
    assert error["field"] == "query.since" and "UTC" in error["reason"]


@pytest.mark.parametrize("path", ["/deliveries", "/deviations", "/pods"])
def test_an_offset_beyond_its_bound_is_a_422_naming_offset(client: TestClient, auth: Auth, path: str) -> None:
    answer = client.get(path, params={"offset": "99999999999999999999"}, headers=auth)
    assert answer.status_code == 422
    assert [error["field"] for error in answer.json()["errors"]] == ["query.offset"]


def test_a_pod_signed_outside_the_years_1_to_9999_in_utc_is_a_422(client: TestClient, auth: Auth) -> None:
    """`POST /pods?signed_at=0001-01-01T00:00:00+14:00` was stored as a moment no UTC column holds."""
    answer = client.post(
        "/pods",
        params={"signed_at": "0001-01-01T00:00:00+14:00", "filename": "pod.pdf"},
        content=make_pdf(),
        headers={**auth, "Content-Type": "application/pdf"},
    )
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["field"] == "signed_at" and "UTC" in error["reason"]


def test_a_nul_character_in_a_query_path_or_json_string_is_a_422_naming_where(
    client: TestClient, auth: Auth
) -> None:
    """Reproducer (schemathesis on PostgreSQL): `GET /matching/report?file_id=a%00b` and
    `POST /pods/x/links {"invoice_id": "a\\u0000"}` were 500s there ("PostgreSQL text fields cannot
    contain NUL (0x00) bytes"); SQLite took them."""
    query = client.get("/matching/report", params={"file_id": "a\x00b"}, headers=auth)
    assert query.status_code == 422
    assert [e["field"] for e in query.json()["errors"]] == ["query.file_id"]
    path = client.get("/payments/a%00b", headers=auth)
    assert path.status_code == 422 and path.json()["errors"][0]["field"] == "path.payment_id"
    body = client.post("/pods/x/links", json={"invoice_id": "a\x00"}, headers=auth)
    assert body.status_code == 422 and body.json()["errors"][0]["field"] == "body"
    escaped = client.post(
        "/pods/x/links",
        content=b'{"invoice_id": "a\\\\u0000"}',
        headers={**auth, "Content-Type": "application/json"},
    )
    assert escaped.status_code == 404  # a backslash and "u0000" as text: no NUL, just no such POD
