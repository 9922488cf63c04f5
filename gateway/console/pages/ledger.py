"""Ledger: the journal's periods (open or closed, vouchers, debit and credit), the numbered exports with their
files, and a form to export a period in a format (which closes it).

Thin over `gateway.services.ledger.exports`. Any signed-in role may look and download; exporting closes a
period for good, so it needs credit control (role credit or admin: permission `payments`), decided here on
the server whatever the page showed.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from db.engine import session_scope
from gateway.console.auth import CreditController, Viewer
from gateway.console.templating import page, redirect
from gateway.services.downloads import content_disposition
from gateway.services.followup.credit import today_in
from gateway.services.ledger import exports
from gateway.services.ledger.errors import LedgerRefused
from gateway.services.outbound.deliveries import NotFound
from gateway.services.outbound.documents import DocumentStoreError, document_store
from gateway.settings import Settings

router = APIRouter()

BASE = "/console/ledger"
SHOWN = 50
FORMAT_LABELS = {"gbat10": "GBAT10 (Mamut / Visma, Tripletex)", "csv": "CSV", "json": "JSON"}


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _suggested(periods: list[dict[str, object]], today_text: str) -> str:
    """The month the form offers: the oldest open month that has ended, else last month."""
    current = today_text[:7]
    ended = sorted(str(p["period"]) for p in periods if p["status"] == "open" and str(p["period"]) < current)
    if ended:
        return ended[0]
    year, month = int(today_text[:4]), int(today_text[5:7])
    return f"{year - 1}-12" if month == 1 else f"{year}-{month - 1:02d}"


@router.get("/console/ledger")
def ledger_home(request: Request, identity: Viewer) -> Response:
    """The periods, the exports (newest first) and, for credit control, the export form."""
    engine = request.app.state.engine
    with session_scope(engine) as session:
        periods = [summary.as_dict() for summary in exports.list_periods(session, identity.tenant_id)]
        found = exports.list_exports(session, identity.tenant_id, limit=SHOWN)
        listed = [exports.export_view(export) for export in found]
    today = today_in()
    context = {
        "title": "Ledger",
        "periods": periods,
        "exports": listed,
        "shown": SHOWN,
        "formats": list(FORMAT_LABELS.items()),
        "suggested_period": _suggested(periods, today.isoformat()),
        "today": today,
        "may_export": identity.may("payments"),
    }
    return page(request, "ledger/ledger.html", context, identity=identity)


@router.post("/console/ledger/journal")
def export_period(
    request: Request,
    identity: CreditController,
    period: Annotated[str, Form(max_length=20)] = "",
    fmt: Annotated[str, Form(alias="format", max_length=20)] = "gbat10",
) -> Response:
    """Export a period's journal (closing it); back to the page with what was done."""
    try:
        export = exports.export_journal(
            request.app.state.engine, _settings(request), identity.tenant_id, period.strip(), fmt,
            identity.actor, post=exports.POST_BEFORE_EXPORT, today=today_in(),
        )  # fmt: skip
    except LedgerRefused as refused:
        raise HTTPException(422, f"{refused.field}: {refused.reason}") from None
    return redirect(
        request,
        BASE,
        f"Export {export.number}: {export.period_from} as {FORMAT_LABELS[export.format]}, "
        f"{export.voucher_count} voucher(s); the period is closed.",
    )


@router.get("/console/ledger/exports/{export_id}/file")
def export_file(request: Request, export_id: str, identity: Viewer) -> Response:
    """An export's file, as first written (always downloaded, never shown in the page)."""
    engine = request.app.state.engine
    with session_scope(engine) as session:
        try:
            name, media_type, data = exports.export_file(
                session, document_store(_settings(request), engine), identity.tenant_id, export_id
            )
        except NotFound:
            raise HTTPException(404, f"There is no ledger export {export_id[:40]}.") from None
        except DocumentStoreError as error:
            raise HTTPException(500, str(error)) from None
    disposition = content_disposition(name, fallback=f"ledger-export-{export_id[:32]}")
    return Response(data, media_type=media_type, headers={"Content-Disposition": disposition})
