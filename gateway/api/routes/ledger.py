"""The ledger hand-off: the SAF-T Financial file of a date range, streamed once it is checked."""

from __future__ import annotations

import datetime as dt
import shutil
import tempfile
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import FileResponse
from starlette.background import BackgroundTask

from gateway.api.deps import DocumentStoreDep, EngineDep, IdentityDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.services.ledger import saft as saft_service
from gateway.services.ledger.errors import LedgerRefused

router = APIRouter(tags=["ledger"])

EARLIEST = dt.date(2000, 1, 1)
LATEST = dt.date(2999, 12, 31)


@router.get(
    "/ledger/saft",
    response_class=FileResponse,
    responses={
        200: {"content": {"application/xml": {}}, "description": "the SAF-T Financial 1.30 file"},
        422: {"description": "refused: the field and the reason (an unbalanced voucher, a line naming a "
              "customer missing from MasterFiles, no rules directory…)"},
    },
)  # fmt: skip
def get_saft(
    identity: IdentityDep,
    engine: EngineDep,
    settings: SettingsDep,
    store: DocumentStoreDep,
    date_from: Annotated[dt.date, Query(ge=EARLIEST, le=LATEST, description="the first day")],
    date_to: Annotated[dt.date, Query(ge=EARLIEST, le=LATEST, description="the last day")],
) -> FileResponse:
    """The caller's SAF-T Financial 1.30 file of the vouchers dated `date_from`..`date_to`, validated against
    the official XSD and checked (every line's account, customer and tax code in MasterFiles, debit = credit
    per transaction and in total, opening + movements = closing) before a byte is sent: 422 naming the field
    and the reason otherwise. Each file is kept as a numbered export."""
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
