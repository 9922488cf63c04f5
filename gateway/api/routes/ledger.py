"""The ledger hand-off: post the journal, read its vouchers (paginated) and balances."""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import EngineDep, IdentityDep, SessionDep
from gateway.api.errors import ErrorAnswer
from gateway.api.views import View
from gateway.services.ledger import journal, posting

router = APIRouter(tags=["ledger"])


class PostingRequest(BaseModel):
    """Post every event dated up to `until` that is not posted yet."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"until": "2026-11-30"}]})

    until: dt.date | None = Field(None, description="the last day posted; unset: today")


class PostingView(View):
    """What a posting run wrote: vouchers per type and the numbers they got."""

    tenant_id: str
    until: str
    vouchers: int
    by_type: dict[str, int]
    first_number: int | None
    last_number: int | None
    without_voucher: int
    periods: list[str]


class VoucherLineView(View):
    line_no: int
    account: str
    debit: str
    credit: str
    tax_code: str | None
    customer_key: str | None
    customer_number: str | None
    document_number: str | None
    text: str


class VoucherView(View):
    """One balanced voucher and its lines (amounts in the accounting currency, exact decimal text)."""

    number: int
    period: str
    voucher_date: str
    event_date: str
    voucher_type: str
    source_key: str
    customer_key: str | None
    description: str
    debit_total: str
    credit_total: str
    lines: list[VoucherLineView]


class VoucherPage(View):
    items: list[VoucherView]
    next: str | None


class BalancesView(View):
    """Every account's balance (debit − credit) and every customer's receivables at the end of `date`."""

    date: str
    accounts: list[dict[str, Any]]
    customers: list[dict[str, Any]]
    total: str


@router.post("/ledger/post")
def post_ledger(identity: IdentityDep, engine: EngineDep, body: PostingRequest | None = None) -> PostingView:
    """Post the tenant's events up to `until` (each once) as balanced vouchers, into the first open period
    on or after each event's date. 422 naming the field when something cannot be posted (no tax code for a
    VAT category, no exchange rate, an unbalanced document): then nothing is written."""
    until = (body.until if body is not None else None) or dt.date.today()
    try:
        result = posting.post(engine, identity.tenant_id, until=until, actor=identity.actor)
    except posting.LedgerRefused as error:
        raise ErrorAnswer(422, [error.as_dict()]) from None
    return PostingView.model_validate(result.as_dict())


@router.get("/ledger/vouchers")
def get_vouchers(
    request: Request,
    identity: IdentityDep,
    session: SessionDep,
    period: Annotated[str | None, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")] = None,
    cursor: Annotated[
        str | None, Query(pattern=r"^[0-9]{1,12}$", description="from the previous page's `next`")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000, description="vouchers per page")] = 100,
) -> VoucherPage:
    """The posted vouchers in number order with their lines; follow `next` for more."""
    after = int(cursor) if cursor else 0
    found = list(
        itertools.islice(
            journal.iter_vouchers(session, identity.tenant_id, period=period, after=after, chunk=limit + 1),
            limit + 1,
        )
    )
    next_link = None
    if len(found) > limit:
        found = found[:limit]
        kept = [(name, value) for name, value in request.query_params.multi_items() if name != "cursor"]
        next_link = f"{request.url.path}?{urlencode([*kept, ('cursor', str(found[-1].number))])}"
    return VoucherPage.model_validate(
        {"items": [journal.voucher_view(voucher) for voucher in found], "next": next_link}
    )


@router.get("/ledger/vouchers/{number}")
def get_voucher(
    number: Annotated[int, Path(ge=1, description="the voucher number")],
    identity: IdentityDep,
    session: SessionDep,
) -> VoucherView:
    """One voucher by its number, with its lines."""
    try:
        voucher = journal.get_voucher(session, identity.tenant_id, number)
    except journal.VoucherNotFound as error:
        raise ErrorAnswer.one(404, "number", str(error)) from None
    return VoucherView.model_validate(journal.voucher_view(voucher))


@router.get("/ledger/balances")
def get_balances(
    identity: IdentityDep,
    session: SessionDep,
    date: Annotated[
        dt.date | None, Query(description="balances at the end of this day; unset: today")
    ] = None,
) -> BalancesView:
    """Account balances and customers' receivables from the posted journal."""
    return BalancesView.model_validate(
        journal.balances_view(session, identity.tenant_id, date or dt.date.today())
    )
