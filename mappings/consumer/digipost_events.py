"""Digipost's `document-events` answer as a registry format (`digipost-events`): what the digipost channel
polls, readable with `gateway inspect` when a person wants to see what Digipost said.

The reading itself is `mappings.consumer.digipost.read_document_events`; this module gives it the
registry's verbs.
"""

from __future__ import annotations

from typing import Any

from mappings.consumer.digipost import DocumentEvents, read_document_events, sniff_root

FORMAT = "digipost-events"


def parse(data: bytes) -> DocumentEvents:
    return read_document_events(data)


def sniff(data: bytes) -> bool:
    return sniff_root(data, "document-events")


def inspect(data: bytes) -> dict[str, Any]:
    """Each event: the document's uuid, its type, when, and its metadata (a print error code, the day
    postmarked)."""
    events = read_document_events(data)
    return {
        "format": FORMAT,
        "events": [
            {
                "uuid": event.uuid,
                "type": event.type,
                "created": event.created.isoformat(),
                "document_created": event.document_created.isoformat(),
                "metadata": dict(event.metadata),
            }
            for event in events.events
        ],
    }
