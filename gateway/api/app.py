"""The HTTP API: thin routes over the services in `gateway.services`.

Bodies are read as bytes and parsed with exact decimals (never through float), bounded in size; every
malformed input is answered with a 4xx whose `errors` name the field and the reason.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import AsyncIterator
from decimal import Decimal
from typing import Annotated, Any

from fastapi import FastAPI, Header, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, text
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from db.engine import session_scope
from db.models import Batch
from gateway.api.deps import EngineDep, IdentityDep, SessionDep, SettingsDep
from gateway.runtime import open_outbox
from gateway.samples import sample_invoice_json
from gateway.services.outbound import batches as batch_service
from gateway.services.outbound import deliveries as delivery_service
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import put_receiver, put_tenant_settings, tenant_settings
from gateway.settings import Settings
from mappings.base import FormatError
from mappings.invoice.canonical_json import InvoiceValidationError, loads_exact
from outbox.queue import StaleStatus
from outbox.states import DeliveryStatus, IllegalTransition
from schemas.canonical import Invoice, ReceiverProfile
from schemas.edi_partner import TradingPartner
from schemas.tenant import TenantSettings

_EXAMPLE = sample_invoice_json(1)
_INVOICE_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {"schema": {"$ref": "#/components/schemas/Invoice"}, "example": _EXAMPLE},
            "application/xml": {
                "schema": {"type": "string", "description": "EHF 3.0 / PEPPOL BIS 3 UBL Invoice"}
            },
        },
    }
}
_BULK_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "array", "items": {"$ref": "#/components/schemas/Invoice"}},
                "example": [_EXAMPLE, sample_invoice_json(2)],
            }
        },
    }
}


class ResendRequest(BaseModel):
    reason: str | None = Field(None, max_length=1000, examples=["customer says the invoice never arrived"])
    channel: str | None = Field(None, max_length=50, description="another channel (a new delivery)")
    address: str | None = Field(None, max_length=500, description="another address on the channel")


class InvoiceResendRequest(BaseModel):
    reason: str | None = Field(None, max_length=1000, examples=["customer says the goods never arrived"])
    with_pod: bool = Field(False, description="send the invoice's linked proofs of delivery with it")
    channel: str | None = Field(None, max_length=50, description="another channel (a new delivery)")
    to: str | None = Field(None, max_length=500, description="another address on the channel")


class CorrectionRequest(BaseModel):
    """Fix data and resend: delivery data only (amounts, lines, VAT, dates, numbers need a credit note)."""

    model_config = ConfigDict(extra="forbid")

    reason: str = Field(min_length=1, max_length=1000, examples=["returned mail: the buyer has moved"])
    buyer_address: dict[str, Any] | None = Field(
        None, description="the buyer's postal address: lines, city, postal_code, subdivision, country"
    )
    buyer_email: str | None = Field(None, max_length=254, description="the buyer's e-mail contact")
    buyer_endpoint: dict[str, Any] | None = Field(
        None, description='the buyer\'s electronic address {"scheme", "value"} (PEPPOL)'
    )
    resend: bool = Field(False, description="send the corrected invoice again as the next attempt")


class CancelRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class PodLinkRequest(BaseModel):
    invoice_id: str = Field(min_length=1, max_length=32)


POD_CONTENT_TYPES = frozenset(
    {"application/pdf", "image/jpeg", "image/png", "application/edifact", "application/edi-x12"}
)


class ResolveRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, examples=["the partner confirmed receipt by phone"])


class AllocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invoice_id: str = Field(min_length=1, max_length=32)
    amount: Decimal = Field(gt=0, max_digits=19, decimal_places=4, description="in the invoice's currency")


class PaymentResolutionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    allocations: list[AllocationRequest] = Field(min_length=1, max_length=500)
    write_off: Decimal = Field(Decimal(0), ge=0, max_digits=19, decimal_places=4)
    reason: str | None = Field(None, max_length=1000)
    learn: bool = Field(True, description="remember the payer's account, name and reference pattern")


class PaymentApprovalRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    suggestion: int = Field(0, ge=0, le=9, description="0 = the proposal / best suggestion")
    reason: str | None = Field(None, max_length=1000)


class WebhookRequest(BaseModel):
    url: str = Field(min_length=1, max_length=1000, examples=["https://erp.example.com/hooks/gateway"])
    events: list[str] = Field(
        default_factory=lambda: ["*"],
        description='"delivery.status_changed", "deviation.opened", "deviation.closed", or "*"',
    )
    secret: str | None = Field(
        None, min_length=16, max_length=200, description="your own signing secret; unset: one is generated"
    )
    active: bool = True


def _raw_body(*media_types: str) -> dict[str, Any]:
    """OpenAPI for a route that reads its file as the raw body, in any of `media_types`."""
    content = {media: {"schema": {"type": "string", "format": "binary"}} for media in media_types}
    return {"requestBody": {"required": True, "content": content}}


def _errors(status: int, errors: list[dict[str, Any]], **extra: Any) -> JSONResponse:
    return JSONResponse({"errors": errors, **extra}, status_code=status)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise HTTPException(413, f"body is {declared} bytes, the limit is {limit}")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise HTTPException(413, f"body exceeds the limit of {limit} bytes")
    return bytes(body)


XML_CONTENT_TYPES = frozenset({"application/xml", "text/xml"})


def _content_type(request: Request) -> str:
    return request.headers.get("content-type", "").split(";")[0].strip().lower()


def _ubl_intake_data(body: bytes) -> dict[str, Any]:
    """An EHF / PEPPOL BIS (UBL) body as the dict the intake takes."""
    from mappings.invoice import ubl

    return ubl.parse(body).model_dump(mode="json", exclude_none=True)


def _require_json(request: Request) -> None:
    content_type = _content_type(request)
    if content_type not in {"application/json", ""} and not content_type.endswith("+json"):
        raise HTTPException(415, f"content type {content_type!r} is not accepted here; send application/json")


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
    )
    app.state.settings = settings
    app.state.engine = engine or open_outbox(settings)

    @app.exception_handler(RequestValidationError)
    async def _validation(_: Request, error: RequestValidationError) -> JSONResponse:
        entries = []
        for item in error.errors():
            location = ".".join(str(part) for part in item.get("loc", ()))
            entries.append({"field": location or "body", "reason": item.get("msg", "invalid")})
        return _errors(422, entries)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_: Request, error: StarletteHTTPException) -> JSONResponse:
        return JSONResponse(
            {"detail": error.detail, "errors": [{"field": None, "reason": error.detail}]},
            status_code=error.status_code,
            headers=getattr(error, "headers", None),
        )

    # The services' "not found" and "not now" errors mean the same on every route: answered here once.
    @app.exception_handler(delivery_service.NotFound)
    async def _not_found(request: Request, error: delivery_service.NotFound) -> JSONResponse:
        return await _http(request, StarletteHTTPException(404, str(error)))

    @app.exception_handler(IllegalTransition)
    @app.exception_handler(StaleStatus)
    async def _conflict(request: Request, error: Exception) -> JSONResponse:
        return await _http(request, StarletteHTTPException(409, str(error)))

    @app.get("/health", tags=["operations"])
    def health(engine: EngineDep) -> JSONResponse:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
        except Exception as error:
            return JSONResponse({"status": "unavailable", "database": str(error)[:200]}, status_code=503)
        return JSONResponse({"status": "ok", "database": engine.dialect.name})

    @app.post(
        "/invoices",
        tags=["invoices"],
        openapi_extra=_INVOICE_BODY,
        status_code=201,
        responses={
            200: {"description": "a repeat: the first result"},
            409: {"description": "conflict"},
            422: {"description": "invalid; errors name field and EN 16931 rule"},
        },
    )
    async def post_invoice(
        request: Request,
        identity: IdentityDep,
        settings: SettingsDep,
        engine: EngineDep,
        idempotency_key: Annotated[str | None, Header(max_length=200)] = None,
    ) -> JSONResponse:
        if _content_type(request) in XML_CONTENT_TYPES:
            try:
                data = await run_in_threadpool(
                    _ubl_intake_data, await _read_body(request, settings.max_body_bytes)
                )
            except InvoiceValidationError as error:
                return _errors(422, error.errors)
            except FormatError as error:
                return _errors(400, [error.as_dict()])
        else:
            _require_json(request)
            try:
                data = await run_in_threadpool(
                    loads_exact, await _read_body(request, settings.max_body_bytes)
                )
            except FormatError as error:
                return _errors(400, [error.as_dict()])
        if not isinstance(data, dict):
            return _errors(
                422, [{"field": "body", "reason": "expected one invoice object; use /invoices:bulk"}]
            )
        [result] = await run_in_threadpool(
            accept_invoices,
            engine,
            identity.tenant_id,
            [IntakeItem(data, idempotency_key)],
            actor=identity.actor,
            default_channel=settings.default_channel,
        )
        headers = {"Location": f"/invoices/{result.invoice_id}"} if result.invoice_id else None
        return JSONResponse(result.as_dict(), status_code=result.http_status, headers=headers)

    @app.post(
        "/invoices:bulk",
        tags=["invoices"],
        openapi_extra=_BULK_BODY,
        responses={200: {"description": "one result per item, in order"}},
    )
    async def post_invoices_bulk(
        request: Request, identity: IdentityDep, settings: SettingsDep, engine: EngineDep
    ) -> JSONResponse:
        _require_json(request)
        try:
            data = await run_in_threadpool(
                loads_exact, await _read_body(request, settings.max_body_bytes * 4)
            )
        except FormatError as error:
            return _errors(400, [error.as_dict()])
        if isinstance(data, dict) and isinstance(data.get("invoices"), list):
            data = data["invoices"]
        if not isinstance(data, list):
            return _errors(422, [{"field": "body", "reason": "expected a JSON array of invoices"}])
        if len(data) > settings.max_bulk_items:
            return _errors(
                413,
                [
                    {
                        "field": "body",
                        "reason": f"{len(data)} invoices; at most {settings.max_bulk_items} per request",
                    }
                ],
            )
        results = await run_in_threadpool(
            accept_invoices,
            engine,
            identity.tenant_id,
            [IntakeItem(item) for item in data],
            actor=identity.actor,
            default_channel=settings.default_channel,
        )
        summary: dict[str, int] = {}
        for result in results:
            summary[result.outcome] = summary.get(result.outcome, 0) + 1
        return JSONResponse({"summary": summary, "results": [r.as_dict() for r in results]})

    @app.get("/invoices/{invoice_id}", tags=["invoices"])
    def get_invoice(invoice_id: str, identity: IdentityDep, session: SessionDep) -> dict[str, Any]:
        return delivery_service.invoice_view(session, identity.tenant_id, invoice_id)

    @app.get("/deliveries", tags=["deliveries"])
    def get_deliveries(
        identity: IdentityDep,
        session: SessionDep,
        status: DeliveryStatus | None = None,
        channel: Annotated[str | None, Query(max_length=50)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        items = delivery_service.list_deliveries(
            session, identity.tenant_id, status=status, channel=channel, limit=limit, offset=offset
        )
        return {"items": items, "limit": limit, "offset": offset}

    @app.post("/deliveries/{delivery_id}/resend", tags=["deliveries"], status_code=202)
    def resend_delivery(
        delivery_id: str, identity: IdentityDep, session: SessionDep, body: ResendRequest | None = None
    ) -> dict[str, Any]:
        body = body or ResendRequest()
        delivery = delivery_service.find_delivery(session, identity.tenant_id, delivery_id)
        resent = delivery_service.resend(
            session,
            delivery,
            actor=identity.actor,
            reason=body.reason,
            channel=body.channel,
            address=body.address,
        )
        return delivery_service.delivery_view(resent)

    @app.post("/invoices/{invoice_id}/resend", tags=["deliveries"], status_code=202)
    def resend_invoice(
        invoice_id: str, identity: IdentityDep, session: SessionDep, body: InvoiceResendRequest | None = None
    ) -> dict[str, Any]:
        """Send the invoice again (its latest delivery, or the one on `channel`), with its PODs if asked."""
        from channels import ChannelUnavailable, UnknownChannel
        from gateway.services.outbound import resend as resend_service

        body = body or InvoiceResendRequest()
        try:
            resent = resend_service.resend_invoice(
                session,
                identity.tenant_id,
                invoice_id,
                actor=identity.actor,
                reason=body.reason,
                with_pod=body.with_pod,
                channel=body.channel,
                address=body.to,
            )
        except resend_service.ResendRefused as error:
            raise HTTPException(409, str(error)) from None
        except (UnknownChannel, ChannelUnavailable) as error:
            raise HTTPException(422, str(error)) from None
        return delivery_service.delivery_view(resent)

    @app.post("/invoices/{invoice_id}/corrections", tags=["deliveries"])
    def correct_invoice(
        invoice_id: str, body: CorrectionRequest, identity: IdentityDep, session: SessionDep
    ) -> Any:
        """Correct the buyer's address, e-mail or endpoint after a failed delivery; `resend` sends again."""
        from gateway.services.outbound import corrections
        from gateway.services.outbound import resend as resend_service

        try:
            corrections.correct_delivery_data(
                session,
                identity.tenant_id,
                invoice_id,
                actor=identity.actor,
                reason=body.reason,
                buyer_address=body.buyer_address,
                buyer_email=body.buyer_email,
                buyer_endpoint=body.buyer_endpoint,
            )
            if body.resend:
                corrections.resend_corrected(
                    session,
                    identity.tenant_id,
                    invoice_id,
                    actor=identity.actor,
                    reason=body.reason,
                    buyer_email=body.buyer_email,
                    buyer_endpoint=body.buyer_endpoint,
                )
        except corrections.CorrectionInvalid as error:
            session.rollback()
            return _errors(422, error.errors)
        except (
            corrections.CorrectionRefused,
            resend_service.ResendRefused,
            IllegalTransition,
            StaleStatus,
        ) as error:
            raise HTTPException(409, str(error)) from None
        return delivery_service.invoice_view(session, identity.tenant_id, invoice_id)

    @app.post("/deliveries/{delivery_id}/release", tags=["deliveries"])
    def release_delivery(
        delivery_id: str, identity: IdentityDep, session: SessionDep, body: ResendRequest | None = None
    ) -> dict[str, Any]:
        """A person reviewed a held delivery: let it go (within the tenant's sending window)."""
        delivery = delivery_service.find_delivery(session, identity.tenant_id, delivery_id)
        released = delivery_service.release(
            session, delivery, actor=identity.actor, reason=body.reason if body else None
        )
        return delivery_service.delivery_view(released)

    @app.get("/batches", tags=["print"])
    def get_batches(
        identity: IdentityDep,
        session: SessionDep,
        status: Annotated[str | None, Query(max_length=20)] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:
        """The tenant's print batches (newest cut-off first) and the documents still waiting for one."""
        batches = batch_service.list_batches(session, identity.tenant_id, status=status, limit=limit)
        return {
            "items": [batch_service.batch_view(session, batch) for batch in batches],
            "waiting": batch_service.open_items(session, identity.tenant_id),
        }

    @app.get("/batches/{batch_id}", tags=["print"])
    def get_batch(batch_id: str, identity: IdentityDep, session: SessionDep) -> dict[str, Any]:
        batch = session.get(Batch, batch_id)
        if batch is None or batch.tenant_id != identity.tenant_id:
            raise HTTPException(404, f"no batch {batch_id}")
        return batch_service.batch_view(session, batch, with_items=True)

    @app.get("/settings", tags=["tenant"])
    def get_settings_route(identity: IdentityDep, session: SessionDep) -> dict[str, Any]:
        return tenant_settings(session, identity.tenant_id).model_dump(mode="json")

    @app.put("/settings", tags=["tenant"])
    def put_settings_route(
        body: TenantSettings, identity: IdentityDep, session: SessionDep
    ) -> dict[str, Any]:
        """Sending window and hold-for-review for the token's tenant."""
        put_tenant_settings(session, identity.tenant_id, body)
        return body.model_dump(mode="json")

    @app.post("/deliveries/{delivery_id}/cancel", tags=["deliveries"])
    def cancel_delivery(
        delivery_id: str, body: CancelRequest, identity: IdentityDep, session: SessionDep
    ) -> dict[str, Any]:
        delivery = delivery_service.find_delivery(session, identity.tenant_id, delivery_id)
        cancelled = delivery_service.cancel(session, delivery, actor=identity.actor, reason=body.reason)
        return delivery_service.delivery_view(cancelled)

    @app.post(
        "/responses",
        tags=["responses"],
        openapi_extra=_raw_body("application/xml"),
        responses={
            200: {"description": "stored (a repeat answers with the first result); `applied`: moved or not"},
            400: {"description": "not well-formed XML"},
            422: {"description": "XML, but not an Invoice Response, MLR or MLS the gateway reads"},
        },
    )
    async def post_response(
        request: Request, identity: IdentityDep, settings: SettingsDep, engine: EngineDep
    ) -> JSONResponse:
        """A status document from the receiver's side: Invoice Response (T111), MLR (T71) or MLS."""
        from gateway.services.inbound.responses import receive_status_document
        from mappings.status.invoice_response import StatusDocumentError

        content_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if content_type not in {"application/xml", "text/xml", ""} and not content_type.endswith("+xml"):
            raise HTTPException(
                415, f"content type {content_type!r} is not accepted here; send application/xml"
            )
        body = await _read_body(request, settings.max_body_bytes)
        try:
            result = await run_in_threadpool(
                receive_status_document,
                engine,
                body,
                actor=identity.actor,
                tenant_id=identity.tenant_id,
                rules_dir=settings.rules_dir,
            )
        except StatusDocumentError as error:
            return _errors(422, [error.as_dict()])
        except FormatError as error:
            return _errors(400, [error.as_dict()])
        return JSONResponse(result.as_dict())

    @app.post(
        "/bounces",
        tags=["responses"],
        openapi_extra=_raw_body("message/rfc822", "application/octet-stream"),
        responses={
            200: {"description": "stored (a repeat answers with the first result); `applied`: moved or not"},
            400: {"description": "not an e-mail message"},
            413: {"description": "too large"},
            415: {"description": "not message/rfc822 or application/octet-stream"},
            422: {"description": "an e-mail, but not an RFC 3464 delivery status notification"},
        },
    )
    async def post_bounce(
        request: Request, identity: IdentityDep, settings: SettingsDep, engine: EngineDep
    ) -> JSONResponse:
        """An e-mail delivery status notification (bounce, delay, delivery report), e.g. from an MTA pipe."""
        from gateway.services.inbound.bounces import receive_bounce
        from mappings.status.dsn import MAX_DSN_BYTES, DsnError, DsnTooLarge

        content_type = _content_type(request)
        if content_type not in {"message/rfc822", "application/octet-stream", ""}:
            raise HTTPException(
                415,
                f"content type {content_type!r} is not accepted here; send message/rfc822 "
                "or application/octet-stream",
            )
        body = await _read_body(request, min(settings.max_body_bytes, MAX_DSN_BYTES))
        try:
            result = await run_in_threadpool(
                receive_bounce, engine, body, actor=identity.actor, tenant_id=identity.tenant_id
            )
        except DsnTooLarge as error:
            return _errors(413, [error.as_dict()])
        except DsnError as error:
            return _errors(422, [error.as_dict()])
        except FormatError as error:
            return _errors(400, [error.as_dict()])
        return JSONResponse(result.as_dict())

    @app.post(
        "/edi",
        tags=["responses"],
        status_code=201,
        openapi_extra=_raw_body("application/EDIFACT", "application/EDI-X12", "application/octet-stream"),
        responses={
            200: {"description": "the same file again: the first result, nothing applied or answered again"},
            201: {"description": "stored: an ack linked and applied, or a message recorded and answered"},
            413: {"description": "too large"},
            415: {"description": "not an EDI or binary content type"},
            422: {"description": "not EDIFACT / X12, or its envelope cannot be read (segment, position)"},
        },
    )
    async def post_edi(
        request: Request, identity: IdentityDep, settings: SettingsDep, engine: EngineDep
    ) -> JSONResponse:
        """An EDIFACT or X12 file from a trading partner of the token's tenant: CONTRL, APERAK, TA1, 997 and
        999 move deliveries; REMADV, 820, IFTSTA, 214… are recorded and answered with CONTRL / 997 / 999."""
        from gateway.services.inbound.edi_acks import receive_edi

        content_type = _content_type(request)
        accepted_types = {"application/edifact", "application/edi-x12", "application/edi-consent",
                          "application/octet-stream", "text/plain", ""}
        if content_type not in accepted_types:
            raise HTTPException(
                415, f"content type {content_type!r} is not accepted here; send application/EDIFACT, "
                "application/EDI-X12 or application/octet-stream"
            )
        body = await _read_body(request, settings.max_body_bytes)
        try:
            result = await run_in_threadpool(
                receive_edi, engine, body, tenant_id=identity.tenant_id, actor=identity.actor
            )
        except FormatError as error:
            return _errors(422, [error.as_dict()])
        return JSONResponse(result.as_dict(), status_code=200 if result.duplicate else 201)

    @app.put("/receivers/{receiver_id}", tags=["receivers"])
    def put_receiver_profile(
        receiver_id: str, profile: ReceiverProfile, identity: IdentityDep, session: SessionDep
    ) -> dict[str, Any]:
        if profile.receiver_id != receiver_id:
            raise HTTPException(422, "receiver_id in the body differs from the path")
        from channels import known_channels

        unknown = [
            c for c in [profile.preferred_channel, *profile.fallback_channels] if c not in known_channels()
        ]
        if unknown:
            raise HTTPException(422, f"unknown channel(s) in the chain: {unknown}")
        put_receiver(session, identity.tenant_id, profile)
        return profile.model_dump(mode="json")

    @app.put("/trading-partners/{partner_id}", tags=["trading partners"])
    def put_trading_partner(
        partner_id: str, partner: TradingPartner, identity: IdentityDep, session: SessionDep
    ) -> dict[str, Any]:
        """An EDI trading partner's profile (identifiers, syntax, message format, transport); secrets are
        never shown back."""
        if partner.partner_id != partner_id:
            raise RequestValidationError(
                [{"loc": ("body", "partner_id"), "msg": "differs from the path", "type": "value_error"}]
            )
        from gateway.services.tenancy.edi_partners import put_partner
        from gateway.services.tenancy.tenants import ensure_tenant

        ensure_tenant(session, identity.tenant_id)
        put_partner(session, identity.tenant_id, partner)
        return partner.model_dump(mode="json")

    @app.get("/trading-partners/{partner_id}", tags=["trading partners"])
    def get_trading_partner(partner_id: str, identity: IdentityDep, session: SessionDep) -> dict[str, Any]:
        from pydantic import ValidationError

        from gateway.services.tenancy.edi_partners import get_partner

        try:
            partner = get_partner(session, identity.tenant_id, partner_id)
        except ValidationError:
            raise HTTPException(
                409, f"the stored profile of {partner_id} no longer validates: put it again"
            ) from None
        if partner is None:
            raise HTTPException(404, f"no trading partner {partner_id}")
        return partner.model_dump(mode="json")

    @app.get("/deviations", tags=["deviations"])
    def get_deviations(
        identity: IdentityDep,
        session: SessionDep,
        status: Annotated[str, Query(pattern="^(open|closed|all)$")] = "open",
        cause: Annotated[str | None, Query(max_length=40)] = None,
        channel: Annotated[str | None, Query(max_length=50)] = None,
        since: dt.datetime | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """Deviations across channels (newest first), each with its cause and the actions that fit it."""
        from gateway.services.outbound.deviations import list_deviations

        if since is not None and since.tzinfo is None:
            since = since.replace(tzinfo=dt.UTC)
        items = list_deviations(
            session,
            identity.tenant_id,
            status=status,
            cause=cause,
            channel=channel,
            since=since,
            limit=limit,
            offset=offset,
        )
        return {"items": items, "limit": limit, "offset": offset}

    @app.post("/deviations/{deviation_id}/resolve", tags=["deviations"])
    def resolve_deviation_route(
        deviation_id: str, body: ResolveRequest, identity: IdentityDep, session: SessionDep
    ) -> dict[str, Any]:
        """Close a deviation without sending again; the delivery's history records who and why."""
        from gateway.services.outbound.deviations import DeviationClosed, resolve_deviation

        try:
            return resolve_deviation(
                session, identity.tenant_id, deviation_id, actor=identity.actor, reason=body.reason
            )
        except DeviationClosed as error:
            raise HTTPException(409, str(error)) from None

    @app.post("/deviations/{deviation_id}/resend", tags=["deviations"], status_code=202)
    def resend_deviation_route(
        deviation_id: str, identity: IdentityDep, session: SessionDep, body: ResendRequest | None = None
    ) -> dict[str, Any]:
        """Send again (the next attempt, or a new delivery on `channel`) and close the deviation."""
        from gateway.services.outbound.deviations import DeviationClosed, resend_deviation

        body = body or ResendRequest()
        try:
            return resend_deviation(
                session,
                identity.tenant_id,
                deviation_id,
                actor=identity.actor,
                reason=body.reason,
                channel=body.channel,
                address=body.address,
            )
        except DeviationClosed as error:
            raise HTTPException(409, str(error)) from None

    @app.put("/webhooks", tags=["webhooks"], status_code=201, responses={200: {"description": "changed"}})
    def put_webhook(body: WebhookRequest, identity: IdentityDep, engine: EngineDep) -> JSONResponse:
        """Add (201; a generated secret is shown this once) or change (200) the endpoint with this URL."""
        from gateway.services.tenancy import webhooks

        try:
            with session_scope(engine) as session:
                endpoint, created, secret = webhooks.put_endpoint(
                    session,
                    identity.tenant_id,
                    url=body.url,
                    events=body.events,
                    secret=body.secret,
                    active=body.active,
                )
                view = webhooks.endpoint_view(endpoint, secret=secret)
        except webhooks.WebhookError as error:
            return _errors(422, [{"field": "body", "reason": str(error)}])
        webhooks.invalidate_endpoint_cache()  # after the commit: no request re-reads the old list
        return JSONResponse(view, status_code=201 if created else 200)

    @app.get("/webhooks", tags=["webhooks"])
    def get_webhooks(identity: IdentityDep, session: SessionDep) -> dict[str, Any]:
        """The tenant's endpoints (secrets are never shown again)."""
        from gateway.services.tenancy import webhooks

        return {
            "items": [webhooks.endpoint_view(e) for e in webhooks.list_endpoints(session, identity.tenant_id)]
        }

    @app.delete("/webhooks/{endpoint_id}", tags=["webhooks"], status_code=204)
    def delete_webhook(endpoint_id: str, identity: IdentityDep, engine: EngineDep) -> Response:
        from gateway.services.tenancy import webhooks

        with session_scope(engine) as session:
            found = webhooks.delete_endpoint(session, identity.tenant_id, endpoint_id)
        webhooks.invalidate_endpoint_cache()
        if not found:
            raise HTTPException(404, f"no webhook endpoint {endpoint_id}")
        return Response(status_code=204)

    @app.post(
        "/pods",
        tags=["proof of delivery"],
        status_code=201,
        openapi_extra=_raw_body(
            "application/pdf", "image/jpeg", "image/png", "application/EDIFACT", "application/EDI-X12"
        ),
        responses={
            200: {"description": "the same file again: the first receipt"},
            201: {"description": "stored and linked (or waiting unlinked with suggestions)"},
            413: {"description": "too large"},
            415: {"description": "not a PDF, JPEG, PNG, IFTSTA or X12 214 (by content and Content-Type)"},
            422: {"description": "a bad file name or metadata, or a broken / oversized document"},
        },
    )  # fmt: skip
    async def post_pod(
        request: Request,
        identity: IdentityDep,
        settings: SettingsDep,
        engine: EngineDep,
        filename: str | None = None,
        signer_name: str | None = None,
        signed_at: str | None = None,
        place: str | None = None,
        order_number: Annotated[list[str] | None, Query()] = None,
        delivery_note: Annotated[list[str] | None, Query()] = None,
        shipment_id: Annotated[list[str] | None, Query()] = None,
        invoice_number: Annotated[list[str] | None, Query()] = None,
    ) -> JSONResponse:
        """A proof of delivery as the raw body; its metadata in the query (each reference may repeat)."""
        from gateway.services.inbound import pods as pod_service
        from gateway.services.outbound.documents import document_store

        content_type = _content_type(request)
        if content_type not in POD_CONTENT_TYPES:
            return _errors(415, [{"field": "content_type", "reason": f"{content_type!r} is not accepted; "
                                  "send application/pdf, image/jpeg, image/png, application/EDIFACT or "
                                  "application/EDI-X12"}])  # fmt: skip
        references = {
            kind: values
            for kind, values in (("order_numbers", order_number), ("delivery_notes", delivery_note),
                                 ("shipment_ids", shipment_id), ("invoice_numbers", invoice_number))
            if values
        }  # fmt: skip
        try:
            if filename is not None:
                pod_service.check_filename(filename)
            when = pod_service.parse_signed_at(signed_at)
            try:
                body = await _read_body(request, settings.max_pod_bytes)
            except HTTPException as error:
                raise pod_service.PodRefused("content", str(error.detail), status=error.status_code) from None
            receipt = await run_in_threadpool(
                lambda: pod_service.receive_pod(
                    engine, document_store(settings), tenant_id=identity.tenant_id, data=body,
                    filename=filename, media_type_hint=content_type, signer_name=signer_name,
                    signed_at=when, place=place, references=references, source="api",
                    actor=identity.actor, max_bytes=settings.max_pod_bytes,
                )
            )  # fmt: skip
        except pod_service.PodRefused as error:
            return _errors(error.status, [error.as_dict()])
        headers = {"Location": f"/pods/{receipt.pod_ids[0]}"}
        return JSONResponse(receipt.as_dict(), status_code=200 if receipt.duplicate else 201, headers=headers)

    @app.get("/pods", tags=["proof of delivery"])
    def get_pods(
        identity: IdentityDep,
        session: SessionDep,
        linked: bool | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        """The tenant's proofs of delivery, newest first; `linked=false` is the queue to work through."""
        from gateway.services.inbound import pods as pod_service

        found = pod_service.list_pods(session, identity.tenant_id, linked, limit=limit, offset=offset)
        items = [pod_service.pod_view(session, pod) for pod in found]
        return {"items": items, "limit": limit, "offset": offset}

    @app.get("/pods/{pod_id}", tags=["proof of delivery"])
    def get_pod(pod_id: str, identity: IdentityDep, session: SessionDep) -> dict[str, Any]:
        """One POD with its links (invoice, by what, who, when), suggestions and stored file."""
        from gateway.services.inbound import pods as pod_service

        try:
            return pod_service.pod_view(session, pod_service.get_pod(session, identity.tenant_id, pod_id))
        except pod_service.NotFound as error:
            raise HTTPException(404, str(error)) from None

    @app.get("/pods/{pod_id}/content", tags=["proof of delivery"])
    def get_pod_content(
        pod_id: str, identity: IdentityDep, session: SessionDep, settings: SettingsDep
    ) -> Response:
        """The file as received (checked against its SHA-256 on the way out)."""
        from gateway.services.inbound import pods as pod_service
        from gateway.services.outbound.documents import DocumentStoreError, document_store, load_document

        try:
            pod = pod_service.get_pod(session, identity.tenant_id, pod_id)
            if pod.document_id is None:
                raise pod_service.NotFound(f"proof of delivery {pod_id} has no stored file")
            store = document_store(settings)
            document, data = load_document(session, store, pod.document_id, identity.tenant_id)
        except DocumentStoreError as error:
            raise HTTPException(500, str(error)) from None
        except LookupError as error:
            raise HTTPException(404, str(error)) from None
        disposition = f'attachment; filename="{document.filename}"'
        return Response(data, media_type=document.media_type, headers={"Content-Disposition": disposition})

    @app.post("/pods/{pod_id}/links", tags=["proof of delivery"], status_code=201)
    def post_pod_link(
        pod_id: str, body: PodLinkRequest, identity: IdentityDep, session: SessionDep
    ) -> dict[str, Any]:
        """An operator links a POD to an invoice (answered with the POD and all its links)."""
        from gateway.services.inbound import pods as pod_service

        try:
            pod_service.link_pod(session, identity.tenant_id, pod_id, body.invoice_id, identity.actor)
            return pod_service.pod_view(session, pod_service.get_pod(session, identity.tenant_id, pod_id))
        except pod_service.NotFound as error:
            raise HTTPException(404, str(error)) from None

    @app.delete("/pods/{pod_id}/links/{invoice_id}", tags=["proof of delivery"])
    def delete_pod_link(
        pod_id: str, invoice_id: str, identity: IdentityDep, session: SessionDep
    ) -> dict[str, Any]:
        """Remove a link; a POD left with none goes back to the unlinked queue with fresh suggestions."""
        from gateway.services.inbound import pods as pod_service

        try:
            pod_service.unlink_pod(session, identity.tenant_id, pod_id, invoice_id, identity.actor)
            return pod_service.pod_view(session, pod_service.get_pod(session, identity.tenant_id, pod_id))
        except pod_service.NotFound as error:
            raise HTTPException(404, str(error)) from None

    @app.post(
        "/remittances",
        tags=["payments"],
        status_code=201,
        openapi_extra=_raw_body(
            "application/xml", "text/plain", "application/EDIFACT", "application/EDI-X12",
            "application/octet-stream",
        ),
        responses={
            200: {"description": "the same file again: the first receipt, nothing booked twice"},
            201: {"description": "read whole; its payments booked and matched"},
            413: {"description": "too large"},
            422: {"description": "refused whole (kept for inspection): the field and the reason"},
        },
    )  # fmt: skip
    async def post_remittance(
        request: Request,
        identity: IdentityDep,
        settings: SettingsDep,
        engine: EngineDep,
        filename: Annotated[str | None, Query(max_length=255)] = None,
        match: bool = True,
    ) -> JSONResponse:
        """A remittance file as the raw body (camt.053/054, OCR giro, REMADV, X12 820, Invoice Response)."""
        from gateway.services.outbound.documents import document_store
        from gateway.services.payments import matching_runs as payment_service
        from gateway.services.payments import remittances as remittance_service

        body = await _read_body(request, settings.max_remittance_bytes)
        receipt = await run_in_threadpool(
            lambda: remittance_service.receive_remittance(
                engine, document_store(settings), tenant_id=identity.tenant_id, data=body, filename=filename,
                source="api", actor=identity.actor, max_bytes=settings.max_remittance_bytes,
            )
        )  # fmt: skip
        answer = receipt.as_dict()
        if receipt.status == "rejected":
            error = {"field": receipt.error_field or "file", "reason": receipt.reason or "refused"}
            return _errors(422, [error], file_id=receipt.file_id, outcome=receipt.outcome)
        if match and receipt.outcome == "accepted":
            try:
                run = await run_in_threadpool(payment_service.run_matching, engine, identity.tenant_id)
                answer["matching"] = run.as_dict()
            except payment_service.MatchingBusy:
                answer["matching"] = {"deferred": "another matching run is busy; the worker matches next"}
        with session_scope(engine) as session:
            answer["payments"] = [
                payment_service.payment_summary(p)
                for p in payment_service.list_payments(session, identity.tenant_id, file_id=receipt.file_id,
                                                       limit=1000)
            ]  # fmt: skip
        status = 200 if receipt.outcome == "duplicate" else 201
        location = {"Location": f"/remittances/{receipt.file_id}"}
        return JSONResponse(answer, status_code=status, headers=location)

    @app.get("/remittances", tags=["payments"])
    def get_remittances(
        identity: IdentityDep, session: SessionDep, status: str | None = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> dict[str, Any]:  # fmt: skip
        """Received remittance files, newest first (`status=rejected`: the ones to look at)."""
        from gateway.services.payments import remittances as remittance_service

        files = remittance_service.list_files(session, identity.tenant_id, status=status, limit=limit)
        return {"items": [remittance_service.file_view(f) for f in files]}

    @app.get("/remittances/{file_id}", tags=["payments"])
    def get_remittance(file_id: str, identity: IdentityDep, session: SessionDep) -> dict[str, Any]:
        from gateway.services.payments import matching_runs as payment_service
        from gateway.services.payments import remittances as remittance_service

        try:
            file = remittance_service.get_file(session, identity.tenant_id, file_id)
        except remittance_service.RemittanceNotFound as error:
            raise HTTPException(404, str(error)) from None
        payments = payment_service.list_payments(session, identity.tenant_id, file_id=file.id, limit=100_000)
        return {**remittance_service.file_view(file),
                "payment_items": [payment_service.payment_summary(p) for p in payments]}  # fmt: skip

    @app.get("/remittances/{file_id}/content", tags=["payments"])
    def get_remittance_content(
        file_id: str, identity: IdentityDep, session: SessionDep, settings: SettingsDep
    ) -> Response:
        """The file as received (also a refused one, for inspection)."""
        from gateway.services.outbound.documents import DocumentStoreError, document_store
        from gateway.services.payments import remittances as remittance_service

        try:
            file = remittance_service.get_file(session, identity.tenant_id, file_id)
            data = document_store(settings).get(file.document_key)
        except remittance_service.RemittanceNotFound as error:
            raise HTTPException(404, str(error)) from None
        except DocumentStoreError as error:
            raise HTTPException(500, str(error)) from None
        name = file.filename or f"remittance-{file.id}"
        return Response(data, media_type="application/octet-stream",
                        headers={"Content-Disposition": f'attachment; filename="{name}"'})  # fmt: skip

    @app.get("/payments", tags=["payments"])
    def get_payments(
        identity: IdentityDep, session: SessionDep, status: str | None = None,
        since: dt.datetime | None = None,
        file_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
    ) -> dict[str, Any]:  # fmt: skip
        """Payments and what became of them (`exception`, `needs_approval`: the work queue)."""
        from gateway.services.payments import matching_runs as payment_service

        found = payment_service.list_payments(session, identity.tenant_id, status=status, since=since,
                                              file_id=file_id, limit=limit)  # fmt: skip
        return {"items": [payment_service.payment_view(session, p) for p in found]}

    @app.get("/payments/{payment_id}", tags=["payments"])
    def get_payment(payment_id: str, identity: IdentityDep, session: SessionDep) -> dict[str, Any]:
        """One payment: what the file said, the engine's evidence and suggestions, what was applied."""
        from gateway.services.payments import matching_runs as payment_service

        try:
            return payment_service.payment_view(
                session, payment_service.get_payment(session, identity.tenant_id, payment_id)
            )
        except payment_service.PaymentNotFound as error:
            raise HTTPException(404, str(error)) from None

    def _payment_action(action: Any) -> JSONResponse:
        from gateway.services.payments import matching_runs as payment_service

        try:
            return JSONResponse(action())
        except payment_service.PaymentNotFound as error:
            return _errors(404, [{"field": "payment_id", "reason": str(error)}])
        except payment_service.ResolutionRefused as error:
            return _errors(422, [error.as_dict()])

    @app.post("/payments/{payment_id}/resolve", tags=["payments"])
    def resolve_payment_route(
        payment_id: str, body: PaymentResolutionRequest, identity: IdentityDep, engine: EngineDep
    ) -> JSONResponse:
        """A person's answer: which invoices the payment settles. The gateway learns the payer's account,
        name and reference pattern from it (unless `learn` is false)."""
        from gateway.services.payments import matching_runs as payment_service

        return _payment_action(lambda: payment_service.resolve_payment(
            engine, identity.tenant_id, payment_id, [(a.invoice_id, a.amount) for a in body.allocations],
            actor=identity.actor, reason=body.reason, write_off=body.write_off, learn=body.learn,
        ))  # fmt: skip

    @app.post("/payments/{payment_id}/approve", tags=["payments"])
    def approve_payment_route(
        payment_id: str, body: PaymentApprovalRequest, identity: IdentityDep, engine: EngineDep
    ) -> JSONResponse:
        """Book the engine's proposal (needs approval) or one of its suggestions (exception)."""
        from gateway.services.payments import matching_runs as payment_service

        return _payment_action(lambda: payment_service.approve_payment(
            engine, identity.tenant_id, payment_id, actor=identity.actor, reason=body.reason,
            suggestion=body.suggestion,
        ))  # fmt: skip

    @app.post("/payments/{payment_id}/ignore", tags=["payments"])
    def ignore_payment_route(
        payment_id: str, body: ResolveRequest, identity: IdentityDep, engine: EngineDep
    ) -> JSONResponse:
        """Not an invoice payment (a refund, a transfer): nothing applied, kept with the reason."""
        from gateway.services.payments import matching_runs as payment_service

        return _payment_action(lambda: payment_service.ignore_payment(
            engine, identity.tenant_id, payment_id, actor=identity.actor, reason=body.reason))  # fmt: skip

    @app.post("/payments/{payment_id}/reverse", tags=["payments"])
    def reverse_payment_route(
        payment_id: str, body: ResolveRequest, identity: IdentityDep, engine: EngineDep
    ) -> JSONResponse:
        """Take back what was applied; the payment waits as an exception again."""
        from gateway.services.payments import matching_runs as payment_service

        return _payment_action(lambda: payment_service.reverse_payment(
            engine, identity.tenant_id, payment_id, actor=identity.actor, reason=body.reason))  # fmt: skip

    @app.post("/matching/run", tags=["payments"])
    def run_matching_route(identity: IdentityDep, engine: EngineDep) -> JSONResponse:
        """Match the tenant's new payments now (the worker does it on its own every few seconds)."""
        from gateway.services.payments import matching_runs as payment_service

        try:
            return JSONResponse(payment_service.run_matching(engine, identity.tenant_id).as_dict())
        except payment_service.MatchingBusy as error:
            return _errors(409, [{"field": "tenant", "reason": str(error)}])

    @app.get("/matching/report", tags=["payments"])
    def get_match_report(
        identity: IdentityDep,
        session: SessionDep,
        since: dt.datetime | None = None,
        file_id: str | None = None,
    ) -> dict[str, Any]:
        """Match rates per payment and per invoice, by count and amount, with the false-auto rate."""
        from gateway.services.payments import matching_runs as payment_service

        return payment_service.match_report(session, identity.tenant_id, since=since, file_id=file_id)

    @app.get("/receivables/overdue", tags=["payments"])
    def get_overdue(
        identity: IdentityDep, session: SessionDep, today: dt.date | None = None,
        grace_days: Annotated[int, Query(ge=0, le=365)] = 14,
    ) -> dict[str, Any]:  # fmt: skip
        """Invoices a reminder may be sent for: past due and not paid (paid ones never appear)."""
        from gateway.services.payments import matching_runs as payment_service

        found = payment_service.reminder_candidates(
            session, identity.tenant_id, today=today or dt.date.today(), grace_days=grace_days
        )
        return {"items": [
            {"id": i.id, "number": i.number, "due_date": i.due_date.isoformat() if i.due_date else None,
             "currency": i.currency, "payable_amount": i.payable_amount,
             "open_amount": i.open_amount or i.payable_amount, "payment_status": i.payment_status,
             "buyer_name": i.buyer_name} for i in found
        ]}  # fmt: skip

    # The canonical model is documented even though the routes read raw bytes (for exact decimals).
    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        from fastapi.openapi.utils import get_openapi

        schema = get_openapi(
            title=app.title, version=app.version, description=app.description, routes=app.routes
        )
        invoice_schema = Invoice.model_json_schema(ref_template="#/components/schemas/{model}")
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components.update(invoice_schema.pop("$defs", {}))
        components["Invoice"] = invoice_schema
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
    return app
