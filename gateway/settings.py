"""The one place configuration is read: environment variables prefixed `GATEWAY_`, or a `.env` file.

A malformed value is a `pydantic.ValidationError` naming the setting, never a traceback from deep inside a
channel: `GATEWAY_CHANNELS` and `GATEWAY_CHANNELS_FILE` are parsed here, when the settings are read, and
their messages never repeat the value (it holds passwords).
"""

from __future__ import annotations

import ipaddress
import json
import ssl
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

#: The URL schemes `documents_url` accepts (besides the word `database`).
DOCUMENT_STORE_SCHEMES = frozenset({"file", "postgresql", "postgresql+psycopg", "s3"})
#: Route family → the setting that bounds its request bodies (`Settings.intake_limit`).
INTAKE_LIMITS: dict[str, str] = {
    "invoices": "max_body_bytes",
    "remittances": "max_remittance_bytes",
    "pods": "max_pod_bytes",
    "responses": "max_status_document_bytes",
    "edi": "max_edi_bytes",
    "bounces": "max_bounce_bytes",
    "print-returns": "max_print_return_bytes",
}


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
    digipost_events_poll_seconds: float = Field(
        300.0, gt=0, description="how often a worker reads Digipost's document events (opened, postmarked, …)"
    )
    digipost_event_channels: list[str] = Field(
        default_factory=lambda: ["digipost"],
        description="digipost channels whose document events the worker reads (when they are configured)",
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
    max_body_bytes: int = Field(
        25_000_000, gt=0, description="intake limit for invoices (POST /invoices; the bulk route reads 4×)"
    )
    max_bulk_items: int = Field(1000, ge=1)
    store_sent_documents: bool = Field(
        True, description="keep each handed-over document in the document store (the invoice as sent)"
    )
    documents_dir: Path = Field(
        default_factory=lambda data: Path(data["data_dir"]) / "documents",
        description="the local document store (invoices as sent, PODs); default data_dir/documents",
    )
    documents_url: SecretStr | None = Field(
        None,
        description="where the document store keeps the bytes: file:///path (a local folder), database (the "
        "outbox's PostgreSQL), postgresql+psycopg://… (another PostgreSQL), or s3://bucket/prefix?endpoint_url"
        "=…&region=… (S3-compatible; credentials from the AWS_* variables or access_key_id/secret_access_key "
        "parameters); unset: the outbox's database when it is PostgreSQL, else documents_dir. A secret: it "
        "may hold credentials",
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
    remittance_zip_max_members: int = Field(
        100, gt=0, description="a statement zip with more members than this is refused whole"
    )
    remittance_zip_max_bytes: int = Field(
        200_000_000,
        gt=0,
        description="a statement zip whose members decompress past this many bytes in all is refused whole",
    )
    remittance_zip_max_ratio: int = Field(
        100,
        gt=1,
        description="a statement zip member decompressing past this ratio to its compressed size is refused "
        "as a zip bomb (held against members past 1 MiB)",
    )
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
    # -- the customer portal (issue 21) --
    portal_base_url: str | None = Field(
        None,
        description="the portal's public address (https://faktura.example.no): sign-in links, and the "
        "'view online / pay' link in invoice e-mails and PDFs, start with it; unset: no link in e-mails or "
        "PDFs, and sign-in links take the address the request came to",
    )
    portal_link_minutes: float = Field(15.0, gt=0, description="a one-time sign-in link's lifetime")
    portal_invite_days: float = Field(7.0, gt=0, description="an invitation link's lifetime")
    portal_idle_minutes: float = Field(30.0, gt=0, description="a portal session ends when idle this long")
    portal_session_hours: float = Field(12.0, gt=0, description="a portal session's absolute lifetime")
    portal_link_limit: int = Field(
        3, ge=1, description="sign-in links per address per 15 minutes (10× per client) before a pause"
    )
    payment_providers_file: Path | None = Field(
        None,
        description="JSON file of each tenant's payment providers for pay-by-link: "
        '{"acme": {"stripe": {"secret_key", "webhook_secret", "api_base"?}, "vipps": {"client_id", '
        '"client_secret", "subscription_key", "merchant_serial_number", "webhook_secret", "api_base"?}}} '
        "(a file, like the channels' settings, so the credentials stay out of the database)",
    )
    followup_interval_seconds: float = Field(
        3600.0,
        gt=0,
        description="how often a worker looks for tenants with follow-up enabled whose day (Europe/Oslo) has "
        "not been run yet, and runs it",
    )
    console_login_limit: int = Field(
        5, ge=1, description="failed sign-ins per address (4× per client) in 15 minutes before a pause"
    )
    rules_dir: Path | None = Field(
        None, description="official validation artefacts (UBL XSD, CEN + PEPPOL XSLT); unset: XSD + CEN"
    )
    # -- the worker and its database: outages, waking on new work (issue 18) --
    worker_db_backoff_initial_seconds: float = Field(
        0.5, gt=0, description="a worker's first wait when the database does not answer; doubles per try"
    )
    worker_db_backoff_max_seconds: float = Field(
        30.0,
        gt=0,
        description="the longest a worker waits between tries while the database does not answer (the "
        "outage lasts as long as it lasts: the worker never gives up)",
    )
    worker_wakeup: Literal["listen", "poll"] = Field(
        "listen",
        description="how an idle worker learns of new work: `listen` waits on PostgreSQL LISTEN/NOTIFY "
        "(intake notifies), looking anyway every worker_listen_poll_seconds; `poll` looks every "
        "poll_seconds. SQLite always polls",
    )
    worker_listen_poll_seconds: float = Field(
        15.0,
        gt=0,
        description="with LISTEN, how long an idle worker waits for a notification before it looks for due "
        "work anyway (retries coming due, a notification lost while reconnecting)",
    )
    worker_overlap_io: bool = Field(
        True,
        description="a worker settles a grouped batch (the folder's flushes and renames) and records its "
        "outcomes on a finisher thread while it claims and renders the next batch (issue 23); off: on "
        "the worker's own thread, one batch after the other",
    )
    # --- metrics and logs (issue 18) ---
    metrics_token: SecretStr | None = Field(
        None,
        description="bearer token a scraper sends to GET /metrics; unset: /metrics answers 404 on the API "
        "port (use metrics_port for a private port instead, or both)",
    )
    metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="`gateway serve` also exposes /metrics, without a token, on this port",
    )
    metrics_host: str = Field(
        "127.0.0.1", description="address the metrics ports listen on (API and workers); 0.0.0.0 for all"
    )
    worker_metrics_port: int | None = Field(
        None,
        ge=0,
        le=65535,
        description="a worker exposes its own counters on this port (one port per worker process on a host)",
    )
    metrics_cache_seconds: float = Field(
        10.0, ge=0, description="how long the outbox gauges of /metrics (counted in the database) are kept"
    )
    log_format: Literal["json", "console"] = Field(
        "console", description="json: one JSON object per line (production); console: key=value for people"
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="the lowest level logged (DEBUG, INFO, WARNING, ERROR, CRITICAL)"
    )

    @field_validator("log_level", "log_format", mode="before")
    @classmethod
    def _case_insensitive(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        levels = {"debug", "info", "warning", "error", "critical"}
        return value.upper() if value.lower() in levels else value.lower()

    # -- intake limits per route family and refused files (issue 18): README "Intake limits" --------------
    max_status_document_bytes: int = Field(
        25_000_000,
        gt=0,
        description="intake limit for status documents (POST /responses: Invoice Response, MLR)",
    )
    max_edi_bytes: int = Field(
        25_000_000, gt=0, description="intake limit for EDI files and acknowledgements (POST /edi)"
    )
    max_bounce_bytes: int = Field(
        16 * 1024 * 1024,
        gt=0,
        le=16 * 1024 * 1024,
        description="intake limit for bounces (POST /bounces); the DSN reader reads at most 16 MiB",
    )
    max_print_return_bytes: int = Field(
        20_000_000, gt=0, description="intake limit for print-house return files (POST /inbound)"
    )
    refused_remittance_quota_bytes: int = Field(
        1_000_000_000,
        ge=0,
        description="per tenant: bytes of refused remittance files kept for inspection; past it a refused "
        "file's body is not kept (its size, SHA-256 and reason are)",
    )
    parse_workers: int = Field(
        2,
        ge=0,
        le=64,
        description="processes the API parses uploaded files in (created on first upload); 0: in a thread",
    )

    def intake_limit(self, family: str) -> tuple[int, str]:
        """(bytes, the setting's environment variable) for a route family: what a 413 answer names."""
        field_name = INTAKE_LIMITS[family]
        return getattr(self, field_name), f"GATEWAY_{field_name.upper()}"

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
    webhook_ca_bundle: Path | None = Field(
        None,
        description="PEM file of extra CA certificates webhook receivers' HTTPS certificates may chain to "
        "(an ERP behind a private CA); added to the default trust store (certifi), which stays in use; "
        "the certificate must still name the URL's host",
    )

    @field_validator("channels", mode="before")
    @classmethod
    def _json_text(cls, value: Any) -> Any:
        return _json_object(value) if isinstance(value, str) else value

    @field_validator("documents_url")
    @classmethod
    def _known_document_store(cls, value: SecretStr | None) -> SecretStr | None:
        """Only the stores the gateway has; the message names the accepted forms, never the value."""
        if value is None or not value.get_secret_value().strip():
            return None
        text = value.get_secret_value().strip()
        scheme = text.partition("://")[0].lower() if "://" in text else ""
        if text != "database" and scheme not in DOCUMENT_STORE_SCHEMES:
            raise ValueError(
                "must be file:///path, database, postgresql[+psycopg]://…, or s3://bucket/prefix "
                "(the value is not repeated: it may hold credentials)"
            )
        return SecretStr(text)

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

    @field_validator("webhook_ca_bundle", mode="before")
    @classmethod
    def _no_ca_bundle(cls, value: Any) -> Any:
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("webhook_ca_bundle")
    @classmethod
    def _readable_ca_bundle(cls, value: Path | None) -> Path | None:
        """Checked now: a worker would otherwise fail every HTTPS webhook with a file error, one by one."""
        if value is not None:
            try:
                ssl.create_default_context(cafile=str(value))
            except (OSError, ssl.SSLError) as error:
                raise ValueError(f"{value} is not a readable PEM file of CA certificates ({error})") from None
        return value

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
        if name == "efaktura":
            merged["folder"] = {"directory": str(self.data_dir / "efaktura-outbound")}
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
