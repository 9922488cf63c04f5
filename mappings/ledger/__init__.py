"""The ledger hand-off's files, rendered from posted vouchers (`schemas.ledger.Voucher`): the monthly journal
as GBAT10 lines, CSV and JSON (and SAF-T Financial)."""
