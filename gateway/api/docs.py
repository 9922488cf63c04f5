"""What the API says about itself: the OpenAPI document, completed in one place, and the pages showing it.

`openapi_document` takes FastAPI's generated document and fills in, for every operation, what no route
should have to repeat: its error answers (the one envelope of `gateway.api.errors`, with an example per
status), the answer model of the routes that build their own JSON answer, and an example request for every
write operation that takes a body. tests/api/test_openapi_contract.py walks the document and fails on an
operation left without them.

`/docs` (Swagger UI) and `/redoc` work offline: their scripts and styles are the official dist files that
the `fastapi-offline` package ships, served by the app itself; no page names a CDN.
"""

from __future__ import annotations

import json
from functools import cache
from importlib.resources import files
from typing import Any

from fastapi import FastAPI, HTTPException
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from gateway.api import requests
from gateway.api.errors import REQUEST_ID_HEADER, ErrorEnvelope
from gateway.api.routes.disputes import DisputeMessageForm, DisputeMessageRequest
from gateway.api.routes.portal_users import PortalInvitation
from gateway.api.views import (
    BounceAnswer,
    BulkIntakeAnswer,
    EdiAnswer,
    HealthView,
    IntakeAnswer,
    PodReceiptView,
    RemittanceReceiptView,
    StatusDocumentAnswer,
    WebhookEndpointCreated,
)
from schemas.canonical import Invoice, ReceiverProfile
from schemas.edi_partner import TradingPartner
from schemas.tenant import TenantSettings

WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
_REF = "#/components/schemas/{model}"
_ENVELOPE_REF = {"$ref": _REF.format(model=ErrorEnvelope.__name__)}
_EXAMPLE_REQUEST_ID = "5b0c2f5e-8d1e-4c62-9a57-1f3f0f1c2d4e"

# --- error answers ----------------------------------------------------------------------------------------

ERROR_DESCRIPTIONS: dict[int, str] = {
    400: "the body cannot be read as what it claims to be (not JSON, not well-formed XML, not an e-mail)",
    401: "no bearer token, or an unknown or revoked one",
    404: "nothing with this id for the token's tenant",
    409: "the request conflicts with what is there (a number reused with other content, a delivery "
    "already cancelled, another run in progress)",
    413: "the body is larger than the limit",
    415: "a content type this operation does not read; the reason names those it does",
    422: "a parameter or the body breaks a rule (an unknown query parameter too); each error names the "
    "field, and the EN 16931 rule where one applies",
    500: "an unexpected error; quote the request id to report it",
}
_ERROR_EXAMPLES: dict[int, list[dict[str, Any]]] = {
    400: [{"field": "body", "reason": "not well-formed JSON: Expecting ',' delimiter at line 3, column 5"}],
    401: [{"field": None, "reason": "missing bearer token"}],
    404: [{"field": None, "reason": "no invoice INV-1099"}],
    409: [{"field": "number", "reason": "invoice INV-1001 exists with other content; send a credit note "
           "or a new number"}],
    413: [{"field": None, "reason": "body is 31457280 bytes, the limit is 25000000"}],
    415: [{"field": None, "reason": "content type 'text/plain' is not accepted here; send application/json"}],
    422: [{"field": "totals.tax_amount", "reason": "BR-CO-14: the VAT total must be the sum of the VAT "
           "breakdown amounts", "rule": "BR-CO-14"}],
    500: [{"field": None, "reason": f"internal error; quote request id {_EXAMPLE_REQUEST_ID} to report it"}],
}  # fmt: skip


def error_codes(path: str, method: str, operation: dict[str, Any]) -> set[int]:
    """The error statuses an operation can answer with: every operation can meet a bad parameter (422)
    and a bug (500); one behind a token a 401; one with an id in its path a 404; a write a conflict (409);
    one that reads a body an unreadable (400), too large (413) or wrong-typed (415) one; plus any status the
    route itself declares."""
    codes = {422, 500}
    if operation.get("security"):
        codes.add(401)
    if "{" in path:
        codes.add(404)
    if method in WRITE_METHODS:
        codes.add(409)
    if "requestBody" in operation:
        codes |= {400, 413, 415}
    codes |= {int(code) for code in operation.get("responses", {}) if code.isdigit() and int(code) >= 400}
    return codes


_QUERY_422 = [{"field": "query.limit", "reason": "Input should be less than or equal to 1000"}]
_REQUEST_ID_REF = {"$ref": f"#/components/headers/{REQUEST_ID_HEADER}"}
_REQUEST_ID_COMPONENT = {
    "description": "the request's id: the client's own `X-Request-ID` if it was a sane token (at most 128 "
    "letters, digits and `._:+/=-`), else a new one; also `request_id` in every error body",
    "required": True,
    "schema": {"type": "string"},
}


def _document_errors(path: str, method: str, operation: dict[str, Any]) -> None:
    responses: dict[str, Any] = operation.setdefault("responses", {})
    for code in error_codes(path, method, operation):
        response = responses.setdefault(str(code), {})
        if code == 422 or not response.get("description"):  # FastAPI's 422 says only "Validation Error"
            response["description"] = ERROR_DESCRIPTIONS.get(code, "an error")
        errors = _ERROR_EXAMPLES.get(code, [{"field": None, "reason": response["description"]}])
        if code == 422 and "requestBody" not in operation:
            errors = _QUERY_422
        example = {"errors": errors, "request_id": _EXAMPLE_REQUEST_ID}
        response["content"] = {"application/json": {"schema": _ENVELOPE_REF, "example": example}}
    operation["responses"] = dict(sorted(responses.items()))
    for response in operation["responses"].values():
        response.setdefault("headers", {})[REQUEST_ID_HEADER] = _REQUEST_ID_REF


# --- answers of the routes that build their own JSON ------------------------------------------------------

#: The routes that answer with a `JSONResponse` they build (a status chosen at run time, a `Location`),
#: and the model each of their 2xx answers follows.
ANSWERS: dict[tuple[str, str], type[BaseModel]] = {
    ("post", "/invoices"): IntakeAnswer,
    ("post", "/invoices:bulk"): BulkIntakeAnswer,
    ("post", "/bounces"): BounceAnswer,
    ("post", "/responses"): StatusDocumentAnswer,
    ("post", "/edi"): EdiAnswer,
    ("post", "/pods"): PodReceiptView,
    ("post", "/remittances"): RemittanceReceiptView,
    ("put", "/webhooks"): WebhookEndpointCreated,
    ("get", "/health"): HealthView,
}


#: The routes that answer with a stored file, as it was received or sent (its own media type).
FILE_ANSWERS: frozenset[tuple[str, str]] = frozenset(
    {
        ("get", "/pods/{pod_id}/content"),
        ("get", "/remittances/{file_id}/content"),
        ("get", "/documents/{document_id}"),
        ("get", "/collection/exports/{export_id}"),
        ("get", "/ledger/saft"),
    }
)
_FILE_CONTENT = {"*/*": {"schema": {"type": "string", "format": "binary"}}}
#: Bodies a route reads itself (a form, or JSON beside it) and documents by hand: their schemas as components.
HAND_READ_BODIES: list[type[BaseModel]] = [DisputeMessageForm, DisputeMessageRequest]


def _document_answer(path: str, method: str, operation: dict[str, Any]) -> None:
    if (method, path) in FILE_ANSWERS:
        for code, response in operation.get("responses", {}).items():
            if code.startswith("2"):
                response["content"] = dict(_FILE_CONTENT)
        return
    model = ANSWERS.get((method, path))
    if model is None:
        return
    for code, response in operation.get("responses", {}).items():
        if code.startswith("2"):
            media = response.setdefault("content", {}).setdefault("application/json", {})
            if not media.get("schema"):
                media["schema"] = {"$ref": _REF.format(model=model.__name__)}


# --- example requests -------------------------------------------------------------------------------------

#: Example bodies of the request models, by model; each must validate against its model (a test checks).
MODEL_EXAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    PortalInvitation: {"email": "ap@customer.no", "language": "en"},
    requests.CollectionExportRequest: {"on": "2027-03-01", "invoice_ids": ["3f1c2a9e8b7d4c6a9e8b7d4c6a9e8b"]},
    requests.StatementRunRequest: {"date": "2027-01-31", "dry_run": True},
    requests.ResendRequest: {"reason": "the buyer says the invoice never arrived"},
    requests.InvoiceResendRequest: {"reason": "the buyer says the goods never arrived", "with_pod": True},
    requests.CorrectionRequest: {
        "reason": "returned mail: the buyer has moved",
        "buyer_address": {"lines": ["Sjøgata 12"], "city": "Tromsø", "postal_code": "9008", "country": "NO"},
        "resend": True,
    },
    requests.CancelRequest: {"reason": "handed over in person at the counter"},
    requests.PodLinkRequest: {"invoice_id": "9f1c0b6e2a4d4e0f8a7b3c2d1e0f9a8b"},
    requests.ResolveRequest: {"reason": "the partner confirmed receipt by phone"},
    requests.PaymentResolutionRequest: {
        "allocations": [
            {"invoice_id": "9f1c0b6e2a4d4e0f8a7b3c2d1e0f9a8b", "amount": "1250.00"},
            {"invoice_id": "0a6d3e9b7c1f4b2a9e8d7c6b5a4f3e2d", "amount": "310.50"},
        ],
        "write_off": "0.50",
        "reason": "one transfer for two invoices, bank fee deducted",
    },
    requests.PaymentApprovalRequest: {"suggestion": 0, "reason": "checked against the bank statement"},
    requests.CustomerGroupRequest: {"customer": "org:0192:910667831", "parent": "923609016"},
    requests.WebhookRequest: {
        "url": "https://erp.example.com/hooks/gateway",
        "events": ["delivery.status_changed", "deviation.opened"],
    },
    TenantSettings: {
        "hold_for_review": True,
        "hold_channels": ["print"],
        "send_window": {"start": "08:00", "end": "16:00", "timezone": "Europe/Oslo",
                        "weekdays": [0, 1, 2, 3, 4]},
    },
    ReceiverProfile: {
        "receiver_id": "C-1001",
        "name": "Fjordbyen kommune",
        "preferred_channel": "peppol",
        "fallback_channels": ["email", "print"],
        "addresses": {"peppol": "0192:964338531", "email": "faktura@fjordbyen.example"},
    },
    TradingPartner: {
        "partner_id": "nordgros",
        "name": "Nordgros AS",
        "message_format": "edifact-d96a",
        "us": {"id": "7080000000001", "qualifier": "14"},
        "them": {"id": "7080000000002", "qualifier": "14"},
        "transport": {"kind": "folder", "directory": "partners/nordgros/out"},
    },
}  # fmt: skip

_INVOICE_RESPONSE = """<?xml version="1.0" encoding="UTF-8"?>
<ApplicationResponse xmlns="urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
  xmlns:cac="urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
  xmlns:cbc="urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2">
  <cbc:CustomizationID>urn:fdc:peppol.eu:poacc:trns:invoice_response:3</cbc:CustomizationID>
  <cbc:ProfileID>urn:fdc:peppol.eu:poacc:bis:invoice_response:3</cbc:ProfileID>
  <cbc:ID>IR-2026-0042</cbc:ID>
  <cbc:IssueDate>2026-11-25</cbc:IssueDate>
  <cac:SenderParty>
    <cbc:EndpointID schemeID="0192">964338531</cbc:EndpointID>
    <cac:PartyLegalEntity>
      <cbc:RegistrationName>Fjordbyen kommune</cbc:RegistrationName>
    </cac:PartyLegalEntity>
  </cac:SenderParty>
  <cac:ReceiverParty>
    <cbc:EndpointID schemeID="0192">910000000</cbc:EndpointID>
    <cac:PartyLegalEntity>
      <cbc:RegistrationName>Acme Norge AS</cbc:RegistrationName>
    </cac:PartyLegalEntity>
  </cac:ReceiverParty>
  <cac:DocumentResponse>
    <cac:Response><cbc:ResponseCode>AP</cbc:ResponseCode></cac:Response>
    <cac:DocumentReference>
      <cbc:ID>INV-1001</cbc:ID>
      <cbc:DocumentTypeCode>380</cbc:DocumentTypeCode>
    </cac:DocumentReference>
  </cac:DocumentResponse>
</ApplicationResponse>
"""

_DSN = """From: Mail Delivery System <MAILER-DAEMON@mta.example.com>
To: bounces+INV-1001@gateway.example.com
Subject: Undelivered Mail Returned to Sender
Date: Wed, 25 Nov 2026 09:14:02 +0100
Message-ID: <20261125081402.4A1B2C3D@mta.example.com>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="dsn-boundary"

--dsn-boundary
Content-Type: text/plain; charset=utf-8

Your message could not be delivered to faktura@fjordbyen.example.

--dsn-boundary
Content-Type: message/delivery-status

Reporting-MTA: dns; mta.example.com
Original-Envelope-Id: INV-1001

Final-Recipient: rfc822; faktura@fjordbyen.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 mailbox unknown

--dsn-boundary--
"""

_CONTRL = (
    "UNA:+.? 'UNB+UNOC:3+7080000000002:14+7080000000001:14+261125:0914+C0042'"
    "UNH+1+CONTRL:D:3:UN'UCI+1001+7080000000001:14+7080000000002:14+7'UNT+3+1'UNZ+1+C0042'"
)

_IFTSTA = (
    "UNA:+.? 'UNB+UNOC:3+7080000000003:14+7080000000001:14+261125:1530+T0007'"
    "UNH+1+IFTSTA:D:01B:UN'BGM+77+ST-0007+9'DTM+137:202611251530:203'"
    "CNI+1+SHP-7781'STS+1+21'RFF+IV:INV-1001'DTM+334:202611251412:203'"
    "NAD+CN+++Fjordbyen kommune'UNT+9+1'UNZ+1+T0007'"
)

_CAMT054 = """<?xml version="1.0" encoding="UTF-8"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.054.001.08">
  <BkToCstmrDbtCdtNtfctn>
    <GrpHdr><MsgId>NTF-2026-11-25-001</MsgId><CreDtTm>2026-11-25T06:00:00</CreDtTm></GrpHdr>
    <Ntfctn>
      <Id>NTF-001</Id>
      <CreDtTm>2026-11-25T06:00:00</CreDtTm>
      <Acct><Id><IBAN>NO9386011117947</IBAN></Id></Acct>
      <Ntry>
        <Amt Ccy="NOK">1250.00</Amt>
        <CdtDbtInd>CRDT</CdtDbtInd>
        <Sts><Cd>BOOK</Cd></Sts>
        <BookgDt><Dt>2026-11-25</Dt></BookgDt>
        <ValDt><Dt>2026-11-25</Dt></ValDt>
        <BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>VCOM</SubFmlyCd></Fmly></Domn></BkTxCd>
        <NtryDtls><TxDtls>
          <Refs><AcctSvcrRef>20261125-000123</AcctSvcrRef></Refs>
          <Amt Ccy="NOK">1250.00</Amt>
          <CdtDbtInd>CRDT</CdtDbtInd>
          <RltdPties><Dbtr><Pty><Nm>Fjordbyen kommune</Nm></Pty></Dbtr></RltdPties>
          <RmtInf><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>
            <Ref>10010000000018</Ref></CdtrRefInf></Strd></RmtInf>
        </TxDtls></NtryDtls>
      </Ntry>
    </Ntfctn>
  </BkToCstmrDbtCdtNtfctn>
</Document>
"""

_STRIPE_EVENT = json.dumps(
    {
        "id": "evt_1QcheckoutDONE", "object": "event", "api_version": "2024-06-20", "created": 1796112000,
        "type": "checkout.session.completed",
        "data": {"object": {
            "id": "cs_live_a1B2c3", "object": "checkout.session", "mode": "payment", "status": "complete",
            "payment_status": "paid", "amount_total": 644750, "currency": "nok",
            "client_reference_id": "3f1c2a9e8b7d4c6a9e8b7d4c6a9e8b7d", "payment_intent": "pi_3QabcDEF",
            "metadata": {"gw_tenant": "acme", "gw_checkout": "3f1c2a9e8b7d4c6a9e8b7d4c6a9e8b7d"},
            "customer_details": {"email": "ap@customer.no", "name": "Kari Nordmann"},
        }},
    },
    indent=1,
)  # fmt: skip
_VIPPS_EVENT = json.dumps(
    {
        "msn": "123456", "reference": "3f1c2a9e8b7d4c6a9e8b7d4c6a9e8b7d",
        "pspReference": "7686f7788898767977", "name": "CAPTURED",
        "amount": {"currency": "NOK", "value": 644750},
        "timestamp": "2026-12-07T14:03:21.000Z", "idempotencyKey": "c7b3a1d2", "success": True,
    },
    indent=1,
)  # fmt: skip

#: Example bodies of the routes that read a file, by operation: the media type and the file.
RAW_EXAMPLES: dict[tuple[str, str], tuple[str, str]] = {
    ("post", "/portal/providers/stripe/webhook"): ("application/json", _STRIPE_EVENT),
    ("post", "/portal/providers/vipps/webhook"): ("application/json", _VIPPS_EVENT),
    ("post", "/responses"): ("application/xml", _INVOICE_RESPONSE),
    ("post", "/bounces"): ("message/rfc822", _DSN),
    ("post", "/edi"): ("application/EDIFACT", _CONTRL),
    ("post", "/pods"): ("application/EDIFACT", _IFTSTA),
    ("post", "/remittances"): ("application/xml", _CAMT054),
    ("post", "/inbound"): ("application/xml", _INVOICE_RESPONSE),
}


def _model_name(schema: dict[str, Any]) -> str | None:
    """The component a body schema names: `{"$ref": …}`, or an optional body's `anyOf: [$ref, null]`."""
    for option in [schema, *schema.get("anyOf", [])]:
        if "$ref" in option:
            return str(option["$ref"]).rsplit("/", 1)[1]
    return None


def _document_request_example(
    path: str, method: str, operation: dict[str, Any], components: dict[str, Any]
) -> None:
    content: dict[str, Any] = operation.get("requestBody", {}).get("content", {})
    if not content or any("example" in media or "examples" in media for media in content.values()):
        return
    raw = RAW_EXAMPLES.get((method, path))
    if raw is not None and raw[0] in content:
        content[raw[0]]["example"] = raw[1]
        return
    by_name = {model.__name__: example for model, example in MODEL_EXAMPLES.items()}
    for media in content.values():
        name = _model_name(media.get("schema", {}))
        if name is None:
            continue
        own = components.get(name, {}).get("examples") or [None]
        example = by_name.get(name, own[0])
        if example is not None:
            media["example"] = example


# --- the document -----------------------------------------------------------------------------------------


def _add_components(components: dict[str, Any], models: list[type[BaseModel]]) -> None:
    """The models' schemas (and those they name) as components; a component FastAPI made stays as it is."""
    _, top = models_json_schema([(model, "validation") for model in models], ref_template=_REF)
    for name, schema in top.get("$defs", {}).items():
        components.setdefault(name, schema)


def _drop_unused(schema: dict[str, Any], names: tuple[str, ...]) -> None:
    components = schema["components"]["schemas"]
    for name in names:
        kept = {key: value for key, value in components.items() if key != name}
        if name in components and _REF.format(model=name) not in json.dumps({**schema, "components": kept}):
            del components[name]


def openapi_document(app: FastAPI) -> dict[str, Any]:
    """The generated document, completed: the canonical invoice (read as raw bytes for exact decimals, so
    never a declared parameter), the error envelope on every operation, answer models, example requests."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(
        title=app.title,
        version=app.version,
        description=app.description,
        routes=app.routes,
        separate_input_output_schemas=app.separate_input_output_schemas,
    )
    components: dict[str, Any] = schema.setdefault("components", {}).setdefault("schemas", {})
    invoice_schema = Invoice.model_json_schema(ref_template=_REF)
    components.update(invoice_schema.pop("$defs", {}))
    components["Invoice"] = invoice_schema
    _add_components(components, [ErrorEnvelope, *ANSWERS.values(), *HAND_READ_BODIES])
    schema["components"].setdefault("headers", {})[REQUEST_ID_HEADER] = _REQUEST_ID_COMPONENT
    for path, item in schema.get("paths", {}).items():
        for method, operation in item.items():
            _document_answer(path, method, operation)
            _document_errors(path, method, operation)
            _document_request_example(path, method, operation, components)
    _drop_unused(schema, ("HTTPValidationError", "ValidationError"))
    app.openapi_schema = schema
    return schema


# --- the pages --------------------------------------------------------------------------------------------

ASSETS_PATH = "/docs/assets"
#: The files the pages load, as `fastapi-offline` ships them (Swagger UI 5, ReDoc 2), and their types.
ASSETS: dict[str, str] = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "redoc.standalone.js": "text/javascript",
    "favicon.png": "image/png",
}


@cache
def _asset(name: str) -> bytes:
    return files("fastapi_offline").joinpath("static", name).read_bytes()


#: The documentation pages may load nothing from another host. The ReDoc bundle names one image on a CDN
#: (the "powered by" logo in its menu); this policy keeps the browser from asking for it, and the style below
#: hides the empty space where it would be.
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; worker-src 'self' blob:; connect-src 'self'"
)
_HIDE_POWERED_BY = '<style>a[href*="redocly"] img { display: none; }</style>'


def _offline(page: HTMLResponse) -> HTMLResponse:
    page.headers["Content-Security-Policy"] = DOCS_CONTENT_SECURITY_POLICY
    return page


def install_docs(app: FastAPI) -> None:
    """`/docs`, `/redoc` and the files they load, all from the package (create the app with
    `docs_url=None, redoc_url=None` so FastAPI's CDN-loading pages are not there as well)."""
    openapi_url = app.openapi_url or "/openapi.json"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return _offline(
            get_swagger_ui_html(
                openapi_url=openapi_url,
                title=f"{app.title} – API",
                swagger_js_url=f"{ASSETS_PATH}/swagger-ui-bundle.js",
                swagger_css_url=f"{ASSETS_PATH}/swagger-ui.css",
                swagger_favicon_url=f"{ASSETS_PATH}/favicon.png",
                # Swagger UI's default validator badge is an image from validator.swagger.io: off.
                swagger_ui_parameters={"validatorUrl": None, "persistAuthorization": True},
            )
        )

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        page = get_redoc_html(
            openapi_url=openapi_url,
            title=f"{app.title} – API",
            redoc_js_url=f"{ASSETS_PATH}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_PATH}/favicon.png",
            with_google_fonts=False,
        )
        html = bytes(page.body).decode("utf-8").replace("</head>", _HIDE_POWERED_BY + "</head>", 1)
        return _offline(HTMLResponse(html))

    @app.get(ASSETS_PATH + "/{name}", include_in_schema=False)
    def asset(name: str) -> Response:
        media_type = ASSETS.get(name)
        if media_type is None:
            raise HTTPException(404, f"no documentation asset {name}")
        return Response(
            _asset(name), media_type=media_type, headers={"Cache-Control": "public, max-age=86400"}
        )
