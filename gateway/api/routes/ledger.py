"""The ledger hand-off: posting and reading the receivables journal, the monthly journal files that close a
month and their numbered exports, the periods, and the SAF-T Financial file of a date range (streamed once
it is checked)."""

from __future__ import annotations

import datetime as dt
import itertools
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Query, Request, Response
from fastapi import Path as PathParam
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from gateway.api.deps import DocumentStoreDep, EngineDep, IdentityDep, SessionDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.api.params import Limit
from gateway.api.views import View
from gateway.services.followup.credit import today_in
from gateway.services.followup.run import tenant_today
from gateway.services.ledger import exports, journal, posting
from gateway.services.ledger import saft as saft_service
from gateway.services.ledger.errors import LedgerRefused

router = APIRouter(tags=["ledger"])


class JournalExportRequest(BaseModel):
    """Export the journal of `period` (a month that has ended) in `format`."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"period": "2026-11", "format": "gbat10"}]}
    )

    period: Annotated[str, Field(max_length=20, description="YYYY-MM; the month must have ended")]
    format: Literal["gbat10", "csv", "json"] = Field(
        "gbat10", description="gbat10: GBAT10 lines (Mamut / Visma, Tripletex); csv; json"
    )


class LedgerExportView(View):
    """A numbered export: what it holds and where its file is (`download`)."""

    id: str
    number: int
    kind: str = Field(description="journal (or saft)")
    format: str
    period: str
    period_to: str
    vouchers: int
    size: int
    sha256: str
    filename: str
    created_by: str
    created_at: str
    download: str = Field(description="GET this path for the file, byte for byte as first exported")


class LedgerExportList(View):
    items: list[LedgerExportView]
    next: str | None = Field(description="the next (older) page; null on the last page")


class LedgerPeriodView(View):
    """A month of the journal: open, or closed by its first export; vouchers and totals."""

    period: str
    status: str = Field(description="open, closed")
    vouchers: int
    debit_total: str
    credit_total: str
    balanced: bool
    closed_at: str | None
    closed_by: str | None
    export_id: str | None
    export_number: int | None


class LedgerPeriodList(View):
    items: list[LedgerPeriodView]
    next: str | None = None


@router.post("/ledger/journal", status_code=201)
def post_ledger_journal(
    body: JournalExportRequest,
    identity: IdentityDep,
    engine: EngineDep,
    settings: SettingsDep,
    store: DocumentStoreDep,
) -> LedgerExportView:
    """Post every event up to the period's last day, write its journal file, number the run and close the
    period. A closed period again: a new numbered run with the bytes of its first export in that format."""
    try:
        export = exports.export_journal(
            engine, settings, identity.tenant_id, body.period, body.format, identity.actor,
            post=exports.POST_BEFORE_EXPORT, today=today_in(), store=store,
        )  # fmt: skip
    except LedgerRefused as refused:
        raise ErrorAnswer.one(422, refused.field, refused.reason) from None
    return LedgerExportView.model_validate(exports.export_view(export))


@router.get("/ledger/exports")
def get_ledger_exports(
    identity: IdentityDep,
    session: SessionDep,
    limit: Limit = 100,
    before: Annotated[
        int | None, Query(ge=1, le=2**31 - 1, description="only exports numbered below")
    ] = None,
) -> LedgerExportList:
    """The numbered exports, newest first."""
    found = exports.list_exports(session, identity.tenant_id, limit=limit + 1, before=before)
    items = [exports.export_view(export) for export in found[:limit]]
    following = f"/ledger/exports?before={items[-1]['number']}&limit={limit}" if len(found) > limit else None
    return LedgerExportList.model_validate({"items": items, "next": following})


@router.get("/ledger/exports/{export_id}")
def get_ledger_export(export_id: str, identity: IdentityDep, session: SessionDep) -> LedgerExportView:
    """One export's record (its file: `download`)."""
    return LedgerExportView.model_validate(
        exports.export_view(exports.get_export(session, identity.tenant_id, export_id))
    )


@router.get(
    "/ledger/exports/{export_id}/file",
    response_class=Response,
    responses={
        200: {
            "description": "the export's file, byte for byte as first written",
            "content": {
                media: {"schema": {"type": "string", "format": "binary"}}
                for media in ("text/csv", "application/json", "application/xml")
            },
        },
        404: {"description": "no such export for the tenant"},
    },
)
def get_ledger_export_file(
    export_id: str, identity: IdentityDep, session: SessionDep, store: DocumentStoreDep
) -> Response:
    filename, media_type, data = exports.export_file(session, store, identity.tenant_id, export_id)
    return Response(
        data, media_type=media_type, headers={"Content-Disposition": f'attachment; filename="{filename}"'}
    )


@router.get("/ledger/periods")
def get_ledger_periods(identity: IdentityDep, session: SessionDep) -> LedgerPeriodList:
    """The periods with vouchers or a status, newest first: open or closed, vouchers, debit and credit."""
    items = [summary.as_dict() for summary in exports.list_periods(session, identity.tenant_id)]
    return LedgerPeriodList.model_validate({"items": items, "next": None})


EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2999, 12, 31)


def _first_of_last_month(today: dt.date) -> dt.date:
    return (today.replace(day=1) - dt.timedelta(days=1)).replace(day=1)


def _last_of_month(day: dt.date) -> dt.date:
    return (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


@router.get(
    "/ledger/saft",
    response_class=Response,
    responses={
        200: {
            "description": "the SAF-T Financial 1.30 file",
            "content": {"application/xml": {"schema": {"type": "string", "format": "binary"}}},
        },
        422: {"description": "refused: the field and the reason (an unbalanced voucher, a line naming a "
              "customer missing from MasterFiles, no rules directory…)"},
    },
)  # fmt: skip
def get_saft(
    identity: IdentityDep,
    engine: EngineDep,
    settings: SettingsDep,
    store: DocumentStoreDep,
    date_from: Annotated[
        dt.date | None, Query(ge=EARLIEST, le=LATEST, description="the first day; unset: last month's first")
    ] = None,
    date_to: Annotated[
        dt.date | None, Query(ge=EARLIEST, le=LATEST, description="the last day; unset: date_from's month's")
    ] = None,
) -> Response:
    """The caller's SAF-T Financial 1.30 file of the vouchers dated `date_from`..`date_to` (by default last
    month), validated against the official XSD and checked (every line's account, customer and tax code in
    MasterFiles, debit = credit per transaction and in total, opening + movements = closing) before a byte
    is sent: 422 naming the field and the reason otherwise. Each file is kept as a numbered export."""
    date_from = date_from or _first_of_last_month(tenant_today())
    date_to = date_to or _last_of_month(date_from)
    folder = Path(tempfile.mkdtemp(prefix="saft-"))
    target = folder / "saft.xml"
    try:
        result = saft_service.export_to_path(
            engine,
            settings,
            identity.tenant_id,
            date_from,
            date_to,
            target,
            actor=identity.actor,
            store=store,
            before_export=lambda until: posting.post(
                engine, identity.tenant_id, until=until, actor=identity.actor
            ),
        )
    except LedgerRefused as refused:
        shutil.rmtree(folder, ignore_errors=True)
        raise ErrorAnswer.one(422, refused.field, refused.reason) from None
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise
    return FileResponse(
        target,
        media_type=saft_service.MEDIA_TYPE,
        filename=result.filename,
        headers={"X-Ledger-Export": str(result.number), "X-Content-SHA256": result.sha256},
        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True),
    )


class PostingRequest(BaseModel):
    """Post every event dated up to `until` that is not posted yet."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"until": "2026-11-30"}]})

    until: dt.date | None = Field(
        None, ge=EARLIEST, le=LATEST, description="the last day posted; unset: today"
    )


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
    except LedgerRefused as error:
        raise ErrorAnswer(422, [error.as_dict()]) from None
    return PostingView.model_validate(result.as_dict())


@router.get("/ledger/vouchers")
def get_vouchers(
    request: Request,
    identity: IdentityDep,
    session: SessionDep,
    period: Annotated[str | None, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")] = None,
    cursor: Annotated[
        str | None, Query(pattern=r"^[0-9]{1,9}$", description="from the previous page's `next`")
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
    number: Annotated[int, PathParam(ge=1, le=2**31 - 1, description="the voucher number")],
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
        dt.date | None,
        Query(ge=EARLIEST, le=LATEST, description="balances at the end of this day; unset: today"),
    ] = None,
) -> BalancesView:
    """Account balances and customers' receivables from the posted journal."""
    return BalancesView.model_validate(
        journal.balances_view(session, identity.tenant_id, date or dt.date.today())
    )
