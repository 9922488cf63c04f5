"""The log setup: the redaction every line goes through, the JSON and console renderers, and that a second
setup replaces the first handler without touching anyone else's."""

from __future__ import annotations

import io
import json
import logging

import pytest

from gateway.logging_setup import MASK, configure_logging, get_logger, mask_national_ids, redact, redact_event
from gateway.settings import Settings

FNR = "15108695088"  # valid check digits and date (made up)
D_NUMBER = "41018036736"  # a D-number: the first digit + 4


@pytest.fixture
def stream() -> io.StringIO:
    return io.StringIO()  # the handler writing to it is taken off after the test (tests/conftest.py)


def test_national_identity_numbers_are_masked_wherever_they_stand() -> None:
    assert mask_national_ids(FNR) == "*******5088"
    assert mask_national_ids(f"buyer {FNR}, kid") == "buyer *******5088, kid"
    assert mask_national_ids("151086 95088") == "*******5088"
    assert mask_national_ids(f"path/{D_NUMBER}/x.xml") == "path/*******6736/x.xml"
    assert mask_national_ids(f"INV-{FNR}") == "INV-*******5088"


@pytest.mark.parametrize(
    "kept",
    [
        "15108695089",  # a check digit wrong
        "12345678901",
        "1510869508",  # ten digits
        f"9{FNR}",  # inside a longer number (a GLN, an account)
        "31029912345",  # no such date
        "INV-000001",
    ],
)
def test_other_numbers_are_left_alone(kept: str) -> None:
    assert mask_national_ids(kept) == kept
    assert redact(kept) == kept


def test_the_masking_cache_gives_what_masking_gives_every_time() -> None:
    """Short texts are masked through a cache (a worker repeats them on every line): a second and third
    time still masked, texts past the cached length masked too, and a number as an int as well."""
    short, long = f"buyer {FNR}", f"{'x' * 200} {FNR} password=hunter2"
    for _ in range(3):
        assert redact(short) == "buyer *******5088"
        assert redact(long) == f"{'x' * 200} *******5088 password={MASK}"
        assert redact(int(FNR)) == "*******5088" and redact(12345678901) == 12345678901
        assert redact("hunter2", "smtp_password") == MASK and redact("erp", "token_name") == "erp"


def test_secrets_are_masked_by_key_and_in_text() -> None:
    event = {
        "event": "login failed: password=hunter2 for Authorization: Bearer abc.def",
        "password": "hunter2",
        "smtp_password": "x",
        "Authorization": "Bearer abc.def",
        "api_key": "k-1",
        "webhook_secret": "whsec-1",
        "token_name": "erp",  # a name, not a token
        "passed": 3,
        "smtp_pass": "p",
        "url": "postgresql://gw:s3cr3t@db:5432/gw",
        "nested": {"client_secret": "cs", "items": [{"token": "t"}, FNR, 15108695088]},
        "attempt": 2,
        "ok": True,
        "_record": object(),
    }
    redacted = redact_event(None, "info", dict(event))
    assert redacted["password"] == redacted["smtp_password"] == redacted["api_key"] == MASK
    assert redacted["Authorization"] == redacted["webhook_secret"] == MASK
    assert redacted["token_name"] == "erp"
    assert (redacted["passed"], redacted["smtp_pass"]) == (3, MASK)
    assert redacted["url"] == f"postgresql://gw:{MASK}@db:5432/gw"
    assert redacted["nested"] == {
        "client_secret": MASK,
        "items": [{"token": MASK}, "*******5088", "*******5088"],
    }
    assert redacted["attempt"] == 2 and redacted["ok"] is True
    assert redacted["_record"] is event["_record"]  # the formatter's own keys are not touched
    text = redacted["event"]
    assert "hunter2" not in text and "abc.def" not in text
    assert text == f"login failed: password={MASK} for Authorization: Bearer {MASK}"
    assert redact("sent with Basic ZXJwOmh1bnRlcjI=") == f"sent with Basic {MASK}"
    assert redact("basic validation failed; check the username and password") == (
        "basic validation failed; check the username and password"
    )


def test_json_lines_carry_the_bound_context_and_stdlib_records_are_redacted_too(stream: io.StringIO) -> None:
    from gateway.logging_setup import bound_context

    configure_logging("DEBUG", "json", stream_handler=logging.StreamHandler(stream))
    with bound_context(tenant="acme", delivery_id="d-1", attempt=1, invoice_number="INV-1"):
        get_logger("gateway.worker").info("delivery.claimed", filename="a.pdf", password="p")
        logging.getLogger("gateway.channels.email").warning("login as %s with password=%s", FNR, "hunter2")
    get_logger("gateway.worker").debug("outside")
    first, second, third = (json.loads(line) for line in stream.getvalue().splitlines())
    assert list(first)[:4] == ["timestamp", "level", "logger", "event"]
    assert first["event"] == "delivery.claimed"
    assert (first["tenant"], first["delivery_id"], first["attempt"], first["invoice_number"]) == (
        "acme", "d-1", 1, "INV-1",
    )  # fmt: skip
    assert first["filename_"] == "a.pdf"  # a LogRecord attribute's name, kept beside it
    assert first["password"] == MASK
    assert second["logger"] == "gateway.channels.email"
    assert second["delivery_id"] == "d-1"
    assert second["event"] == f"login as *******5088 with password={MASK}"
    assert "delivery_id" not in third


def test_console_lines_and_levels(stream: io.StringIO) -> None:
    configure_logging("WARNING", "console", stream_handler=logging.StreamHandler(stream))
    log = get_logger("gateway.test")
    log.info("not shown")
    log.warning("shown", token="t-1", count=3)
    [line] = stream.getvalue().splitlines()
    assert "shown" in line and "count=3" in line and "t-1" not in line
    assert not line.startswith("{")


def test_a_second_setup_replaces_only_its_own_handler(stream: io.StringIO) -> None:
    other = logging.NullHandler()
    root = logging.getLogger()
    root.addHandler(other)
    try:
        first = configure_logging("INFO", "json", stream_handler=logging.StreamHandler(io.StringIO()))
        second = configure_logging("INFO", "json", stream_handler=logging.StreamHandler(stream))
        assert first not in root.handlers
        assert second in root.handlers and other in root.handlers
    finally:
        root.removeHandler(other)


def test_the_settings_name_format_and_level() -> None:
    settings = Settings(log_format="JSON", log_level="debug", _env_file=None)  # type: ignore[call-arg]
    assert (settings.log_format, settings.log_level) == ("json", "DEBUG")
    with pytest.raises(ValueError, match="log_format"):
        Settings(log_format="xml", _env_file=None)  # type: ignore[call-arg]
