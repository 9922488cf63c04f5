"""The folder channel against a real directory, through the shared channel contract."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from channels import create_channel
from channels.base import Channel, Delivered, OutboundDelivery
from channels.folder import FolderChannel
from tests.channels.contract import ChannelContract, outbound


class TestFolderChannel(ChannelContract):
    @pytest.fixture
    def channel(self, tmp_path: Path) -> Channel[Any]:
        return create_channel("folder", {"directory": str(tmp_path / "out")})

    def _directory(self, channel: Channel[Any], delivery: OutboundDelivery) -> Path:
        assert isinstance(channel, FolderChannel)
        return channel.target_directory(delivery)

    def received(self, channel: Channel[Any], delivery: OutboundDelivery) -> int:
        directory = self._directory(channel, delivery)
        return len([p for p in directory.glob(f"*__{delivery.idempotency_key}.json")])

    def break_transiently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        directory = self._directory(channel, delivery)
        directory.parent.mkdir(parents=True, exist_ok=True)
        directory.write_text("a file where the folder should be")

    def break_permanently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        channel.config.max_document_bytes = 10


def test_document_and_sidecar_are_complete_and_exact(tmp_path: Path) -> None:
    channel = create_channel("folder", {"directory": str(tmp_path)})
    delivery = outbound(channel, n=4, address="buyer/inbox")
    result = channel.deliver(delivery)
    assert isinstance(result, Delivered)
    assert result.message_id
    written = Path(result.message_id)
    assert written.read_bytes() == delivery.document.content
    sidecar = json.loads(written.with_name(written.name.replace(".json", ".sidecar.json")).read_text())
    assert sidecar["bytes"] == len(delivery.document.content)
    assert sidecar["invoice_number"] == "INV-000004"
    assert written.parent == tmp_path / "acme" / "buyer" / "inbox"
    assert not list(tmp_path.rglob(".tmp-*"))


def test_address_cannot_escape_the_directory(tmp_path: Path) -> None:
    channel = create_channel("folder", {"directory": str(tmp_path / "out")})
    delivery = outbound(channel, address="../../etc")
    result = channel.deliver(delivery)
    assert isinstance(result, Delivered)
    assert result.message_id
    assert Path(result.message_id).resolve().is_relative_to((tmp_path / "out").resolve())


def test_crash_before_rename_leaves_no_visible_document(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    channel = create_channel("folder", {"directory": str(tmp_path)})
    delivery = outbound(channel)

    def crash(*_: Any) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    result = channel.deliver(delivery)
    assert "No space left" in repr(result)
    assert [p for p in tmp_path.rglob("*") if p.is_file()] == []


def test_stale_temp_files_of_a_crashed_writer_are_swept(tmp_path: Path) -> None:
    channel = create_channel("folder", {"directory": str(tmp_path), "stale_temp_seconds": 60})
    target = tmp_path / "acme"
    target.mkdir()
    stale, fresh = target / ".tmp-old.part", target / ".tmp-new.part"
    stale.write_bytes(b"half a document")
    fresh.write_bytes(b"another writer, still busy")
    os.utime(stale, (0, 0))
    assert isinstance(channel.deliver(outbound(channel)), Delivered)
    assert not stale.exists()
    assert fresh.exists()
