"""Stripe's balance transactions of one payout: what `GET /v1/balance_transactions?payout=po_…` lists.

A `payout.paid` event names the payout (its amount, currency and arrival date) but not the payments it
bundles; those are the balance transactions Stripe paid out in it, listed 100 a page (`has_more`, the next
page `starting_after` the last id), each charge's source expanded (`expand[]=data.source`) so its payment
intent (pi_…, what a card advice names) comes in the same answer. Authentication is the account's secret
key as a Bearer token. Amounts are integers in the currency's minor unit, as Stripe sends them.
"""

from __future__ import annotations

from typing import Any

import httpx

API_BASE = "https://api.stripe.com"
PAGE_SIZE = 100
#: A payout of more than this many pages is refused rather than read without end (100,000 transactions).
MAX_PAGES = 1000


class StripeApiError(RuntimeError):
    """Stripe refused the request or answered something that is no list: its status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"Stripe answered {status}: {message}")
        self.status = status
        self.message = message


def payout_transactions(
    secret_key: str,
    payout_id: str,
    *,
    api_base: str = API_BASE,
    transport: httpx.BaseTransport | None = None,
    timeout_seconds: float = 30.0,
) -> list[dict[str, Any]]:
    """Every balance transaction of payout `payout_id`, in Stripe's order, each with its source expanded."""
    found: list[dict[str, Any]] = []
    after: str | None = None
    with httpx.Client(
        base_url=api_base.rstrip("/"), timeout=timeout_seconds, follow_redirects=False, transport=transport
    ) as client:
        for _ in range(MAX_PAGES):
            params: list[tuple[str, str | int | float | bool | None]] = [
                ("payout", payout_id), ("limit", PAGE_SIZE), ("expand[]", "data.source"),
            ]  # fmt: skip
            if after is not None:
                params.append(("starting_after", after))
            response = client.get(
                "/v1/balance_transactions", params=params, headers={"Authorization": f"Bearer {secret_key}"}
            )
            page = _page(response)
            found.extend(page["data"])
            if not page.get("has_more") or not page["data"]:
                return found
            after = str(page["data"][-1]["id"])
    limit = MAX_PAGES * PAGE_SIZE
    raise StripeApiError(200, f"payout {payout_id} has more than {limit} balance transactions")


def _page(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        body = None
    if response.status_code != 200:
        error = body.get("error") if isinstance(body, dict) else None
        message = error.get("message") if isinstance(error, dict) else None
        raise StripeApiError(response.status_code, str(message or response.text[:300]))
    if not (isinstance(body, dict) and body.get("object") == "list" and isinstance(body.get("data"), list)):
        raise StripeApiError(response.status_code, "the answer is no list of balance transactions")
    return body
