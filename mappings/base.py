"""What every wire format module produces: the exact bytes a channel sends, with their media type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class RenderedDocument:
    """A rendered wire document: the bytes as they will leave, and how to name and label them."""

    format: str
    content: bytes
    media_type: str
    extension: str


class FormatError(ValueError):
    """A file or payload that a format's parser cannot read: `where` names the field or position."""

    def __init__(self, where: str, reason: str) -> None:
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.where, "reason": self.reason}
