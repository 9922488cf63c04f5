"""The tenant's settings: read-only for everyone, with its receiver-profile count and console users; an
admin edits them on the same page (validated by `TenantSettings`, errors beside their fields, nothing
saved until all is right)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from db.engine import session_scope
from gateway.console.auth import Admin, Viewer
from gateway.console.templating import page, redirect
from gateway.console.tenant_settings_form import (
    FIELD_LABELS,
    MATCHING_FIELDS,
    WEEKDAYS,
    SettingsFormError,
    descriptions,
    form_values,
    parse_form,
    setting_lines,
)
from gateway.services.tenancy.console_users import ConsoleIdentity, list_users
from gateway.services.tenancy.history import tenant_events
from gateway.services.tenancy.tenants import count_receivers, put_tenant_settings, tenant_settings

router = APIRouter()


def _settings_page(
    request: Request,
    identity: ConsoleIdentity,
    *,
    values: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    with session_scope(request.app.state.engine) as session:
        settings = tenant_settings(session, identity.tenant_id)
        receivers = count_receivers(session, identity.tenant_id)
        users = list_users(session, identity.tenant_id)
        history = tenant_events(session, identity.tenant_id)
    return page(
        request,
        "operations/settings.html",
        {
            "title": "Settings",
            "groups": setting_lines(settings),
            "receivers": receivers,
            "users": users,
            "history": history,
            "values": values if values is not None else form_values(settings),
            "errors": errors or {},
            "help": descriptions(),
            "weekdays": WEEKDAYS,
            "matching_fields": MATCHING_FIELDS,
            "labels": FIELD_LABELS,
        },
        identity=identity,
        status=status,
    )


@router.get("/console/settings")
def settings_page(request: Request, identity: Viewer) -> Response:
    return _settings_page(request, identity)


@router.post("/console/settings")
async def save_settings(request: Request, identity: Admin) -> Response:
    form = await request.form()
    weekdays = [value for value in form.getlist("window_weekdays") if isinstance(value, str)]
    fields = {key: value for key, value in form.items() if isinstance(value, str)}
    invalid: SettingsFormError | None = None
    with session_scope(request.app.state.engine) as session:
        stored = tenant_settings(session, identity.tenant_id)
        try:
            settings = parse_form(fields, weekdays, stored)
        except SettingsFormError as error:
            invalid = error
        else:
            put_tenant_settings(
                session, identity.tenant_id, settings, actor=identity.actor, reason=fields.get("reason")
            )
    if invalid is not None:
        return _settings_page(request, identity, values=invalid.values, errors=invalid.errors, status=422)
    return redirect(request, "/console/settings", f"Settings of {identity.tenant_id} saved.")
