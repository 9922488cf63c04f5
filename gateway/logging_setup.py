"""Log lines, set up once per process: JSON lines in production, key=value on a terminal, secrets masked.

Every entry point (the API's app factory, `gateway serve`, `gateway worker`) calls `configure_logging`.
The gateway's own code logs through structlog (`get_logger`), whose events go on into the standard
`logging` module as ordinary records (message = the event, the key-value pairs as record attributes):
so any handler — pytest's `caplog`, an embedding application's — keeps working, and the lower layers
(channels, outbox) keep their plain `logging.getLogger` calls. The one handler installed here renders
every record, ours and the stdlib's alike, through the same chain: the bound context (request id,
tenant, invoice number, delivery id, attempt), the redaction of secrets and national identity numbers,
then JSON or the console renderer. Redaction sits in that chain, not at each call, because a secret
reaches a log line through an exception text or a library's message as often as through our own keys.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import re
import sys
from collections.abc import Iterator, Mapping, MutableMapping
from typing import Any, Literal, TextIO

import structlog
from stdnum.no import fodselsnummer

__all__ = [
    "MASK",
    "bound_context",
    "configure_logging",
    "get_logger",
    "logging_for_run",
    "mask_national_ids",
    "redact",
    "redact_event",
    "remove_logging",
]

LogFormat = Literal["json", "console"]

MASK = "[redacted]"
#: A key whose value is never logged: its name says it holds a credential.
SECRET_KEY = re.compile(
    r"password|passwd|passphrase|(?:^|_)pass(?:$|_)|secret|token|authori[sz]ation|api[_-]?key|cookie|"
    r"credential|private[_-]?key|signature",
    re.IGNORECASE,
)
#: Keys that hold a name or a number of ours, not a credential, although they contain a secret-like word.
NOT_SECRET_KEYS = frozenset({"token_name", "tokens", "secret_set", "has_secret"})
#: A credential inside a text: `Authorization: Bearer abc`, `password=abc`, `token: abc`, a URL's
#: `user:password@`. The name is kept so the line still says what was there.
SECRET_IN_TEXT = re.compile(
    r"(?P<name>\b(?:password|passwd|secret|token|api[_-]?key|authorization)[\"']?\s*[:=]\s*[\"']?"
    r"(?:(?:bearer|basic)\s+)?|\bbearer\s+|\bbasic\s+(?=[A-Za-z0-9+/]{8,}={0,2}(?:[\s\"',;]|$))(?=[^\s]*[0-9+/=]))"
    r"(?P<value>[^\s\"',;&]+)",
    re.IGNORECASE,
)
#: The gateway's own credentials, wherever they appear (a bare token in an exception's text has no name
#: before it): an API token `gw_<id>_<secret>` keeps its id (which token), a webhook secret nothing.
OUR_CREDENTIALS = re.compile(r"(?P<name>\bgw_[0-9a-f]{16}_|\bwhsec_)(?P<value>[A-Za-z0-9_-]+)")
#: A PEM private key, its newlines real or escaped (`\\n` in a repr), to its END line or the end of the text.
PRIVATE_KEY = re.compile(
    r"-----BEGIN (?P<kind>(?:[A-Z0-9]+ )*)PRIVATE KEY-----.*?(?:-----END (?:[A-Z0-9]+ )*PRIVATE KEY-----|\Z)",
    re.DOTALL,
)
URL_PASSWORD = re.compile(r"(?P<name>[a-z][a-z0-9+.-]*://[^:/@\s]+:)(?P<value>[^@\s/]+)(?=@)", re.IGNORECASE)
#: Eleven digits, perhaps as `ddmmyy nnnnn`, not inside a longer run of digits: a candidate fødselsnummer.
ELEVEN_DIGITS = re.compile(r"(?<!\d)(\d{6})[ ]?(\d{5})(?!\d)")

#: LogRecord attributes an event's key must not overwrite (`logging` raises on `extra={"name": …}`).
_RECORD_ATTRIBUTES = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}

#: What `render_to_log_kwargs` hands to `logging` as arguments, not as record attributes.
_LOG_KWARGS = frozenset({"exc_info", "stack_info", "stacklevel"})
#: The formatter's own keys in an event (records, not values to log; dropped before rendering).
_FORMATTER_KEYS = frozenset({"_record", "_from_structlog"})
#: The keys every line starts with, in this order (the rest follow as logged).
_FIRST_KEYS = ("timestamp", "level", "logger", "event")

_handler: logging.Handler | None = None


def mask_national_ids(text: str) -> str:
    """`text` with every Norwegian national identity number (fødselsnummer or D-number, 11 digits that
    pass the check digits and the date) replaced by `*******` and its last four digits."""
    if len(text) < 11:
        return text

    def masked(match: re.Match[str]) -> str:
        number = match.group(1) + match.group(2)
        return "*******" + number[-4:] if fodselsnummer.is_valid(number) else match.group(0)

    return ELEVEN_DIGITS.sub(masked, text)


def _mask_text(text: str) -> str:
    if "PRIVATE KEY-----" in text:
        text = PRIVATE_KEY.sub(lambda m: f"-----{m.group('kind')}PRIVATE KEY {MASK}-----", text)
    text = SECRET_IN_TEXT.sub(lambda m: m.group("name") + MASK, text)
    text = URL_PASSWORD.sub(lambda m: m.group("name") + MASK, text)
    text = OUR_CREDENTIALS.sub(lambda m: m.group("name") + MASK, text)
    return mask_national_ids(text)


#: Texts up to this length are masked through a cache: a worker's lines repeat the same short values
#: (tenant, channel, worker, status) on every line, and five pattern searches each cost more than the rest
#: of the line's rendering.
_CACHED_TEXT_LENGTH = 128


@functools.lru_cache(maxsize=4096)
def _mask_short_text(text: str) -> str:
    return _mask_text(text)


def _masked(text: str) -> str:
    return _mask_short_text(text) if len(text) <= _CACHED_TEXT_LENGTH else _mask_text(text)


@functools.lru_cache(maxsize=1024)
def _is_secret_key(key: str) -> bool:
    """The key's name says its value is a credential (the log's keys are few: cached)."""
    return key not in NOT_SECRET_KEYS and SECRET_KEY.search(key) is not None


def redact(value: Any, key: str | None = None) -> Any:
    """`value` safe to log: masked whole under a secret-looking `key`, texts searched for credentials and
    national identity numbers, mappings and sequences redacted item by item."""
    if key is not None and value is not None and _is_secret_key(key):
        return MASK
    if isinstance(value, str):
        return _masked(value)
    if isinstance(value, bytes | bytearray):
        return _mask_text(bytes(value).decode("utf-8", "replace"))
    if isinstance(value, Mapping):
        return {k: redact(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact(item) for item in value]
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        masked = _masked(text) if len(text) >= 11 else text
        return value if masked == text else masked
    if isinstance(value, bool | float) or value is None:
        return value
    return _masked(str(value))


def redact_event(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """structlog processor: every value of the event, the message included, through `redact`.

    Only the formatter's own keys are passed over: an `extra` whose name starts with `_` is rendered like
    any other, so it is redacted like any other (the log audit found one that was not).
    """
    for key in list(event_dict):
        if key in _FORMATTER_KEYS:
            continue
        event_dict[key] = redact(event_dict[key], key)
    return event_dict


def _format_exception_redacted(
    logger: Any, method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The traceback rendered into `exception` and redacted like the rest (it quotes values)."""
    event_dict = structlog.processors.format_exc_info(logger, method, event_dict)
    if "exception" in event_dict:
        event_dict["exception"] = _mask_text(str(event_dict["exception"]))
    return event_dict


def _safe_record_keys(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """An event key that is also a LogRecord attribute (`filename`, `name`…) gets a trailing `_`."""
    for key in [k for k in event_dict if k in _RECORD_ATTRIBUTES and k not in _LOG_KWARGS]:
        event_dict[key + "_"] = event_dict.pop(key)
    return event_dict


def _record_extras(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The key-value pairs a record carries beside the standard attributes (a structlog event's, or a
    stdlib call's `extra=`); `message` and `asctime`, which another handler's formatter may have added to
    the same record, are not among them."""
    record = event_dict.get("_record")
    if record is not None:
        for key, item in vars(record).items():
            if key not in _RECORD_ATTRIBUTES and key not in event_dict:
                event_dict[key] = item
    return event_dict


def _drop_internal(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """The formatter's own keys go; the line starts with when, how bad, where from and what."""
    for internal in ("_record", "_from_structlog", "positional_args"):
        event_dict.pop(internal, None)
    first = {key: event_dict.pop(key) for key in _FIRST_KEYS if key in event_dict}
    return {**first, **event_dict}


#: structlog's own chain: context merged, `%s` arguments applied, then handed to `logging` as a record.
_STRUCTLOG_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.PositionalArgumentsFormatter(),
    redact_event,
    _safe_record_keys,
    structlog.stdlib.render_to_log_kwargs,
]

structlog.configure(
    processors=_STRUCTLOG_PROCESSORS,
    logger_factory=structlog.stdlib.LoggerFactory(),
    wrapper_class=structlog.stdlib.BoundLogger,
    cache_logger_on_first_use=True,
)


def get_logger(name: str) -> Any:
    """A structlog logger over the stdlib logger `name` (same name, so `caplog` and levels apply)."""
    return structlog.stdlib.get_logger(name)


def bound_context(**values: Any) -> Any:
    """Bind `values` to every log line of the current context (thread / task) until the block ends."""
    return structlog.contextvars.bound_contextvars(**values)


class _ProcessStderr(logging.StreamHandler):  # type: ignore[type-arg]
    """A stream handler writing to the process's own stderr (`sys.__stderr__`), whatever `sys.stderr` is
    swapped for: a command run in-process (Click's test runner, an embedding program) captures its own
    output, not the process's log lines."""

    def __init__(self) -> None:
        super().__init__()

    @property
    def stream(self) -> TextIO:
        return sys.__stderr__ or sys.stderr

    @stream.setter
    def stream(self, _value: TextIO) -> None:
        pass


def formatter(log_format: LogFormat, *, colors: bool | None = None) -> logging.Formatter:
    """The formatter that renders every record (ours and the stdlib's) as one redacted line."""
    renderer: Any
    if log_format == "json":
        renderer = structlog.processors.JSONRenderer(ensure_ascii=False, default=str, sort_keys=False)
        exceptions: Any = _format_exception_redacted
    else:
        use_colors = sys.stderr.isatty() if colors is None else colors
        renderer = structlog.dev.ConsoleRenderer(
            colors=use_colors, exception_formatter=structlog.dev.plain_traceback
        )
        exceptions = _format_exception_redacted
    return structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=[
            structlog.contextvars.merge_contextvars,
            structlog.stdlib.add_logger_name,
            structlog.stdlib.add_log_level,
            _record_extras,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
        ],
        processors=[
            _drop_internal,
            exceptions,
            redact_event,
            renderer,
        ],
    )


def configure_logging(
    level: str = "INFO", log_format: LogFormat = "console", *, stream_handler: logging.Handler | None = None
) -> logging.Handler:
    """Install (or replace) the gateway's one log handler on the root logger, at `level`.

    Idempotent: a second call replaces the handler installed by the first, and leaves every other handler
    alone (pytest's `caplog`, an embedding application's). `stream_handler` is where the lines go
    (default: the process's stderr); a test hands in its own to read them."""
    global _handler
    root = logging.getLogger()
    if _handler is not None:
        root.removeHandler(_handler)
    handler = stream_handler or _ProcessStderr()
    handler.setFormatter(formatter(log_format))
    root.addHandler(handler)
    root.setLevel(level.upper())
    _handler = handler
    # uvicorn's loggers go through the root handler (rendered and redacted like the rest)
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logging.getLogger(name).handlers.clear()
        logging.getLogger(name).propagate = True
    return handler


def remove_logging() -> None:
    """Take the gateway's handler off the root logger again (an embedding application, or a test, that is
    done with it); the root logger's level is left to the caller."""
    global _handler
    if _handler is not None:
        logging.getLogger().removeHandler(_handler)
        _handler = None


@contextlib.contextmanager
def logging_for_run(level: str, log_format: LogFormat) -> Iterator[logging.Handler]:
    """The gateway's logging for the length of one command (`gateway serve`, `gateway worker`), then the
    root logger as it was: a command run inside another program (or a test) leaves nothing behind."""
    root = logging.getLogger()
    previous = root.level
    handler = configure_logging(level, log_format)
    try:
        yield handler
    finally:
        if _handler is handler:
            remove_logging()
        root.setLevel(previous)
