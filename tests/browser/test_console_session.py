"""Signing in, a wrong password, signing out and an expired session, in a real Chromium, by keyboard."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from sqlalchemy import Engine, update

from db.engine import session_scope
from db.models import ConsoleSession
from tests.browser.conftest import OfflinePage, sign_in, unlabelled_fields
from tests.console.helpers import PASSWORD, make_user


def test_sign_in_wrong_password_sign_out_and_expiry(
    console_page: OfflinePage, engine: Engine, screenshots: Path
) -> None:
    make_user(engine, "ops@acme.example", "operator")
    page = console_page.page
    page.goto(f"{console_page.base_url}/console/")
    assert page.url.endswith("/console/login?next=/console/")
    assert unlabelled_fields(page) == []
    page.screenshot(path=str(screenshots / "console-login.png"))

    sign_in(console_page, "ops@acme.example", "not my password")
    assert page.get_by_role("alert").inner_text() == "Wrong e-mail or password."
    assert page.get_by_label("E-mail").input_value() == "ops@acme.example"
    page.screenshot(path=str(screenshots / "console-login-wrong-password.png"))

    sign_in(console_page, "ops@acme.example", PASSWORD)
    assert page.url == f"{console_page.base_url}/console/"
    assert page.locator("header .user").inner_text().startswith("ops@acme.example")

    page.get_by_role("button", name="Sign out").click()
    page.wait_for_load_state("networkidle")
    assert page.url.endswith("/console/login")
    assert "Signed out ops@acme.example." in page.get_by_role("status").inner_text()
    page.goto(f"{console_page.base_url}/console/")
    assert "/console/login" in page.url

    sign_in(console_page, "ops@acme.example", PASSWORD)
    with session_scope(engine) as session:
        session.execute(
            update(ConsoleSession).values(last_seen_at=dt.datetime.now(dt.UTC) - dt.timedelta(hours=1))
        )
    page.reload()
    assert "/console/login" in page.url
    assert console_page.elsewhere == []
