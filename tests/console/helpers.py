"""What console tests share: users made through the service, a signed-in client that sends each form's
CSRF token, and a tenant with invoices pushed through the real API and delivered by a real worker."""

from __future__ import annotations

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.samples import sample_invoice_json
from gateway.services.tenancy.console_users import add_user
from gateway.services.tenancy.tenants import create_token, ensure_tenant
from gateway.settings import Settings
from gateway.worker.runner import Worker

PASSWORD = "correct horse battery staple"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def make_user(
    engine: Engine, email: str, role: str = "operator", tenants: tuple[str, ...] = ("acme",)
) -> str:
    """A console user with `PASSWORD` (the tenants are made if new); returns the e-mail."""
    with session_scope(engine) as session:
        for tenant in tenants:
            ensure_tenant(session, tenant)
        add_user(session, email, PASSWORD, role=role, tenant_ids=list(tenants))
    return email


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found is not None, "the page has no form with a CSRF token"
    return found.group(1)


class ConsoleClient:
    """A TestClient signed in as one user; `post` adds the session's CSRF token unless told not to."""

    def __init__(self, client: TestClient, email: str, password: str = PASSWORD) -> None:
        self.client = client
        self.email = email
        form = client.get("/console/login")
        answer = client.post(
            "/console/login",
            data={"email": email, "password": password, "csrf_token": csrf_of(form.text)},
            follow_redirects=False,
        )
        assert answer.status_code == 303, answer.text
        self.csrf = csrf_of(client.get("/console/").text)

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.client.get(path, **kwargs)

    def post(self, path: str, data: dict[str, Any] | None = None, *, csrf: bool = True, **kwargs: Any) -> Any:
        form = dict(data or {})
        if csrf:
            form.setdefault("csrf_token", self.csrf)
        kwargs.setdefault("follow_redirects", False)
        return self.client.post(path, data=form, **kwargs)


def api_auth(engine: Engine, tenant: str = "acme") -> dict[str, str]:
    with session_scope(engine) as session:
        return {"Authorization": f"Bearer {create_token(session, tenant, 'erp')}"}


def push_invoices(
    client: TestClient, auth: dict[str, str], count: int = 3, *, start: int = 1, **fields: Any
) -> list[dict[str, Any]]:
    """`count` sample invoices pushed through `POST /invoices`; their answers."""
    answers = []
    for n in range(start, start + count):
        answer = client.post("/invoices", json=sample_invoice_json(n, **fields), headers=auth)
        assert answer.status_code in (200, 201), answer.text
        answers.append(answer.json())
    return answers


def deliver(engine: Engine, settings: Settings) -> None:
    """One pass of a real worker: what is due is rendered, validated and sent."""
    Worker(engine, settings).run(once=True)
