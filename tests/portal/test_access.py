"""Signing in to the portal through the pages, with the link read from a real e-mail (aiosmtpd on loopback):
one-time, short-lived, bound to the asking browser, a new session at sign-in; the same answer and the same
limit for known and unknown addresses; login CSRF; passwords; invoice links."""

from __future__ import annotations

import datetime as dt
import logging
import re
from urllib.parse import urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlmodel import col

from db.engine import session_scope
from db.models import PortalLinkToken, PortalSession, PortalUser
from gateway.services.portal.links import invoice_link_token
from tests.portal.helpers import portal_session
from tests.portal.mailbox import Mailbox, mailbox, portal_client, seed_customer, seed_invoice

__all__ = ["mailbox", "portal_client"]  # fixtures

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _csrf(html: str) -> str:
    match = CSRF.search(html)
    assert match, "no csrf_token in the page"
    return match.group(1)


def ask_link(client: TestClient, email: str, seller: str = "acme") -> tuple[int, str]:
    form = client.get(f"/portal/sign-in?seller={seller}")
    assert form.status_code == 200
    answer = client.post(
        "/portal/sign-in", data={"seller": seller, "email": email, "csrf_token": _csrf(form.text)}
    )
    return answer.status_code, answer.text


def open_link(client: TestClient, link: str) -> tuple[int, str, str | None]:
    path = urlsplit(link).path + (f"?{urlsplit(link).query}" if urlsplit(link).query else "")
    shown = client.get(path)
    if shown.status_code != 200:
        return shown.status_code, shown.text, None
    used = client.post(urlsplit(link).path, data={"csrf_token": _csrf(shown.text)}, follow_redirects=False)
    return used.status_code, used.text, used.headers.get("location")


def _sessions(engine: Engine) -> list[PortalSession]:
    with session_scope(engine) as session:
        rows = list(session.execute(select(PortalSession).order_by(col(PortalSession.created_at))).scalars())
        session.expunge_all()
        return rows


def test_sign_in_by_e_mail_link_makes_a_new_session(
    portal_client: TestClient, engine: Engine, mailbox: Mailbox
) -> None:
    seed_customer(engine)
    # A session already in the browser (opened by an invoice link, say): it must not survive sign-in.
    invoice_id = seed_invoice(engine, "acme", "C1")
    settings = portal_client.app.state.settings  # type: ignore[attr-defined]
    portal_client.get(f"/portal/i/{invoice_link_token(settings, 'acme', invoice_id)}", follow_redirects=False)
    old_cookie = portal_client.cookies.get("gw_portal")
    (planted,) = [row for row in _sessions(engine) if row.ended_at is None]
    status, page = ask_link(portal_client, "ap@customer.TEST")
    assert status == 200 and "Sjekk e-posten din" in page
    message = mailbox.wait_for("ap@customer.test")
    assert "Acme AS" in message["From"] and "Acme AS" in message["Subject"]
    body = message.get_body(("plain",))
    assert body is not None and "15 minutter" in body.get_content() and "se bort fra" in body.get_content()
    link = mailbox.link_to("ap@customer.test")
    # GET only shows the button: a mail scanner fetching it uses nothing up.
    assert portal_client.get(urlsplit(link).path).status_code == 200
    assert portal_client.get(urlsplit(link).path).status_code == 200
    status, _, location = open_link(portal_client, link)
    assert status == 303 and location == "/portal/"
    new_cookie = portal_client.cookies.get("gw_portal")
    assert new_cookie and old_cookie and new_cookie != old_cookie
    rows = {row.id: row for row in _sessions(engine)}
    assert rows[planted.id].ended_at is not None
    live = [row for row in rows.values() if row.ended_at is None]
    assert len(live) == 1 and live[0].user_id is not None and live[0].invoice_id is None
    account = portal_client.get("/portal/account")
    assert account.status_code == 200 and "ap@customer.test" in account.text
    # The old cookie signs nobody in any more.
    with TestClient(portal_client.app, base_url="https://testserver") as other:
        other.cookies.set("gw_portal", old_cookie, path="/portal")
        assert other.get(f"/portal/invoices/{invoice_id}", follow_redirects=False).status_code in (303, 404)
        assert (
            other.post("/portal/sign-out", follow_redirects=False)
            .headers["location"]
            .startswith("/portal/sign-in")
        )
    with session_scope(engine) as session:
        user = session.execute(select(PortalUser)).scalar_one()
        assert user.last_sign_in_at is not None and user.receiver_id == "C1"


def test_a_link_is_single_use_short_lived_and_bound_to_the_browser(
    portal_client: TestClient, engine: Engine, mailbox: Mailbox, settings: object
) -> None:
    seed_customer(engine)
    ask_link(portal_client, "ap@customer.test")
    link = mailbox.link_to("ap@customer.test")
    assert open_link(portal_client, link)[0] == 303
    status, page, _ = open_link(portal_client, link)
    assert status == 410 and "allerede brukt" in page and "ny lenke" in page.lower()

    # Another browser (no binding cookie) cannot use a link this one asked for.
    ask_link(portal_client, "ap@customer.test")
    link = mailbox.link_to("ap@customer.test", 2)
    app = portal_client.app
    with TestClient(app, base_url="https://testserver") as other:
        status, page, _ = open_link(other, link)
    assert status == 400 and "samme nettleseren" in page
    assert open_link(portal_client, link)[0] == 303  # still good where it was asked for

    # Expired.
    ask_link(portal_client, "ap@customer.test")
    link = mailbox.link_to("ap@customer.test", 3)
    with session_scope(engine) as session:
        session.execute(update(PortalLinkToken).values(expires_at=dt.datetime(2020, 1, 1, tzinfo=dt.UTC)))
    status, page, _ = open_link(portal_client, link)
    assert status == 410 and "utløpt" in page
    # A token nobody made.
    assert portal_client.get("/portal/link/" + "x" * 43).status_code == 400


def test_known_and_unknown_addresses_get_the_same_page_and_the_same_limit(
    portal_client: TestClient, engine: Engine, mailbox: Mailbox
) -> None:
    seed_customer(engine)
    known = [ask_link(portal_client, "ap@customer.test") for _ in range(3)]
    unknown = [ask_link(portal_client, "nobody@customer.test") for _ in range(3)]
    assert {status for status, _ in known + unknown} == {200}
    assert {page for _, page in known} == {page for _, page in unknown}  # byte for byte
    mailbox.wait_for("ap@customer.test", 3)
    assert mailbox.to("nobody@customer.test") == []
    # The fourth in 15 minutes: 429 for both, alike.
    known_status, known_page = ask_link(portal_client, "ap@customer.test")
    unknown_status, unknown_page = ask_link(portal_client, "nobody@customer.test")
    assert known_status == unknown_status == 429
    assert "For mange forsøk" in known_page
    assert known_page.replace("ap@customer.test", "X") == unknown_page.replace("nobody@customer.test", "X")
    assert len(mailbox.to("ap@customer.test")) == 3


def test_the_client_limit_is_ten_times_the_address_limit(portal_client: TestClient, engine: Engine) -> None:
    seed_customer(engine)
    statuses = [ask_link(portal_client, f"someone{n}@example.test")[0] for n in range(31)]
    assert statuses[:30] == [200] * 30 and statuses[30] == 429


def test_sign_in_forms_need_the_login_csrf_token(portal_client: TestClient, engine: Engine) -> None:
    seed_customer(engine)
    assert (
        portal_client.post(
            "/portal/sign-in", data={"seller": "acme", "email": "ap@customer.test"}
        ).status_code
        == 403
    )
    portal_client.get("/portal/sign-in?seller=acme")
    assert (
        portal_client.post(
            "/portal/sign-in", data={"seller": "acme", "email": "ap@customer.test", "csrf_token": "forged"}
        ).status_code
        == 403
    )
    refused = portal_client.post(
        "/portal/sign-in/password",
        data={"seller": "acme", "email": "ap@customer.test", "password": "x" * 12},
    )
    assert refused.status_code == 403 and "<html" in refused.text
    assert portal_client.post("/portal/link/whatever").status_code == 403


def test_password_account_page_and_password_sign_in(
    portal_client: TestClient, engine: Engine, mailbox: Mailbox
) -> None:
    seed_customer(engine)
    identity = portal_session(portal_client, engine, "acme", "C1", email="ap@customer.test")
    assert (
        portal_client.post(
            "/portal/account", data={"action": "password", "password": "p" * 12, "repeat": "p" * 12}
        ).status_code
        == 403
    )
    short = portal_client.post(
        "/portal/account",
        data={
            "csrf_token": identity.csrf_token,
            "action": "password",
            "password": "short",
            "repeat": "short",
        },
    )
    assert short.status_code == 422 and "12 tegn" in short.text
    saved = portal_client.post(
        "/portal/account",
        data={
            "csrf_token": identity.csrf_token,
            "action": "password",
            "password": "correct horse battery",
            "repeat": "correct horse battery",
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303
    english = portal_client.post(
        "/portal/account",
        data={"csrf_token": identity.csrf_token, "action": "language", "language": "en"},
    )
    assert english.status_code == 200 and "Your account" in english.text
    with TestClient(portal_client.app, base_url="https://testserver") as other:
        form = other.get("/portal/sign-in?seller=acme")
        token = _csrf(form.text)
        wrong = other.post(
            "/portal/sign-in/password",
            data={
                "seller": "acme",
                "email": "ap@customer.test",
                "password": "wrong password!",
                "csrf_token": token,
            },
        )
        unknown = other.post(
            "/portal/sign-in/password",
            data={
                "seller": "acme",
                "email": "no@customer.test",
                "password": "wrong password!",
                "csrf_token": token,
            },
        )
        assert wrong.status_code == unknown.status_code == 401
        assert wrong.text.replace("ap@customer.test", "X") == unknown.text.replace("no@customer.test", "X")
        right = other.post(
            "/portal/sign-in/password",
            data={
                "seller": "acme",
                "email": "AP@customer.test",
                "password": "correct horse battery",
                "csrf_token": token,
            },
            follow_redirects=False,
        )
        assert right.status_code == 303
        assert other.get("/portal/account").status_code == 200


def test_an_invoice_link_opens_a_session_for_that_invoice_only(
    portal_client: TestClient, engine: Engine
) -> None:
    seed_customer(engine)
    invoice_id = seed_invoice(engine, "acme", "C1")
    settings = portal_client.app.state.settings  # type: ignore[attr-defined]
    token = invoice_link_token(settings, "acme", invoice_id)
    answer = portal_client.get(f"/portal/i/{token}", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"] == f"/portal/invoices/{invoice_id}"
    live = [row for row in _sessions(engine) if row.ended_at is None]
    assert len(live) == 1 and live[0].invoice_id == invoice_id and live[0].user_id is None
    # The visitor is no signed-in customer: the account page asks to sign in.
    assert portal_client.get("/portal/account", follow_redirects=False).status_code == 303
    # Forged, tampered, or naming an invoice without a customer / of no such invoice: 404.
    assert portal_client.get(f"/portal/i/{token[:-2]}xx").status_code == 404
    assert portal_client.get("/portal/i/not-a-token").status_code == 404
    loose = seed_invoice(engine, "acme", None, number="10002")
    assert portal_client.get(f"/portal/i/{invoice_link_token(settings, 'acme', loose)}").status_code == 404
    assert (
        portal_client.get(f"/portal/i/{invoice_link_token(settings, 'globex', invoice_id)}").status_code
        == 404
    )
    # A browser signed in as the invoice's customer keeps its session.
    with TestClient(portal_client.app, base_url="https://testserver") as customer:
        identity = portal_session(customer, engine, "acme", "C1", email="ap@customer.test")
        assert customer.get(f"/portal/i/{token}", follow_redirects=False).status_code == 303
        rows = {row.id: row for row in _sessions(engine)}
        assert rows[identity.session_id].ended_at is None
        assert sum(1 for row in rows.values() if row.invoice_id == invoice_id) == 1


def test_no_log_line_of_the_gateway_names_the_link(
    portal_client: TestClient, engine: Engine, mailbox: Mailbox, caplog: pytest.LogCaptureFixture
) -> None:
    seed_customer(engine)
    with caplog.at_level(logging.DEBUG):
        ask_link(portal_client, "ap@customer.test")
        link = mailbox.link_to("ap@customer.test")
        assert open_link(portal_client, link)[0] == 303
        invoice_id = seed_invoice(engine, "acme", "C1")
        settings = portal_client.app.state.settings  # type: ignore[attr-defined]
        invoice_token = invoice_link_token(settings, "acme", invoice_id)
        portal_client.get(f"/portal/i/{invoice_token}", follow_redirects=False)
    token = urlsplit(link).path.rsplit("/", 1)[1]
    ours = [record for record in caplog.records if record.name.startswith("gateway")]
    assert any(
        getattr(record, "route", None) == "/portal/link/{token}" or "link" in record.getMessage()
        for record in ours
    )
    for record in ours:
        rendered = record.getMessage() + " " + " ".join(str(value) for value in record.__dict__.values())
        assert token not in rendered and invoice_token not in rendered, record.name
