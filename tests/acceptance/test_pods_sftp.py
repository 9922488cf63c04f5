"""The POD drop over SFTP: a real OpenSSH sshd on loopback plays the carrier's (or scanner's) server."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.inbound import pods as service
from gateway.services.outbound.documents import document_store
from gateway.settings import Settings
from tests.services.test_pods import _accept, make_jpeg, make_pdf, make_zip_bomb
from tests.sftp_server import OpenSshSftpServer
from transports.drop_folder import open_drop_folder


@pytest.fixture(scope="module")
def server() -> Iterator[OpenSshSftpServer]:
    with OpenSshSftpServer() as running:
        yield running


def test_sftp_drop_takes_pods_in_and_moves_each_file_once(
    engine: Engine, settings: Settings, server: OpenSshSftpServer, request: pytest.FixtureRequest
) -> None:
    by_order, by_note = _accept(engine, {"order_reference": "PO-9"}, {"despatch_advice_reference": "DN-9"})
    drop = f"in/pods-{request.node.callspec.id}"
    directory = server.local(drop)
    directory.mkdir(mode=0o755)
    os.chown(directory, server.uid, server.gid)
    server.put_file(f"{drop}/POD_order_PO-9_scan.pdf", make_pdf("order"))
    server.put_file(f"{drop}/photo.jpg", make_jpeg())
    server.put_file(
        f"{drop}/photo.jpg.json",
        json.dumps(
            {"signer_name": "Kari", "place": "Bergen", "references": {"delivery_notes": ["DN-9"]}}
        ).encode(),
    )
    server.put_file(f"{drop}/bomb.zip", make_zip_bomb())

    store = document_store(settings)
    with open_drop_folder(drop, server.settings()) as folder:
        received = service.receive_pod_drop(engine, store, folder, "acme", "sftp:pods")
    assert {i.file: i.outcome for i in received} == {
        "POD_order_PO-9_scan.pdf": "created", "photo.jpg": "created", "bomb.zip": "rejected",
    }  # fmt: skip
    assert sorted(p.name for p in server.local(f"{drop}/done").iterdir()) == [
        "POD_order_PO-9_scan.pdf", "photo.jpg", "photo.jpg.json",
    ]  # fmt: skip
    assert sorted(p.name for p in server.local(f"{drop}/rejected").iterdir()) == [
        "bomb.zip", "bomb.zip.reason.txt",
    ]  # fmt: skip
    assert "ZIP" in server.local(f"{drop}/rejected/bomb.zip.reason.txt").read_text()
    with session_scope(engine) as session:
        [order_pod] = service.pods_for_invoice(session, "acme", by_order)
        [note_pod] = service.pods_for_invoice(session, "acme", by_note)
        assert order_pod.source == "sftp" and (note_pod.signer_name, note_pod.place) == ("Kari", "Bergen")
    # nothing is left to read: a second poll does nothing
    with open_drop_folder(drop, server.settings()) as folder:
        assert service.receive_pod_drop(engine, store, folder, "acme", "sftp:pods") == []


def test_cli_pod_drop_over_sftp(
    engine: Engine, settings: Settings, server: OpenSshSftpServer, request: pytest.FixtureRequest,
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from typer.testing import CliRunner

    from gateway.cli import app

    [invoice_id] = _accept(engine, {"order_reference": "PO-CLI"})
    drop = f"in/cli-{request.node.callspec.id}"
    server.local(drop).mkdir(mode=0o755)
    os.chown(server.local(drop), server.uid, server.gid)
    server.put_file(f"{drop}/POD_order_PO-CLI.pdf", make_pdf("cli"))
    remote = server.settings(auth="password")
    assert remote.password is not None
    config = tmp_path / "sftp.json"
    config.write_text(json.dumps({
        "host": remote.host, "port": remote.port, "username": remote.username, "host_key": remote.host_key,
        "password": remote.password.get_secret_value(),
    }))  # fmt: skip
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    result = CliRunner().invoke(app, ["pod", "drop", drop, "--tenant", "acme", "--sftp", str(config)])
    assert result.exit_code == 0, result.output
    assert "created" in result.output
    assert remote.password.get_secret_value() not in result.output
    with session_scope(engine) as session:
        assert len(service.pods_for_invoice(session, "acme", invoice_id)) == 1
