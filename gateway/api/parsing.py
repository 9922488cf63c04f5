"""The app's parse pool, as the upload routes reach it (`ParsePool`: `gateway.services.parsed`).

Every route that reads an uploaded file — `/remittances`, `/inbound`, `/responses`, `/bounces`, `/edi`,
`/pods`, UBL at `/invoices` — runs the pure, CPU-heavy read in the pool and hands the outcome to its
service: a slow file cannot stall the other requests (issue 18). JSON invoices are read in a thread (see
`gateway.api.routes.invoices`).
"""

from __future__ import annotations

from fastapi import Request

from gateway.services.parsed import ParsePool

__all__ = ["ParsePool", "parse_pool"]


def parse_pool(request: Request) -> ParsePool:
    pool: ParsePool = request.app.state.parse_pool
    return pool
