"""`gateway user …`: console accounts from the command line; the password never on the command line."""

from __future__ import annotations

import json

from argon2 import PasswordHasher
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import ConsoleUser
from gateway.cli import app
from gateway.settings import Settings
from tests.cli.conftest import invoke, runner


def _add(email: str, role: str, tenant: str, password: str = "a long enough secret") -> object:
    return runner.invoke(
        app, ["user", "add", email, "--role", role, "--tenant", tenant], input=password + "\n"
    )


def test_add_reads_the_password_from_stdin_and_keeps_only_an_argon2_hash(
    cli_env: Settings, engine: Engine
) -> None:
    assert invoke("token", "create", "--name", "erp", "--tenant", "acme").exit_code == 0
    result = _add("Kari@Acme.example", "operator", "acme")
    assert result.exit_code == 0, result.output  # type: ignore[attr-defined]
    assert "added kari@acme.example (operator, acme)" in result.output  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        user = session.execute(select(ConsoleUser)).scalar_one()
        assert user.email == "kari@acme.example" and user.tenant_ids == ["acme"]
        assert user.password_hash.startswith("$argon2id$")
        assert PasswordHasher().verify(user.password_hash, "a long enough secret")


def test_add_refuses_what_would_be_wrong(cli_env: Settings) -> None:
    assert invoke("token", "create", "--name", "erp", "--tenant", "acme").exit_code == 0
    assert invoke("token", "create", "--name", "erp", "--tenant", "globex").exit_code == 0
    cases = [
        (("not-an-address", "viewer", "acme"), "email"),
        (("a@acme.example", "superuser", "acme"), "role 'superuser' is not one of"),
        (("a@acme.example", "viewer", "nosuch"), "no such tenant: nosuch"),
        (("a@acme.example", "operator", "acme,globex"), "only an admin may hold several tenants"),
    ]
    for args, said in cases:
        result = _add(*args)
        assert result.exit_code == 2 and said in result.output, result.output  # type: ignore[attr-defined]
    short = _add("a@acme.example", "viewer", "acme", password="short")
    assert short.exit_code == 2 and "at least 12 characters" in short.output  # type: ignore[attr-defined]
    assert _add("boss@acme.example", "admin", "acme,globex").exit_code == 0  # type: ignore[attr-defined]
    again = _add("BOSS@acme.example", "viewer", "acme")
    assert again.exit_code == 2 and "already has a console account" in again.output  # type: ignore[attr-defined]


def test_list_disable_and_reset_password(cli_env: Settings) -> None:
    assert invoke("token", "create", "--name", "erp", "--tenant", "acme").exit_code == 0
    _add("kari@acme.example", "credit", "acme")
    listed = json.loads(invoke("user", "list", "--json").output)["items"]
    assert [(u["email"], u["role"], u["tenants"], u["disabled_at"]) for u in listed] == [
        ("kari@acme.example", "credit", ["acme"], None)
    ]
    assert "hash" not in json.dumps(listed)
    assert invoke("user", "disable", "kari@acme.example").exit_code == 0
    assert json.loads(invoke("user", "list", "--json").output)["items"][0]["disabled_at"] is not None
    reset = runner.invoke(app, ["user", "reset-password", "kari@acme.example"], input="another long secret\n")
    assert reset.exit_code == 0, reset.output
    assert json.loads(invoke("user", "list", "--json").output)["items"][0]["disabled_at"] is None
    assert invoke("user", "disable", "nobody@acme.example").exit_code == 1
    assert invoke("user", "list", "--tenant", "globex", "--json").output.count("kari") == 0
