"""The contract every channel's tests inherit (in the manner of fsspec's abstract test suites).

A channel test module subclasses `ChannelContract` and supplies a real channel plus two ways to break
it: transiently (the receiver is unreachable for now) and permanently (the receiver refuses for good).
A batching channel (documents staged, handed over in batches at cut-offs) subclasses
`BatchingChannelContract` instead, with the same two ways to break its batch hand-over.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from collections.abc import Sequence
from typing import Any

import pytest

from channels.base import (
    BatchEntry,
    BatchingChannel,
    BatchResult,
    Channel,
    Delivered,
    DeliveryResult,
    Failed,
    OutboundBatch,
    OutboundDelivery,
    Retry,
    Sent,
    Staged,
    secret_forms,
)
from db.models import utcnow
from gateway.samples import sample_invoice
from gateway.services.outbound.batches import batch_id_for
from mappings import render
from mappings.base import RenderedDocument


def outbound(
    channel: Channel[Any], *, n: int = 1, attempt: int = 1, address: str | None = None
) -> OutboundDelivery:
    invoice = sample_invoice(n)
    return OutboundDelivery(
        delivery_id=f"d{n:05d}",
        invoice_id=f"i{n:05d}",
        tenant_id="acme",
        attempt=attempt,
        address=address,
        document=render(channel.capabilities.default_format, invoice),
        invoice=invoice,
    )


class ChannelContract:
    """Subclasses implement the fixtures; every test here must hold for every channel."""

    @pytest.fixture
    def channel(self) -> Channel[Any]:
        raise NotImplementedError

    def received(self, channel: Channel[Any], delivery: OutboundDelivery) -> int:
        """How many copies of `delivery` the receiving side holds."""
        raise NotImplementedError

    def break_transiently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        raise NotImplementedError

    def break_permanently(self, channel: Channel[Any], delivery: OutboundDelivery) -> None:
        raise NotImplementedError

    def address(self) -> str | None:
        return None

    def deliver(self, channel: Channel[Any], delivery: OutboundDelivery) -> DeliveryResult:
        """One try as the worker makes it. A channel that declares `needs` overrides this to send through
        `gateway.services.outbound.channel_context.deliver_with_context` on a real outbox."""
        assert not channel.capabilities.needs, "this channel needs the gateway's context: override deliver"
        return channel.deliver(delivery)

    def test_delivers(self, channel: Channel[Any]) -> None:
        delivery = outbound(channel, address=self.address())
        result = self.deliver(channel, delivery)
        assert isinstance(result, Delivered | Sent), result
        assert self.received(channel, delivery) == 1

    def test_transient_failure_is_a_retry(self, channel: Channel[Any]) -> None:
        delivery = outbound(channel, address=self.address())
        self.break_transiently(channel, delivery)
        result = self.deliver(channel, delivery)
        assert isinstance(result, Retry) and result.reason, result

    def test_permanent_failure_is_failed(self, channel: Channel[Any]) -> None:
        delivery = outbound(channel, address=self.address())
        self.break_permanently(channel, delivery)
        result = self.deliver(channel, delivery)
        assert isinstance(result, Failed) and result.reason, result

    def test_repeated_try_is_not_a_second_copy(self, channel: Channel[Any]) -> None:
        delivery = outbound(channel, address=self.address())
        self.deliver(channel, delivery)
        self.deliver(channel, delivery)
        assert self.received(channel, delivery) == 1
        resend = outbound(channel, attempt=2, address=self.address())
        self.deliver(channel, resend)
        assert self.received(channel, resend) == 1

    def test_without_the_gateways_context_it_refuses_plainly(self, channel: Channel[Any]) -> None:
        """A channel that declares `needs` and is handed a bare delivery says so; it never goes looking.

        A channel that needs nothing from the gateway delivers the same bare delivery as it is."""
        delivery = outbound(channel, address=self.address())
        if not channel.capabilities.needs:
            self.deliver(channel, delivery)
            assert self.received(channel, delivery) == 1
            return
        result = channel.deliver(delivery)
        assert isinstance(result, Failed) and result.deviation, result
        assert "came with the delivery" in result.reason
        assert self.received(channel, delivery) == 0

    def test_no_secrets_in_results_or_logs(
        self, channel: Channel[Any], caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        delivery = outbound(channel, address=self.address())
        self.break_transiently(channel, delivery)
        result = self.deliver(channel, delivery)
        text = repr(result) + caplog.text + repr(channel.config)
        for secret in channel._secrets:  # also as a repr shows it (a key's newlines as \n), line by line
            assert not any(form in text for form in secret_forms(secret))


# -- batching channels -------------------------------------------------------------------------------------


def staged(channel: BatchingChannel[Any], delivery: OutboundDelivery) -> Staged:
    """`delivery` through the per-document step, as the worker calls it; it must be staged."""
    result = channel.deliver(delivery)
    assert isinstance(result, Staged), result
    return result


def batch_entry(delivery: OutboundDelivery, staged: Staged, sequence: int) -> BatchEntry:
    """The entry as `load_batch` gives it back: the document as stored, `meta` after a trip through JSON."""
    document = delivery.document
    return BatchEntry(
        delivery_id=delivery.delivery_id,
        invoice_id=delivery.invoice_id,
        attempt=delivery.attempt,
        sequence=sequence,
        document=RenderedDocument(document.format, document.content, document.media_type, document.extension),
        meta=json.loads(json.dumps(staged.meta)),
    )


def staged_batch(channel: BatchingChannel[Any], deliveries: Sequence[OutboundDelivery]) -> OutboundBatch:
    """Stage `deliveries` and close them into one batch, as `close_due_batches` and `load_batch` do."""
    results = [staged(channel, delivery) for delivery in deliveries]
    first = results[0]
    assert {(r.batch_key, r.due_at) for r in results} == {(first.batch_key, first.due_at)}, results
    tenant_id = deliveries[0].tenant_id
    return OutboundBatch(
        batch_id=batch_id_for(tenant_id, first.batch_key, first.due_at),
        tenant_id=tenant_id,
        channel=channel.name,
        batch_key=first.batch_key,
        cutoff_at=first.due_at,
        try_number=1,
        entries=tuple(
            batch_entry(delivery, result, sequence)
            for sequence, (delivery, result) in enumerate(zip(deliveries, results, strict=True), start=1)
        ),
    )


def leaky_error(channel: Channel[Any]) -> Exception:
    """What a careless client library raises: an error whose text carries the configured secrets."""
    return ConnectionError(f"login refused; tried {' / '.join(channel._secrets) or 'no secret'}")


class BatchingChannelContract:
    """Subclasses implement the fixture and the hooks; every test here must hold for every batching channel.

    The hooks work on a batch built by `staged_batch`: the documents staged through the channel, closed
    into one batch with the id and members the worker would give it.
    """

    documents_per_batch = 2

    @pytest.fixture
    def channel(self) -> BatchingChannel[Any]:
        raise NotImplementedError

    def received(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> int:
        """How many committed copies of `batch` the receiving side holds (unfinished uploads do not count)."""
        raise NotImplementedError

    def break_transiently(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> None:
        raise NotImplementedError

    def break_permanently(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> None:
        raise NotImplementedError

    def address(self) -> str | None:
        return None

    def prepare(self, channel: BatchingChannel[Any], delivery: OutboundDelivery) -> OutboundDelivery:
        """The delivery as the worker hands it to the channel. A channel that declares `needs` (or checks
        the invoice against today's date) overrides this with what the gateway would prepare."""
        return delivery

    def prepare_batch(self, channel: BatchingChannel[Any], batch: OutboundBatch) -> OutboundBatch:
        """The closed batch as the worker hands it to the channel. A channel that declares a per-batch need
        (AvtaleGiro's counted transmission numbers) overrides this with what the gateway would fix."""
        return batch

    def batch(self, channel: BatchingChannel[Any]) -> OutboundBatch:
        deliveries = [
            self.prepare(channel, outbound(channel, n=n, address=self.address()))
            for n in range(1, self.documents_per_batch + 1)
        ]
        return self.prepare_batch(channel, staged_batch(channel, deliveries))

    def test_a_good_document_is_staged_for_a_cutoff_to_come(self, channel: BatchingChannel[Any]) -> None:
        assert channel.capabilities.batched
        before = utcnow()
        result = staged(channel, self.prepare(channel, outbound(channel, address=self.address())))
        assert result.batch_key
        assert result.due_at.tzinfo is not None and result.due_at > before, result.due_at
        assert json.loads(json.dumps(result.meta)) == result.meta  # kept as JSON until the batch closes

    def test_a_batch_is_handed_over_as_one_copy(self, channel: BatchingChannel[Any]) -> None:
        batch = self.batch(channel)
        assert self.received(channel, batch) == 0
        result = channel.deliver_batch(batch)
        assert isinstance(result, Sent), result
        assert self.received(channel, batch) == 1

    def test_the_same_batch_again_is_a_no_op(self, channel: BatchingChannel[Any]) -> None:
        batch = self.batch(channel)
        first = channel.deliver_batch(batch)
        assert isinstance(first, Sent), first
        another_worker = type(channel)(channel.config)  # a later try, e.g. after a crash before the commit
        again = another_worker.deliver_batch(dataclasses.replace(batch, try_number=2))
        assert isinstance(again, Sent), again
        assert again.message_id == first.message_id
        assert self.received(channel, batch) == 1

    def test_transient_failure_is_a_retry(self, channel: BatchingChannel[Any]) -> None:
        batch = self.batch(channel)
        self.break_transiently(channel, batch)
        result = channel.deliver_batch(batch)
        assert isinstance(result, Retry) and result.reason, result
        assert self.received(channel, batch) == 0

    def test_permanent_failure_is_failed(self, channel: BatchingChannel[Any]) -> None:
        batch = self.batch(channel)
        self.break_permanently(channel, batch)
        result = channel.deliver_batch(batch)
        assert isinstance(result, Failed) and result.reason, result
        assert self.received(channel, batch) == 0

    def test_an_exception_in_send_batch_is_a_retry(
        self, channel: BatchingChannel[Any], monkeypatch: pytest.MonkeyPatch
    ) -> None:
        batch = self.batch(channel)
        self._raise_in_send_batch(channel, monkeypatch)
        result = channel.deliver_batch(batch)
        assert isinstance(result, Retry) and "unexpected error" in result.reason, result

    @pytest.mark.parametrize("failure", ["transient", "permanent", "unexpected"])
    def test_no_secrets_in_results_or_logs(
        self,
        channel: BatchingChannel[Any],
        caplog: pytest.LogCaptureFixture,
        monkeypatch: pytest.MonkeyPatch,
        failure: str,
    ) -> None:
        assert channel._secrets, "configure the channel with a secret, or this test checks nothing"
        caplog.set_level(logging.DEBUG)
        batch = self.batch(channel)
        result = self._fail(channel, batch, failure, monkeypatch)
        assert isinstance(result, Retry | Failed), result
        places = {"the result": repr(result), "the logs": caplog.text, "the config": repr(channel.config)}
        for where, text in places.items():  # also as a repr shows it (a key's newlines as \n), line by line
            shown = [form for secret in channel._secrets for form in secret_forms(secret) if form in text]
            assert not shown, f"a secret shows in {where}"

    def _fail(
        self,
        channel: BatchingChannel[Any],
        batch: OutboundBatch,
        failure: str,
        monkeypatch: pytest.MonkeyPatch,
    ) -> BatchResult:
        if failure == "transient":
            self.break_transiently(channel, batch)
        elif failure == "permanent":
            self.break_permanently(channel, batch)
        else:
            self._raise_in_send_batch(channel, monkeypatch)
        return channel.deliver_batch(batch)

    @staticmethod
    def _raise_in_send_batch(channel: BatchingChannel[Any], monkeypatch: pytest.MonkeyPatch) -> None:
        def send_batch(batch: OutboundBatch) -> BatchResult:
            raise leaky_error(channel)

        monkeypatch.setattr(channel, "send_batch", send_batch)
