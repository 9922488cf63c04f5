"""Remittance files received: what each held and what became of its payments; refused files with why."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.console.auth import Viewer
from gateway.console.templating import page
from gateway.services.payments import remittances as remittance_service
from gateway.services.payments import review

router = APIRouter()

#: Files shown: the newest ones; older ones are in `GET /remittances` and `gateway remittance list`.
SHOWN = 200


@router.get("/console/remittances")
def remittances_page(request: Request, identity: Viewer) -> Response:
    engine: Engine = request.app.state.engine
    with session_scope(engine) as session:
        files = remittance_service.list_files(session, identity.tenant_id, limit=SHOWN)
        accepted = [f for f in files if f.status != "rejected"]
        outcomes = review.file_outcomes(session, identity.tenant_id, [f.id for f in accepted])
        context = {
            "title": "Remittance files",
            "accepted": [(f, outcomes[f.id]) for f in accepted],
            "refused": [f for f in files if f.status == "rejected"],
            "shown": SHOWN,
            "more": len(files) >= SHOWN,
        }
        return page(request, "payments/remittances.html", context, identity=identity)
