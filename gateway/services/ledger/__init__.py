"""The ledger hand-off (issue 20): what the receivables system gives the seller's general ledger each month.

- `posting`: turns source events (invoices, credit notes, payments, allocations and their reversals, notice
  charges) into balanced vouchers, once each, into the first open period on or after the event.
- `journal`: reads posted vouchers back (per period, per date range, streamed) and account / customer
  balances.
- `saft`: the SAF-T Financial 1.30 file of a date range, validated before it is written.
- `exports`: the numbered journal files (GBAT10, CSV, JSON) that close a period, and re-exports.
"""
