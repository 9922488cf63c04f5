"""`gateway report reconciliation`: the same report as `POST /reports/reconciliation`, as JSON or text; a file
that is not a camt.053 is refused (exit 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine

from tests.cli.conftest import invoke
from tests.services.reports.test_reconciliation import CAMT, as_camt054, book, reconcile, statement_v8


def test_the_command_line_reports_what_the_api_does(
    cli_env: Any, client: TestClient, auth: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    ours = statement_v8(account="15038366383", currency="NOK", opening="0", closing="100.00",
                        entries=[("100.00", "N-1", "CRDT"), ("40.00", "N-2", "CRDT")])  # fmt: skip
    notified = statement_v8(account="15038366383", currency="NOK", opening="0", closing="100.00",
                            entries=[("100.00", "N-1", "CRDT")])  # fmt: skip
    book(client, auth, as_camt054(etree.fromstring(notified), "CLI"), "cli.xml")
    path = tmp_path / "statement.xml"
    path.write_bytes(ours)

    as_json = invoke("report", "reconciliation", "--tenant", "acme", "--statement", str(path), "--json")
    assert as_json.exit_code == 0, as_json.output
    assert json.loads(as_json.output) == reconcile(client, auth, ours)

    text = invoke("report", "reconciliation", "--tenant", "acme", "--statement", str(path))
    assert text.exit_code == 0, text.output
    assert "missing_in_gateway\tN-2\t2026-11-20\t40.00 NOK" in text.output
    assert "verdict: 3 differences" in text.output  # N-2, the movements, the statement's own sum

    refused = invoke(
        "report", "reconciliation", "--tenant", "acme", "--statement", str(CAMT / "genkgo_camt054.v8.xml")
    )
    assert refused.exit_code == 2 and "not a camt.053" in refused.output
    missing = invoke("report", "reconciliation", "--tenant", "acme", "--statement", str(tmp_path / "none"))
    assert missing.exit_code == 2 and "no such file" in missing.output
