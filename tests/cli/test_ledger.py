"""`gateway ledger journal | exports | periods`: a period exported to a file and to stdout, numbered runs,
the same bytes for a closed period, refusals with exit 1 naming the field, listings as tables and JSON."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from sqlalchemy import Engine

from gateway.settings import Settings
from mappings import inspect_file
from tests.cli.conftest import invoke
from tests.services.ledger.journal_rows import add_invoice, add_payment

OCTOBER = dt.date(2026, 10, 1)


def _october(engine: Engine) -> None:
    add_invoice(engine, "acme", OCTOBER + dt.timedelta(days=4), "1000.00", number="1001", customer="C-1")
    add_payment(engine, "acme", OCTOBER + dt.timedelta(days=14), "1250.00", customer="C-1")


def test_a_period_exported_to_a_file_then_again_to_stdout_gives_the_same_bytes(
    cli_env: Settings, engine: Engine, tmp_path: Path
) -> None:
    _october(engine)
    target = tmp_path / "october.txt"
    first = invoke("ledger", "journal", "--tenant", "acme", "--period", "2026-10", "--format", "gbat10",
                   "-o", str(target))  # fmt: skip
    assert first.exit_code == 0, first.output
    assert "export 1: 2026-10 as gbat10, 2 voucher(s), written to" in first.stderr
    found = inspect_file(target.read_bytes())
    assert (found["format"], found["vouchers"], found["balanced"]) == ("gbat10", 2, True)
    again = invoke("ledger", "journal", "--tenant", "acme", "--period", "2026-10", "--format", "gbat10")
    assert again.exit_code == 0, again.output
    assert again.stdout_bytes == target.read_bytes()
    assert "export 2:" in again.stderr


def test_json_prints_the_export_record(cli_env: Settings, engine: Engine) -> None:
    _october(engine)
    result = invoke(
        "ledger", "journal", "--tenant", "acme", "--period", "2026-10", "--format", "csv", "--json"
    )
    assert result.exit_code == 0, result.output
    record = json.loads(result.stdout)
    assert (record["number"], record["format"], record["period"], record["vouchers"]) == (
        1,
        "csv",
        "2026-10",
        2,
    )
    assert record["download"] == f"/ledger/exports/{record['id']}/file"
    assert record["filename"] == "journal-acme-2026-10-n1.csv"


def test_refusals_exit_1_and_name_the_field(cli_env: Settings, engine: Engine) -> None:
    _october(engine)
    wrong = invoke("ledger", "journal", "--tenant", "acme", "--period", "2026-10", "--format", "xml")
    assert wrong.exit_code == 1 and "format: 'xml' is not a journal format" in wrong.stderr
    unfinished = invoke("ledger", "journal", "--tenant", "acme", "--period", "2999-01")
    assert unfinished.exit_code == 1
    assert "period: 2999-01 ends on 2999-01-31; a period is exported after its last day" in unfinished.stderr
    listed = invoke("ledger", "exports", "--tenant", "acme", "--json")
    assert json.loads(listed.stdout) == {"items": [], "next": None}


def test_exports_and_periods_are_listed(cli_env: Settings, engine: Engine) -> None:
    _october(engine)
    add_invoice(engine, "acme", dt.date(2026, 11, 2), "40.00", number="1002", customer="C-2")
    for fmt in ("gbat10", "csv", "json"):
        assert invoke("ledger", "journal", "--tenant", "acme", "--period", "2026-10", "--format", fmt,
                      "--json").exit_code == 0  # fmt: skip
    page = json.loads(invoke("ledger", "exports", "--tenant", "acme", "--limit", "2", "--json").stdout)
    assert [i["number"] for i in page["items"]] == [3, 2] and page["next"] == "--before 2"
    rest = json.loads(invoke("ledger", "exports", "--tenant", "acme", "--before", "2", "--json").stdout)
    assert [i["number"] for i in rest["items"]] == [1] and rest["next"] is None
    table = invoke("ledger", "exports", "--tenant", "acme")
    assert table.exit_code == 0 and table.stdout.splitlines()[0].split("\t")[:3] == ["3", "2026-10", "json"]
    periods = json.loads(invoke("ledger", "periods", "--tenant", "acme", "--json").stdout)["items"]
    assert [(p["period"], p["status"], p["vouchers"], p["export_number"]) for p in periods] == [
        ("2026-11", "open", 1, None),
        ("2026-10", "closed", 2, 1),
    ]
    assert periods[1]["debit_total"] == periods[1]["credit_total"] == "2500.00"
    rows = invoke("ledger", "periods", "--tenant", "acme").stdout.splitlines()
    assert rows[1].split("\t")[:6] == ["2026-10", "closed", "2", "2500.00", "2500.00", "yes"]
