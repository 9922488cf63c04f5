"""`/docs` (Swagger UI) and `/redoc` render in a real browser with no internet: the operations are listed,
every file comes from the app, and nothing tries to reach another host."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.browser.conftest import OfflinePage

pytestmark = pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)


def test_swagger_ui_lists_every_operation_offline(offline_page: OfflinePage, screenshots: Path) -> None:
    page = offline_page.page
    page.goto(f"{offline_page.base_url}/docs", wait_until="networkidle")
    page.wait_for_selector(".swagger-ui .opblock", timeout=20_000)
    shown = page.locator(".swagger-ui .opblock").count()
    spec = page.request.get(f"{offline_page.base_url}/openapi.json").json()
    operations = sum(len(methods) for methods in spec["paths"].values())
    assert shown == operations
    assert page.locator(".swagger-ui .info .title").inner_text().startswith("Invoice gateway")
    page.screenshot(path=str(screenshots / "docs-swagger-ui.png"), full_page=False)
    assert offline_page.elsewhere == []
    assert offline_page.failed == []


def test_an_operation_opens_with_its_error_envelope(offline_page: OfflinePage, screenshots: Path) -> None:
    page = offline_page.page
    page.goto(f"{offline_page.base_url}/docs#/invoices/post_invoice", wait_until="networkidle")
    block = page.locator(".swagger-ui .opblock-post").filter(has_text="/invoices").first
    block.locator(".opblock-summary").click()
    page.wait_for_selector(".swagger-ui .responses-table", timeout=20_000)
    codes = block.locator(".responses-table .response-col_status").all_inner_texts()
    assert {"201", "401", "409", "415", "422"} <= {code.strip() for code in codes}
    page.screenshot(path=str(screenshots / "docs-post-invoice.png"), full_page=False)
    assert offline_page.elsewhere == []


def test_redoc_renders_offline(offline_page: OfflinePage, screenshots: Path) -> None:
    page = offline_page.page
    page.goto(f"{offline_page.base_url}/redoc", wait_until="networkidle")
    page.wait_for_selector("[role=menuitem], .menu-content", timeout=30_000)
    page.wait_for_selector("h1", timeout=30_000)
    assert "Invoice gateway" in page.locator("h1").first.inner_text()
    page.screenshot(path=str(screenshots / "redoc.png"), full_page=False)
    assert offline_page.elsewhere == []  # the bundle's CDN logo is held back by the page's CSP
    assert [url for url in offline_page.failed if url.startswith(offline_page.base_url)] == []
