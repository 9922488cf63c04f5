"""The API and the command line each write who they are into a tenant's configuration history."""

from __future__ import annotations

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.tenancy.history import tenant_events
from gateway.settings import Settings
from tests.cli.conftest import invoke, write_json


def test_the_api_and_the_command_line_record_who_they_are(
    client: TestClient, auth: dict[str, str], engine: Engine, cli_env: Settings
) -> None:
    assert client.put("/settings", json={"hold_for_review": True}, headers=auth).status_code == 200
    settings_file = write_json(cli_env.data_dir / "settings.json", {"hold_for_review": False})
    assert invoke("tenant", "set", str(settings_file), "--tenant", "acme").exit_code == 0
    with session_scope(engine) as session:
        actors = [event.actor for event in tenant_events(session, "acme")]
    assert actors[1] == "api:erp" and actors[0].startswith("cli:")
