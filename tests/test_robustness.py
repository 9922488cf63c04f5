"""Junk in, clear rejection out: every parser and the intake API answer bad input without crashing.

In the manner of python-stdnum's robustness test: one table of hostile inputs, fed to every reader.
"""

from __future__ import annotations

import json
import random
from typing import Any

import pytest
from fastapi.testclient import TestClient

from gateway.samples import sample_invoice_json
from mappings import inspect_file
from mappings.base import FormatError
from mappings.canonical_json import parse_invoice_json

JUNK: list[bytes] = [
    b"",
    b" ",
    b"\x00" * 64,
    b"{",
    b"[" * 10_000,  # deep nesting
    b'{"lines": [], "seller": 1}',
    b'{"lines": "x", "seller": {}}',
    b"1e999999",
    b'"\\ud800"',
    b"\xef\xbb\xbf{}",  # BOM
    '{"number": "\u202e"}'.encode(),
    b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>',
    json.dumps({"lines": [{}] * 3, "seller": None}).encode(),
]


def _random_mutations(count: int, seed: int = 20261124) -> list[bytes]:
    """Valid invoices with random bytes flipped, cut or duplicated: close to real, still wrong."""
    rng = random.Random(seed)
    base = json.dumps(sample_invoice_json(1)).encode()
    out: list[bytes] = []
    for _ in range(count):
        data = bytearray(base)
        for _ in range(rng.randint(1, 8)):
            position = rng.randrange(len(data))
            action = rng.random()
            if action < 0.4:
                data[position] = rng.randrange(256)
            elif action < 0.7:
                del data[position : position + rng.randint(1, 20)]
            else:
                data[position:position] = data[position : position + rng.randint(1, 20)]
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("data", JUNK + _random_mutations(150))
def test_parsers_reject_junk_clearly(data: bytes) -> None:
    for reader in (parse_invoice_json, inspect_file):
        try:
            reader(data)
        except FormatError as error:
            assert error.where
            assert error.reason
        except RecursionError:  # pragma: no cover - must not happen
            pytest.fail("deep nesting crashed the parser")


@pytest.mark.parametrize("data", JUNK + _random_mutations(40, seed=7))
def test_api_never_answers_500(client: TestClient, auth: dict[str, Any], data: bytes) -> None:
    headers = {**auth, "Content-Type": "application/json"}
    for path in ("/invoices", "/invoices:bulk"):
        response = client.post(path, content=data, headers=headers)
        assert 200 <= response.status_code < 500, (path, response.status_code, response.text[:300])
        if response.status_code >= 400:
            body = response.json()
            assert body["errors"]
            assert all("reason" in e for e in body["errors"])


# -- print-house files: batch index and return files ------------------------------------------------------


def _print_files() -> list[bytes]:
    """A valid index (CSV and XML) and a valid return file of each syntax: the bases for mutation."""
    import datetime as dt

    from mappings.print_batch import PostalRecipient, PrintIndexEntry, render_index_csv, render_index_xml

    entries = [
        PrintIndexEntry(
            batch_id="b-1",
            sequence=n,
            delivery_id=f"dlv-{n}",
            invoice_number=f"INV-{n}",
            file=f"b-1-{n:05d}.pdf",
            first_page=1,
            pages=n,
            sheets=(n + 1) // 2,
            envelope="C5",
            post_class="B",
            colour=False,
            duplex=True,
            recipient=PostalRecipient("Ærlig Øst AS", ("Sjøgata 12", "c/o Åse"), "9008", "Tromsø", "NO"),
        )
        for n in (1, 2, 3)
    ]
    cutoff = dt.datetime(2026, 11, 24, 14, tzinfo=dt.UTC)
    return [
        render_index_csv(entries),
        render_index_xml("b-1", entries, "acme", cutoff),
        b"record;batch_id;sequence;delivery_id;invoice_number;status;date;reason_code;reason\r\n"
        b"production;b-1;1;dlv-1;INV-1;posted;2026-11-25;;\r\n"
        b"production;b-1;2;dlv-2;INV-2;printed;;;\r\n",
        b'<ReturnedMail xmlns="urn:invoice-gateway:print-return:1" reportedAt="2026-12-02T09:00:00Z">'
        b'<Item deliveryId="dlv-1" batchId="b-1" sequence="1" returnedOn="2026-12-01" reasonCode="MOVED">'
        b"Flyttet</Item></ReturnedMail>",
    ]


def _print_mutations(count: int, seed: int = 20261125) -> list[bytes]:
    rng = random.Random(seed)
    bases = _print_files()
    out: list[bytes] = []
    for index in range(count):
        data = bytearray(bases[index % len(bases)])
        for _ in range(rng.randint(1, 6)):
            position = rng.randrange(len(data))
            action = rng.random()
            if action < 0.4:
                data[position] = rng.choice(b';"<>/=&\n\r\x00\xff0123456789-T:Z ')
            elif action < 0.7:
                del data[position : position + rng.randint(1, 20)]
            else:
                data[position:position] = data[position : position + rng.randint(1, 20)]
        out.append(bytes(data))
    return out


@pytest.mark.parametrize("data", JUNK + _print_files() + _print_mutations(160))
def test_print_house_parsers_reject_junk_clearly(data: bytes) -> None:
    from mappings.print_batch import parse_print_index
    from mappings.print_returns import parse_print_return

    for reader in (parse_print_index, parse_print_return, inspect_file):
        try:
            reader(data)
        except FormatError as error:
            assert error.where
            assert error.reason
        except RecursionError:  # pragma: no cover - must not happen
            pytest.fail("deep nesting crashed the parser")
