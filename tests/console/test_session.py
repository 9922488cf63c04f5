"""Signing in and out, session expiry, the CSRF token, the rate limit and the tenant switch, over HTTP."""

from __future__ import annotations

import datetime as dt

from fastapi.testclient import TestClient
from sqlalchemy import Engine, update

from db.engine import session_scope
from db.models import ConsoleSession
from gateway.services.tenancy.console_users import disable_user
from tests.console.helpers import PASSWORD, ConsoleClient, csrf_of, make_user


def _sign_in(web: TestClient, email: str, password: str, **extra: str) -> object:
    form = web.get("/console/login")
    data = {"email": email, "password": password, "csrf_token": csrf_of(form.text), **extra}
    return web.post("/console/login", data=data, follow_redirects=False)


def test_a_page_asks_for_sign_in_and_comes_back_after(web: TestClient, engine: Engine) -> None:
    make_user(engine, "ops@acme.example")
    first = web.get("/console/deviations?cause=bounced", follow_redirects=False)
    assert first.status_code == 303
    assert first.headers["location"] == "/console/login?next=/console/deviations%3Fcause%3Dbounced"
    answer = _sign_in(web, "OPS@acme.example", PASSWORD, next="/console/deviations?cause=bounced")
    assert answer.status_code == 303  # type: ignore[attr-defined]
    assert answer.headers["location"] == "/console/deviations?cause=bounced"  # type: ignore[attr-defined]
    cookie = answer.headers["set-cookie"]  # type: ignore[attr-defined]
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie


def test_next_never_leads_off_the_console(web: TestClient, engine: Engine) -> None:
    make_user(engine, "ops@acme.example")
    for elsewhere in ("https://evil.example/", "//evil.example/", "/docs", "/console\\@evil.example"):
        answer = _sign_in(web, "ops@acme.example", PASSWORD, next=elsewhere)
        assert answer.headers["location"] == "/console/"  # type: ignore[attr-defined]


def test_a_wrong_password_and_an_unknown_address_get_the_same_answer(web: TestClient, engine: Engine) -> None:
    make_user(engine, "ops@acme.example")
    wrong = _sign_in(web, "ops@acme.example", "not the password")
    unknown = _sign_in(web, "nobody@acme.example", PASSWORD)
    for answer in (wrong, unknown):
        assert answer.status_code == 401  # type: ignore[attr-defined]
        assert "Wrong e-mail or password." in answer.text  # type: ignore[attr-defined]
        assert "gw_console=" not in answer.headers.get("set-cookie", "")  # type: ignore[attr-defined]


def test_the_rate_limit_pauses_an_address_even_for_the_right_password(
    web: TestClient, engine: Engine
) -> None:
    make_user(engine, "ops@acme.example")
    for _ in range(5):
        assert _sign_in(web, "ops@acme.example", "guess guess guess").status_code == 401  # type: ignore[attr-defined]
    paused = _sign_in(web, "ops@acme.example", PASSWORD)
    assert paused.status_code == 429  # type: ignore[attr-defined]
    assert int(paused.headers["retry-after"]) > 0  # type: ignore[attr-defined]
    assert "too many failed sign-ins" in paused.text  # type: ignore[attr-defined]


def test_sign_in_form_without_its_token_is_refused(web: TestClient, engine: Engine) -> None:
    make_user(engine, "ops@acme.example")
    web.get("/console/login")
    answer = web.post(
        "/console/login", data={"email": "ops@acme.example", "password": PASSWORD}, follow_redirects=False
    )
    assert answer.status_code == 403


def test_sign_out_ends_the_session_on_the_server(web: TestClient, engine: Engine) -> None:
    user = ConsoleClient(web, make_user(engine, "ops@acme.example"))
    stolen = web.cookies.get("gw_console")
    assert user.post("/console/logout").status_code == 303
    web.cookies.set("gw_console", stolen or "", path="/console")  # a copy kept from before is worth nothing
    assert web.get("/console/", follow_redirects=False).status_code == 303


def test_an_idle_session_expires(web: TestClient, engine: Engine) -> None:
    ConsoleClient(web, make_user(engine, "ops@acme.example"))
    assert web.get("/console/").status_code == 200
    with session_scope(engine) as session:
        long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=31)
        session.execute(update(ConsoleSession).values(last_seen_at=long_ago))
    answer = web.get("/console/", follow_redirects=False)
    assert answer.status_code == 303 and answer.headers["location"].startswith("/console/login")


def test_a_session_ends_at_its_absolute_expiry_however_busy(web: TestClient, engine: Engine) -> None:
    ConsoleClient(web, make_user(engine, "ops@acme.example"))
    with session_scope(engine) as session:
        session.execute(
            update(ConsoleSession).values(expires_at=dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1))
        )
    assert web.get("/console/", follow_redirects=False).status_code == 303


def test_disabling_a_user_ends_their_session(web: TestClient, engine: Engine) -> None:
    ConsoleClient(web, make_user(engine, "ops@acme.example"))
    with session_scope(engine) as session:
        disable_user(session, "ops@acme.example")
    assert web.get("/console/", follow_redirects=False).status_code == 303
    assert _sign_in(web, "ops@acme.example", PASSWORD).status_code == 401  # type: ignore[attr-defined]


def test_a_post_without_the_csrf_token_or_from_another_site_is_403(web: TestClient, engine: Engine) -> None:
    user = ConsoleClient(web, make_user(engine, "ops@acme.example"))
    assert user.post("/console/logout", csrf=False).status_code == 403
    assert user.post("/console/logout", {"csrf_token": "forged"}).status_code == 403
    elsewhere = user.post("/console/logout", headers={"Origin": "https://evil.example"})
    assert elsewhere.status_code == 403
    assert web.get("/console/", follow_redirects=False).status_code == 200  # still signed in


def test_an_admin_switches_between_their_tenants_only(web: TestClient, engine: Engine) -> None:
    admin = ConsoleClient(web, make_user(engine, "boss@acme.example", "admin", ("acme", "globex")))
    assert "globex" in web.get("/console/").text
    assert admin.post("/console/tenant", {"tenant": "globex"}).status_code == 303
    assert "Tenant globex" in web.get("/console/").text
    make_user(engine, "x@initech.example", "viewer", ("initech",))
    assert admin.post("/console/tenant", {"tenant": "initech"}).status_code == 403


def test_console_pages_carry_a_strict_content_policy(web: TestClient, engine: Engine) -> None:
    ConsoleClient(web, make_user(engine, "ops@acme.example"))
    answer = web.get("/console/")
    policy = answer.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "script-src 'self'" in policy
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert answer.headers["cache-control"] == "no-store"


def test_an_unknown_console_path_is_a_readable_404_page(web: TestClient, engine: Engine) -> None:
    ConsoleClient(web, make_user(engine, "ops@acme.example"))
    answer = web.get("/console/no-such-page")
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")
    assert "There is no page /console/no-such-page" in answer.text


def test_the_api_still_answers_json_errors(web: TestClient) -> None:
    answer = web.get("/no-such-path")
    assert answer.status_code == 404 and answer.json()["errors"]
