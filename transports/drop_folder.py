"""Drop folders: where another party leaves files for the gateway, a local folder or one on an SFTP server.

A carrier's or scanning service's PODs, the bank's remittance files and the print house's return files all
arrive this way, so the rules of taking them live here once:

* The files waiting are the regular files at the top of the folder, in name order. Sub-folders (`done/`,
  `rejected/`), hidden names (`.x`), names ending `.part` or `.tmp` (still being written), our own
  `<file>.reason.txt` notes and companions (`<file><companion suffix>`, a sidecar such as `photo.jpg.json`)
  are never taken on their own; a companion travels with its file.
* Each file is read within a size bound: the size the listing gave first, then the read itself stops one
  byte past the bound (a file that grew since), so nothing bigger is ever held in memory
  (`DropFileTooLarge`).
* A file moves only after the caller has kept it (`take_waiting_files`): into `done/`, or, refused, into
  `rejected/` with a `<file>.reason.txt` beside it. A crash or a dropped connection before the move means
  the file is read again next time, and the caller, which stores by content, answers it as a repeat: never
  lost, never booked twice. A move never overwrites: a name already taken there gets a number.
* Over SFTP the server's host key is pinned (`transports.sftp`): an unknown key is refused before any
  credential is sent.
"""

from __future__ import annotations

import abc
import contextlib
import posixpath
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar, Generic, Literal, TypeVar

from schemas.sftp import SftpSettings
from transports.sftp import RemoteFileTooLarge, SftpSession, open_sftp

__all__ = [
    "COMPANION_BYTES",
    "DropFileTooLarge",
    "DropFolder",
    "DropOutcome",
    "DroppedFile",
    "Kept",
    "LocalDropFolder",
    "SftpDropFolder",
    "WaitingFile",
    "move_into_folder",
    "open_drop_folder",
    "take_waiting_files",
]

T = TypeVar("T")

#: What a companion (a sidecar of metadata) may weigh: it is read whole before its file.
COMPANION_BYTES = 1_000_000
#: Names still being written (a sender's temporary name) and our own notes: never taken.
_NOT_TAKEN_ENDINGS = (".part", ".tmp", ".reason.txt")
REASON_SUFFIX = ".reason.txt"


@dataclass(frozen=True)
class WaitingFile:
    """One regular file at the top of a drop folder; `size` is None when the server does not say."""

    name: str
    size: int | None


class DropFileTooLarge(Exception):
    """A file bigger than the bound it is read with (its listed size, or found while reading)."""

    def __init__(self, name: str, size: int | None, limit: int) -> None:
        self.name = name
        self.size = size
        self.limit = limit
        super().__init__(f"{name}: {self.reason}")

    @property
    def reason(self) -> str:
        if self.size is None:
            return f"more than {self.limit:,} bytes"
        return f"{self.size:,} bytes; at most {self.limit:,}"


def _taken_alone(name: str, companion_suffix: str | None) -> bool:
    lowered = name.lower()
    if name.startswith(".") or lowered.endswith(_NOT_TAKEN_ENDINGS):
        return False
    return not (companion_suffix and lowered.endswith(companion_suffix.lower()))


class DropFolder(abc.ABC):
    """One drop folder during one pass: list, read bounded, move (never overwriting), leave a note.

    `done` and `rejected` are where taken and refused files go, relative to the folder (both may name the
    same folder, e.g. a print house's archive).
    """

    #: How files arrive: "folder" (local or mounted) or "sftp"; services record it as the file's source.
    transport: ClassVar[Literal["folder", "sftp"]]

    def __init__(self, *, done: str = "done", rejected: str = "rejected") -> None:
        self.done = done
        self.rejected = rejected

    @abc.abstractmethod
    def files(self) -> list[WaitingFile]:
        """Every regular file at the top of the folder, by name (nothing filtered yet)."""

    @abc.abstractmethod
    def read(self, name: str, max_bytes: int, *, listed_size: int | None = None) -> bytes:
        """The whole file, or `DropFileTooLarge` when it is bigger than `max_bytes`."""

    @abc.abstractmethod
    def move(self, name: str, to: str) -> str:
        """Move the file into the folder `to` (relative to this one, made when missing); where it went."""

    @abc.abstractmethod
    def write_note(self, moved_to: str, text: str) -> None:
        """Leave `<moved_to>.reason.txt` saying `text`."""

    def waiting(self, companion_suffix: str | None = None) -> list[WaitingFile]:
        """The files to take now, by name (see the module's rules)."""
        return [entry for entry in self.files() if _taken_alone(entry.name, companion_suffix)]


def move_into_folder(path: Path, folder: Path) -> Path:
    """Move a local file into `folder` (made when missing), never over an earlier file of that name: a
    taken name becomes `<stem>.1<suffix>`, `<stem>.2<suffix>`…"""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / path.name
    counter = 1
    while target.exists():
        target = folder / f"{path.stem}.{counter}{path.suffix}"
        counter += 1
    shutil.move(str(path), target)
    return target


class LocalDropFolder(DropFolder):
    """A local (or mounted) directory; one that does not exist has nothing waiting."""

    transport = "folder"

    def __init__(self, directory: Path, *, done: str = "done", rejected: str = "rejected") -> None:
        super().__init__(done=done, rejected=rejected)
        self.directory = directory

    def files(self) -> list[WaitingFile]:
        if not self.directory.is_dir():
            return []
        return [
            WaitingFile(path.name, path.stat().st_size)
            for path in sorted(self.directory.iterdir())
            if path.is_file()
        ]

    def read(self, name: str, max_bytes: int, *, listed_size: int | None = None) -> bytes:
        path = self.directory / name
        size = path.stat().st_size
        if size > max_bytes:
            raise DropFileTooLarge(name, size, max_bytes)
        with path.open("rb") as stream:
            data = stream.read(max_bytes + 1)
        if len(data) > max_bytes:  # it grew after the stat
            raise DropFileTooLarge(name, None, max_bytes)
        return data

    def move(self, name: str, to: str) -> str:
        return str(move_into_folder(self.directory / name, self.directory / to))

    def write_note(self, moved_to: str, text: str) -> None:
        path = Path(moved_to)
        path.with_name(path.name + REASON_SUFFIX).write_text(text)


class SftpDropFolder(DropFolder):
    """A folder on an SFTP server, over an open session (`open_drop_folder` opens one).

    A folder that does not exist is an error (`RemoteNotFound`: a misconfigured source should be heard),
    unless `missing_ok` (a print house that has not made its outgoing folder yet has sent nothing).
    """

    transport = "sftp"

    def __init__(
        self,
        session: SftpSession,
        directory: str,
        *,
        done: str = "done",
        rejected: str = "rejected",
        missing_ok: bool = False,
    ) -> None:
        super().__init__(done=done, rejected=rejected)
        self.session = session
        self.directory = directory
        self.missing_ok = missing_ok

    def files(self) -> list[WaitingFile]:
        if self.missing_ok and not self.session.exists(self.directory):
            return []
        return [
            WaitingFile(entry.name, entry.size)
            for entry in self.session.listdir(self.directory)
            if not entry.is_dir
        ]

    def read(self, name: str, max_bytes: int, *, listed_size: int | None = None) -> bytes:
        if listed_size is not None and listed_size > max_bytes:
            raise DropFileTooLarge(name, listed_size, max_bytes)
        try:
            return self.session.read(posixpath.join(self.directory, name), max_bytes)
        except RemoteFileTooLarge:
            raise DropFileTooLarge(name, None, max_bytes) from None

    def move(self, name: str, to: str) -> str:
        return self.session.move_into(
            posixpath.join(self.directory, name), posixpath.join(self.directory, to)
        )

    def write_note(self, moved_to: str, text: str) -> None:
        self.session.write(moved_to + REASON_SUFFIX, text.encode())


@contextlib.contextmanager
def open_drop_folder(
    directory: str | Path,
    sftp: SftpSettings | None = None,
    *,
    done: str = "done",
    rejected: str = "rejected",
) -> Iterator[DropFolder]:
    """`directory` on this machine, or with `sftp` the folder on that server (one connection for the
    pass, closed when the block ends)."""
    if sftp is None:
        yield LocalDropFolder(Path(directory), done=done, rejected=rejected)
        return
    with open_sftp(sftp) as session:
        yield SftpDropFolder(session, str(directory), done=done, rejected=rejected)


# ---- taking the files in ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DroppedFile:
    """A waiting file as the caller's `keep` gets it: read it (within the pass's bound), and its companion."""

    name: str
    size: int | None
    #: The companion's name when one is waiting beside the file (`<name><companion suffix>`).
    companion: str | None
    folder: DropFolder
    max_bytes: int

    def read(self) -> bytes:
        """The file's bytes; `DropFileTooLarge` past the bound (the walker rejects the file for it)."""
        return self.folder.read(self.name, self.max_bytes, listed_size=self.size)

    def read_companion(self, max_bytes: int = COMPANION_BYTES) -> bytes | None:
        """The companion's bytes, or None when there is none."""
        if self.companion is None:
            return None
        return self.folder.read(self.companion, max_bytes)


@dataclass(frozen=True)
class Kept(Generic[T]):
    """What the caller did with a file: its `result`, and `refused` (the reason) when it goes to rejected/.

    A refused file may still have a result (a bank file kept for inspection, with its reason).
    """

    result: T | None = None
    refused: str | None = None


@dataclass(frozen=True)
class DropOutcome(Generic[T]):
    """One file taken: the caller's result, the reason it was refused, and where it went (None: left)."""

    name: str
    result: T | None
    refused: str | None
    moved_to: str | None


def take_waiting_files(
    folder: DropFolder,
    keep: Callable[[DroppedFile], Kept[T]],
    *,
    max_bytes: int,
    companion_suffix: str | None = None,
    leave_too_large: bool = False,
) -> Iterator[DropOutcome[T]]:
    """Hand every waiting file to `keep`, then move it (and its companion) to done/ or rejected/.

    The files are taken one at a time and each outcome is yielded once its file has moved, so a caller
    that stops half-way (a connection lost) has the outcomes of the files that were taken. A file (or
    companion) past its bound is refused with `content: <size>; at most <bound>` — or, with
    `leave_too_large`, left where it is (`moved_to` None) for a person to look at. Any other error of
    `keep` or of the folder ends the pass with the file left waiting.
    """
    listed = folder.files()
    names = {entry.name for entry in listed}
    for entry in (entry for entry in listed if _taken_alone(entry.name, companion_suffix)):
        companion = f"{entry.name}{companion_suffix}" if companion_suffix else None
        dropped = DroppedFile(
            entry.name, entry.size, companion if companion in names else None, folder, max_bytes
        )
        try:
            kept = keep(dropped)
        except DropFileTooLarge as error:
            what = "content" if error.name == entry.name else error.name
            kept = Kept(refused=f"{what}: {error.reason}")
            if leave_too_large:
                yield DropOutcome(entry.name, None, kept.refused, None)
                continue
        target = folder.rejected if kept.refused is not None else folder.done
        moved_to = folder.move(entry.name, target)
        if kept.refused is not None:
            folder.write_note(moved_to, kept.refused + "\n")
        if dropped.companion is not None:
            folder.move(dropped.companion, target)
        yield DropOutcome(entry.name, kept.result, kept.refused, moved_to)
