"""`gateway receivables customer`, `gateway collection candidates | export -o FILE` and
`gateway statements run [--dry-run]` on the same outbox the API wrote."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.settings import Settings
from tests.cli.conftest import invoke
from tests.services.followup.helpers import post_invoice, put_profile, reminded


def test_customer_collection_and_statements(
    client: TestClient, auth: dict[str, str], engine: Engine, cli_env: Settings, tmp_path: Path
) -> None:
    put_profile(client, auth, credit_limit="1000", risk_flag="watch", statements=True)
    invoice = post_invoice(client, auth, 1)
    shown = invoke("receivables", "customer", "C-1", "--tenant", "acme", "--date", "2027-03-01")
    assert shown.exit_code == 0, shown.output
    assert "customer C-1" in shown.output and "OVER" in shown.output and "watch" in shown.output
    as_json = json.loads(invoke("receivables", "customer", "C-1", "--tenant", "acme", "--json").output)
    assert as_json["over_limit"] is True and as_json["credit_limit"] == "1000.00"
    assert invoke("receivables", "customer", "NOPE", "--tenant", "acme").exit_code == 1

    levels = [(1, "reminder", dt.date(2027, 1, 2)), (2, "reminder", dt.date(2027, 1, 20)),
              (3, "payment_demand", dt.date(2027, 2, 5))]  # fmt: skip
    reminded(engine, invoice["id"], levels)
    listed = invoke("collection", "candidates", "--tenant", "acme", "--date", "2027-03-01")
    assert listed.exit_code == 0 and invoice["number"] in listed.output
    target = tmp_path / "agency.csv"
    exported = invoke("collection", "export", "--tenant", "acme", "--date", "2027-03-01", "-o", str(target))
    assert exported.exit_code == 0, exported.output
    assert target.read_bytes().startswith(b"\xef\xbb\xbfdebtor_name;")
    again = invoke("collection", "export", "--tenant", "acme", "--date", "2027-03-01")
    assert again.exit_code == 1 and "no invoice is ready" in again.output

    second = post_invoice(client, auth, 2)  # the handed-off invoice is the agency's now: not on a statement
    settings = client.get("/settings", headers=auth).json()
    settings["follow_up"]["statements"] = True
    assert client.put("/settings", json=settings, headers=auth).status_code == 200
    dry = invoke("statements", "run", "--tenant", "acme", "--date", "2027-01-31", "--dry-run", "--json")
    assert json.loads(dry.output)["statements"][0]["status"] == "dry_run"
    run = invoke("statements", "run", "--tenant", "acme", "--date", "2027-01-31", "--json")
    [statement] = json.loads(run.output)["statements"]
    assert statement["receiver_id"] == "C-1" and statement["notice_id"] and statement["items"] == 1
    assert statement["total"] == second["payable_amount"]
