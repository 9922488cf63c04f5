"""Channel registry: name → "module:Class", imported on first use.

A missing optional dependency is reported with the command that installs it, an unknown name with the
closest known one. Third-party channels can join through the `invoice_gateway.channels` entry point group.
"""

from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, cast

from channels.base import Channel, ChannelConfig


@dataclass(frozen=True)
class ChannelEntry:
    target: str
    install_hint: str | None = None


REGISTRY: dict[str, ChannelEntry] = {
    "folder": ChannelEntry("channels.folder:FolderChannel"),
    "peppol": ChannelEntry("channels.peppol:PeppolChannel", "pip install 'invoice-gateway[peppol-as4]'"),
    "email": ChannelEntry("channels.email:EmailChannel", "pip install aiosmtplib"),
    "print": ChannelEntry("channels.print_sftp:PrintChannel", "pip install paramiko python-gnupg"),
    "edi": ChannelEntry("channels.edi:EdiChannel", "pip install paramiko"),
    "digipost": ChannelEntry("channels.digipost:DigipostChannel", "pip install cryptography httpx"),
    "efaktura": ChannelEntry("channels.efaktura:EfakturaChannel"),
    "avtalegiro": ChannelEntry("channels.avtalegiro:AvtaleGiroChannel", "pip install netsgiro paramiko"),
}


class UnknownChannel(LookupError):
    def __init__(self, name: str) -> None:
        known = known_channels()
        close = difflib.get_close_matches(name, known, n=1)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        super().__init__(f"unknown channel {name!r}.{hint} Known channels: {', '.join(known)}")


class ChannelUnavailable(ImportError):
    """The channel is known but its optional dependencies are not installed."""


def known_channels() -> list[str]:
    names = set(REGISTRY)
    names.update(point.name for point in entry_points(group="invoice_gateway.channels"))
    return sorted(names)


def register(name: str, target: str, install_hint: str | None = None) -> None:
    """Add or replace a channel ("module:Class"); used by plugins and tests."""
    REGISTRY[name] = ChannelEntry(target, install_hint)


def channel_class(name: str) -> type[Channel[Any]]:
    entry = REGISTRY.get(name)
    if entry is None:
        points = [point for point in entry_points(group="invoice_gateway.channels") if point.name == name]
        if not points:
            raise UnknownChannel(name)
        entry = ChannelEntry(points[0].value)
    module_name, _, class_name = entry.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as error:
        hint = f" Install it with: {entry.install_hint}" if entry.install_hint else ""
        raise ChannelUnavailable(f"channel {name!r} cannot be loaded ({error}).{hint}") from error
    return cast(type[Channel[Any]], getattr(module, class_name))


def create_channel(name: str, settings: dict[str, Any] | None = None) -> Channel[Any]:
    """A configured channel instance; a bad setting is a pydantic `ValidationError` naming the field."""
    cls = channel_class(name)
    config = cls.config_model.model_validate(settings or {})
    return cls(config)


__all__ = [
    "REGISTRY",
    "Channel",
    "ChannelConfig",
    "ChannelUnavailable",
    "UnknownChannel",
    "channel_class",
    "create_channel",
    "known_channels",
    "register",
]
