"""The ledger hand-off as files, rendered from posted vouchers (`schemas.ledger.Voucher`): the monthly journal
as GBAT10 lines, CSV and JSON, and SAF-T Financial 1.30 (`saft`, with the tenant's master data) — all streamed
so a large period keeps memory flat."""
