"""What the ledger services refuse, naming the field and the reason (the API answers 422, the CLI exits 1)."""

from __future__ import annotations


class LedgerRefused(Exception):
    """A voucher or an export the ledger must not get: unbalanced, or naming what it cannot name."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason
