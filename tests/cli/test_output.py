"""One output habit for every listing: `--json` in the API's list shape, `--output csv` with a header, and a
table that is plain tab-separated rows when stdout is not a terminal (CliRunner's stdout is not one), with
the full ids, numbers and buyer names; human summaries where a person reads (inspect, payments resolve)."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal
from pathlib import Path

import pytest
from rich.console import Console

import gateway.cli.common
from gateway.cli.common import _column_widths, print_table
from gateway.samples import sample_invoice_json
from gateway.settings import Settings
from tests.cli.conftest import invoices_folder, invoke, write_json
from tests.remittance_files import Tx, camt054

HEX_ID = re.compile(r"^[0-9a-f]{32}$")

# every listing command, with the tenant it needs (the ones that look across tenants get none)
LISTINGS: list[list[str]] = [
    ["status"],
    ["receiver", "list"],
    ["token", "list"],
    ["deviations"],
    ["batches"],
    ["partner", "list"],
    ["webhook", "list"],
    ["pod", "list", "--tenant", "acme"],
    ["remittance", "list", "--tenant", "acme"],
    ["payments", "list", "--tenant", "acme"],
    ["check"],
]


def _rows(output: str) -> list[list[str]]:
    return [line.split("\t") for line in output.splitlines() if line]


def test_every_listing_has_the_api_list_shape_csv_and_plain_rows(cli_env: Settings, tmp_path: Path) -> None:
    assert invoke("send", str(invoices_folder(tmp_path / "in", 1, 2)), "--tenant", "acme").exit_code == 0
    profile = {"receiver_id": "C-1", "preferred_channel": "folder", "addresses": {"folder": "c1"}}
    assert (
        invoke("receiver", "put", str(write_json(tmp_path / "r.json", profile)), "--tenant", "acme").exit_code
        == 0
    )
    assert invoke("token", "create", "--tenant", "acme", "--name", "erp").exit_code == 0
    for command in LISTINGS:
        as_json = invoke(*command, "--json")
        assert as_json.exit_code == 0, (command, as_json.output)
        listed = json.loads(as_json.output)
        assert set(listed) >= {"items", "next"} and listed["next"] is None, command
        assert json.loads(invoke(*command, "--output", "json").output) == listed, command
        as_csv = invoke(*command, "--output", "csv")
        assert as_csv.exit_code == 0, (command, as_csv.output)
        table = list(csv.reader(io.StringIO(as_csv.output)))
        header, body = table[0], table[1:]
        assert len(body) == len(listed["items"]), command
        plain = invoke(*command)
        assert plain.exit_code == 0, (command, plain.output)
        rows = _rows(plain.output)
        assert len(rows) == len(listed["items"]), (command, plain.output)  # no header, no title
        assert all(len(row) == len(header) for row in rows), (command, plain.output)
        assert not re.search("[┃│━─]", plain.output), command  # nothing drawn
    refused = invoke("status", "--json", "--output", "csv")
    assert refused.exit_code == 2
    assert "contradict" in refused.output


def test_tables_in_a_pipe_carry_whole_ids_numbers_and_buyers(cli_env: Settings, tmp_path: Path) -> None:
    sent = invoke("send", str(invoices_folder(tmp_path / "in", 1, 2, 3)), "--tenant", "acme")
    assert sent.exit_code == 0, sent.output
    sent_rows = _rows(sent.output)
    assert [row[3] for row in sent_rows] == ["INV-000001", "INV-000002", "INV-000003"]
    buyers = {sample_invoice_json(n)["buyer"]["name"] for n in (1, 2, 3)}
    assert {row[4] for row in sent_rows} == buyers
    assert all(HEX_ID.match(row[5]) for row in sent_rows)
    status = _rows(invoke("status").output)
    assert {row[2] for row in status} == {"INV-000001", "INV-000002", "INV-000003"}
    assert {row[3] for row in status} == buyers
    for delivery_id, invoice_id, *_ in status:
        assert HEX_ID.match(delivery_id) and HEX_ID.match(invoice_id)
        shown = json.loads(invoke("status", delivery_id, "--json").output)  # the next command takes it
        assert shown["id"] == invoice_id


def test_a_terminal_table_keeps_key_columns_whole_and_never_cuts() -> None:
    delivery = "0123456789abcdef0123456789abcdef"
    error = "connection refused by mail.example.org after three tries " * 3
    rows = [[delivery, "INV-1001", "Midnattsol Drift AS", error]]
    columns = ("delivery", "number", "buyer", "last error")
    keys = ("delivery", "number", "buyer")
    out = io.StringIO()
    narrow = Console(file=out, width=100, force_terminal=True, color_system=None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gateway.cli.common, "_is_terminal", lambda stream: True)
        print_table(columns, rows, keys=keys, to=narrow)
    drawn = out.getvalue()
    assert delivery in drawn and "Midnattsol Drift AS" in drawn  # on one line each
    assert "…" not in drawn
    words = " ".join(line.strip("│ ").split("│")[-1].strip() for line in drawn.splitlines())
    assert "connection refused by mail.example.org" in " ".join(words.split())
    widths = _column_widths(columns, rows, keys, 100)
    assert widths is not None and widths[:3] == [32, 8, 19] and sum(widths) + 13 <= 100
    assert _column_widths(columns, rows, keys, 60) is None  # the ids alone do not fit: one block per row
    out = io.StringIO()
    tiny = Console(file=out, width=60, force_terminal=True, color_system=None)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(gateway.cli.common, "_is_terminal", lambda stream: True)
        print_table(columns, rows, keys=keys, to=tiny)
    assert f"delivery  {delivery}" in out.getvalue() and error.strip()[:40] in out.getvalue()


def test_inspect_prints_a_summary_and_json_on_request(tmp_path: Path) -> None:
    source = write_json(tmp_path / "inv.json", sample_invoice_json(5))
    summary = invoke("inspect", str(source))
    assert summary.exit_code == 0, summary.output
    assert "format: canonical-json" in summary.output
    assert "number: INV-000005" in summary.output and "valid: yes" in summary.output
    assert "{" not in summary.output  # not a dump
    assert json.loads(invoke("inspect", str(source), "--json").output)["format"] == "canonical-json"


def test_payments_resolve_prints_a_summary(cli_env: Settings, tmp_path: Path) -> None:
    sent = invoke("send", str(invoices_folder(tmp_path / "in", 1)), "--tenant", "acme")
    [[_, _, _, number, _, invoice_id, _]] = _rows(sent.output)
    camt = tmp_path / "camt.xml"
    camt.write_bytes(camt054([Tx(Decimal("100.00"), payer="Somebody Else AS", text="thanks")]))
    received = invoke("remittance", "receive", str(camt), "--tenant", "acme", "--json")
    assert received.exit_code == 0, received.output
    [payment] = json.loads(invoke("payments", "list", "--tenant", "acme", "--json").output)["items"]
    assert payment["status"] == "exception"
    resolved = invoke(
        "payments", "resolve", payment["id"], "--invoice", f"{invoice_id}=100.00", "--tenant", "acme",
        "--reason", "customer phoned", "--no-learn",
    )  # fmt: skip
    assert resolved.exit_code == 0, resolved.output
    assert f"payment {payment['id']}: resolved" in resolved.output
    assert f"{number}  100.00  invoice {invoice_id}" in resolved.output
    assert "{" not in resolved.output
    again = invoke("payments", "show", payment["id"], "--tenant", "acme", "--json")
    assert json.loads(again.output)["status"] == "resolved"
    bad = invoke("payments", "resolve", payment["id"], "--invoice", "nonsense", "--tenant", "acme")
    assert bad.exit_code == 2  # a malformed option
    too_much = invoke(
        "payments", "resolve", payment["id"], "--invoice", f"{invoice_id}=900.00", "--tenant", "acme"
    )
    assert too_much.exit_code == 1 and "900.00" in too_much.output  # refused
