"""The eFaktura channel: consumer e-invoices into the online bank, as EHF through the PEPPOL transports.

eFaktura (run by Mastercard Payment Services) takes EHF from issuers; its issuer API and receipts are not
public, so this channel builds on what is and documents its own shapes (see the README, "eFaktura"):

* The document is EHF / PEPPOL BIS Billing 3 (the `ehf` renderer) with the KID in `PaymentMeans/PaymentID`
  and the invoice PDF embedded as a BG-24 attachment (`embedded_formats`: the worker renders the PDF and
  embeds it before the EHF is validated, so what leaves passed the official rules with the PDF inside).
* It goes to the eFaktura provider's PEPPOL participant (`provider_participant_id`) through the transports
  the `peppol` channel has — a folder the provider (or its access point) collects, or the provider's HTTP
  API — in an SBDH that carries the consumer's eFaktura identifier as one more business scope
  (`EFAKTURA_RECIPIENT`), so the EHF itself stays byte for byte the validated one. (AS4 is not offered:
  the `as4` package builds its own SBDH, which cannot carry that scope.)
* Before each send the gateway looks the consumer up (`ChannelNeed.EFAKTURA_RECIPIENT`: by national
  identity number, else by name and address) through an `EfakturaLookup` — the provider's recipient
  search over HTTP (`HttpEfakturaLookup`, this module's JSON shape) or the tenant's imported registry —
  and hands the answer over. No consent (not found) or "blocked this issuer" is `Failed` without
  deviation, so the receiver's next channel (Digipost, paper) takes over.
* An invoice under an AvtaleGiro mandate carries the marker (`PaymentMeans.avtalegiro`, BT-82
  "AvtaleGiro") and must respect AvtaleGiro's rules: a KID, and a due date 4 to 365 days after it is sent;
  otherwise it is refused as a deviation naming the field.

A national identity number never reaches a reason, an event or a log line: answers name the key masked.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar, Protocol
from zoneinfo import ZoneInfo

import httpx
from pydantic import Field, SecretStr, model_validator

from channels.base import (
    ChannelCapabilities,
    ChannelConfig,
    DeliveryResult,
    Failed,
    OutboundDelivery,
)
from channels.context import ChannelNeed, EfakturaAnswer, EfakturaStatus
from channels.peppol import PeppolChannel, PeppolConfig, _Settings
from mappings.base import FormatError
from mappings.sbdh import check_participant
from schemas.canonical import Invoice
from schemas.national_id import mask_national_id

#: The SBDH business scope that carries the consumer's eFaktura identifier.
RECIPIENT_SCOPE = "EFAKTURA_RECIPIENT"
#: AvtaleGiro: a claim's due date is at least 4 and at most 365 days after it is sent (DOMAIN.md, netsgiro).
AVTALEGIRO_MIN_DAYS = 4
AVTALEGIRO_MAX_DAYS = 365
OSLO = ZoneInfo("Europe/Oslo")


# -- the recipient lookup ------------------------------------------------------------------------------------


def _folded(text: str | None) -> str:
    """Names and streets compared as a search would: case, punctuation and runs of spaces ignored."""
    return " ".join(re.sub(r"[^\w]+", " ", (text or "").casefold()).split())


@dataclass(frozen=True)
class LookupKey:
    """Who to look up: a national identity number, or a name and an address (street line, postal code).

    `issuer` is the seller's organisation number: "blocked" is per issuer. The repr masks the national
    identity number, so a key that slips into a log line gives nothing away.
    """

    issuer: str | None
    national_id: str | None = None
    name: str | None = None
    street: str | None = None
    postal_code: str | None = None

    @property
    def by_national_id(self) -> bool:
        return self.national_id is not None

    def describe(self) -> str:
        """The key as reasons and events name it: the number masked, or "name and address"."""
        if self.national_id is not None:
            return f"national identity number {mask_national_id(self.national_id)}"
        return "name and address"

    def registry_key(self) -> str:
        """The registry row this key finds: `nin:<number>`, or `addr:<name>|<postal code>|<street>` folded."""
        if self.national_id is not None:
            return f"nin:{self.national_id}"
        return f"addr:{_folded(self.name)}|{_folded(self.postal_code)}|{_folded(self.street)}"

    def __repr__(self) -> str:
        return f"LookupKey(issuer={self.issuer!r}, {self.describe()})"


class LookupUnavailable(Exception):
    """The lookup cannot answer now (timeout, 5xx, 429): the send waits and tries again."""


class LookupRefused(Exception):
    """The lookup refused the question (4xx, an answer that is not the documented shape): a person looks."""


class EfakturaLookup(Protocol):
    """An eFaktura recipient search: found (with the eFaktura identifier) | not found | blocked this issuer.

    `LookupUnavailable` when it cannot answer now, `LookupRefused` when it will not answer this question.
    """

    def lookup(self, key: LookupKey) -> EfakturaAnswer: ...


def answer_from_json(body: Any, key: LookupKey, source: str = "http") -> EfakturaAnswer:
    """The documented answer shape `{"status": "found"|"not-found"|"blocked", "efaktura_id": "…"}`."""
    if not isinstance(body, dict):
        raise LookupRefused("the recipient search answered something other than a JSON object")
    status_text = body.get("status")
    try:
        status = EfakturaStatus(str(status_text).strip().lower().replace("_", "-"))
    except ValueError:
        raise LookupRefused(
            f"status: {str(status_text)[:40]!r} is not one of found, not-found, blocked"
        ) from None
    efaktura_id = body.get("efaktura_id")
    if status is EfakturaStatus.FOUND:
        if not isinstance(efaktura_id, str) or not efaktura_id.strip():
            raise LookupRefused("efaktura_id: a found recipient needs its eFaktura identifier")
        return EfakturaAnswer(status, key.describe(), efaktura_id.strip()[:100], source)
    return EfakturaAnswer(status, key.describe(), None, source)


def request_body(key: LookupKey) -> dict[str, Any]:
    """The documented question: `{"issuer", "national_id"}` or `{"issuer", "name", "address"}`."""
    if key.national_id is not None:
        return {"issuer": key.issuer, "national_id": key.national_id}
    return {
        "issuer": key.issuer,
        "name": key.name,
        "address": {"street": key.street, "postal_code": key.postal_code},
    }


class HttpEfakturaLookup:
    """The provider's recipient search over HTTP: `POST url` with the question as JSON, bearer token.

    The client comes from the gateway (pinned to addresses its SSRF policy allows, redirects not followed);
    this class only speaks the shape.
    """

    def __init__(self, url: str, token: SecretStr | None, client: httpx.Client) -> None:
        self.url = url
        self.token = token
        self.client = client

    def lookup(self, key: LookupKey) -> EfakturaAnswer:
        headers = {"Accept": "application/json"}
        if self.token is not None:
            headers["Authorization"] = f"Bearer {self.token.get_secret_value()}"
        try:
            response = self.client.post(self.url, json=request_body(key), headers=headers)
        except httpx.TimeoutException as error:
            raise LookupUnavailable(
                f"recipient search did not answer in time ({type(error).__name__})"
            ) from None
        except httpx.TransportError as error:
            raise LookupUnavailable(f"recipient search unreachable: {error}") from None
        status = response.status_code
        if status in (408, 425, 429) or status >= 500:
            raise LookupUnavailable(f"recipient search answered {status}")
        if status == 404:  # a search that answers "no such consumer" with 404 means the same as not-found
            return EfakturaAnswer(EfakturaStatus.NOT_FOUND, key.describe(), None, "http")
        if not 200 <= status < 300:
            raise LookupRefused(f"recipient search refused the question ({status}): {response.text[:200]}")
        try:
            body = response.json()
        except (ValueError, json.JSONDecodeError):
            raise LookupRefused("the recipient search answered something other than JSON") from None
        return answer_from_json(body, key)


# -- configuration -------------------------------------------------------------------------------------------


class EfakturaLookupSettings(_Settings):
    url: str = Field(description="the provider's recipient search, e.g. https://efaktura.example/recipients")
    token: SecretStr | None = Field(None, description="bearer token for the search")
    allow_private: bool = Field(
        False, description="let the search URL be a loopback or private address (SSRF policy, as webhooks)"
    )
    allowed_networks: list[str] = Field(
        default_factory=list, description="non-public CIDRs the search URL may resolve to"
    )


class EfakturaConfig(PeppolConfig):
    provider_participant_id: str = Field(
        description="the eFaktura provider's PEPPOL participant id (scheme:value): the SBDH's receiver"
    )
    lookup: EfakturaLookupSettings | None = Field(
        None, description="the provider's recipient search over HTTP; unset → the tenant's imported registry"
    )
    receipts_directory: Path | None = Field(
        None,
        description="the folder the provider leaves receipt files in (read by the worker when 'efaktura' is "
        "in GATEWAY_RETURN_POLL_CHANNELS; files read move to done/ or rejected/)",
    )

    @model_validator(mode="after")
    def _efaktura_transport(self) -> EfakturaConfig:
        if self.transport == "as4":
            raise ValueError(
                "transport 'as4' cannot carry the eFaktura recipient scope (the as4 package builds its own "
                "SBDH): use 'folder' or 'http'"
            )
        check_participant(self.provider_participant_id, "provider_participant_id")
        return self


# -- the invoice's own rules ---------------------------------------------------------------------------------


def invoice_refusal(invoice: Invoice, today: dt.date) -> str | None:
    """Why this invoice cannot go as eFaktura (a field and a reason), or None.

    eFaktura is paid by KID; an invoice under an AvtaleGiro mandate also follows AvtaleGiro's rules.
    """
    if invoice.kid is None:
        return "payment_means.payment_id: eFaktura is paid by KID and the invoice has none (BT-83)"
    for index, means in enumerate(invoice.payment_means):
        if not means.avtalegiro:
            continue
        if not means.payment_id:
            return (
                f"payment_means.{index}.payment_id: an AvtaleGiro claim is identified by its KID; none given"
            )
        if invoice.due_date is None:
            return "due_date: an invoice under an AvtaleGiro mandate needs a due date (BT-9)"
        days = (invoice.due_date - today).days
        when = (
            f"due_date: {invoice.due_date.isoformat()} is {days} day(s) after sending ({today.isoformat()})"
        )
        if days < AVTALEGIRO_MIN_DAYS:
            return f"{when}; AvtaleGiro needs at least {AVTALEGIRO_MIN_DAYS}"
        if days > AVTALEGIRO_MAX_DAYS:
            return f"{when}; AvtaleGiro allows at most {AVTALEGIRO_MAX_DAYS}"
    return None


# -- the channel ---------------------------------------------------------------------------------------------


class EfakturaChannel(PeppolChannel):
    """Delivers EHF with the KID and the invoice PDF to the consumer's online bank through eFaktura."""

    name: ClassVar[str] = "efaktura"
    config_model: ClassVar[type[ChannelConfig]] = EfakturaConfig
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(
        formats=("ehf",),
        default_format="ehf",
        needs_address=False,
        confirms_delivery=True,
        description="eFaktura B2C: EHF with KID and the invoice PDF, to the eFaktura provider (folder or "
        "HTTP API); consumers looked up before each send",
        embedded_formats=("pdf",),
        needs=(ChannelNeed.EFAKTURA_RECIPIENT,),
        marks_avtalegiro=True,
        extra={"transports": ["folder", "http"]},
    )

    config: EfakturaConfig

    def today(self) -> dt.date:
        """The sending day in Norway, which AvtaleGiro's due-date rule counts from."""
        return dt.datetime.now(OSLO).date()

    def send(self, delivery: OutboundDelivery) -> DeliveryResult:
        invoice = delivery.the_invoice()
        answer = delivery.efaktura
        if answer is None:
            return Failed(
                "no eFaktura recipient answer came with the delivery (the gateway looks the consumer up "
                "before the send)",
                deviation=True,
            )
        if answer.status is EfakturaStatus.NOT_FOUND:
            return Failed(f"no eFaktura consent for the consumer looked up by {answer.looked_up_by}")
        if answer.status is EfakturaStatus.BLOCKED:
            return Failed(
                f"the consumer looked up by {answer.looked_up_by} has blocked eFaktura from this issuer"
            )
        refused = invoice_refusal(invoice, self.today())
        if refused is not None:
            return Failed(f"cannot send as eFaktura: {refused}", deviation=True)
        envelope = self.envelope(delivery, receiver=self.config.provider_participant_id)
        if isinstance(envelope, Failed):
            return envelope
        assert answer.efaktura_id is not None  # FOUND carries it (`answer_from_json`, the registry)
        envelope = dataclasses.replace(envelope, extra_scopes=((RECIPIENT_SCOPE, answer.efaktura_id),))
        try:
            sbdh = envelope.sbdh()
        except FormatError as error:
            return Failed(f"cannot wrap the document in an SBDH: {error}", deviation=True)
        if self.config.transport == "http":
            return self._send_http(envelope, sbdh)
        return self._send_folder(envelope, sbdh, delivery)


__all__ = [
    "AVTALEGIRO_MAX_DAYS",
    "AVTALEGIRO_MIN_DAYS",
    "RECIPIENT_SCOPE",
    "EfakturaChannel",
    "EfakturaConfig",
    "EfakturaLookup",
    "EfakturaLookupSettings",
    "HttpEfakturaLookup",
    "LookupKey",
    "LookupRefused",
    "LookupUnavailable",
    "answer_from_json",
    "invoice_refusal",
    "request_body",
]
