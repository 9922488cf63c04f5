"""The HTTP API: thin routes over the services in `gateway.services`, one router per resource.

Bodies are read as bytes and parsed with exact decimals (never through float), bounded in size; every
malformed input is answered with a 4xx whose `errors` name the field and the reason, in one envelope with
the request's id (`gateway.api.errors`). What every route would otherwise repeat is done here once: the
request checks (`deps.check_request`, `bodies.JsonBodyLimit`), the error handlers, and the OpenAPI
document's error answers and examples (`gateway.api.docs`, which also serves `/docs` offline).
A new route goes into its resource's module under `gateway/api/routes/`; a new resource is a new module
there and one line in `ROUTERS`.
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator

from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy import Engine

from gateway.api.bodies import JsonBodyLimit
from gateway.api.deps import check_request
from gateway.api.docs import install_docs, openapi_document
from gateway.api.errors import install_error_handlers
from gateway.api.observability import RequestMetrics
from gateway.api.parsing import ParsePool
from gateway.api.routes import (
    avtalegiro,
    bounces,
    card_payments,
    collection,
    customer_groups,
    customers,
    deliveries,
    deviations,
    disputes,
    documents,
    edi_messages,
    health,
    inbound,
    invoices,
    ledger,
    matching,
    metrics,
    payments,
    pods,
    portal_users,
    print_batches,
    promises,
    receivables,
    receivers,
    reminders,
    remittances,
    reports,
    statements,
    status_documents,
    tenant_settings,
    trading_partners,
    webhooks,
)
from gateway.console import install_console
from gateway.logging_setup import configure_logging
from gateway.portal import install_portal
from gateway.runtime import open_outbox
from gateway.services.metrics import registry
from gateway.settings import Settings

#: Every router, in the order its routes are matched and documented. A new resource is one line here.
ROUTERS: list[APIRouter] = [
    health.router,
    invoices.router,
    documents.router,
    deliveries.router,
    print_batches.router,
    avtalegiro.router,
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
    inbound.router,
    payments.router,
    matching.router,
    customer_groups.router,
    receivables.router,
    disputes.router,
    promises.router,
    reminders.router,
    customers.router,
    collection.router,
    statements.router,
    ledger.router,
    metrics.router,
    reports.router,
    portal_users.router,
    card_payments.router,
]


DESCRIPTION = """Push canonical invoices; follow their deliveries, deviations and events.

Every request needs a bearer token (`gateway token create`), except `GET /health`. Every answer carries an
`X-Request-ID` header (your own, if you send a sane one); every 4xx and 5xx answer has one shape,
`{"errors": [{"field", "reason", "rule"?}], "request_id"}`, where `field` names what to fix."""


def create_app(settings: Settings | None = None, engine: Engine | None = None) -> FastAPI:
    settings = settings or Settings()
    owns_engine = engine is None
    configure_logging(settings.log_level, settings.log_format)

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        yield
        app.state.parse_pool.shutdown()
        if owns_engine:
            app.state.engine.dispose()

    app = FastAPI(
        title="Invoice gateway",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
        separate_input_output_schemas=False,
        docs_url=None,
        redoc_url=None,
        dependencies=[Depends(check_request)],
    )
    app.state.settings = settings
    app.state.engine = engine or open_outbox(settings)
    app.state.metrics_registry = registry(app.state.engine, cache_seconds=settings.metrics_cache_seconds)
    app.state.parse_pool = ParsePool(settings.parse_workers)
    app.add_middleware(JsonBodyLimit)
    app.add_middleware(RequestMetrics)  # inside RequestIdMiddleware (below): its log line has the id
    install_error_handlers(app)
    for router in ROUTERS:
        app.include_router(router)
    install_console(app)
    install_portal(app)
    install_docs(app)
    app.openapi = lambda: openapi_document(app)  # type: ignore[method-assign]
    return app
