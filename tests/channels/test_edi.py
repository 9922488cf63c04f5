"""The EDI channel (folder transport) through the shared channel contract, on a real outbox database."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col

from channels import create_channel
from channels.base import Channel, Failed, OutboundDelivery, Retry, Sent
from channels.edi import EdiChannel
from db.engine import make_engine, migrate, session_scope
from db.models import EdiInterchange, TradingPartnerRecord
from mappings.syntax import edifact
from tests.channels.contract import ChannelContract, outbound
from tests.channels.test_edi_channel import edi_formats, interchange_files, partner_profile, store_partner

__all__ = ["edi_formats"]  # the autouse fixture that registers the EDI formats if the mappings do not


@pytest.fixture
def registry(tmp_path: Path) -> Iterator[tuple[str, Engine]]:
    url = f"sqlite:///{tmp_path / 'outbox.sqlite3'}"
    engine = make_engine(url)
    migrate(engine)
    yield url, engine
    engine.dispose()


class TestEdiChannel(ChannelContract):
    @pytest.fixture
    def channel(self, registry: tuple[str, Engine], tmp_path: Path) -> Iterator[Channel[Any]]:
        url, engine = registry
        self.engine = engine
        self.directory = tmp_path / "partners" / "ica"
        store_partner(engine, "acme", partner_profile("ica", self.directory))
        channel = create_channel("edi", {"registry_url": url, "fsync": False})
        yield channel
        channel.close()

    def address(self) -> str:
        return "ica"

    def received(self, channel: Channel[Any], delivery: OutboundDelivery) -> int:
        """Interchange files in the partner's folder that carry this delivery attempt's numbers."""
        with session_scope(self.engine) as session:
            refs = {
                row.interchange_ref: (row.delivery_id, row.attempt)
                for row in session.execute(select(EdiInterchange)).scalars()
            }
        files = interchange_files(self.directory)
        controls = [edifact.parse(path.read_bytes()).control_ref for path in files]
        assert len(set(controls)) == len(controls), "two files with one interchange number"
        return sum(1 for ref in controls if refs.get(ref) == (delivery.delivery_id, delivery.attempt))

    def break_transiently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        self.directory.parent.mkdir(parents=True, exist_ok=True)
        self.directory.write_text("a file where the partner's folder should be")

    def break_permanently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        with session_scope(self.engine) as session:
            record = session.execute(
                select(TradingPartnerRecord).where(col(TradingPartnerRecord.partner_id) == "ica")
            ).scalar_one()
            record.profile = {**record.profile, "message_format": "edifact-d77z"}
            session.add(record)


def test_message_id_names_the_partner_and_the_interchange(
    registry: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = registry
    store_partner(engine, "acme", partner_profile("ica", tmp_path / "ica"))
    channel = create_channel("edi", {"registry_url": url})
    try:
        assert isinstance(channel, EdiChannel)
        first = channel.deliver(outbound(channel, n=1, address="ica"))
        second = channel.deliver(outbound(channel, n=2, address="ica"))
    finally:
        channel.close()
    assert isinstance(first, Sent) and first.message_id == "ica:1", first
    assert isinstance(second, Sent) and second.message_id == "ica:2", second
    assert [p.name.split(".")[0] for p in interchange_files(tmp_path / "ica")] == ["ica_1", "ica_2"]
    assert not list((tmp_path / "ica").glob(".*"))  # no part file left behind


def test_a_profile_changed_to_another_standard_between_tries_is_a_deviation(
    registry: tuple[str, Engine], tmp_path: Path
) -> None:
    url, engine = registry
    store_partner(engine, "acme", partner_profile("ica", tmp_path / "ica"))
    channel = create_channel("edi", {"registry_url": url})
    try:
        delivery = outbound(channel, address="ica")
        (tmp_path / "ica").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "ica").write_text("not yet a folder")  # the first try fails after numbering
        assert isinstance(channel.deliver(delivery), Retry)
        (tmp_path / "ica").unlink()
        store_partner(engine, "acme", partner_profile("ica", tmp_path / "ica", message_format="x12-810"))
        result = channel.deliver(delivery)
    finally:
        channel.close()
    assert isinstance(result, Failed) and result.deviation, result
    assert "numbered as edifact INVOIC, but the profile now says x12-810" in result.reason
    assert interchange_files(tmp_path / "ica") == []
