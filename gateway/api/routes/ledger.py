"""The ledger hand-off: posting and reading the receivables journal, the monthly journal files that close a
month and their numbered exports, the periods, and the SAF-T Financial file of a date range (streamed once
it is checked)."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.background import BackgroundTask

from gateway.api.deps import DocumentStoreDep, EngineDep, IdentityDep, SessionDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.api.params import Limit
from gateway.api.views import View
from gateway.services.followup.credit import today_in
from gateway.services.followup.run import tenant_today
from gateway.services.ledger import exports
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
    except exports.ExportRefused as refused:
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
