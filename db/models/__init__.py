"""Every table, one module per area; imported here so the metadata (and Alembic) sees them all."""

from __future__ import annotations

from db.models.avtalegiro import (
    AvtaleGiroCancellation,
    AvtaleGiroCounter,
    AvtaleGiroMandate,
    AvtaleGiroTransmission,
)
from db.models.base import UTCDateTime, new_id, timestamp_column, utcnow
from db.models.console import ConsoleLoginAttempt, ConsoleSession, ConsoleUser
from db.models.documents import DocumentBlob, DocumentChunk
from db.models.edi import EdiControlCounter, EdiInterchange, TradingPartnerRecord
from db.models.efaktura import EfakturaRecipient
from db.models.followup import (
    CollectionHandoff,
    Dispute,
    DisputeMessage,
    FollowUpDecision,
    FollowUpRun,
    FollowUpState,
    PaymentPromise,
    ReminderNotice,
    ReminderNoticeItem,
)
from db.models.inbound import DigipostEventCursor, InboundDocument, PodLink, ProofOfDelivery
from db.models.ledger import LedgerExport, LedgerLine, LedgerPeriod, LedgerSource, LedgerVoucher
from db.models.outbox import (
    Batch,
    BatchItem,
    Delivery,
    DeliveryEvent,
    Deviation,
    InvoiceRecord,
    StoredDocument,
)
from db.models.payments import (
    CustomerGroupLink,
    MatchingLease,
    PayerAlias,
    PayerObservation,
    PaymentAllocation,
    PaymentRecord,
    ReferencePattern,
    RemittanceFile,
    RemittanceLineRecord,
)
from db.models.portal import (
    CardCheckout,
    CardPayout,
    PortalLinkRequest,
    PortalLinkToken,
    PortalSession,
    PortalUser,
    ProviderEvent,
)
from db.models.search import BuyerName
from db.models.tenants import ApiToken, Participant, Receiver, Tenant, TenantEvent
from db.models.webhooks import WebhookEndpoint, WebhookEvent

__all__ = [
    "ApiToken",
    "AvtaleGiroCancellation",
    "AvtaleGiroCounter",
    "AvtaleGiroMandate",
    "AvtaleGiroTransmission",
    "Batch",
    "BatchItem",
    "BuyerName",
    "CardCheckout",
    "CardPayout",
    "CollectionHandoff",
    "ConsoleLoginAttempt",
    "ConsoleSession",
    "ConsoleUser",
    "CustomerGroupLink",
    "Delivery",
    "DeliveryEvent",
    "Deviation",
    "DigipostEventCursor",
    "Dispute",
    "DisputeMessage",
    "DocumentBlob",
    "DocumentChunk",
    "EdiControlCounter",
    "EdiInterchange",
    "EfakturaRecipient",
    "FollowUpDecision",
    "FollowUpRun",
    "FollowUpState",
    "InboundDocument",
    "InvoiceRecord",
    "LedgerExport",
    "LedgerLine",
    "LedgerPeriod",
    "LedgerSource",
    "LedgerVoucher",
    "MatchingLease",
    "Participant",
    "PayerAlias",
    "PayerObservation",
    "PaymentAllocation",
    "PaymentPromise",
    "PaymentRecord",
    "PodLink",
    "PortalLinkRequest",
    "PortalLinkToken",
    "PortalSession",
    "PortalUser",
    "ProofOfDelivery",
    "ProviderEvent",
    "Receiver",
    "ReferencePattern",
    "ReminderNotice",
    "ReminderNoticeItem",
    "RemittanceFile",
    "RemittanceLineRecord",
    "StoredDocument",
    "Tenant",
    "TenantEvent",
    "TradingPartnerRecord",
    "UTCDateTime",
    "WebhookEndpoint",
    "WebhookEvent",
    "new_id",
    "timestamp_column",
    "utcnow",
]
