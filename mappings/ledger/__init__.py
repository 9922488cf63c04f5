"""The ledger hand-off as files: SAF-T Financial 1.30 (`saft`), written from posted vouchers
(`schemas.ledger.Voucher`) and the tenant's master data, streamed so a large period keeps memory flat.
"""
