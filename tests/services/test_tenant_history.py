"""A tenant's configuration history: every change of its settings and webhook endpoints, by whom and why,
field by field — the same through the API, the command line and the console; never a secret."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.net_policy import AddressPolicy
from gateway.services.tenancy import webhooks
from gateway.services.tenancy.history import changes_between, tenant_events
from gateway.services.tenancy.tenants import put_tenant_settings
from schemas.tenant import TenantSettings


def _history(engine: Engine, tenant: str = "acme") -> list[tuple[Any, ...]]:
    with session_scope(engine) as session:
        return [(e.actor, e.subject, e.action, e.changes, e.reason) for e in tenant_events(session, tenant)]


def test_changes_are_named_field_by_field_nested_by_dots() -> None:
    before = {"hold_for_review": False, "matching": {"margin": "0.1", "book_advices": True}, "kid": None}
    after = {"hold_for_review": True, "matching": {"margin": "0.2", "book_advices": True}, "kid": None}
    assert changes_between(before, after) == {
        "hold_for_review": [False, True],
        "matching.margin": ["0.1", "0.2"],
    }
    assert changes_between(after, after) == {}


def test_settings_changes_are_recorded_and_a_repeat_is_not(engine: Engine) -> None:
    with session_scope(engine) as session:
        changed = put_tenant_settings(
            session, "acme", TenantSettings(hold_for_review=True), actor="cli:kari", reason="review week"
        )
        assert changed == {"hold_for_review": [False, True]}
        assert (
            put_tenant_settings(session, "acme", TenantSettings(hold_for_review=True), actor="cli:kari") == {}
        )
    assert _history(engine) == [
        ("cli:kari", "settings", "settings changed", {"hold_for_review": [False, True]}, "review week")
    ]


def test_webhook_changes_are_recorded_without_the_secret(engine: Engine) -> None:
    url = "https://erp.example/hooks?token=hush-hush"
    with session_scope(engine) as session:
        anywhere = AddressPolicy(allow_private=True)  # erp.example resolves nowhere
        endpoint, _, _ = webhooks.put_endpoint(
            session, "acme", url=url, events=["*"], actor="api:erp", addresses=anywhere
        )
        webhooks.put_endpoint(
            session, "acme", url=url, events=["*"], active=False, actor="console:ops@acme.example"
        )
        webhooks.put_endpoint(
            session, "acme", url=url, events=["*"], active=False, secret="whsec_new", actor="api:erp"
        )
        webhooks.delete_endpoint(session, "acme", endpoint.id, actor="cli:kari")
    history = _history(engine)
    assert [(actor, action) for actor, _, action, _, _ in history] == [
        ("cli:kari", "webhook removed"),
        ("api:erp", "webhook changed"),
        ("console:ops@acme.example", "webhook deactivated"),
        ("api:erp", "webhook added"),
    ]
    written = json.dumps(history)
    assert "hush-hush" not in written and "whsec_new" not in written
    assert history[1][3] == {"secret": ["…", "replaced"]}
