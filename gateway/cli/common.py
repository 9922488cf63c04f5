"""What every `gateway` sub-command shares: the consoles, the options, the operator, and the few output and
failure habits (a table or JSON, `error: …` on stderr with exit 1, exit 2 when an input was rejected).

Heavy imports (SQLAlchemy, the services) stay inside the commands so `gateway --help` starts fast.
"""

from __future__ import annotations

import contextlib
import getpass
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table

if TYPE_CHECKING:
    from mappings.base import FormatError
    from transports.drop_folder import DropFolder
    from transports.sftp import SftpSettings

console = Console()
errors = Console(stderr=True)

TenantOption = Annotated[str, typer.Option(help="tenant (sender) id")]
JsonFlag = Annotated[bool, typer.Option("--json")]
SftpOption = Annotated[
    Path | None,
    typer.Option(help="JSON file with SFTP settings (host, username, host_key, password | private_key)"),
]
OPERATOR = f"cli:{getpass.getuser()}"

T = TypeVar("T")


def fail(message: str, code: int = 1) -> NoReturn:
    """End the command: `error: <message>` on stderr and exit `code` (1: refused, 2: bad input)."""
    errors.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


@contextlib.contextmanager
def fails_on(*kinds: type[Exception], code: int = 1, describe: Callable[[Any], str] = str) -> Iterator[None]:
    """The block's expected refusals (not found, illegal transition…) end the command through `fail`."""
    try:
        yield
    except kinds as error:
        fail(describe(error), code)


def field_reasons(found: Iterable[Mapping[str, Any]]) -> str:
    """`field: reason; field: reason` — how intake and validation errors are shown on one line."""
    return "; ".join(f"{entry['field']}: {entry['reason']}" for entry in found)


def format_note(error: FormatError) -> str:
    """Where a file could not be read, and why: the note column of a rejected file."""
    return f"{error.where}: {error.reason}"


def applied_cell(applied: bool, duplicate: bool) -> str:
    """The `applied` column of an inbound document: yes, repeat (seen before) or no."""
    return "yes" if applied else ("repeat" if duplicate else "no")


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


def print_table(columns: Sequence[str], rows: Iterable[Sequence[str]], *, title: str | None = None) -> None:
    table = Table(*columns, title=title)
    for row in rows:
        table.add_row(*row)
    console.print(table)


def print_items(
    items: Sequence[T], *, as_json: bool, columns: Sequence[str], row: Callable[[T], Sequence[str]]
) -> None:
    """A listing: the items as JSON with `--json`, else one table row each."""
    if as_json:
        print_json(items)
    else:
        print_table(columns, (row(item) for item in items))


def exit_if_rejected(rejected: int | bool) -> None:
    """Exit 2 when at least one input file was rejected (after the whole table was printed)."""
    if rejected:
        raise typer.Exit(2)


def collect_files(paths: Iterable[Path], wanted: Callable[[Path], bool]) -> list[Path]:
    """The files named, and the `wanted` files of the folders named (sorted); a missing path fails."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file() and wanted(p)))
        elif path.is_file():
            files.append(path)
        else:
            fail(f"{path}: no such file or directory")
    return files


def load_sftp_settings(path: Path) -> SftpSettings:
    """The SFTP settings in `path`, or the command fails naming the file and what is wrong."""
    from pydantic import ValidationError

    from transports.sftp import SftpSettings

    try:
        return SftpSettings.model_validate_json(path.read_text())
    except (OSError, ValidationError) as error:
        fail(f"{path}: {error}")


def read_drop(directory: str, sftp: Path | None, take: Callable[[DropFolder], T]) -> T:
    """`take` a drop folder (`transports.drop_folder`): `directory` is local, or with `--sftp FILE` a folder
    on that SFTP server (host key pinned).

    A missing local folder, unreadable SFTP settings and SFTP failures end the command (exit 1).
    """
    from transports.drop_folder import LocalDropFolder, open_drop_folder
    from transports.sftp import SftpError

    if sftp is None:
        if not Path(directory).is_dir():
            fail(f"{directory}: not a directory")
        return take(LocalDropFolder(Path(directory)))
    settings = load_sftp_settings(sftp)
    with (
        fails_on(SftpError, describe=lambda error: f"SFTP: {error}"),
        open_drop_folder(directory, settings) as folder,
    ):
        return take(folder)
