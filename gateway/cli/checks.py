"""Configuration checks run before anything is sent: `gateway check` prints them, `serve` and `worker` run
them at start and refuse to start on a problem, so a wrong setting is found at start-up, not at first use.

Each check is one `Finding` (what, ok or not, why): the settings themselves, each configured channel's
settings against its config model, the rules directory, the database URL, whether the database answers,
whether its schema is the one this gateway needs, and whether the document store answers and keeps a
document (a probe written and read back: a store that cannot be written is found before the first invoice
is sent, not when it is).

A database that does not answer is an outage (`Finding.database_outage`), which `gateway worker` waits out
at start; so is a document store in that same database. Any other problem — a document store of its own
that cannot be reached or written included — is a real one: the process does not start.

The schema rule every command follows (`schema_state`, `require_current_schema`): a brand-new empty
database is created on first use, but an existing one at an older revision is left alone until an
operator runs `gateway migrate` (once, not from every process at the same time), and one at a revision
this gateway does not know (a newer release migrated it) is refused.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gateway.cli.common import validation_problems

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from gateway.settings import Settings

#: How long a check waits for a database server before calling it unreachable.
CONNECT_TIMEOUT_SECONDS = 5


@dataclass(frozen=True)
class Finding:
    """One checked thing: `ok`, or what is wrong with it (and what to do)."""

    check: str
    ok: bool
    detail: str
    #: the problem is that the outbox's database does not answer (yet): a worker starting waits for it
    database_outage: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {"check": self.check, "ok": self.ok, "detail": self.detail}


@dataclass(frozen=True)
class SchemaState:
    """Where the database's schema is, next to where this gateway's migrations end."""

    current: tuple[str, ...]
    heads: tuple[str, ...]
    empty: bool

    @property
    def up_to_date(self) -> bool:
        return set(self.current) == set(self.heads)

    @property
    def unknown(self) -> tuple[str, ...]:
        """Revisions in the database this gateway has no migration for (a newer release wrote them)."""
        from alembic.script import ScriptDirectory

        from db.engine import MIGRATIONS_DIR

        script = ScriptDirectory(str(MIGRATIONS_DIR))
        known = {revision.revision for revision in script.walk_revisions()}
        return tuple(revision for revision in self.current if revision not in known)

    def problem(self) -> str | None:
        """Why a process must not work on this database, or None (current, or new and empty)."""
        if self.up_to_date or self.empty:
            return None
        current = ", ".join(self.current) or "no revision"
        if self.unknown:
            return (
                f"the schema is at {current}, which this gateway does not know (a newer release migrated "
                "it): run that release, or upgrade this one"
            )
        return (
            f"the schema is at {current}, this gateway needs {', '.join(self.heads)}: run `gateway migrate`"
        )


def schema_state(engine: Engine) -> SchemaState:
    """The database's migration revision(s) and the gateway's heads; `empty` when no table exists yet."""
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory
    from sqlalchemy import inspect

    from db.engine import MIGRATIONS_DIR

    heads = tuple(ScriptDirectory(str(MIGRATIONS_DIR)).get_heads())
    with engine.connect() as connection:
        current = tuple(MigrationContext.configure(connection).get_current_heads())
        empty = not current and not inspect(connection).get_table_names()
    return SchemaState(current=current, heads=heads, empty=empty)


def settings_findings(error: Exception) -> list[Finding]:
    """Settings that could not be read, one finding per variable (pydantic's follow-on errors left out)."""
    from pydantic import ValidationError

    if not isinstance(error, ValidationError):  # pydantic-settings' own parsing errors (SettingsError)
        return [Finding("settings", False, str(error))]
    findings = []
    for item in error.errors(include_input=False, include_url=False):
        if item["type"] == "default_factory_not_called":
            continue  # a default built from a setting that failed: that one is reported
        field, *inner = (str(part) for part in item["loc"])
        where = f"GATEWAY_{field.upper()}" + "".join(f" → {part}" for part in inner)
        findings.append(Finding(where, False, str(item["msg"]).removeprefix("Value error, ")))
    return findings


def channel_findings(settings: Settings, names: Iterable[str]) -> Iterator[Finding]:
    """Each channel's merged settings validated by its config model (the channel itself is not opened)."""
    from pydantic import ValidationError

    from channels import ChannelUnavailable, UnknownChannel, channel_class

    for name in names:
        check = f"channel {name}"
        try:
            cls = channel_class(name)
            model = cls.config_model
            config = model.model_validate(settings.channel_settings(name))
            found = cls.local_check(config)
        except (UnknownChannel, ChannelUnavailable) as error:
            yield Finding(check, False, str(error).strip("'\""))
        except ValidationError as error:
            yield Finding(check, False, validation_problems(error))
        except ValueError as error:
            yield Finding(check, False, str(error))
        else:
            detail = f"settings valid ({model.__name__})"
            yield Finding(check, True, f"{detail}; {found}" if found else detail)


def rules_finding(rules_dir: Path | None) -> Finding:
    """The validation artefacts: the bundled XSD + CEN, or a rules directory with rule sets in it."""
    from gateway.services.validation import RuleSource

    if rules_dir is None:
        return Finding("rules directory", True, "unset: the bundled UBL XSD + CEN rules")
    try:
        source = RuleSource.from_rules_dir(rules_dir)
    except OSError as error:
        return Finding("rules directory", False, f"GATEWAY_RULES_DIR: {error}")
    names = sorted({rule.name for rules in source.rule_sets.values() for rule in rules})
    if not names and source.xsd_dir is None:
        return Finding(
            "rules directory",
            False,
            f"GATEWAY_RULES_DIR {rules_dir}: no ubl-2.1/, peppol-*/xslt or mls-*/schematron in it",
        )
    return Finding("rules directory", True, f"{rules_dir}: {', '.join(names) or 'UBL XSD only'}")


def database_findings(settings: Settings) -> list[Finding]:
    """The URL, whether the database answers, and whether its schema is current (in that order)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError
    from sqlalchemy.pool import NullPool

    try:
        url = make_url(settings.database)
    except ArgumentError as error:
        return [Finding("database URL", False, f"GATEWAY_DATABASE_URL: {error}")]
    shown = url.render_as_string(hide_password=True)
    backend = url.get_backend_name()
    if backend == "sqlite" and url.database not in (None, "", ":memory:"):
        path = Path(url.database or "")
        if not path.exists():
            folder = next((p for p in path.parents if p.exists()), None)
            if folder is None or not folder.is_dir():
                return [Finding("database URL", False, f"{shown}: no folder to create it in")]
            return [
                Finding("database URL", True, shown),
                Finding("database", True, f"{path} does not exist yet: created on first use"),
            ]
    connect_args = {"connect_timeout": CONNECT_TIMEOUT_SECONDS} if backend == "postgresql" else {}
    try:
        engine = create_engine(url, connect_args=connect_args, poolclass=NullPool)
    except (ArgumentError, NoSuchModuleError, ImportError) as error:
        return [Finding("database URL", False, f"{shown}: {error}")]
    findings = [Finding("database URL", True, shown)]
    try:
        try:
            with engine.connect() as connection:
                connection.execute(text("SELECT 1"))
            state = schema_state(engine)
        except Exception as error:  # every driver has its own: it did not answer, that is the finding
            reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0]
            findings.append(Finding("database", False, f"{shown} does not answer: {reason}", True))
            return findings
        findings.append(Finding("database", True, f"{backend} answers"))
        findings.append(_migrations_finding(state))
    finally:
        engine.dispose()
    return findings


def _migrations_finding(state: SchemaState) -> Finding:
    problem = state.problem()
    if problem is not None:
        return Finding("migrations", False, problem)
    if state.empty:
        return Finding("migrations", True, "empty database: the schema is created on first use")
    return Finding("migrations", True, f"current ({', '.join(state.current)})")


def documents_finding(
    settings: Settings, database: Iterable[Finding] = (), *, write_probe: bool = True
) -> Finding:
    """Whether the document store (`GATEWAY_DOCUMENTS_URL`, or its default) takes a document and gives it
    back: `PROBE_DOCUMENT` written and read (content-addressed, so one small entry however often checked).

    `database` is what `database_findings` found: a store in the outbox's database is not probed while that
    database does not answer (an outage, not a second problem), is still empty (its tables come with the
    schema, created on first use) or is not at the current schema (the migrations finding says so).
    `write_probe=False` (a dry run changes nothing): the store is only asked, nothing is written.
    """
    from gateway.logging_setup import redact
    from gateway.services.outbound.documents import (
        DocumentStoreConfigError,
        in_outbox_database,
        open_document_store,
        probe_document_store,
    )

    check = "documents"
    url = settings.documents_url.get_secret_value() if settings.documents_url else None
    try:
        in_outbox = in_outbox_database(url, settings)
    except Exception as error:  # a URL the database layer cannot read: the database check says so
        return Finding(check, False, f"GATEWAY_DOCUMENTS_URL: {type(error).__name__}")
    found = {finding.check: finding for finding in database}
    if in_outbox:
        if any(finding.database_outage for finding in found.values()):
            return Finding(check, False, "in the outbox's database, which does not answer", True)
        migrations = found.get("migrations")
        if migrations is not None and not migrations.ok:  # its tables may be a migration away: that one
            return Finding(check, True, "in the outbox's database: probed once its schema is current")
        if migrations is not None and migrations.detail.startswith("empty database"):
            return Finding(check, True, "in the outbox's database: its tables come with the schema")
    try:
        store = open_document_store(url, settings, timeout_seconds=CONNECT_TIMEOUT_SECONDS)
    except DocumentStoreConfigError as error:
        return Finding(check, False, f"GATEWAY_DOCUMENTS_URL: {error}")
    where = redact(repr(store))  # a folder, a database URL without its password, a bucket: never a secret
    try:
        key = probe_document_store(store, write=write_probe)
    except Exception as error:  # every store has its own: the folder's OSError, a driver's, S3's
        reason = str(getattr(error, "orig", None) or error).strip().splitlines()[0] or type(error).__name__
        return Finding(check, False, f"{where} cannot keep a document: {redact(reason)}")
    if not write_probe:
        return Finding(check, True, f"{where}: answers (dry run: nothing written) ({key[:5]}…)")
    return Finding(check, True, f"{where}: a probe document written and read back ({key[:5]}…)")


def run_checks(
    settings: Settings, channels: Iterable[str] = (), *, write_probe: bool = True
) -> list[Finding]:
    """Every check for these settings: the configured channels (and `channels`), rules, database, and
    the document store (`write_probe=False`: only asked, for a dry run that must change nothing)."""
    names = sorted({*settings.configured_channels(), *channels})
    database = database_findings(settings)
    return [
        *channel_findings(settings, names),
        rules_finding(settings.rules_dir),
        *database,
        documents_finding(settings, database, write_probe=write_probe),
    ]


def require_current_schema(engine: Engine) -> None:
    """Create the schema of an empty database; refuse (`SchemaNotCurrent`) one at another revision."""
    from db.engine import migrate

    state = schema_state(engine)
    problem = state.problem()
    if problem is not None:
        raise SchemaNotCurrent(problem)
    if state.empty:
        migrate(engine)


class SchemaNotCurrent(RuntimeError):
    """The database's schema is not the one this gateway needs; `gateway migrate` (or a newer release)."""
