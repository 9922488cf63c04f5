"""The AvtaleGiro channel: direct debit claims to Nets in claim files, batched per tenant agreement.

A payer who signed an AvtaleGiro mandate for a KID has each invoice under that KID debited on its due
date. Per delivery (`stage`) the invoice is checked as Nets will check the claim: a KID valid under the
tenant's KID agreement, an active mandate for that KID (looked up by the gateway before the send:
`ChannelNeed.AVTALEGIRO_MANDATE`), a positive NOK amount, and a due date at least 4 and at most 365 days
after the file is handed over (the tenant's next cut-off). A document that fails goes to deviation on its
own, naming the rule, and the rest of the batch goes on.

At the cut-off the worker closes the batch and calls `send_batch`: one claim file (a `netsgiro`
transmission with one assignment for the tenant's agreement: a payment request per invoice, with the
bank's notice text when the payer's mandate asks the bank to notify) plus the cancellation records of
claims withdrawn since the last file (`gateway avtalegiro cancel`). It goes under a temporary name and is
renamed when complete into a folder Nets (or the bank's file service) collects, locally or over SFTP. The
batch id is the file name, so a repeated try finds the committed file and does not send the claims twice.

Nets refuses a transmission number its data transmitter has used before (and an assignment number used
within a year), so the numbers are not derived from the batch: the gateway counts them per data
transmitter and fixes them for the batch before the first hand-over (`ChannelNeed.AVTALEGIRO_TRANSMISSION`
→ `OutboundBatch.transmission`); every later try writes the same numbers. A batch that comes without them
is refused plainly.
"""

from __future__ import annotations

import datetime as dt
import posixpath
from decimal import Decimal
from typing import Annotated, ClassVar, Literal
from zoneinfo import ZoneInfo

from pydantic import Field, model_validator

from channels.base import (
    BatchResult,
    ChannelCapabilities,
    ChannelConfig,
    Failed,
    OutboundBatch,
    OutboundDelivery,
    Retry,
    Sent,
    Staged,
)
from channels.context import ChannelNeed, TransmissionNumbers
from channels.drop_handover import DropHandoverChannel, DropTransportConfig
from mappings.base import FormatError
from mappings.consumer.avtalegiro import (
    CLAIMS_FORMAT,
    NETS_RECIPIENT,
    Claim,
    ClaimAssignment,
    claim_file,
    claim_from_invoice,
)
from schemas.kid import KidError, is_valid_kid
from schemas.schedule import CutoffSchedule, TimeZoneName
from transports.committed_drop import CommittedDrop, DropUnavailable

#: Nets' rule for a claim's due date, counted in calendar days from the day the file is handed over.
MIN_DUE_DAYS = 4
MAX_DUE_DAYS = 365
#: Nets works in Norwegian time.
NETS_ZONE = "Europe/Oslo"

Digits = Annotated[str, Field(pattern=r"^\d+$")]


class AvtaleGiroAgreement(CutoffSchedule):
    """One payee agreement with Nets (an assignment account) and when its claim files close
    (`cutoffs`, `timezone`, `weekdays`)."""

    assignment_account: str = Field(pattern=r"^\d{11}$", description="the payee's account the claims credit")
    agreement_id: str | None = Field(None, pattern=r"^\d{9}$", description="the agreement id Nets gave")
    cutoffs: list[dt.time] = Field(
        default_factory=lambda: [dt.time(12, 0)],
        description="local times the day's claim file closes (Nets takes files until 14:00)",
    )
    timezone: TimeZoneName = NETS_ZONE

    @model_validator(mode="after")
    def _schedule(self) -> AvtaleGiroAgreement:
        if not self.cutoffs or not self.weekdays:
            raise ValueError("an agreement needs at least one cut-off time and one weekday")
        return self


class AvtaleGiroConfig(DropTransportConfig):
    data_transmitter: str = Field(pattern=r"^\d{8}$", description="the sender's Nets id (customer unit id)")
    data_recipient: str = Field(NETS_RECIPIENT, pattern=r"^\d{8}$", description="Nets: 00008080")
    customer_id: Digits | None = Field(
        None, max_length=20, description="the payee's Nets customer number; starts the file names"
    )
    agreements: dict[str, AvtaleGiroAgreement] = Field(
        description="payee agreements by name; a tenant uses `tenant_agreements[tenant]`, else 'default'"
    )
    tenant_agreements: dict[str, str] = Field(default_factory=dict, description="tenant id → agreement name")
    transport: Literal["folder", "sftp"] = Field(
        "folder", description="sftp for Nets' (or the bank's) file service; folder for a collected drop"
    )
    outgoing: str = Field("avtalegiro/out", description="claim files go here (relative to the root)")
    timeout_seconds: float = Field(120.0, gt=0, le=3600)

    @model_validator(mode="after")
    def _agreements(self) -> AvtaleGiroConfig:
        if not self.agreements:
            raise ValueError("at least one AvtaleGiro agreement is needed")
        unknown = sorted(set(self.tenant_agreements.values()) - set(self.agreements))
        if unknown:
            raise ValueError(f"tenant_agreements names unknown agreement(s): {', '.join(unknown)}")
        return self


class NetsDropUnavailable(DropUnavailable):
    """The claim file drop could not be used; `transient` says whether a retry may help."""


def due_days(due_date: dt.date, handover: dt.datetime) -> int:
    """Calendar days from the hand-over (its date in Norway) to the due date."""
    return (due_date - handover.astimezone(ZoneInfo(NETS_ZONE)).date()).days


def due_date_problem(due_date: dt.date, handover: dt.datetime) -> str | None:
    """Why Nets would refuse a claim due on `due_date` in a file handed over at `handover`; None if fine."""
    days = due_days(due_date, handover)
    if days < MIN_DUE_DAYS:
        return (
            f"due date {due_date.isoformat()} is {days} day(s) after the hand-over on "
            f"{handover.astimezone(ZoneInfo(NETS_ZONE)):%Y-%m-%d}; AvtaleGiro needs at least {MIN_DUE_DAYS}"
        )
    if days > MAX_DUE_DAYS:
        return (
            f"due date {due_date.isoformat()} is {days} days after the hand-over on "
            f"{handover.astimezone(ZoneInfo(NETS_ZONE)):%Y-%m-%d}; AvtaleGiro takes at most {MAX_DUE_DAYS}"
        )
    return None


class AvtaleGiroChannel(DropHandoverChannel[AvtaleGiroConfig]):
    """AvtaleGiro claims to Nets, one claim file per tenant agreement at the agreement's cut-offs."""

    name: ClassVar[str] = "avtalegiro"
    drop_unavailable: ClassVar[type[DropUnavailable]] = NetsDropUnavailable
    drop_folder_label: ClassVar[str] = "the claim file folder"
    config_model: ClassVar[type[ChannelConfig]] = AvtaleGiroConfig
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(
        formats=(CLAIMS_FORMAT,),
        default_format=CLAIMS_FORMAT,
        batched=True,
        needs=(ChannelNeed.AVTALEGIRO_MANDATE, ChannelNeed.AVTALEGIRO_TRANSMISSION),
        description="AvtaleGiro direct debit claim files (Nets) at set times of day, folder or SFTP",
    )

    # -- per document ------------------------------------------------------------------------------

    def agreement_for(self, tenant_id: str) -> tuple[str, AvtaleGiroAgreement] | None:
        name = self.config.tenant_agreements.get(tenant_id, "default")
        agreement = self.config.agreements.get(name)
        return (name, agreement) if agreement is not None else None

    def next_cutoff(self, tenant_id: str, at: dt.datetime | None = None) -> dt.datetime:
        """When the tenant's next claim file closes (a cancellation queued now goes in it)."""
        chosen = self.agreement_for(tenant_id)
        if chosen is None:
            raise LookupError(f"no AvtaleGiro agreement for tenant {tenant_id!r} in the avtalegiro channel")
        return chosen[1].next_cutoff(at or dt.datetime.now(dt.UTC))

    def stage(self, delivery: OutboundDelivery) -> Staged | Failed | Retry:
        answer = delivery.mandate
        if answer is None:
            return Failed(
                "no AvtaleGiro mandate answer came with the delivery (the gateway looks the payer's mandate "
                "up before the send)",
                deviation=True,
            )
        chosen = self.agreement_for(delivery.tenant_id)
        if chosen is None:
            known = ", ".join(sorted(self.config.agreements))
            return Failed(
                f"no AvtaleGiro agreement for tenant {delivery.tenant_id!r} in the avtalegiro channel "
                f"(known: {known}; set tenant_agreements)",
                deviation=True,
            )
        agreement_name, agreement = chosen
        invoice = delivery.the_invoice()
        kid = invoice.kid
        if not kid:
            return Failed("KID: an AvtaleGiro claim needs the invoice's KID and it has none", deviation=True)
        kid_rules = delivery.tenant_settings.kid if delivery.tenant_settings else None
        if kid_rules is not None:
            try:
                kid_rules.validate_kid(kid)
            except KidError as error:
                return Failed(f"KID: {error} (the tenant's KID agreement)", deviation=True)
        elif not (is_valid_kid(kid, "mod10") or is_valid_kid(kid, "mod11")) or len(kid) > 25:
            return Failed(f"KID: {kid!r} has no valid MOD10 or MOD11 check digit", deviation=True)
        mandate = answer.mandate if answer.kid == kid else None
        if mandate is None:
            return Failed(
                f"mandate: no AvtaleGiro mandate for KID {kid}: the payer has not signed one with this payee "
                "(Nets' agreements files name none)",
                deviation=True,
            )
        if not mandate.active:
            return Failed(
                f"mandate: the AvtaleGiro mandate for KID {kid} was deleted "
                f"({mandate.updated_at:%Y-%m-%d}"
                + (f", {mandate.source_file}" if mandate.source_file else "")
                + "): a claim would be refused",
                deviation=True,
            )
        if invoice.currency != "NOK":
            return Failed(f"amount: AvtaleGiro claims are in NOK, not {invoice.currency}", deviation=True)
        if invoice.totals.payable <= 0:
            return Failed(
                f"amount: an AvtaleGiro claim is a positive amount, not NOK {invoice.totals.payable}",
                deviation=True,
            )
        if invoice.due_date is None:
            return Failed("due date: an AvtaleGiro claim needs the invoice's due date", deviation=True)
        due = agreement.next_cutoff(dt.datetime.now(dt.UTC))
        problem = due_date_problem(invoice.due_date, due)
        if problem is not None:
            return Failed(f"due date: {problem}", deviation=True)
        try:
            claim = claim_from_invoice(invoice, notify=mandate.notify)
        except FormatError as error:
            return Failed(f"the claim cannot be written: {error}", deviation=True)
        return Staged(
            batch_key=agreement_name,
            due_at=due,
            meta={"invoice_number": invoice.number, **claim.as_dict()},
            detail=f"waiting for the {agreement_name} AvtaleGiro claim file at "
            f"{due.astimezone(ZoneInfo(agreement.timezone)):%Y-%m-%d %H:%M} ({agreement.timezone}); "
            f"KID {kid}, NOK {claim.amount}, due {claim.due_date.isoformat()}"
            + ("; the bank notifies the payer" if mandate.notify else ""),
        )

    # -- per batch ---------------------------------------------------------------------------------

    def file_name(self, batch: OutboundBatch) -> str:
        prefix = f"{self.config.customer_id}-" if self.config.customer_id else ""
        return posixpath.join(self.config.outgoing, f"{prefix}{batch.batch_id}.txt")

    def numbers_problem(self, batch: OutboundBatch) -> str | None:
        """Why the numbers the gateway fixed for `batch` cannot go in its claim file; None when they can."""
        numbers = batch.transmission
        if numbers is None:
            return (
                f"no AvtaleGiro transmission numbers came with batch {batch.batch_id} (the gateway counts "
                "them per data transmitter before the hand-over)"
            )
        if numbers.data_transmitter != self.config.data_transmitter:
            return (
                f"batch {batch.batch_id} was numbered for data transmitter {numbers.data_transmitter} "
                f"(transmission {numbers.transmission}), but the channel now sends as "
                f"{self.config.data_transmitter}; its numbers are not that transmitter's"
            )
        if batch.entries and numbers.claims_assignment is None:
            return f"batch {batch.batch_id} has claims but no claim assignment number was counted for it"
        if batch.cancellations and numbers.cancellations_assignment is None:
            return (
                f"batch {batch.batch_id} has cancellations but no cancellation assignment number was counted "
                "for it"
            )
        return None

    def build_file(
        self, batch: OutboundBatch, agreement: AvtaleGiroAgreement, numbers: TransmissionNumbers
    ) -> bytes:
        """The batch's claim file under the gateway's counted numbers: its claims, then the cancellations
        fixed into it."""
        claims = tuple(
            Claim(
                kid=str(entry.meta["kid"]),
                due_date=dt.date.fromisoformat(str(entry.meta["due_date"])),
                amount=Decimal(str(entry.meta["amount"])),
                reference=entry.meta.get("reference"),
                payer_name=entry.meta.get("payer_name"),
                bank_notification=entry.meta.get("bank_notification"),
            )
            for entry in batch.entries
        )
        cancellations = tuple(
            Claim(
                kid=c.kid,
                due_date=c.due_date,
                amount=c.amount,
                reference=c.reference,
                payer_name=c.payer_name,
            )
            for c in batch.cancellations
        )
        return claim_file(
            number=numbers.transmission,
            data_transmitter=numbers.data_transmitter,
            data_recipient=self.config.data_recipient,
            assignments=[
                ClaimAssignment(
                    number=numbers.claims_assignment or numbers.cancellations_assignment or "",
                    account=agreement.assignment_account,
                    agreement_id=agreement.agreement_id,
                    claims=claims,
                    cancellations=cancellations,
                    cancellations_number=numbers.cancellations_assignment,
                )
            ],
        )

    def send_batch(self, batch: OutboundBatch) -> BatchResult:
        agreement = self.config.agreements.get(batch.batch_key)
        if agreement is None:
            return Failed(
                f"no AvtaleGiro agreement {batch.batch_key!r} for batch {batch.batch_id}", deviation=True
            )
        if not batch.entries and not batch.cancellations:
            return Sent(message_id=batch.batch_id, detail="empty batch: no claim file")
        problem = self.numbers_problem(batch)
        if problem is not None:
            return Failed(problem, deviation=True)
        assert batch.transmission is not None
        try:
            content = self.build_file(batch, agreement, batch.transmission)
        except (FormatError, ValueError) as error:
            return Failed(f"the claim file cannot be built: {error}", deviation=True)
        except (KeyError, TypeError) as error:  # a staged entry without what staging records
            return Failed(f"the claim file cannot be built: a staged entry lacks {error}", deviation=True)
        now = dt.datetime.now(dt.UTC)
        late = [
            f"{entry.meta.get('invoice_number')}: {due_date_problem(due_date, now)}"
            for entry in batch.entries
            if due_days(due_date := dt.date.fromisoformat(str(entry.meta["due_date"])), now) < MIN_DUE_DAYS
        ]
        remote = self.file_name(batch)

        def upload(store: CommittedDrop) -> bool | Failed:
            # a file an earlier try committed went in time: a late due date no longer matters
            if late and not store.committed(remote):
                return Failed(
                    "the claim file was not handed over in time for Nets' due date rule: " + "; ".join(late),
                    deviation=True,
                )
            return store.upload_file(remote, content)

        return self.hand_over(
            batch,
            upload,
            committed=f"claim file {remote}: {len(batch.entries)} claim(s), "
            f"{len(batch.cancellations)} cancellation(s)",
            already=f"{remote} was already handed over (committed by an earlier try)",
            where=remote,
        )
