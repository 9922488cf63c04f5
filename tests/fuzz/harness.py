"""What every fuzz test shares: the mutations, the entry points, the declared errors, the CPU bound.

A mutated file is one of the real shared samples changed one to four times: a byte flipped, the file cut
short, a slice of it repeated, or junk inserted (random bytes, or a token that means something to one of the
syntaxes: an EDIFACT or X12 terminator, an XML entity, a MIME boundary, a long run of digits…).

Each mutated file goes through the entry points the API and the CLI use, in order:

* `mappings.detect_format` (the door, `gateway inspect`, remittance intake): never raises;
* `mappings.inspect_file` (`gateway inspect`): the result or a `FormatError`;
* for each format of the family, the registry's `parse` and `inspect` of that format: a `FormatError`;
* the family's service-level readers (`read_remittance` of `POST /remittances`, `read_invoices` of
  `gateway render`, the UBL body of `POST /invoices`): a `FormatError`;
* the inbound door itself (`POST /inbound`, `gateway receive`) on a real outbox and document store:
  a receipt whose answer is JSON the API can send, or an `InboundRefused` (the API's 4xx).

Anything else that comes out fails the test, and so does an example that takes a second of CPU or more
(`time.process_time`, all the entry points together).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from sqlalchemy import Engine

from gateway.services.inbound.door import InboundDoor, InboundFile, InboundRefused, receive_inbound
from mappings import FORMATS, detect_format, inspect_file
from mappings.base import FormatError
from mappings.registry import inspector, parser

#: Most CPU one mutated file may cost, through every entry point together.
CPU_SECONDS = 1.0
#: The errors a parser may raise on bad bytes (`mappings/base.py`): every other exception is a crash.
DECLARED_PARSE_ERRORS: tuple[type[BaseException], ...] = (FormatError,)
#: What the door may answer besides a receipt: the API's 413 / 415 / 422.
DECLARED_DOOR_ERRORS: tuple[type[BaseException], ...] = (InboundRefused,)

# A fixed seed (derandomize) and no example database: the same examples on every run and in CI; no
# hypothesis deadline, since the CPU bound above is measured per example by the test itself.
settings.register_profile(
    "fuzz",
    derandomize=True,
    database=None,
    deadline=None,
    print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example],
)
FUZZ = settings.get_profile("fuzz")

JUNK = [
    b"'",
    b"+",
    b":",
    b"?",
    b"~",
    b"*",
    b"^",
    b">",
    b"|",
    b"\r\n",
    b"\n\n",
    b"\r\n\r\n",
    b"\x00",
    b"\xff\xfe",
    b"\xc3\x28",
    b"<",
    b"&",
    b"&amp;",
    b"&#0;",
    b"]]>",
    b"<![CDATA[",
    b"<!DOCTYPE a [<!ENTITY b 'c'>]>",
    b"<x:y xmlns:x='urn:x'>",
    b"</Document>",
    b"UNA:+.? '",
    b"UNH+1+INVOIC:D:96A:UN'",
    b"UNT+2+1'",
    b"UNZ+1+1'",
    b"ISA*00*",
    b"ST*810*0001~",
    b"SE*2*0001~",
    b"IEA*1*000000001~",
    b"NY000010",
    b"NY000089",
    b"--",
    b'boundary="x"',
    b"Content-Type: message/delivery-status\r\n\r\n",
    b"Action: failed\r\n",
    b"Final-Recipient: rfc822;a@b\r\n",
    b"=?utf-8?b?AAAA?=",
    b"%PDF-1.7\n",
    b"%%EOF",
    b"obj <<",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff",
    b"9" * 40,
    b"-1",
    b"0.000000001",
    b"1E+999",
    b"NaN",
    b"99999999999999999999",
    b"-0",
    b"2026-02-30",
    b"\xe2\x82\xac",
]


@st.composite
def mutated(draw: st.DrawFn, seeds: Sequence[bytes]) -> bytes:
    """One of `seeds`, changed one to four times (flip, truncate, repeat a slice, insert junk).

    Where and how much come from a `random.Random` hypothesis draws (and fixes, with the profile's
    derandomize): positions spread evenly over the file, where hypothesis's own integers lean towards 0 and
    would break mostly the first bytes, which every sniffer already refuses.
    """
    data = bytearray(draw(st.sampled_from(seeds)))
    rng = draw(st.randoms(use_true_random=False))
    for _ in range(rng.choice([1, 1, 1, 2, 2, 3, 4])):
        operation = rng.choice(["flip", "flip", "truncate", "repeat", "junk", "junk", "junk"])
        at = rng.randint(0, len(data))
        if operation == "flip" and data:
            at = min(at, len(data) - 1)
            data[at] ^= 1 << rng.randint(0, 7)
        elif operation == "truncate":
            data = data[:at]
        elif operation == "repeat":
            end = min(len(data), at + rng.randint(1, 2048))
            data[end:end] = bytes(data[at:end]) * rng.randint(1, 8)
        else:
            junk = rng.choice(JUNK) if rng.random() < 0.8 else rng.randbytes(rng.randint(1, 16))
            data[at:at] = junk * rng.choice([1, 1, 1, 2, 50])
    return bytes(data)


def seed_files(folder: Path, pattern: str = "*") -> list[bytes]:
    """Every file under `folder` matching `pattern` (recursively), in a stable order."""
    found = sorted(path for path in folder.rglob(pattern) if path.is_file() and path.name != "SOURCES.md")
    assert found, f"no samples in {folder}"
    return [path.read_bytes() for path in found]


def ubl_intake_body(data: bytes) -> dict[str, Any]:
    """`POST /invoices` with an XML body: the UBL invoice as the dict the intake takes."""
    from mappings.invoice import ubl

    return ubl.parse(data).model_dump(mode="json", exclude_none=True)


@dataclass
class Family:
    """A parser family: its registry formats and the service-level readers the API puts its files through."""

    name: str
    formats: Sequence[str]
    readers: Sequence[Callable[[bytes], object]] = ()
    #: Run through `receive_inbound` too (every family the door takes).
    door: bool = True
    outcomes: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        unknown = [name for name in self.formats if name not in FORMATS]
        assert not unknown, unknown


@dataclass
class Door:
    """The inbound door on a real outbox and local document store (what `POST /inbound` is handed)."""

    door: InboundDoor
    tenant: str = "acme"


def _attempt(outcomes: dict[str, int], label: str, call: Callable[[], object],
             declared: tuple[type[BaseException], ...]) -> object | None:  # fmt: skip
    """Run one entry point: its result, or None when it refused with a declared error (counted)."""
    try:
        result = call()
    except declared as error:
        outcomes[f"{label}: {type(error).__name__}"] = outcomes.get(f"{label}: {type(error).__name__}", 0) + 1
        return None
    outcomes[f"{label}: ok"] = outcomes.get(f"{label}: ok", 0) + 1
    return result


def exercise(family: Family, data: bytes, door: Door | None) -> float:
    """Every entry point of `family` on `data`; only declared errors may come out. The CPU seconds used."""
    started = time.process_time()
    outcomes = family.outcomes
    detect_format(data)
    _attempt(outcomes, "inspect_file", lambda: inspect_file(data), DECLARED_PARSE_ERRORS)
    for name in family.formats:
        entry = FORMATS[name]
        if entry.parse:
            _attempt(outcomes, f"{name}.parse", lambda name=name: parser(name)(data), DECLARED_PARSE_ERRORS)
        if entry.inspect:
            found = _attempt(
                outcomes, f"{name}.inspect", lambda name=name: inspector(name)(data), DECLARED_PARSE_ERRORS
            )
            if found is not None:
                json.dumps(found, default=str)  # `gateway inspect --json` prints it
    for reader in family.readers:
        _attempt(outcomes, reader.__name__, lambda reader=reader: reader(data), DECLARED_PARSE_ERRORS)
    if family.door and door is not None:
        file = InboundFile(data, "fuzz.bin", door.tenant, "fuzz", source="api")
        try:
            receipt = receive_inbound(door.door, file)
        except DECLARED_DOOR_ERRORS as refused:
            assert isinstance(refused, InboundRefused)
            outcomes[f"door: {refused.status}"] = outcomes.get(f"door: {refused.status}", 0) + 1
            answer: Any = {"errors": refused.errors, **refused.extra}
        else:
            outcomes["door: received"] = outcomes.get("door: received", 0) + 1
            answer = {"receipt": receipt.as_dict(), "errors": receipt.refused}
        api_json(answer)
    return time.process_time() - started


def api_json(answer: Any) -> bytes:
    """The body the API sends for `answer`, as Starlette's JSONResponse renders it (no NaN, UTF-8)."""
    return json.dumps(answer, ensure_ascii=False, allow_nan=False, separators=(",", ":")).encode("utf-8")


def open_door(engine: Engine, data_dir: Path) -> Door:
    from gateway.services.outbound.documents import document_store
    from gateway.settings import Settings

    settings = Settings(database_url=str(engine.url), data_dir=data_dir, _env_file=None)  # type: ignore[call-arg]
    return Door(InboundDoor(engine, document_store(settings), settings))


#: Per family: the family (with its outcome counts) and each example's CPU seconds, for the run's summary.
RESULTS: dict[str, tuple[Family, list[float]]] = {}


def check(family: Family, data: bytes, door: Door | None) -> None:
    """One example: every entry point, then the CPU bound (the figures kept for the summary)."""
    cpu = exercise(family, data, door)
    RESULTS.setdefault(family.name, (family, []))[1].append(cpu)
    assert cpu < CPU_SECONDS, f"{family.name}: {cpu:.2f} s of CPU for {len(data):,} bytes"


def report_lines() -> Iterable[str]:
    """One line per family: examples, CPU (worst, median), and what each entry point answered."""
    for family, examples in RESULTS.values():
        cpu = sorted(examples)
        yield (
            f"{family.name}: {len(cpu)} examples, CPU max {max(cpu) * 1000:.0f} ms, median "
            f"{cpu[len(cpu) // 2] * 1000:.1f} ms; {dict(sorted(family.outcomes.items()))}"
        )
