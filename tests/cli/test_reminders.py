"""`gateway reminders run|list|show|approve|cancel` on a real outbox: a dry run that writes nothing, a run
with its summary table, and a notice approved and another cancelled by hand."""

from __future__ import annotations

import json
from pathlib import Path

from gateway.settings import Settings
from tests.cli.conftest import invoices_folder, invoke, write_json

FOLLOW_UP = {
    "enabled": True,
    "strategies": [
        {"levels": [{"level": 1, "kind": "reminder", "delay_days": 14, "approval_required": True}]},
    ],
}


def test_run_list_show_approve_and_cancel(cli_env: Settings, tmp_path: Path) -> None:
    tenant = ["--tenant", "acme"]
    assert invoke("send", str(invoices_folder(tmp_path / "in", 1, 2)), *tenant).exit_code == 0  # due 16 Nov
    settings_file = write_json(tmp_path / "settings.json", {"follow_up": FOLLOW_UP})
    assert invoke("tenant", "set", str(settings_file), *tenant).exit_code == 0

    dry = invoke("reminders", "run", "--dry-run", "--date", "2026-12-01", "--json", *tenant)
    assert dry.exit_code == 0, dry.output
    report = json.loads(dry.output)
    assert (report["run_id"], report["notices"], report["notices_by_level"]) == (None, 2, {"1": 2})
    assert json.loads(invoke("reminders", "list", "--json", *tenant).output)["items"] == []

    done = invoke("reminders", "run", "--date", "2026-12-01", *tenant)
    assert done.exit_code == 0, done.output
    assert "2 notices for 2 invoices (2 awaiting approval)" in done.output and "level 1" in done.output
    again = json.loads(invoke("reminders", "run", "--date", "2026-12-01", "--json", *tenant).output)
    assert again["notices"] == 0 and again["skipped"] == {"not_due": 2}

    listed = json.loads(
        invoke("reminders", "list", "--status", "awaiting_approval", "--json", *tenant).output
    )
    first, second = (item["id"] for item in listed["items"])
    shown = invoke("reminders", "show", first, *tenant)
    assert shown.exit_code == 0 and "INV-00000" in shown.output and "fee: 35.00" in shown.output
    assert invoke("reminders", "show", first, "--tenant", "globex").exit_code == 1  # another tenant's

    approved = invoke("reminders", "approve", first, *tenant)
    assert approved.exit_code == 0 and "queued" in approved.output
    twice = invoke("reminders", "approve", first, *tenant)
    assert twice.exit_code == 1 and "awaiting approval" in twice.output
    cancelled = invoke("reminders", "cancel", second, "--reason", "paid at the counter", *tenant)
    assert cancelled.exit_code == 0, cancelled.output
    statuses = {
        item["id"]: item["status"]
        for item in json.loads(invoke("reminders", "list", "--json", *tenant).output)["items"]
    }
    assert statuses == {first: "queued", second: "cancelled"}
    rewritten = json.loads(invoke("reminders", "run", "--date", "2026-12-02", "--json", *tenant).output)
    assert rewritten["notices"] == 1  # the cancelled notice's invoice is reminded again
