"""The fuzz tests' shared outbox (the inbound door needs one) and their figures at the end of a run."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from db.engine import make_engine, migrate
from tests.fuzz import harness


@pytest.fixture(scope="module")
def door(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.Door]:
    """One SQLite outbox and local document store per fuzz module: `POST /inbound`'s dependencies.

    SQLite only: these tests are about the parsers behind the door; every door service runs on both databases
    in tests/services and tests/api.
    """
    folder: Path = tmp_path_factory.mktemp("fuzz-door")
    engine = make_engine(f"sqlite:///{folder / 'outbox.sqlite3'}")
    migrate(engine)
    try:
        yield harness.open_door(engine, folder / "data")
    finally:
        engine.dispose()


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    if harness.RESULTS:
        terminalreporter.section("fuzz: examples and CPU per family")
        for line in harness.report_lines():
            terminalreporter.write_line(line)
