"""What the channel base class guarantees for every channel: guards, masking, the registry."""

from __future__ import annotations

import logging
from typing import Any, ClassVar

import pytest
from pydantic import SecretStr, ValidationError

import channels
from channels import ChannelUnavailable, UnknownChannel, channel_class, create_channel
from channels.base import (
    Channel,
    ChannelCapabilities,
    ChannelConfig,
    Delivered,
    DeliveryResult,
    Failed,
    OutboundDelivery,
    Retry,
)
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


def test_no_channel_loads_the_database_or_the_gateway() -> None:
    """Every built-in channel imports (lazily included) neither `db` nor `gateway` nor an ORM: what it needs
    from the outbox comes with the delivery."""
    import subprocess
    import sys

    modules = sorted({entry.target.partition(":")[0] for entry in channels.REGISTRY.values()})
    script = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    importlib.import_module(name)\n"
        "tops = {m.split('.')[0] for m in sys.modules}\n"
        "print(sorted(tops & {'db', 'gateway', 'sqlalchemy', 'sqlmodel'}))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr


def test_a_document_that_is_not_an_invoice_goes_only_to_a_channel_that_sends_it(tmp_path: Any) -> None:
    from channels.context import DocumentKind
    from mappings.base import RenderedDocument

    ack = RenderedDocument("edifact-ack", b"UNB+UNOC:3+X+Y'", "application/EDIFACT", "edi")
    delivery = OutboundDelivery(
        delivery_id="d1",
        invoice_id=None,
        tenant_id="acme",
        attempt=1,
        address="ap@buyer.example",
        document=ack,
        invoice=None,
        document_kind=DocumentKind.EDI_ACK,
    )
    email = create_channel("email", {"from_address": "ap@example.com", "host": "127.0.0.1"})
    refused = email.deliver(delivery)
    assert isinstance(refused, Failed) and refused.deviation
    assert refused.reason == "channel email does not send edi-ack documents"
    with pytest.raises(TypeError, match="carries edi-ack, not an invoice"):
        delivery.the_invoice()
    sink = create_channel("folder", {"directory": str(tmp_path), "fsync": False})  # the dry-run sink
    written = sink.deliver(delivery)
    assert isinstance(written, Delivered), written
    [path] = (tmp_path / "acme" / "ap_buyer.example").glob("edi-ack__d1-1.edi")
    assert path.read_bytes() == ack.content
