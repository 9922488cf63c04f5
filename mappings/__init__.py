"""Wire formats, canonical ⇄ wire, pure: one module per format under its family (`syntax/`, `invoice/`,
`acks/`, `status/`, `remittance/`, `print/`), each with the same verbs (`render`, `parse`, `sniff`,
`inspect`), and one registry (`mappings.registry`) that names them, so the CLI, the worker and every intake
find a format without knowing its module.
"""

from __future__ import annotations

from mappings.base import FormatError, RenderedDocument
from mappings.registry import (
    FORMATS,
    FormatEntry,
    FormatKind,
    UnknownFormat,
    detect_format,
    format_entry,
    formats,
    inspect_file,
    inspector,
    parse,
    parser,
    read_invoices,
    render,
    renderer,
    sniffer,
)

__all__ = [
    "FORMATS",
    "FormatEntry",
    "FormatError",
    "FormatKind",
    "RenderedDocument",
    "UnknownFormat",
    "detect_format",
    "format_entry",
    "formats",
    "inspect_file",
    "inspector",
    "parse",
    "parser",
    "read_invoices",
    "render",
    "renderer",
    "sniffer",
]
