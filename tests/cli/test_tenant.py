"""`--tenant` the same way on every command: the option, else $GATEWAY_TENANT, else a usage error (exit 2)
on a command that works on one tenant's data; a filter or a check (never a silent "default") elsewhere."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import typer

from gateway.cli import app
from gateway.settings import Settings
from tests.cli.conftest import invoices_folder, invoke, write_json

# commands that work on one tenant's data (and arguments enough to reach the tenant): without a tenant
# they stop before doing anything
NEEDS_A_TENANT: dict[str, list[str]] = {
    "send": ["FILE"],
    "invoices": [],
    "correct": ["SOME-ID", "--reason", "x"],
    "match": [],
    "token create": ["--name", "erp"],
    "receiver put": ["FILE"],
    "receiver show": ["C-1"],
    "tenant set": ["FILE"],
    "tenant show": [],
    "partner put": ["FILE"],
    "partner show": ["ica"],
    "pod add": ["FILE"],
    "pod list": [],
    "pod link": ["POD", "INVOICE"],
    "pod drop": ["FOLDER"],
    "remittance receive": ["FILE"],
    "remittance drop": ["FOLDER"],
    "remittance list": [],
    "payments list": [],
    "payments show": ["P"],
    "payments resolve": ["P", "--invoice", "I=1"],
    "payments approve": ["P"],
    "payments ignore": ["P", "--reason", "x"],
    "payments reverse": ["P", "--reason", "x"],
    "payments export": [],
    "payments checkouts": [],
    "payments payouts": [],
    "webhook add": ["https://erp.example/hook"],
    "webhook remove": ["W"],
    "user add": ["ops@example.com", "--role", "viewer"],
    "efaktura recipients import": ["FILE"],
    "efaktura recipients list": [],
    "avtalegiro mandates": [],
    "disputes list": [],
    "disputes show": ["D"],
    "disputes open": ["INV-1", "--reason", "x", "--category", "other"],
    "disputes note": ["D", "text"],
    "disputes resolve": ["D", "--outcome", "rejected"],
    "disputes approve": ["D", "--as", "kari"],
    "promises list": [],
    "promises add": ["INV-1", "--date", "2026-12-01", "--amount", "10"],
    "promises cancel": ["P"],
    "reminders run": [],
    "reminders list": [],
    "reminders show": ["N"],
    "reminders approve": ["N"],
    "reminders cancel": ["N", "--reason", "x"],
    "receivables customer": ["C-1"],
    "collection candidates": [],
    "collection export": [],
    "statements run": [],
    "report reconciliation": ["--statement", "FILE"],
    "report aging": [],
    "report dso": [],
    "report deliveries": ["--period", "2026-11"],
    "report matching": ["--period", "2026-11"],
    "ledger journal": ["--period", "2026-10"],
    "ledger exports": [],
    "ledger periods": [],
    "ledger saft": ["--from", "2026-11-01", "--to", "2026-11-30", "-o", "saft.xml"],
    "ledger post": [],
    "ledger vouchers": [],
    "ledger balances": [],
    "portal invite": ["C-1", "ap@example.com"],
    "portal users": ["C-1"],
    "portal disable": ["C-1", "ap@example.com"],
}
# commands where the tenant is a filter or a check
FILTERS = [
    "status", "document", "resend", "cancel", "release", "receive", "bounces", "receive-edi", "batches",
    "deviations", "deviations resolve", "deviations resend", "token list", "token revoke", "receiver list",
    "partner list", "webhook list", "user list", "avtalegiro cancel",
]  # fmt: skip


def _tenant_options(command: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    for param in getattr(command, "params", []):
        if param.name == "tenant" or "--tenant" in getattr(param, "opts", []):
            yield path.strip(), param
    for name, sub in getattr(command, "commands", {}).items():
        yield from _tenant_options(sub, f"{path} {name}")


def test_every_tenant_option_is_the_same_option() -> None:
    found = dict(_tenant_options(typer.main.get_command(app)))
    for path, param in found.items():
        assert param.opts == ["--tenant"], path
        assert param.envvar == "GATEWAY_TENANT", path
        assert param.default in (None, ""), f"{path}: a silent default tenant {param.default!r}"
    found.pop("webhooks add"), found.pop("webhooks remove"), found.pop("webhooks list")  # the same group
    assert {path for path, param in found.items() if param.default == ""} == set(NEEDS_A_TENANT)
    assert {path for path, param in found.items() if param.default is None} == set(FILTERS)


@pytest.mark.parametrize("command", sorted(NEEDS_A_TENANT))
def test_no_tenant_is_a_usage_error(command: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("GATEWAY_TENANT", raising=False)
    result = invoke(*command.split(), *NEEDS_A_TENANT[command])
    assert result.exit_code == 2, result.output
    assert "no tenant" in result.output and "GATEWAY_TENANT" in result.output


def test_the_tenant_comes_from_the_environment(cli_env: Settings, tmp_path: Path) -> None:
    env = {"GATEWAY_TENANT": "acme"}
    sent = invoke("send", str(invoices_folder(tmp_path / "in", 1)), env=env)
    assert sent.exit_code == 0, sent.output
    profile = {"receiver_id": "C-1", "preferred_channel": "folder"}
    for tenant in ("acme", "globex"):
        put = invoke(
            "receiver", "put", str(write_json(tmp_path / "r.json", profile)), env={"GATEWAY_TENANT": tenant}
        )
        assert put.exit_code == 0, put.output
    every = json.loads(invoke("receiver", "list", "--json").output)["items"]
    assert sorted(item["tenant_id"] for item in every) == ["acme", "globex"]  # a filter: every tenant
    only = json.loads(invoke("receiver", "list", "--json", env=env).output)["items"]
    assert [item["tenant_id"] for item in only] == ["acme"]
    option_wins = json.loads(invoke("receiver", "list", "--json", "--tenant", "globex", env=env).output)
    assert [item["tenant_id"] for item in option_wins["items"]] == ["globex"]
    status = json.loads(invoke("status", "--json", env={"GATEWAY_TENANT": "globex"}).output)
    assert status["counts"] == {} and status["items"] == []  # acme's invoice is not globex's
    [delivery] = json.loads(invoke("status", "--json", env=env).output)["items"]
    foreign = invoke("resend", delivery["id"], "--tenant", "globex")  # a check: another tenant's id
    assert foreign.exit_code == 1 and "no delivery or invoice" in foreign.output
