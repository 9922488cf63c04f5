"""A real mail rig for tests: a private Postfix on loopback that produces real DSNs (RFC 3464).

    with postfix_rig(tmp_path) as rig:
        smtplib.SMTP("127.0.0.1", rig.smtpd_port)...   # or the gateway's email channel
        dsn = rig.wait_for_dsn(30, envid="...")

Layout (everything on 127.0.0.1, nothing ever leaves the machine):

    sender ──SMTP──▶ Postfix smtpd (rig.smtpd_port; a private instance: own config, queue, data dirs)
                        │ transport_maps (inline):
                        ├─ @remote.example ──▶ aiosmtpd "remote" (rig.remote_port): 250 for known users,
                        │                    550 5.1.1 at RCPT for unknown ones, 451 4.3.0 for deferred ones
                        ├─ @hub.example    ──▶ aiosmtpd bounce sink (rig.bounce_port) → Maildir (rig.maildir)
                        └─ anything else ──▶ error: (default_transport / relay_transport)

The DSNs are Postfix's own (its bounce/defer/trace daemons); the bounce sink only stores what Postfix
sends to the envelope sender's domain, with `X-Envelope-From` / `X-Envelope-To` prepended (as in
`../shared/samples/email/`). Queue lifetimes are short so that delayed / expired DSNs come within seconds.

The instance lives in a 0755 directory under the system temp dir (Postfix's daemons run as `postfix` and
cannot enter pytest's 0700 tmp_path), linked as `tmp_path/postfix` while it runs; on exit its maillog and
configuration are copied to `tmp_path/postfix/`. The bounce Maildir is `tmp_path/bounces/Maildir`.

Postfix is installed from Debian's packages if it is missing (root only); a failure to install or start
fails the test with the reason rather than skipping it. A system Postfix (port 25, /etc/postfix,
/var/spool/postfix) is left alone: the private instance shares no port, directory or lock with it.
"""

from __future__ import annotations

import contextlib
import email
import email.policy
import mailbox
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

POSTFIX = Path("/usr/sbin/postfix")
POSTFIX_META_DIRECTORY = Path("/etc/postfix")  # Debian's postfix-files / dynamicmaps.cf live here


def ensure_postfix_installed() -> None:
    """Install Debian's postfix non-interactively if it is missing; fail (never skip) if impossible."""
    if POSTFIX.exists():
        return
    if os.geteuid() != 0:
        pytest.fail(
            f"{POSTFIX} is missing and installing it needs root: "
            "apt-get install postfix (debconf postfix/main_mailer_type = No configuration)"
        )
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    steps: list[tuple[list[str], str | None]] = [
        (["debconf-set-selections"], "postfix postfix/main_mailer_type select No configuration\n"),
        (["debconf-set-selections"], "postfix postfix/mailname string mta.hub.example\n"),
        (["apt-get", "update", "-q"], None),
        (["apt-get", "install", "-y", "-q", "postfix"], None),
    ]
    for command, stdin in steps:
        try:
            result = subprocess.run(
                command, input=stdin, env=env, capture_output=True, text=True, timeout=600, check=False
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            pytest.fail(f"installing postfix: {' '.join(command)} failed: {exc}")
        if result.returncode != 0:
            pytest.fail(
                f"installing postfix: {' '.join(command)} exited {result.returncode}:\n"
                f"{result.stdout[-2000:]}\n{result.stderr[-2000:]}"
            )
    if not POSTFIX.exists():
        pytest.fail(f"apt-get install postfix succeeded but {POSTFIX} is still missing")


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def dsn_reports(message: EmailMessage) -> list[dict[str, str]]:
    """The per-recipient fields of a DSN (`Action`, `Status`, `Final-Recipient`, `Diagnostic-Code`, …),
    each merged over the per-message fields (`Original-Envelope-Id`, `Reporting-MTA`, …)."""
    for part in message.walk():
        if part.get_content_type() != "message/delivery-status":
            continue
        blocks = [dict(block.items()) for block in part.get_payload()]  # type: ignore[union-attr]
        per_message, per_recipient = blocks[0], blocks[1:]
        return [
            {**per_message, **{name: " ".join(str(value).split()) for name, value in block.items()}}
            for block in per_recipient
        ]
    return []


class _RemoteHandler:
    """The "remote" receiving MTA: decides at RCPT, stores accepted messages."""

    def __init__(self, rig: PostfixRig) -> None:
        self.rig = rig

    async def handle_RCPT(
        self, server: Any, session: Any, envelope: Any, address: str, rcpt_options: list[str]
    ) -> str:
        local, _, domain = address.lower().rpartition("@")
        if domain != self.rig.remote_domain:
            return f"550 5.7.1 <{address}>: relay access denied"
        if local in self.rig.deferred_users:
            return f"451 4.3.0 <{address}>: mailbox temporarily unavailable (simulated)"
        if local not in self.rig.known_users:
            return f"550 5.1.1 <{address}>: Recipient address rejected: User unknown"
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.rig.remote_received.append(
            {"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos), "data": envelope.content}
        )
        return "250 2.0.0 OK stored"


class _MaildirHandler:
    """The bounce domain's mailbox: every message Postfix sends there goes into one Maildir."""

    def __init__(self, rig: PostfixRig) -> None:
        self.rig = rig

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        content = envelope.original_content or envelope.content
        if isinstance(content, str):
            content = content.encode("utf-8", "surrogateescape")
        head = (
            f"X-Envelope-From: <{envelope.mail_from or ''}>\r\n"
            f"X-Envelope-To: {', '.join(envelope.rcpt_tos)}\r\n"
        ).encode()
        mailbox.Maildir(self.rig.maildir, create=True).add(head + content)
        return "250 2.0.0 OK delivered to Maildir"


@dataclass
class PostfixRig:
    base: Path
    maildir: Path
    smtpd_port: int = 0
    remote_port: int = 0
    bounce_port: int = 0
    remote_domain: str = "remote.example"
    bounce_domain: str = "hub.example"
    hostname: str = "mta.hub.example"
    # RFC 2606 `.example` names: the email channel's validator (email_validator) refuses `.test` addresses
    known_users: set[str] = field(default_factory=lambda: {"kunde", "faktura"})
    deferred_users: set[str] = field(default_factory=lambda: {"treg"})
    remote_received: list[dict[str, Any]] = field(default_factory=list)
    _seen: set[str] = field(default_factory=set)

    @property
    def config_directory(self) -> Path:
        return self.base / "etc"

    @property
    def queue_directory(self) -> Path:
        return self.base / "spool"

    @property
    def data_directory(self) -> Path:
        return self.base / "lib"

    @property
    def maillog(self) -> Path:
        return self.base / "maillog"

    def address(self, user: str) -> str:
        return f"{user}@{self.remote_domain}"

    def log(self) -> str:
        return self.maillog.read_text(errors="replace") if self.maillog.exists() else "(no maillog)"

    def messages(self) -> list[tuple[str, EmailMessage]]:
        """Every message in the bounce Maildir, oldest first, as (key, message)."""
        found = []
        for sub in ("new", "cur"):
            directory = self.maildir / sub
            for path in directory.iterdir() if directory.is_dir() else []:
                key = path.name.split(":")[0]  # a Maildir message keeps its key when moved to cur/
                with contextlib.suppress(FileNotFoundError):  # read or moved by someone else meanwhile
                    parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
                    found.append((path.stat().st_mtime_ns, key, parsed))
        return [(key, message) for _, key, message in sorted(found, key=lambda item: item[:2])]

    def wait_for_dsn(
        self,
        timeout: float = 30.0,
        *,
        envid: str | None = None,
        action: str | None = None,
        mentioning: str | None = None,
    ) -> EmailMessage:
        """The next DSN (multipart/report; report-type=delivery-status) not returned before, optionally
        with this `Original-Envelope-Id`, a recipient with this `Action`, and / or this text anywhere in
        it (a delivery id: in the VERP envelope recipient, the ENVID, the returned headers). Fails the
        test with the queue and Postfix's log on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            for key, message in self.messages():
                if key in self._seen or message.get_content_type() != "multipart/report":
                    continue
                if message.get_param("report-type") != "delivery-status":
                    continue
                reports = dsn_reports(message)
                if envid is not None and not any(r.get("Original-Envelope-Id") == envid for r in reports):
                    continue
                if action is not None and not any(r.get("Action", "").lower() == action for r in reports):
                    continue
                if mentioning is not None and mentioning not in message.as_string():
                    continue
                self._seen.add(key)
                return message
            if time.monotonic() > deadline:
                pytest.fail(
                    f"no DSN (envid={envid!r}, action={action!r}, mentioning={mentioning!r})"
                    f" in {self.maildir} after {timeout} s;"
                    f" queue: {self.queue_listing()}\nmaillog:\n{self.log()[-6000:]}"
                )
            time.sleep(0.1)

    def message_path(self, message: EmailMessage) -> Path | None:
        """The Maildir file of a message `wait_for_dsn` returned (matched by Message-Id)."""
        for path in sorted((self.maildir / "new").iterdir()) + sorted((self.maildir / "cur").iterdir()):
            parsed = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if parsed["Message-Id"] == message["Message-Id"]:
                return path
        return None

    def postconf(self, *args: str) -> str:
        return self._run(["postconf", "-c", str(self.config_directory), *args]).stdout

    def queue_listing(self) -> str:
        try:
            return self._run(["postqueue", "-c", str(self.config_directory), "-p"]).stdout.strip()
        except AssertionError as exc:
            return str(exc)

    def flush(self) -> None:
        """Ask Postfix to retry its deferred mail now."""
        self._run(["postqueue", "-c", str(self.config_directory), "-f"])

    def _run(self, command: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
        if result.returncode != 0:
            raise AssertionError(
                f"{' '.join(command)} exited {result.returncode}: {result.stdout}{result.stderr}\n"
                f"maillog:\n{self.log()[-4000:]}"
            )
        return result

    # ---- configuration -------------------------------------------------------------------------------

    def main_cf(self) -> str:
        transports = (
            f"{self.remote_domain}=smtp:[127.0.0.1]:{self.remote_port}, "
            f"{self.bounce_domain}=smtp:[127.0.0.1]:{self.bounce_port}"
        )
        settings = {
            "compatibility_level": "3.6",
            "config_directory": self.config_directory,
            "queue_directory": self.queue_directory,
            "data_directory": self.data_directory,
            "meta_directory": POSTFIX_META_DIRECTORY,
            "maillog_file": self.maillog,
            "maillog_file_prefixes": self.base,
            "myhostname": self.hostname,
            "mydomain": self.bounce_domain,
            "myorigin": "$myhostname",
            "inet_interfaces": "127.0.0.1",
            "inet_protocols": "ipv4",
            "mynetworks": "127.0.0.0/8",
            "mydestination": "",
            "local_recipient_maps": "",
            "alias_maps": "",
            "alias_database": "",
            "relay_domains": f"{self.remote_domain}, {self.bounce_domain}",
            "transport_maps": f"inline:{{ {transports} }}",
            # nothing leaves loopback: whatever the transport map does not name is refused
            "default_transport": "error:5.7.1 loopback test rig: no other destinations",
            "relay_transport": "error:5.7.1 loopback test rig: no other destinations",
            "relayhost": "",
            "disable_dns_lookups": "yes",
            "smtp_dns_support_level": "disabled",
            "smtp_host_lookup": "native",
            "smtpd_relay_restrictions": "permit_mynetworks, reject_unauth_destination",
            "smtpd_recipient_restrictions": "permit_mynetworks, reject",
            "smtpd_discard_ehlo_keywords": "",  # keep DSN (and everything else) advertised
            "smtpd_banner": "$myhostname ESMTP (loopback test rig)",
            "smtpd_tls_security_level": "none",
            "smtp_tls_security_level": "none",
            "smtputf8_enable": "no",
            "biff": "no",
            "append_dot_mydomain": "no",
            # quick retries and short lifetimes: delayed and expiry DSNs within seconds
            "queue_run_delay": "1s",
            "minimal_backoff_time": "1s",
            "maximal_backoff_time": "2s",
            "delay_warning_time": "1s",
            "maximal_queue_lifetime": "20s",
            "bounce_template_file": self.config_directory / "bounce.cf",
            "bounce_queue_lifetime": "20s",
            "smtp_connect_timeout": "5s",
            "in_flow_delay": "0s",
            # the daemons are started as root and only then drop privileges; no chroot, no syslog
            "import_environment": "MAIL_CONFIG MAIL_DEBUG MAIL_LOGTAG TZ LANG=C",
        }
        return "".join(f"{name} = {value}\n" for name, value in settings.items())

    def bounce_cf(self) -> str:
        """Postfix's delay notice, in seconds: the built-in one says hours and days, which round to 0."""
        return """\
delay_template = <<EOF
Charset: us-ascii
From: MAILER-DAEMON (Mail Delivery System)
Subject: Delayed Mail (still being retried)
Postmaster-Subject: Postmaster Warning: Delayed Mail

This is the mail system at host $myhostname.

####################################################################
# THIS IS A WARNING ONLY.  YOU DO NOT NEED TO RESEND YOUR MESSAGE. #
####################################################################

Your message could not be delivered for more than $delay_warning_time_seconds second(s).
It will be retried until it is $maximal_queue_lifetime_seconds second(s) old.

                   The mail system
EOF
"""

    def master_cf(self) -> str:
        smtpd = f"127.0.0.1:{self.smtpd_port} inet n - n - - smtpd"
        services = [
            smtpd,
            "pickup    unix  n       -       n       60      1       pickup",
            "cleanup   unix  n       -       n       -       0       cleanup",
            "qmgr      unix  n       -       n       1       1       qmgr",
            "tlsmgr    unix  -       -       n       1000?   1       tlsmgr",
            "rewrite   unix  -       -       n       -       -       trivial-rewrite",
            "bounce    unix  -       -       n       -       0       bounce",
            "defer     unix  -       -       n       -       0       bounce",
            "trace     unix  -       -       n       -       0       bounce",
            "verify    unix  -       -       n       -       1       verify",
            "flush     unix  n       -       n       1000?   0       flush",
            "proxymap  unix  -       -       n       -       -       proxymap",
            "proxywrite unix -       -       n       -       1       proxymap",
            "smtp      unix  -       -       n       -       -       smtp",
            "relay     unix  -       -       n       -       -       smtp",
            "showq     unix  n       -       n       -       -       showq",
            "error     unix  -       -       n       -       -       error",
            "retry     unix  -       -       n       -       -       error",
            "discard   unix  -       -       n       -       -       discard",
            "anvil     unix  -       -       n       -       1       anvil",
            "scache    unix  -       -       n       -       1       scache",
            "postlog   unix-dgram n  -       n       -       1       postlogd",
        ]
        return "\n".join(services) + "\n"

    # ---- life cycle ----------------------------------------------------------------------------------

    def master_pid(self) -> int | None:
        pid_file = self.queue_directory / "pid" / "master.pid"
        try:
            return int(pid_file.read_text().strip())
        except (OSError, ValueError):
            return None

    def start(self) -> None:
        for directory in (self.config_directory, self.queue_directory, self.data_directory):
            directory.mkdir(parents=True, exist_ok=True)
        shutil.chown(self.data_directory, "postfix", "postfix")  # master.lock, caches: written as postfix
        self.maildir.parent.mkdir(parents=True, exist_ok=True)
        mailbox.Maildir(self.maildir, create=True)
        self.smtpd_port = free_port()
        (self.config_directory / "main.cf").write_text(self.main_cf())
        (self.config_directory / "master.cf").write_text(self.master_cf())
        (self.config_directory / "bounce.cf").write_text(self.bounce_cf())
        self.maillog.touch()
        # `postfix check` creates the queue's sub-directories with the right owners and modes
        self._run([str(POSTFIX), "-c", str(self.config_directory), "check"])
        self._run([str(POSTFIX), "-c", str(self.config_directory), "start"])
        self._wait_listening(self.smtpd_port, 20)

    def _wait_listening(self, port: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
                return
            time.sleep(0.1)
        pytest.fail(f"Postfix smtpd did not listen on 127.0.0.1:{port} within {timeout} s:\n{self.log()}")

    def stop(self) -> None:
        pid = self.master_pid()
        children: list[int] = []
        if pid is not None:
            children = _children(pid)
        with contextlib.suppress(AssertionError, subprocess.TimeoutExpired):
            self._run([str(POSTFIX), "-c", str(self.config_directory), "stop"], timeout=30)
        deadline = time.monotonic() + 10
        remaining = [p for p in [pid, *children] if p is not None]
        while remaining and time.monotonic() < deadline:
            remaining = [p for p in remaining if _alive(p)]
            time.sleep(0.1)
        for leftover in remaining:  # only processes of this instance: its master and that master's children
            with contextlib.suppress(ProcessLookupError):
                os.kill(leftover, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    stat = Path(f"/proc/{pid}/stat")
    with contextlib.suppress(OSError):
        return stat.read_text().split(")")[-1].split()[0] != "Z"
    return False


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if int((entry / "stat").read_text().split(")")[-1].split()[1]) == pid:
                found.append(int(entry.name))
    return found


@contextlib.contextmanager
def postfix_rig(tmp_path: Path | None = None) -> Iterator[PostfixRig]:
    """A running private Postfix + "remote" + bounce sink; stopped (and its leftovers killed) on exit.

    Postfix's daemons (user `postfix`) cannot pass through pytest's 0700 `tmp_path`, so the instance
    lives in a fresh 0755 directory under the system temp dir, linked as `tmp_path/postfix`; only the
    bounce Maildir (written by this process) is inside `tmp_path`.
    """
    from aiosmtpd.controller import Controller

    ensure_postfix_installed()
    base = Path(tempfile.mkdtemp(prefix="postfix-rig-"))
    base.chmod(0o755)
    maildir = (tmp_path if tmp_path is not None else base) / "bounces" / "Maildir"
    rig = PostfixRig(base=base, maildir=maildir)
    if tmp_path is not None:
        (tmp_path / "postfix").symlink_to(base, target_is_directory=True)
    controllers: list[Any] = []
    try:
        rig.remote_port, rig.bounce_port = free_port(), free_port()
        servers = ((_RemoteHandler(rig), rig.remote_port), (_MaildirHandler(rig), rig.bounce_port))
        for handler, port in servers:
            controller = Controller(
                handler, hostname="127.0.0.1", port=port, server_hostname="remote.example"
            )
            controller.start()
            controllers.append(controller)
        rig.start()
        yield rig
    finally:
        try:
            rig.stop()
        finally:
            for controller in controllers:
                controller.stop()
            if tmp_path is not None:
                # keep the evidence next to the test: Postfix's log and configuration
                with contextlib.suppress(OSError):
                    (tmp_path / "postfix").unlink()
                    shutil.copytree(rig.config_directory, tmp_path / "postfix" / "etc")
                    shutil.copy2(rig.maillog, tmp_path / "postfix" / "maillog")
            shutil.rmtree(base, ignore_errors=True)
