"""An Invoice Response "paid" (PD) as remittance intake reads it: a payment hint, never money.

The PEPPOL Invoice Response is a status document (`mappings.status.invoice_response`); the registry lists it
as a remittance format too, read with this module's `parse`, so a buyer's "we have paid" lands beside the
bank's payments — as a `hint_only` payment that matching never applies.
"""

from __future__ import annotations

from decimal import Decimal

from mappings.base import FormatError
from mappings.status import invoice_response
from mappings.status.invoice_response import INVOICE_RESPONSE, PaymentHint
from schemas.remittance import Payment, RemittanceDocument, RemittanceLine


def parse(data: bytes) -> RemittanceDocument:
    """An Invoice Response "paid" (PD) as remittance intake reads it: a hint, never money.

    The buyer says it has paid invoice `referenced_document_id` (with the amount and date when the
    response names them). It is booked as a `hint_only` payment that matching never applies; the money
    itself comes from the bank. Any other status document is no payment hint and is refused.
    """
    document = invoice_response.parse(data)
    if document.kind != INVOICE_RESPONSE or document.response_code != "PD":
        raise FormatError(
            "DocumentResponse/Response/ResponseCode",
            f"a {document.title} with code {document.response_code} says nothing about a payment "
            "(only an Invoice Response PD is a payment hint)",
        )
    hint = document.payment or PaymentHint()
    line = RemittanceLine(invoice_number=document.referenced_document_id, amount=hint.amount,
                          document_date=document.referenced_issue_date,
                          text="partially paid" if hint.partial else None)  # fmt: skip
    payment = Payment(
        amount=hint.amount if hint.amount is not None else Decimal(0),
        currency=hint.currency or "",
        value_date=hint.paid_on,
        payer_name=document.sender.name,
        payer_id=document.sender.participant,
        bank_reference=f"invoice-response:{document.document_id}" if document.document_id else None,
        lines=(line,),
        kind="invoice-response",
        hint_only=True,
        position="DocumentResponse",
    )
    return RemittanceDocument(
        format="invoice-response", payments=[payment], message_id=document.document_id,
        sender=document.sender.participant, receiver=document.receiver.participant,
    )  # fmt: skip
