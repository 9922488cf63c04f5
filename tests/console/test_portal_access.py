"""The "Portal access" block on a customer's page: its portal users, an invitation sent by a real SMTP
server on loopback (the same service as the API's invitation), disabling a user, who may do it (operator
and admin; a viewer or credit controller sees no buttons and a forged POST is a 403) and CSRF."""

from __future__ import annotations

import html
import re

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import PortalSession, PortalUser
from gateway.api.app import create_app
from gateway.settings import Settings
from tests.console.helpers import ConsoleClient, make_user
from tests.portal.helpers import portal_session
from tests.portal.mailbox import Mailbox, mail_settings, mailbox

__all__ = ["mailbox"]  # fixture

PAGE = "/console/follow-up/customers/C1"
INVITE = PAGE + "/portal-users"


@pytest.fixture
def settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return mail_settings(settings, mailbox, portal_base_url="https://faktura.acme.test")


@pytest.fixture
def customer(client: TestClient, auth: dict[str, str]) -> str:
    """Customer C1: a receiver profile put through the API (the tenant is made with the token)."""
    profile = {
        "receiver_id": "C1", "name": "Fjordkraft Kunde AS", "preferred_channel": "folder",
        "addresses": {"folder": "C1"},
    }  # fmt: skip
    assert client.put("/receivers/C1", json=profile, headers=auth).status_code == 200
    return "C1"


def _text(page: str) -> str:
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


def _block(page: str) -> str:
    found = re.search(r'<section aria-labelledby="portal-access-h".*?</section>', page, re.S)
    assert found, "no Portal access block"
    return found.group(0)


def _users(engine: Engine) -> list[PortalUser]:
    with session_scope(engine) as session:
        rows = list(session.execute(select(PortalUser).order_by(col(PortalUser.email))).scalars())
        for row in rows:
            session.expunge(row)
        return rows


def _notice(console: ConsoleClient, answer: object) -> str:
    location = answer.headers["location"]  # type: ignore[attr-defined]
    assert location.startswith(PAGE)
    found = re.search(
        r'<div class="notice notice-(\w+)" role="status">(.*?)</div>', console.get(location).text, re.S
    )
    assert found, "no notice after the form"
    return f"{found.group(1)}: {html.unescape(found.group(2))}"


def test_an_operator_invites_and_the_email_leaves(
    operator: ConsoleClient, engine: Engine, mailbox: Mailbox, customer: str
) -> None:
    empty = _text(_block(operator.get(PAGE).text))
    assert "Nobody at this customer has portal access yet" in empty and "Send the invitation" in empty
    answer = operator.post(INVITE, {"email": "Regnskap@Kunde.test", "language": "en"})
    assert answer.status_code == 303, answer.text
    assert _notice(operator, answer).startswith("ok: Invited regnskap@kunde.test")
    link = mailbox.link_to("regnskap@kunde.test")
    assert link.startswith("https://faktura.acme.test/portal/link/")
    [user] = _users(engine)
    assert (user.email, user.language, user.invited_by) == (
        "regnskap@kunde.test",
        "en",
        "console:ops@acme.example",
    )
    block = _text(_block(operator.get(PAGE).text))
    assert "regnskap@kunde.test" in block and "never" in block and "none (links only)" in block
    assert "active" in block and "Disable regnskap@kunde.test" in block


def test_a_bad_address_invites_nobody(operator: ConsoleClient, engine: Engine, customer: str) -> None:
    answer = operator.post(INVITE, {"email": "not an address", "language": "nb"})
    assert _notice(operator, answer).startswith("error: Nobody was invited: email:")
    assert _users(engine) == []
    assert (
        operator.post("/console/follow-up/customers/C9/portal-users", {"email": "a@b.test"}).status_code
        == 404
    )


def test_without_email_settings_the_invitation_is_made_and_the_page_says_why_no_mail(
    settings: Settings, engine: Engine, customer: str
) -> None:
    bare = settings.model_copy(update={"channels": {}})
    with TestClient(create_app(bare, engine), base_url="http://testserver") as web:
        console = ConsoleClient(web, make_user(engine, "drift@acme.example", "admin"))
        answer = console.post(INVITE, {"email": "ap@kunde.test", "language": "nb"})
        notice = _notice(console, answer)
    assert notice.startswith("warn: ap@kunde.test is invited, but the invitation e-mail did not leave:")
    assert "no e-mail settings" in notice
    assert [user.email for user in _users(engine)] == ["ap@kunde.test"]


def test_disabling_ends_the_users_sessions(
    operator: ConsoleClient, client: TestClient, engine: Engine, customer: str
) -> None:
    identity = portal_session(client, engine, "acme", "C1", email="ap@kunde.test")
    [user] = _users(engine)
    answer = operator.post(f"{INVITE}/{user.id}/disable")
    assert _notice(operator, answer).startswith("info: Disabled ap@kunde.test")
    [after] = _users(engine)
    assert after.disabled_at is not None
    with session_scope(engine) as session:
        row = session.execute(
            select(PortalSession).where(col(PortalSession.csrf_token) == identity.csrf_token)
        ).scalar_one()
        assert row.ended_at is not None
    block = _text(_block(operator.get(PAGE).text))
    assert "disabled" in block and "Disable ap@kunde.test" not in block
    assert operator.post(f"/console/follow-up/customers/C2/portal-users/{user.id}/disable").status_code == 404


@pytest.mark.parametrize("role", ["viewer", "credit"])
def test_other_roles_see_no_buttons_and_a_forged_post_is_refused(
    role: str, web: TestClient, client: TestClient, engine: Engine, customer: str
) -> None:
    portal_session(client, engine, "acme", "C1", email="ap@kunde.test")
    [user] = _users(engine)
    console = ConsoleClient(web, make_user(engine, f"{role}@acme.example", role))
    block = _block(console.get(PAGE).text)
    assert "ap@kunde.test" in block and "<form" not in block
    assert f"Your role ({role}) may look" in _text(block)
    assert console.post(INVITE, {"email": "x@kunde.test"}).status_code == 403
    assert console.post(f"{INVITE}/{user.id}/disable").status_code == 403
    assert [(u.email, u.disabled_at) for u in _users(engine)] == [("ap@kunde.test", None)]


def test_without_the_csrf_token_nothing_happens(
    operator: ConsoleClient, engine: Engine, customer: str
) -> None:
    assert operator.post(INVITE, {"email": "x@kunde.test"}, csrf=False).status_code == 403
    assert (
        operator.post(INVITE, {"email": "x@kunde.test", "csrf_token": "forged"}, csrf=False).status_code
        == 403
    )
    cross = operator.post(INVITE, {"email": "x@kunde.test"}, headers={"Origin": "https://evil.example"})
    assert cross.status_code == 403
    assert _users(engine) == []
