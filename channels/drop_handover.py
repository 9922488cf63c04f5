"""The hand-over step the file-drop channels share: the print house's batches and AvtaleGiro's claim files.

Both put one batch into a folder the other side collects (`transports.committed_drop`: a local directory or
one on an SFTP server, the final name the commit point) and answer the worker alike: a drop that cannot be
used is a retry while the failure may pass and a deviation when a person must act, and a batch an earlier
try already committed is `Sent` again without a second copy. What differs (what is uploaded, what may still
refuse the batch once the drop is open, how the outcome reads) each channel passes in.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import ClassVar, Literal, TypeVar

from pydantic import Field, model_validator

from channels.base import BatchingChannel, BatchResult, ChannelConfig, Failed, OutboundBatch, Retry, Sent
from schemas.sftp import SftpSettings
from transports.committed_drop import CommittedDrop, DropUnavailable, open_committed_drop


class DropTransportConfig(ChannelConfig):
    """Where a file-drop channel's drop is: a local (or mounted) folder, or an SFTP server."""

    transport: Literal["folder", "sftp"] = Field("folder", description="sftp for a server; folder for a drop")
    sftp: SftpSettings | None = None
    directory: Path | None = Field(None, description="root of the folder transport")

    @model_validator(mode="after")
    def _drop_transport_settings(self) -> DropTransportConfig:
        if self.transport == "sftp" and self.sftp is None:
            raise ValueError("transport 'sftp' needs the sftp settings (host, username, host_key, a secret)")
        if self.transport == "folder" and self.directory is None:
            raise ValueError("transport 'folder' needs a directory")
        return self


DropConfigT = TypeVar("DropConfigT", bound=DropTransportConfig)

#: What a channel does with the open drop: True when it committed the batch now, False when an earlier try
#: had, or a `Failed` when the batch may not go after all (decided against what the drop holds).
Upload = Callable[[CommittedDrop], bool | Failed]


class DropHandoverChannel(BatchingChannel[DropConfigT]):
    """A batching channel that hands each closed batch over into a committed file drop.

    A subclass names its `DropUnavailable` subclass (`drop_unavailable`, what its callers catch) and how a
    folder failure names the folder (`drop_folder_label`).
    """

    drop_unavailable: ClassVar[type[DropUnavailable]]
    drop_folder_label: ClassVar[str]

    @contextlib.contextmanager
    def store(self) -> Iterator[CommittedDrop]:
        """The transport, with its failures as `drop_unavailable` (transient or not)."""
        with open_committed_drop(
            self.config.transport,
            directory=self.config.directory,
            sftp=self.config.sftp,
            unavailable=self.drop_unavailable,
            folder_label=self.drop_folder_label,
            mask=self.mask,
        ) as store:
            yield store

    def hand_over(
        self,
        batch: OutboundBatch,
        upload: Upload,
        *,
        committed: str,
        already: str,
        where: str | None = None,
    ) -> BatchResult:
        """Run `upload` in one pass of the drop and say how it went: `Sent` with the `committed` detail, or
        the `already` one when an earlier try had committed the batch; `Retry` or `Failed` (a deviation)
        when the drop could not be used, as its failure is transient or not."""
        try:
            with self.store() as store:
                outcome = upload(store)
        except self.drop_unavailable as error:
            return Retry(str(error)) if error.transient else Failed(str(error), deviation=True)
        if isinstance(outcome, Failed):
            return outcome
        return Sent(message_id=batch.batch_id, detail=committed if outcome else already, where=where)
