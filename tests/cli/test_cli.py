"""The `gateway` command line on a real outbox: send, worker, status, resend, tokens, dry runs, demo."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from gateway.cli import app
from gateway.samples import sample_invoice_json
from gateway.settings import Settings

runner = CliRunner()


def _invoke(*args: str) -> Any:
    result = runner.invoke(app, list(args))
    return result


def _write(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


def test_send_worker_status_and_resend(cli_env: Settings, tmp_path: Path) -> None:
    inbox = tmp_path / "inbox"
    inbox.mkdir()
    _write(inbox / "a.json", sample_invoice_json(1))
    _write(inbox / "b.json", [sample_invoice_json(2), sample_invoice_json(3)])
    sent = _invoke("send", str(inbox), "--tenant", "acme")
    assert sent.exit_code == 0, sent.output
    assert sent.output.count("created") == 3
    worked = _invoke("worker", "--once")
    assert worked.exit_code == 0
    assert "'delivered': 3" in worked.output
    counts = _invoke("status", "--json")
    assert json.loads(counts.output)["counts"] == {"delivered": 3}
    files = sorted((cli_env.data_dir / "outbound" / "acme").glob("INV-000001__*.json"))
    delivery_id = re.search(r"__([0-9a-f]{32})-1\.json$", str(files[0]))
    assert delivery_id is not None
    resent = _invoke("resend", delivery_id.group(1), "--reason", "lost in the post")
    assert resent.exit_code == 0
    assert "attempt 2" in resent.output
    view = json.loads(_invoke("status", delivery_id.group(1), "--json").output)
    events = view["deliveries"][0]["events"]
    assert events[-1]["reason"] == "lost in the post"
    assert events[-1]["actor"].startswith("cli:")
    assert _invoke("status", "no-such-id").exit_code == 1


def test_send_reports_rejections_and_exits_non_zero(cli_env: Settings, tmp_path: Path) -> None:
    bad = sample_invoice_json(1)
    bad["totals"]["line_extension"] = "1.00"
    result = _invoke(
        "send",
        str(_write(tmp_path / "bad.json", bad)),
        str(_write(tmp_path / "x.json", "{")),
        "--tenant",
        "acme",
    )
    assert result.exit_code == 2
    assert "BR-CO-10" in result.output
    assert "rejected" in result.output


def test_token_create_prints_a_working_token(cli_env: Settings) -> None:
    result = _invoke("token", "create", "--tenant", "acme", "--name", "erp")
    assert result.exit_code == 0
    token = result.output.strip()
    assert token.startswith("gw_")
    from fastapi.testclient import TestClient

    from gateway.api.app import create_app

    with TestClient(create_app(Settings(_env_file=None))) as client:  # type: ignore[call-arg]
        response = client.post(
            "/invoices", json=sample_invoice_json(1), headers={"Authorization": f"Bearer {token}"}
        )
        assert response.status_code == 201
    token_id = token.split("_")[1]
    assert _invoke("token", "revoke", token_id).exit_code == 0
    with TestClient(create_app(Settings(_env_file=None))) as client:  # type: ignore[call-arg]
        response = client.get("/deliveries", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401


def test_render_prints_the_wire_document(tmp_path: Path) -> None:
    source = _write(tmp_path / "inv.json", sample_invoice_json(5))
    result = _invoke("render", str(source), "--to", "canonical-json")
    assert result.exit_code == 0
    assert json.loads(result.output)["number"] == "INV-000005"
    unknown = _invoke("render", str(source), "--to", "canonical-jsn")
    assert unknown.exit_code == 2  # a wrong option value is a usage error
    assert "Did you mean 'canonical-json'" in unknown.output


def test_render_refuses_an_invalid_invoice(tmp_path: Path) -> None:
    bad = sample_invoice_json(1)
    bad["totals"]["payable"] = "0.00"
    result = _invoke("render", str(_write(tmp_path / "bad.json", bad)))
    assert result.exit_code == 1
    assert "BR-CO-16" in result.output


def test_inspect_says_what_it_read(tmp_path: Path) -> None:
    source = _write(tmp_path / "inv.json", [sample_invoice_json(5), {"number": "x"}])
    result = _invoke("inspect", str(source), "--json")
    assert result.exit_code == 0
    read = json.loads(result.output)
    assert read["format"] == "canonical-json"
    first, second = read["documents"]
    assert first["valid"]
    assert first["number"] == "INV-000005"
    assert first["payment_reference"]
    assert not second["valid"]
    assert second["errors"]
    junk = tmp_path / "junk.bin"
    junk.write_bytes(b"\x00\x01 not anything")
    refused = _invoke("inspect", str(junk))
    assert refused.exit_code == 2  # a file the gateway cannot read
    assert "not a format the gateway understands" in refused.output


def test_receiver_put(cli_env: Settings, tmp_path: Path) -> None:
    profile = {"receiver_id": "C-1", "preferred_channel": "folder", "addresses": {"folder": "c1"}}
    assert (
        _invoke("receiver", "put", str(_write(tmp_path / "r.json", profile)), "--tenant", "acme").exit_code
        == 0
    )
    bad = {**profile, "preferred_channel": "pigeon"}
    result = _invoke("receiver", "put", str(_write(tmp_path / "bad.json", bad)), "--tenant", "acme")
    assert result.exit_code == 1
    assert "pigeon" in result.output


def test_demo_runs_end_to_end(cli_env: Settings) -> None:
    result = _invoke("demo", "--count", "3")
    assert result.exit_code == 0, result.output
    assert "BR-CO-16" in result.output
    assert "duplicate" in result.output
    assert result.output.count("delivered") >= 4  # three invoices and a credit note
    written = list((cli_env.data_dir / "outbound" / "demo").glob("*.sidecar.json"))
    assert len(written) == 4


def test_schema_command_matches_published(tmp_path: Path) -> None:
    assert _invoke("schema", str(tmp_path)).exit_code == 0
    published = Path(__file__).resolve().parents[2] / "schemas" / "invoice.schema.json"
    assert (tmp_path / "invoice.schema.json").read_text() == published.read_text()


def test_participant_add(cli_env: Settings) -> None:
    result = _invoke("participant", "add", "0192:910667831", "--types", "invoice")
    assert result.exit_code == 0, result.output
    from gateway.services.outbound.channel_context import LocalRegistryLookup

    lookup = LocalRegistryLookup(cli_env.database)
    try:
        found = lookup.find("0192:910667831")
    finally:
        lookup.close()
    assert found is not None and found.document_types == ("invoice",)
    assert _invoke("participant", "add", "nonsense").exit_code == 1
