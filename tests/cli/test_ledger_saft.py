"""`gateway ledger saft`: the file written to -o once it is checked; exit 1 with the field and the reason,
and no file, when it is refused; `gateway inspect` summarises what was written."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.settings import Settings
from tests.cli.conftest import invoke
from tests.conftest import SHARED
from tests.services.ledger.saft_seed import Line, add_voucher, invoice_customers, seed_month

RULES = {"GATEWAY_RULES_DIR": str(SHARED / "validation")}
NOVEMBER = ["--from", "2026-11-01", "--to", "2026-11-30", "--tenant", "acme"]


def test_export_then_inspect(
    cli_env: Settings, client: TestClient, auth: dict[str, Any], engine: Engine, tmp_path: Path
) -> None:
    seed_month(engine, *invoice_customers(client, auth))
    target = tmp_path / "saft.xml"
    done = invoke("ledger", "saft", *NOVEMBER, "-o", str(target), env=RULES)
    assert done.exit_code == 0, done.output
    assert (
        "SAF-T export 1: 9 transactions 2026-11-01..2026-11-30, debit 5350.00 = credit 5350.00" in done.output
    )
    shown = invoke("inspect", str(target), "--json")
    assert shown.exit_code == 0, shown.output
    summary = json.loads(shown.output)
    assert {key: summary[key] for key in ("format", "version", "registration_number", "transactions",
                                          "lines", "customers", "total_debit", "balanced")} == {
        "format": "saft-financial", "version": "1.30", "registration_number": "987654325",
        "transactions": 9, "lines": 22, "customers": 2, "total_debit": "5350.00", "balanced": True,
    }  # fmt: skip
    again = invoke("ledger", "saft", *NOVEMBER, "-o", str(tmp_path / "again.xml"), "--json", env=RULES)
    assert json.loads(again.output)["number"] == 2
    assert (tmp_path / "again.xml").read_bytes() == target.read_bytes()


def test_a_refused_export_writes_nothing(
    cli_env: Settings, client: TestClient, auth: dict[str, Any], engine: Engine, tmp_path: Path
) -> None:
    invoice_customers(client, auth)
    add_voucher(engine, 1, dt.date(2026, 11, 3), "invoice", [
        Line("1500", debit="10.00", customer="name:nobody we invoiced"), Line("3000", credit="10.00"),
    ])  # fmt: skip
    out = tmp_path / "out"
    out.mkdir()
    refused = invoke("ledger", "saft", *NOVEMBER, "-o", str(out / "saft.xml"), env=RULES)
    assert refused.exit_code == 1
    assert "Transaction 1 line 1 CustomerID: customer 'name:nobody we invoiced' is not in" in refused.output
    assert list(out.iterdir()) == []
    unset = invoke("ledger", "saft", *NOVEMBER, "-o", str(out / "saft.xml"))
    assert unset.exit_code == 1 and "GATEWAY_RULES_DIR" in unset.output
    nowhere = invoke("ledger", "saft", *NOVEMBER, "-o", str(tmp_path / "missing" / "saft.xml"), env=RULES)
    assert nowhere.exit_code == 2 and "no such folder" in nowhere.output
