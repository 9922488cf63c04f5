"""`gateway ledger post | vouchers | balances`: the journal posted and read from the command line."""

from __future__ import annotations

import datetime as dt
import json

from sqlalchemy import Engine

from gateway.settings import Settings
from tests.cli.conftest import invoke
from tests.services.ledger import factories as f

ORG = "910667831"


def test_post_list_and_balance(cli_env: Settings, engine: Engine) -> None:
    invoice = f.invoice(engine, org=ORG)
    payment = f.payment(engine, "500.00")
    f.apply(engine, payment.id, [(invoice.id, "500.00")], at=dt.date(2026, 11, 10))

    posted = invoke("ledger", "post", "--tenant", "acme", "--until", "2026-11-30", "--json")
    assert posted.exit_code == 0, posted.output
    assert json.loads(posted.output)["by_type"] == {"invoice": 1, "payment": 1}
    text = invoke("ledger", "post", "--tenant", "acme", "--until", "2026-11-30")
    assert text.exit_code == 0 and "posted 0 vouchers up to 2026-11-30" in text.output

    listed = invoke("ledger", "vouchers", "--tenant", "acme", "--period", "2026-11", "--json")
    assert listed.exit_code == 0, listed.output
    body = json.loads(listed.output)
    assert body["next"] is None and [v["number"] for v in body["items"]] == [1, 2]
    assert [(line["account"], line["debit"], line["credit"]) for line in body["items"][1]["lines"]] == [
        ("1920", "500.00", "0"),
        ("1500", "0", "500.00"),
    ]
    table = invoke("ledger", "vouchers", "--tenant", "acme")
    assert table.exit_code == 0
    rows = [line.split("\t") for line in table.output.splitlines()]
    assert [row[:6] for row in rows if row[0] == "2"] == [
        ["2", "2026-11-10", "payment", "1920", "500.00", "0"],
        ["2", "2026-11-10", "payment", "1500", "0", "500.00"],
    ]

    balances = invoke("ledger", "balances", "--tenant", "acme", "--date", "2026-11-30", "--json")
    assert balances.exit_code == 0, balances.output
    view = json.loads(balances.output)
    assert {row["account"]: row["balance"] for row in view["accounts"]}["1500"] == "750.00"
    assert view["customers"][0]["balance"] == "750.00" and view["total"] == "0.00"


def test_a_refusal_names_the_field_and_exits_1(cli_env: Settings, engine: Engine) -> None:
    f.invoice(engine, lines=[("S", "25", "80.00")], currency="EUR", org=ORG)
    refused = invoke("ledger", "post", "--tenant", "acme", "--until", "2026-11-30")
    assert refused.exit_code == 1
    assert "ledger.exchange_rates" in refused.output and "EUR" in refused.output
    listed = invoke("ledger", "vouchers", "--tenant", "acme", "--json")
    assert json.loads(listed.output) == {"items": [], "next": None}
