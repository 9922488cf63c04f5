"""The ledger hand-off: the SAF-T Financial file of a date range, streamed once it is checked."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse, Response
from starlette.background import BackgroundTask

from gateway.api.deps import DocumentStoreDep, EngineDep, IdentityDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.services.followup.run import tenant_today
from gateway.services.ledger import saft as saft_service
from gateway.services.ledger.errors import LedgerRefused

router = APIRouter(tags=["ledger"])

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
