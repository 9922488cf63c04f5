"""Local files that appear complete or not at all: the transport under every folder hand-off.

The folder, PEPPOL, EDI and print channels and the inbound services write into directories that another
program reads (an access point, a partner's pick-up folder, a print house's drop). Two rules hold for
all of them, so they live here once:

* `write_atomically`: a file is written under a temporary name, flushed, and renamed into place, so a
  reader never sees half a document. A repeated write of the same name replaces it.
* `write_once` / `write_directory_once`: the final name is the commit point and is never replaced. The
  content is written beside it as `<prefix><name>.<tag>.part` and linked (a file) or renamed (a
  directory) into place; a name that exists was committed by an earlier try and is left untouched, so a
  retry after a crash at any point leaves exactly one copy.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

__all__ = ["safe_name", "sync_directory", "write_atomically", "write_directory_once", "write_once"]

_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_name(text: str) -> str:
    """A file-name fragment with no path separators or surprises."""
    return _UNSAFE.sub("_", text).strip("._")[:80] or "document"


def write_atomically(path: Path, content: bytes, *, fsync: bool) -> None:
    """Write `content` to `path` so that `path` is either absent or complete."""
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(handle, "wb") as stream:
            stream.write(content)
            if fsync:
                stream.flush()
                os.fsync(stream.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def sync_directory(directory: Path) -> None:
    """Make the renames in `directory` durable (a file's fsync does not cover its directory entry)."""
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _fresh_part(final: Path, part_prefix: str) -> Path:
    """This try's own part name beside `final`, after removing what tries that died before the commit
    left there (files or directories)."""
    for leftover in final.parent.glob(f"{part_prefix}{final.name}.*.part"):
        if leftover.is_dir():
            shutil.rmtree(leftover, ignore_errors=True)
        else:
            leftover.unlink(missing_ok=True)
    return final.with_name(f"{part_prefix}{final.name}.{secrets.token_hex(4)}.part")


def write_once(final: Path, content: bytes, *, fsync: bool, part_prefix: str = ".") -> bool:
    """Commit `content` under `final` unless an earlier try did; True when it was written now.

    The link into place refuses an existing name, so two tries racing each other commit one copy. The
    directory is created when missing. `part_prefix` starts the temporary name ("." hides it).
    """
    if final.exists():
        return False
    final.parent.mkdir(parents=True, exist_ok=True)
    part = _fresh_part(final, part_prefix)
    write_atomically(part, content, fsync=fsync)
    try:
        os.link(part, final)
    except FileExistsError:
        return False
    finally:
        part.unlink(missing_ok=True)
    if fsync:
        sync_directory(final.parent)
    return True


def write_directory_once(
    final: Path, files: Sequence[tuple[str, bytes]], *, fsync: bool, part_prefix: str = "."
) -> bool:
    """Commit `files` as the directory `final` unless an earlier try did; True when it was written now.

    The rename of a complete directory is the commit point; a non-empty directory is never replaced.
    """
    if final.exists():
        return False
    final.parent.mkdir(parents=True, exist_ok=True)
    part = _fresh_part(final, part_prefix)
    part.mkdir()
    for name, content in files:
        write_atomically(part / name, content, fsync=fsync)
    if fsync:
        sync_directory(part)
    try:
        os.rename(part, final)
    except OSError:
        if not final.exists():
            raise
        shutil.rmtree(part, ignore_errors=True)
        return False
    if fsync:
        sync_directory(final.parent)
    return True
