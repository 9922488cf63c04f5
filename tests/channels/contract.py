"""The contract every channel's tests inherit (in the manner of fsspec's abstract test suites).

A channel test module subclasses `ChannelContract` and supplies a real channel plus two ways to break
it: transiently (the receiver is unreachable for now) and permanently (the receiver refuses for good).
"""

from __future__ import annotations

import logging
from typing import Any

import pytest

from channels.base import Channel, Delivered, Failed, OutboundDelivery, Retry, Sent
from gateway.samples import sample_invoice
from mappings import render


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

    def test_delivers(self, channel: Channel[Any]) -> None:
        delivery = outbound(channel, address=self.address())
        result = channel.deliver(delivery)
        assert isinstance(result, Delivered | Sent), result
        assert self.received(channel, delivery) == 1

    def test_transient_failure_is_a_retry(self, channel: Channel[Any]) -> None:
        delivery = outbound(channel, address=self.address())
        self.break_transiently(channel, delivery)
        result = channel.deliver(delivery)
        assert isinstance(result, Retry) and result.reason, result

    def test_permanent_failure_is_failed(self, channel: Channel[Any]) -> None:
        delivery = outbound(channel, address=self.address())
        self.break_permanently(channel, delivery)
        result = channel.deliver(delivery)
        assert isinstance(result, Failed) and result.reason, result

    def test_repeated_try_is_not_a_second_copy(self, channel: Channel[Any]) -> None:
        delivery = outbound(channel, address=self.address())
        channel.deliver(delivery)
        channel.deliver(delivery)
        assert self.received(channel, delivery) == 1
        resend = outbound(channel, attempt=2, address=self.address())
        channel.deliver(resend)
        assert self.received(channel, resend) == 1

    def test_no_secrets_in_results_or_logs(
        self, channel: Channel[Any], caplog: pytest.LogCaptureFixture
    ) -> None:
        caplog.set_level(logging.DEBUG)
        delivery = outbound(channel, address=self.address())
        self.break_transiently(channel, delivery)
        result = channel.deliver(delivery)
        text = repr(result) + caplog.text + repr(channel.config)
        for secret in channel._secrets:
            assert secret not in text
