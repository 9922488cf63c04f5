"""The log audit: every log line of the test run, as production would write it, searched for secrets and
national identity numbers (issue 18: "secrets and national identity numbers never logged (a test greps every
log line of the suite's runs)").

How: at the start of the run `logging.Logger.callHandlers` is wrapped, so every record that any logger
hands to its handlers — the gateway's structlog events, the channels' and the libraries' stdlib calls, from
any thread, whichever handlers a test or the app's logging setup has installed or removed meanwhile — is
also rendered through the production chain (`gateway.logging_setup.formatter("json")`: the bound context,
the redaction, the JSON renderer) and appended to `build/log-audit.log` with the id of the test that was
running. At the end of the run every line is scanned (`scan`); a finding fails the run (exit status 1) and
the summary names the test and shows the line with the finding cut short.

What it sees is what is logged at the levels in effect (INFO where an app or a worker set up logging,
WARNING elsewhere), in the test process: a record a logger's level drops never exists, and processes the
tests start (worker and `gateway` subprocesses, the parse pool) log to their own stderr. `--no-log-audit`
turns it off (to measure its cost: `tests/api` on SQLite, 14,687 lines, took 104.8 s with it and 101.2 s
without; the rendering itself 1.5 s, some 100 µs a line).
"""

from __future__ import annotations

import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from stdnum.no import fodselsnummer

from gateway.logging_setup import MASK, formatter

AUDIT_FILE = Path(__file__).resolve().parents[1] / "build" / "log-audit.log"

#: Eleven digits (perhaps `ddmmyy nnnnn`) that are not part of a longer number.
_ELEVEN_DIGITS = re.compile(r"(?<!\d)(\d{6}) ?(\d{5})(?!\d)")
_MASKED = re.escape(MASK)
#: (kind, pattern): a credential as it would appear unmasked in a line.
SECRET_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("bearer token", re.compile(rf"\bbearer\s+(?!{_MASKED})[A-Za-z0-9._~+/=-]{{8,}}", re.IGNORECASE)),
    ("password", re.compile(rf"\b(?:password|passwd|passphrase)=(?!{_MASKED})[^\s\"',;&]+", re.IGNORECASE)),
    (
        "password",
        re.compile(rf"\"(?:password|passwd|passphrase)\"\s*:\s*\"(?!{_MASKED}\")[^\"]+\"", re.IGNORECASE),
    ),
    # `create_token`: gw_<token id, 16 hex>_<secret, token_urlsafe(32)>
    ("API token", re.compile(r"\bgw_[0-9a-f]{16}_[A-Za-z0-9_-]{16,}")),
    # a webhook's signing secret (`gateway.services.tenancy.webhooks`)
    ("webhook secret", re.compile(r"\bwhsec_[A-Za-z0-9_-]{16,}")),
    ("private key", re.compile(r"-----BEGIN (?:[A-Z0-9]+ )*PRIVATE KEY-----")),
    (
        "password in a URL",
        re.compile(rf"\b[a-z][a-z0-9+.-]*://[^:/@\s\"]+:(?!{_MASKED}@)[^@\s/\"]+@", re.IGNORECASE),
    ),
]


@dataclass(frozen=True)
class Finding:
    """One thing a line must not show: its kind and where in the line."""

    kind: str
    start: int
    end: int


def national_ids(line: str) -> Iterator[Finding]:
    """Every valid fødselsnummer or D-number (check digits and date) in `line`, as a run of its own."""
    for match in _ELEVEN_DIGITS.finditer(line):
        if fodselsnummer.is_valid(match.group(1) + match.group(2)):
            yield Finding("national identity number", match.start(), match.end())


def scan(line: str) -> list[Finding]:
    """What `line` must not show: national identity numbers and credentials (see `SECRET_PATTERNS`)."""
    found = list(national_ids(line))
    for kind, pattern in SECRET_PATTERNS:
        found.extend(Finding(kind, match.start(), match.end()) for match in pattern.finditer(line))
    return sorted(found, key=lambda finding: finding.start)


def shown(line: str, findings: Iterable[Finding], width: int = 400) -> str:
    """`line` for the report: each finding cut to its first four characters, the line shortened."""
    out, last = [], 0
    for finding in findings:
        if finding.start < last:
            continue
        out += [line[last : finding.start], line[finding.start : finding.start + 4], "…"]
        last = finding.end
    out.append(line[last:])
    text = "".join(out)
    return text if len(text) <= width else text[: width - 1] + "…"


class LogAudit:
    """Renders every log record of the run into `path` (one line each, after the running test's id)."""

    def __init__(self, path: Path = AUDIT_FILE) -> None:
        self.path = path
        self.test_id = "(collection)"
        self.records = 0
        self.seconds = 0.0
        self._formatter = formatter("json")
        self._lock = threading.Lock()
        self._busy = threading.local()
        self._original: Callable[[logging.Logger, logging.LogRecord], None] | None = None
        path.parent.mkdir(parents=True, exist_ok=True)
        self._file = path.open("w", encoding="utf-8")

    def install(self) -> None:
        original = logging.Logger.callHandlers
        self._original = original
        audit = self

        def call_handlers(logger: logging.Logger, record: logging.LogRecord) -> None:
            audit.record(record)
            original(logger, record)

        logging.Logger.callHandlers = call_handlers  # type: ignore[method-assign]

    def uninstall(self) -> None:
        if self._original is not None:
            logging.Logger.callHandlers = self._original  # type: ignore[method-assign]
            self._original = None
        with self._lock:
            self._file.close()

    def record(self, record: logging.LogRecord) -> None:
        if getattr(self._busy, "on", False):  # a record logged while rendering one (a library's warning)
            return
        self._busy.on = True
        started = time.perf_counter()
        try:
            try:
                line = self._formatter.format(record)
            except Exception as error:  # production's handler would print the record raw: note that
                line = f"(the production formatter failed on a record of {record.name}: {error!r}) "
                line += str(record.msg) + " " + repr(record.args)
            line = line.replace("\r", "\\r").replace("\n", "\\n")
            with self._lock:
                if not self._file.closed:
                    self._file.write(f"{self.test_id}\t{line}\n")
                    self.records += 1
        finally:
            self.seconds += time.perf_counter() - started
            self._busy.on = False

    def findings(self) -> Iterator[tuple[str, str, list[Finding]]]:
        """(test id, line, findings) for every line of the file that shows something it must not."""
        with self._lock:
            if not self._file.closed:
                self._file.flush()
        with self.path.open(encoding="utf-8") as lines:
            for entry in lines:
                test_id, _, line = entry.rstrip("\n").partition("\t")
                found = scan(line)
                if found:
                    yield test_id, line, found


# --- the pytest plugin (its hooks are in tests/conftest.py) ------------------------------------------------

#: the run's audit (None: turned off, or not started)
ACTIVE: LogAudit | None = None
_found: list[tuple[str, str, list[Finding]]] = []


def addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--no-log-audit",
        action="store_true",
        default=False,
        help="do not render and scan every log line of the run for secrets and national identity numbers",
    )


def configure(config: pytest.Config) -> None:
    global ACTIVE
    if config.getoption("--no-log-audit") or hasattr(config, "workerinput"):
        return
    ACTIVE = LogAudit()
    ACTIVE.install()


def test_started(nodeid: str) -> None:
    if ACTIVE is not None:
        ACTIVE.test_id = nodeid


def test_finished() -> None:
    if ACTIVE is not None:
        ACTIVE.test_id = "(between tests)"


def session_finished(session: pytest.Session) -> None:
    """Scan the run's lines; any finding fails the run (the summary lists them)."""
    if ACTIVE is None:
        return
    ACTIVE.test_id = "(session end)"
    _found.extend(ACTIVE.findings())
    ACTIVE.uninstall()
    if _found and session.exitstatus == 0:
        session.exitstatus = 1


def summary(terminalreporter: Any) -> None:
    audit = ACTIVE
    if audit is None:
        return
    write = terminalreporter.write_line
    if not _found:
        write(
            f"log audit: {audit.records:,} log lines rendered and scanned ({audit.seconds:.2f} s), "
            f"nothing found ({audit.path})"
        )
        return
    terminalreporter.section(
        "log audit: secrets or national identity numbers in log lines", sep="=", red=True
    )
    for test_id, line, findings in _found[:50]:
        kinds = ", ".join(sorted({finding.kind for finding in findings}))
        write(f"{test_id}: {kinds}")
        write(f"    {shown(line, findings)}")
    if len(_found) > 50:
        write(f"… and {len(_found) - 50} more lines (all in {audit.path})")
    write(f"log audit: {len(_found)} of {audit.records:,} lines show what must not be logged: the run fails")
