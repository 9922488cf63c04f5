"""The OpenAPI document lists exactly the routes of the snapshot: none lost in a move, none added unseen.

`openapi_paths.json` (path → sorted methods) was taken before the routes moved into one router per
resource. A new route is added to the snapshot in the same change; a route that disappears fails here.
"""

from __future__ import annotations

import importlib
import json
import pkgutil
from pathlib import Path
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI
from sqlalchemy import create_engine

import gateway.api.routes
from gateway.api.app import ROUTERS, create_app
from gateway.settings import Settings

SNAPSHOT = Path(__file__).with_name("openapi_paths.json")
#: The routes that read a file as the raw body, and the media types their `requestBody` documents.
EDI = ["application/EDI-X12", "application/EDIFACT"]
RAW_BODIES = {
    ("post", "/responses"): ["application/xml"],
    ("post", "/bounces"): ["application/octet-stream", "message/rfc822"],
    ("post", "/edi"): [*EDI, "application/octet-stream"],
    ("post", "/pods"): [*EDI, "application/pdf", "image/jpeg", "image/png"],
    ("post", "/remittances"): [*EDI, "application/octet-stream", "application/xml", "text/plain"],
    ("post", "/reports/reconciliation"): ["application/octet-stream", "application/xml", "text/xml"],
    ("post", "/portal/providers/stripe/webhook"): ["application/json"],
    ("post", "/portal/providers/vipps/webhook"): ["application/json"],
    ("post", "/inbound"): [
        *EDI,
        *("application/octet-stream", "application/pdf", "application/xml", "image/jpeg", "image/png"),
        *("message/rfc822", "text/plain"),
    ],
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    data_dir = tmp_path_factory.mktemp("openapi")
    settings = Settings(database_url="sqlite://", data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    return create_app(settings, create_engine("sqlite://"))


@pytest.fixture(scope="module")
def spec(app: FastAPI) -> dict[str, Any]:
    return app.openapi()


def _operations(spec: dict[str, Any]) -> dict[str, list[str]]:
    return {path: sorted(method.upper() for method in item) for path, item in spec["paths"].items()}


def test_paths_and_methods_match_the_snapshot(spec: dict[str, Any]) -> None:
    expected: dict[str, list[str]] = json.loads(SNAPSHOT.read_text())
    found = _operations(spec)
    missing = {
        p: sorted(set(m) - set(found.get(p, [])))
        for p, m in expected.items()
        if set(m) - set(found.get(p, []))
    }
    added = {
        p: sorted(set(m) - set(expected.get(p, [])))
        for p, m in found.items()
        if set(m) - set(expected.get(p, []))
    }
    assert not missing, f"routes lost: {missing}"
    assert not added, f"routes added without updating {SNAPSHOT.name}: {added}"


def test_operation_ids_are_unique_and_every_operation_is_tagged(spec: dict[str, Any]) -> None:
    ids = [op["operationId"] for item in spec["paths"].values() for op in item.values()]
    assert len(ids) == len(set(ids))
    untagged = [
        op["operationId"] for item in spec["paths"].values() for op in item.values() if not op.get("tags")
    ]
    assert untagged == []


@pytest.mark.parametrize(("method", "path"), sorted(RAW_BODIES))
def test_raw_body_routes_document_their_file_types(spec: dict[str, Any], method: str, path: str) -> None:
    body = spec["paths"][path][method]["requestBody"]
    assert body["required"] is True
    assert sorted(body["content"]) == RAW_BODIES[(method, path)]
    assert all(
        media["schema"] == {"type": "string", "format": "binary"} for media in body["content"].values()
    )


def test_the_invoice_routes_document_the_canonical_invoice(spec: dict[str, Any]) -> None:
    single = spec["paths"]["/invoices"]["post"]["requestBody"]["content"]
    assert single["application/json"]["schema"] == {"$ref": "#/components/schemas/Invoice"}
    assert "application/xml" in single
    bulk = spec["paths"]["/invoices:bulk"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert bulk == {"type": "array", "items": {"$ref": "#/components/schemas/Invoice"}}
    assert "Invoice" in spec["components"]["schemas"]


def test_request_and_response_models_keep_one_name(spec: dict[str, Any]) -> None:
    """A model used both ways (tenant settings, receivers, partners) is one schema, not -Input / -Output."""
    names = spec["components"]["schemas"]
    assert not [name for name in names if name.endswith(("-Input", "-Output"))]
    settings_put = spec["paths"]["/settings"]["put"]
    assert settings_put["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/TenantSettings"
    }


def test_typed_routes_document_their_answer(spec: dict[str, Any]) -> None:
    """Routes that answer with a view name its model (no bare `{}` schema); those that answer a file say so
    (`gateway.api.docs.FILE_ANSWERS`)."""
    untyped = []
    for path, item in spec["paths"].items():
        for method, op in item.items():
            for code, response in op["responses"].items():
                schema = response.get("content", {}).get("application/json", {}).get("schema")
                if code.startswith("2") and method == "get" and schema == {}:
                    untyped.append(f"{method.upper()} {path}")
    assert sorted(untyped) == []


def test_every_router_module_is_included() -> None:
    """A router module under gateway/api/routes that is not in `ROUTERS` would serve nothing."""
    modules = [
        importlib.import_module(f"gateway.api.routes.{info.name}")
        for info in pkgutil.iter_modules(gateway.api.routes.__path__)
    ]
    routers = [module.router for module in modules if isinstance(getattr(module, "router", None), APIRouter)]
    assert len(routers) == len(modules)
    assert {id(router) for router in routers} == {id(router) for router in ROUTERS}
