"""The OpenAPI document is a contract a client can code against: this walks every operation and fails on
one that leaves something out.

Every operation documents its error answers in the one envelope, with an example: 422 and 500 always, 401
behind a token, 404 with an id in the path, 409 on a write, 400 / 413 / 415 where a body is read. Every
2xx names a model (or says it is a file). Every write that takes a body shows an example request, and
those examples are valid. A new route is held to this without anyone listing it here.
"""

from __future__ import annotations

from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy import create_engine

from gateway.api.app import create_app
from gateway.api.docs import MODEL_EXAMPLES, RAW_EXAMPLES, WRITE_METHODS
from gateway.api.errors import ErrorEnvelope
from gateway.settings import Settings

#: The operations without a token: load balancers ask the first; the payment providers' webhooks carry the
#: provider's signature instead (a wrong one is a 400).
PUBLIC = {
    ("get", "/health"),
    ("post", "/portal/providers/stripe/webhook"),
    ("post", "/portal/providers/vipps/webhook"),
}


@pytest.fixture(scope="module")
def spec(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    data_dir = tmp_path_factory.mktemp("contract")
    settings = Settings(database_url="sqlite://", data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    app: FastAPI = create_app(settings, create_engine("sqlite://"))
    return app.openapi()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, op) for path, item in spec["paths"].items() for method, op in item.items()]


def expected_errors(method: str, path: str, op: dict[str, Any]) -> set[str]:
    codes = {"422", "500"}
    if (method, path) not in PUBLIC:
        codes.add("401")
    if "{" in path:
        codes.add("404")
    if method in WRITE_METHODS:
        codes.add("409")
    if "requestBody" in op:
        codes |= {"400", "413", "415"}
    return codes


def test_there_is_something_to_walk(spec: dict[str, Any]) -> None:
    ops = operations(spec)
    assert len(ops) >= 40
    assert sum("requestBody" in op for _, _, op in ops) >= 20


def test_every_operation_documents_its_errors_in_the_envelope(spec: dict[str, Any]) -> None:
    missing: list[str] = []
    wrong: list[str] = []
    for method, path, op in operations(spec):
        responses = op["responses"]
        lacking = expected_errors(method, path, op) - set(responses)
        if lacking:
            missing.append(f"{method.upper()} {path}: {sorted(lacking)}")
        for code, response in responses.items():
            if int(code) < 400:
                continue
            media = response.get("content", {}).get("application/json", {})
            if (
                media.get("schema") != {"$ref": "#/components/schemas/ErrorEnvelope"}
                or not response["description"]
            ):
                wrong.append(f"{method.upper()} {path} {code}: {media.get('schema')}")
                continue
            example = ErrorEnvelope.model_validate(media["example"])  # every example is an envelope
            assert example.errors and example.request_id
    assert missing == []
    assert wrong == []


def test_the_envelope_schema_says_what_a_client_gets(spec: dict[str, Any]) -> None:
    envelope = spec["components"]["schemas"]["ErrorEnvelope"]
    assert set(envelope["required"]) == {"errors", "request_id"}
    item = spec["components"]["schemas"]["ErrorItem"]
    assert set(item["required"]) == {"field", "reason"}
    assert "rule" in item["properties"]
    # FastAPI's own error schemas are gone: nothing answers in them
    assert "HTTPValidationError" not in spec["components"]["schemas"]


def test_every_answer_carries_the_request_id_header(spec: dict[str, Any]) -> None:
    header = {"$ref": "#/components/headers/X-Request-ID"}
    lacking = [
        f"{method.upper()} {path} {code}"
        for method, path, op in operations(spec)
        for code, response in op["responses"].items()
        if response.get("headers", {}).get("X-Request-ID") != header
    ]
    assert lacking == []
    assert spec["components"]["headers"]["X-Request-ID"]["required"] is True


def test_every_answer_names_a_model_or_a_file(spec: dict[str, Any]) -> None:
    untyped = []
    for method, path, op in operations(spec):
        for code, response in op["responses"].items():
            if not code.startswith("2") or code == "204":
                continue
            content = response.get("content", {})
            json_schema = content.get("application/json", {}).get("schema")
            is_file = content.get("*/*", {}).get("schema", {}).get("format") == "binary"
            if not is_file and (not json_schema or json_schema == {"type": "object"}):
                untyped.append(f"{method.upper()} {path} {code}")
    assert untyped == []


def test_request_bodies_are_models_or_files(spec: dict[str, Any]) -> None:
    """No request body is a bare object: it names a component, or it is a file read raw."""
    loose = []
    for method, path, op in operations(spec):
        for media_type, media in op.get("requestBody", {}).get("content", {}).items():
            schema = media.get("schema", {})
            named = "$ref" in schema or any("$ref" in option for option in schema.get("anyOf", []))
            array_of_named = "$ref" in schema.get("items", {})
            raw = schema.get("type") == "string"
            if not (named or array_of_named or raw):
                loose.append(f"{method.upper()} {path} {media_type}: {schema}")
    assert loose == []


def test_every_write_with_a_body_shows_an_example_request(spec: dict[str, Any]) -> None:
    lacking = [
        f"{method.upper()} {path}"
        for method, path, op in operations(spec)
        if method in WRITE_METHODS
        and "requestBody" in op
        and not any(
            "example" in media or "examples" in media for media in op["requestBody"]["content"].values()
        )
    ]
    assert lacking == []


@pytest.mark.parametrize("model", list(MODEL_EXAMPLES), ids=lambda model: model.__name__)
def test_model_examples_are_valid_requests(model: Any) -> None:
    model.model_validate(MODEL_EXAMPLES[model])


def test_raw_examples_are_documented_media_types(spec: dict[str, Any]) -> None:
    for (method, path), (media_type, example) in RAW_EXAMPLES.items():
        content = spec["paths"][path][method]["requestBody"]["content"]
        assert content[media_type]["example"] == example
