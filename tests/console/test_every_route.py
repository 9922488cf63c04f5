"""Rules that hold for every console route, found from the app itself so a new page cannot slip past them:
a POST without the session's CSRF token is 403; a viewer's POST that would change data is 403 (whatever
the page showed); nothing under /console/ answers a stranger but the sign-in page."""

from __future__ import annotations

import re

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.console.pages import PAGES as CONSOLE_ROUTERS
from gateway.settings import Settings
from tests.console.helpers import ConsoleClient, make_user

#: Open to every signed-in role: they change nothing but the session.
SESSION_ROUTES = {"/console/logout", "/console/tenant"}


def _console_routes(methods: set[str]) -> list[str]:
    found = {
        route.path
        for router in CONSOLE_ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute) and methods & route.methods
    }
    assert all(path.startswith("/console/") for path in found)
    return sorted(found - {"/console/login"})


POSTS = _console_routes({"POST"})
PAGES = _console_routes({"GET"})


def _concrete(path: str) -> str:
    """A path template with made-up values: the checks must refuse before anything is looked up."""
    return re.sub(r"\{[^}]+\}", "0123456789abcdef0123456789abcdef", path)


def test_the_console_has_the_routes_the_issue_asks_for() -> None:
    for wanted in ("/console/", "/console/invoices", "/console/invoices/{reference}", "/console/deviations",
                   "/console/payments", "/console/remittances", "/console/print-batches", "/console/partners",
                   "/console/webhooks", "/console/settings"):  # fmt: skip
        assert wanted in PAGES
    assert len(POSTS) >= 10


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("path", POSTS)
def test_a_post_without_the_csrf_token_is_403(path: str, web: TestClient, engine: Engine) -> None:
    admin = ConsoleClient(web, make_user(engine, "boss@acme.example", "admin"))
    answer = admin.post(_concrete(path), {"reason": "x"}, csrf=False)
    assert answer.status_code == 403, (path, answer.status_code)
    forged = admin.post(_concrete(path), {"reason": "x", "csrf_token": admin.csrf[:-2] + "xx"})
    assert forged.status_code == 403, (path, forged.status_code)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
@pytest.mark.parametrize("path", [path for path in POSTS if path not in SESSION_ROUTES])
def test_a_viewer_may_post_nothing_that_changes_data(path: str, viewer: ConsoleClient) -> None:
    answer = viewer.post(_concrete(path), {"reason": "x", "step": "confirm"})
    assert answer.status_code == 403, (path, answer.status_code)


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_stranger_is_sent_to_sign_in_from_every_page(settings: Settings, engine: Engine) -> None:
    with TestClient(create_app(settings, engine), base_url="http://testserver") as stranger:
        for path in PAGES:
            answer = stranger.get(_concrete(path), follow_redirects=False)
            assert answer.status_code == 303, path
            assert answer.headers["location"].startswith("/console/login?next="), path
        for path in POSTS:
            assert stranger.post(_concrete(path), data={}, follow_redirects=False).status_code in (
                303,
                403,
            ), path
