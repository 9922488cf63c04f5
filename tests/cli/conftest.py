"""What the command-line tests share: an environment that points `gateway` at the test's outbox, with no
tenant set (so a test sees exactly what it passes), and a way to run it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gateway.cli import app
from gateway.samples import sample_invoice_json
from gateway.settings import Settings

runner = CliRunner()


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    for name in ("GATEWAY_TENANT", "GATEWAY_CHANNELS", "GATEWAY_CHANNELS_FILE", "GATEWAY_RULES_DIR"):
        monkeypatch.delenv(name, raising=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(settings.data_dir.parent)
    return settings


def invoke(*args: str, env: dict[str, str] | None = None) -> Result:
    return runner.invoke(app, list(args), env=env)


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


def invoices_folder(folder: Path, *numbers: int) -> Path:
    """A folder with one canonical invoice file per number (buyers differ per number)."""
    folder.mkdir(parents=True, exist_ok=True)
    for number in numbers:
        write_json(folder / f"{number}.json", sample_invoice_json(number))
    return folder
