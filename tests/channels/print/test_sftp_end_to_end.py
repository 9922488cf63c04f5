"""The print channel against a real OpenSSH sshd (internal-sftp, chrooted) on loopback.

Happy path with return files, a wrong host key, a connection dropped mid-upload and retried (exactly one
complete batch on the server), permission denied, and a full disk (retry, then deviation). The outbox is
real too (SQLite and PostgreSQL); the test plays the print house by reading and writing the chroot.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import gnupg  # type: ignore[import-untyped]
import pytest
from sqlalchemy import Engine, select, update

from channels import create_channel
from channels.print_sftp import PrintChannel
from db.engine import session_scope
from db.models import Batch, BatchItem, utcnow
from gateway.samples import sample_invoice_json
from gateway.services.inbound.print_returns import poll_print_returns
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.tenants import ensure_tenant
from gateway.settings import Settings
from gateway.worker import Worker
from mappings.print import batch as print_batch
from tests.sftp_server import DroppingProxy, OpenSshSftpServer


@pytest.fixture(scope="module")
def server() -> Iterator[OpenSshSftpServer]:
    with OpenSshSftpServer() as running:
        yield running


@pytest.fixture
def house(server: OpenSshSftpServer, request: pytest.FixtureRequest) -> str:
    """This test's own folders at the print house: `in/<name>`, `out/<name>`, `out/<name>/archive`."""
    name = re.sub(r"\W+", "_", request.node.name).strip("_")
    for folder in (f"in/{name}", f"out/{name}", f"out/{name}/archive"):
        directory = server.local(folder)
        directory.mkdir(mode=0o755)
        os.chown(directory, server.uid, server.gid)
    return name


def _sftp(server: OpenSshSftpServer, **overrides: Any) -> dict[str, Any]:
    values = server.settings(**overrides).model_dump()
    for secret in ("password", "private_key", "private_key_passphrase"):
        if values.get(secret) is not None:
            values[secret] = values[secret].get_secret_value()
    return {k: v for k, v in values.items() if v is not None}


def _configure(
    settings: Settings, server: OpenSshSftpServer, house: str, *, incoming: str | None = None, **changes: Any
) -> None:
    profile = changes.pop("profile", {})
    settings.channels = {
        "print": {
            "transport": "sftp",
            "sftp": changes.pop("sftp", None) or _sftp(server),
            "folders": {
                "incoming": incoming or f"in/{house}",
                "outgoing": f"out/{house}",
                "archive": f"out/{house}/archive",
            },
            "profiles": {"default": {"cutoffs": ["15:00"], **profile}},
            "retry": {"base_seconds": 1, "jitter": False, "max_tries": 2},
        }
    }


def _accept(engine: Engine, count: int) -> list[str]:
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    items = []
    for n in range(1, count + 1):
        payload = sample_invoice_json(n)
        payload["routing"] = {"channel": "print"}
        items.append(IntakeItem(payload))
    results = accept_invoices(engine, "acme", items, actor="test", default_channel="folder")
    assert [r.outcome for r in results] == ["created"] * count
    return [r.invoice_id or "" for r in results]


def _stage_and_pass_cutoff(engine: Engine, settings: Settings, count: int) -> list[str]:
    invoice_ids = _accept(engine, count)
    assert Worker(engine, settings, worker_id="w").run(once=True).outcomes == {"batched": count}
    with session_scope(engine) as session:
        session.execute(update(BatchItem).values(due_at=utcnow() - dt.timedelta(seconds=1)))
    return invoice_ids


def _make_batch_due(engine: Engine) -> None:
    with session_scope(engine) as session:
        session.execute(update(Batch).values(next_attempt_at=utcnow()))


def _batch(engine: Engine) -> Batch:
    with session_scope(engine) as session:
        [batch] = session.execute(select(Batch)).scalars()
        return batch


def _deliveries(engine: Engine, invoice_ids: list[str]) -> list[dict[str, Any]]:
    with session_scope(engine) as session:
        return [service.invoice_view(session, "acme", i)["deliveries"][0] for i in invoice_ids]


def _entries(path: Path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_a_batch_goes_up_over_sftp_and_the_return_files_come_back(
    engine: Engine, settings: Settings, server: OpenSshSftpServer, house: str
) -> None:
    _configure(settings, server, house)
    invoice_ids = _stage_and_pass_cutoff(engine, settings, 3)
    assert Worker(engine, settings, worker_id="w").run(once=True).outcomes == {"batch sent": 1}
    batch = _batch(engine)
    uploaded = server.local(f"in/{house}/{batch.id}")
    assert _entries(server.local(f"in/{house}")) == [batch.id]  # no .part left beside it
    index = print_batch.parse((uploaded / f"{batch.id}.csv").read_bytes())
    deliveries = _deliveries(engine, invoice_ids)
    assert {e.delivery_id for e in index.entries} == {d["id"] for d in deliveries}
    assert all(d["status"] == "sent" and d["channel_message_id"] == batch.id for d in deliveries)

    # the print house: a receipt, and a production report naming documents by batch and sequence only
    server.put_file(
        f"out/{house}/receipt-{batch.id}.xml",
        f'<PrintReceipt xmlns="urn:invoice-gateway:print-return:1" batchId="{batch.id}" status="accepted"'
        ' documents="3" receivedAt="2026-11-24T15:02:11Z"/>'.encode(),
    )
    rows = "".join(f"production;{batch.id};{n};;;posted;2026-11-25;;\n" for n in (1, 2, 3))
    server.put_file(
        f"out/{house}/production.csv",
        (
            "record;batch_id;sequence;delivery_id;invoice_number;status;date;reason_code;reason\n" + rows
        ).encode(),
    )
    channel = create_channel("print", settings.channel_settings("print"))
    assert isinstance(channel, PrintChannel)
    report = poll_print_returns(engine, channel)
    assert not report.errors
    assert {f["file"] for f in report.files} == {f"receipt-{batch.id}.xml", "production.csv"}
    assert _entries(server.local(f"out/{house}")) == ["archive"]
    assert _entries(server.local(f"out/{house}/archive")) == sorted(
        ["production.csv", f"receipt-{batch.id}.xml"]
    )
    assert _batch(engine).status == "accepted"
    assert {d["status"] for d in _deliveries(engine, invoice_ids)} == {"delivered"}
    # a second poll finds nothing new
    assert poll_print_returns(engine, channel).files == []


def test_a_wrong_host_key_is_refused_and_the_batch_goes_to_deviation(
    engine: Engine, settings: Settings, server: OpenSshSftpServer, house: str
) -> None:
    with server.twin_with_other_host_key() as impostor:
        # the pinned key is the real server's; the impostor answers on its own port with another key
        _configure(settings, server, house, sftp=_sftp(server, port=impostor.port))
        invoice_ids = _stage_and_pass_cutoff(engine, settings, 2)
        Worker(engine, settings, worker_id="w").run(once=True)
    batch = _batch(engine)
    assert batch.status == "failed"
    assert "HostKeyRefused" in (batch.last_error or "")
    for delivery in _deliveries(engine, invoice_ids):
        assert delivery["status"] == "deviation"
        assert "HostKeyRefused" in delivery["last_error"]
        assert "SHA256:" in delivery["last_error"]  # says which key was offered and which expected
    assert _entries(server.local(f"in/{house}")) == []


def test_a_connection_dropped_mid_upload_is_retried_into_exactly_one_batch(
    engine: Engine, settings: Settings, server: OpenSshSftpServer, house: str
) -> None:
    with DroppingProxy(server.port, drop_connections=1, after_client_bytes=60_000) as proxy:
        _configure(settings, server, house, sftp=_sftp(server, port=proxy.port))
        invoice_ids = _stage_and_pass_cutoff(engine, settings, 4)
        Worker(engine, settings, worker_id="w").run(once=True)
        batch = _batch(engine)
        assert batch.status == "ready" and batch.tries == 1
        assert "ConnectionLost" in (batch.last_error or "")
        assert proxy.dropped == 1
        server.wait_for_no_sessions()
        assert not server.local(f"in/{house}/{batch.id}").exists()
        assert [p.name for p in server.local(f"in/{house}").iterdir() if p.name.endswith(".part")]

        _make_batch_due(engine)
        Worker(engine, settings, worker_id="w").run(once=True)
    batch = _batch(engine)
    assert batch.status == "sent" and batch.tries == 2
    assert _entries(server.local(f"in/{house}")) == [batch.id]  # one batch, the dropped part swept away
    files = _entries(server.local(f"in/{house}/{batch.id}"))
    assert len(files) == 5 and f"{batch.id}.csv" in files
    with session_scope(engine) as session:
        staged = {i.sequence: i.content for i in session.execute(select(BatchItem)).scalars()}
    for sequence, content in staged.items():
        assert server.local(f"in/{house}/{batch.id}/{batch.id}-{sequence:05d}.pdf").read_bytes() == content
    deliveries = _deliveries(engine, invoice_ids)
    assert {d["status"] for d in deliveries} == {"sent"}
    reasons = [e["reason"] or "" for e in deliveries[0]["events"]]
    assert any("not handed over (try 1)" in r for r in reasons)


def test_permission_denied_at_the_print_house_is_a_deviation(
    engine: Engine, settings: Settings, server: OpenSshSftpServer, house: str
) -> None:
    _configure(settings, server, house, incoming="readonly")
    invoice_ids = _stage_and_pass_cutoff(engine, settings, 1)
    Worker(engine, settings, worker_id="w").run(once=True)
    batch = _batch(engine)
    assert batch.status == "failed" and batch.tries == 1
    [delivery] = _deliveries(engine, invoice_ids)
    assert delivery["status"] == "deviation"
    assert "RemotePermissionDenied" in delivery["last_error"]


def test_a_full_disk_is_retried_then_ends_in_deviation(
    engine: Engine, settings: Settings, server: OpenSshSftpServer, house: str
) -> None:
    with server.small_disk(64 * 1024) as disk:
        _configure(settings, server, house, incoming=disk.directory, sftp=_sftp(server))
        invoice_ids = _stage_and_pass_cutoff(engine, settings, 3)  # ~45 KiB each: more than 64 KiB
        Worker(engine, settings, worker_id="w").run(once=True)
        batch = _batch(engine)
        assert batch.status == "ready" and batch.tries == 1  # transient: tried again later
        _make_batch_due(engine)
        Worker(engine, settings, worker_id="w").run(once=True)
        assert not (disk.local_directory / batch.id).exists()
    batch = _batch(engine)
    assert batch.status == "failed" and batch.tries == 2
    for delivery in _deliveries(engine, invoice_ids):
        assert delivery["status"] == "deviation"
        assert "gave up after 2 tries" in delivery["last_error"]


def test_a_pgp_profile_uploads_only_encrypted_files_the_print_house_can_open(
    engine: Engine, settings: Settings, server: OpenSshSftpServer, house: str, tmp_path: Path
) -> None:
    home = tmp_path / "gnupg"
    home.mkdir(mode=0o700)
    gpg = gnupg.GPG(gnupghome=str(home), options=["--batch"])
    key = gpg.gen_key(
        gpg.gen_key_input(
            key_type="EDDSA", key_curve="ed25519", subkey_type="ECDH", subkey_curve="cv25519",
            name_email="print@example.test", no_protection=True,
        )
    )  # fmt: skip
    try:
        public = gpg.export_keys(str(key.fingerprint))
        _configure(settings, server, house, profile={"pgp_public_key": public, "packaging": "zip"})
        _stage_and_pass_cutoff(engine, settings, 2)
        Worker(engine, settings, worker_id="w").run(once=True)
        batch = _batch(engine)
        assert _entries(server.local(f"in/{house}")) == [f"{batch.id}.zip.gpg"]
        encrypted = server.local(f"in/{house}/{batch.id}.zip.gpg").read_bytes()
        assert b"%PDF" not in encrypted
        decrypted = gpg.decrypt(encrypted)
        assert decrypted.ok, decrypted.status
        assert decrypted.data[:2] == b"PK"  # the zip with the PDFs and the index inside
    finally:
        subprocess.run(["gpgconf", "--homedir", str(home), "--kill", "all"], check=False, capture_output=True)


def test_a_refused_login_is_a_deviation_and_the_password_shows_nowhere(
    engine: Engine, settings: Settings, server: OpenSshSftpServer, house: str
) -> None:
    wrong = "Wr0ng-" + os.urandom(6).hex()
    sftp = _sftp(server, auth="password")
    sftp["password"] = wrong
    _configure(settings, server, house, sftp=sftp)
    invoice_ids = _stage_and_pass_cutoff(engine, settings, 1)
    Worker(engine, settings, worker_id="w").run(once=True)
    batch = _batch(engine)
    assert batch.status == "failed" and "AuthenticationRefused" in (batch.last_error or "")
    [delivery] = _deliveries(engine, invoice_ids)
    assert delivery["status"] == "deviation"
    everything = repr(delivery) + repr(batch.last_error)
    assert wrong not in everything
