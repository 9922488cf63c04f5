"""Ledger: the journal's periods (open or closed, vouchers, debit and credit), the numbered exports with their
files, and a form to export a period in a format (which closes it).

Thin over `gateway.services.ledger.exports`. Any signed-in role may look and download; exporting closes a
period for good, so it needs credit control (role credit or admin: permission `payments`), decided here on
the server whatever the page showed.
"""

from __future__ import annotations

import re
from itertools import islice
from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Request
from fastapi.responses import Response

from db.engine import session_scope
from gateway.console.auth import CreditController, Viewer
from gateway.console.templating import page, redirect
from gateway.services.downloads import content_disposition
from gateway.services.followup.credit import today_in
from gateway.services.ledger import exports, journal
from gateway.services.ledger.errors import LedgerRefused
from gateway.services.outbound.deliveries import NotFound
from gateway.services.outbound.documents import DocumentStoreError, document_store
from gateway.services.tenancy.tenants import tenant_settings
from gateway.settings import Settings
from schemas.ledger import Voucher

router = APIRouter()

BASE = "/console/ledger"
SHOWN = 50
#: Vouchers per page of a month.
MONTH_PAGE = 50
_PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")
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


def _period_or_404(period: str) -> str:
    """A month as YYYY-MM, else the 404 page (a bad period names no month there is)."""
    if not _PERIOD.match(period):
        raise HTTPException(404, f"There is no ledger month {period[:20]!r}; write it as YYYY-MM.")
    return period


def _customer(voucher: Voucher) -> str | None:
    """The customer number the journal shows for a voucher (its lines carry it), else its customer key."""
    for line in voucher.lines:
        if line.customer_number:
            return line.customer_number
    return voucher.customer_key


@router.get("/console/ledger/{period}")
def ledger_month(request: Request, period: str, identity: Viewer, after: str = "") -> Response:
    """One month's vouchers in number order, a page of `MONTH_PAGE` at a time (keyset: after a number)."""
    _period_or_404(period)
    if after and not after.isdigit():
        raise HTTPException(404, f"There is no page after {after[:20]!r} in {period}.")
    start = int(after or 0)
    with session_scope(request.app.state.engine) as session:
        summary = next(
            (p.as_dict() for p in exports.list_periods(session, identity.tenant_id) if p.period == period),
            None,
        )
        found = list(  # one chunk of 51: the 51st says there is a next page
            islice(
                journal.iter_vouchers(
                    session, identity.tenant_id, period=period, after=start, chunk=MONTH_PAGE + 1
                ),
                MONTH_PAGE + 1,
            )
        )
    rows: list[dict[str, Any]] = [
        {
            "number": voucher.number,
            "date": voucher.voucher_date.isoformat(),
            "type": voucher.voucher_type,
            "customer": _customer(voucher),
            "description": voucher.description,
            "total": voucher.debit_total,
            "balanced": voucher.debit_total == voucher.credit_total,
        }
        for voucher in found[:MONTH_PAGE]
    ]
    more = len(found) > MONTH_PAGE
    context = {
        "title": f"Ledger {period}",
        "period": period,
        "summary": summary,
        "vouchers": rows,
        "next_url": f"{BASE}/{period}?after={rows[-1]['number']}" if more else None,
        "first_url": f"{BASE}/{period}" if start else None,
    }
    return page(request, "ledger/month.html", context, identity=identity)


@router.get("/console/ledger/{period}/{number}")
def ledger_voucher(request: Request, period: str, number: str, identity: Viewer) -> Response:
    """One voucher's lines, with each account's name from the tenant's chart."""
    _period_or_404(period)
    missing = HTTPException(404, f"There is no voucher {number[:20]} in {period}.")
    if not number.isdigit() or len(number) > 18:
        raise missing
    with session_scope(request.app.state.engine) as session:
        try:
            voucher = journal.get_voucher(session, identity.tenant_id, int(number))
        except journal.VoucherNotFound:
            raise missing from None
        chart = {
            account.number: account.name
            for account in tenant_settings(session, identity.tenant_id).ledger.accounts
        }
    if voucher.period != period:
        raise missing
    context = {
        "title": f"Voucher {voucher.number}",
        "period": period,
        "voucher": voucher,
        "customer": _customer(voucher),
        "chart": chart,
        "balanced": voucher.debit_total == voucher.credit_total,
    }
    return page(request, "ledger/voucher.html", context, identity=identity)
