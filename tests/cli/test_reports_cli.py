"""`gateway report aging|dso|deliveries|matching`: the hand-worked figures of the report tests through the
command line, the charts written, and a bad month refused with exit 2 naming the option."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from db.engine import session_scope
from gateway.settings import Settings
from tests.cli.conftest import invoke
from tests.services.reports.factories import payment
from tests.services.reports.scenarios import aging_history, delivery_history, dso_history
from tests.services.reports.test_plots import png_size


def test_aging_as_json_as_a_table_and_as_charts(cli_env: Settings, engine: Engine, tmp_path: Path) -> None:
    aging_history(engine)
    png, svg = tmp_path / "aging.png", tmp_path / "aging.svg"
    result = invoke(
        "report",
        "aging",
        "--tenant",
        "acme",
        "--date",
        "2026-11-30",
        "--json",
        "--png",
        str(png),
        "--svg",
        str(svg),
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    nok, eur = report["currencies"]
    assert (nok["total"], eur["total"]) == ("3330.00", "400.00")
    assert nok["buckets"] == {"not_due": "2000.00", "days_1_30": "-150.00", "days_31_60": "600.00",
                              "days_61_90": "500.00", "over_90": "380.00"}  # fmt: skip
    assert png_size(png.read_bytes()) == (1280, 640) and svg.read_bytes().startswith(b"<?xml")
    table = invoke("report", "aging", "--tenant", "acme", "--date", "2026-11-30")
    assert table.exit_code == 0, table.output
    rows = [line.split("\t") for line in table.stdout.splitlines() if "\t" in line]
    assert ["C-1", "Alfa AS", "2000.00", "0.00", "600.00", "0.00", "0.00", "2600.00"] in rows
    assert ["total", "", "2000.00", "-150.00", "600.00", "500.00", "380.00", "3330.00"] in rows


def test_dso_as_json(cli_env: Settings, engine: Engine, tmp_path: Path) -> None:
    dso_history(engine)
    png = tmp_path / "dso.png"
    result = invoke(
        "report",
        "dso",
        "--tenant",
        "acme",
        "--period",
        "2026-11",
        "--months",
        "3",
        "--json",
        "--png",
        str(png),
    )
    assert result.exit_code == 0, result.output
    [nok] = json.loads(result.stdout)["currencies"]
    assert [m["count_back_dso"] for m in nok["months"]] == ["30.0", "51.0", "51.0"]
    assert [m["cei_pct"] for m in nok["months"]] == ["100.0", "33.3", "73.5"]
    assert png_size(png.read_bytes()) == (1280, 640)
    table = invoke("report", "dso", "--tenant", "acme", "--period", "2026-11", "--months", "3")
    assert table.exit_code == 0, table.output
    assert "2026-11\t2700.00\t4800.00\t3000.00\t51.0\t33.3\t73.5" in table.stdout
    assert "C-1\tCustomer C-1\tNOK\t3\t9000.00\t21.9" in table.stdout


def test_a_bad_month_is_a_usage_error_naming_the_option(cli_env: Settings) -> None:
    for args in (
        ["dso", "--period", "2026-13"],
        ["deliveries", "--period", "nov"],
        ["dso", "--period", "2999-12"],
    ):
        result = invoke("report", *args, "--tenant", "acme")
        assert result.exit_code == 2, result.output
        assert "--period" in result.output
    early = invoke("report", "aging", "--tenant", "acme", "--date", "1999-01-01")
    assert early.exit_code == 2 and "--date" in early.output


def test_deliveries_and_matching(cli_env: Settings, engine: Engine, tmp_path: Path) -> None:
    delivery_history(engine)
    with session_scope(engine) as session:
        payment(session, "100.00", "2026-11-02")
        payment(session, "200.00", "2026-11-03", status="exception")
        payment(session, "300.00", "2026-10-30")
    png = tmp_path / "deliveries.png"
    result = invoke(
        "report", "deliveries", "--tenant", "acme", "--period", "2026-11", "--json", "--png", str(png)
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert [(c["channel"], c["deliveries"], c["deviation_rate_pct"]) for c in report["channels"]] == [
        ("email", 4, 75.0),
        ("peppol", 2, 0.0),
    ]
    assert png_size(png.read_bytes()) == (1280, 640)
    table = invoke("report", "deliveries", "--tenant", "acme", "--period", "2026-11")
    assert "email\t4\t3\t1\t3\t75.0\t120 s\t600 s" in table.stdout
    matched = invoke("report", "matching", "--tenant", "acme", "--period", "2026-11", "--json")
    assert matched.exit_code == 0, matched.output
    view = json.loads(matched.stdout)
    assert view["period"] == "2026-11" and view["payments"]["by_status"] == {"applied": 1, "exception": 1}
    assert (view["per_payment"]["matchable"], view["per_payment"]["auto_rate_pct"]) == (2, 50.0)
