"""The HTTP API: thin routes over the services in `gateway.services`, one router per resource.

Bodies are read as bytes and parsed with exact decimals (never through float), bounded in size; every
malformed input is answered with a 4xx whose `errors` name the field and the reason (`gateway.api.errors`).
A new route goes into its resource's module under `gateway/api/routes/`; a new resource is a new module
there and one line in `ROUTERS`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from fastapi import APIRouter, Depends, FastAPI
from fastapi.openapi.utils import get_openapi
from sqlalchemy import Engine

from gateway.api.errors import install_error_handlers
from gateway.api.query_params import reject_unknown_query_params
from gateway.api.routes import (
    bounces,
    deliveries,
    deviations,
    documents,
    edi_messages,
    health,
    invoices,
    matching,
    payments,
    pods,
    print_batches,
    receivables,
    receivers,
    remittances,
    status_documents,
    tenant_settings,
    trading_partners,
    webhooks,
)
from gateway.runtime import open_outbox
from gateway.settings import Settings
from schemas.canonical import Invoice

#: Every router, in the order its routes are matched and documented. A new resource is one line here.
ROUTERS: list[APIRouter] = [
    health.router,
    invoices.router,
    documents.router,
    deliveries.router,
    print_batches.router,
    tenant_settings.router,
    status_documents.router,
    bounces.router,
    edi_messages.router,
    receivers.router,
    trading_partners.router,
    deviations.router,
    webhooks.router,
    pods.router,
    remittances.router,
    payments.router,
    matching.router,
    receivables.router,
]


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings()
    owns_engine = engine is None

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_engine:
            app.state.engine.dispose()

    app = FastAPI(
        title="Invoice gateway",
        version="0.1.0",
        description="Push canonical invoices; follow their deliveries, deviations and events.",
        lifespan=lifespan,
        separate_input_output_schemas=False,
        dependencies=[Depends(reject_unknown_query_params)],
    )
    app.state.settings = settings
    app.state.engine = engine or open_outbox(settings)
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    app.openapi = lambda: _openapi(app)  # type: ignore[method-assign]
    return app


def _openapi(app: FastAPI) -> dict[str, Any]:
    """The generated document plus the canonical invoice model, which the invoice routes read as raw
    bytes (for exact decimals) and so never declare as a parameter."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        separate_input_output_schemas=app.separate_input_output_schemas,
    )
    invoice_schema = Invoice.model_json_schema(ref_template="#/components/schemas/{model}")
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    components.update(invoice_schema.pop("$defs", {}))
    components["Invoice"] = invoice_schema
    app.openapi_schema = schema
    return schema
