"""What the ledger services refuse, naming the field and the reason (the API answers 422, the CLI exits 1)."""

from __future__ import annotations

from gateway.services.refusals import Refused


class LedgerRefused(Refused):
    """What the ledger must not get: a voucher that cannot be posted (no tax code, no exchange rate, an
    unbalanced document), an export that does not add up or names what it cannot name. Nothing of the run
    is written."""
