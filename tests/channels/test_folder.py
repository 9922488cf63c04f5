"""The folder channel against a real directory, through the shared channel contract."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from channels import create_channel
from channels.base import Channel, Delivered, OutboundDelivery, Retry
from channels.folder import PARTS_DIRECTORY, FolderChannel
from tests.channels.contract import ChannelContract, outbound
from transports.files import WriteGroup


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


# -- through a write group (the worker's claim batch) -----------------------------------------------------


def test_in_a_group_nothing_is_in_place_until_it_settles_then_every_file_is(tmp_path: Path) -> None:
    channel = create_channel("folder", {"directory": str(tmp_path)})
    assert channel.capabilities.writes_in_groups
    group = WriteGroup()
    deliveries = [replace(outbound(channel, n=n), write_group=group) for n in (1, 2)]
    results = [channel.deliver(delivery) for delivery in deliveries]
    assert all(isinstance(result, Delivered) for result in results)
    assert [p for p in tmp_path.rglob("*") if p.is_file() and PARTS_DIRECTORY not in p.parts] == []
    settled = group.settle()
    assert settled.done == {"d00001", "d00002"} and settled.failed == {}
    for delivery, result in zip(deliveries, results, strict=True):
        assert isinstance(result, Delivered) and result.message_id
        written = Path(result.message_id)
        assert written.read_bytes() == delivery.document.content
        sidecar_bytes = written.with_name(written.name.replace(".json", ".sidecar.json")).read_bytes()
        assert b"\n" not in sidecar_bytes  # compact on the hot path
        assert json.loads(sidecar_bytes)["bytes"] == len(delivery.document.content)
    assert list((tmp_path / PARTS_DIRECTORY).iterdir()) == []
    assert not list(tmp_path.rglob(".tmp-*"))


def test_in_a_group_a_write_that_fails_is_a_retry_with_nothing_left_in_the_group(
    tmp_path: Path,
) -> None:
    channel = create_channel("folder", {"directory": str(tmp_path)})
    group = WriteGroup()
    blocked = replace(outbound(channel, n=1, address="blocked"), write_group=group)
    (tmp_path / "acme").mkdir()
    (tmp_path / "acme" / "blocked").write_text("a file where the folder should be")
    assert isinstance(channel.deliver(blocked), Retry)
    assert len(group) == 0
    assert isinstance(channel.deliver(replace(outbound(channel, n=2), write_group=group)), Delivered)
    assert group.settle().done == {"d00002"}


def test_without_a_group_the_sidecar_is_indented_as_before(tmp_path: Path) -> None:
    channel = create_channel("folder", {"directory": str(tmp_path)})
    result = channel.deliver(outbound(channel))
    assert isinstance(result, Delivered) and result.message_id
    written = Path(result.message_id)
    assert (
        b'\n  "delivery_id"' in written.with_name(written.name.replace(".json", ".sidecar.json")).read_bytes()
    )
    assert not (tmp_path / PARTS_DIRECTORY).exists()
