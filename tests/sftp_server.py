"""A real SFTP server for tests: Debian's OpenSSH sshd (internal-sftp, chrooted) on a free loopback port.

    with OpenSshSftpServer() as server:
        with open_sftp(server.settings()) as sftp:                # key auth; auth="password" / "both"
            sftp.upload_directory_atomically("in/batch-1", files)
        (server.chroot / "in" / "batch-1").iterdir()              # what "the print house" sees

Layout (everything on 127.0.0.1, nothing ever leaves the machine):

    client ──▶ [DroppingProxy] ──▶ sshd -D -e (server.port; own config, own ed25519 host key)
                                     └─ ChrootDirectory server.chroot, ForceCommand internal-sftp, user
                                        `gateway-sftp`: in/ out/ out/archive/ (the user's), readonly/ (root's)

Each server lives in a fresh 0755 directory under /var/lib/gateway-sftp-test: sshd refuses a chroot below
a group- or world-writable directory such as /tmp (and so below pytest's tmp_path). The log (sshd at
LogLevel DEBUG1, so every `userauth-request` shows) is `server.log()`.

Because root ignores file permissions, the server's user is a dedicated unprivileged system user
(`gateway-sftp`, created once). Its password is random, made once per machine and kept root-only in
/var/lib/gateway-sftp-test/password (re-applied with chpasswd on every start): a fresh password per run
would break the password logins of a test run going on at the same time.

Faults, all on the real protocol:
* `DroppingProxy`: a loopback TCP proxy that cuts its first N connections after M client→server bytes.
* `server.small_disk()`: a 256 KiB tmpfs mounted inside the chroot, so the real sshd hits ENOSPC; where
  mounting is not permitted, an asyncssh SFTP server with a quota that answers "No space left on device".
* `server.twin_with_other_host_key()`: a second sshd, same chroot and user, different host key.

OpenSSH is installed from Debian's packages if it is missing (root only); a failure to install or start
fails the test with the reason (and sshd's output) rather than skipping it.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import pwd
import secrets
import select
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal

import pytest

from schemas.sftp import SftpSettings

SSHD = Path("/usr/sbin/sshd")
SSH_KEYGEN = "ssh-keygen"
PRIVILEGE_SEPARATION_DIRECTORY = Path("/run/sshd")
STATE_DIRECTORY = Path("/var/lib/gateway-sftp-test")
TEST_USER = "gateway-sftp"
STALE_AFTER_SECONDS = 3600


# ---- one-time machine set-up -------------------------------------------------------------------------


def _run(command: list[str], *, stdin: str | None = None, timeout: float = 60) -> str:
    try:
        result = subprocess.run(
            command, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        pytest.fail(f"{' '.join(command)} failed: {exc}")
    if result.returncode != 0:
        pytest.fail(f"{' '.join(command)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def ensure_openssh_installed() -> None:
    """Install Debian's openssh-server non-interactively if sshd is missing; fail (never skip) if
    impossible. The package's own system sshd is not needed; this rig starts private instances."""
    if SSHD.exists() and shutil.which(SSH_KEYGEN):
        return
    if os.geteuid() != 0:
        pytest.fail(f"{SSHD} is missing and installing it needs root: apt-get install openssh-server")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "openssh-server"]):
        try:
            result = subprocess.run(
                command, env=env, capture_output=True, text=True, timeout=600, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.fail(f"installing openssh-server: {' '.join(command)} failed: {exc}")
        if result.returncode != 0:
            pytest.fail(
                f"installing openssh-server: {' '.join(command)} exited {result.returncode}:\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            )
    if not SSHD.exists():
        pytest.fail(f"apt-get install openssh-server succeeded but {SSHD} is still missing")


def ensure_test_user() -> tuple[int, int, str]:
    """(uid, gid, password) of the dedicated unprivileged login user, created and unlocked if needed."""
    if os.geteuid() != 0:
        pytest.fail("the SFTP test server needs root: it runs sshd, chroots and adds a system user")
    STATE_DIRECTORY.mkdir(mode=0o755, parents=True, exist_ok=True)
    try:
        entry = pwd.getpwnam(TEST_USER)
    except KeyError:
        result = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--home-dir", "/nonexistent",
             "--shell", "/usr/sbin/nologin", TEST_USER],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        if result.returncode not in (0, 9):  # 9: made meanwhile by a test run going on at the same time
            pytest.fail(f"useradd {TEST_USER} exited {result.returncode}: {result.stderr}")
        entry = pwd.getpwnam(TEST_USER)
    password = _machine_password()
    _run(["chpasswd"], stdin=f"{TEST_USER}:{password}\n")  # the same value every time: idempotent
    return entry.pw_uid, entry.pw_gid, password


def _machine_password() -> str:
    path = STATE_DIRECTORY / "password"
    if not path.exists():
        draft = STATE_DIRECTORY / f".password.{os.getpid()}"
        draft.write_text(secrets.token_urlsafe(24))
        draft.chmod(0o600)
        with contextlib.suppress(FileExistsError):  # another run was first: use its password
            os.link(draft, path)
        draft.unlink()
    return path.read_text().strip()


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def generate_key(path: Path, key_type: str = "ed25519", *, passphrase: str = "", pem: bool = False) -> str:
    """Make a key pair with ssh-keygen; returns the public key line ("<type> <base64> <comment>")."""
    command = [SSH_KEYGEN, "-q", "-t", key_type, "-N", passphrase, "-C", f"gateway-test-{key_type}", "-f"]
    if pem:
        command[2:2] = ["-m", "PEM"]
    _run([*command, str(path)])
    return path.with_name(path.name + ".pub").read_text().strip()


# ---- process and mount housekeeping ------------------------------------------------------------------


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, IndexError, ValueError):
                parent = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                parents.setdefault(parent, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        for child in parents.get(queue.pop(), []):
            found.append(child)
            queue.append(child)
    return found


def _end_processes(pids: list[int], timeout: float = 5) -> None:
    """SIGTERM these (and only these) processes, SIGKILL what is left after `timeout`."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout
    remaining = [pid for pid in pids if _alive(pid)]
    while remaining and time.monotonic() < deadline:
        time.sleep(0.02)
        remaining = [pid for pid in remaining if _alive(pid)]
    for pid in remaining:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)


def _mounts_below(directory: Path) -> list[Path]:
    prefix = str(directory.resolve()) + "/"
    found = []
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            target = line.split()[1].replace("\\040", " ")
            if target.startswith(prefix):
                found.append(Path(target))
    return sorted(found, key=lambda path: len(path.parts), reverse=True)


def _unmount(target: Path) -> None:
    result = subprocess.run(["umount", str(target)], capture_output=True, text=True, timeout=30, check=False)
    if result.returncode != 0:  # still busy (a session that has not ended yet): detach it lazily
        subprocess.run(["umount", "-l", str(target)], capture_output=True, timeout=30, check=False)


def _remove_run_directory(directory: Path) -> None:
    for target in _mounts_below(directory):
        _unmount(target)
    shutil.rmtree(directory, ignore_errors=True)


def _sweep_stale_runs() -> None:
    """Remove what crashed runs left behind: old run directories whose sshd is gone (and their mounts)."""
    with contextlib.suppress(OSError):
        for directory in STATE_DIRECTORY.glob("run-*"):
            if time.time() - directory.stat().st_mtime < STALE_AFTER_SECONDS:
                continue
            with contextlib.suppress(OSError, ValueError):
                if _alive(int((directory / "sshd.pid").read_text().strip())):
                    continue
            _remove_run_directory(directory)


# ---- the server --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DiskFullTarget:
    """Where uploads run out of space: `directory` (remote) on the server `settings` log in to."""

    settings: SftpSettings
    directory: str
    local_directory: Path
    kind: Literal["tmpfs", "asyncssh-quota"]
    size_bytes: int


class OpenSshSftpServer:
    """A private sshd serving internal-sftp, chrooted, for the unprivileged `gateway-sftp` user.

    Construct, then use as a context manager (or call `start()` / `stop()`). `chroot` is the local path of
    the user's `/`; `settings()` gives client settings with the pinned host key.
    """

    def __init__(
        self,
        *,
        host_key_types: tuple[str, ...] = ("ed25519",),
        chroot: Path | None = None,
        client_key: Path | None = None,
    ) -> None:
        self.host_key_types = host_key_types
        self._base: Path | None = None
        self._given_chroot = chroot
        self._given_client_key = client_key
        self.port = 0
        self.uid = self.gid = -1
        self.password = ""
        self._process: subprocess.Popen[bytes] | None = None
        self._small_disks = 0

    # ---- paths ----

    @property
    def base(self) -> Path:
        """This server's own directory (configuration, keys, log, and the chroot unless one was given)."""
        if self._base is None:
            raise RuntimeError("the server has not been started")
        return self._base

    @property
    def chroot(self) -> Path:
        return self._given_chroot or self.base / "chroot"

    @property
    def config_path(self) -> Path:
        return self.base / "sshd_config"

    @property
    def log_path(self) -> Path:
        return self.base / "sshd.log"

    def host_key_path(self, key_type: str | None = None) -> Path:
        return self.base / f"ssh_host_{key_type or self.host_key_types[0]}_key"

    @property
    def client_key_path(self) -> Path:
        return self._given_client_key or self.base / "client_ed25519"

    @property
    def authorized_keys_path(self) -> Path:
        return self.base / "authorized_keys"

    @property
    def host_key(self) -> str:
        """The first host key in its pinned form: "ssh-ed25519 <base64>"."""
        return self.pinned_host_key(self.host_key_types[0])

    def pinned_host_key(self, key_type: str) -> str:
        """One of the host keys ("ed25519", "rsa", "ecdsa") as "<keytype> <base64>"."""
        key_type_name, encoded = self.host_key_path(key_type).with_suffix(".pub").read_text().split()[:2]
        return f"{key_type_name} {encoded}"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else "(no sshd log)"

    def settings(self, *, auth: Literal["key", "password", "both"] = "key", **overrides: Any) -> SftpSettings:
        """Client settings for this server; `overrides` win (e.g. `port=proxy.port`)."""
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "username": TEST_USER,
            "host_key": self.host_key,
            "connect_timeout_seconds": 10,
            "operation_timeout_seconds": 20,
        }
        if auth in ("key", "both"):
            values["private_key"] = self.client_key_path.read_text()
        if auth in ("password", "both"):
            values["password"] = self.password
        values.update(overrides)
        return SftpSettings(**values)

    def local(self, remote_path: str) -> Path:
        """The local path of a remote one (what the print house sees on its disk)."""
        return self.chroot / remote_path.lstrip("/")

    def put_file(self, remote_path: str, data: bytes) -> Path:
        """Put a file where the user sees `remote_path`, as the print house would (owned by the user)."""
        path = self.local(remote_path)
        for directory in reversed([path.parent, *path.parent.parents]):
            if directory.is_relative_to(self.chroot) and directory != self.chroot and not directory.exists():
                directory.mkdir(mode=0o755)
                os.chown(directory, self.uid, self.gid)
        path.write_bytes(data)
        os.chown(path, self.uid, self.gid)
        return path

    def authorize_key(self, public_key_line: str) -> None:
        """Let another client key log in (e.g. an RSA or ECDSA one)."""
        with self.authorized_keys_path.open("a") as keys:
            keys.write(public_key_line.strip() + "\n")

    # ---- life cycle ----

    def __enter__(self) -> OpenSshSftpServer:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def start(self) -> None:
        ensure_openssh_installed()
        self.uid, self.gid, self.password = ensure_test_user()
        PRIVILEGE_SEPARATION_DIRECTORY.mkdir(mode=0o755, parents=True, exist_ok=True)
        _sweep_stale_runs()
        self._base = Path(tempfile.mkdtemp(prefix="run-", dir=STATE_DIRECTORY))
        try:
            self.base.chmod(0o755)  # the user reads authorized_keys here
            for key_type in self.host_key_types:
                generate_key(self.host_key_path(key_type), key_type)
            if self._given_client_key is None:
                generate_key(self.client_key_path)
            self.authorized_keys_path.write_text(self.client_key_path.with_suffix(".pub").read_text())
            self.authorized_keys_path.chmod(0o644)
            if self._given_chroot is None:
                self._make_chroot()
            self._launch()
        except BaseException:
            self.stop()
            raise

    def _make_chroot(self) -> None:
        self.chroot.mkdir(mode=0o755)  # root's, not group/other-writable: sshd's rule for a chroot
        for name in ("in", "out", "out/archive"):
            directory = self.chroot / name
            directory.mkdir(mode=0o755)
            os.chown(directory, self.uid, self.gid)
        readonly = self.chroot / "readonly"
        readonly.mkdir(mode=0o755)
        (readonly / "terms.txt").write_text("the print house's terms; the user may read, not write\n")

    def sshd_config(self) -> str:
        settings = [
            ("Port", str(self.port)),
            ("ListenAddress", "127.0.0.1"),
            ("PidFile", str(self.base / "sshd.pid")),
            ("AuthorizedKeysFile", str(self.authorized_keys_path)),
            ("StrictModes", "no"),
            ("UsePAM", "no"),
            ("PasswordAuthentication", "yes"),
            ("PubkeyAuthentication", "yes"),
            ("KbdInteractiveAuthentication", "no"),
            ("PermitRootLogin", "no"),
            ("AllowUsers", TEST_USER),
            ("UseDNS", "no"),
            ("LogLevel", "DEBUG1"),
            ("MaxStartups", "100:30:200"),
            ("LoginGraceTime", "30"),
            ("X11Forwarding", "no"),
            ("AllowTcpForwarding", "no"),
            ("AllowAgentForwarding", "no"),
            ("PermitTunnel", "no"),
            ("ChrootDirectory", str(self.chroot)),
            ("ForceCommand", "internal-sftp"),
            ("Subsystem", "sftp internal-sftp"),
        ]
        host_keys = [("HostKey", str(self.host_key_path(key_type))) for key_type in self.host_key_types]
        return "".join(f"{name} {value}\n" for name, value in [*host_keys, *settings])

    def _launch(self) -> None:
        problems = []
        for _ in range(3):  # a free port can be taken between the probe and sshd's bind
            self.port = free_port()
            self.config_path.write_text(self.sshd_config())
            _run([str(SSHD), "-t", "-f", str(self.config_path)])
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    [str(SSHD), "-D", "-e", "-f", str(self.config_path)],
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=log,
                )
            outcome = self._wait_listening(timeout=10)
            if outcome == "listening":
                return
            problems.append(outcome)
            self._stop_process()
            if outcome != "port taken":
                break
        pytest.fail(f"sshd did not start ({'; '.join(problems)}):\n{self.log()[-6000:]}")

    def _wait_listening(self, timeout: float) -> str:
        assert self._process is not None
        expected = f"Server listening on 127.0.0.1 port {self.port}"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            log = self.log()
            if expected in log:
                return "listening"
            if self._process.poll() is not None:
                return (
                    "port taken" if "Address already in use" in log else f"exited {self._process.returncode}"
                )
            time.sleep(0.01)
        return f"not listening on port {self.port} after {timeout} s"

    def active_sessions(self) -> list[int]:
        """The pids of sshd's per-connection processes (none when every client has gone)."""
        return _descendants(self._process.pid) if self._process is not None else []

    def wait_for_no_sessions(self, timeout: float = 10) -> None:
        """Wait until every connection's sshd process has ended (e.g. after a dropped connection)."""
        deadline = time.monotonic() + timeout
        while self.active_sessions():
            if time.monotonic() > deadline:
                pytest.fail(f"sshd sessions still running after {timeout} s:\n{self.log()[-3000:]}")
            time.sleep(0.02)

    def _stop_process(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        sessions = _descendants(process.pid)  # before the listener goes: then they are reparented
        process.terminate()
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
        _end_processes([pid for pid in sessions if _alive(pid)])

    def stop(self) -> None:
        try:
            self._stop_process()
        finally:
            if self._base is not None:
                _remove_run_directory(self._base)

    # ---- faults ----

    def twin_with_other_host_key(self) -> OpenSshSftpServer:
        """A second server (not started) with the same chroot, user and client key but its own host key:
        what a client sees when "the same" server's key changes."""
        return OpenSshSftpServer(chroot=self.chroot, client_key=self.client_key_path)

    @contextlib.contextmanager
    def small_disk(
        self, size_bytes: int = 256 * 1024, *, force_fallback: bool = False
    ) -> Iterator[DiskFullTarget]:
        """A directory on a file system of `size_bytes`: a tmpfs mounted in the chroot (the real sshd hits
        ENOSPC), or, where mounting is not permitted, an asyncssh server with that quota."""
        self._small_disks += 1
        name = f"small-{self._small_disks}"
        local = self.chroot / name
        if not force_fallback and self._mount_tmpfs(local, size_bytes):
            try:
                yield DiskFullTarget(self.settings(), name, local, "tmpfs", size_bytes)
            finally:
                _unmount(local)
                local.rmdir()
            return
        root = self.base / f"quota-root-{self._small_disks}"
        (root / name).mkdir(parents=True)
        with QuotaSftpServer(root, size_bytes, self.client_key_path, self.password) as quota_server:
            yield DiskFullTarget(quota_server.settings(), name, root / name, "asyncssh-quota", size_bytes)

    def _mount_tmpfs(self, target: Path, size_bytes: int) -> bool:
        target.mkdir(mode=0o755)
        options = f"size={size_bytes},mode=0755,uid={self.uid},gid={self.gid}"
        result = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", options, "gateway-sftp-test", str(target)],
            capture_output=True, text=True, timeout=30, check=False,
        )  # fmt: skip
        if result.returncode == 0:
            return True
        target.rmdir()  # not permitted here (an unprivileged container): the caller falls back
        return False


# ---- fault: a connection that drops ------------------------------------------------------------------


class DroppingProxy:
    """A loopback TCP proxy in front of a server: forwards both ways, but each of its first
    `drop_connections` connections fails once `after_client_bytes` have gone client → server: both sockets
    are closed (`mode="close"`), or nothing more is forwarded either way until the proxy stops
    (`mode="stall"`, a black hole that only a timeout ends)."""

    def __init__(
        self,
        target_port: int,
        *,
        drop_connections: int = 1,
        after_client_bytes: int = 64 * 1024,
        mode: Literal["close", "stall"] = "close",
    ) -> None:
        self.target_port = target_port
        self.drop_connections = drop_connections
        self.after_client_bytes = after_client_bytes
        self.mode = mode
        self.port = 0
        self.connections = 0
        self.dropped = 0
        self._listener: socket.socket | None = None
        self._stopping = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def __enter__(self) -> DroppingProxy:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = int(self._listener.getsockname()[1])
        self._start_thread(self._accept_loop)
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self._stopping.set()
        for thread in list(self._threads):
            thread.join(timeout=10)
        if self._listener is not None:
            self._listener.close()

    def _start_thread(self, target: Any, *args: Any) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True, name="dropping-proxy")
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept_loop(self) -> None:
        assert self._listener is not None
        while not self._stopping.is_set():
            readable, _, _ = select.select([self._listener], [], [], 0.05)
            if not readable:
                continue
            client, _ = self._listener.accept()
            self.connections += 1
            drop = self.connections <= self.drop_connections
            try:
                upstream = socket.create_connection(("127.0.0.1", self.target_port), timeout=5)
            except OSError:
                client.close()
                continue
            self._start_thread(self._pump, client, upstream, drop)

    def _pump(self, client: socket.socket, upstream: socket.socket, drop: bool) -> None:
        forwarded = 0
        stalled = False
        try:
            while not self._stopping.is_set():
                readable, _, _ = select.select([client, upstream], [], [], 0.05)
                for source in readable:
                    data = source.recv(65536)
                    if not data:
                        return
                    if stalled:
                        continue
                    if source is upstream:
                        client.sendall(data)
                        continue
                    if drop:
                        data = data[: self.after_client_bytes - forwarded]
                    upstream.sendall(data)
                    forwarded += len(data)
                    if drop and forwarded >= self.after_client_bytes:
                        self.dropped += 1
                        if self.mode == "close":
                            return
                        stalled = True
        except OSError:
            return
        finally:
            for end in (client, upstream):
                with contextlib.suppress(OSError):
                    end.shutdown(socket.SHUT_RDWR)
                end.close()


# ---- fallback fault: an SFTP server with a quota (asyncssh) ------------------------------------------


class QuotaSftpServer:
    """An asyncssh SFTP server (own thread and event loop) whose writes fail once the files under `root`
    would exceed `quota_bytes`, with `SSH_FX_NO_SPACE_ON_FILESYSTEM` "No space left on device" (asyncssh
    sends it as `SSH_FX_FAILURE` to version 3 clients such as paramiko). Only for hosts where mounting a
    small tmpfs is not permitted; same user name, client key and password as the sshd rig."""

    def __init__(self, root: Path, quota_bytes: int, client_key: Path, password: str) -> None:
        self.root = root
        self.quota_bytes = quota_bytes
        self.client_key = client_key
        self.password = password
        self.port = 0
        self.host_key = ""
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._failure: BaseException | None = None

    def settings(self, **overrides: Any) -> SftpSettings:
        values: dict[str, Any] = {
            "host": "127.0.0.1",
            "port": self.port,
            "username": TEST_USER,
            "host_key": self.host_key,
            "private_key": self.client_key.read_text(),
            "connect_timeout_seconds": 10,
            "operation_timeout_seconds": 20,
        }
        values.update(overrides)
        return SftpSettings(**values)

    def __enter__(self) -> QuotaSftpServer:
        self._thread = threading.Thread(target=self._run, daemon=True, name="quota-sftp-server")
        self._thread.start()
        if not self._ready.wait(10) or self._failure is not None:
            self.__exit__(None, None, None)
            pytest.fail(f"the asyncssh quota SFTP server did not start: {self._failure!r}")
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        if self._loop is not None and self._stop is not None:
            with contextlib.suppress(RuntimeError):  # the loop has already ended
                self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        try:
            asyncio.run(self._serve())
        except BaseException as exc:
            self._failure = exc
            self._ready.set()

    async def _serve(self) -> None:
        import asyncssh

        quota = self

        class QuotaSFTPServer(asyncssh.SFTPServer):
            def write(self, file_obj: object, offset: int, data: bytes) -> Any:
                used = sum(path.stat().st_size for path in quota.root.rglob("*") if path.is_file())
                if used + len(data) > quota.quota_bytes:
                    raise asyncssh.SFTPNoSpaceOnFilesystem("No space left on device")
                return super().write(file_obj, offset, data)

        connections: list[Any] = []

        class Server(asyncssh.SSHServer):
            def connection_made(self, conn: Any) -> None:
                connections.append(conn)

            def password_auth_supported(self) -> bool:
                return True

            def validate_password(self, username: str, password: str) -> bool:
                return username == TEST_USER and password == quota.password

        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        host_key = asyncssh.generate_private_key("ssh-ed25519")
        self.host_key = " ".join(host_key.export_public_key("openssh").decode().split()[:2])
        acceptor = await asyncssh.listen(
            "127.0.0.1",
            0,
            server_host_keys=[host_key],
            authorized_client_keys=asyncssh.import_authorized_keys(
                self.client_key.with_suffix(".pub").read_text()
            ),
            server_factory=Server,
            sftp_factory=functools.partial(QuotaSFTPServer, chroot=str(self.root).encode()),
            allow_scp=False,
        )
        self.port = int(acceptor.sockets[0].getsockname()[1])
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            acceptor.close()
            await acceptor.wait_closed()
            for conn in connections:
                conn.close()
                with contextlib.suppress(Exception):
                    await conn.wait_closed()
