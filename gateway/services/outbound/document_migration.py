"""Copy every document from one store into another (`gateway documents migrate`): a folder into PostgreSQL
or S3 when an installation grows to several hosts.

Resumable: a key already in the target is skipped (keys are content addresses, so the same key is the same
bytes), and an interrupted run simply runs again. Each copy is read back from the target and checked
against its SHA-256 before it counts; a source document that is itself corrupted is reported and left out,
never copied on. `stored_documents` rows need no change: every store uses the same keys.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from gateway.services.outbound.documents import DocumentStore, DocumentStoreError, ListableDocumentStore


@dataclass
class MigrationReport:
    """What one run did: keys copied, keys the target had already, and keys that could not be copied."""

    copied: int = 0
    already_there: int = 0
    bytes_copied: int = 0
    failed: dict[str, str] = field(default_factory=dict)  # key → why

    def as_dict(self) -> dict[str, object]:
        return {
            "copied": self.copied,
            "already_there": self.already_there,
            "bytes_copied": self.bytes_copied,
            "failed": len(self.failed),
            "failures": [{"key": key, "reason": reason} for key, reason in sorted(self.failed.items())],
        }


def migrate_documents(
    source: ListableDocumentStore,
    target: DocumentStore,
    *,
    on_document: Callable[[str, str], None] | None = None,
) -> MigrationReport:
    """Copy what `target` lacks from `source`; `on_document(key, outcome)` hears about each key."""
    report = MigrationReport()
    for key in source.keys():  # noqa: SIM118 (a store, not a dict)
        outcome = "copied"
        try:
            if target.exists(key):
                report.already_there += 1
                outcome = "already there"
            else:
                data = source.get(key)
                written = target.put(data)
                if written != key or target.get(key) != data:  # read back: the copy is what was read
                    raise DocumentStoreError(f"the copy of {key} does not read back as the original")
                report.copied += 1
                report.bytes_copied += len(data)
        except DocumentStoreError as error:
            report.failed[key] = str(error)
            outcome = "failed"
        if on_document is not None:
            on_document(key, outcome)
    return report
