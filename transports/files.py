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
* `WriteGroup`: many files made durable together. Each write goes to a part file (in a parts directory
  beside the targets, on their file system) without a flush; `settle()` makes every part durable with one
  `syncfs(2)` per file system (or an fsync per file where there is none), renames the parts into place in
  the order they were written, and makes the renames durable. A worker writes a whole claim batch this
  way and records the outcomes only after `settle()`, so an fsync per file becomes one flush per batch.
"""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import re
import secrets
import shutil
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

__all__ = [
    "Settled",
    "WriteGroup",
    "safe_name",
    "sweep_stale_parts",
    "sync_directory",
    "sync_file_system",
    "write_atomically",
    "write_directory_once",
    "write_once",
]

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


# -- many files, one flush -----------------------------------------------------------------------------


def _load_syncfs() -> object | None:
    """libc's `syncfs` (Linux), or None where there is none."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        return getattr(libc, "syncfs", None)
    except OSError:  # pragma: no cover - no C library to load
        return None


_SYNCFS = _load_syncfs()


def sync_file_system(directory: Path) -> bool:
    """Flush everything written to the file system holding `directory` (data and metadata, one journal
    commit): True when done, False where `syncfs(2)` is missing (the caller fsyncs file by file then).
    Raises `OSError` when the flush itself fails (the data may not be on disk)."""
    if _SYNCFS is None:
        return False
    descriptor = os.open(directory, os.O_RDONLY)
    try:
        if _SYNCFS(descriptor) != 0:  # type: ignore[operator]
            number = ctypes.get_errno()
            if number in (38, 95):  # ENOSYS, EOPNOTSUPP: no syncfs here
                return False
            raise OSError(number, os.strerror(number), str(directory))
    finally:
        os.close(descriptor)
    return True


def sweep_stale_parts(parts: Path, older_than_seconds: float) -> None:
    """Remove part files a writer killed before `settle()` left in `parts` (older than any live write)."""
    cutoff = time.time() - older_than_seconds
    for leftover in parts.glob("*.part"):
        with contextlib.suppress(FileNotFoundError):
            if leftover.stat().st_mtime < cutoff:
                leftover.unlink()


@dataclass
class _PendingWrite:
    final: Path
    part: Path
    tag: str
    durable: bool


@dataclass(frozen=True)
class Settled:
    """What `WriteGroup.settle()` did: the tags whose writes are in place and durable, and for every tag
    with a write that is not, why (none of that tag's later writes was put in place either)."""

    done: frozenset[str] = frozenset()
    failed: dict[str, str] = field(default_factory=dict)

    def ok(self, tag: str) -> bool:
        return tag in self.done and tag not in self.failed


class WriteGroup:
    """Files written now and put in place together by `settle()`: one flush for the lot.

    `write` puts the bytes in a part file in `parts` (a directory on the target's file system, created
    by the caller) and nothing in place; a reader of the target directory sees nothing until `settle()`.
    Writes are tagged (a delivery's id): `settle()` renames a tag's parts in the order written (a
    sidecar written last lands last) and, when one of them cannot be put in place, leaves that tag's later
    parts out and reports the tag failed. A writer killed before `settle()` leaves only part files, which
    `sweep_stale_parts` removes. Not thread-safe: one group per claim batch, used by one thread.
    """

    def __init__(self) -> None:
        self._pending: list[_PendingWrite] = []
        self._failed: dict[str, str] = {}
        #: directories known to exist (made once per group, not once per file)
        self._made: set[Path] = set()

    def __len__(self) -> int:
        return len(self._pending)

    def ensure_directory(self, directory: Path) -> None:
        """Create `directory` (and parents) unless this group did already."""
        if directory not in self._made:
            directory.mkdir(parents=True, exist_ok=True)
            self._made.add(directory)

    def write(self, final: Path, content: bytes, *, parts: Path, tag: str, durable: bool = True) -> None:
        """Write `content` as a part for `final` (replaced at `settle()`); raises `OSError` when the part
        cannot be written (nothing of it is left then). `durable=False`: no flush needed for this one."""
        part = parts / f"{final.name[-120:]}.{secrets.token_hex(8)}.part"
        try:
            with open(part, "wb") as stream:
                stream.write(content)
        except BaseException:
            part.unlink(missing_ok=True)
            raise
        self._pending.append(_PendingWrite(final, part, tag, durable))

    def cancel(self, tag: str) -> None:
        """Drop every write of `tag` not yet settled (its sender gave up on it) and its parts."""
        for pending in [p for p in self._pending if p.tag == tag]:
            pending.part.unlink(missing_ok=True)
            self._pending.remove(pending)

    def discard(self) -> None:
        """Drop every write not yet settled (the batch is abandoned; nothing was put in place)."""
        for pending in self._pending:
            pending.part.unlink(missing_ok=True)
        self._pending.clear()

    def settle(self) -> Settled:
        """Make every write durable, put it in place, and make the renames durable; what failed by tag.

        One `syncfs` per file system touched before the renames (the parts' bytes) and one after (the
        directory entries); without `syncfs`, an fsync per part and per directory."""
        pending, self._pending = self._pending, []
        failed: dict[str, str] = {}
        self._flush_parts(pending, failed)
        renamed: list[_PendingWrite] = []
        for write in pending:
            if write.tag in failed:
                write.part.unlink(missing_ok=True)
                continue
            try:
                os.replace(write.part, write.final)
            except OSError as error:
                failed[write.tag] = f"cannot put {write.final.name} in place: {error.strerror or error}"
                write.part.unlink(missing_ok=True)
                continue
            renamed.append(write)
        self._flush_renames(renamed, failed)
        done = frozenset(write.tag for write in pending) - set(failed)
        return Settled(done=done, failed=failed)

    def _flush_parts(self, pending: list[_PendingWrite], failed: dict[str, str]) -> None:
        durable = [write for write in pending if write.durable]
        by_parts: dict[Path, list[_PendingWrite]] = {}
        for write in durable:
            by_parts.setdefault(write.part.parent, []).append(write)
        flushed_devices: set[int] = set()
        for parts, writes in by_parts.items():
            try:
                device = os.stat(parts).st_dev
                if device in flushed_devices or sync_file_system(parts):
                    flushed_devices.add(device)
                    continue
            except OSError as error:
                for write in writes:
                    failed.setdefault(
                        write.tag, f"cannot flush {write.final.name}: {error.strerror or error}"
                    )
                continue
            for write in writes:  # no syncfs: one fsync per part
                try:
                    descriptor = os.open(write.part, os.O_RDONLY)
                    try:
                        os.fsync(descriptor)
                    finally:
                        os.close(descriptor)
                except OSError as error:
                    failed.setdefault(
                        write.tag, f"cannot flush {write.final.name}: {error.strerror or error}"
                    )

    def _flush_renames(self, renamed: list[_PendingWrite], failed: dict[str, str]) -> None:
        directories: dict[Path, list[_PendingWrite]] = {}
        for write in renamed:
            if write.durable:
                directories.setdefault(write.final.parent, []).append(write)
        flushed_devices: set[int] = set()
        for directory, writes in directories.items():
            try:
                device = os.stat(directory).st_dev
                if device not in flushed_devices and not sync_file_system(directory):
                    sync_directory(directory)
                    continue
                flushed_devices.add(device)
            except OSError as error:
                for write in writes:
                    failed.setdefault(write.tag, f"cannot flush {directory}: {error.strerror or error}")
