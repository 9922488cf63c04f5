"""What the API answers with: one model per view the services build, for OpenAPI and for checking.

The services build these views as plain dicts (the CLI prints the same ones); the models here say
which keys and types a client gets. Timestamps and dates stay the ISO text the services wrote and
amounts the exact decimal text they were stored as, so typing a view never changes a value.
`extra="allow"`: a key a service adds later reaches clients even before it is typed here (and a test
in tests/api says that it is not typed yet).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from gateway.api.errors import ErrorItem
from outbox.states import DeliveryStatus


class View(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- deliveries and invoices ------------------------------------------------------------------------------


class DeliveryEventView(View):
    """One entry of a delivery's append-only history."""

    at: str
    attempt: int
    from_status: str | None = Field(alias="from")
    to: str
    actor: str
    reason: str | None
    channel_message_id: str | None
    details: dict[str, Any] | None


class DeliveryView(View):
    """One invoice going out through one channel: where it stands and when it is tried next."""

    id: str
    invoice_id: str | None = Field(
        None, description="None for a document that is no invoice (an EDI acknowledgement of ours)"
    )
    channel: str
    format: str | None
    address: str | None
    chain_position: int = Field(description="0 = the preferred channel, 1… = fallbacks")
    status: DeliveryStatus
    attempt: int = Field(description="1 = the first send; a resend starts the next attempt")
    tries: int
    next_attempt_at: str
    last_error: str | None
    channel_message_id: str | None
    extra_documents: list[str] = Field(description="stored documents sent with this attempt (PODs)")
    created_at: str
    updated_at: str


class DeliveryWithHistory(DeliveryView):
    events: list[DeliveryEventView]


class DeliveryPage(View):
    items: list[DeliveryView]
    limit: int
    offset: int


class PodSummary(View):
    """A proof of delivery as listed beside an invoice."""

    id: str
    kind: str = Field(description="pdf, jpeg, png, transport-status")
    source: str
    filename: str | None
    document_id: str | None
    signer_name: str | None
    signed_at: str | None
    place: str | None
    status: str | None
    references: dict[str, list[str]] = Field(
        description="order_numbers, delivery_notes, shipment_ids, invoice_numbers → the values found"
    )
    linked: bool
    received_at: str


class PaymentHintView(View):
    """What a buyer or payer said about paying an invoice, without money: never booked."""

    payment_id: str
    kind: str
    amount: str
    currency: str | None
    paid_on: str | None
    from_payer: str | None = Field(alias="from")
    note: str | None


class InvoiceAllocationView(View):
    payment_id: str
    amount: str
    write_off: str
    by: str
    at: str
    reversed_at: str | None


class InvoicePaymentsView(View):
    """An invoice's payment side: open amount, status, every allocation (reversed ones marked)."""

    payment_status: str = Field(description="unpaid, partially_paid, paid, overpaid")
    hints: list[PaymentHintView]
    open_amount: str
    paid_at: str | None
    allocations: list[InvoiceAllocationView]


class ArithmeticWarningView(View):
    """A stated amount the official CEN/PEPPOL rule accepts although it differs from the exact figure."""

    rule: str = Field(description="the official rule, e.g. BR-CO-17 or PEPPOL-EN16931-R120")
    field: str = Field(description="the invoice field, e.g. vat_breakdown.0.tax_amount")
    stated: str = Field(description="the amount as the invoice states it (kept and sent)")
    computed: str = Field(description="the exact figure the rule computes")
    difference: str = Field(description="stated − computed")
    tolerance: str = Field(description="what the official rule allows")
    message: str


class CreditWarningView(View):
    """Intake found the customer over its credit limit (or stopped by its risk flag): the invoice was
    accepted and its delivery held for review (`hold`), or sent with this warning (`flag`)."""

    action: Literal["hold", "flag"]
    receiver_id: str
    currency: str
    balance: str = Field(description="the customer's open balance after this invoice")
    limit: str | None = Field(description="the receiver profile's credit_limit")
    risk_flag: str | None
    message: str


class InvoiceView(View):
    """An invoice's summary with every delivery and its full history, its PODs and its payments."""

    id: str
    number: str
    document_type: str
    issue_date: str
    due_date: str | None
    currency: str
    payable_amount: str
    buyer_name: str
    receiver_id: str | None
    payment_reference: str | None
    created_at: str
    deliveries: list[DeliveryWithHistory]
    proofs_of_delivery: list[PodSummary]
    payment: InvoicePaymentsView
    warnings: list[ArithmeticWarningView] = Field(
        default_factory=list, description="amounts accepted within an official rule's tolerance"
    )
    credit_warning: CreditWarningView | None = Field(
        None, description="over the customer's credit limit at intake: held for review or flagged"
    )


class SiblingView(View):
    """Another delivery of the invoice that was still waiting when it was sent again."""

    delivery_id: str
    channel: str
    address: str | None
    waited_as: str = Field(description="queued, held, or batched (in a print batch not yet closed)")
    status: str = Field(description="its status now: cancelled if cancel_others, else as it waited")
    cancelled: bool


class ResentDeliveryView(DeliveryView):
    """The delivery queued again, and the invoice's other deliveries that were still waiting."""

    siblings: list[SiblingView] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list, description="per sibling: left waiting, or cancelled")


class ResendTarget(View):
    delivery_id: str
    channel: str
    address: str | None
    status: str
    attempt: int


class CorrectionOutcome(View):
    """What a correction changed, and where the corrected invoice goes (or went) again."""

    corrected: list[str] = Field(description="invoice fields, e.g. buyer.contact.email")
    channels: list[str] = Field(description="the channels those fields address (email, print, peppol)")
    readdressed: list[dict[str, str | None]] = Field(
        description="deliveries now sent to the corrected address: delivery_id, channel, before, after"
    )
    resend_target: ResendTarget | None = Field(description="the delivery a resend goes to")
    resent: bool
    siblings: list[SiblingView]
    warnings: list[str]


class CorrectedInvoiceView(InvoiceView):
    correction: CorrectionOutcome


class DeliverySummaryView(View):
    """A delivery as an invoice search lists it beside its invoice."""

    id: str
    channel: str
    status: DeliveryStatus
    attempt: int
    updated_at: str


class InvoiceSummaryView(View):
    """An invoice as a search lists it: what identifies it, what is owed, where its deliveries stand."""

    id: str
    number: str
    document_type: str
    issue_date: str
    due_date: str | None
    currency: str
    payable_amount: str
    open_amount: str
    payment_status: str = Field(description="unpaid, partially_paid, paid, overpaid")
    buyer_name: str
    receiver_id: str | None
    payment_reference: str | None
    created_at: str
    deliveries: list[DeliverySummaryView]


class InvoiceList(View):
    """A page of an invoice search and the link to the next one."""

    items: list[InvoiceSummaryView]
    next: str | None = Field(
        description="the next page: the same search after this page's last invoice; null on the last page"
    )


# --- print batches -----------------------------------------------------------------------------------------


class BatchView(View):
    id: str
    tenant_id: str
    channel: str
    batch_key: str
    cutoff_at: str
    status: str = Field(description="ready, sending, sent, accepted, rejected, failed")
    documents: int
    tries: int
    next_attempt_at: str
    last_error: str | None
    sent_at: str | None
    summary: dict[str, Any] | None


class BatchItemView(View):
    sequence: int | None
    delivery_id: str
    invoice_id: str
    attempt: int
    delivery_status: str
    print_outcome: str | None = Field(description="what the print house reported: printed, posted, returned")
    pages: int | None
    invoice_number: str | None


class BatchWithItems(BatchView):
    items: list[BatchItemView]


class WaitingDocuments(View):
    """Staged documents waiting for their cut-off, counted per tenant, channel, key and cut-off."""

    tenant_id: str
    channel: str
    batch_key: str
    due_at: str
    items: int


class BatchList(View):
    items: list[BatchView]
    waiting: list[WaitingDocuments]


# --- AvtaleGiro ------------------------------------------------------------------------------------------


class MandateView(View):
    """A payer's AvtaleGiro mandate with the tenant, as Nets' agreements files last described it."""

    kid: str
    status: Literal["active", "deleted"]
    notify: bool = Field(description="the payer wants the bank to notify each claim")
    registration: str = Field(description="what Nets said last: new or updated, deleted, active")
    source_file: str | None
    created_at: str
    updated_at: str


class MandateList(View):
    items: list[MandateView]
    next: str | None = None


# --- deviations ------------------------------------------------------------------------------------------


class DeviationAction(View):
    action: str
    hint: str
    channels: list[str] | None = Field(None, description="resend-elsewhere only: the channels to try")


class CoveringDelivery(View):
    """The delivery that took over from a covered deviation's (a fallback, or a resend elsewhere)."""

    delivery_id: str
    channel: str
    status: str


class DeviationView(View):
    id: str
    status: str = Field(
        description="open (needs someone), covered (another delivery took over: covered_by) or closed"
    )
    delivery_id: str
    invoice_id: str | None = Field(None, description="None for a delivery of a document that is no invoice")
    invoice_number: str | None
    buyer: str | None
    channel: str
    attempt: int
    cause: str
    detail: str | None
    opened_at: str
    closed_at: str | None
    closed_by: str | None
    closure: str | None = Field(description="resolved, resent, fallback")
    closure_reason: str | None
    delivery_status: str | None
    covered_by: CoveringDelivery | None = Field(None, description="covered: the delivery that took over")
    actions: list[DeviationAction]


class DeviationPage(View):
    items: list[DeviationView]
    limit: int
    offset: int


class DeviationResent(View):
    deviation: DeviationView
    delivery: DeliveryView
    siblings: list[SiblingView] = Field(default_factory=list)
    warnings: list[str] = Field(default_factory=list)


# --- proofs of delivery ------------------------------------------------------------------------------------


class PodLinkView(View):
    invoice_id: str
    number: str
    linked_by: str
    actor: str
    linked_at: str


class StoredDocumentView(View):
    id: str
    sha256: str
    size: int
    media_type: str
    filename: str


class PodSuggestion(View):
    """An invoice an unlinked POD may belong to, and why."""

    invoice_id: str
    number: str
    score: float
    why: list[str]


class PodView(PodSummary):
    """A POD with its links (invoice, by what, who, when), suggestions and stored file."""

    links: list[PodLinkView]
    suggestions: list[PodSuggestion] = Field(description="up to three, while the POD is unlinked")
    document: StoredDocumentView | None


class PodPage(View):
    items: list[PodView]
    limit: int
    offset: int


# --- webhooks ----------------------------------------------------------------------------------------------


class WebhookEndpointView(View):
    id: str
    url: str
    events: list[str]
    active: bool
    created_at: str


class WebhookEndpointList(View):
    items: list[WebhookEndpointView]


# --- remittances and payments ------------------------------------------------------------------------------


class PaymentSummary(View):
    """A payment in a list: what it is and what became of it."""

    id: str
    position: str
    kind: str
    status: str
    amount: str
    currency: str
    payer_name: str | None
    confidence: float | int | None
    applied_amount: str | None
    note: str | None
    duplicate_of: str | None
    invoices: list[str | None] = Field(description="the invoice numbers an applied payment settled")


class PaymentAllocationView(View):
    invoice_id: str
    number: str
    amount: str
    write_off: str
    by: str
    at: str
    reversed_at: str | None
    reversed_by: str | None


class PaymentView(View):
    """One payment: what the file said, the engine's evidence and suggestions, what was applied."""

    id: str
    file_id: str
    position: str
    kind: str
    status: str = Field(
        description="new, applied, needs_approval, exception, ignored, duplicate, resolved, hint, reconciled "
        "(a payment provider's payout, reconciled against the card payments it bundles)"
    )
    direction: str
    amount: str
    currency: str
    booking_date: str | None
    value_date: str | None
    payer_name: str | None
    payer_account: str | None
    bank_reference: str | None
    customer_key: str | None
    confidence: float | int | None
    applied_amount: str | None
    write_off: str | None
    unapplied: str | None
    duplicate_of: str | None
    note: str | None
    decided_by: str | None
    decided_at: str | None
    remittance: dict[str, Any] = Field(description="the payment as the file said it")
    decision: dict[str, Any] | None = Field(description="the engine's evidence, proposal and suggestions")
    allocations: list[PaymentAllocationView]


class PaymentList(View):
    items: list[PaymentView]


class LearnedGroupView(View):
    customer: str = Field(description="the customer paid for (a member)")
    parent: str = Field(description="the customer that paid (known by its account or name)")


class Learned(View):
    """What a person's resolution taught the matcher for this payer (empty when `learn` was false)."""

    accounts: list[str] = Field(default_factory=list, description="payer accounts now tied to the customer")
    aliases: list[str] = Field(default_factory=list, description="payer names now tied to the customer")
    patterns: list[str] = Field(default_factory=list, description="reference patterns (regular expressions)")
    groups: list[LearnedGroupView] = Field(
        default_factory=list,
        description="customer groups: a payer known as one customer paid another's items, so it pays for it",
    )


class CustomerGroupView(View):
    """One customer group link: `parent` pays `customer`'s invoices; profile links carry no id."""

    id: str | None = Field(
        description="remove it with DELETE /matching/groups/{id}; none for a profile's link"
    )
    customer: str
    parent: str
    source: str = Field(description="profile, api, resolution")
    learned_from: str | None = Field(description="the payment whose resolution taught it")
    created_by: str
    created_at: str | None


class CustomerGroupList(View):
    items: list[CustomerGroupView]


class PaymentDecision(View):
    """A person's resolution booked, and what the gateway learned from it (accounts, aliases, patterns)."""

    payment: PaymentView
    learned: Learned


class RemittanceError(View):
    field: str | None
    reason: str | None


class RemittanceFileView(View):
    id: str
    format: str | None
    status: str = Field(description="accepted or rejected")
    source: str
    filename: str | None
    size: int
    sha256: str
    message_id: str | None
    payments: int
    credit_total: str | None
    currency: str | None
    received_at: str
    received_by: str | None
    error: RemittanceError | None
    kept: bool = Field(
        True, description="false: refused when the tenant's quota for refused files was full; body not kept"
    )
    warnings: list[str] = Field(
        default_factory=list, description="what the file was read with: tolerated departures from its schema"
    )


class RemittanceFileList(View):
    items: list[RemittanceFileView]


class RemittanceFileWithPayments(RemittanceFileView):
    payment_items: list[PaymentSummary]


class InvoiceOutcomes(View):
    paid: int
    partially_paid: int
    overpaid: int


class MatchRunView(View):
    """What one matching run did: counts and amounts by outcome."""

    tenant: str
    payments: int
    outcomes: dict[str, int]
    amounts: dict[str, str]
    open_items: int
    invoices: InvoiceOutcomes
    seconds: float


class PaymentsByStatus(View):
    by_status: dict[str, int]
    amount_by_status: dict[str, str]


class PerPaymentRates(View):
    matchable: int
    auto_applied: int
    auto_rate_pct: float
    false_auto_applied: int
    false_auto_rate_pct: float
    amount_matchable: str
    amount_auto_applied: str
    auto_rate_by_amount_pct: float
    false_auto_rate_by_amount_pct: float
    open_exceptions: int
    awaiting_approval: int


class PerInvoiceRates(View):
    invoices_with_payments: int
    settled_automatically: int
    auto_rate_pct: float
    amount_applied: str
    amount_applied_automatically: str


class MatchReport(View):
    """Match rates per payment and per invoice, by count and amount, with the false-auto rate."""

    tenant: str
    payments: PaymentsByStatus
    per_payment: PerPaymentRates
    per_invoice: PerInvoiceRates


class OverdueInvoice(View):
    id: str
    number: str
    due_date: str | None
    currency: str
    payable_amount: str
    open_amount: str
    payment_status: str
    buyer_name: str


class OverdueInvoiceList(View):
    items: list[OverdueInvoice]


class CustomerBalanceView(View):
    """What a customer owes in one currency, and its room under the credit limit."""

    currency: str
    balance: str = Field(description="open invoices minus unused credit notes")
    overdue_amount: str
    overdue_count: int
    open_invoices: int
    open_credit_notes: int
    headroom: str | None = Field(description="credit limit − balance (negative: over it); null: no limit")
    over_limit: bool


class CustomerSummaryView(View):
    """A customer (receiver) with its balances, credit limit and risk flag."""

    receiver_id: str
    name: str | None
    segment: str | None
    credit_limit: str | None
    risk_flag: str | None
    statements: bool
    over_limit: bool
    balances: list[CustomerBalanceView]


class CustomerDisputesView(View):
    count: int
    amount: str = Field(description="the disputed amounts (the open amount where a dispute names none)")


class CustomerPromisesView(View):
    open: int
    open_amount: str
    next_promised_on: str | None
    kept: int
    broken: int


class CustomerFollowUpView(View):
    level_reached: int = Field(description="the highest dunning level a notice was sent at")
    notices_sent: int
    notices_by_kind: dict[str, int]
    handed_off: int = Field(description="invoices handed to a collection agency")


class CustomerView(CustomerSummaryView):
    """`GET /receivables/customers/{receiver_id}`: everything credit control asks about one customer."""

    on: str = Field(description="the date overdue is counted at")
    disputes: CustomerDisputesView
    promises: CustomerPromisesView
    average_days_late: str | None = Field(
        description="mean of (payment date − due date) over paid invoices; negative: paid early"
    )
    paid_invoices: int
    follow_up: CustomerFollowUpView


class CustomerPage(View):
    items: list[CustomerSummaryView]
    limit: int
    offset: int


class CollectionCandidate(View):
    """An open invoice past its strategy's last level whose last deadline has passed."""

    invoice_id: str
    number: str
    receiver_id: str | None
    buyer_name: str
    due_date: str | None
    currency: str
    payable_amount: str
    open_amount: str
    level: int
    last_notice_on: str | None
    last_deadline: str | None
    fees_charged: str
    interest: str


class CollectionCandidateList(View):
    items: list[CollectionCandidate]


class CollectionExportView(View):
    """An export handed to a collection agency: its id (download it again at `download`)."""

    export_id: str
    filename: str
    count: int
    invoices: list[CollectionCandidate]
    download: str


class StatementView(View):
    """One customer's statement in one currency: written and queued, skipped (one per date), or a dry run."""

    receiver_id: str
    currency: str
    items: int
    total: str = Field(description="open invoices minus unused credit notes")
    notice_id: str | None
    status: str = Field(description="queued, sent … (the notice's), skipped, or dry_run")
    delivery_id: str | None
    skipped: str | None


class StatementRunView(View):
    date: str
    dry_run: bool
    statements: list[StatementView]


# --- answers of the routes that take a file or build their own answer -------------------------------------


class IntakeAnswer(View):
    """What became of one pushed invoice: created (201), a repeat (200); a conflict (409) and a rejection
    (422) carry `errors` and `request_id` as every error answer does."""

    index: int = Field(description="the invoice's position in the request (0 for a single push)")
    outcome: Literal["created", "duplicate", "conflict", "rejected"]
    status: int = Field(description="the HTTP status this outcome answers with")
    invoice_id: str | None = None
    number: str | None = None
    delivery_ids: list[str] = Field(default_factory=list)
    payment_reference: str | None = Field(None, description="the KID / structured reference, when set")
    errors: list[ErrorItem] = Field(default_factory=list)
    warnings: list[ArithmeticWarningView] = Field(
        default_factory=list, description="amounts accepted within an official rule's tolerance"
    )
    credit_warning: CreditWarningView | None = Field(
        None, description="over the customer's credit limit at intake: held for review or flagged"
    )


class BulkIntakeAnswer(View):
    """One result per invoice, in the order sent, and how many had each outcome."""

    summary: dict[str, int] = Field(description="outcome → count")
    results: list[IntakeAnswer]


class DsnRecipientView(View):
    """One recipient block of a delivery status notification (RFC 3464)."""

    action: str = Field(description="failed, delayed, delivered, relayed, expanded")
    status: str | None = Field(description="the enhanced status code, e.g. 5.1.1")
    final_recipient: str | None
    original_recipient: str | None = None
    diagnostic_type: str | None = None
    diagnostic_code: str | None = None
    remote_mta: str | None = None
    last_attempt_date: str | None = None
    will_retry_until: str | None = None


class BounceAnswer(View):
    """A received delivery status notification and what it did to the delivery it names."""

    id: str
    kind: str
    classification: str | None = Field(description="bounce, delay, delivered…")
    original_envelope_id: str | None
    message_id: str | None
    invoice_id: str | None
    delivery_id: str | None
    delivery_status: str | None
    attempt: int | None
    linked_by: str | None
    applied: bool = Field(description="whether the delivery moved")
    note: str | None
    duplicate: bool
    recipients: list[DsnRecipientView]


class StatusDocumentAnswer(View):
    """A received Invoice Response, MLR or MLS and what it did to the delivery it names."""

    id: str
    kind: str
    document_id: str | None
    response_code: str | None
    referenced_document_id: str | None
    invoice_id: str | None
    delivery_id: str | None
    delivery_status: str | None
    applied: bool
    note: str | None
    duplicate: bool
    validated: bool | None = Field(description="checked against the official rules; null for a repeat")


class EdiLinkView(View):
    """An interchange a received file was linked to: one of ours it acknowledges, or theirs it records."""

    interchange_id: str
    interchange_ref: str
    direction: str | None = Field(None, description="in: the partner's file as recorded")
    message_type: str | None = None
    group_ref: str | None = None
    message_refs: list[str] | None = None
    attempt: int | None = None
    ack_status: str | None = None
    delivery_id: str | None = None


class EdiAnswerSummary(View):
    """The acknowledgement written back to the partner."""

    kind: str = Field(description="CONTRL, 997 or 999")
    interchange_ref: str
    file: str | None
    written: str | None
    accepted: bool | None


class EdiProblem(View):
    """What was wrong in a received file; segment, position and element where known."""

    field: str | None = None
    reason: str


class EdiAnswer(View):
    """A received EDIFACT / X12 file: the acknowledgement applied, or the message recorded and answered."""

    id: str
    kind: str
    standard: str
    message_type: str
    interchange_ref: str
    partner_id: str | None
    status: str | None
    applied: bool
    linked: list[EdiLinkView] = Field(description="the interchanges the file acknowledges or records")
    answer: EdiAnswerSummary | None = Field(description="the CONTRL / 997 / 999 written back, if any")
    ack_written: str | None
    errors: list[EdiProblem] = Field(description="what was wrong in the file (segment, position)")
    note: str | None
    duplicate: bool


class PodReceiptView(View):
    """The PODs a received file became (with their links and suggestions); `duplicate` for a repeat."""

    duplicate: bool
    pods: list[PodView]
    warnings: list[str] = Field(
        default_factory=list,
        description="a transport status file of several interchanges: each one refused on its own (its "
        "shipments not taken), named by number and byte offset; an interchange read with tolerance",
    )


class MatchingDeferred(View):
    deferred: str = Field(description="why matching was left to the worker")


class MatchingQueued(View):
    queued: str = Field(
        description="matching runs right after this answer (the worker's periodic run if that one is busy); "
        "where to read the decisions"
    )


class RemittanceReceiptView(View):
    """A received remittance file: its payments booked and, unless `match=false`, matched at once."""

    file_id: str
    outcome: str = Field(description="accepted or duplicate")
    status: str = Field(description="the file's status: accepted")
    format: str | None
    payments: list[PaymentSummary]
    duplicate_payments: int
    error: RemittanceError | None = None
    matching: MatchRunView | MatchingDeferred | MatchingQueued | None = Field(
        None,
        description="the run's report with ?wait=true; `queued` by default (matching after the answer); "
        "`deferred` when it was left to the worker; none with ?match=false",
    )
    warnings: list[str] = Field(
        default_factory=list,
        description="what the file was read with: tolerated departures from its schema; in a file of "
        "several EDI interchanges (REMADV, 820), each one refused on its own, named (its payments not read)",
    )


class WebhookEndpointCreated(WebhookEndpointView):
    secret: str | None = Field(None, description="the generated signing secret: shown this once")


class HealthView(View):
    status: Literal["ok"]
    database: str = Field(description="the database dialect")


class ReceiverProfileView(View):
    """A receiver profile as every answer shows it: its national identity number masked (never in full)."""

    tenant_id: str
    receiver_id: str
    name: str | None = None
    preferred_channel: str | None = Field(
        None, description="None: a consumer whose invoices take the tenant's consumer_waterfall"
    )
    fallback_channels: list[str]
    addresses: dict[str, str]
    formats: dict[str, str]
    national_id: str | None = Field(
        None, description="masked: seven stars and the last four digits", examples=["*******1234"]
    )
    segment: str | None = None
    updated_at: str | None = Field(None, description="when the profile last changed (not in a PUT's answer)")
    parent_customer: str | None = Field(None, description="the customer that pays this one's invoices")


class LearnedPayer(View):
    """One payer identity matching learned: where from, and what it means today."""

    id: str
    kind: str = Field(description="account or name")
    value: str = Field(description="the normalised account, or the name as learned")
    customer_key: str
    source: str = Field(description="person (a resolution taught it) or automatic (a confident application)")
    payment_id: str | None = Field(description="the payment it was learned from")
    by: str
    at: str | None
    withdrawn_at: str | None
    withdrawn_by: str | None
    standing: str = Field(
        description="identifies (the customer), shared (it stood for several customers or the policy names "
        "it: identifies no one), withdrawn"
    )


class LearnedPayerList(View):
    items: list[LearnedPayer]
