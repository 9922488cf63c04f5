"""One module per console page (or group of pages), each with its `router`; `PAGES` lists them in order."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.console.pages import (
    card_payments,
    deviations,
    followup,
    invoice_actions,
    invoices,
    ledger,
    overview,
    partners,
    payers,
    payments,
    portal_access,
    print_batches,
    remittances,
    reports,
    session,
    settings,
    webhooks,
)

#: Every console router. A new page is a module here and one line in this list.
PAGES: list[APIRouter] = [
    session.router,
    overview.router,
    invoices.router,
    invoice_actions.router,
    deviations.router,
    followup.router,
    portal_access.router,
    reports.router,
    ledger.router,
    card_payments.router,  # before payments: /console/payments/cards is not a payment's id
    payers.router,  # before payments: /console/payments/payers is not a payment's id
    payments.router,
    remittances.router,
    print_batches.router,
    partners.router,
    webhooks.router,
    settings.router,
]
