"""A file drop the gateway hands files over into, where the final name is the commit point.

The print house's batches and the AvtaleGiro claim files go the same way: into a folder the other side
collects, a local (or mounted) directory or one on an SFTP server. A file (or a directory of files) is
written under a temporary `.part` name and renamed into place when complete (`transports.files` locally,
`SftpSession.upload_*_atomically` remotely); a final name that exists was committed by an earlier try and
is left alone, so a retry after a dropped connection never hands the same thing over twice.

`open_committed_drop` opens one for a pass and turns its failures into one exception type (a subclass of
`DropUnavailable` the caller names), with `transient` saying whether a retry may help: a refused
permission or a read-only mount stays so until a person acts; other folder errors and the SFTP errors
that `transports.sftp` marks transient may pass.
"""

from __future__ import annotations

import abc
import contextlib
import errno
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from schemas.sftp import SftpSettings
from transports.drop_folder import DropFolder, LocalDropFolder, SftpDropFolder
from transports.files import write_directory_once, write_once
from transports.sftp import SftpError, SftpSession, open_sftp

__all__ = [
    "CommittedDrop",
    "DropUnavailable",
    "FolderCommittedDrop",
    "SftpCommittedDrop",
    "open_committed_drop",
]


class DropUnavailable(Exception):
    """The file drop could not be used; `transient` says whether a retry may help."""

    def __init__(self, reason: str, *, transient: bool) -> None:
        super().__init__(reason)
        self.transient = transient


class CommittedDrop(abc.ABC):
    """The operations a channel needs from the other side's file drop (paths relative to its root)."""

    @abc.abstractmethod
    def upload_file(self, final_path: str, content: bytes) -> bool:
        """Commit the file under `final_path`; False when an earlier try had already committed it."""

    @abc.abstractmethod
    def upload_directory(self, final_path: str, files: Sequence[tuple[str, bytes]]) -> bool:
        """Commit `files` as the directory `final_path`; False when an earlier try had already done so."""

    @abc.abstractmethod
    def committed(self, final_path: str) -> bool:
        """Whether `final_path` is already committed (by an earlier try)."""

    @abc.abstractmethod
    def drop_folder(self, directory: str, archive: str) -> DropFolder:
        """The folder the other side leaves files in; files read are moved to `archive` (relative to it)."""


class FolderCommittedDrop(CommittedDrop):
    """A local (or mounted) directory standing in for the other side's drop."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, relative: str) -> Path:
        parts = [part for part in relative.split("/") if part not in {"", ".", ".."}]
        return self.root.joinpath(*parts)

    def upload_file(self, final_path: str, content: bytes) -> bool:
        return write_once(self._path(final_path), content, fsync=True, part_prefix="")

    def upload_directory(self, final_path: str, files: Sequence[tuple[str, bytes]]) -> bool:
        return write_directory_once(self._path(final_path), files, fsync=True, part_prefix="")

    def committed(self, final_path: str) -> bool:
        return self._path(final_path).exists()

    def drop_folder(self, directory: str, archive: str) -> DropFolder:
        return LocalDropFolder(self._path(directory), done=archive, rejected=archive)


class SftpCommittedDrop(CommittedDrop):
    """The other side's SFTP server, over one open session."""

    def __init__(self, session: SftpSession) -> None:
        self.session = session

    def upload_file(self, final_path: str, content: bytes) -> bool:
        return not self.session.upload_file_atomically(final_path, content).already_committed

    def upload_directory(self, final_path: str, files: Sequence[tuple[str, bytes]]) -> bool:
        return not self.session.upload_directory_atomically(final_path, files).already_committed

    def committed(self, final_path: str) -> bool:
        return self.session.exists(final_path)

    def drop_folder(self, directory: str, archive: str) -> DropFolder:
        return SftpDropFolder(self.session, directory, done=archive, rejected=archive, missing_ok=True)


@contextlib.contextmanager
def open_committed_drop(
    transport: Literal["folder", "sftp"],
    *,
    directory: Path | None,
    sftp: SftpSettings | None,
    unavailable: type[DropUnavailable],
    folder_label: str,
    mask: Callable[[str], str],
) -> Iterator[CommittedDrop]:
    """The drop for one pass (one SFTP connection), its failures raised as `unavailable`.

    A folder error reads `<folder_label> failed: …` unless it is permanent (permission, read-only); an
    SFTP error's text goes through `mask` (it may name the server's user or paths with secrets).
    """
    if transport == "folder":
        assert directory is not None
        try:
            yield FolderCommittedDrop(directory)
        except PermissionError as error:
            raise unavailable(f"permission denied: {error}", transient=False) from error
        except OSError as error:
            if error.errno == errno.EROFS:  # a read-only mount stays read-only until a person acts
                raise unavailable(f"read-only: {error}", transient=False) from error
            raise unavailable(f"{folder_label} failed: {error.strerror or error}", transient=True) from error
        return
    assert sftp is not None
    try:
        with open_sftp(sftp) as session:
            yield SftpCommittedDrop(session)
    except SftpError as error:
        raise unavailable(mask(f"{type(error).__name__}: {error}"), transient=error.transient) from error
