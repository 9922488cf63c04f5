"""The one place configuration is read: environment variables prefixed `GATEWAY_`, or a `.env` file."""

from __future__ import annotations

import json
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="GATEWAY_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        None, description="SQLAlchemy URL; unset → SQLite under data_dir. Scale-out: postgresql+psycopg://…"
    )
    data_dir: Path = Field(Path("gateway-data"), description="embedded database and default folders")
    default_channel: str = Field("folder", description="channel for invoices with no receiver profile")
    channels: dict[str, dict[str, Any]] = Field(
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
    rules_dir: Path | None = Field(
        None, description="official validation artefacts (UBL XSD, CEN + PEPPOL XSLT); unset: XSD + CEN"
    )

    @field_validator("channels", mode="before")
    @classmethod
    def _json_text(cls, value: Any) -> Any:
        return json.loads(value) if isinstance(value, str) else value

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
        if self.channels_file:
            merged.update(json.loads(self.channels_file.read_text()).get(name, {}))
        merged.update(self.channels.get(name, {}))
        return merged
