"""Console tests: the app in a TestClient (the same app uvicorn serves), signed in through the real form."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.settings import Settings
from tests.console.helpers import ConsoleClient, make_user


@pytest.fixture
def web(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    """A fresh client (its own cookies) on the app."""
    with TestClient(create_app(settings, engine), base_url="http://testserver") as test_client:
        yield test_client


@pytest.fixture
def operator(web: TestClient, engine: Engine) -> ConsoleClient:
    return ConsoleClient(web, make_user(engine, "ops@acme.example", "operator"))


@pytest.fixture
def viewer(settings: Settings, engine: Engine) -> Iterator[ConsoleClient]:
    with TestClient(create_app(settings, engine), base_url="http://testserver") as test_client:
        yield ConsoleClient(test_client, make_user(engine, "look@acme.example", "viewer"))
