"""A file of several interchanges from a trading partner (issue 17), on a real outbox (SQLite and
PostgreSQL): each interchange is stored, recorded and answered on its own — its own CONTRL / 997 with its own
control numbers — and a broken one is refused alone, through `receive_edi`, `POST /edi`, the inbound door
(`POST /inbound`) and `gateway receive-edi`.

The files are built by hand to stand for what VANs deliver: the day's interchanges from one partner
concatenated in one file, CRLF and blank lines between them, one of them hard-wrapped at 80 characters.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

from gateway.cli import app as cli_app
from gateway.services.inbound.edi_acks import KIND_MESSAGE, KIND_REJECTED
from gateway.settings import Settings
from mappings.acks.received import read_acknowledgement
from mappings.syntax import edifact, x12
from tests.services.test_edi_acks import (
    NOW,
    SAFEWAY_820,
    THEM,
    US,
    _edi_deliveries,
    _inbound,
    _interchanges,
    _partner,
    _put,
    _receive,
    _remadv,
    _send_answers,
)


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, settings: Settings) -> Settings:
    """The CLI on the test's database (as in tests/services/test_edi_acks.py)."""
    import gateway.cli

    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    monkeypatch.chdir(settings.data_dir.parent)
    monkeypatch.setattr(gateway.cli.console, "width", 300)
    return settings


def _bad_count(data: bytes) -> bytes:
    """A wrong UNZ count: the sender's translator counted what it should not have."""
    return re.sub(rb"UNZ\+1\+", b"UNZ+3+", data)


def _wrapped(data: bytes) -> bytes:
    """The same interchange as a fixed-width export: CRLF every 80 characters, inside segments too."""
    text = data.decode("latin-1").replace("\n", "")
    return ("\r\n".join(text[i : i + 80] for i in range(0, len(text), 80)) + "\r\n").encode("latin-1")


def _desadv(ref: str) -> bytes:
    """A partner's DESADV interchange (the door sends any EDIFACT but REMADV and IFTSTA to `edi`)."""
    body = [
        edifact.Segment.of("BGM", "351", f"DN-{ref}", "9"),
        edifact.Segment.of("DTM", ("137", "20261124")),
    ]
    message = edifact.Message("1", "DESADV", "D", "96A", "UN", "EAN005", segments=body)
    interchange = edifact.build_interchange(
        sender=edifact.Party(THEM, "14"), recipient=edifact.Party(US, "14"), control_ref=ref, prepared=NOW,
        messages=[message],
    )  # fmt: skip
    return edifact.write_interchange(interchange, newline="\r\n")


def _van_file() -> bytes:
    """R1 as it is, R2 with a wrong UNZ count, R3 hard-wrapped: blank lines between them."""
    return (
        _remadv("R1")
        + b"\r\n\r\n"
        + _bad_count(_remadv("R2", document="R-2"))
        + _wrapped(_remadv("R3", document="R-3"))
    )


def test_each_interchange_is_recorded_and_answered_and_the_broken_one_rejected_alone(
    engine: Engine, settings: Settings, tmp_path: Path
) -> None:
    _put(engine, _partner(tmp_path))
    receipt = _receive(engine, _van_file())
    assert [(r.index, r.interchange_ref, r.kind, r.status) for r in receipt.interchanges] == [
        (1, "R1", KIND_MESSAGE, "recorded"),
        (2, "R2", KIND_REJECTED, "rejected"),
        (3, "R3", KIND_MESSAGE, "recorded"),
    ]
    assert (receipt.kind, receipt.status, receipt.rejected, receipt.rejected_interchanges) == (
        KIND_MESSAGE,
        "partial",
        False,
        1,
    )
    assert "interchange 2 (R2): refused by the syntax check at segment" in (receipt.note or "")
    assert "hard-wrapped" in (receipt.interchanges[2].note or "")  # read, and the warning kept
    assert [e["segment_tag"] for e in receipt.errors] == ["UNZ"] and receipt.errors[0]["interchange"] == 2
    # each stored on its own (the same interchange again in another file is a repeat of that one)
    assert sorted(d.document_id for d in _inbound(engine)) == ["REMADV R1", "REMADV R2", "REMADV R3"]
    assert [(i.interchange_ref, i.message_refs) for i in _interchanges(engine, "in")] == [
        ("R1", ["7"]),
        ("R3", ["7"]),
    ]
    answers = [r.answer for r in receipt.interchanges]
    assert [(a or {}).get("interchange_ref") for a in answers] == ["1", "2", "3"]  # own control numbers
    assert _send_answers(engine, settings) == {"sent": 3}
    contrls = [read_acknowledgement((tmp_path / "ica" / f"ica_ack_{n}.edi").read_bytes()) for n in (1, 2, 3)]
    assert [(c.of_interchange_ref, c.status, c.control_ref) for c in contrls] == [
        ("R1", "accepted", "1"),
        ("R2", "rejected", "2"),
        ("R3", "accepted", "3"),
    ]
    [error] = contrls[1].errors  # UCI … 29 at UNZ: the count, in R2's own CONTRL only
    assert (error.segment_tag, error.element, error.code) == ("UNZ", 1, "29")
    assert contrls[0].errors == () and contrls[2].errors == ()

    again = _receive(engine, _van_file())  # the same file again: nothing applied or answered twice
    assert again.duplicate and all(r.duplicate for r in again.interchanges)
    assert len(_edi_deliveries(engine)) == 3


def test_x12_interchanges_twice_get_a_997_each(engine: Engine, settings: Settings, tmp_path: Path) -> None:
    """A VAN's file of two 820 interchanges (ISA…IEA, ISA…IEA) from one partner."""
    sample = x12.parse(SAFEWAY_820.read_bytes())
    _put(
        engine,
        _partner(
            tmp_path,
            standard="x12",
            us={"id": sample.receiver.id, "qualifier": sample.receiver.qualifier},
            them={"id": sample.sender.id, "qualifier": sample.sender.qualifier},
        ),
    )
    files = []
    for number in (71, 72):
        sample.control_number = f"{number:09d}"
        files.append(x12.write_interchange(sample, newline="\n"))
    receipt = _receive(engine, files[0] + b"\n\n" + files[1])
    assert [(r.interchange_ref, r.status) for r in receipt.interchanges] == [
        ("000000071", "recorded"),
        ("000000072", "recorded"),
    ]
    assert [(r.answer or {}).get("kind") for r in receipt.interchanges] == ["997", "997"]
    assert _send_answers(engine, settings) == {"sent": 2}
    written = sorted((tmp_path / "ica").iterdir())
    answered = [x12.parse(path.read_bytes()) for path in written]
    assert [a.transactions[0].segments[0].get(2) for a in answered] == [
        sample.groups[0].control_number
    ] * 2  # AK102: the group each answers
    assert len({a.control_number for a in answered}) == 2


def test_post_edi_answers_per_interchange(
    client: TestClient, auth: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    _put(engine, _partner(tmp_path))
    headers = {**auth, "Content-Type": "application/EDIFACT"}
    response = client.post("/edi", content=_van_file(), headers=headers)
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["interchange_count"], body["rejected_count"], body["status"]) == (3, 1, "partial")
    assert [(i["interchange_ref"], i["status"], i["answer"]["kind"]) for i in body["interchanges"]] == [
        ("R1", "recorded", "CONTRL"),
        ("R2", "rejected", "CONTRL"),
        ("R3", "recorded", "CONTRL"),
    ]
    assert client.post("/edi", content=_van_file(), headers=headers).status_code == 200
    every_one_broken = _bad_count(_remadv("R8")) + _bad_count(_remadv("R9"))
    refused = client.post("/edi", content=every_one_broken, headers=headers)
    assert refused.status_code == 201 and refused.json()["kind"] == KIND_REJECTED
    assert refused.json()["rejected_count"] == 2


def test_the_inbound_door_takes_each_interchange(
    client: TestClient, auth: dict[str, str], engine: Engine, tmp_path: Path
) -> None:
    _put(engine, _partner(tmp_path))
    van_file = _desadv("D1") + _bad_count(_desadv("D2")) + b"\r\n" + _wrapped(_desadv("D3"))
    response = client.post("/inbound", content=van_file, params={"filename": "van.edi"}, headers=auth)
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["service"] == "edi"
    assert [(i["interchange_ref"], i["status"]) for i in body["result"]["interchanges"]] == [
        ("D1", "recorded"),
        ("D2", "rejected"),
        ("D3", "recorded"),
    ]
    assert len(_edi_deliveries(engine)) == 3
    only_broken = _bad_count(_desadv("D5")) + _bad_count(_desadv("D6"))
    refused = client.post("/inbound", content=only_broken, headers=auth)
    assert refused.status_code == 422  # every interchange refused: the file is refused, as one would be
    assert {e["interchange"] for e in refused.json()["errors"]} == {1, 2}


def test_cli_receive_edi_shows_a_row_per_interchange(
    cli_env: Settings, engine: Engine, tmp_path: Path
) -> None:
    _put(engine, _partner(tmp_path / "partners"))
    path = tmp_path / "van.edi"
    path.write_bytes(_van_file())
    result = CliRunner().invoke(cli_app, ["receive-edi", str(path), "--tenant", "acme"])
    assert result.exit_code == 2, result.output  # one interchange was rejected
    lines = result.output.splitlines()
    assert "recorded" in next(line for line in lines if "van.edi#1" in line)
    assert "rejected" in next(line for line in lines if "van.edi#2" in line)
    assert "CONTRL 3" in next(line for line in lines if "van.edi#3" in line)
