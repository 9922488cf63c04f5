"""`gateway check` and the start-up checks of `serve` and `worker`: every configured channel's settings, the
rules directory, the database URL, whether it answers and whether its migrations are current; settings
that cannot be read are a message naming the variable, never a traceback; `gateway migrate`."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest
import uvicorn
from sqlalchemy import Engine, text

import gateway.api.app
from db.engine import downgrade, make_engine, migrate
from gateway.cli.checks import database_findings, documents_finding, run_checks, schema_state
from gateway.services.outbound.document_postgres import PostgresDocumentStore
from gateway.services.outbound.documents import PROBE_DOCUMENT, LocalDocumentStore, content_key
from gateway.settings import Settings
from tests.cli.conftest import invoices_folder, invoke

SECRET = "hunter2-never-printed"


def _findings(output: str) -> dict[str, tuple[str, str]]:
    return {
        check: (status, detail)
        for check, status, detail in (line.split("\t") for line in output.splitlines())
    }


def test_a_good_configuration_passes(cli_env: Settings) -> None:
    result = invoke("check")
    assert result.exit_code == 0, result.output
    found = _findings(result.output)
    assert [status for status, _ in found.values()] == ["ok"] * len(found)
    assert set(found) >= {"channel folder", "rules directory", "database URL", "database"}
    listed = json.loads(invoke("check", "--json").output)
    assert listed["next"] is None and all(item["ok"] for item in listed["items"])


def test_every_problem_in_one_table(
    cli_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    channels = {"email": {"port": "many", "password": SECRET}, "pigeon": {}, "folder": {"directory": "out"}}
    monkeypatch.setenv("GATEWAY_CHANNELS", json.dumps(channels))
    monkeypatch.setenv("GATEWAY_RULES_DIR", str(tmp_path / "no-rules"))
    result = invoke("check")
    assert result.exit_code == 1
    found = _findings(result.output)
    assert found["channel email"][0] == "PROBLEM"
    assert (
        "port:" in found["channel email"][1] and "from_address: Field required" in found["channel email"][1]
    )
    assert found["channel pigeon"] == ("PROBLEM", found["channel pigeon"][1])
    assert "unknown channel 'pigeon'" in found["channel pigeon"][1]
    assert found["channel folder"][0] == "ok"
    assert found["rules directory"][0] == "PROBLEM" and "no-rules" in found["rules directory"][1]
    assert found["database"][0] == "ok"  # the rest is still checked
    assert SECRET not in result.output
    assert "channel print" in _findings(invoke("check", "--channel", "print").output)  # asked for, checked


def test_unreadable_settings_are_a_message_not_a_traceback(
    cli_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    broken = '{"email": {"password": "' + SECRET + '",'
    monkeypatch.setenv("GATEWAY_CHANNELS", broken + "}")
    checked = invoke("check")
    assert checked.exit_code == 1
    assert _findings(checked.output)["GATEWAY_CHANNELS"] == (
        "PROBLEM",
        f"not valid JSON: Expecting property name enclosed in double quotes at line 1 column {len(broken) + 1}",  # noqa: E501
    )
    inbox = invoices_folder(tmp_path / "in", 1)
    for command in (["status"], ["worker", "--once"], ["send", str(inbox), "--tenant", "acme"]):
        refused = invoke(*command)
        assert refused.exit_code == 1, command
        assert "error: the settings cannot be read: GATEWAY_CHANNELS: not valid JSON" in refused.output
        assert "Traceback" not in refused.output and SECRET not in refused.output
        assert refused.exception is None or isinstance(refused.exception, SystemExit)
    monkeypatch.delenv("GATEWAY_CHANNELS")
    channels_file = tmp_path / "channels.json"
    channels_file.write_text('["folder"]')
    monkeypatch.setenv("GATEWAY_CHANNELS_FILE", str(channels_file))
    problem = _findings(invoke("check").output)["GATEWAY_CHANNELS_FILE"]
    assert problem == (
        "PROBLEM",
        f'{channels_file} must be a JSON object of objects: {{"<channel>": {{<settings>}}, …}}',
    )
    monkeypatch.setenv("GATEWAY_CHANNELS_FILE", str(tmp_path / "gone.json"))
    assert "cannot read" in _findings(invoke("check").output)["GATEWAY_CHANNELS_FILE"][1]


def test_a_database_that_does_not_answer(cli_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "GATEWAY_DATABASE_URL", "postgresql+psycopg://gateway:" + SECRET + "@127.0.0.1:1/outbox"
    )
    result = invoke("check")
    assert result.exit_code == 1
    status, detail = _findings(result.output)["database"]
    assert status == "PROBLEM" and "does not answer" in detail and "127.0.0.1" in detail
    assert SECRET not in result.output
    monkeypatch.setenv("GATEWAY_DATABASE_URL", "nonsense://")
    assert _findings(invoke("check").output)["database URL"][0] == "PROBLEM"


def _one_revision_behind(engine: Engine) -> tuple[str, str]:
    migrate(engine)
    head = schema_state(engine).current
    downgrade(engine, "-1")
    return head[0], schema_state(engine).current[0]


def test_migrations_must_be_current_and_migrate_runs_them_once(
    cli_env: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = make_engine(cli_env.database)
    try:
        head, older = _one_revision_behind(engine)
    finally:
        engine.dispose()
    checked = invoke("check")
    assert checked.exit_code == 1
    assert _findings(checked.output)["migrations"] == (
        "PROBLEM",
        f"the schema is at {older}, this gateway needs {head}: run `gateway migrate`",
    )
    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(args))
    for command in (["serve"], ["worker", "--once"]):
        refused = invoke(*command)
        assert refused.exit_code == 1, refused.output
        assert "not starting: 1 problem(s)" in refused.output and "gateway migrate" in refused.output
    assert started == []  # the API never started
    status = invoke("status")  # a short command does not migrate behind the operator's back either
    assert status.exit_code == 1 and f"outbox: the schema is at {older}" in status.output
    migrated = invoke("migrate")
    assert migrated.exit_code == 0, migrated.output
    assert f"migrated from {older} to {head}" in migrated.output
    assert "nothing to do" in invoke("migrate").output
    assert _findings(invoke("check").output)["migrations"] == ("ok", f"current ({head})")
    assert invoke("send", str(invoices_folder(tmp_path / "in", 1)), "--tenant", "acme").exit_code == 0
    worked = invoke("worker", "--once")
    assert worked.exit_code == 0 and "'delivered': 1" in worked.output


def test_a_schema_from_a_newer_release_is_refused(cli_env: Settings) -> None:
    engine = make_engine(cli_env.database)
    try:
        migrate(engine)
        with engine.begin() as connection:
            connection.execute(text("UPDATE alembic_version SET version_num = 'from_the_future'"))
    finally:
        engine.dispose()
    status, detail = _findings(invoke("check").output)["migrations"]
    assert status == "PROBLEM" and "from_the_future, which this gateway does not know" in detail
    assert invoke("migrate").exit_code == 1
    assert invoke("status").exit_code == 1


def test_a_new_empty_database_is_created_on_first_use(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    assert _findings(invoke("check").output)["database"][0] == "ok"
    worked = invoke("worker", "--once")  # the checks pass; the worker creates the schema
    assert worked.exit_code == 0, worked.output
    assert _findings(invoke("check").output)["migrations"][0] == "ok"


def test_serve_and_worker_refuse_a_bad_channel(cli_env: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_CHANNELS", json.dumps({"email": {"password": SECRET}}))
    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(args))
    for command in (["serve"], ["worker", "--once"]):
        refused = invoke(*command)
        assert refused.exit_code == 1
        assert "channel email" in refused.output and "from_address: Field required" in refused.output
        assert SECRET not in refused.output
    assert started == []
    monkeypatch.delenv("GATEWAY_CHANNELS")
    refused = invoke("worker", "--once", "--channel", "pigeon")  # a channel asked for is checked too
    assert refused.exit_code == 1 and "unknown channel 'pigeon'" in refused.output
    app = object()
    monkeypatch.setattr(gateway.api.app, "create_app", lambda settings: app)
    assert invoke("serve").exit_code == 0 and started == [(app,)]  # the checks pass: it starts


# --- the document store ------------------------------------------------------------------------------------


def _closed_port() -> int:
    """A loopback port nothing listens on (bound, then released: connecting is refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_the_document_store_takes_the_probe_and_gives_it_back(cli_env: Settings, engine: Engine) -> None:
    """The default store — the folder on SQLite, the outbox's own database on PostgreSQL — is written and
    read back; the probe is content-addressed, so checking again adds nothing."""
    key = content_key(PROBE_DOCUMENT)
    for _ in range(2):
        result = invoke("check")
        assert result.exit_code == 0, result.output
        status, detail = _findings(result.output)["documents"]
        assert status == "ok" and "a probe document written and read back" in detail, detail
    if engine.dialect.name == "postgresql":
        assert detail.startswith("PostgresDocumentStore(")
        store: Any = PostgresDocumentStore(engine)
        assert list(store.keys()) == [key]
    else:
        assert detail.startswith(f"LocalDocumentStore('{cli_env.documents_dir}')")
        store = LocalDocumentStore(cli_env.documents_dir)
        assert list(store.keys()) == [key]
    assert store.get(key) == PROBE_DOCUMENT


def test_an_s3_store_takes_the_probe(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch, s3_server: Any
) -> None:
    """A real S3-protocol server on loopback: the probe is one object under the prefix, however often."""
    bucket = s3_server.new_bucket()
    monkeypatch.setenv("GATEWAY_DOCUMENTS_URL", s3_server.url(bucket))
    for _ in range(2):
        result = invoke("check")
        assert result.exit_code == 0, result.output
        assert "a probe document written and read back" in _findings(result.output)["documents"][1]
    listed = s3_server.client().list_objects_v2(Bucket=bucket)["Contents"]
    assert [item["Key"] for item in listed] == [f"gateway/documents/{content_key(PROBE_DOCUMENT)}"]


def test_an_unreachable_s3_store_is_a_problem_and_no_process_starts(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An S3 endpoint nobody answers at (a closed loopback port): a problem naming the store, never its
    credentials; `serve` and `worker` do not start — the worker waits out only a database that does not
    answer, and this database answers."""
    url = (
        f"s3://gateway-docs/prod?endpoint_url=http://127.0.0.1:{_closed_port()}"
        f"&access_key_id=AKIAEXAMPLE&secret_access_key={SECRET}&region=eu-north-1"
    )
    monkeypatch.setenv("GATEWAY_DOCUMENTS_URL", url)
    result = invoke("check")
    assert result.exit_code == 1, result.output
    found = _findings(result.output)
    status, detail = found["documents"]
    assert status == "PROBLEM" and "bucket gateway-docs" in detail and "cannot be reached" in detail, detail
    assert found["database"][0] == "ok"
    assert SECRET not in result.output and "AKIAEXAMPLE" not in result.output
    started: list[object] = []
    monkeypatch.setattr(uvicorn, "run", lambda *args, **kwargs: started.append(args))
    for command in (["serve"], ["worker", "--once"]):
        refused = invoke(*command)
        assert refused.exit_code == 1, refused.output
        assert "not starting: 1 problem(s)" in refused.output and "documents" in refused.output
        assert SECRET not in refused.output
    assert started == []


def test_a_folder_that_cannot_be_written_is_a_problem(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    in_the_way = cli_env.data_dir / "not-a-folder"
    in_the_way.write_text("a file where the store's folder should be")
    monkeypatch.setenv("GATEWAY_DOCUMENTS_URL", in_the_way.as_uri())
    result = invoke("check")
    assert result.exit_code == 1
    status, detail = _findings(result.output)["documents"]
    assert status == "PROBLEM" and str(in_the_way) in detail and "cannot keep a document" in detail, detail


def test_a_store_in_a_database_that_does_not_answer_is_the_databases_outage(
    cli_env: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Documents in the outbox's database (the default on PostgreSQL) are not a second problem while that
    database does not answer: both findings are the outage a starting worker waits out."""
    monkeypatch.setenv(
        "GATEWAY_DATABASE_URL", f"postgresql+psycopg://gateway@127.0.0.1:{_closed_port()}/outbox"
    )
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    findings = run_checks(settings)
    problems = {finding.check: finding for finding in findings if not finding.ok}
    assert set(problems) == {"database", "documents"}
    assert all(finding.database_outage for finding in problems.values())
    assert problems["documents"].detail == "in the outbox's database, which does not answer"
    monkeypatch.setenv("GATEWAY_DOCUMENTS_URL", (cli_env.data_dir / "documents").as_uri())
    elsewhere = documents_finding(Settings(_env_file=None), database_findings(settings))  # type: ignore[call-arg]
    assert elsewhere.ok and not elsewhere.database_outage
