"""Receivables and delivery reports (issue 20), read straight from invoices, allocations, payments and
deliveries (not from the ledger's tables), each a plain data answer that the API, the command line and the
console show, and that `plots` draws.

- `periods`: a calendar month (`2026-11`) and the days a report looks at.
- `history`: every invoice's and credit note's open amount on any past day, rebuilt from allocations.
- `aging`: open amounts per customer in buckets of days past due, as of a day, per currency.
- `dso`: count-back DSO, best-possible DSO and the collection effectiveness index per month; average days
  late per customer.
- `deliveries`: per channel, volume, deviation rate, time to delivered and failures in a period.
- `matching`: the matching rates of the payments received in a period.
- `plots`: the charts (PNG and SVG bytes) drawn with matplotlib's Agg renderer, no display, no pyplot.
- `reconciliation`: a camt.053 statement against the booked payments and the journal's bank account.
"""
