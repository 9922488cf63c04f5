"""The ledger hand-off: a period's journal file (exporting it closes the period), the numbered exports kept
and their files, and the periods with their status and totals."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from gateway.api.deps import DocumentStoreDep, EngineDep, IdentityDep, SessionDep, SettingsDep
from gateway.api.errors import ErrorAnswer
from gateway.api.params import Limit
from gateway.api.views import View
from gateway.services.followup.credit import today_in
from gateway.services.ledger import exports

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
