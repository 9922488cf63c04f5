"""The one drop-folder walker (`transports.drop_folder`) on a local folder; the same walker over SFTP is
exercised by the POD and remittance SFTP tests (tests/acceptance/test_pods_sftp.py, tests/services/
test_payments.py) and the print channel's (tests/channels/print/test_sftp_end_to_end.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from transports.drop_folder import (
    DropFileTooLarge,
    DropOutcome,
    DroppedFile,
    Kept,
    LocalDropFolder,
    take_waiting_files,
)


def _names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def _walk(folder: LocalDropFolder, **options: object) -> list[DropOutcome[bytes]]:
    def keep(file: DroppedFile) -> Kept[bytes]:
        data = file.read()
        if data.startswith(b"bad"):
            return Kept(data, refused=f"content: {data.decode()}")
        return Kept(data + (file.read_companion() or b""))

    return list(take_waiting_files(folder, keep, **options))  # type: ignore[arg-type]


def test_only_waiting_files_are_taken_and_each_moves_after_it_was_kept(tmp_path: Path) -> None:
    (tmp_path / "b.xml").write_bytes(b"second")
    (tmp_path / "a.xml").write_bytes(b"first")
    (tmp_path / "a.xml.json").write_bytes(b"+meta")
    (tmp_path / "broken.txt").write_bytes(b"bad total")
    for skipped in (".hidden", "upload.xml.part", "upload.XML.PART", "scan.tmp", "x.xml.reason.txt"):
        (tmp_path / skipped).write_bytes(b"not yet")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "inner.xml").write_bytes(b"inner")

    outcomes = _walk(LocalDropFolder(tmp_path), max_bytes=100, companion_suffix=".json")

    assert [(o.name, o.result, o.refused) for o in outcomes] == [
        ("a.xml", b"first+meta", None),
        ("b.xml", b"second", None),
        ("broken.txt", b"bad total", "content: bad total"),
    ]
    assert _names(tmp_path / "done") == ["a.xml", "a.xml.json", "b.xml"]
    assert _names(tmp_path / "rejected") == ["broken.txt", "broken.txt.reason.txt"]
    assert (tmp_path / "rejected" / "broken.txt.reason.txt").read_text() == "content: bad total\n"
    assert outcomes[0].moved_to == str(tmp_path / "done" / "a.xml")
    left = sorted(p.name for p in tmp_path.iterdir() if p.is_file())
    assert left == [".hidden", "scan.tmp", "upload.XML.PART", "upload.xml.part", "x.xml.reason.txt"]
    assert _names(tmp_path / "sub") == ["inner.xml"]


def test_a_taken_name_is_never_overwritten(tmp_path: Path) -> None:
    (tmp_path / "done").mkdir()
    (tmp_path / "done" / "bank.xml").write_bytes(b"yesterday")
    (tmp_path / "bank.xml").write_bytes(b"today")
    [outcome] = _walk(LocalDropFolder(tmp_path), max_bytes=100)
    assert outcome.moved_to == str(tmp_path / "done" / "bank.1.xml")
    assert (tmp_path / "done" / "bank.xml").read_bytes() == b"yesterday"


def test_a_file_past_the_bound_is_refused_or_left(tmp_path: Path) -> None:
    (tmp_path / "big.pdf").write_bytes(b"x" * 2000)
    (tmp_path / "small.pdf").write_bytes(b"ok")
    outcomes = _walk(LocalDropFolder(tmp_path), max_bytes=1000, leave_too_large=True)
    big = outcomes[0]
    assert (big.name, big.refused, big.moved_to) == ("big.pdf", "content: 2,000 bytes; at most 1,000", None)
    assert (tmp_path / "big.pdf").exists() and _names(tmp_path / "done") == ["small.pdf"]

    [refused] = _walk(LocalDropFolder(tmp_path), max_bytes=1000)
    assert refused.refused == "content: 2,000 bytes; at most 1,000" and refused.result is None
    assert _names(tmp_path / "rejected") == ["big.pdf", "big.pdf.reason.txt"]


def test_a_companion_past_its_bound_refuses_its_file_naming_the_companion(tmp_path: Path) -> None:
    (tmp_path / "photo.jpg").write_bytes(b"jpeg")
    (tmp_path / "photo.jpg.json").write_bytes(b"{" * 2_000_000)
    [outcome] = _walk(LocalDropFolder(tmp_path), max_bytes=100, companion_suffix=".json")
    assert outcome.refused == "photo.jpg.json: 2,000,000 bytes; at most 1,000,000"
    assert _names(tmp_path / "rejected") == ["photo.jpg", "photo.jpg.json", "photo.jpg.reason.txt"]


def test_a_failure_while_keeping_leaves_the_file_waiting(tmp_path: Path) -> None:
    (tmp_path / "a.xml").write_bytes(b"first")
    (tmp_path / "b.xml").write_bytes(b"second")

    def keep(file: DroppedFile) -> Kept[str]:
        if file.name == "b.xml":
            raise RuntimeError("the database went away")
        return Kept(file.name)

    walking = take_waiting_files(LocalDropFolder(tmp_path), keep, max_bytes=100)
    assert next(walking).name == "a.xml"
    with pytest.raises(RuntimeError):
        next(walking)  # the outcome of the file taken before the failure reached the caller
    assert _names(tmp_path / "done") == ["a.xml"] and (tmp_path / "b.xml").exists()


def test_a_folder_that_is_not_there_has_nothing_waiting(tmp_path: Path) -> None:
    assert _walk(LocalDropFolder(tmp_path / "missing"), max_bytes=100) == []


def test_a_read_stops_at_the_bound(tmp_path: Path) -> None:
    (tmp_path / "growing.xml").write_bytes(b"12345")
    folder = LocalDropFolder(tmp_path)
    assert folder.read("growing.xml", 5) == b"12345"
    with pytest.raises(DropFileTooLarge) as refused:
        folder.read("growing.xml", 4)
    assert refused.value.reason == "5 bytes; at most 4"
    assert DropFileTooLarge("x", None, 4).reason == "more than 4 bytes"


def test_done_and_rejected_may_be_one_archive_outside_the_folder(tmp_path: Path) -> None:
    outgoing = tmp_path / "out"
    outgoing.mkdir()
    (outgoing / "receipt.xml").write_bytes(b"ok")
    (outgoing / "broken.csv").write_bytes(b"bad")
    folder = LocalDropFolder(outgoing, done="../archive", rejected="../archive")
    _walk(folder, max_bytes=100)
    assert _names(tmp_path / "archive") == ["broken.csv", "broken.csv.reason.txt", "receipt.xml"]
