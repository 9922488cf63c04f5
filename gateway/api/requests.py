"""What clients send as JSON bodies (files are read raw: see `gateway.api.bodies`)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field


class ResendRequest(BaseModel):
    reason: str | None = Field(None, max_length=1000, examples=["customer says the invoice never arrived"])
    channel: str | None = Field(None, max_length=50, description="another channel (a new delivery)")
    address: str | None = Field(None, max_length=500, description="another address on the channel")
    cancel_others: bool = Field(
        False, description="cancel the invoice's other deliveries still waiting (e.g. a print fallback)"
    )


class InvoiceResendRequest(BaseModel):
    reason: str | None = Field(None, max_length=1000, examples=["customer says the goods never arrived"])
    with_pod: bool = Field(False, description="send the invoice's linked proofs of delivery with it")
    channel: str | None = Field(None, max_length=50, description="another channel (a new delivery)")
    to: str | None = Field(None, max_length=500, description="another address on the channel")
    cancel_others: bool = Field(
        False, description="cancel the invoice's other deliveries still waiting (e.g. a print fallback)"
    )


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
    cancel_others: bool = Field(
        False, description="cancel the invoice's other deliveries still waiting (e.g. a print fallback)"
    )


class CancelRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


class PodLinkRequest(BaseModel):
    invoice_id: str = Field(min_length=1, max_length=100, description="the invoice's id or number")


class ResolveRequest(BaseModel):
    reason: str = Field(min_length=1, max_length=1000, examples=["the partner confirmed receipt by phone"])


class AllocationRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    invoice_id: str = Field(min_length=1, max_length=100, description="the invoice's id or number")
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


class CustomerGroupRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer: str = Field(
        min_length=1,
        max_length=200,
        description="the customer paid for: its customer key or organisation number",
        examples=["org:0192:910667831"],
    )
    parent: str = Field(
        min_length=1,
        max_length=200,
        description="the customer that pays for it (key or organisation number)",
        examples=["923609016"],
    )


class WebhookRequest(BaseModel):
    url: str = Field(
        min_length=1,
        max_length=1000,
        examples=["https://erp.example.com/hooks/gateway"],
        description="http(s) URL whose host resolves to public addresses only (checked when saved and at "
        "every send; private ones only if the operator allows them); a name that does not resolve is "
        "refused, so the example's erp.example.com stands for your ERP's real name. https: the "
        "certificate must be valid for the host name",
    )
    events: list[str] = Field(
        default_factory=lambda: ["*"],
        description='"delivery.status_changed", "deviation.opened", "deviation.closed", or "*"',
    )
    secret: str | None = Field(
        None, min_length=16, max_length=200, description="your own signing secret; unset: one is generated"
    )
    active: bool = True


class CollectionExportRequest(BaseModel):
    """Which invoices to hand off to collection (every candidate when none are named), and on which date."""

    model_config = ConfigDict(extra="forbid")

    invoice_ids: list[Annotated[str, Field(min_length=1, max_length=32)]] | None = Field(
        None, max_length=10000, description="invoice ids; each must be a candidate on the date"
    )
    on: dt.date | None = Field(None, description="the day (default: today in Oslo)")


class StatementRunRequest(BaseModel):
    """The day of the statements (default: today in Oslo), and whether only to say what would be written."""

    model_config = ConfigDict(extra="forbid")

    date: dt.date | None = None
    dry_run: bool = False
