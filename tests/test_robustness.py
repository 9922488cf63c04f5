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
