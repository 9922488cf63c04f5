"""Every console page, walked in a real Chromium as each kind of person, with a realistic invoice book:

- every page answers, names every form field with a label, raises no script error and asks no other host
  for anything (the page's requests to another host are blocked and counted: zero);
- every link, button and field a page shows (to an admin, who is shown all of them) is reached with the
  Tab key, so every action is reachable by Tab and Enter;
- a viewer's pages carry no form that could change data; an operator's and a credit controller's carry only
  the forms of their own role;
- each page is screenshotted at 1366×768 (`console-tour-<role>-<page>.png`) for a person to look at.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from playwright.sync_api import Page
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.settings import Settings
from tests.browser.conftest import OfflinePage, sign_in, unlabelled_fields
from tests.console.helpers import PASSWORD, make_user
from tests.console.invoice_scenario import Book, invoice_book
from tests.console.payers_scenario import Payers, learn_payers

#: Forms every signed-in person has: they change only the session.
SESSION_FORMS = {"/console/logout", "/console/tenant"}


@pytest.fixture
def book(settings: Settings, engine: Engine) -> Book:
    with TestClient(create_app(settings, engine)) as client:
        return invoice_book(client, engine, settings)


@pytest.fixture
def payers(book: Book, settings: Settings, engine: Engine) -> Payers:
    """Learned, shared and grouped payers beside the book, for the Payers page and a payment that taught."""
    with TestClient(create_app(settings, engine)) as client:
        return learn_payers(client, book.auth)


def _pages(book: Book, payers: Payers) -> dict[str, str]:
    number = book.busy_number
    return {
        "overview": "/console/",
        "invoices": "/console/invoices",
        "invoice": f"/console/invoices/{number}",
        "resend": f"/console/invoices/{number}/resend",
        "correct": f"/console/invoices/{number}/correct",
        "cancel": f"/console/invoices/{number}/cancel",
        "pods": f"/console/invoices/{number}/pods",
        "deviations": "/console/deviations?state=all",
        "payments": "/console/payments?tab=all",
        "payers": "/console/payments/payers",
        "cards": "/console/payments/cards",
        "payment-learned": f"/console/payments/{payers.payments['long']}",
        "remittances": "/console/remittances",
        "print-batches": "/console/print-batches",
        "partners": "/console/partners",
        "webhooks": "/console/webhooks",
        "settings": "/console/settings",
        "ledger": "/console/ledger",
        "ledger-month": "/console/ledger/2026-10",
        "reconciliation": "/console/reports/reconciliation",
    }


def _unreached_by_tab(page: Page, limit: int = 600) -> list[str]:
    """The visible, enabled links, buttons and fields that pressing Tab from the top never focuses."""
    total = page.evaluate(
        """() => {
            const wanted = [...document.querySelectorAll('a[href], button, input, select, textarea, summary')]
              .filter(el => el.type !== 'hidden' && !el.disabled && el.offsetParent !== null
                            && el.getAttribute('tabindex') !== '-1')
              // a closed <details> shows only its summary (Chromium may still lay out what it hides)
              .filter(el => { const closed = el.closest('details:not([open])');
                              return !closed || (el.tagName === 'SUMMARY' && el.parentElement === closed); });
            wanted.forEach((el, i) => el.setAttribute('data-tour', String(i)));
            window.__reached = new Set();
            document.addEventListener('focusin', e => {
              const mark = e.target.getAttribute && e.target.getAttribute('data-tour');
              if (mark !== null) window.__reached.add(mark);
            });
            document.activeElement && document.activeElement.blur();
            return wanted.length;
        }"""
    )
    for _ in range(min(limit, 2 * total + 10)):  # twice round: the start may be an autofocused field
        page.keyboard.press("Tab")
    unreached: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('[data-tour]')]
              .filter(el => !window.__reached.has(el.getAttribute('data-tour')))
              .map(el => el.outerHTML.slice(0, 100))"""
    )
    return unreached


def _post_forms(page: Page) -> set[str]:
    actions: list[str] = page.evaluate(
        """() => [...document.querySelectorAll('form')]
              .filter(f => (f.getAttribute('method') || 'get').toLowerCase() === 'post')
              .map(f => new URL(f.action, location.href).pathname)"""
    )
    return set(actions)


@pytest.mark.parametrize("role", ["viewer", "operator", "credit", "admin"])
def test_every_page_for_every_role(
    role: str, console_page: OfflinePage, book: Book, payers: Payers, engine: Engine, screenshots: Path
) -> None:
    email = make_user(engine, f"{role}@acme.example", role)
    page = console_page.page
    script_errors: list[str] = []
    page.on("pageerror", lambda error: script_errors.append(str(error)))
    sign_in(console_page, email, PASSWORD)
    for name, path in _pages(book, payers).items():
        answer = page.goto(f"{console_page.base_url}{path}", wait_until="networkidle")
        assert answer is not None
        if name in ("resend", "correct", "cancel") and role in ("viewer", "credit"):
            assert answer.status == 403, (role, name)  # the action forms are not theirs
            continue
        assert answer.status == 200, (role, name, answer.status)
        assert unlabelled_fields(page) == [], (role, name)
        forms = _post_forms(page) - SESSION_FORMS
        if role == "viewer":
            assert forms == set(), (name, forms)
        if role == "credit":
            # resend, correct and cancel are not theirs; follow-up on an invoice (promises, holds) is
            assert not any(
                ("/invoices/" in form and not form.startswith("/console/follow-up/")) or "/deviations" in form
                for form in forms
            ), (name, forms)
        if role == "operator":
            assert not any(form.startswith("/console/payments") for form in forms), (name, forms)
        if role in ("viewer", "admin"):
            page.screenshot(path=str(screenshots / f"console-tour-{role}-{name}.png"))
        if role == "admin":  # the admin's pages hold every control there is
            assert _unreached_by_tab(page) == [], name
    assert script_errors == []
    assert console_page.elsewhere == []
