"""The customer portal ("invoice hotel"): the seller's customers, their sign-in links and sessions, their card
checkouts through a payment provider, the provider's webhook events and payouts.

A portal customer is one receiver of one tenant (`receiver_id`, the customer id the tenant's invoices route
by); a `PortalUser` is one e-mail address allowed to sign in for it. Secrets are never stored: a sign-in link
and a session are kept as the SHA-256 of their random token, a password as an argon2id hash.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import JSON, Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from db.models.base import UTCDateTime, new_id, timestamp_column, utcnow


class PortalUser(SQLModel, table=True):
    """An e-mail address that may sign in to one customer's pages of one seller (tenant).

    Made when ops invite the address, or on the first sign-in link asked for by the address the customer's
    receiver profile names (`addresses.email`)."""

    __tablename__ = "portal_users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "receiver_id", "email", name="uq_portal_user"),
        Index("ix_portal_users_email", "tenant_id", "email"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    receiver_id: str = Field(max_length=100, description="the customer: the tenant's receiver id")
    email: str = Field(max_length=320, description="lower-cased")
    password_hash: str | None = Field(default=None, max_length=200, description="argon2id; optional")
    language: str = Field(default="nb", max_length=5, description="nb or en")
    invited_by: str | None = Field(default=None, max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_sign_in_at: dt.datetime | None = timestamp_column(nullable=True)
    disabled_at: dt.datetime | None = timestamp_column(nullable=True)


class PortalLinkToken(SQLModel, table=True):
    """A one-time sign-in (or invitation) link: short-lived, single-use, and for a sign-in link bound to the
    browser that asked for it (`browser_hash`: the SHA-256 of a random value in that browser's cookie)."""

    __tablename__ = "portal_link_tokens"

    id: str = Field(primary_key=True, max_length=64, description="SHA-256 of the link's token")
    user_id: str = Field(foreign_key="portal_users.id", index=True, max_length=32)
    purpose: str = Field(max_length=20, description="sign-in or invite")
    browser_hash: str | None = Field(default=None, max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    used_at: dt.datetime | None = timestamp_column(nullable=True)


class PortalSession(SQLModel, table=True):
    """One browser in the portal: a signed-in customer user, or a visitor who opened one invoice's
    "view online / pay" link (`invoice_id` set, `user_id` empty: that invoice only)."""

    __tablename__ = "portal_sessions"

    id: str = Field(primary_key=True, max_length=64, description="SHA-256 of the session token")
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    receiver_id: str = Field(max_length=100)
    user_id: str | None = Field(default=None, max_length=32, index=True)
    invoice_id: str | None = Field(default=None, max_length=32, description="an invoice link's one invoice")
    csrf_token: str = Field(max_length=64)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    last_seen_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    expires_at: dt.datetime = Field(sa_column=Column(UTCDateTime(), nullable=False))
    ended_at: dt.datetime | None = timestamp_column(nullable=True)


class PortalLinkRequest(SQLModel, table=True):
    """A sign-in link asked for: what the rate limit counts, by address (its SHA-256) and by client."""

    __tablename__ = "portal_link_requests"
    __table_args__ = (
        Index("ix_portal_link_requests_email", "email_hash", "at"),
        Index("ix_portal_link_requests_client", "client", "at"),
    )

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str = Field(max_length=64)
    email_hash: str = Field(max_length=64)
    client: str = Field(max_length=100)
    at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))


class CardCheckout(SQLModel, table=True):
    """A customer's checkout of one or several open invoices at a payment provider (Stripe Checkout, Vipps
    ePayment): opened by the portal, finished by the provider's signed webhook, which books a card payment
    advice (`payment_id`) through the remittance model."""

    __tablename__ = "card_checkouts"
    __table_args__ = (
        UniqueConstraint("provider", "provider_reference", name="uq_card_checkout_reference"),
        Index("ix_card_checkouts_tenant", "tenant_id", "receiver_id", "created_at"),
    )

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64)
    receiver_id: str = Field(max_length=100)
    provider: str = Field(max_length=20, description="stripe or vipps")
    provider_reference: str | None = Field(
        default=None, max_length=200, description="Stripe's checkout session id, or our Vipps reference"
    )
    invoice_ids: list[str] = Field(sa_column=Column(JSON, nullable=False))
    amount: str = Field(max_length=40)
    currency: str = Field(max_length=3)
    status: str = Field(default="open", max_length=20, description="open, paid, expired, declined, failed")
    redirect_url: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    provider_payment: str | None = Field(
        default=None, max_length=200, description="Stripe's payment intent, Vipps' pspReference"
    )
    payment_id: str | None = Field(default=None, max_length=32, description="the card payment advice booked")
    created_by: str = Field(max_length=200)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    completed_at: dt.datetime | None = timestamp_column(nullable=True)
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))


class ProviderEvent(SQLModel, table=True):
    """A payment provider's webhook event as received (signature checked): kept once per event id, so a
    repeated webhook changes nothing."""

    __tablename__ = "provider_events"
    __table_args__ = (UniqueConstraint("provider", "event_id", name="uq_provider_event"),)

    id: int | None = Field(default=None, primary_key=True)
    tenant_id: str | None = Field(default=None, max_length=64, index=True)
    provider: str = Field(max_length=20)
    event_id: str = Field(max_length=200)
    event_type: str = Field(max_length=100)
    received_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    outcome: str = Field(max_length=40, description="booked, ignored, late, declined, expired, payout …")
    detail: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    checkout_id: str | None = Field(default=None, max_length=32)


class CardPayout(SQLModel, table=True):
    """A provider's payout to the seller's bank account, bundling card payments already booked as advices:
    the bank statement's entry for it is reconciled against them (`bank_payment_id`), never matched again."""

    __tablename__ = "card_payouts"
    __table_args__ = (UniqueConstraint("provider", "payout_reference", name="uq_card_payout"),)

    id: str = Field(default_factory=new_id, primary_key=True, max_length=32)
    tenant_id: str = Field(foreign_key="tenants.id", max_length=64, index=True)
    provider: str = Field(max_length=20)
    payout_reference: str = Field(max_length=200, description="Stripe's po_…, Vipps' settlement id")
    amount: str = Field(max_length=40, description="what reaches the bank: the advices less the fees")
    gross: str = Field(max_length=40, description="the card payments it bundles")
    fees: str = Field(max_length=40)
    currency: str = Field(max_length=3)
    arrival_date: dt.date | None = None
    payment_ids: list[str] = Field(sa_column=Column(JSON, nullable=False), description="advices bundled")
    status: str = Field(default="announced", max_length=20, description="announced, reconciled")
    bank_payment_id: str | None = Field(default=None, max_length=32)
    created_at: dt.datetime = Field(default_factory=utcnow, sa_column=Column(UTCDateTime(), nullable=False))
    reconciled_at: dt.datetime | None = timestamp_column(nullable=True)
    data: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
