"""`/docs` and `/redoc` work without the internet: every file the pages load comes from the app itself.

The pages are fetched through the app, every `src` / `href` they name is fetched too, and nothing may point
elsewhere: no scheme, no protocol-relative `//host`, no URL at all in the HTML.
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.api.docs import ASSETS, ASSETS_PATH


class References(HTMLParser):
    """Every `src` and `href` in a page, and every URL-looking string in its inline scripts."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[str] = []
        self.scripts: list[str] = []
        self._in_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.found += [value for name, value in attrs if name in ("src", "href") and value]
        self._in_script = tag == "script"

    def handle_endtag(self, tag: str) -> None:
        self._in_script = False

    def handle_data(self, data: str) -> None:
        if self._in_script:
            self.scripts.append(data)


def references(html: str) -> tuple[list[str], str]:
    parser = References()
    parser.feed(html)
    return parser.found, "\n".join(parser.scripts)


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_page_loads_everything_from_the_app(client: TestClient, page: str) -> None:
    response = client.get(page)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    html = response.text
    assert not re.search(r"https?:|//[a-z0-9.-]+\.[a-z]{2,}/", html, re.IGNORECASE), "an external URL"
    found, scripts = references(html)
    assert found, "the page loads nothing?"
    for url in found:
        assert url.startswith("/") and not url.startswith("//"), url
        asset = client.get(url)
        assert asset.status_code == 200, url
        assert len(asset.content) > 1000, url  # a real file, not an error page
    # the spec the page renders is the app's own
    assert "/openapi.json" in scripts or "/openapi.json" in html
    assert client.get("/openapi.json").status_code == 200


def test_swagger_ui_loads_its_script_style_and_turns_off_the_online_validator(client: TestClient) -> None:
    html = client.get("/docs").text
    found, scripts = references(html)
    assert f"{ASSETS_PATH}/swagger-ui-bundle.js" in found
    assert f"{ASSETS_PATH}/swagger-ui.css" in found
    assert '"validatorUrl": null' in scripts  # else the page asks validator.swagger.io for a badge


def test_redoc_loads_its_script_and_no_web_fonts(client: TestClient) -> None:
    found, _ = references(client.get("/redoc").text)
    assert f"{ASSETS_PATH}/redoc.standalone.js" in found
    assert not [url for url in found if "fonts" in url]


@pytest.mark.parametrize("name", sorted(ASSETS))
def test_assets_are_served_with_their_type_and_cached(client: TestClient, name: str) -> None:
    response = client.get(f"{ASSETS_PATH}/{name}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(ASSETS[name])
    assert "max-age" in response.headers["cache-control"]


@pytest.mark.parametrize("name", ["nope.js", "..%2Fapp.py", "%2E%2E%2F%2E%2E%2Fsettings.py", "LICENSE"])
def test_only_the_known_assets_are_served(client: TestClient, name: str) -> None:
    response = client.get(f"{ASSETS_PATH}/{name}")
    assert response.status_code == 404
    body: dict[str, Any] = response.json()
    assert body["errors"] and body["request_id"]


def test_the_docs_are_not_operations(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [path for path in paths if path.startswith(("/docs", "/redoc"))]
