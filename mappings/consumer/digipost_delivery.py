"""Digipost's `message-delivery` answer as a registry format (`digipost-delivery`): how a sent message went
out (DIGIPOST, PRINT, PEPPOL, EPOST), readable with `gateway inspect`.

The reading itself is `mappings.consumer.digipost.read_message_delivery`; this module gives it the
registry's verbs.
"""

from __future__ import annotations

from typing import Any

from mappings.consumer.digipost import MessageDelivery, read_message_delivery, sniff_root

FORMAT = "digipost-delivery"


def parse(data: bytes) -> MessageDelivery:
    return read_message_delivery(data)


def sniff(data: bytes) -> bool:
    return sniff_root(data, "message-delivery")


def inspect(data: bytes) -> dict[str, Any]:
    """The delivery method, status and time, and the documents' uuids."""
    delivery = read_message_delivery(data)
    return {
        "format": FORMAT,
        "message_id": delivery.message_id,
        "delivery_method": delivery.delivery_method,
        "status": delivery.status,
        "sender_id": delivery.sender_id,
        "delivery_time": delivery.delivery_time.isoformat() if delivery.delivery_time else None,
        "primary_document": delivery.primary_document_uuid,
        "attachments": [attachment.uuid for attachment in delivery.attachments],
    }
