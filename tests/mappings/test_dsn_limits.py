"""A DSN is read within fixed bounds, whatever its size (issue 18, defect 6).

Reproducer (before the bounds): the Postfix sample DSN with blank lines inserted into its
`message/delivery-status` part, one before the second recipient block —

    sample[:i] + b"\\n" * 1_000_000 + sample[i:]     # i: offset of "Final-Recipient: rfc822; ukjent"

— took 37 s of CPU to parse (146 s at 4 MB): the standard e-mail parser makes one message object per blank
line of that part. A 16 MB body is now refused before the parser sees it, naming the limit.
"""

from __future__ import annotations

import gc
import time

import pytest

from mappings.status import dsn
from mappings.status.dsn import (
    MAX_DSN_LINES,
    MAX_MIME_PARTS,
    MAX_RECIPIENT_BLOCKS,
    MAX_STATUS_PART_BYTES,
    DsnTooLarge,
)
from tests.conftest import SHARED

SAMPLE = (SHARED / "samples" / "email" / "postfix37_dsn_2_INV-1002_failed_5.2.2.eml").read_bytes()
SECOND_RECIPIENT = SAMPLE.index(b"Final-Recipient: rfc822; ukjent")
LAST_BOUNDARY = SAMPLE.rindex(b"--2E57117808D")
SIXTEEN_MB = 16 * 1024 * 1024 - 1024


def _in_status_part(extra: bytes) -> bytes:
    return SAMPLE[:SECOND_RECIPIENT] + extra + SAMPLE[SECOND_RECIPIENT:]


def _recipients(count: int) -> bytes:
    block = b"Final-Recipient: rfc822; someone@ok.test\nAction: failed\nStatus: 5.1.1\n\n"
    return _in_status_part(block * count)


def _refused_cheaply(data: bytes) -> DsnTooLarge:
    """The parser's own CPU time on `data` against reading the small sample, as a ratio (no wall clock).

    This thread's CPU time only, with the cyclic collector off while the clock runs (as
    test_linear_time measures): in the whole suite's process a full collection pass, triggered by the
    objects a parse allocates, walks gigabytes of other tests' live objects — it once charged 16 s to a
    refusal that costs milliseconds — and other threads' CPU is not the parser's."""
    gc.disable()
    try:
        started = time.thread_time()
        with pytest.raises(DsnTooLarge) as refused:
            dsn.parse(data)
        spent = time.thread_time() - started
    finally:
        gc.enable()
    baseline = min(_cpu(SAMPLE) for _ in range(3))
    assert spent < 200 * max(baseline, 0.001), (spent, baseline)
    return refused.value


def _cpu(data: bytes) -> float:
    gc.disable()
    try:
        started = time.thread_time()
        dsn.parse(data)
        return time.thread_time() - started
    finally:
        gc.enable()


def test_sixteen_megabytes_of_blank_lines_are_refused_before_parsing() -> None:
    refused = _refused_cheaply(_in_status_part(b"\n" * (SIXTEEN_MB - len(SAMPLE))))
    assert refused.where == "message"
    assert f"at most {MAX_DSN_LINES}" in refused.reason


def test_a_status_part_over_its_size_is_refused_naming_the_part() -> None:
    long_line = b"X-Padding: " + b"x" * 2000 + b"\n"
    data = _in_status_part(long_line * (MAX_STATUS_PART_BYTES // len(long_line) + 10))
    refused = _refused_cheaply(data)
    assert refused.where == "message/delivery-status"
    assert f"at most {MAX_STATUS_PART_BYTES}" in refused.reason


def test_blank_lines_within_the_size_bounds_stop_at_the_block_cap() -> None:
    """200,000 blank lines fit the line and part bounds; the message factory stops at the block cap."""
    refused = _refused_cheaply(_in_status_part(b"\n" * 200_000))
    assert f"more than {MAX_RECIPIENT_BLOCKS} recipient blocks" in refused.reason


def test_recipients_up_to_the_cap_are_read_and_one_more_is_refused() -> None:
    read = dsn.parse(_recipients(MAX_RECIPIENT_BLOCKS - 2))  # the sample has two of its own
    assert len(read.recipients) == MAX_RECIPIENT_BLOCKS
    refused = _refused_cheaply(_recipients(MAX_RECIPIENT_BLOCKS - 1))
    assert refused.where == "message/delivery-status"
    assert f"{MAX_RECIPIENT_BLOCKS + 1} recipient blocks" in refused.reason


def test_many_mime_parts_are_refused() -> None:
    part = b"--2E57117808D.1795522746/mta.hub.test\nContent-Type: text/plain\n\nx\n"
    data = SAMPLE[:LAST_BOUNDARY] + part * (MAX_RECIPIENT_BLOCKS + MAX_MIME_PARTS) + SAMPLE[LAST_BOUNDARY:]
    refused = _refused_cheaply(data)
    assert f"{MAX_MIME_PARTS} MIME parts" in refused.reason


def test_a_large_returned_message_is_still_read() -> None:
    """Size alone is no reason to refuse: 12 MB of returned base64 (160,000 lines) is read."""
    line = b"UEsDBBQAAAAIAGJ4ZVkAAAAAAAAAAAAAAAAIAAAAaW52b2ljZS54bWxVT8tOwzAQvPcrLN+JE0QR\n"
    part = (
        b"--2E57117808D.1795522746/mta.hub.test\nContent-Type: application/octet-stream\n"
        b"Content-Transfer-Encoding: base64\n\n" + line * 160_000 + b"\n"
    )
    read = dsn.parse(SAMPLE[:LAST_BOUNDARY] + part + SAMPLE[LAST_BOUNDARY:])
    assert [r.final_recipient for r in read.recipients] == ["full@ok.test", "ukjent@ok.test"]
