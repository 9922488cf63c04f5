"""The PEPPOL channel's AS4 transport (C2 → C3), on the optional `as4` package.

One signed, encrypted AS4 user message per try, with an AS4 MessageId derived from the delivery's
idempotency key, so a receiving access point that eliminates duplicates sees a repeated try as the same
message. The `as4` package builds the SBDH from the same identifiers the other transports use.
Outcomes: a verified, signed non-repudiation receipt → `Sent`; an ebMS error signal → `Failed` (deviation);
no answer, a 5xx without a readable signal → `Retry`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
from as4 import AS4LocalPrivateKey, AS4References, ExchangeState, ReceiptVerificationError
from as4.peppol import (
    BusdoxDocidQnsDocumentIdentifier,
    PeppolAS4MessageBuilderArgs,
    PeppolAS4Profile,
    PeppolSendingExchange,
    create_peppol_external_party,
    create_peppol_internal_party,
)
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPrivateKey

from channels.base import DeliveryResult, Failed, Retry, Sent

if TYPE_CHECKING:
    from channels.peppol import Envelope, PeppolAs4Settings


def as4_message_id(instance_id: str) -> str:
    """The AS4 MessageId (RFC 2822 msg-id form) of a delivery attempt: the same for every try."""
    return f"{instance_id}@invoice-gateway"


def load_credentials(settings: PeppolAs4Settings) -> tuple[x509.Certificate, RSAPrivateKey, x509.Certificate]:
    certificate = x509.load_pem_x509_certificate(Path(settings.certificate).read_bytes())
    password = (
        settings.private_key_password.get_secret_value().encode() if settings.private_key_password else None
    )
    key = serialization.load_pem_private_key(Path(settings.private_key).read_bytes(), password=password)
    if not isinstance(key, RSAPrivateKey):
        raise ValueError("the AS4 private key must be an RSA key (PEPPOL AS4 signs with RSA-SHA256)")
    receiver = x509.load_pem_x509_certificate(Path(settings.receiver_certificate).read_bytes())
    return certificate, key, receiver


def send_as4(
    settings: PeppolAs4Settings,
    envelope: Envelope,
    client: httpx.Client,
    *,
    mask: Callable[[str], str],
) -> DeliveryResult:
    try:
        certificate, key, receiver_certificate = load_credentials(settings)
    except (OSError, ValueError) as error:
        return Failed(f"AS4 credentials cannot be loaded: {mask(str(error))}", deviation=True)
    exchange: Any = PeppolSendingExchange(
        profile=PeppolAS4Profile,
        local_party=create_peppol_internal_party(settings.party_id, certificate, AS4LocalPrivateKey(key)),
        remote_party=create_peppol_external_party(settings.receiver_party_id, receiver_certificate),
        identifiers=AS4References(message_id=as4_message_id(envelope.instance_id)),
    )
    builder_args = PeppolAS4MessageBuilderArgs(
        sender=envelope.sender,
        recipient=envelope.receiver,
        document_type_identifier=BusdoxDocidQnsDocumentIdentifier.from_identifier_value(
            envelope.document_type_id
        ),
        document_identification_instance_identifier=envelope.instance_id,
        process_identifier=envelope.process_id,
        c1_country_id=envelope.country_c1,
    )
    headers, body = exchange.build(envelope.document, builder_args)
    try:
        response = client.post(settings.endpoint, content=body, headers=headers)
    except httpx.TimeoutException as error:
        return Retry(f"AS4 endpoint did not answer in time ({type(error).__name__})")
    except httpx.TransportError as error:
        return Retry(f"AS4 endpoint unreachable: {mask(str(error)) or type(error).__name__}")
    exchange.mark_sent()
    status = response.status_code
    if not response.content:
        if status >= 500 or status == 429:
            return Retry(f"AS4 endpoint answered {status} without a signal")
        return Failed(f"AS4 endpoint answered {status} without a signal", deviation=True)
    try:
        exchange.receive_signal(response.content)
    except ReceiptVerificationError as error:
        return Failed(f"AS4 receipt does not prove receipt of this message: {error}", deviation=True)
    except Exception as error:  # the package raises its own parse errors for a body that is no signal
        if status >= 500 or status == 429:
            return Retry(f"AS4 endpoint answered {status}: {type(error).__name__}")
        return Failed(f"AS4 endpoint answered {status} with no readable signal: {error}", deviation=True)
    if exchange.state is ExchangeState.ACKNOWLEDGED:
        return Sent(message_id=exchange.message_id, detail="AS4 receipt signed by the receiving access point")
    signal_error = exchange.error
    code = getattr(signal_error, "error_code", "?")
    text = getattr(signal_error, "short_description", None) or ""
    detail = getattr(getattr(signal_error, "error_detail", None), "value", None) or ""
    return Failed(f"AS4 error {code} {text}: {detail}".strip(" :"), deviation=True)
