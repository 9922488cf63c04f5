"""The canonical invoice as JSON: the gateway's own format, both directions.

Parsing keeps every number exact (`Decimal`, never float) and bounds the input size; a document that does
not validate is a `FormatError` per field with the reason (EN 16931 rule ids included).
"""

from __future__ import annotations

import hashlib
import json
from decimal import Decimal
from typing import Any, Literal, overload

from pydantic import ValidationError

from mappings.base import FormatError, RenderedDocument
from schemas.canonical import VALIDATED_BEFORE, Invoice
from schemas.invoice_profiles import profile_name

FORMAT_NAME = "canonical-json"
MEDIA_TYPE = "application/json"
MAX_DOCUMENT_BYTES = 25_000_000


def loads_exact(data: bytes | str, *, max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """JSON with every non-integer number as `Decimal`; oversize or malformed input is a `FormatError`."""
    if len(data) > max_bytes:
        raise FormatError("body", f"document is {len(data)} bytes, the limit is {max_bytes}")
    try:
        return json.loads(data, parse_float=Decimal, parse_constant=_refuse_constant)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise FormatError("body", f"not valid JSON ({error})") from None
    except RecursionError:
        raise FormatError("body", "JSON nested too deeply") from None


def _refuse_constant(name: str) -> Any:
    raise FormatError("body", f"{name} is not a number JSON allows")


def error_entries(error: ValidationError, prefix: str = "") -> list[dict[str, Any]]:
    """Pydantic errors as the gateway reports them: field path, reason, and EN 16931 rule ids if any."""
    entries: list[dict[str, Any]] = []
    for item in error.errors(include_url=False):
        location = ".".join(str(part) for part in item["loc"])
        field = f"{prefix}.{location}" if prefix and location else (prefix or location or "body")
        violations = (item.get("ctx") or {}).get("violations")
        if violations:
            # EN 16931 rules are checked on the whole document; each names its own field.
            for violation in violations:
                path = f"{prefix}.{violation['field']}" if prefix else violation["field"]
                entries.append({"field": path, "reason": violation["reason"], "rule": violation["rule"]})
            continue
        entries.append({"field": field, "reason": item["msg"], "type": item["type"]})
    return entries


class InvoiceValidationError(FormatError):
    """An invoice payload that fails the canonical model: every field error, with its path."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        first = errors[0] if errors else {"field": "body", "reason": "invalid"}
        super().__init__(first["field"], first["reason"])
        self.errors = errors


def invoice_from_data(data: Any) -> Invoice:
    try:
        return Invoice.model_validate(data)
    except ValidationError as error:
        raise InvoiceValidationError(error_entries(error)) from None


@overload
def parse(data: bytes | str, *, many: Literal[False] = False) -> Invoice: ...


@overload
def parse(data: bytes | str, *, many: Literal[True]) -> list[Invoice]: ...


def parse(data: bytes | str, *, many: bool = False) -> Invoice | list[Invoice]:
    """Canonical JSON → `Invoice` (exact decimals, all EN 16931 arithmetic checked).

    `many=True` reads what bulk intake takes — one invoice or a list of them — as a list; an item that does
    not validate is an `InvoiceValidationError` whose fields are prefixed with its index (`[1].seller.name`).
    """
    parsed = loads_exact(data)
    if not many:
        return invoice_from_data(parsed)
    if not isinstance(parsed, list):
        return [invoice_from_data(parsed)]
    if not parsed:
        raise FormatError("body", "an empty list holds no invoice")
    invoices: list[Invoice] = []
    for index, item in enumerate(parsed):
        try:
            invoices.append(Invoice.model_validate(item))
        except ValidationError as error:
            raise InvoiceValidationError(error_entries(error, prefix=f"[{index}]")) from None
    return invoices


def payload_sha256(payload: bytes | str) -> str:
    """The SHA-256 (hex) of a stored canonical payload, as intake records it for the invoice (intake's
    `payload_digest` is this of the payload it stores, unless it changed the invoice after: a KID it gave)."""
    return hashlib.sha256(payload.encode() if isinstance(payload, str) else payload).hexdigest()


def stored_invoice(payload: str, recorded_sha256: str | None) -> Invoice:
    """An invoice stored by intake → `Invoice`, without checking again what intake checked.

    When `payload` is byte for byte what intake accepted (its SHA-256 is the one recorded with it) the
    model is built with `VALIDATED_BEFORE`: types and decimals are parsed, the expensive rules that gave
    their verdict on the same bytes are not run again. Anything else (no checksum, a payload edited or
    corrected since) is parsed and checked in full, like `parse`.
    """
    if recorded_sha256 is None or payload_sha256(payload) != recorded_sha256:
        return parse(payload)
    try:
        # our own `model_dump_json`: amounts are JSON strings, so pydantic's JSON reader keeps them exact
        return Invoice.model_validate_json(payload, context={VALIDATED_BEFORE: True})
    except ValidationError as error:  # a rule changed since intake: the full check names what it is
        raise InvoiceValidationError(error_entries(error)) from None


def render(invoice: Invoice) -> RenderedDocument:
    """`Invoice` → canonical JSON bytes (amounts as exact decimal strings, routing left out)."""
    content = invoice.model_dump_json(indent=2, exclude_none=True, exclude={"routing"}).encode()
    return RenderedDocument(format=FORMAT_NAME, content=content, media_type=MEDIA_TYPE, extension="json")


def sniff(data: bytes) -> bool:
    head = data.lstrip()[:1]
    return head in {b"{", b"["} and b'"lines"' in data and b'"seller"' in data


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from a canonical JSON file (one invoice, or a list for bulk intake)."""
    parsed = loads_exact(data)
    items = parsed if isinstance(parsed, list) else [parsed]
    documents: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        try:
            invoice = invoice_from_data(item)
        except InvoiceValidationError as error:
            documents.append({"index": index, "valid": False, "errors": error.errors})
            continue
        documents.append({"index": index, "valid": True, **invoice_summary(invoice)})
    return {"format": FORMAT_NAME, "documents": documents}


def invoice_summary(invoice: Invoice) -> dict[str, Any]:
    """The facts a person checks first: who, what, how much, when, and how to pay; and any amount accepted
    within an official rule's tolerance (`warnings`, only when there is one)."""
    summary: dict[str, Any] = {
        "document_type": invoice.document_type.value,
        "type_code": invoice.effective_type_code,
        "profile": profile_name(invoice.customization_id),
        "customization_id": invoice.customization_id,
        "profile_id": invoice.profile_id,
        "number": invoice.number,
        "issue_date": invoice.issue_date.isoformat(),
        "due_date": invoice.due_date.isoformat() if invoice.due_date else None,
        "currency": invoice.currency,
        "seller": invoice.seller.name,
        "buyer": invoice.buyer.name,
        "lines": len(invoice.lines),
        "tax_exclusive": str(invoice.totals.tax_exclusive),
        "tax_amount": str(invoice.totals.tax_amount),
        "payable": str(invoice.totals.payable),
        "payment_reference": invoice.kid,
        "order_reference": invoice.order_reference,
    }
    warnings = invoice.arithmetic_warnings
    if warnings:
        summary["warnings"] = [warning.as_dict() for warning in warnings]
    return summary
