"""`receiver list | show`, `token list` (never a secret), `cancel ID --reason`, and the exit codes the root
help promises: 0 done, 1 refused or failed, 2 usage or a file that is not there."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from gateway.settings import Settings
from tests.cli.conftest import invoices_folder, invoke, write_json


def test_the_root_help_documents_exit_codes_tenant_and_output() -> None:
    shown = invoke("--help", env={"COLUMNS": "300"})
    assert shown.exit_code == 0
    text = " ".join(shown.output.split())
    assert "Exit codes: 0 done; 1 refused or failed" in text
    assert "2 usage: a wrong option or argument, no tenant, a file or folder that is not there" in text
    assert "$GATEWAY_TENANT" in text and "--output csv" in text


def test_receiver_list_and_show(cli_env: Settings, tmp_path: Path) -> None:
    acme = {
        "receiver_id": "C-1",
        "name": "Midnattsol Drift AS",
        "preferred_channel": "email",
        "fallback_channels": ["print"],
        "addresses": {"email": "ap@midnattsol.example"},
    }
    globex = {"receiver_id": "C-1", "preferred_channel": "folder", "addresses": {"folder": "c1"}}
    for tenant, profile in (("acme", acme), ("globex", globex)):
        put = invoke(
            "receiver", "put", str(write_json(tmp_path / f"{tenant}.json", profile)), "--tenant", tenant
        )
        assert put.exit_code == 0, put.output
    rows = [line.split("\t") for line in invoke("receiver", "list").output.splitlines()]
    assert [row[:4] for row in rows] == [
        ["C-1", "acme", "Midnattsol Drift AS", "email"],
        ["C-1", "globex", "", "folder"],
    ]
    assert rows[0][4:6] == ["print", "email: ap@midnattsol.example"]
    [only] = json.loads(invoke("receiver", "list", "--tenant", "acme", "--json").output)["items"]
    assert only["tenant_id"] == "acme" and only["addresses"] == {"email": "ap@midnattsol.example"}
    shown = invoke("receiver", "show", "C-1", "--tenant", "acme")
    assert shown.exit_code == 0, shown.output
    assert "receiver C-1 (Midnattsol Drift AS) of acme" in shown.output
    assert (
        "channels: email → print" in shown.output and "email address: ap@midnattsol.example" in shown.output
    )
    assert json.loads(invoke("receiver", "show", "C-1", "--tenant", "globex", "--json").output)[
        "addresses"
    ] == {"folder": "c1"}
    missing = invoke("receiver", "show", "C-2", "--tenant", "acme")
    assert missing.exit_code == 1 and "no receiver 'C-2'" in missing.output


def test_token_list_never_shows_a_secret(cli_env: Settings) -> None:
    created = invoke("token", "create", "--tenant", "acme", "--name", "erp")
    _, token_id, secret = created.output.strip().split("_", 2)
    assert invoke("token", "create", "--tenant", "globex", "--name", "portal").exit_code == 0
    outputs = [
        invoke("token", "list", *extra).output for extra in ([], ["--json"], ["--output", "csv"], ["--all"])
    ]
    for output in outputs:
        assert token_id in output and secret not in output
    [acme] = json.loads(invoke("token", "list", "--tenant", "acme", "--json").output)["items"]
    assert acme == {**acme, "id": token_id, "tenant_id": "acme", "name": "erp", "active": True}
    assert set(acme) == {"id", "tenant_id", "name", "active", "created_at", "revoked_at"}
    header = next(csv.reader(io.StringIO(outputs[2])))
    assert header == ["id", "tenant", "name", "created", "status"]
    wrong_tenant = invoke("token", "revoke", token_id, "--tenant", "globex")
    assert wrong_tenant.exit_code == 1  # a check: it is acme's token
    assert invoke("token", "revoke", token_id).exit_code == 0
    assert token_id not in invoke("token", "list").output  # active ones only
    revoked = [line for line in invoke("token", "list", "--all").output.splitlines() if token_id in line]
    assert len(revoked) == 1 and "\trevoked " in revoked[0]
    assert invoke("token", "revoke", token_id).exit_code == 1  # not active any more


def test_cancel_stops_a_delivery_that_has_not_gone(cli_env: Settings, tmp_path: Path) -> None:
    held = write_json(tmp_path / "tenant.json", {"hold_for_review": True})
    assert invoke("tenant", "set", str(held), "--tenant", "acme").exit_code == 0
    assert invoke("send", str(invoices_folder(tmp_path / "in", 1, 2)), "--tenant", "acme").exit_code == 0
    first, second = json.loads(invoke("status", "--json").output)["items"]
    assert first["status"] == second["status"] == "held"
    cancelled = invoke("cancel", first["id"], "--reason", "sent by post instead")
    assert cancelled.exit_code == 0, cancelled.output
    assert f"delivery {first['id']} via folder cancelled" in cancelled.output
    assert first["invoice_number"] in cancelled.output and first["invoice_id"] in cancelled.output
    history = json.loads(invoke("status", first["id"], "--json").output)["deliveries"][0]
    assert history["status"] == "cancelled"
    assert history["events"][-1]["reason"] == "sent by post instead"
    assert history["events"][-1]["actor"].startswith("cli:")
    again = invoke("cancel", first["id"], "--reason", "twice")
    assert again.exit_code == 1 and "cannot go from cancelled" in again.output
    assert invoke("cancel", second["id"]).exit_code == 2  # --reason is required
    assert (
        invoke("cancel", second["id"], "--reason", "x", "--tenant", "globex").exit_code == 1
    )  # not globex's
    assert invoke("cancel", "no-such-id", "--reason", "x").exit_code == 1


def test_exit_codes(cli_env: Settings, tmp_path: Path) -> None:
    missing = str(tmp_path / "nowhere.json")
    for command in (
        ["send", missing, "--tenant", "acme"],
        ["receiver", "put", missing, "--tenant", "acme"],
        ["tenant", "set", missing, "--tenant", "acme"],
        ["remittance", "receive", missing, "--tenant", "acme"],
        ["pod", "add", missing, "--tenant", "acme"],
        ["render", missing],
        ["inspect", missing],
        ["receive-edi", missing],
    ):
        result = invoke(*command)
        assert result.exit_code == 2, (command, result.output)
        assert "nowhere.json" in result.output and "Traceback" not in result.output
    assert invoke("status", "--no-such-option").exit_code == 2
    assert invoke("payments", "export", "--tenant", "acme", "--since", "yesterday").exit_code == 2
    assert invoke("status", "0123456789abcdef0123456789abcdef").exit_code == 1  # not found: refused
    assert invoke("status").exit_code == 0
