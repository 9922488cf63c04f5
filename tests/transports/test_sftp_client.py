"""channels/sftp.py against a real OpenSSH sshd (tests/sftp_server.py): atomic uploads, pinning, faults.

One server for the module; each test works in its own directories (`in/<test>`, `out/<test>`).
"""

from __future__ import annotations

import os
import re
import secrets
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from paramiko.sftp import SFTP_OP_UNSUPPORTED
from pydantic import ValidationError

from schemas.sftp import SftpSettings
from tests.sftp_server import DroppingProxy, OpenSshSftpServer, generate_key
from transports.sftp import (
    AuthenticationRefused,
    ConnectionLost,
    HostKeyRefused,
    RemoteError,
    RemoteFileTooLarge,
    RemoteNoSpace,
    RemoteNotFound,
    RemotePermissionDenied,
    SftpError,
    SftpSession,
    UploadResult,
    _SftpStatus,
    host_key_fingerprint,
    open_sftp,
)


@pytest.fixture(scope="module")
def server() -> Iterator[OpenSshSftpServer]:
    with OpenSshSftpServer() as running:
        yield running


@pytest.fixture
def sftp(server: OpenSshSftpServer) -> Iterator[SftpSession]:
    with open_sftp(server.settings()) as session:
        yield session


@pytest.fixture
def area(server: OpenSshSftpServer, request: pytest.FixtureRequest) -> str:
    """A fresh upload directory for this test, `in/<test name>`."""
    name = re.sub(r"\W+", "_", request.node.name).strip("_")
    directory = server.local(f"in/{name}")
    directory.mkdir(mode=0o755)
    os.chown(directory, server.uid, server.gid)
    return f"in/{name}"


def batch_files() -> list[tuple[str, bytes]]:
    return [
        ("0001.pdf", os.urandom(300_000)),
        ("0002.pdf", os.urandom(300_000)),
        ("manifest.xml", b'<?xml version="1.0"?><batch documents="2"/>'),
    ]


def assert_one_complete_copy(server: OpenSshSftpServer, final: str, files: list[tuple[str, bytes]]) -> None:
    committed = server.local(final)
    assert [path.name for path in committed.parent.iterdir() if path.name.startswith(committed.name)] == [
        committed.name
    ]  # no `.part` left, no second copy
    assert sorted(path.name for path in committed.iterdir()) == sorted(name for name, _ in files)
    for name, data in files:
        assert (committed / name).read_bytes() == data


# ---- atomic uploads ----------------------------------------------------------------------------------


def test_upload_directory_atomically_commits_the_batch_under_its_final_name(
    server: OpenSshSftpServer, sftp: SftpSession, area: str
) -> None:
    files = batch_files()

    result = sftp.upload_directory_atomically(f"{area}/batch-0001", files)

    total = sum(len(data) for _, data in files)
    assert result == UploadResult(f"{area}/batch-0001", already_committed=False, bytes_written=total, files=3)
    assert_one_complete_copy(server, f"{area}/batch-0001", files)
    assert server.local(f"{area}/batch-0001/0001.pdf").stat().st_uid == server.uid  # written by the user


def test_upload_file_atomically_commits_one_file(
    server: OpenSshSftpServer, sftp: SftpSession, area: str
) -> None:
    data = os.urandom(70_000)

    result = sftp.upload_file_atomically(f"{area}/invoice-17.pdf", data)

    assert result == UploadResult(
        f"{area}/invoice-17.pdf", already_committed=False, bytes_written=70_000, files=1
    )
    assert [path.name for path in server.local(area).iterdir()] == ["invoice-17.pdf"]
    assert server.local(f"{area}/invoice-17.pdf").read_bytes() == data


def test_an_upload_after_the_commit_writes_nothing(
    server: OpenSshSftpServer, sftp: SftpSession, area: str
) -> None:
    files = batch_files()
    sftp.upload_directory_atomically(f"{area}/batch", files)
    sftp.upload_file_atomically(f"{area}/single.pdf", b"first")
    before = {path: path.stat().st_mtime_ns for path in server.local(area).rglob("*")}

    again = sftp.upload_directory_atomically(f"{area}/batch", [("other.pdf", b"second")])
    single = sftp.upload_file_atomically(f"{area}/single.pdf", b"second")

    assert again == UploadResult(f"{area}/batch", already_committed=True, bytes_written=0, files=0)
    assert single.already_committed and single.bytes_written == 0
    assert {path: path.stat().st_mtime_ns for path in server.local(area).rglob("*")} == before
    assert server.local(f"{area}/single.pdf").read_bytes() == b"first"
    assert_one_complete_copy(server, f"{area}/batch", files)


def test_a_leftover_part_of_either_kind_is_removed_before_writing(
    server: OpenSshSftpServer, sftp: SftpSession, area: str
) -> None:
    server.put_file(f"{area}/batch.part", b"a file where the directory will go")
    server.put_file(f"{area}/single.pdf.part/stale.pdf", b"a directory where the file will go")
    files = batch_files()

    sftp.upload_directory_atomically(f"{area}/batch", files)
    sftp.upload_file_atomically(f"{area}/single.pdf", b"fresh")

    assert sorted(path.name for path in server.local(area).iterdir()) == ["batch", "single.pdf"]
    assert server.local(f"{area}/single.pdf").read_bytes() == b"fresh"
    assert sorted(path.name for path in server.local(f"{area}/batch").iterdir()) == sorted(
        n for n, _ in files
    )


def test_a_dropped_connection_then_a_retry_leaves_exactly_one_complete_copy(
    server: OpenSshSftpServer, area: str
) -> None:
    files = batch_files()
    final = f"{area}/batch"
    with DroppingProxy(server.port, drop_connections=1, after_client_bytes=250_000) as proxy:
        settings = server.settings(port=proxy.port)
        with open_sftp(settings) as session, pytest.raises(ConnectionLost) as lost:
            session.upload_directory_atomically(final, files)
        assert lost.value.transient and proxy.dropped == 1
        server.wait_for_no_sessions()  # the dropped session's sshd has finished with the .part
        assert not server.local(final).exists()
        [part] = server.local(area).glob("batch.*.part")  # cut in the middle of the batch
        assert sum(path.stat().st_size for path in part.iterdir()) < sum(len(data) for _, data in files)

        with open_sftp(settings) as session:
            retried = session.upload_directory_atomically(final, files)
            again = session.upload_directory_atomically(final, files)

    assert not retried.already_committed and retried.files == 3
    assert again.already_committed
    assert proxy.connections == 2
    assert_one_complete_copy(server, final, files)


def test_a_stalled_connection_times_out_as_connection_lost(server: OpenSshSftpServer, area: str) -> None:
    with DroppingProxy(server.port, after_client_bytes=150_000, mode="stall") as proxy:
        settings = server.settings(port=proxy.port, operation_timeout_seconds=0.5)
        started = time.monotonic()
        with open_sftp(settings) as session, pytest.raises(ConnectionLost, match="timed out") as lost:
            session.upload_file_atomically(f"{area}/slow.pdf", os.urandom(2_000_000))
        assert time.monotonic() - started < 5
        assert lost.value.transient
        with pytest.raises(ConnectionLost, match="closed"):  # a session that lost its stream is not reused
            session.exists(area)
    assert not server.local(f"{area}/slow.pdf").exists()


# ---- logging in --------------------------------------------------------------------------------------


def test_password_login(server: OpenSshSftpServer) -> None:
    with open_sftp(server.settings(auth="password")) as session:
        assert [entry.name for entry in session.listdir("/")] == ["in", "out", "readonly"]


@pytest.mark.parametrize(
    ("key_type", "passphrase", "pem"),
    [
        ("ed25519", "", False),
        ("ed25519", "correct horse", False),
        ("ecdsa", "", True),
        ("rsa", "battery", True),
    ],
    ids=["ed25519", "ed25519-encrypted", "ecdsa-pem", "rsa-pem-encrypted"],
)
def test_key_login(
    server: OpenSshSftpServer, tmp_path: Path, key_type: str, passphrase: str, pem: bool
) -> None:
    key_path = tmp_path / f"id_{key_type}"
    server.authorize_key(generate_key(key_path, key_type, passphrase=passphrase, pem=pem))
    settings = server.settings(private_key=key_path.read_text(), private_key_passphrase=passphrase or None)

    with open_sftp(settings) as session:
        assert session.is_dir("out/archive")


def test_a_wrong_password_is_refused_for_good(server: OpenSshSftpServer) -> None:
    wrong = f"not-it-{secrets.token_hex(8)}"

    with pytest.raises(AuthenticationRefused) as refused:
        open_sftp(server.settings(auth="password", password=wrong))

    assert not refused.value.transient
    assert "password refused" in str(refused.value)
    assert wrong not in str(refused.value)


def test_an_unauthorized_key_and_a_wrong_password_are_both_reported(
    server: OpenSshSftpServer, tmp_path: Path
) -> None:
    generate_key(tmp_path / "stranger")
    settings = server.settings(private_key=(tmp_path / "stranger").read_text(), password="nope-nope")

    with pytest.raises(AuthenticationRefused, match=r"key ssh-ed25519 SHA256:\S+ refused; password refused"):
        open_sftp(settings)


def test_a_changed_host_key_is_refused_before_any_credential_is_sent(server: OpenSshSftpServer) -> None:
    with server.twin_with_other_host_key() as twin:
        with pytest.raises(HostKeyRefused) as refused:
            open_sftp(server.settings(auth="both", port=twin.port))
        twin.wait_for_no_sessions()  # the refused connection's sshd process has ended, its log is complete
        log_after_refusal = twin.log()

        with open_sftp(twin.settings(auth="both")):  # with its own key pinned, the twin takes this login
            pass
        twin_fingerprint = host_key_fingerprint(twin.settings().pinned_key_blob)
        twin_log = twin.log()

    error = refused.value
    assert not error.transient
    assert error.offered_type == error.expected_type == "ssh-ed25519"
    assert error.expected_fingerprint == host_key_fingerprint(server.settings().pinned_key_blob)
    assert error.offered_fingerprint == twin_fingerprint
    assert error.offered_fingerprint in str(error) and error.expected_fingerprint in str(error)
    assert "userauth-request" not in log_after_refusal  # sshd never saw a user name, key or password
    assert "userauth-request" in twin_log
    assert server.password not in str(error)


def test_an_unknown_host_key_type_is_refused(server: OpenSshSftpServer, tmp_path: Path) -> None:
    pinned = " ".join(generate_key(tmp_path / "other", "ecdsa").split()[:2])

    with pytest.raises(HostKeyRefused) as refused:
        open_sftp(server.settings(host_key=pinned))

    assert refused.value.offered_type == "ssh-ed25519"
    assert refused.value.expected_type == "ecdsa-sha2-nistp256"
    assert "offered host key ssh-ed25519 SHA256:" in str(refused.value)


def test_the_pinned_key_is_the_one_asked_for_when_the_server_has_several(tmp_path: Path) -> None:
    with OpenSshSftpServer(host_key_types=("ed25519", "rsa")) as server:
        for key_type in ("rsa", "ed25519"):  # paramiko alone would always ask for ed25519
            with open_sftp(server.settings(host_key=server.pinned_host_key(key_type))) as session:
                assert session.is_dir("in")


def test_connection_failures_are_transient(server: OpenSshSftpServer) -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # accepts (backlog) but never says a word
        port = silent.getsockname()[1]
        started = time.monotonic()
        with pytest.raises(ConnectionLost, match="timed out") as silence:
            open_sftp(server.settings(port=port, connect_timeout_seconds=0.3))
        assert time.monotonic() - started < 3
    with pytest.raises(ConnectionLost, match="refused") as closed:
        open_sftp(server.settings(port=port))
    assert silence.value.transient and closed.value.transient


# ---- server-side refusals ----------------------------------------------------------------------------


def test_writing_where_the_user_may_not_is_permission_denied(
    server: OpenSshSftpServer, sftp: SftpSession
) -> None:
    with pytest.raises(RemotePermissionDenied) as denied:
        sftp.upload_file_atomically("readonly/invoice.pdf", b"%PDF-1.7")
    with pytest.raises(RemotePermissionDenied):
        sftp.upload_directory_atomically("readonly/batch", [("a.pdf", b"%PDF")])

    assert not denied.value.transient
    assert re.search(r"'readonly/invoice\.pdf\.[0-9a-f]{8}\.part'", str(denied.value))
    assert sorted(path.name for path in server.local("readonly").iterdir()) == ["terms.txt"]
    assert sftp.read("readonly/terms.txt", 1000).startswith(b"the print house's terms")


@pytest.mark.parametrize("fallback", [False, True], ids=["tmpfs-under-sshd", "asyncssh-quota"])
def test_a_full_disk_is_a_transient_error_and_the_retry_cleans_up(
    server: OpenSshSftpServer, fallback: bool
) -> None:
    with server.small_disk(256 * 1024, force_fallback=fallback) as disk, open_sftp(disk.settings) as session:
        final = f"{disk.directory}/batch"
        with pytest.raises((RemoteNoSpace, RemoteError)) as full:
            session.upload_directory_atomically(final, [("big.pdf", os.urandom(600_000))])
        assert isinstance(full.value, SftpError) and full.value.transient
        if disk.kind == "asyncssh-quota":  # says so
            assert isinstance(full.value, RemoteNoSpace)
        else:  # OpenSSH answers the WRITE with a bare SSH_FX_FAILURE (paramiko alone would drop that reply)
            assert "server says 'Failure'" in str(full.value)
        assert not (disk.local_directory / "batch").exists()
        [part] = disk.local_directory.glob("batch.*.part")
        assert part.is_dir()

        files = [("small.pdf", b"%PDF-1.7 fits")]
        assert not session.upload_directory_atomically(final, files).already_committed

        assert sorted(path.name for path in disk.local_directory.iterdir()) == ["batch"]
        assert (disk.local_directory / "batch" / "small.pdf").read_bytes() == b"%PDF-1.7 fits"


def test_missing_paths_are_not_found(sftp: SftpSession, area: str) -> None:
    assert not sftp.exists(f"{area}/nothing") and not sftp.is_dir(f"{area}/nothing")
    with pytest.raises(RemoteNotFound) as missing:
        sftp.read(f"{area}/nothing.xml", 1000)
    with pytest.raises(RemoteNotFound):
        sftp.upload_file_atomically(f"{area}/no-such-dir/invoice.pdf", b"%PDF")
    with pytest.raises(RemoteNotFound):
        sftp.listdir(f"{area}/nothing")
    assert not missing.value.transient


# ---- reading return files ----------------------------------------------------------------------------


def test_listdir_read_and_move_into_the_archive(
    server: OpenSshSftpServer, sftp: SftpSession, area: str
) -> None:
    outgoing = area.replace("in/", "out/", 1)
    server.put_file(f"{outgoing}/status-2.xml", b"<status n='2'/>")
    server.put_file(f"{outgoing}/status-1.xml", b"<status n='1'/>")
    server.put_file(f"{outgoing}/sub/ignored.txt", b"")
    archive = f"out/archive/{area.rsplit('/', 1)[1]}"
    server.put_file(f"{archive}/status-1.xml", b"<status n='1' earlier='yes'/>")

    entries = sftp.listdir(outgoing)
    assert [(entry.name, entry.is_dir) for entry in entries] == [
        ("status-1.xml", False),
        ("status-2.xml", False),
        ("sub", True),
    ]
    assert entries[0].size == len(b"<status n='1'/>")
    assert entries[0].mtime is not None and abs(entries[0].mtime.timestamp() - time.time()) < 60
    assert sftp.read(f"{outgoing}/status-1.xml", 1000) == b"<status n='1'/>"

    first = sftp.move_into(f"{outgoing}/status-1.xml", archive)
    second = sftp.move_into(f"{outgoing}/status-2.xml", f"{archive}/2024")  # made on the way

    assert first == f"{archive}/status-1-1.xml"  # the name was taken: a suffix, never an overwrite
    assert second == f"{archive}/2024/status-2.xml"
    assert server.local(f"{archive}/status-1.xml").read_bytes() == b"<status n='1' earlier='yes'/>"
    assert server.local(first).read_bytes() == b"<status n='1'/>"
    assert [entry.name for entry in sftp.listdir(outgoing)] == ["sub"]
    server.put_file(f"{outgoing}/status-1.xml", b"<status n='1' again='yes'/>")
    assert sftp.move_into(f"{outgoing}/status-1.xml", archive) == f"{archive}/status-1-2.xml"


def test_read_refuses_a_file_over_max_bytes(server: OpenSshSftpServer, sftp: SftpSession, area: str) -> None:
    server.put_file(f"{area}/huge.xml", b"x" * 5000)

    with pytest.raises(RemoteFileTooLarge, match="5000 bytes") as too_large:
        sftp.read(f"{area}/huge.xml", max_bytes=4999)

    assert not too_large.value.transient
    assert sftp.read(f"{area}/huge.xml", max_bytes=5000) == b"x" * 5000
    assert sftp.read(f"{area}/huge.xml", max_bytes=5000) == server.local(f"{area}/huge.xml").read_bytes()


def test_file_operations(server: OpenSshSftpServer, sftp: SftpSession, area: str) -> None:
    sftp.makedirs(f"{area}/a/b/c")
    sftp.makedirs(f"{area}/a/b/c")  # already there: fine
    sftp.write(f"{area}/a/b/c/one.txt", b"1")
    sftp.write(f"{area}/a/two.txt", b"2")
    sftp.write(f"{area}/a/three.txt", b"3")
    assert sftp.is_dir(f"{area}/a/b") and not sftp.is_dir(f"{area}/a/two.txt")
    with pytest.raises(RemoteError, match="not a directory") as not_a_directory:
        sftp.makedirs(f"{area}/a/two.txt/x")
    assert not not_a_directory.value.transient

    sftp.rename(f"{area}/a/two.txt", f"{area}/a/three.txt")  # posix-rename: replaces, atomically
    assert server.local(f"{area}/a/three.txt").read_bytes() == b"2"
    sftp.remove(f"{area}/a/three.txt")
    sftp.remove_tree(f"{area}/a")
    assert not sftp.exists(f"{area}/a") and list(server.local(area).iterdir()) == []


def test_rename_falls_back_to_the_plain_rename_where_posix_rename_is_unsupported(
    server: OpenSshSftpServer,
) -> None:
    calls: list[str] = []

    class Client:  # a server without posix-rename@openssh.com, as paramiko would report it
        def posix_rename(self, src: str, dst: str) -> None:
            calls.append("posix_rename")
            raise _SftpStatus(SFTP_OP_UNSUPPORTED, "Operation unsupported")

        def rename(self, src: str, dst: str) -> None:
            calls.append("rename")

        def close(self) -> None:
            pass

    class Transport:
        def is_active(self) -> bool:
            return True

        def close(self) -> None:
            pass

    session = SftpSession(server.settings(), Transport(), Client())  # type: ignore[arg-type]
    session.rename("a", "b")
    session.rename("c", "d")

    assert calls == ["posix_rename", "rename", "rename"]  # asked once, then remembered


def test_a_late_uploader_never_replaces_a_committed_batch(server: OpenSshSftpServer, area: str) -> None:
    """A stalled try (its lease ran out) wakes up beside the try that replaced it: one commit only."""
    final = f"{area}/batch"
    late_files = [("a.pdf", b"%PDF-1.7 late try")]
    with open_sftp(server.settings()) as late, open_sftp(server.settings()) as successor:
        part = late._fresh_part(final)
        late.makedirs(part)
        late.write(f"{part}/a.pdf", late_files[0][1])
        files = batch_files()
        committed = successor.upload_directory_atomically(final, files)
        assert not committed.already_committed
        assert late._commit(part, final) is False  # the plain rename refuses the committed name
    assert_one_complete_copy(server, final, files)
    assert not list(server.local(area).glob("batch.*.part"))


def test_upload_arguments_are_checked(sftp: SftpSession, area: str) -> None:
    for bad_files in ([], [("a/b.pdf", b"")], [("..", b"")], [("a.pdf", b""), ("a.pdf", b"")]):
        with pytest.raises(ValueError, match="file"):
            sftp.upload_directory_atomically(f"{area}/batch", bad_files)
    with pytest.raises(ValueError, match="final_path"):
        sftp.upload_file_atomically(f"{area}/x.part", b"")


# ---- secrets -----------------------------------------------------------------------------------------


def test_secrets_never_appear_in_errors_or_reprs(server: OpenSshSftpServer, tmp_path: Path) -> None:
    password = f"pw-{secrets.token_hex(12)}"
    passphrase = f"pp-{secrets.token_hex(12)}"
    generate_key(tmp_path / "stranger", passphrase=passphrase)
    private_key = (tmp_path / "stranger").read_text()
    unknown_host_key = " ".join(generate_key(tmp_path / "unknown-host").split()[:2])
    settings = server.settings(private_key=private_key, private_key_passphrase=passphrase, password=password)
    secret_texts = [password, passphrase, *private_key.splitlines()[1:-1]]
    errors: list[BaseException] = []

    for attempt in (
        lambda: open_sftp(settings),  # key and password refused
        lambda: open_sftp(SftpSettings(**{**settings.model_dump(), "host_key": unknown_host_key})),
        lambda: open_sftp(settings.model_copy(update={"port": 1})),
        lambda: SftpSettings(
            **{**settings.model_dump(), "private_key": private_key, "private_key_passphrase": "x"}
        ),
        lambda: SftpSettings(**{**settings.model_dump(), "host_key": password}),
    ):
        with pytest.raises((SftpError, ValidationError)) as caught:
            attempt()
        errors.append(caught.value)
    with open_sftp(server.settings(auth="both", password=password)) as session:
        for attempt in (
            lambda: session.write(f"readonly/{password}", b""),
            lambda: session.read(f"in/{password}", 10),
        ):
            with pytest.raises(SftpError) as caught:
                attempt()
            errors.append(caught.value)

    assert [type(error).__name__ for error in errors] == [
        "AuthenticationRefused",
        "HostKeyRefused",
        "ConnectionLost",
        "ValidationError",
        "ValidationError",
        "RemotePermissionDenied",
        "RemoteNotFound",
    ]
    assert "private_key_passphrase does not decrypt private_key" in str(errors[3])
    for error in errors:
        for text in (str(error), repr(error)):
            assert not any(secret in text for secret in secret_texts), text
    assert "***" in str(errors[-1])  # a path that happens to hold the password is masked
    assert not any(secret in repr(settings) or secret in str(settings) for secret in secret_texts)


# ---- settings ----------------------------------------------------------------------------------------


def test_settings_accept_a_pinned_key_or_a_known_hosts_line(server: OpenSshSftpServer) -> None:
    key_type, encoded = server.host_key.split()
    base = {"host": "sftp.example", "username": "u", "password": "p"}

    plain = SftpSettings(**base, host_key=f"{key_type} {encoded}")
    known_hosts = SftpSettings(**base, host_key=f"[sftp.example]:2222,10.0.0.1 {key_type} {encoded} comment")

    assert plain.host_key == known_hosts.host_key == f"{key_type} {encoded}"
    assert plain.port == 22 and plain.pinned_key_type == "ssh-ed25519"


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"host_key": "AAAAC3NzaC1lZDI1NTE5AAAAI"}, "host_key must be"),
        ({"host_key": "ssh-ed25519 not*base64"}, "not valid base64"),
        (
            {"host_key": "ssh-rsa AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"},
            "not an ssh-rsa",
        ),
        ({"host_key": "@revoked * ssh-ed25519 AAAA"}, "markers"),
        ({"password": None}, "set password or private_key"),
        ({"private_key_passphrase": "x"}, "private_key_passphrase is set but private_key is not"),
        ({"private_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nnonsense\n"}, "not an OpenSSH or PEM"),
        ({"port": 0}, "port"),
        ({"surprise": 1}, "surprise"),
    ],
)
def test_settings_are_validated(server: OpenSshSftpServer, changes: dict[str, object], message: str) -> None:
    values: dict[str, object] = {"host": "h", "username": "u", "password": "p", "host_key": server.host_key}
    values.update(changes)
    with pytest.raises(ValidationError, match=message):
        SftpSettings(**values)
