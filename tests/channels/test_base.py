"""What the channel base class guarantees for every channel: guards, masking, the registry."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr, ValidationError

import channels
from channels import ChannelUnavailable, UnknownChannel, channel_class, create_channel
from channels.base import Channel, ChannelCapabilities, ChannelConfig, DeliveryResult, OutboundDelivery, Retry
from tests.channels.contract import outbound


class PasswordConfig(ChannelConfig):
    password: SecretStr


class LeakyChannel(Channel[PasswordConfig]):
    """Fails the way careless client libraries do: with the password inside the exception text."""

    name: ClassVar[str] = "leaky"
    config_model: ClassVar[type[ChannelConfig]] = PasswordConfig
    capabilities: ClassVar[ChannelCapabilities] = ChannelCapabilities(
        formats=("canonical-json",), default_format="canonical-json"
    )

    def send(self, delivery: OutboundDelivery) -> DeliveryResult:
        raise ConnectionError(
            f"login failed for user x with password {self.config.password.get_secret_value()}"
        )


def test_secrets_are_masked_in_results_and_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    channel = LeakyChannel(PasswordConfig(password=SecretStr("hunter2-very-secret")))
    result = channel.deliver(outbound(channel))
    assert isinstance(result, Retry)
    assert "hunter2" not in result.reason
    assert "********" in result.reason
    assert "hunter2" not in caplog.text
    assert "ConnectionError" in caplog.text
    assert "hunter2" not in repr(channel.config)


def test_registry_suggests_and_hints() -> None:
    with pytest.raises(UnknownChannel, match="Did you mean 'folder'"):
        channel_class("foldr")
    channels.register("needs-extra", "gateway_missing_module:Channel", "pip install invoice-gateway[extra]")
    try:
        with pytest.raises(ChannelUnavailable, match=r"pip install invoice-gateway\[extra\]"):
            channel_class("needs-extra")
    finally:
        channels.REGISTRY.pop("needs-extra")


def test_bad_channel_settings_name_the_field() -> None:
    with pytest.raises(ValidationError) as caught:
        create_channel("folder", {"timeout_seconds": -1, "unknown": 1})
    fields = {error["loc"][0] for error in caught.value.errors()}
    assert fields == {"timeout_seconds", "unknown"}


def test_capabilities_are_data() -> None:
    capabilities: Any = channel_class("folder").capabilities
    assert "canonical-json" in capabilities.formats
    assert capabilities.default_format == "canonical-json"
