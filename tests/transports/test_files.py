"""Atomic local files (`transports.files`): complete or absent, and a committed name written only once."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from transports.files import safe_name, write_atomically, write_directory_once, write_once


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
