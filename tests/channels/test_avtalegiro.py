"""The AvtaleGiro channel through the batching-channel contract, and its own rules, on a real drop folder.

The claim files the channel writes are read back with `netsgiro` (the same library Nets' formats are
written with), so KIDs, amounts, due dates and the bank's notice are checked as Nets would read them. The
mandate the gateway prepares before the send (`ChannelNeed.AVTALEGIRO_MANDATE`) is built here as the
gateway builds it; the end-to-end cases with the outbox, the worker and the CLI are in
test_avtalegiro_outbox.py.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import re
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import netsgiro
import pytest
from netsgiro import AssignmentType, TransactionType

from channels import create_channel
from channels.avtalegiro import AvtaleGiroChannel
from channels.base import BatchingChannel, Failed, OutboundBatch, OutboundDelivery, Sent, Staged
from channels.context import ClaimCancellation, MandateAnswer, MandateInfo, TransmissionNumbers
from gateway.samples import kid_for
from mappings import render
from schemas.kid import KidAgreement
from schemas.tenant import TenantSettings
from tests.channels.contract import BatchingChannelContract, outbound, staged_batch
from tests.sftp_server import DroppingProxy, OpenSshSftpServer

OSLO = ZoneInfo("Europe/Oslo")
ACCOUNT = "86011117947"
# The folder transport needs no secret; an SFTP block left in the settings gives the masking tests one.
LEFTOVER_SFTP = {
    "host": "nets.example.test",
    "username": "gateway",
    "host_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIGgzc+s8MebPhVhqCwn9nf/WBh0918p2vfqqqTW12Z/O",
    "password": "nets-sftp-pass-7b1e0c2a",
}


def channel_settings(root: Path, **changes: Any) -> dict[str, Any]:
    return {
        "directory": str(root),
        "sftp": LEFTOVER_SFTP,
        "data_transmitter": "12345678",
        "customer_id": "4711",
        "agreements": {"default": {"assignment_account": ACCOUNT, "agreement_id": "123456789"}},
        **changes,
    }


def avtalegiro(channel: BatchingChannel[Any]) -> AvtaleGiroChannel:
    assert isinstance(channel, AvtaleGiroChannel)
    return channel


def handover_day(channel: BatchingChannel[Any], tenant: str = "acme") -> dt.date:
    """The Norwegian date of the tenant's next claim file: due dates count from it."""
    return avtalegiro(channel).next_cutoff(tenant).astimezone(OSLO).date()


def claimable(
    channel: BatchingChannel[Any],
    delivery: OutboundDelivery,
    *,
    due_in_days: int = 30,
    mandate: str | None = "active",
    notify: bool = True,
    tenant_settings: TenantSettings | None = None,
) -> OutboundDelivery:
    """`delivery` as the gateway hands it over: its invoice due `due_in_days` after the hand-over, the
    claim file rendered, and the payer's mandate as the gateway looked it up."""
    invoice = delivery.the_invoice()
    invoice = invoice.model_copy(update={"due_date": handover_day(channel) + dt.timedelta(days=due_in_days)})
    kid = invoice.kid
    info = (
        MandateInfo(kid, mandate, notify, dt.datetime(2026, 11, 1, tzinfo=dt.UTC), "agreements.txt")
        if kid and mandate
        else None
    )
    return dataclasses.replace(
        delivery,
        invoice=invoice,
        document=render("avtalegiro-claims", invoice),
        mandate=MandateAnswer(kid, info),
        tenant_settings=tenant_settings,
    )


def numbered(
    batch: OutboundBatch,
    transmission: str = "0000042",
    claims: str | None = "0000101",
    cancellations: str | None = None,
    data_transmitter: str = "12345678",
) -> OutboundBatch:
    """`batch` with the numbers the gateway counts for it before the hand-over
    (`ChannelNeed.AVTALEGIRO_TRANSMISSION`; counted for real in tests/services/test_avtalegiro_numbers.py)."""
    numbers = TransmissionNumbers(data_transmitter, transmission, claims, cancellations)
    return dataclasses.replace(batch, transmission=numbers)


def claim_files(channel: BatchingChannel[Any]) -> list[Path]:
    config = avtalegiro(channel).config
    assert config.directory is not None
    outgoing = config.directory / config.outgoing
    return sorted(p for p in outgoing.iterdir() if not p.name.endswith(".part")) if outgoing.is_dir() else []


def set_immutable(path: Path, immutable: bool) -> None:
    subprocess.run(["chattr", "+i" if immutable else "-i", str(path)], check=True, capture_output=True)


def folder_channel(tmp_path: Path) -> Iterator[BatchingChannel[Any]]:
    """The channel on a drop folder under tmp_path (made writable again afterwards)."""
    made = create_channel("avtalegiro", channel_settings(tmp_path / "nets"))
    assert isinstance(made, AvtaleGiroChannel)
    yield made
    outgoing = tmp_path / "nets" / made.config.outgoing
    if outgoing.is_dir():
        set_immutable(outgoing, False)  # or tmp_path could never be removed


@pytest.fixture
def channel(tmp_path: Path) -> Iterator[BatchingChannel[Any]]:
    yield from folder_channel(tmp_path)


class TestAvtaleGiroOnFolder(BatchingChannelContract):
    @pytest.fixture
    def channel(self, tmp_path: Path) -> Iterator[BatchingChannel[Any]]:
        yield from folder_channel(tmp_path)

    def prepare(self, channel: BatchingChannel[Any], delivery: OutboundDelivery) -> OutboundDelivery:
        return claimable(channel, delivery)

    def prepare_batch(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> OutboundBatch:
        return numbered(batch)

    def received(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> int:
        return sum(1 for path in claim_files(channel) if path.name == f"4711-{batch.batch_id}.txt")

    def break_transiently(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> None:
        config = avtalegiro(channel).config
        assert config.directory is not None
        outgoing = config.directory / config.outgoing
        outgoing.parent.mkdir(parents=True, exist_ok=True)
        outgoing.write_text("a file where the outgoing folder should be (the share is not mounted yet)")

    def break_permanently(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> None:
        config = avtalegiro(channel).config
        assert config.directory is not None
        outgoing = config.directory / config.outgoing
        outgoing.mkdir(parents=True, exist_ok=True)
        set_immutable(outgoing, True)


# --- the claim file, read back as Nets reads it ----------------------------------------------------------


def test_the_claim_file_reads_back_with_the_same_kids_amounts_due_dates_and_notices(
    channel: BatchingChannel[Any],
) -> None:
    notified = claimable(channel, outbound(channel, n=1), due_in_days=10, notify=True)
    silent = claimable(channel, outbound(channel, n=2), due_in_days=40, notify=False)
    batch = numbered(staged_batch(channel, [notified, silent]), transmission="0000042", claims="0000101")
    result = channel.deliver_batch(batch)
    assert isinstance(result, Sent), result
    (path,) = claim_files(channel)
    assert path.name == f"4711-{batch.batch_id}.txt"
    transmission = netsgiro.parse(path.read_bytes().decode("iso-8859-1"))
    assert (transmission.number, transmission.data_transmitter, transmission.data_recipient) == (
        "0000042", "12345678", "00008080",
    )  # fmt: skip
    (assignment,) = transmission.assignments
    assert (assignment.type, assignment.number, assignment.account, assignment.agreement_id) == (
        AssignmentType.TRANSACTIONS, "0000101", ACCOUNT, "123456789",
    )  # fmt: skip
    expected = [
        (d.the_invoice().kid, d.the_invoice().totals.payable, d.the_invoice().due_date)
        for d in (notified, silent)
    ]
    assert [(t.kid, t.amount, t.date) for t in assignment.transactions] == expected
    first, second = assignment.transactions
    assert first.type == TransactionType.AVTALEGIRO_WITH_BANK_NOTIFICATION
    assert f"Faktura {notified.the_invoice().number}" in first.text
    assert second.type == TransactionType.AVTALEGIRO_WITH_PAYEE_NOTIFICATION
    assert not second.text
    assert transmission.get_total_amount() == sum(amount for _kid, amount, _due in expected)


def test_cancellations_fixed_into_a_batch_go_as_a_cancellation_assignment(
    channel: BatchingChannel[Any],
) -> None:
    batch = staged_batch(channel, [claimable(channel, outbound(channel, n=3))])
    withdrawn = ClaimCancellation(
        cancellation_id="c1", delivery_id="d9", invoice_id="i9", kid=kid_for(9),
        due_date=handover_day(channel) + dt.timedelta(days=20), amount=Decimal("512.40"),
        reference="Faktura INV-000009", payer_name="Vestkyst",
    )  # fmt: skip
    with_withdrawal = dataclasses.replace(batch, cancellations=(withdrawn,))
    result = channel.deliver_batch(numbered(with_withdrawal, claims="0000007", cancellations="0000019"))
    assert isinstance(result, Sent), result
    (path,) = claim_files(channel)
    claims, cancellations = netsgiro.parse(path.read_bytes().decode("iso-8859-1")).assignments
    assert cancellations.type == AssignmentType.AVTALEGIRO_CANCELLATIONS
    assert (claims.number, cancellations.number) == ("0000007", "0000019")  # each its own counted number
    (record,) = cancellations.transactions
    assert (record.type, record.kid, record.amount, record.date, record.payer_name) == (
        TransactionType.AVTALEGIRO_CANCELLATION, kid_for(9), Decimal("512.40"), withdrawn.due_date,
        "Vestkyst",
    )  # fmt: skip
    assert len(claims.transactions) == 1


def test_a_batch_of_cancellations_only_is_a_file_too(channel: BatchingChannel[Any]) -> None:
    cutoff = avtalegiro(channel).next_cutoff("acme")
    withdrawn = ClaimCancellation("c2", "d2", "i2", kid_for(2), handover_day(channel) + dt.timedelta(days=9),
                                  Decimal("100.00"))  # fmt: skip
    batch = OutboundBatch("acme-default-x", "acme", "avtalegiro", "default", cutoff, 1, (), (withdrawn,))
    result = channel.deliver_batch(numbered(batch, claims=None, cancellations="0000033"))
    assert isinstance(result, Sent) and "0 claim(s), 1 cancellation(s)" in (result.detail or ""), result
    (path,) = claim_files(channel)
    (assignment,) = netsgiro.parse(path.read_bytes().decode("iso-8859-1")).assignments
    assert (assignment.type, assignment.number) == (AssignmentType.AVTALEGIRO_CANCELLATIONS, "0000033")


# --- the numbers the gateway counted -----------------------------------------------------------------------


def test_a_batch_without_the_gateways_numbers_is_refused_plainly(channel: BatchingChannel[Any]) -> None:
    batch = staged_batch(channel, [claimable(channel, outbound(channel, n=1))])
    result = channel.deliver_batch(batch)
    assert isinstance(result, Failed) and result.deviation, result
    assert result.reason == (
        f"no AvtaleGiro transmission numbers came with batch {batch.batch_id} (the gateway counts them per "
        "data transmitter before the hand-over)"
    )
    assert claim_files(channel) == []


def test_numbers_counted_for_another_data_transmitter_are_refused(channel: BatchingChannel[Any]) -> None:
    batch = staged_batch(channel, [claimable(channel, outbound(channel, n=1))])
    result = channel.deliver_batch(numbered(batch, data_transmitter="87654321"))
    assert isinstance(result, Failed) and result.deviation, result
    assert "numbered for data transmitter 87654321 (transmission 0000042)" in result.reason
    assert "sends as 12345678" in result.reason
    assert claim_files(channel) == []


def test_claims_without_a_claim_assignment_number_are_refused(channel: BatchingChannel[Any]) -> None:
    batch = staged_batch(channel, [claimable(channel, outbound(channel, n=1))])
    result = channel.deliver_batch(numbered(batch, claims=None))
    assert isinstance(result, Failed) and "no claim assignment number" in result.reason, result
    assert claim_files(channel) == []


# --- what stage refuses, naming the rule ------------------------------------------------------------------


@pytest.mark.parametrize(("days", "rule"), [(3, "at least 4"), (366, "at most 365")])
def test_a_due_date_outside_4_to_365_days_is_a_deviation_naming_the_rule(
    channel: BatchingChannel[Any], days: int, rule: str
) -> None:
    result = channel.deliver(claimable(channel, outbound(channel), due_in_days=days))
    assert isinstance(result, Failed) and result.deviation, result
    assert result.reason.startswith("due date: ")
    assert rule in result.reason and f"is {days} day" in result.reason


@pytest.mark.parametrize("days", [4, 365])
def test_the_edges_of_the_due_date_rule_are_staged(channel: BatchingChannel[Any], days: int) -> None:
    result = channel.deliver(claimable(channel, outbound(channel), due_in_days=days))
    assert isinstance(result, Staged), result
    assert result.due_at == avtalegiro(channel).next_cutoff("acme")
    assert result.meta["due_date"] == (handover_day(channel) + dt.timedelta(days=days)).isoformat()


def test_no_mandate_and_a_deleted_mandate_are_refused_clearly(channel: BatchingChannel[Any]) -> None:
    kid = outbound(channel).the_invoice().kid
    none = channel.deliver(claimable(channel, outbound(channel), mandate=None))
    assert isinstance(none, Failed) and none.deviation, none
    assert none.reason == (
        f"mandate: no AvtaleGiro mandate for KID {kid}: the payer has not signed one with this payee "
        "(Nets' agreements files name none)"
    )
    deleted = channel.deliver(claimable(channel, outbound(channel), mandate="deleted"))
    assert isinstance(deleted, Failed) and deleted.deviation, deleted
    assert f"the AvtaleGiro mandate for KID {kid} was deleted (2026-11-01, agreements.txt)" in deleted.reason


def test_without_the_mandate_answer_it_refuses_plainly(channel: BatchingChannel[Any]) -> None:
    bare = dataclasses.replace(claimable(channel, outbound(channel)), mandate=None)
    result = channel.deliver(bare)
    assert isinstance(result, Failed) and result.deviation
    assert "came with the delivery" in result.reason


def test_the_kid_must_hold_under_the_tenants_kid_agreement(channel: BatchingChannel[Any]) -> None:
    mod11 = TenantSettings(kid=KidAgreement(algorithm="mod11", length=10))
    result = channel.deliver(claimable(channel, outbound(channel), tenant_settings=mod11))
    assert isinstance(result, Failed) and result.deviation, result
    assert result.reason.startswith("KID: ") and "MOD11" in result.reason
    mod10 = TenantSettings(kid=KidAgreement(algorithm="mod10", length=10))
    assert isinstance(channel.deliver(claimable(channel, outbound(channel), tenant_settings=mod10)), Staged)


def test_a_claim_needs_a_kid_a_positive_nok_amount(channel: BatchingChannel[Any]) -> None:
    delivery = claimable(channel, outbound(channel))
    invoice = delivery.the_invoice()
    no_kid = dataclasses.replace(delivery, invoice=invoice.model_copy(update={"payment_means": []}))
    result = channel.deliver(no_kid)
    assert isinstance(result, Failed) and result.reason.startswith("KID: ")
    zero = invoice.model_copy(
        update={"totals": invoice.totals.model_copy(update={"payable": Decimal("0.00")})}
    )
    result = channel.deliver(dataclasses.replace(delivery, invoice=zero))
    assert isinstance(result, Failed) and result.deviation
    assert result.reason == "amount: an AvtaleGiro claim is a positive amount, not NOK 0.00"
    sek = dataclasses.replace(delivery, invoice=invoice.model_copy(update={"currency": "SEK"}))
    result = channel.deliver(sek)
    assert isinstance(result, Failed) and result.reason == "amount: AvtaleGiro claims are in NOK, not SEK"


def test_the_tenants_agreement_gives_the_cutoff_and_the_batch(tmp_path: Path) -> None:
    made = create_channel(
        "avtalegiro",
        channel_settings(
            tmp_path,
            agreements={
                "default": {"assignment_account": ACCOUNT},
                "energy": {"assignment_account": "15038366383", "cutoffs": ["09:30"], "weekdays": [1]},
            },
            tenant_agreements={"acme": "energy"},
        ),
    )
    cutoff = avtalegiro(made).next_cutoff("acme").astimezone(OSLO)
    assert (cutoff.weekday(), cutoff.hour, cutoff.minute) == (1, 9, 30)
    result = made.deliver(claimable(made, outbound(made)))
    assert isinstance(result, Staged) and result.batch_key == "energy", result
    with pytest.raises(ValueError, match="unknown agreement"):
        create_channel("avtalegiro", channel_settings(tmp_path, tenant_agreements={"acme": "water"}))


# --- the same contract over SFTP (Nets' or the bank's file service) --------------------------------------


@pytest.fixture(scope="module")
def server() -> Iterator[OpenSshSftpServer]:
    with OpenSshSftpServer() as running:
        yield running


@pytest.fixture
def outgoing(server: OpenSshSftpServer, request: pytest.FixtureRequest) -> str:
    """This test's own folder at the file service, owned by the SFTP user."""
    folder = "in/" + re.sub(r"\W+", "_", request.node.name).strip("_")
    directory = server.local(folder)
    directory.mkdir(mode=0o755)
    os.chown(directory, server.uid, server.gid)
    return folder


class TestAvtaleGiroOverSftp(BatchingChannelContract):
    server: OpenSshSftpServer
    proxy: DroppingProxy

    @pytest.fixture
    def channel(self, server: OpenSshSftpServer, outgoing: str) -> Iterator[BatchingChannel[Any]]:
        # a claim file is small: a dropped connection is one dropped before the upload is through
        with DroppingProxy(server.port, drop_connections=0, after_client_bytes=1) as proxy:
            self.server, self.proxy = server, proxy
            settings = server.settings(auth="both", port=proxy.port)  # a key and a password to keep secret
            made = create_channel(
                "avtalegiro",
                channel_settings(Path("/nonexistent"), transport="sftp", sftp=settings, outgoing=outgoing),
            )
            assert isinstance(made, AvtaleGiroChannel)
            yield made

    def prepare(self, channel: BatchingChannel[Any], delivery: OutboundDelivery) -> OutboundDelivery:
        return claimable(channel, delivery)

    def prepare_batch(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> OutboundBatch:
        return numbered(batch)

    def received(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> int:
        folder = self.server.local(avtalegiro(channel).config.outgoing)
        return sum(1 for path in folder.iterdir() if path.name == f"4711-{batch.batch_id}.txt")

    def break_transiently(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> None:
        self.proxy.drop_connections = self.proxy.connections + 1  # the next connection drops

    def break_permanently(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> None:
        avtalegiro(channel).config.outgoing = "readonly"  # root's: permission denied, for good


def test_a_claim_file_over_sftp_reads_back_with_netsgiro(server: OpenSshSftpServer, outgoing: str) -> None:
    made = create_channel(
        "avtalegiro",
        channel_settings(Path("/nonexistent"), transport="sftp", sftp=server.settings(), outgoing=outgoing),
    )
    assert isinstance(made, AvtaleGiroChannel)
    batch = numbered(staged_batch(made, [claimable(made, outbound(made, n=n)) for n in (1, 2)]))
    result = made.deliver_batch(batch)
    assert isinstance(result, Sent) and result.where == f"{outgoing}/4711-{batch.batch_id}.txt", result
    uploaded = server.local(result.where)
    (assignment,) = netsgiro.parse(uploaded.read_bytes().decode("iso-8859-1")).assignments
    assert [t.kid for t in assignment.transactions] == [e.meta["kid"] for e in batch.entries]
