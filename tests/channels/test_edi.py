"""The EDI channel (folder transport) through the shared channel contract, on a real outbox database.

The channel itself opens no database: the gateway (`channel_context`) numbers and renders the attempt's
interchange and hands it over with the delivery; the channel puts the file in place.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, select
from sqlmodel import col

from channels import create_channel
from channels.base import Channel, DeliveryResult, Failed, OutboundDelivery, Retry, Sent
from channels.context import PartnerInterchange
from channels.edi import EdiChannel
from db.engine import make_engine, migrate, session_scope
from db.models import EdiInterchange, TradingPartnerRecord
from gateway.services.outbound.channel_context import deliver_with_context, prepare
from mappings.base import RenderedDocument
from mappings.syntax import edifact
from tests.channels.contract import ChannelContract, outbound
from tests.channels.test_edi_channel import edi_formats, interchange_files, partner_profile, store_partner

__all__ = ["edi_formats"]  # the autouse fixture that registers the EDI formats if the mappings do not


@pytest.fixture
def outbox(tmp_path: Path) -> Iterator[Engine]:
    """The gateway's database: partners, control numbers and interchanges live there, not in the channel."""
    engine = make_engine(f"sqlite:///{tmp_path / 'outbox.sqlite3'}")
    migrate(engine)
    yield engine
    engine.dispose()


class TestEdiChannel(ChannelContract):
    @pytest.fixture
    def channel(self, outbox: Engine, tmp_path: Path) -> Iterator[Channel[Any]]:
        engine = outbox
        self.engine = engine
        self.directory = tmp_path / "partners" / "ica"
        store_partner(engine, "acme", partner_profile("ica", self.directory))
        channel = create_channel("edi", {"fsync": False})
        yield channel
        channel.close()

    def address(self) -> str:
        return "ica"

    def deliver(self, channel: Channel[Any], delivery: OutboundDelivery) -> DeliveryResult:
        return deliver_with_context(self.engine, channel, delivery)

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
    outbox: Engine, tmp_path: Path
) -> None:
    engine = outbox
    store_partner(engine, "acme", partner_profile("ica", tmp_path / "ica"))
    channel = create_channel("edi", {})
    try:
        assert isinstance(channel, EdiChannel)
        first = deliver_with_context(engine, channel, outbound(channel, n=1, address="ica"))
        second = deliver_with_context(engine, channel, outbound(channel, n=2, address="ica"))
    finally:
        channel.close()
    assert isinstance(first, Sent) and first.message_id == "ica:1", first
    assert isinstance(second, Sent) and second.message_id == "ica:2", second
    assert [p.name.split(".")[0] for p in interchange_files(tmp_path / "ica")] == ["ica_1", "ica_2"]
    assert not list((tmp_path / "ica").glob(".*"))  # no part file left behind


def test_a_profile_changed_to_another_standard_between_tries_is_a_deviation(
    outbox: Engine, tmp_path: Path
) -> None:
    engine = outbox
    store_partner(engine, "acme", partner_profile("ica", tmp_path / "ica"))
    channel = create_channel("edi", {})
    try:
        delivery = outbound(channel, address="ica")
        (tmp_path / "ica").parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / "ica").write_text("not yet a folder")  # the first try fails after numbering
        assert isinstance(deliver_with_context(engine, channel, delivery), Retry)
        (tmp_path / "ica").unlink()
        store_partner(engine, "acme", partner_profile("ica", tmp_path / "ica", message_format="x12-810"))
        result = deliver_with_context(engine, channel, delivery)
    finally:
        channel.close()
    assert isinstance(result, Failed) and result.deviation, result
    assert "numbered as edifact INVOIC, but the profile now says x12-810" in result.reason
    assert interchange_files(tmp_path / "ica") == []


def test_the_gateway_numbers_each_attempt_once_and_hands_the_same_interchange_on_every_try(
    outbox: Engine, tmp_path: Path
) -> None:
    store_partner(outbox, "acme", partner_profile("ica", tmp_path / "ica", ack_requested=True))
    channel = create_channel("edi", {"fsync": False})
    try:
        first = prepare(outbox, channel, outbound(channel, address="ica"))
        again = prepare(outbox, channel, outbound(channel, address="ica"))  # the same attempt, a later try
        resend = prepare(outbox, channel, outbound(channel, attempt=2, address="ica"))
    finally:
        channel.close()
    assert isinstance(first, OutboundDelivery) and first.edi is not None
    assert isinstance(again, OutboundDelivery) and again.edi is not None
    assert isinstance(resend, OutboundDelivery) and resend.edi is not None
    assert (first.edi.partner.partner_id, first.edi.message_type) == ("ica", "INVOIC")
    assert (first.edi.interchange_ref, first.edi.group_ref, first.edi.message_refs) == ("1", "1", ("1",))
    assert again.edi == first.edi  # same numbers, same bytes
    assert (resend.edi.interchange_ref, resend.edi.message_refs) == ("2", ("2",))
    interchange = edifact.parse(first.edi.document.content)
    assert (interchange.control_ref, interchange.ack_requested) == ("1", "1")
    with session_scope(outbox) as session:
        rows = [(r.attempt, r.interchange_ref) for r in session.execute(select(EdiInterchange)).scalars()]
    assert sorted(rows) == [(1, "1"), (2, "2")]


def test_the_channel_only_puts_the_file_in_place(tmp_path: Path) -> None:
    """With its context handed over, the channel needs nothing else: no database, no numbering."""
    partner = partner_profile("ica", tmp_path / "ica")
    channel = create_channel("edi", {"fsync": False})
    bare = outbound(channel, address="ica")
    for acknowledgement, name in ((False, "ica_77.edi"), (True, "ica_ack_77.edi")):
        document = RenderedDocument("edifact-d96a", f"UNB {name}'".encode(), "application/EDIFACT", "edi")
        interchange = PartnerInterchange(
            partner=partner,
            message_type="CONTRL" if acknowledgement else "INVOIC",
            interchange_ref="77",
            group_ref=None,
            message_refs=("9",),
            document=document,
            acknowledgement=acknowledgement,
        )
        result = channel.deliver(dataclasses.replace(bare, edi=interchange))
        assert isinstance(result, Sent) and result.message_id == "ica:77", result
        assert result.where == str(tmp_path / "ica" / name)
        assert (tmp_path / "ica" / name).read_bytes() == document.content
        repeated = channel.deliver(dataclasses.replace(bare, edi=interchange))
        assert isinstance(repeated, Sent) and "already written by an earlier try" in (repeated.detail or "")
    channel.close()
    assert sorted(p.name for p in (tmp_path / "ica").iterdir()) == ["ica_77.edi", "ica_ack_77.edi"]


def test_a_delivery_the_channel_refuses_spends_no_number_and_the_unexpected_is_a_retry(
    outbox: Engine, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store_partner(outbox, "acme", partner_profile("ica", tmp_path / "ica"))
    small = create_channel("edi", {"max_document_bytes": 10})
    too_large = deliver_with_context(outbox, small, outbound(small, address="ica"))
    assert isinstance(too_large, Failed) and "takes at most 10" in too_large.reason, too_large
    with session_scope(outbox) as session:
        assert session.execute(select(EdiInterchange)).first() is None  # refused before any numbering

    import gateway.services.outbound.channel_context as channel_context

    def broken(*_: Any, **__: Any) -> Any:
        raise RuntimeError("the counter table is haunted")

    monkeypatch.setattr(channel_context, "interchange_for_attempt", broken)
    channel = create_channel("edi", {})
    result = deliver_with_context(outbox, channel, outbound(channel, address="ica"))
    assert isinstance(result, Retry) and "the counter table is haunted" in result.reason, result
    assert interchange_files(tmp_path / "ica") == []
