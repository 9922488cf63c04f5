"""What every wire format module produces: the exact bytes a channel sends, with their media type."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from lxml import etree


@dataclass(frozen=True)
class RenderedDocument:
    """A rendered wire document: the bytes as they will leave, and how to name and label them.

    `tree` is the XML tree an XML renderer serialised into `content` (None for other formats), so the
    validator judges the tree already built instead of parsing the bytes again. It is not compared, not
    shown, and not an `__init__` argument: `dataclasses.replace(document, content=...)` gives a document
    without a tree (new bytes never travel with the old bytes' tree); only `with_tree` attaches one.
    """

    format: str
    content: bytes
    media_type: str
    extension: str
    tree: etree._Element | None = field(default=None, init=False, compare=False, repr=False)

    @classmethod
    def with_tree(
        cls, tree: etree._Element, *, format: str, content: bytes, media_type: str, extension: str
    ) -> RenderedDocument:
        """A document whose `content` is `tree` serialised (the caller's promise: nothing changed since)."""
        document = cls(format=format, content=content, media_type=media_type, extension=extension)
        object.__setattr__(document, "tree", tree)
        return document

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled (and copied) without the tree: an lxml element does not pickle, and the bytes are the
        document (one without a tree is validated from them)."""
        return RenderedDocument, (self.format, self.content, self.media_type, self.extension)


def printable(text: str) -> str:
    """`text` safe to store and to send as UTF-8: a byte a reader could not decode, kept as a lone surrogate
    (`surrogateescape`) and quoted in a message, is shown as `\\x80` instead.

    Without this a refusal that quotes what it found crashed on the way out (a mutated INVOIC with a 0x80
    byte: `UnicodeEncodeError` storing the rejected interchange, a 500 from `POST /inbound`).
    """
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate no decoder made (outside U+DC80..U+DCFF)
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


class FormatError(ValueError):
    """A file or payload that a format's parser cannot read: `where` names the field or position.

    Both are made `printable`: a message may quote the bytes that broke the rule.
    """

    def __init__(self, where: str, reason: str) -> None:
        where, reason = printable(where), printable(reason)
        super().__init__(f"{where}: {reason}")
        self.where = where
        self.reason = reason

    def as_dict(self) -> dict[str, Any]:
        return {"field": self.where, "reason": self.reason}

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled as its class, message and attributes: the API parses uploads in a process pool and a
        refusal crosses back whole (the default `(cls, args)` would call `__init__` with the one message
        argument: `TypeError` in the parent, which breaks a `ProcessPoolExecutor` for good)."""
        return restore_error, (type(self), self.args, dict(self.__dict__))


def restore_error(cls: type[BaseException], args: tuple[Any, ...], state: dict[str, Any]) -> BaseException:
    """An exception rebuilt from its class, `args` and attributes without calling its `__init__`."""
    error = cls.__new__(cls, *args)
    error.args = args
    error.__dict__.update(state)
    return error


class SegmentError(FormatError):
    """A file of segments (EDIFACT, X12) that breaks a rule; names where, as precisely as known.

    `segment_position` is 1-based over the file (0: the interchange as a whole); element and component
    indexes are 1-based, as the acknowledgements (CONTRL, 997/999) report them.
    """

    def __init__(
        self,
        reason: str,
        *,
        segment_position: int = 0,
        segment_tag: str = "",
        element_index: int | None = None,
        component_index: int | None = None,
        offset: int | None = None,
    ) -> None:
        where = f"segment {segment_position}" if segment_position else "interchange"
        if segment_position and segment_tag:
            where += f" ({segment_tag})"
        if element_index is not None:
            where += f": element {element_index}"
            if component_index is not None:
                where += f" component {component_index}"
        super().__init__(where, reason)
        self.segment_position = segment_position
        self.segment_tag = printable(segment_tag)
        self.element_index = element_index
        self.component_index = component_index
        self.offset = offset

    def as_dict(self) -> dict[str, Any]:
        return {
            **super().as_dict(),
            "segment_position": self.segment_position,
            "segment_tag": self.segment_tag,
            "element_index": self.element_index,
            "component_index": self.component_index,
        }
