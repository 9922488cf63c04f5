"""An SFTP client for the channels that hand files over by SFTP (the print house, later remittance pulls).

It is a library, not a channel: a channel opens a session, does its few operations and turns the errors
below into its own outcomes (`SftpError.transient` → `Retry`, otherwise `Failed`).

Why it is more than a thin wrapper over paramiko:

* The server's host key is pinned in the settings and checked right after the key exchange, before any
  credential is sent; an unknown or changed key is refused, never learned (`HostKeyRefused`).
* Every paramiko / socket failure becomes one of a closed set of errors that say whether trying again may
  help, and no message ever carries a secret.
* Uploads are atomic and idempotent across retries (`SftpSession.upload_directory_atomically`):

  1. If `<final>` already exists, a previous try committed it: nothing is written and the result says
     `already_committed=True` (the caller must not upload again).
  2. Otherwise every `<final>.<tag>.part` left by a dropped earlier try (a file or a directory) is removed.
  3. The content is written under `<final>.<tag>.part`, a name of this try's own (a directory holding the
     files, or one file), and every file's size is checked with a `stat` after it is closed.
  4. One plain SFTP rename `<final>.<tag>.part` → `<final>` is the commit point. The plain rename refuses
     an existing target (OpenSSH links, then unlinks), unlike `posix-rename@openssh.com`, which would
     replace it: if another try committed first, this one's rename fails, its part is removed and the
     result is `already_committed=True`.

  So the receiver, which must ignore names ending in `.part`, never sees half a batch, and a retry after a
  connection dropped at any point leaves exactly one complete copy under the final name — even when a
  stalled uploader whose lease ran out wakes up beside its successor: each renames only its own complete
  part, and only the first rename can succeed.

Known server behaviour: OpenSSH's sftp-server reports a full disk as the generic `SSH_FX_FAILURE`
("Failure"), indistinguishable from other failures, so `RemoteError` is transient; servers that send
`SSH_FX_NO_SPACE_ON_FILESYSTEM` / `SSH_FX_QUOTA_EXCEEDED` or a "No space left on device" text give
`RemoteNoSpace`.
"""

from __future__ import annotations

import base64
import contextlib
import errno
import hashlib
import io
import posixpath
import secrets
import socket
import stat
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, NoReturn, cast

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from paramiko.sftp import (
    CMD_STATUS,
    SFTP_CONNECTION_LOST,
    SFTP_EOF,
    SFTP_FAILURE,
    SFTP_NO_CONNECTION,
    SFTP_NO_SUCH_FILE,
    SFTP_OK,
    SFTP_OP_UNSUPPORTED,
    SFTP_PERMISSION_DENIED,
)

from schemas.sftp import SftpSettings, read_private_key

__all__ = [
    "AuthenticationRefused",
    "ConnectionLost",
    "HostKeyRefused",
    "RemoteEntry",
    "RemoteError",
    "RemoteFileTooLarge",
    "RemoteNoSpace",
    "RemoteNotFound",
    "RemotePermissionDenied",
    "SftpError",
    "SftpSession",
    "UploadResult",
    "client_key",
    "host_key_fingerprint",
    "open_sftp",
]

# SFTP status codes of protocol versions 4-6; paramiko speaks version 3 and has no names for them, but
# some servers send them anyway.
_FX_BAD_MESSAGE = 5
_FX_NO_SUCH_PATH = 10
_FX_FILE_ALREADY_EXISTS = 11
_FX_WRITE_PROTECT = 12
_FX_NO_SPACE_ON_FILESYSTEM = 14
_FX_QUOTA_EXCEEDED = 15

_NO_SPACE_TEXTS = ("no space left", "no space on", "disk full", "quota exceeded", "not enough space")

# known_hosts key types → the host key algorithms that present such a key (paramiko no longer offers the
# SHA-1 "ssh-rsa" signature, so an RSA key is negotiated with rsa-sha2-*).
_HOST_KEY_ALGORITHMS: dict[str, tuple[str, ...]] = {
    "ssh-ed25519": ("ssh-ed25519",),
    "ecdsa-sha2-nistp256": ("ecdsa-sha2-nistp256",),
    "ecdsa-sha2-nistp384": ("ecdsa-sha2-nistp384",),
    "ecdsa-sha2-nistp521": ("ecdsa-sha2-nistp521",),
    "ssh-rsa": ("rsa-sha2-512", "rsa-sha2-256"),
}


# ---- errors ------------------------------------------------------------------------------------------


class SftpError(Exception):
    """Any SFTP failure. `transient` says whether trying again later may help; the message has no secret."""

    transient: bool = True

    def __init__(self, message: str, *, transient: bool | None = None) -> None:
        super().__init__(message)
        if transient is not None:
            self.transient = transient


class HostKeyRefused(SftpError):
    """The server's host key is not the pinned one; nothing (no user name, no credential) was sent."""

    transient = False

    def __init__(
        self,
        message: str,
        *,
        offered_type: str,
        offered_fingerprint: str,
        expected_type: str,
        expected_fingerprint: str,
    ) -> None:
        super().__init__(message)
        self.offered_type = offered_type
        self.offered_fingerprint = offered_fingerprint
        self.expected_type = expected_type
        self.expected_fingerprint = expected_fingerprint


class AuthenticationRefused(SftpError):
    """The server refused the user name / key / password (or the key could not be used)."""

    transient = False


class RemotePermissionDenied(SftpError):
    """The server does not let this user do that there: a configuration matter, not a passing one."""

    transient = False


class RemoteNotFound(SftpError):
    """The remote path (or its parent directory) does not exist."""

    transient = False


class RemoteNoSpace(SftpError):
    """The remote file system is full or the user's quota is used up; it may be freed later."""

    transient = True


class ConnectionLost(SftpError):
    """The connection could not be made, broke, or timed out; the session cannot be used any more."""

    transient = True


class RemoteError(SftpError):
    """Any other failure the server reported (OpenSSH says a bare "Failure" even for a full disk)."""

    transient = True


class RemoteFileTooLarge(SftpError):
    """`read` refused a file bigger than the caller's limit."""

    transient = False


# ---- settings ----------------------------------------------------------------------------------------


def host_key_fingerprint(blob: bytes) -> str:
    """The OpenSSH-style fingerprint of a public key blob: `SHA256:` + unpadded base64 of its SHA-256."""
    digest = base64.b64encode(hashlib.sha256(blob).digest()).decode("ascii").rstrip("=")
    return f"SHA256:{digest}"


def client_key(settings: SftpSettings) -> paramiko.PKey | None:
    """The private key as paramiko wants it, or None when only a password is set.

    `schemas.sftp.read_private_key` reads every format; the key is then handed to paramiko as unencrypted
    OpenSSH text, because paramiko's own readers know neither PKCS#8 nor ed25519 in PEM. ValueError with
    no secret in it.
    """
    if settings.private_key is None:
        return None
    passphrase = settings.private_key_passphrase
    loaded = read_private_key(
        settings.private_key.get_secret_value(), passphrase.get_secret_value() if passphrase else None
    )
    key_class: type[paramiko.PKey]
    if isinstance(loaded, ed25519.Ed25519PrivateKey):
        key_class = paramiko.Ed25519Key
    elif isinstance(loaded, ec.EllipticCurvePrivateKey):
        key_class = paramiko.ECDSAKey
    else:
        key_class = paramiko.RSAKey
    openssh = loaded.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.OpenSSH, serialization.NoEncryption()
    )
    try:
        return key_class.from_private_key(io.StringIO(openssh.decode("ascii")))
    except Exception:
        raise ValueError("private_key: paramiko cannot use this key (unsupported curve or size?)") from None


# ---- results -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class RemoteEntry:
    """One directory entry. `size` / `mtime` are None when the server does not say (OpenSSH always does)."""

    name: str
    size: int | None
    mtime: datetime | None
    is_dir: bool


@dataclass(frozen=True)
class UploadResult:
    """What an atomic upload did. `already_committed`: `final_path` existed, nothing was written."""

    final_path: str
    already_committed: bool
    bytes_written: int
    files: int


# ---- the session -------------------------------------------------------------------------------------


class _SftpStatus(OSError):
    """An SFTP status reply with its code kept (paramiko keeps only ENOENT / EACCES as errno)."""

    def __init__(self, code: int, text: str) -> None:
        as_errno = {SFTP_NO_SUCH_FILE: errno.ENOENT, SFTP_PERMISSION_DENIED: errno.EACCES}.get(code)
        if as_errno is None:
            super().__init__(text)
        else:
            super().__init__(as_errno, text)
        self.code = code
        self.text = text


class _WriteReplies:
    """Receives the replies to pipelined writes, which paramiko would read and drop unseen (it files them
    under `type(None)`), and keeps the first failure."""

    def __init__(self, client: _StatusKeepingSftpClient) -> None:
        self._client = client
        self.failure: Exception | None = None

    def _async_response(self, kind: int, msg: paramiko.Message, number: int) -> None:
        if kind != CMD_STATUS:
            return
        try:
            self._client._convert_status(msg)
        except Exception as exc:
            if self.failure is None:
                self.failure = exc


class _StatusKeepingSftpClient(paramiko.SFTPClient):
    """paramiko's client with two private hooks, both for error reporting:

    * a failure status keeps its SFTP code: paramiko turns every status but "no such file" and "permission
      denied" into a bare `IOError(text)`, and the code is what tells "no space" / "quota exceeded" /
      "operation unsupported" from other failures (`_convert_status` sees every reply);
    * replies to pipelined writes are checked: paramiko reads them while waiting for a later reply and
      drops them, so a write refused for a full disk would only show as a short file
      (`_async_request` files them under `write_replies` instead).

    If a paramiko release renames either hook, the session still works: errors are then less precise, and
    `SftpSession.write`'s size check still catches a short file.
    """

    def __init__(self, channel: paramiko.Channel) -> None:
        self.write_replies = _WriteReplies(self)
        super().__init__(channel)

    def _convert_status(self, msg: paramiko.Message) -> None:
        code = msg.get_int()
        text = msg.get_text()
        if code == SFTP_OK:
            return
        if code == SFTP_EOF:
            raise EOFError(text)
        raise _SftpStatus(code, text)

    def _async_request(self, fileobj: object, kind: int, *args: object) -> int:
        if fileobj is type(None):
            fileobj = self.write_replies
        return int(cast(Any, super())._async_request(fileobj, kind, *args))

    def take_write_failure(self) -> Exception | None:
        failure, self.write_replies.failure = self.write_replies.failure, None
        return failure


def open_sftp(settings: SftpSettings) -> SftpSession:
    """Connect, check the pinned host key, log in and start SFTP; use the result as a context manager.

    Raises `ConnectionLost` (no connection, handshake timeout), `HostKeyRefused` (before any credential is
    sent) or `AuthenticationRefused`.
    """
    where = f"{settings.host}:{settings.port}"
    timeout = settings.connect_timeout_seconds
    try:
        sock = socket.create_connection((settings.host, settings.port), timeout=timeout)
    except TimeoutError:
        raise ConnectionLost(f"SFTP connect to {where} timed out after {timeout:g} s") from None
    except OSError as exc:
        raise ConnectionLost(f"SFTP connect to {where} failed: {_os_error_text(exc)}") from None
    # Without TCP_NODELAY each file's CLOSE waits for the server's delayed ACK (~35 ms on Linux): a
    # 1,000-document print batch took 36 s instead of 1 s (benchmarks/print_batch.py).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    transport = paramiko.Transport(sock)
    try:
        _negotiate(transport, settings, where)
        _authenticate(transport, settings, where)
        client = _start_sftp(transport, settings, where)
    except BaseException:
        transport.close()
        sock.close()
        raise
    return SftpSession(settings, transport, client)


def _negotiate(transport: paramiko.Transport, settings: SftpSettings, where: str) -> None:
    """Key exchange, then compare the server's key with the pinned one before anything is sent."""
    timeout = settings.connect_timeout_seconds
    transport.banner_timeout = timeout
    transport.handshake_timeout = timeout
    transport.auth_timeout = timeout
    # ask for the pinned key's algorithm first, as OpenSSH does with known_hosts: a server with several
    # host keys then shows the pinned one, and one without it shows another, refused with a clear message
    options = transport.get_security_options()
    pinned = _HOST_KEY_ALGORITHMS[settings.pinned_key_type]
    options.key_types = [*pinned, *(name for name in options.key_types if name not in pinned)]
    done = threading.Event()
    started = time.monotonic()
    transport.start_client(event=done)
    if not done.wait(timeout) and transport.is_active():
        raise ConnectionLost(f"SFTP handshake with {where} timed out after {timeout:g} s")
    if not transport.is_active() or not done.is_set():
        problem = transport.get_exception()
        detail = _exception_text(problem) if problem is not None else "the server closed the connection"
        waited = time.monotonic() - started
        if "protocol banner" in detail and waited >= timeout * 0.9:  # paramiko's banner timer ran out first
            raise ConnectionLost(f"SFTP handshake with {where} timed out after {timeout:g} s (no SSH banner)")
        raise ConnectionLost(f"SSH handshake with {where} failed: {detail}")
    offered = transport.get_remote_server_key()
    if offered.asbytes() != settings.pinned_key_blob:
        offered_fingerprint = host_key_fingerprint(offered.asbytes())
        expected_fingerprint = host_key_fingerprint(settings.pinned_key_blob)
        raise HostKeyRefused(
            f"SFTP server {where} offered host key {offered.get_name()} {offered_fingerprint}, but the pinned"
            f" key is {settings.pinned_key_type} {expected_fingerprint}; refused before logging in. If the"
            " server's key was changed on purpose, pin the new one (ssh-keyscan, checked with the receiver).",
            offered_type=offered.get_name(),
            offered_fingerprint=offered_fingerprint,
            expected_type=settings.pinned_key_type,
            expected_fingerprint=expected_fingerprint,
        )


def _authenticate(transport: paramiko.Transport, settings: SftpSettings, where: str) -> None:
    """The private key first, then the password; a server that needs both (partial success) gets both."""
    who = f"{settings.username}@{where}"
    refusals: list[str] = []
    try:
        key = client_key(settings)
    except ValueError as exc:  # only possible when the settings were built without validation
        raise AuthenticationRefused(f"SFTP login {who}: {exc}") from None
    try:
        if key is not None:
            try:
                transport.auth_publickey(settings.username, key)
            except paramiko.AuthenticationException as exc:
                _raise_if_connection_problem(transport, exc, who)
                refusals.append(f"key {key.get_name()} {host_key_fingerprint(key.asbytes())} refused")
        if not transport.is_authenticated() and settings.password is not None:
            try:
                transport.auth_password(settings.username, settings.password.get_secret_value())
            except paramiko.AuthenticationException as exc:
                _raise_if_connection_problem(transport, exc, who)
                if isinstance(exc, paramiko.BadAuthenticationType):
                    allowed = ", ".join(exc.allowed_types) or "none"
                    refusals.append(f"the server does not take passwords (it takes: {allowed})")
                else:
                    refusals.append("password refused")
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise ConnectionLost(f"SFTP login {who}: connection failed: {_exception_text(exc)}") from None
    if not transport.is_authenticated():
        raise AuthenticationRefused(f"SFTP login {who} refused: {'; '.join(refusals) or 'no method left'}")


def _raise_if_connection_problem(
    transport: paramiko.Transport, exc: paramiko.AuthenticationException, who: str
) -> None:
    """paramiko reports a dropped connection or a timeout during login as AuthenticationException too."""
    if not transport.is_active() or "timeout" in str(exc).lower():
        raise ConnectionLost(f"SFTP login {who}: connection lost during login ({exc})") from None


def _start_sftp(
    transport: paramiko.Transport, settings: SftpSettings, where: str
) -> _StatusKeepingSftpClient:
    try:
        channel = transport.open_session(timeout=settings.connect_timeout_seconds)
        channel.settimeout(settings.operation_timeout_seconds)
        channel.invoke_subsystem("sftp")
        return _StatusKeepingSftpClient(channel)
    except (paramiko.SSHException, EOFError, OSError) as exc:
        raise ConnectionLost(f"starting SFTP on {where} failed: {_exception_text(exc)}") from None


class SftpSession:
    """An open, logged-in SFTP session (from `open_sftp`). Paths are the server's (relative to the login
    directory unless they start with "/"). After a `ConnectionLost` the session is closed: open a new one.
    Not thread-safe: one session per thread."""

    def __init__(
        self, settings: SftpSettings, transport: paramiko.Transport, client: _StatusKeepingSftpClient
    ) -> None:
        self.settings = settings
        self._transport = transport
        self._client = client
        self._where = f"{settings.host}:{settings.port}"
        self._secrets = settings.secrets()
        self._closed = False
        self._posix_rename: bool | None = None  # unknown until first tried

    def __enter__(self) -> SftpSession:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    def close(self) -> None:
        """Close the SFTP channel and the connection; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        with contextlib.suppress(Exception):
            self._client.close()
        self._transport.close()

    # ---- plain operations ----------------------------------------------------------------------------

    def exists(self, path: str) -> bool:
        """Whether anything (file, directory, even a dangling link) has this name."""
        try:
            with self._remote("stat", path):
                self._client.lstat(path)
        except RemoteNotFound:
            return False
        return True

    def is_dir(self, path: str) -> bool:
        """Whether `path` is a directory (a link to one counts)."""
        try:
            with self._remote("stat", path):
                attributes = self._client.stat(path)
        except RemoteNotFound:
            return False
        return stat.S_ISDIR(attributes.st_mode or 0)

    def listdir(self, path: str) -> list[RemoteEntry]:
        """The entries of a directory (not "." and ".."), sorted by name."""
        with self._remote("list", path):
            found = self._client.listdir_attr(path)
        entries = [
            RemoteEntry(
                name=attributes.filename,
                size=attributes.st_size,
                mtime=None
                if attributes.st_mtime is None
                else datetime.fromtimestamp(attributes.st_mtime, UTC),
                is_dir=stat.S_ISDIR(attributes.st_mode or 0),
            )
            for attributes in found
        ]
        return sorted(entries, key=lambda entry: entry.name)

    def read(self, path: str, max_bytes: int) -> bytes:
        """A whole file; one bigger than `max_bytes` is refused (`RemoteFileTooLarge`) before it is read."""
        if max_bytes < 0:
            raise ValueError("max_bytes must not be negative")
        with self._remote("read", path):
            attributes = self._client.stat(path)
            if stat.S_ISDIR(attributes.st_mode or 0):
                raise RemoteError(self._message("read", path, "it is a directory"), transient=False)
            size = attributes.st_size or 0
            if size > max_bytes:
                raise self._too_large(path, f"{size} bytes")
            with self._client.open(path, "rb") as remote:
                remote.prefetch(size)
                data = remote.read(max_bytes + 1)
        if len(data) > max_bytes:  # it grew after the stat
            raise self._too_large(path, f"more than {max_bytes} bytes")
        return data

    def write(self, path: str, data: bytes) -> None:
        """Create or replace a file, then `stat` it to check the server has all of it."""
        with self._remote("write", path):
            self._client.take_write_failure()
            with self._client.open(path, "wb") as remote:
                remote.set_pipelined(True)
                remote.write(data)
            # closing waited for the close reply, and the server answers in order: every write's reply is in
            failure = self._client.take_write_failure()
            if failure is not None:
                raise failure
            size = self._client.stat(path).st_size
        if size != len(data):
            raise RemoteError(
                self._message("write", path, f"the server has {size} bytes after writing {len(data)}")
            )

    def makedirs(self, path: str) -> None:
        """Create a directory and its missing parents; an existing directory is fine."""
        current = "/" if path.startswith("/") else ""
        for part in (part for part in path.split("/") if part and part != "."):
            current = posixpath.join(current, part) if current else part
            try:
                with self._remote("stat", current):
                    attributes = self._client.stat(current)
            except RemoteNotFound:
                try:
                    self._mkdir(current)
                except SftpError:
                    if not self.is_dir(current):  # else made meanwhile by someone else
                        raise
                continue
            if not stat.S_ISDIR(attributes.st_mode or 0):
                raise RemoteError(
                    self._message("makedirs", path, f"{current} exists and is not a directory"),
                    transient=False,
                )

    def rename(self, src: str, dst: str) -> None:
        """Rename with `posix-rename@openssh.com` (atomic; replaces an existing file `dst`) where the server
        has it, else with the plain SFTP rename (which refuses an existing `dst`)."""
        if self._posix_rename is not False:
            try:
                with self._remote("rename", src, dst):
                    self._client.posix_rename(src, dst)
                self._posix_rename = True
                return
            except RemoteError as exc:
                if getattr(exc.__cause__, "code", None) != SFTP_OP_UNSUPPORTED:
                    raise
                self._posix_rename = False
        with self._remote("rename", src, dst):
            self._client.rename(src, dst)

    def remove(self, path: str) -> None:
        """Remove one file."""
        with self._remote("remove", path):
            self._client.remove(path)

    def remove_tree(self, path: str) -> None:
        """Remove a file, or a directory with everything in it; links are removed, not followed."""
        with self._remote("remove", path):
            attributes = self._client.lstat(path)
        if not stat.S_ISDIR(attributes.st_mode or 0):
            self.remove(path)
            return
        for entry in self.listdir(path):
            self.remove_tree(posixpath.join(path, entry.name))
        with self._remote("rmdir", path):
            self._client.rmdir(path)

    def move_into(self, path: str, directory: str) -> str:
        """Move a file into `directory` (created if missing) under its own name, or with "-1", "-2"… before
        the extension when that name is taken: never overwrites. Returns the new path.

        Uses the plain SFTP rename, which refuses an existing target (OpenSSH links, then unlinks), so a
        name taken between the check and the rename is not overwritten either.
        """
        self.makedirs(directory)
        name = posixpath.basename(path.rstrip("/"))
        stem, extension = posixpath.splitext(name)
        for number in range(10_000):
            candidate = posixpath.join(directory, name if number == 0 else f"{stem}-{number}{extension}")
            if self.exists(candidate):
                continue
            try:
                with self._remote("rename", path, candidate):
                    self._client.rename(path, candidate)
            except (RemoteError, RemotePermissionDenied):
                if self.exists(candidate) and self.exists(path):  # taken meanwhile: try the next name
                    continue
                raise
            return candidate
        raise RemoteError(self._message("move", path, f"no free name in {directory}"), transient=False)

    # ---- atomic uploads ------------------------------------------------------------------------------

    def upload_directory_atomically(
        self, final_path: str, files: Sequence[tuple[str, bytes]]
    ) -> UploadResult:
        """Upload a batch as the directory `final_path` holding `files` (name, content), all or nothing.

        See the module docstring for the protocol: skip if `final_path` exists (`already_committed`), else
        clear `<final_path>.part`, write every file into it and check each size, then one rename commits.
        The parent of `final_path` must exist.
        """
        final = _final_path(final_path)
        names = [name for name, _ in files]
        if not names:
            raise ValueError("upload_directory_atomically needs at least one file")
        for name in names:
            if not name or "/" in name or name in (".", ".."):
                raise ValueError(f"file name {name!r} must be a plain name, without '/'")
        if len(set(names)) != len(names):
            raise ValueError("file names must be unique within one upload")
        if self.exists(final):
            return UploadResult(final, already_committed=True, bytes_written=0, files=0)
        part = self._fresh_part(final)
        self._mkdir(part)
        written = 0
        for name, data in files:
            self.write(f"{part}/{name}", data)
            written += len(data)
        if not self._commit(part, final):
            return UploadResult(final, already_committed=True, bytes_written=0, files=0)
        return UploadResult(final, already_committed=False, bytes_written=written, files=len(files))

    def upload_file_atomically(self, final_path: str, data: bytes) -> UploadResult:
        """Upload one file as `final_path`, all or nothing, by the same protocol (`<final_path>.part` is a
        file here)."""
        final = _final_path(final_path)
        if self.exists(final):
            return UploadResult(final, already_committed=True, bytes_written=0, files=0)
        part = self._fresh_part(final)
        self.write(part, data)
        if not self._commit(part, final):
            return UploadResult(final, already_committed=True, bytes_written=0, files=0)
        return UploadResult(final, already_committed=False, bytes_written=len(data), files=1)

    def _fresh_part(self, final: str) -> str:
        """This try's own part name, after removing the parts that dropped earlier tries left behind."""
        parent, base = posixpath.split(final)
        for entry in self.listdir(parent or "."):
            if entry.name == f"{base}.part" or (
                entry.name.startswith(f"{base}.")
                and entry.name.endswith(".part")
                and len(entry.name) == len(base) + len(".12345678.part")
            ):
                with contextlib.suppress(RemoteNotFound):  # a concurrent cleaner got there first
                    self.remove_tree(posixpath.join(parent, entry.name))
        return f"{final}.{secrets.token_hex(4)}.part"

    def _commit(self, part: str, final: str) -> bool:
        """Rename `part` to `final` unless `final` exists (then remove `part`); True if this try committed."""
        try:
            with self._remote("rename", part, final):
                self._client.rename(part, final)  # plain rename: never replaces a committed batch
        except SftpError:
            if not self.exists(final):
                raise
            with contextlib.suppress(RemoteNotFound):  # the committing try may have swept it already
                self.remove_tree(part)
            return False
        return True

    # ---- error translation ---------------------------------------------------------------------------

    def _mkdir(self, path: str) -> None:
        with self._remote("mkdir", path):
            self._client.mkdir(path)

    def _too_large(self, path: str, size: str) -> RemoteFileTooLarge:
        return RemoteFileTooLarge(self._message("read", path, f"{size}, the limit is the caller's max_bytes"))

    def _message(self, action: str, path: str, detail: str) -> str:
        message = f"SFTP {action} {path!r} on {self._where}: {detail}"
        for secret in self._secrets:
            message = message.replace(secret, "***")
        return message

    @contextlib.contextmanager
    def _remote(self, action: str, path: str, target: str | None = None) -> Iterator[None]:
        """Run paramiko calls, turning whatever they raise into an `SftpError`."""
        if self._closed:
            raise ConnectionLost(self._message(action, path, "the session is closed"))
        label = path if target is None else f"{path} → {target}"
        try:
            yield
        except SftpError:
            raise
        except _SftpStatus as exc:
            self._raise_status(action, label, exc)
        except (EOFError, paramiko.SSHException, ConnectionError, TimeoutError) as exc:
            self._lost(action, label, exc)
        except OSError as exc:
            if not self._transport.is_active():
                self._lost(action, label, exc)
            self._raise_os_error(action, label, exc)

    def _lost(self, action: str, label: str, exc: BaseException) -> NoReturn:
        # after a timeout or a broken stream the request / reply pairing is gone: the session is unusable,
        # and a polite SFTP close could block on a dead link, so only the socket is closed
        self._closed = True
        self._transport.close()
        detail = "timed out" if isinstance(exc, TimeoutError) else _exception_text(exc)
        raise ConnectionLost(self._message(action, label, f"connection lost ({detail})")) from exc

    def _raise_status(self, action: str, label: str, exc: _SftpStatus) -> NoReturn:
        said = f"server says {exc.text!r}" if exc.text else f"SFTP status {exc.code}"
        message = self._message(action, label, said)
        if exc.code in (SFTP_NO_SUCH_FILE, _FX_NO_SUCH_PATH):
            raise RemoteNotFound(message) from exc
        if exc.code in (SFTP_PERMISSION_DENIED, _FX_WRITE_PROTECT):
            raise RemotePermissionDenied(message) from exc
        if exc.code in (_FX_NO_SPACE_ON_FILESYSTEM, _FX_QUOTA_EXCEEDED) or _says_no_space(exc.text):
            raise RemoteNoSpace(message) from exc
        if exc.code in (SFTP_NO_CONNECTION, SFTP_CONNECTION_LOST):
            self._lost(action, label, exc)
        permanent = exc.code in (SFTP_OP_UNSUPPORTED, _FX_BAD_MESSAGE, _FX_FILE_ALREADY_EXISTS)
        if exc.code == SFTP_FAILURE and action == "write":
            message += " (OpenSSH says only this when the disk is full, too)"
        raise RemoteError(message, transient=not permanent) from exc

    def _raise_os_error(self, action: str, label: str, exc: OSError) -> NoReturn:
        message = self._message(action, label, _os_error_text(exc))
        if exc.errno == errno.ENOENT:
            raise RemoteNotFound(message) from exc
        if exc.errno in (errno.EACCES, errno.EPERM):
            raise RemotePermissionDenied(message) from exc
        if exc.errno in (errno.ENOSPC, errno.EDQUOT) or _says_no_space(str(exc)):
            raise RemoteNoSpace(message) from exc
        raise RemoteError(message) from exc


def _final_path(path: str) -> str:
    final = path.rstrip("/")
    if not final or final in (".", "..") or final.endswith(".part"):
        raise ValueError(f"final_path {path!r} must name a file or directory (and not end in .part)")
    return final


def _says_no_space(text: str) -> bool:
    lowered = text.lower()
    return any(phrase in lowered for phrase in _NO_SPACE_TEXTS)


def _os_error_text(exc: OSError) -> str:
    return exc.strerror or str(exc) or type(exc).__name__


def _exception_text(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
