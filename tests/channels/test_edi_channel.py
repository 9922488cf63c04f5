"""The EDI channel end to end: partner profiles, control numbers, files read back, SFTP, API and CLI.

Everything is real: the outbox (SQLite and PostgreSQL), the worker, the message mappings, the EDIFACT and
X12 syntax layer that reads the files back, OpenSSH's sshd for the SFTP transport, and (on PostgreSQL)
four worker processes counting control numbers at the same time.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select, update
from sqlmodel import col
from typer.testing import CliRunner

from channels import create_channel
from channels.base import Failed, OutboundDelivery, Sent
from channels.context import ChannelNeed, DocumentKind
from channels.edi import EdiChannel
from db.engine import make_engine, migrate, session_scope
from db.models import Delivery, EdiControlCounter, EdiInterchange, InvoiceRecord, TradingPartnerRecord
from gateway.samples import sample_invoice, sample_invoice_json
from gateway.services.outbound import deliveries as service
from gateway.services.outbound.channel_context import deliver_with_context
from gateway.services.outbound.intake import IntakeItem, accept_invoices
from gateway.services.tenancy.edi_partners import get_partner, put_partner
from gateway.services.tenancy.tenants import ensure_tenant, put_receiver
from gateway.settings import Settings
from gateway.worker import Worker
from mappings import FORMATS, FormatEntry, render
from mappings.base import FormatError, RenderedDocument
from mappings.syntax.edifact import parse as parse_edifact
from mappings.syntax.x12 import parse as parse_x12
from schemas.canonical import Invoice, ReceiverProfile
from schemas.edi_partner import TradingPartner
from tests.conftest import DATABASES, PostgresSchema
from tests.sftp_server import OpenSshSftpServer, free_port

ROOT = Path(__file__).resolve().parents[2]
US = {"id": "7080000000009", "qualifier": "14"}
THEM = {"id": "7300009000003", "qualifier": "14"}
X12_US = {"id": "NORDLYS", "qualifier": "ZZ"}
X12_THEM = {"id": "123456789", "qualifier": "01"}


# -- the formats, until the mappings register them ----------------------------------------------------


def render_edifact_d96a(invoice: Invoice, options: Any = None) -> RenderedDocument:
    from mappings.invoice import edifact_invoic

    return edifact_invoic.render(invoice, options, version="D96A")


def render_edifact_d01b(invoice: Invoice, options: Any = None) -> RenderedDocument:
    from mappings.invoice import edifact_invoic

    return edifact_invoic.render(invoice, options, version="D01B")


def render_x12_4010(invoice: Invoice, options: Any = None) -> RenderedDocument:
    from mappings.invoice import x12_810

    return x12_810.render(invoice, options, version="004010")


def render_x12_5010(invoice: Invoice, options: Any = None) -> RenderedDocument:
    from mappings.invoice import x12_810

    return x12_810.render(invoice, options, version="005010")


FALLBACK_FORMATS = {
    "edifact-d96a": FormatEntry(kind="invoice", description="", render=f"{__name__}:render_edifact_d96a"),
    "edifact-d01b": FormatEntry(kind="invoice", description="", render=f"{__name__}:render_edifact_d01b"),
    "x12-810": FormatEntry(kind="invoice", description="", render=f"{__name__}:render_x12_4010"),
    "x12-810-5010": FormatEntry(kind="invoice", description="", render=f"{__name__}:render_x12_5010"),
}


def register_missing_formats() -> None:
    """Give the worker's renderer the EDI formats the registry does not list (for worker subprocesses)."""
    for name, entry in FALLBACK_FORMATS.items():
        if name not in FORMATS or FORMATS[name].render is None:
            FORMATS[name] = entry


@pytest.fixture(autouse=True)
def edi_formats(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, entry in FALLBACK_FORMATS.items():
        if name not in FORMATS or FORMATS[name].render is None:
            monkeypatch.setitem(FORMATS, name, entry)


# -- partners and invoices ---------------------------------------------------------------------------


def partner_profile(partner_id: str, directory: Path | None = None, **changes: Any) -> TradingPartner:
    """A trading partner; folder transport into `directory` unless `transport` is given."""
    values: dict[str, Any] = {
        "partner_id": partner_id,
        "name": f"Partner {partner_id}",
        "message_format": "edifact-d96a",
        "us": US,
        "them": THEM,
        "syntax_id": "UNOC",
        "transport": {"kind": "folder", "directory": str(directory)},
    }
    if str(changes.get("message_format", "")).startswith("x12"):
        values.update(us=X12_US, them=X12_THEM)
    values.update(changes)
    return TradingPartner.model_validate(values)


def store_partner(engine: Engine, tenant: str, partner: TradingPartner) -> None:
    """The tenant and the partner's profile, as `gateway partner put` stores them."""
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
        put_partner(session, tenant, partner)


def accept(
    engine: Engine, partner_id: str | None, numbers: range, tenant: str = "acme", **routing: Any
) -> list[str]:
    """Accept sample invoices `numbers` routed to the EDI channel at `partner_id`; their invoice ids."""
    with session_scope(engine) as session:
        ensure_tenant(session, tenant)
    items = []
    for n in numbers:
        payload = sample_invoice_json(n)
        payload["routing"] = routing or {"channel": "edi", "address": partner_id}
        items.append(IntakeItem(payload))
    results = accept_invoices(engine, tenant, items, actor="test", default_channel="folder")
    assert [r.outcome for r in results] == ["created"] * len(numbers), [r.errors for r in results]
    return [r.invoice_id or "" for r in results]


def delivery_of(engine: Engine, invoice_id: str, tenant: str = "acme") -> dict[str, Any]:
    with session_scope(engine) as session:
        view = service.invoice_view(session, tenant, invoice_id)
    [delivery] = view["deliveries"]
    return dict(delivery)


def interchange_of(engine: Engine, delivery_id: str, attempt: int = 1) -> EdiInterchange:
    with session_scope(engine) as session:
        return session.execute(
            select(EdiInterchange).where(
                col(EdiInterchange.delivery_id) == delivery_id, col(EdiInterchange.attempt) == attempt
            )
        ).scalar_one()


def interchange_files(directory: Path) -> list[Path]:
    """The interchanges a partner would pick up (not hidden, not unfinished)."""
    if not directory.is_dir():
        return []
    return sorted(
        p for p in directory.iterdir() if not p.name.startswith(".") and not p.name.endswith(".part")
    )


def work(engine: Engine, settings: Settings) -> Counter[str]:
    return Worker(engine, settings, worker_id="w").run(once=True).outcomes


# -- EDIFACT and X12 end to end ----------------------------------------------------------------------


def test_an_edifact_partner_gets_an_interchange_it_can_read(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    directory = tmp_path / "edi" / "ica"
    store_partner(engine, "acme", partner_profile("ica", directory, test=True, ack_requested=True))
    with session_scope(engine) as session:
        put_receiver(
            session,
            "acme",
            ReceiverProfile(receiver_id="ica-buyer", preferred_channel="edi", addresses={"edi": "ica"}),
        )
    [invoice_id] = accept(engine, None, range(1, 2), receiver_id="ica-buyer")
    assert work(engine, settings) == {"sent": 1}

    delivery = delivery_of(engine, invoice_id)
    row = interchange_of(engine, delivery["id"])
    assert (row.standard, row.message_type, row.partner_id, row.direction) == (
        "edifact",
        "INVOIC",
        "ica",
        "out",
    )
    assert (row.interchange_ref, row.group_ref, row.message_refs) == ("1", "1", ["1"])
    assert row.invoice_id == invoice_id and row.ack_due_at is not None
    assert delivery["status"] == "sent"
    assert delivery["channel_message_id"] == "ica:1"

    [path] = interchange_files(directory)
    assert path.name.startswith("ica_1.")
    interchange = parse_edifact(path.read_bytes())
    assert (interchange.syntax_id, interchange.syntax_version) == ("UNOC", 3)
    assert (interchange.sender.id, interchange.sender.qualifier) == (US["id"], US["qualifier"])
    assert (interchange.recipient.id, interchange.recipient.qualifier) == (THEM["id"], THEM["qualifier"])
    assert interchange.control_ref == row.interchange_ref
    assert interchange.is_test
    assert interchange.ack_requested == "1"
    [message] = interchange.all_messages
    assert (message.type, message.version, message.release) == ("INVOIC", "D", "96A")
    assert message.reference == row.message_refs[0]
    bgm = next(segment for segment in message.segments if segment.tag == "BGM")
    assert bgm.get(2) == "INV-000001"
    assert "Nordlys Verktøy AS" in path.read_bytes().decode("iso8859-1")  # UNOC is Latin-1
    # the interchange was prepared when its numbers were fixed (UNB S004, to the minute)
    assert interchange.prepared[1] == row.created_at.strftime("%H%M")


def test_an_x12_partner_gets_an_810_with_its_control_numbers(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    directory = tmp_path / "edi" / "walmart"
    store_partner(engine, "acme", partner_profile("walmart", directory, message_format="x12-810"))
    invoice_ids = accept(engine, "walmart", range(1, 3))
    assert work(engine, settings) == {"sent": 2}

    for invoice_id in invoice_ids:
        delivery = delivery_of(engine, invoice_id)
        row = interchange_of(engine, delivery["id"])
        assert (row.standard, row.message_type) == ("x12", "810")
        assert delivery["channel_message_id"] == f"walmart:{row.interchange_ref}"
        [path] = [
            p for p in interchange_files(directory) if p.name.startswith(f"walmart_{row.interchange_ref}.")
        ]
        interchange = parse_x12(path.read_bytes())
        assert (interchange.sender.qualifier, interchange.sender.id) == (X12_US["qualifier"], X12_US["id"])
        assert (interchange.receiver.qualifier, interchange.receiver.id) == (
            X12_THEM["qualifier"],
            X12_THEM["id"],
        )
        assert int(interchange.control_number) == int(row.interchange_ref)  # ISA13
        assert len(interchange.control_number) == 9
        assert not interchange.is_test
        [group] = interchange.groups
        assert group.functional_id == "IN"
        assert group.version.startswith("004010")
        assert int(group.control_number) == int(row.group_ref or "")  # GS06
        [transaction] = group.transactions
        assert transaction.set_id == "810"
        assert int(transaction.control_number) == int(row.message_refs[0])  # ST02
    refs = sorted(
        int(interchange_of(engine, delivery_of(engine, i)["id"]).interchange_ref) for i in invoice_ids
    )
    assert refs == [1, 2]


def test_control_numbers_count_per_partner_and_per_tenant(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    for tenant in ("acme", "globex"):
        store_partner(engine, tenant, partner_profile("ica", tmp_path / tenant / "ica"))
        store_partner(engine, tenant, partner_profile("coop", tmp_path / tenant / "coop"))
    ica = accept(engine, "ica", range(1, 4))
    coop = accept(engine, "coop", range(4, 6))
    globex = accept(engine, "ica", range(1, 3), tenant="globex")
    assert work(engine, settings) == {"sent": 7}

    def refs(invoice_ids: list[str], tenant: str = "acme") -> list[tuple[str, str, str]]:
        rows = [interchange_of(engine, delivery_of(engine, i, tenant)["id"]) for i in invoice_ids]
        return sorted(
            ((r.interchange_ref, r.group_ref or "", r.message_refs[0]) for r in rows), key=lambda t: int(t[0])
        )

    assert refs(ica) == [("1", "1", "1"), ("2", "2", "2"), ("3", "3", "3")]
    assert refs(coop) == [("1", "1", "1"), ("2", "2", "2")]
    assert refs(globex, "globex") == [("1", "1", "1"), ("2", "2", "2")]
    assert [p.name.split(".")[0] for p in interchange_files(tmp_path / "acme" / "ica")] == [
        "ica_1",
        "ica_2",
        "ica_3",
    ]
    assert len(interchange_files(tmp_path / "globex" / "ica")) == 2
    # each file carries its own delivery's invoice under its own numbers
    for invoice_id in ica:
        delivery = delivery_of(engine, invoice_id)
        row = interchange_of(engine, delivery["id"])
        [path] = (tmp_path / "acme" / "ica").glob(f"ica_{row.interchange_ref}.*")
        message = parse_edifact(path.read_bytes()).all_messages[0]
        with session_scope(engine) as session:
            number = session.get(InvoiceRecord, invoice_id)
            assert number is not None
        assert next(s for s in message.segments if s.tag == "BGM").get(2) == number.number


def test_a_retried_try_writes_the_same_interchange_under_the_same_numbers(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    directory = tmp_path / "edi" / "ica"
    settings.channels = {"edi": {"retry": {"base_seconds": 60, "jitter": False}}}
    store_partner(engine, "acme", partner_profile("ica", directory))
    directory.parent.mkdir(parents=True)
    directory.write_text("a file where the partner's folder should be")  # the first write fails
    [invoice_id] = accept(engine, "ica", range(1, 2))
    assert work(engine, settings) == {"queued": 1}

    delivery = delivery_of(engine, invoice_id)
    assert delivery["tries"] == 1 and "writing to" in delivery["last_error"]
    first = interchange_of(engine, delivery["id"])
    assert first.interchange_ref == "1"  # the numbers were fixed before the write was tried

    directory.unlink()  # fixed; the retry is due
    with session_scope(engine) as session:
        session.execute(update(Delivery).values(next_attempt_at=dt.datetime.now(dt.UTC)))
    assert work(engine, settings) == {"sent": 1}
    again = interchange_of(engine, delivery["id"])
    assert (again.id, again.interchange_ref, again.created_at) == (first.id, "1", first.created_at)
    [path] = interchange_files(directory)
    assert path.name.startswith("ica_1.")
    with session_scope(engine) as session:
        counters = {c.kind: c.last_value for c in session.execute(select(EdiControlCounter)).scalars()}
    assert counters == {"interchange": 1, "group": 1, "message": 1}  # the failed try spent no number

    # the same try once more (a worker that died after writing): same name, same bytes, not rewritten
    written = path.read_bytes()
    inode = path.stat().st_ino
    edi = create_channel("edi", settings.channel_settings("edi"))
    assert isinstance(edi, EdiChannel)
    try:
        outbound = _outbound_for(engine, edi, delivery["id"])
        result = deliver_with_context(engine, edi, outbound)
        assert isinstance(result, Sent) and "already written" in (result.detail or ""), result
        assert path.stat().st_ino == inode
        path.unlink()  # … and had it been lost, the same try writes the very same bytes again
        result = deliver_with_context(engine, edi, outbound)
        assert isinstance(result, Sent) and result.message_id == "ica:1", result
        assert interchange_files(directory) == [path]
        assert path.read_bytes() == written
    finally:
        edi.close()

    # the next invoice gets the next number: nothing was spent twice or skipped
    [second] = accept(engine, "ica", range(2, 3))
    assert work(engine, settings) == {"sent": 1}
    assert interchange_of(engine, delivery_of(engine, second)["id"]).interchange_ref == "2"


def _outbound_for(engine: Engine, channel: EdiChannel, delivery_id: str) -> OutboundDelivery:
    """The delivery's current attempt as the worker hands it to the channel."""
    with session_scope(engine) as session:
        delivery = session.get(Delivery, delivery_id)
        assert delivery is not None
        record = session.get(InvoiceRecord, delivery.invoice_id)
        assert record is not None
        from mappings.invoice import canonical_json

        invoice = canonical_json.parse(record.payload)
        return OutboundDelivery(
            delivery_id=delivery.id,
            invoice_id=delivery.invoice_id,
            tenant_id=delivery.tenant_id,
            attempt=delivery.attempt,
            address=delivery.address,
            document=render(delivery.format or channel.capabilities.default_format, invoice),
            invoice=invoice,
        )


def test_a_resend_is_a_new_attempt_with_new_numbers(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    directory = tmp_path / "edi" / "ica"
    store_partner(engine, "acme", partner_profile("ica", directory))
    [invoice_id] = accept(engine, "ica", range(1, 2))
    assert work(engine, settings) == {"sent": 1}
    delivery = delivery_of(engine, invoice_id)
    with session_scope(engine) as session:
        row = session.get(Delivery, delivery["id"])
        assert row is not None
        service.resend(session, row, actor="test", reason="partner lost it")
    assert work(engine, settings) == {"sent": 1}
    assert interchange_of(engine, delivery["id"], attempt=1).interchange_ref == "1"
    assert interchange_of(engine, delivery["id"], attempt=2).interchange_ref == "2"
    assert delivery_of(engine, invoice_id)["channel_message_id"] == "ica:2"
    assert [p.name.split(".")[0] for p in interchange_files(directory)] == ["ica_1", "ica_2"]


def test_an_unknown_partner_is_a_deviation_naming_it(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    store_partner(engine, "globex", partner_profile("ica", tmp_path / "globex"))  # another tenant's partner
    [invoice_id] = accept(engine, "ica", range(1, 2))
    assert work(engine, settings) == {"deviation": 1}
    delivery = delivery_of(engine, invoice_id)
    assert "unknown trading partner 'ica'" in delivery["last_error"]
    with session_scope(engine) as session:
        assert session.execute(select(EdiInterchange)).first() is None
        assert session.execute(select(EdiControlCounter)).first() is None


def test_a_stored_profile_that_no_longer_validates_is_a_deviation(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    store_partner(engine, "acme", partner_profile("ica", tmp_path / "ica"))
    with session_scope(engine) as session:
        record = session.execute(select(TradingPartnerRecord)).scalar_one()
        record.profile = {**record.profile, "syntax_id": "UNOZ", "secret_note": "hunter2"}
        session.add(record)
    [invoice_id] = accept(engine, "ica", range(1, 2))
    assert work(engine, settings) == {"deviation": 1}
    reason = delivery_of(engine, invoice_id)["last_error"]
    assert "trading partner 'ica'" in reason and "no longer validates" in reason
    assert "syntax_id" in reason and "secret_note" in reason
    assert "hunter2" not in reason  # the stored values are not repeated


def test_without_a_partner_address_the_delivery_is_a_deviation(engine: Engine, settings: Settings) -> None:
    [invoice_id] = accept(engine, None, range(1, 2), channel="edi")
    assert work(engine, settings) == {"deviation": 1}
    assert "needs a receiver address" in delivery_of(engine, invoice_id)["last_error"]


def test_the_partners_format_wins_and_the_detail_says_so(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    directory = tmp_path / "edi" / "walmart"
    store_partner(engine, "acme", partner_profile("walmart", directory, message_format="x12-810-5010"))
    [invoice_id] = accept(engine, "walmart", range(1, 2))  # the channel's default format: edifact-d96a
    assert work(engine, settings) == {"sent": 1}
    delivery = delivery_of(engine, invoice_id)
    with session_scope(engine) as session:
        events = service.invoice_view(session, "acme", invoice_id)["deliveries"][0]["events"]
    assert "rendered as x12-810-5010, the partner's format, not edifact-d96a" in events[-1]["reason"]
    assert delivery["channel_message_id"] == "walmart:1"
    [path] = interchange_files(directory)
    assert parse_x12(path.read_bytes()).groups[0].version.startswith("005010")


def test_a_rendering_error_is_a_deviation_and_spends_no_number(
    engine: Engine, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import channels.edi

    def refuse(*_: Any, **__: Any) -> RenderedDocument:
        raise FormatError("BGM.1004", "the document number is too long for this partner")

    store_partner(engine, "acme", partner_profile("ica", tmp_path / "ica"))
    [invoice_id] = accept(engine, "ica", range(1, 2))
    monkeypatch.setattr(channels.edi, "render", refuse)
    assert work(engine, settings) == {"deviation": 1}
    reason = delivery_of(engine, invoice_id)["last_error"]
    assert "cannot render edifact-d96a for trading partner 'ica'" in reason
    assert "BGM.1004: the document number is too long" in reason
    with session_scope(engine) as session:
        assert session.execute(select(EdiInterchange)).first() is None
        assert [c.last_value for c in session.execute(select(EdiControlCounter)).scalars()] in ([], [0, 0, 0])
    assert interchange_files(tmp_path / "ica") == []


def test_a_unoa_partner_gets_upper_case_and_a_character_unoa_lacks_is_a_deviation(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    """UNOA (level A) has no lower case and no ø: the INVOIC mapping writes text in upper case and refuses
    what level A cannot carry, naming the canonical field."""
    directory = tmp_path / "edi" / "unoa"
    store_partner(engine, "acme", partner_profile("unoa", directory, syntax_id="UNOA"))
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
    plain = json.loads(json.dumps(sample_invoice_json(1)).replace("\\u00f8", "o"))  # "Nordlys Verktoy AS"
    del plain["seller"]["contact"]["email"]  # "@" is not in level A either
    norwegian = sample_invoice_json(2)  # "Nordlys Verktøy AS"
    for payload in (plain, norwegian):
        payload["routing"] = {"channel": "edi", "address": "unoa"}
    results = accept_invoices(
        engine, "acme", [IntakeItem(plain), IntakeItem(norwegian)], actor="test", default_channel="folder"
    )
    ascii_id, norwegian_id = (r.invoice_id or "" for r in results)
    assert work(engine, settings) == {"sent": 1, "deviation": 1}

    row = interchange_of(engine, delivery_of(engine, ascii_id)["id"])
    [path] = interchange_files(directory)
    data = path.read_bytes()
    interchange = parse_edifact(data)  # the syntax layer checks the level A repertoire when reading
    assert (interchange.syntax_id, interchange.control_ref) == ("UNOA", row.interchange_ref)
    text = data.decode("ascii")
    assert text == text.upper()
    assert "NORDLYS VERKTOY AS" in text and "Nordlys" not in text

    reason = delivery_of(engine, norwegian_id)["last_error"]
    assert "cannot render edifact-d96a for trading partner 'unoa'" in reason
    assert re.search(r"seller\.name: character '.' cannot be written in UNOA", reason), reason
    with session_scope(engine) as session:  # the refused one spent no number
        assert len(list(session.execute(select(EdiInterchange)).scalars())) == 1


# -- SFTP ----------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[OpenSshSftpServer]:
    with OpenSshSftpServer() as running:
        yield running


@pytest.fixture
def outgoing(server: OpenSshSftpServer, request: pytest.FixtureRequest) -> str:
    """This test's own outgoing folder on the partner's server: `out/<test name>`."""
    name = "out/" + re.sub(r"\W+", "_", request.node.name).strip("_")
    directory = server.local(name)
    directory.mkdir(mode=0o755)
    os.chown(directory, server.uid, server.gid)
    return name


def sftp_partner(server: OpenSshSftpServer, outgoing: str, **sftp: Any) -> TradingPartner:
    settings = server.settings(auth="password", **sftp).model_dump()
    for name in ("password", "private_key", "private_key_passphrase"):
        if settings.get(name) is not None:
            settings[name] = settings[name].get_secret_value()
    return partner_profile(
        "ica",
        transport={
            "kind": "sftp",
            "sftp": {k: v for k, v in settings.items() if v is not None},
            "outgoing": outgoing,
        },
    )


def all_reasons(engine: Engine, invoice_ids: list[str]) -> str:
    with session_scope(engine) as session:
        views = [service.invoice_view(session, "acme", i) for i in invoice_ids]
    return json.dumps(views)


def test_sftp_transport_uploads_the_interchange_once(
    engine: Engine,
    settings: Settings,
    server: OpenSshSftpServer,
    outgoing: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    partner = sftp_partner(server, outgoing)
    store_partner(engine, "acme", partner)
    invoice_ids = accept(engine, "ica", range(1, 3))
    assert work(engine, settings) == {"sent": 2}
    files = sorted(p.name for p in server.local(outgoing).iterdir())
    assert [name.split(".")[0] for name in files] == ["ica_1", "ica_2"]  # no .part left beside them
    for invoice_id in invoice_ids:
        delivery = delivery_of(engine, invoice_id)
        row = interchange_of(engine, delivery["id"])
        [name] = [n for n in files if n.startswith(f"ica_{row.interchange_ref}.")]
        interchange = parse_edifact(server.local(f"{outgoing}/{name}").read_bytes())
        assert interchange.control_ref == row.interchange_ref
        assert interchange.all_messages[0].reference == row.message_refs[0]
        assert delivery["channel_message_id"] == f"ica:{row.interchange_ref}"

    # the same try again (a worker that died before recording the outcome): nothing is uploaded twice
    edi = create_channel("edi", settings.channel_settings("edi"))
    assert isinstance(edi, EdiChannel)
    try:
        delivery = delivery_of(engine, invoice_ids[0])
        result = deliver_with_context(engine, edi, _outbound_for(engine, edi, delivery["id"]))
    finally:
        edi.close()
    assert isinstance(result, Sent) and "already uploaded" in (result.detail or ""), result
    assert sorted(p.name for p in server.local(outgoing).iterdir()) == files
    assert server.password not in all_reasons(engine, invoice_ids) + caplog.text


def test_sftp_wrong_host_key_is_a_deviation_without_the_password(
    engine: Engine,
    settings: Settings,
    server: OpenSshSftpServer,
    outgoing: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    with server.twin_with_other_host_key() as impostor:
        store_partner(engine, "acme", sftp_partner(server, outgoing, port=impostor.port))
        invoice_ids = accept(engine, "ica", range(1, 2))
        assert work(engine, settings) == {"deviation": 1}
    delivery = delivery_of(engine, invoice_ids[0])
    assert "HostKeyRefused" in delivery["last_error"] and "trading partner 'ica'" in delivery["last_error"]
    assert "SHA256:" in delivery["last_error"]
    assert list(server.local(outgoing).iterdir()) == []
    assert server.password not in all_reasons(engine, invoice_ids) + caplog.text


def test_sftp_refusals_and_outages_never_show_the_password(
    engine: Engine,
    settings: Settings,
    server: OpenSshSftpServer,
    outgoing: str,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A closed port is retried; a folder the user may not write to is a deviation; neither shows a secret."""
    caplog.set_level(logging.DEBUG)
    settings.channels = {"edi": {"retry": {"max_tries": 5, "base_seconds": 60}}}
    store_partner(engine, "acme", sftp_partner(server, outgoing, port=free_port()))
    [unreachable] = accept(engine, "ica", range(1, 2))
    assert work(engine, settings) == {"queued": 1}
    assert "ConnectionLost" in delivery_of(engine, unreachable)["last_error"]

    store_partner(engine, "acme", sftp_partner(server, "readonly"))  # root's folder: permission denied
    [refused] = accept(engine, "ica", range(2, 3))
    assert work(engine, settings) == {"deviation": 1}
    assert "RemotePermissionDenied" in delivery_of(engine, refused)["last_error"]

    # a server that echoes the password back in its error text: masked all the same
    import channels.edi
    from transports.sftp import RemoteError

    def leaky(settings: Any) -> Any:
        raise RemoteError(f"login as gateway-sftp with {settings.password.get_secret_value()} failed")

    store_partner(engine, "acme", sftp_partner(server, outgoing))
    [leaked] = accept(engine, "ica", range(3, 4))
    with monkeypatch.context() as patched:
        patched.setattr(channels.edi, "open_sftp", leaky)
        assert work(engine, settings) == {"queued": 1}
    assert "********" in delivery_of(engine, leaked)["last_error"]
    assert server.password not in all_reasons(engine, [unreachable, refused, leaked]) + caplog.text


def test_put_partner_keeps_the_sftp_secrets(engine: Engine) -> None:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    host_key = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    partner = partner_profile(
        "ica",
        transport={
            "kind": "sftp",
            "sftp": {
                "host": "edi.example",
                "username": "acme",
                "host_key": host_key,
                "password": "s3cret-pw",
            },
        },
    )
    with session_scope(engine) as session:
        ensure_tenant(session, "acme")
        put_partner(session, "acme", partner)
    with session_scope(engine) as session:
        stored = get_partner(session, "acme", "ica")
    assert stored is not None and stored.transport.sftp is not None
    assert stored.transport.sftp.password is not None
    assert stored.transport.sftp.password.get_secret_value() == "s3cret-pw"


# -- API and CLI ---------------------------------------------------------------------------------------


def test_api_puts_and_gets_partners_per_tenant(
    client: TestClient, auth: dict[str, str], token_for: Any, tmp_path: Path
) -> None:
    body = partner_profile("ica", tmp_path / "ica").model_dump(mode="json")
    put = client.put("/trading-partners/ica", json=body, headers=auth)
    assert put.status_code == 200, put.text
    got = client.get("/trading-partners/ica", headers=auth)
    assert got.status_code == 200 and got.json() == body
    other = token_for("globex")
    assert client.get("/trading-partners/ica", headers=other).status_code == 404
    assert client.get("/trading-partners/coop", headers=auth).status_code == 404
    assert client.get("/trading-partners/ica").status_code == 401

    changed = {**body, "message_format": "edifact-d01b"}
    assert client.put("/trading-partners/ica", json=changed, headers=auth).status_code == 200
    assert client.get("/trading-partners/ica", headers=auth).json()["message_format"] == "edifact-d01b"


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"syntax_id": "UNOZ"}, "body.syntax_id", "UNOA"),
        ({"them": {"id": "", "qualifier": "14"}}, "body.them.id", "at least 1"),
        ({"partner_id": "coop"}, "body.partner_id", "differs from the path"),
        (
            {"message_format": "x12-810", "them": {"id": "A" * 16, "qualifier": "ZZ"}},
            "body",
            "them: an X12 id",
        ),
        ({"transport": {"kind": "folder"}}, "body.transport", "needs a directory"),
    ],
)
def test_api_refuses_a_bad_profile_naming_the_field(
    client: TestClient, auth: dict[str, str], tmp_path: Path, changes: dict[str, Any], field: str, reason: str
) -> None:
    body = {**partner_profile("ica", tmp_path / "ica").model_dump(mode="json"), **changes}
    response = client.put("/trading-partners/ica", json=body, headers=auth)
    assert response.status_code == 422, response.text
    errors = response.json()["errors"]
    assert any(e["field"] == field and reason in e["reason"] for e in errors), errors


def test_api_never_shows_sftp_secrets(client: TestClient, auth: dict[str, str]) -> None:
    key = ed25519.Ed25519PrivateKey.generate().public_key()
    host_key = key.public_bytes(serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH).decode()
    body = partner_profile("ica", Path("/unused")).model_dump(mode="json")
    body["transport"] = {
        "kind": "sftp",
        "sftp": {"host": "edi.example", "username": "acme", "host_key": host_key, "password": "s3cret-pw"},
    }
    put = client.put("/trading-partners/ica", json=body, headers=auth)
    assert put.status_code == 200, put.text
    got = client.get("/trading-partners/ica", headers=auth)
    assert "s3cret-pw" not in put.text + got.text
    assert got.json()["transport"]["sftp"]["password"] == "**********"


def test_cli_puts_lists_and_shows_partners(
    monkeypatch: pytest.MonkeyPatch, settings: Settings, engine: Engine, tmp_path: Path
) -> None:
    from gateway.cli import app

    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    profile = tmp_path / "ica.json"
    profile.write_text(partner_profile("ica", tmp_path / "ica").model_dump_json())
    put = runner.invoke(app, ["partner", "put", str(profile), "--tenant", "acme"])
    assert put.exit_code == 0, put.output
    assert "trading partner ica saved" in put.output
    x12 = tmp_path / "walmart.json"
    x12.write_text(partner_profile("walmart", tmp_path / "w", message_format="x12-810").model_dump_json())
    assert runner.invoke(app, ["partner", "put", str(x12), "--tenant", "globex"]).exit_code == 0

    listed = runner.invoke(app, ["partner", "list"], env={"COLUMNS": "200"})
    assert listed.exit_code == 0, listed.output
    assert "ica" in listed.output and "walmart" in listed.output and "x12-810" in listed.output
    only = runner.invoke(app, ["partner", "list", "--tenant", "acme"], env={"COLUMNS": "200"})
    assert "ica" in only.output and "walmart" not in only.output

    shown = runner.invoke(app, ["partner", "show", "ica", "--tenant", "acme"])
    assert shown.exit_code == 0, shown.output
    assert json.loads(shown.output)["them"] == {**THEM, "application_id": None}
    missing = runner.invoke(app, ["partner", "show", "ica", "--tenant", "globex"])
    assert missing.exit_code == 1 and "no trading partner" in missing.output

    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({**json.loads(profile.read_text()), "syntax_id": "UNOZ"}))
    refused = runner.invoke(app, ["partner", "put", str(bad), "--tenant", "acme"])
    assert refused.exit_code == 1 and "syntax_id" in refused.output


# -- four worker processes, one partner ------------------------------------------------------------------

WORKER_BOOT = """
import json, sys, time
from pathlib import Path
from tests.channels.test_edi_channel import register_missing_formats
register_missing_formats()
from gateway.settings import Settings
from db.engine import make_engine
from gateway.worker import Worker
go = Path(sys.argv[2])
deadline = time.monotonic() + 120
while not go.exists() and time.monotonic() < deadline:
    time.sleep(0.01)
settings = Settings()
engine = make_engine(settings.database)
stats = Worker(engine, settings, worker_id=sys.argv[1]).run(idle_exit=True)
engine.dispose()
print(json.dumps(dict(stats.outcomes)))
"""


def _concurrent_workers(database_url: str, tmp_path: Path, workers: int, total: int) -> None:
    directory = tmp_path / "partner-out"
    engine = make_engine(database_url)
    try:
        migrate(engine)
        store_partner(engine, "acme", partner_profile("ica", directory))
        invoice_ids = accept(engine, "ica", range(1, total + 1))
        env = {key: value for key, value in os.environ.items() if not key.startswith("GATEWAY_")}
        env.update(
            GATEWAY_DATABASE_URL=database_url,
            GATEWAY_DATA_DIR=str(tmp_path / "data"),
            GATEWAY_CHANNELS=json.dumps({"edi": {"fsync": False}}),
            GATEWAY_CLAIM_BATCH="2",
            GATEWAY_POLL_SECONDS="0.05",
            PYTHONPATH=os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
        )
        go = tmp_path / "go"
        processes = [
            subprocess.Popen(
                [sys.executable, "-c", WORKER_BOOT, f"worker-{n}", str(go)],
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                env=env,
                cwd=tmp_path,  # no stray `.env` file is read from the project
            )
            for n in range(1, workers + 1)
        ]
        time.sleep(0.5)
        go.touch()  # every process is up (or nearly): they start claiming together
        outputs = []
        try:
            for process in processes:
                out, err = process.communicate(timeout=180)
                assert process.returncode == 0, err.decode()[-3000:]
                outputs.append(json.loads(out.decode().strip().splitlines()[-1]))
        finally:
            for process in processes:  # a failed or hung run leaves no worker behind
                if process.poll() is None:
                    process.kill()
                process.communicate()
        sent_by = [o.get("sent", 0) for o in outputs]
        assert sum(sent_by) == total, outputs
        assert sum(1 for n in sent_by if n) >= 2, f"the work was not shared: {sent_by}"

        with session_scope(engine) as session:
            rows = list(session.execute(select(EdiInterchange)).scalars())
            numbers = {
                delivery_id: number
                for delivery_id, number in session.execute(
                    select(col(Delivery.id), col(InvoiceRecord.number)).join(
                        InvoiceRecord, col(InvoiceRecord.id) == col(Delivery.invoice_id)
                    )
                )
            }
            statuses = Counter(session.execute(select(col(Delivery.status))).scalars())
        assert statuses == {"sent": total}
        assert len(rows) == total
        # counted in the transaction that records the interchange, so a number is never handed out twice,
        # and since nothing failed none was skipped either
        assert sorted(int(r.interchange_ref) for r in rows) == list(range(1, total + 1))
        assert sorted(int(r.group_ref or 0) for r in rows) == list(range(1, total + 1))
        assert sorted(int(r.message_refs[0]) for r in rows) == list(range(1, total + 1))
        assert len({r.delivery_id for r in rows}) == total
        assert {r.invoice_id for r in rows} == set(invoice_ids)

        files = interchange_files(directory)
        assert len(files) == total
        by_ref = {r.interchange_ref: r for r in rows}
        for path in files:
            interchange = parse_edifact(path.read_bytes())
            row = by_ref[interchange.control_ref]
            assert path.name.startswith(f"ica_{row.interchange_ref}.")
            [message] = interchange.all_messages
            assert message.reference == row.message_refs[0]
            assert (
                next(s for s in message.segments if s.tag == "BGM").get(2) == numbers[row.delivery_id or ""]
            )
        print(
            f"\n[edi control numbers] {total} interchanges by {workers} processes: sent per worker {sent_by}"
        )
    finally:
        engine.dispose()


@pytest.mark.skipif("postgresql" not in DATABASES, reason="GATEWAY_TEST_DATABASES leaves PostgreSQL out")
def test_four_worker_processes_never_share_a_control_number_on_postgresql(tmp_path: Path) -> None:
    schema = PostgresSchema()
    try:
        _concurrent_workers(schema.url, tmp_path, workers=4, total=200)
    finally:
        schema.drop()


def test_channel_is_registered_with_its_formats() -> None:
    channel = create_channel("edi", {"registry_url": "sqlite:///old-settings-still-load.db"})
    try:
        assert isinstance(channel, EdiChannel)
        assert channel.capabilities.formats == ("edifact-d96a", "edifact-d01b", "x12-810", "x12-810-5010")
        assert channel.capabilities.default_format == "edifact-d96a"
        assert channel.capabilities.needs_address and not channel.capabilities.confirms_delivery
        delivery = OutboundDelivery(
            delivery_id="d1",
            invoice_id="i1",
            tenant_id="acme",
            attempt=1,
            address="ica",
            document=RenderedDocument("edifact-d96a", b"UNB", "application/EDIFACT", "edi"),
            invoice=sample_invoice(1),
        )
        assert channel.capabilities.needs == (ChannelNeed.EDI_INTERCHANGE,)
        assert set(channel.capabilities.documents) == {DocumentKind.INVOICE, DocumentKind.EDI_ACK}
        result = channel.deliver(delivery)  # without the gateway: no partner, no numbers, and no guessing
        assert isinstance(result, Failed) and result.deviation
        assert "no trading partner interchange came with the delivery" in result.reason
    finally:
        channel.close()
    assert not Path("old-settings-still-load.db").exists()  # the channel opened nothing
    settings = Settings(_env_file=None, database_url="sqlite:///x.db")  # type: ignore[call-arg]
    assert "registry_url" not in settings.channel_settings("edi")
    assert "registry_url" not in settings.channel_settings("peppol")
