"""The command line's structure: one context per run (settings read once, the outbox opened on first use
and closed at the end), the same command tree as before the split, and the shared failure habits."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import Engine
from typer.testing import CliRunner

import gateway.cli.common
import gateway.cli.context
import gateway.runtime
from gateway.cli import CliContext, app
from gateway.cli.common import collect_files, exit_if_rejected, fails_on
from gateway.cli.pods import pod_app
from gateway.samples import sample_invoice_json
from gateway.settings import Settings

runner = CliRunner()

# Every command path `gateway` had when it was one module, and the ones added since (check, migrate,
# invoices, document, cancel, token list, receiver list | show, user …); a command lost in a move fails here.
COMMANDS = [
    "serve", "worker", "check", "migrate", "send", "status", "invoices", "document", "resend", "correct",
    "cancel", "receive", "bounces", "batches", "receive-edi", "print-returns", "digipost-events", "release",
    "render", "inspect", "validate", "schema", "demo", "match",
    "token", "token create", "token list", "token revoke",
    "user", "user add", "user list", "user disable", "user reset-password",
    "receiver", "receiver put", "receiver list",
    "receiver show",
    "tenant", "tenant set", "tenant show",
    "participant", "participant add", "partner", "partner put", "partner list", "partner show",
    "deviations", "deviations resolve", "deviations resend",
    "webhook", "webhook add", "webhook list", "webhook remove", "webhook send",
    "webhooks", "webhooks add", "webhooks list", "webhooks remove", "webhooks send",
    "pod", "pod add", "pod list", "pod link", "pod drop",
    "remittance", "remittance receive", "remittance drop", "remittance list",
    "payments", "payments list", "payments show", "payments checkouts", "payments payouts",
    "payments resolve", "payments approve", "payments ignore", "payments reverse", "payments export",
    "documents", "documents migrate",
    "efaktura", "efaktura recipients", "efaktura recipients import", "efaktura recipients list",
    "avtalegiro", "avtalegiro mandates", "avtalegiro cancel",
    "disputes", "disputes list", "disputes show", "disputes open", "disputes note", "disputes resolve",
    "disputes approve",
    "promises", "promises list", "promises add", "promises cancel",
    "reminders", "reminders run", "reminders list", "reminders show", "reminders approve", "reminders cancel",
    "receivables", "receivables customer", "collection", "collection candidates", "collection export",
    "statements", "statements run",
    "report", "report aging", "report dso", "report deliveries", "report matching", "report reconciliation",
    "ledger", "ledger journal", "ledger exports", "ledger periods", "ledger saft",
    "ledger post", "ledger vouchers", "ledger balances",
    "portal", "portal invite", "portal users", "portal disable",
]  # fmt: skip


def _command_paths(command: Any, prefix: str = "") -> Iterator[str]:
    for name, sub in getattr(command, "commands", {}).items():
        path = f"{prefix}{name}"
        yield path
        yield from _command_paths(sub, f"{path} ")


def test_the_command_tree_is_the_one_before_the_split() -> None:
    assert list(_command_paths(typer.main.get_command(app))) == COMMANDS


@pytest.fixture
def outbox_opens(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every time the command line opens an outbox, its database URL."""
    opened: list[str] = []
    real = gateway.runtime.open_outbox

    def counting(settings: Settings, *, run_migrations: bool = True) -> Engine:
        opened.append(settings.database)
        return real(settings, run_migrations=run_migrations)

    monkeypatch.setattr(gateway.runtime, "open_outbox", counting)
    return opened


@pytest.fixture
def settings_reads(monkeypatch: pytest.MonkeyPatch) -> list[Settings]:
    """Every `Settings` the command line reads from the environment."""
    read: list[Settings] = []

    class CountedSettings(Settings):
        def __init__(self, **values: Any) -> None:
            super().__init__(**values)
            read.append(self)

    monkeypatch.setattr(gateway.cli.context, "Settings", CountedSettings)
    return read


@pytest.fixture
def no_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("GATEWAY_DATABASE_URL", "GATEWAY_DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no .env either


def test_dry_runs_never_open_the_outbox(
    tmp_path: Path, outbox_opens: list[str], settings_reads: list[Settings]
) -> None:
    source = tmp_path / "inv.json"
    source.write_text(json.dumps(sample_invoice_json(1)))
    assert runner.invoke(app, ["render", str(source)]).exit_code == 0
    assert runner.invoke(app, ["inspect", str(source), "--json"]).exit_code == 0
    assert runner.invoke(app, ["schema", str(tmp_path / "schemas")]).exit_code == 0
    assert outbox_opens == []
    assert settings_reads == []  # not even the environment is read


def test_one_run_reads_the_settings_once_and_opens_the_outbox_once(
    monkeypatch: pytest.MonkeyPatch,
    settings: Settings,
    tmp_path: Path,
    outbox_opens: list[str],
    settings_reads: list[Settings],
) -> None:
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    for n in (1, 2, 3):
        (inbox / f"{n}.json").write_text(json.dumps(sample_invoice_json(n)))
    sent = runner.invoke(app, ["send", str(inbox), "--tenant", "acme"])
    assert sent.exit_code == 0, sent.output
    assert sent.output.count("created") == 3
    assert len(settings_reads) == 1
    assert outbox_opens == [settings.database]


def test_settings_handed_in_are_used_and_left_as_they_were(
    no_environment: None, settings: Settings, tmp_path: Path, outbox_opens: list[str]
) -> None:
    source = tmp_path / "inv.json"
    source.write_text(json.dumps(sample_invoice_json(7)))
    assert runner.invoke(app, ["send", str(source), "--tenant", "acme"], obj=settings).exit_code == 0
    worked = runner.invoke(app, ["worker", "--once", "--dry-run"], obj=settings)
    assert worked.exit_code == 0, worked.output
    assert "'written (dry run)': 1" in worked.output
    assert settings.dry_run is False  # the worker's --dry-run changed a copy
    assert list((settings.data_dir / "dry-run").rglob("INV-000007*"))
    counts = runner.invoke(app, ["status", "--json"], obj=settings)
    assert json.loads(counts.output)["counts"] == {"queued": 1}  # a dry run records nothing
    assert outbox_opens == [settings.database] * 3
    assert not Path("gateway-data").exists()  # the default outbox was never touched


def test_the_outbox_is_closed_when_the_run_ends(
    no_environment: None, settings: Settings, outbox_opens: list[str]
) -> None:
    context = CliContext(settings)
    result = runner.invoke(app, ["status", "--json"], obj=context)
    assert result.exit_code == 0, result.output
    assert outbox_opens == [settings.database]
    assert not context.engine_opened
    assert context.settings is settings


def test_a_group_invoked_on_its_own_makes_its_own_context(no_environment: None, settings: Settings) -> None:
    result = runner.invoke(pod_app, ["list", "--json", "--tenant", "acme"], obj=settings)
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"items": [], "next": None}


def test_drop_folders_fail_before_the_outbox_is_opened(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, outbox_opens: list[str]
) -> None:
    monkeypatch.setattr(gateway.cli.common.errors, "width", 300)
    missing = runner.invoke(app, ["pod", "drop", str(tmp_path / "nowhere"), "--tenant", "acme"])
    assert missing.exit_code == 2  # a folder that is not there
    assert "nowhere: not a directory" in missing.output
    bad_sftp = tmp_path / "sftp.json"
    bad_sftp.write_text('{"host": "bank.example"}')
    refused = runner.invoke(app, ["remittance", "drop", "inbox", "--sftp", str(bad_sftp), "--tenant", "acme"])
    assert refused.exit_code == 2  # a settings file that cannot be read
    assert f"{bad_sftp}: " in refused.output
    assert "username" in refused.output  # what is wrong with it
    assert outbox_opens == []


def test_fails_on_maps_the_expected_refusals_to_an_exit_code(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(typer.Exit) as refused, fails_on(LookupError, code=2):
        raise KeyError("no such payment")
    assert refused.value.exit_code == 2
    assert "no such payment" in capsys.readouterr().err
    with (
        pytest.raises(typer.Exit) as described,
        fails_on(ValueError, describe=lambda error: f"described: {error}"),
    ):
        raise ValueError("bad")
    assert described.value.exit_code == 1
    assert "described: bad" in capsys.readouterr().err
    with pytest.raises(TypeError), fails_on(LookupError):
        raise TypeError("not expected: a bug, not a refusal")


def test_collect_files_sorts_filters_and_fails_on_a_missing_path(tmp_path: Path) -> None:
    for name in ("b.xml", "a.xml", "c.txt", ".hidden.xml"):
        (tmp_path / name).write_text("x")
    xml = collect_files([tmp_path], lambda path: path.suffix == ".xml")
    assert [path.name for path in xml] == [".hidden.xml", "a.xml", "b.xml"]
    assert collect_files([tmp_path / "c.txt"], lambda path: False) == [tmp_path / "c.txt"]
    with pytest.raises(typer.Exit) as missing:
        collect_files([tmp_path / "gone"], lambda path: True)
    assert missing.value.exit_code == 2
    exit_if_rejected(0)
    with pytest.raises(typer.Exit) as rejected:
        exit_if_rejected(True)
    assert rejected.value.exit_code == 2
