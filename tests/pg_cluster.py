"""A private PostgreSQL server for tests that stop and start it: `initdb` + `pg_ctl` on a free loopback port.

    with PostgresCluster() as cluster:
        url = cluster.create_database("outbox")       # postgresql+psycopg://postgres@127.0.0.1:<port>/outbox
        cluster.stop()                                 # pg_ctl stop -m fast: every connection is cut
        cluster.start()

The shared test server (127.0.0.1:5432) cannot be restarted without disturbing every other test, so a test
of a database outage starts its own. The cluster lives in a fresh directory under the system's temporary
folder (not pytest's `tmp_path`, which is private to root); `initdb` refuses to run as root, so as root
the directory is given to the `postgres` system user and every server command runs as that user through
`runuser`. Unix sockets go into the cluster's own directory; clients connect over TCP on 127.0.0.1 with
trust authentication. `fsync=off`: a test server that loses its data in a power cut loses nothing.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path
from types import TracebackType

import psycopg

#: Where Debian keeps the server's binaries (initdb is not on PATH there).
_BIN_DIRS = sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)


def _binary(name: str) -> str:
    for folder in _BIN_DIRS:
        if (folder / name).exists():
            return str(folder / name)
    found = shutil.which(name)
    if found is None:
        raise RuntimeError(f"PostgreSQL's {name} is not installed (looked in {_BIN_DIRS} and on PATH)")
    return found


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PostgresCluster:
    """One private PostgreSQL server; `close()` (or leaving the `with`) stops it and removes its files."""

    def __init__(self) -> None:
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="gateway-pg-"))
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self._as_postgres = os.geteuid() == 0
        if self._as_postgres:
            user = pwd.getpwnam("postgres")
            os.chown(self.root, user.pw_uid, user.pw_gid)
        self._run(
            _binary("initdb"), "-D", str(self.data), "-U", "postgres", "-A", "trust",
            "-E", "UTF8", "--locale=C", "--no-sync", "--no-instructions",
        )  # fmt: skip
        self.running = False
        self.start()

    def _run(self, *command: str) -> str:
        argv = ["runuser", "-u", "postgres", "--", *command] if self._as_postgres else list(command)
        done = subprocess.run(argv, capture_output=True, text=True, cwd=self.root, check=False, timeout=120)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")
        return done.stdout

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.root} "
            "-c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=60"
        )
        self._run(_binary("pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-o", options, "-w", "start")
        self.running = True

    def stop(self, mode: str = "fast") -> None:
        """Stop the server: `fast` cuts every connection (their transactions roll back), as a restart does."""
        self._run(_binary("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")
        self.running = False

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str) -> str:
        """A new, empty database; its SQLAlchemy URL."""
        with psycopg.connect(
            f"host=127.0.0.1 port={self.port} user=postgres dbname=postgres", autocommit=True
        ) as db:
            db.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def close(self) -> None:
        try:
            if self.running:
                self.stop("immediate")
        finally:
            shutil.rmtree(self.root, ignore_errors=True)

    def __enter__(self) -> PostgresCluster:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()
