"""The one place configuration is read: environment variables prefixed `GATEWAY_`, or a `.env` file.

A malformed value is a `pydantic.ValidationError` naming the setting, never a traceback from deep inside a
channel: `GATEWAY_CHANNELS` and `GATEWAY_CHANNELS_FILE` are parsed here, when the settings are read, and
their messages never repeat the value (it holds passwords).
"""

from __future__ import annotations

import ipaddress
import json
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


class Settings(BaseSettings):
    # a bad value is never repeated in an error message: GATEWAY_CHANNELS holds passwords
    model_config = SettingsConfigDict(
        env_prefix="GATEWAY_", env_file=".env", extra="ignore", hide_input_in_errors=True
    )

    database_url: str | None = Field(
        None, description="SQLAlchemy URL; unset → SQLite under data_dir. Scale-out: postgresql+psycopg://…"
    )
    data_dir: Path = Field(Path("gateway-data"), description="embedded database and default folders")
    default_channel: str = Field("folder", description="channel for invoices with no receiver profile")
    channels: Annotated[dict[str, dict[str, Any]], NoDecode] = Field(
        default_factory=dict,
        description='per-channel settings as JSON, e.g. {"folder": {"directory": "out"}}',
    )
    channels_file: Path | None = Field(None, description="JSON file with per-channel settings")
    dry_run: bool = Field(
        False,
        description="test mode: every channel is replaced by a folder sink under data_dir/dry-run/<channel>",
    )
    lease_seconds: float = Field(60.0, gt=1)
    claim_batch: int = Field(20, ge=1, le=1000)
    poll_seconds: float = Field(1.0, gt=0)
    batch_poll_seconds: float = Field(
        15.0, gt=0, description="how often a worker closes due batches (print cut-offs) and hands them over"
    )
    return_poll_seconds: float = Field(
        300.0, gt=0, description="how often a worker reads the print house's return files (receipts, reports)"
    )
    return_poll_channels: list[str] = Field(
        default_factory=lambda: ["print"], description="print channels whose return files the worker reads"
    )
    ack_check_seconds: float = Field(
        300.0, gt=0, description="how often a worker flags EDI interchanges whose acknowledgement is overdue"
    )
    batch_lease_seconds: float = Field(
        900.0, gt=1, description="a batch hand-over's lease: longer than the slowest batch upload"
    )
    webhook_poll_seconds: float = Field(5.0, gt=0, description="how often a worker sends due webhook events")
    webhook_timeout_seconds: float = Field(10.0, gt=0, description="one webhook POST's timeout")
    webhook_max_tries: int = Field(10, ge=1, description="tries before a webhook event fails (5xx, timeouts)")
    webhook_retry_base_seconds: float = Field(
        30.0, gt=0, description="first webhook retry delay; doubles per try, capped at an hour, jittered"
    )
    max_body_bytes: int = Field(25_000_000, gt=0)
    max_bulk_items: int = Field(1000, ge=1)
    store_sent_documents: bool = Field(
        True, description="keep each handed-over document in the document store (the invoice as sent)"
    )
    documents_dir: Path = Field(
        default_factory=lambda data: Path(data["data_dir"]) / "documents",
        description="the local document store (invoices as sent, PODs); default data_dir/documents",
    )
    max_pod_bytes: int = Field(20_000_000, gt=0, description="largest proof-of-delivery file accepted")
    remittance_dir: Path = Field(
        default_factory=lambda data: Path(data["data_dir"]) / "remittances",
        description="remittance drop read by the worker: one sub-folder per tenant (remittances/<tenant>/)",
    )
    remittance_poll_seconds: float = Field(
        30.0, gt=0, description="how often a worker reads the remittance drop and matches new payments"
    )
    max_remittance_bytes: int = Field(200_000_000, gt=0, description="largest remittance file accepted")
    remittance_sftp_sources: Path | None = Field(
        None,
        description="JSON file listing the banks' SFTP folders the worker pulls remittance files from: "
        '[{"tenant": "acme", "directory": "outgoing", "sftp": {host, port, username, host_key, password | '
        "private_key}}] (a file, like the channels' settings, so the credentials stay out of the database)",
    )
    console_secret: SecretStr | None = Field(
        None,
        description="signs the console's session cookies; unset: a random key kept in "
        "data_dir/console-secret (set it when several hosts serve the console)",
    )
    console_idle_minutes: float = Field(30.0, gt=0, description="a console session ends when idle this long")
    console_session_hours: float = Field(12.0, gt=0, description="a session's absolute lifetime")
    console_secure_cookie: bool = Field(
        False, description="send the console cookie over HTTPS only (set it when served behind TLS)"
    )
    console_cleanup_seconds: float = Field(
        3600.0, gt=0, description="how often a worker forgets console sessions and sign-ins over 30 days old"
    )
    console_login_limit: int = Field(
        5, ge=1, description="failed sign-ins per address (4× per client) in 15 minutes before a pause"
    )
    rules_dir: Path | None = Field(
        None, description="official validation artefacts (UBL XSD, CEN + PEPPOL XSLT); unset: XSD + CEN"
    )

    webhook_allow_private: bool = Field(
        False,
        description="let webhooks reach loopback, private, link-local and other non-public addresses (a "
        "closed network where the ERP sits next to the gateway); off: such URLs are refused (SSRF)",
    )
    webhook_allowed_networks: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="CIDRs webhooks may reach although not public, e.g. 10.20.0.0/16,fd00:1::/64 "
        "(comma-separated or a JSON list); everything else non-public stays refused",
    )

    @field_validator("channels", mode="before")
    @classmethod
    def _json_text(cls, value: Any) -> Any:
        return _json_object(value) if isinstance(value, str) else value

    @field_validator("webhook_allowed_networks", mode="before")
    @classmethod
    def _network_list(cls, value: Any) -> Any:
        if isinstance(value, str):
            text = value.strip()
            return _json_object(text) if text.startswith("[") else [p for p in text.split(",") if p.strip()]
        return value

    @field_validator("webhook_allowed_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for network in value:
            try:
                ipaddress.ip_network(network.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not a network (CIDR such as 10.0.0.0/8)") from None
        return [network.strip() for network in value]

    @field_validator("channels_file")
    @classmethod
    def _readable_channels_file(cls, value: Path | None) -> Path | None:
        if value is not None:
            _channels_in_file(value)
        return value

    @cached_property
    def file_channels(self) -> dict[str, dict[str, Any]]:
        """The per-channel settings of `channels_file` (checked when the settings were read)."""
        return _channels_in_file(self.channels_file) if self.channels_file else {}

    def configured_channels(self) -> list[str]:
        """The channels this installation has settings for, and the default one: what a check validates."""
        return sorted({self.default_channel, *self.channels, *self.file_channels})

    @cached_property
    def database(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'gateway.sqlite3').resolve()}"

    def channel_settings(self, name: str) -> dict[str, Any]:
        """Settings for one channel: built-in defaults under data_dir, then the file, then the env."""
        merged: dict[str, Any] = {}
        if name == "folder":
            merged["directory"] = str(self.data_dir / "outbound")
        if name == "peppol":
            merged["folder"] = {"directory": str(self.data_dir / "peppol-outbound")}
        if name == "print":
            merged["directory"] = str(self.data_dir / "print-house")
        merged.update(self.file_channels.get(name, {}))
        merged.update(self.channels.get(name, {}))
        return merged


def _json_object(text: str, source: str | None = None) -> Any:
    """`text` parsed as JSON; an error says where, never what (the text may hold a password)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        where = f"{source} is not" if source else "not"
        at = f"line {error.lineno} column {error.colno}"
        raise ValueError(f"{where} valid JSON: {error.msg} at {at}") from None


def _channels_in_file(path: Path) -> dict[str, dict[str, Any]]:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise ValueError(f"cannot read {path}: {error.strerror or error}") from None
    except UnicodeDecodeError:
        raise ValueError(f"{path} is not UTF-8 text") from None
    data = _json_object(text, str(path))
    if not isinstance(data, dict) or not all(
        isinstance(name, str) and isinstance(values, dict) for name, values in data.items()
    ):
        raise ValueError(f'{path} must be a JSON object of objects: {{"<channel>": {{<settings>}}, …}}')
    return data
