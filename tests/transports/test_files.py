"""Atomic local files (`transports.files`): complete or absent, and a committed name written only once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from transports import files
from transports.files import (
    WriteGroup,
    safe_name,
    sweep_stale_parts,
    sync_file_system,
    write_atomically,
    write_directory_once,
    write_once,
)


def test_write_atomically_replaces_and_leaves_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "a.xml"
    write_atomically(target, b"one", fsync=True)
    write_atomically(target, b"two", fsync=False)
    assert target.read_bytes() == b"two"
    assert [p.name for p in tmp_path.iterdir()] == ["a.xml"]


def test_write_once_commits_the_first_copy_and_sweeps_dead_tries(tmp_path: Path) -> None:
    final = tmp_path / "partner" / "ica_1.edi"
    final.parent.mkdir()
    (final.parent / ".ica_1.edi.dead0001.part").write_bytes(b"half")  # a try that died before the commit
    assert write_once(final, b"UNB first", fsync=True)
    assert not write_once(final, b"UNB second", fsync=True)  # a later try finds it committed
    assert final.read_bytes() == b"UNB first"
    assert sorted(p.name for p in final.parent.iterdir()) == ["ica_1.edi"]


def test_write_once_creates_the_folder_and_names_parts_as_asked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen: list[str] = []
    real_link = os.link

    def link(source: str | Path, target: str | Path) -> None:
        seen.append(Path(source).name)
        real_link(source, target)

    monkeypatch.setattr("transports.files.os.link", link)
    final = tmp_path / "new" / "batch.zip"
    assert write_once(final, b"zip", fsync=False, part_prefix="")
    [part] = seen
    assert part.startswith("batch.zip.") and part.endswith(".part")


def test_write_directory_once_commits_a_whole_directory_once(tmp_path: Path) -> None:
    final = tmp_path / "in" / "batch-1"
    final.parent.mkdir()
    (final.parent / "batch-1.dead0001.part").mkdir()  # a try that died mid-directory
    assert write_directory_once(final, [("a.pdf", b"a"), ("index.csv", b"i")], fsync=True, part_prefix="")
    assert not write_directory_once(final, [("other.pdf", b"o")], fsync=True, part_prefix="")
    assert sorted(p.name for p in final.iterdir()) == ["a.pdf", "index.csv"]
    assert sorted(p.name for p in final.parent.iterdir()) == ["batch-1"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [("INV/2026-01", "INV_2026-01"), ("../etc/passwd", "etc_passwd"), ("...", "document"), ("a b", "a_b")],
)
def test_safe_name_keeps_names_in_their_folder(text: str, expected: str) -> None:
    assert safe_name(text) == expected


def test_partner_and_sftp_schemas_load_without_the_ssh_client() -> None:
    """A profile naming an SFTP transport is configuration: reading it must not need paramiko."""
    script = (
        "import sys\n"
        "import schemas.edi_partner, schemas.sftp\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'paramiko', 'transports', 'mappings'}))\n"
    )
    loaded = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    assert loaded.stdout.strip() == "[]", loaded.stdout + loaded.stderr


# -- WriteGroup: many files, one flush -------------------------------------------------------------------


def _group_dirs(tmp_path: Path) -> tuple[Path, Path]:
    target, parts = tmp_path / "out", tmp_path / ".parts"
    target.mkdir()
    parts.mkdir()
    return target, parts


def test_write_group_puts_nothing_in_place_before_settle_then_all_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, parts = _group_dirs(tmp_path)
    group = WriteGroup()
    group.write(target / "a.xml", b"A", parts=parts, tag="d1")
    group.write(target / "a.sidecar.json", b"{}", parts=parts, tag="d1")
    group.write(target / "b.xml", b"B", parts=parts, tag="d2")
    assert list(target.iterdir()) == []  # a reader of the folder sees nothing yet
    assert len(list(parts.iterdir())) == 3
    renamed: list[str] = []
    real_replace = os.replace

    def replace(source: str | Path, final: str | Path) -> None:
        renamed.append(Path(final).name)
        real_replace(source, final)

    monkeypatch.setattr(os, "replace", replace)
    settled = group.settle()
    assert renamed == ["a.xml", "a.sidecar.json", "b.xml"]  # a delivery's sidecar after its document
    assert settled.done == {"d1", "d2"} and settled.failed == {}
    assert (target / "a.xml").read_bytes() == b"A" and (target / "b.xml").read_bytes() == b"B"
    assert list(parts.iterdir()) == [] and len(group) == 0


def test_write_group_flushes_once_per_file_system_not_per_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, parts = _group_dirs(tmp_path)
    flushed: list[Path] = []
    fsynced: list[int] = []
    monkeypatch.setattr(files, "sync_file_system", lambda directory: flushed.append(directory) or True)
    monkeypatch.setattr(os, "fsync", fsynced.append)
    group = WriteGroup()
    for n in range(20):
        group.write(target / f"{n}.xml", b"x", parts=parts, tag=str(n))
    group.settle()
    assert len(flushed) == 2  # the parts' bytes before the renames, the directory entries after
    assert fsynced == []


def test_write_group_without_syncfs_fsyncs_each_part_and_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, parts = _group_dirs(tmp_path)
    fsynced: list[int] = []
    monkeypatch.setattr(files, "sync_file_system", lambda directory: False)
    monkeypatch.setattr(os, "fsync", fsynced.append)
    group = WriteGroup()
    group.write(target / "a.xml", b"A", parts=parts, tag="d1")
    group.write(target / "b.xml", b"B", parts=parts, tag="d2")
    group.write(target / "c.xml", b"C", parts=parts, tag="d3", durable=False)
    assert group.settle().done == {"d1", "d2", "d3"}
    assert len(fsynced) == 3  # two durable parts, one directory


def test_write_group_reports_the_tag_whose_write_failed_and_leaves_its_later_files_out(
    tmp_path: Path,
) -> None:
    target, parts = _group_dirs(tmp_path)
    gone = target / "gone"
    gone.mkdir()
    group = WriteGroup()
    group.write(target / "ok.xml", b"ok", parts=parts, tag="good")
    group.write(gone / "doc.xml", b"doc", parts=parts, tag="bad")
    group.write(target / "bad.sidecar.json", b"{}", parts=parts, tag="bad")
    gone.rmdir()  # the folder went away before the group settled
    settled = group.settle()
    assert settled.done == {"good"} and set(settled.failed) == {"bad"}
    assert "doc.xml" in settled.failed["bad"]
    assert settled.ok("good") and not settled.ok("bad")
    assert sorted(p.name for p in target.iterdir()) == ["ok.xml"]  # no sidecar for the failed document
    assert list(parts.iterdir()) == []


def test_write_group_whose_flush_fails_puts_nothing_in_place(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target, parts = _group_dirs(tmp_path)

    def broken(directory: Path) -> bool:
        raise OSError(5, "Input/output error")

    monkeypatch.setattr(files, "sync_file_system", broken)
    group = WriteGroup()
    group.write(target / "a.xml", b"A", parts=parts, tag="d1")
    group.write(target / "b.xml", b"B", parts=parts, tag="d2")
    settled = group.settle()
    assert settled.done == frozenset() and set(settled.failed) == {"d1", "d2"}
    assert list(target.iterdir()) == [] and list(parts.iterdir()) == []


def test_write_group_cancel_and_discard_remove_their_parts(tmp_path: Path) -> None:
    target, parts = _group_dirs(tmp_path)
    group = WriteGroup()
    group.write(target / "a.xml", b"A", parts=parts, tag="d1")
    group.write(target / "b.xml", b"B", parts=parts, tag="d2")
    group.cancel("d1")
    assert len(group) == 1 and len(list(parts.iterdir())) == 1
    group.discard()
    assert len(group) == 0 and list(parts.iterdir()) == []
    assert group.settle().done == frozenset()
    assert list(target.iterdir()) == []


def test_sync_file_system_flushes_a_real_directory(tmp_path: Path) -> None:
    assert sync_file_system(tmp_path) in (True, False)  # False only where there is no syncfs(2)
    if sys.platform == "linux":
        assert sync_file_system(tmp_path) is True


def test_sweep_stale_parts_removes_only_old_parts(tmp_path: Path) -> None:
    old, fresh = tmp_path / "a.xml.1.part", tmp_path / "b.xml.2.part"
    old.write_bytes(b"x")
    fresh.write_bytes(b"y")
    os.utime(old, (1, 1))
    sweep_stale_parts(tmp_path, 3600)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["b.xml.2.part"]
