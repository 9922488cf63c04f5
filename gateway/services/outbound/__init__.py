"""Invoices on their way out: intake, routing, deliveries, resends, corrections, deviations, batches and
the document store."""
