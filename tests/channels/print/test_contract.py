"""The print channel through the batching-channel contract, on both transports, for real.

`folder`: a directory under tmp_path is the print house's drop. A file where the incoming folder should
be is a passing fault (the drop is not mounted yet); an immutable incoming folder (`chattr +i`, which
holds for root too) refuses writes with EPERM, a permission the channel must not retry.

`sftp`: the OpenSSH rig of tests/sftp_server.py, reached through a `DroppingProxy` that cuts the
connection mid-upload when told to; uploading into the root-owned `readonly/` is a refused permission.
The end-to-end cases with the worker and the outbox are beside this file: test_worker_batches.py (batches,
return files, cancelling) and test_sftp_end_to_end.py (the SFTP print house, crashes and takeovers).
"""

from __future__ import annotations

import os
import re
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import pytest

from channels import create_channel
from channels.base import BatchingChannel, OutboundBatch
from channels.print_sftp import PrintChannel
from tests.channels.contract import BatchingChannelContract
from tests.sftp_server import DroppingProxy, OpenSshSftpServer

# The folder transport needs no secret; this is the SFTP block an operator left in the settings when
# switching to a mounted drop, so the masking tests have a secret to look for.
LEFTOVER_SFTP = {
    "host": "print.example.test",
    "username": "gateway",
    "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGgzc+s8MebPhVhqCwn9nf/WBh0918p2vfqqqTW12Z/O",
    "password": "print-sftp-pass-4e9a1c7d",
}


def print_channel(channel: BatchingChannel[Any]) -> PrintChannel:
    assert isinstance(channel, PrintChannel)
    return channel


def committed_copies(names: Iterable[str], batch_id: str) -> int:
    """Entries that are `batch_id` as committed (a directory, `.zip`, `.zip.gpg`), not a try's `.part`."""
    return sum(
        1
        for name in names
        if not name.endswith(".part") and (name == batch_id or name.startswith(f"{batch_id}."))
    )


def listing(directory: Path) -> list[str]:
    return [entry.name for entry in directory.iterdir()] if directory.is_dir() else []


def set_immutable(path: Path, immutable: bool) -> None:
    subprocess.run(["chattr", "+i" if immutable else "-i", str(path)], check=True, capture_output=True)


class TestPrintOnFolder(BatchingChannelContract):
    @pytest.fixture
    def channel(self, tmp_path: Path) -> Iterator[BatchingChannel[Any]]:
        root = tmp_path / "print-house"
        channel = create_channel("print", {"directory": str(root), "sftp": LEFTOVER_SFTP})
        assert isinstance(channel, PrintChannel)
        yield channel
        incoming = self._incoming(channel)
        if incoming.is_dir():
            set_immutable(incoming, False)  # or tmp_path could never be removed

    def _incoming(self, channel: BatchingChannel[Any]) -> Path:
        config = print_channel(channel).config
        assert config.directory is not None
        return config.directory / config.folders.incoming

    def received(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> int:
        return committed_copies(listing(self._incoming(channel)), batch.batch_id)

    def break_transiently(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> None:
        incoming = self._incoming(channel)
        incoming.parent.mkdir(parents=True, exist_ok=True)
        incoming.write_text("a file where the incoming folder should be")

    def break_permanently(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> None:
        incoming = self._incoming(channel)
        incoming.mkdir(parents=True, exist_ok=True)
        set_immutable(incoming, True)


@pytest.fixture(scope="module")
def server() -> Iterator[OpenSshSftpServer]:
    with OpenSshSftpServer() as running:
        yield running


@pytest.fixture
def incoming(server: OpenSshSftpServer, request: pytest.FixtureRequest) -> str:
    """This test's own incoming folder at the print house, owned by the SFTP user."""
    folder = "in/" + re.sub(r"\W+", "_", request.node.name).strip("_")
    directory = server.local(folder)
    directory.mkdir(mode=0o755)
    os.chown(directory, server.uid, server.gid)
    return folder


class TestPrintOverSftp(BatchingChannelContract):
    server: OpenSshSftpServer
    proxy: DroppingProxy

    @pytest.fixture
    def channel(self, server: OpenSshSftpServer, incoming: str) -> Iterator[BatchingChannel[Any]]:
        with DroppingProxy(server.port, drop_connections=0, after_client_bytes=40_000) as proxy:
            self.server, self.proxy = server, proxy
            settings = server.settings(auth="both", port=proxy.port)  # a key and a password to keep secret
            channel = create_channel(
                "print", {"transport": "sftp", "sftp": settings, "folders": {"incoming": incoming}}
            )
            assert isinstance(channel, PrintChannel)
            yield channel

    def received(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> int:
        incoming = self.server.local(print_channel(channel).config.folders.incoming)
        return committed_copies(listing(incoming), batch.batch_id)

    def break_transiently(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> None:
        self.proxy.drop_connections = self.proxy.connections + 1  # the next connection, mid-upload

    def break_permanently(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> None:
        print_channel(channel).config.folders.incoming = "readonly"  # root's: RemotePermissionDenied
