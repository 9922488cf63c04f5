"""Ops invite a customer's people to the portal through the API: the invitation e-mail (a real SMTP server
on loopback) carries the link, the answer never does; listing, disabling, and tenant isolation."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from tests.portal.mailbox import Mailbox, mailbox, portal_client, seed_customer

__all__ = ["mailbox", "portal_client"]  # fixtures

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def _form_token(html: str) -> str:
    match = CSRF.search(html)
    assert match
    return match.group(1)


def test_invite_sign_in_set_a_password_and_sign_in_with_it(
    portal_client: TestClient, engine: Engine, mailbox: Mailbox, auth: dict[str, Any]
) -> None:
    seed_customer(engine, email_address=None)
    answer = portal_client.post(
        "/customers/C1/portal-users", json={"email": "Buyer@Customer.test", "language": "en"}, headers=auth
    )
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["email"] == "buyer@customer.test" and body["mail_sent"] is True
    assert body["invited_by"] == "api:erp" and body["has_password"] is False
    message = mailbox.wait_for("buyer@customer.test")
    assert message["Subject"].startswith("Invitation to")
    link = mailbox.link_to("buyer@customer.test")
    assert urlsplit(link).path.split("/")[-1] not in answer.text
    # The invitation is not bound to a browser: any browser may open it, once.
    with TestClient(portal_client.app, base_url="https://testserver") as browser:
        shown = browser.get(urlsplit(link).path)
        assert shown.status_code == 200 and "Continue" in shown.text
        used = browser.post(
            urlsplit(link).path, data={"csrf_token": _form_token(shown.text)}, follow_redirects=False
        )
        assert used.status_code == 303
        account = browser.get("/portal/account")
        assert account.status_code == 200 and "Your account" in account.text  # the user's language
        csrf = _form_token(account.text)
        saved = browser.post(
            "/portal/account",
            data={
                "csrf_token": csrf,
                "action": "password",
                "password": "a long passphrase",
                "repeat": "a long passphrase",
            },
            follow_redirects=False,
        )
        assert saved.status_code == 303
    assert portal_client.get(urlsplit(link).path).status_code == 410
    with TestClient(portal_client.app, base_url="https://testserver") as browser:
        form = browser.get("/portal/sign-in?seller=acme")
        signed = browser.post(
            "/portal/sign-in/password",
            data={
                "seller": "acme",
                "email": "buyer@customer.test",
                "password": "a long passphrase",
                "csrf_token": _form_token(form.text),
            },
            follow_redirects=False,
        )
        assert signed.status_code == 303
        assert browser.get("/portal/account").status_code == 200
        listed = portal_client.get("/customers/C1/portal-users", headers=auth).json()
        assert [(user["email"], user["has_password"], user["active"]) for user in listed] == [
            ("buyer@customer.test", True, True)
        ]
        disabled = portal_client.delete(f"/customers/C1/portal-users/{listed[0]['id']}", headers=auth)
        assert disabled.status_code == 200 and disabled.json()["active"] is False
        # Its session ended: the account page asks to sign in again.
        assert browser.get("/portal/account", follow_redirects=False).status_code == 303
        again = browser.post(
            "/portal/sign-in/password",
            data={
                "seller": "acme",
                "email": "buyer@customer.test",
                "password": "a long passphrase",
                "csrf_token": _form_token(browser.get("/portal/sign-in?seller=acme").text),
            },
        )
        assert again.status_code == 401


def test_another_tenants_customer_is_a_404(
    portal_client: TestClient, engine: Engine, mailbox: Mailbox, auth: dict[str, Any], token_for: Any
) -> None:
    seed_customer(engine, tenant_id="globex", receiver_id="G1")
    seed_customer(engine)
    assert (
        portal_client.post("/customers/G1/portal-users", json={"email": "x@y.test"}, headers=auth).status_code
        == 404
    )
    assert portal_client.get("/customers/G1/portal-users", headers=auth).status_code == 404
    assert (
        portal_client.post(
            "/customers/NOPE/portal-users", json={"email": "x@y.test"}, headers=auth
        ).status_code
        == 404
    )
    theirs = portal_client.post(
        "/customers/G1/portal-users", json={"email": "g@globex.test"}, headers=token_for("globex")
    ).json()
    assert portal_client.delete(f"/customers/G1/portal-users/{theirs['id']}", headers=auth).status_code == 404
    assert portal_client.delete(f"/customers/C1/portal-users/{theirs['id']}", headers=auth).status_code == 404
    bad = portal_client.post("/customers/C1/portal-users", json={"email": "not an address"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "body.email"
    assert mailbox.to("x@y.test") == []


def test_an_invitation_without_mail_settings_says_so(
    client: TestClient, engine: Engine, auth: dict[str, Any]
) -> None:
    seed_customer(engine)
    answer = client.post("/customers/C1/portal-users", json={"email": "ap@customer.test"}, headers=auth)
    assert answer.status_code == 201
    assert answer.json()["mail_sent"] is False and "e-mail settings" in answer.json()["mail_error"]
