"""What every `gateway` sub-command shares: the consoles, the options, the operator, and the output and
failure habits.

Output: a listing is a table, `--json` (`{"items": [...], "next": null}`, the API's list shape) or
`--output csv`. A table on a terminal is drawn by rich with the ids, numbers and names the next command needs
never wrapped or cut; when stdout is a pipe or a file it is plain tab-separated rows without a header (as
`gh` does), untruncated, for `cut`, `awk` and `grep`. Progress bars and spinners go to stderr and only when
stderr is a terminal.

Failures: `error: …` on stderr and the exit codes of `EXIT_CODES` (0 done, 1 refused or failed, 2 usage:
a wrong option, no tenant, a file that is not there or that the gateway cannot read).

Heavy imports (SQLAlchemy, the services) stay inside the commands so `gateway --help` starts fast.
"""

from __future__ import annotations

import contextlib
import getpass
import json
import re
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence, Sized
from enum import StrEnum
from pathlib import Path
from typing import IO, TYPE_CHECKING, Annotated, Any, NoReturn, TypeVar

import typer
from rich.console import Console
from rich.table import Table
from rich.text import Text

if TYPE_CHECKING:
    from mappings.base import FormatError
    from schemas.sftp import SftpSettings
    from transports.drop_folder import DropFolder

console = Console()
errors = Console(stderr=True)

DONE, REFUSED, USAGE = 0, 1, 2
EXIT_CODES = (
    "Exit codes: 0 done; 1 refused or failed (not found, not allowed in its state, a check or a "
    "validation failed); 2 usage: a wrong option or argument, no tenant, a file or folder that is not "
    "there, or an input file the gateway cannot read (the table still shows every file)."
)
TENANT_ENV = "GATEWAY_TENANT"
TENANT_RULE = (
    f"--tenant: from the option, else ${TENANT_ENV}. A command that works on one tenant's data stops "
    "with exit 2 when neither is given (never a silent default tenant); a listing across tenants (status, "
    "batches, deviations, partner/webhook/token/receiver list) and a command given an id or a document "
    "that names its tenant (resend, release, cancel, receive, bounces, receive-edi, deviations "
    "resolve/resend, token revoke) take the same option as a filter or a check, and cover every tenant "
    "without it."
)


def _tenant_given(ctx: typer.Context, value: str) -> str:
    if not value and not ctx.resilient_parsing:
        raise typer.BadParameter(f"no tenant: pass --tenant TENANT or set {TENANT_ENV}")
    return value


#: The tenant whose data the command works on: `--tenant`, else $GATEWAY_TENANT, else exit 2.
TenantOption = Annotated[
    str,
    typer.Option(
        "--tenant",
        envvar=TENANT_ENV,
        show_default=False,
        show_envvar=True,
        callback=_tenant_given,
        help="tenant (sender) id; required",
    ),
]
#: A filter or a check: the same option and variable; without either, every tenant.
TenantFilter = Annotated[
    str | None,
    typer.Option(
        "--tenant", envvar=TENANT_ENV, show_envvar=True, help="only this tenant (default: every tenant)"
    ),
]
SftpOption = Annotated[
    Path | None,
    typer.Option(help="JSON file with SFTP settings (host, username, host_key, password | private_key)"),
]
OPERATOR = f"cli:{getpass.getuser()}"

T = TypeVar("T")


class Output(StrEnum):
    TABLE = "table"
    JSON = "json"
    CSV = "csv"


JsonFlag = Annotated[bool, typer.Option("--json", help="print JSON (the same as --output json)")]
OutputOption = Annotated[
    Output | None,
    typer.Option("--output", case_sensitive=False, help="table (default), json or csv"),
]


def output_format(as_json: bool, output: Output | None) -> Output:
    """The one format `--json` and `--output` ask for; asking for two is a usage error."""
    if as_json and output not in (None, Output.JSON):
        raise typer.BadParameter(
            f"--json and --output {output.value if output else ''} contradict each other",
            param_hint="'--json' / '--output'",
        )
    return Output.JSON if as_json else (output or Output.TABLE)


# -- failing -----------------------------------------------------------------------------------------------


def fail(message: str, code: int = REFUSED) -> NoReturn:
    """End the command: `error: <message>` on stderr and exit `code` (1: refused, 2: bad input)."""
    errors.print(Text.assemble(("error:", "red"), " ", message), soft_wrap=True)
    raise typer.Exit(code)


@contextlib.contextmanager
def fails_on(
    *kinds: type[Exception], code: int = REFUSED, describe: Callable[[Any], str] = str
) -> Iterator[None]:
    """The block's expected refusals (not found, illegal transition…) end the command through `fail`."""
    try:
        yield
    except kinds as error:
        fail(describe(error), code)


def read_input(path: Path) -> bytes:
    """An input file's bytes; a path that is not a readable file ends the command with exit 2."""
    try:
        return path.read_bytes()
    except IsADirectoryError:
        fail(f"{path}: is a folder, not a file", USAGE)
    except FileNotFoundError:
        fail(f"{path}: no such file", USAGE)
    except OSError as error:
        fail(f"{path}: {error.strerror or error}", USAGE)


def field_reasons(found: Iterable[Mapping[str, Any]]) -> str:
    """`field: reason; field: reason` — how intake and validation errors are shown on one line."""
    return "; ".join(f"{entry['field']}: {entry['reason']}" for entry in found)


def format_note(error: FormatError) -> str:
    """Where a file could not be read, and why: the note column of a rejected file."""
    return f"{error.where}: {error.reason}"


def applied_cell(applied: bool, duplicate: bool) -> str:
    """The `applied` column of an inbound document: yes, repeat (seen before) or no."""
    return "yes" if applied else ("repeat" if duplicate else "no")


def exit_if_rejected(rejected: int | bool) -> None:
    """Exit 2 when at least one input file was rejected (after the whole table was printed)."""
    if rejected:
        raise typer.Exit(USAGE)


# -- terminals ---------------------------------------------------------------------------------------------


def _is_terminal(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or a fake stream
        return False


def stdout_is_terminal() -> bool:
    """Decided by the stream itself (not FORCE_COLOR): a pipe always gets the plain rows."""
    return _is_terminal(console.file)


def stderr_is_terminal() -> bool:
    return _is_terminal(errors.file)


def tracked(items: Iterable[T], description: str) -> Iterator[T]:
    """`items`, one by one, with a progress bar on stderr when that is a terminal (never in a pipe); a
    stream of unknown length (the messages of an mbox) gets a bar that counts without a total."""
    if not stderr_is_terminal():
        yield from items
        return
    from rich.progress import Progress

    with Progress(console=errors, transient=True) as progress:
        task = progress.add_task(description, total=len(items) if isinstance(items, Sized) else None)
        for item in items:
            yield item
            progress.advance(task)


def working(description: str) -> contextlib.AbstractContextManager[object]:
    """A spinner on stderr for one long step (matching, a folder drop) when stderr is a terminal."""
    if not stderr_is_terminal():
        return contextlib.nullcontext()
    return errors.status(description)


# -- printing ----------------------------------------------------------------------------------------------

_LINE_BREAKS = re.compile(r"[\t\r\n]+")


def plain_cell(value: object) -> str:
    """A cell on one line: tabs and line breaks become one space, so each row stays one line of fields."""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return _LINE_BREAKS.sub(" ", "" if value is None else str(value))


def print_json(data: Any) -> None:
    console.print_json(json.dumps(data, default=str))


def print_table(
    columns: Sequence[str],
    rows: Iterable[Sequence[str]],
    *,
    keys: Collection[str] = (),
    title: str | None = None,
    to: Console | None = None,
) -> None:
    """Rows as a table: drawn on a terminal, else tab-separated lines; nothing is ever cut.

    A pipe gets no header and no title, only the rows, every cell whole. On a terminal the `keys` columns
    (the ids, numbers and names the next command needs) keep their full width on one line and the others
    wrap; a table that cannot fit even so is printed as one `column: value` block per row.
    """
    target = to or console
    cells = [[plain_cell(cell) for cell in row] for row in rows]
    if not _is_terminal(target.file):
        for row in cells:
            target.file.write("\t".join(row) + "\n")
        target.file.flush()
        return
    widths = _column_widths(columns, cells, keys, target.width)
    if widths is None:
        _print_records(columns, cells, title, target)
        return
    table = Table(title=title)
    for header, width in zip(columns, widths, strict=True):
        table.add_column(header, width=width, no_wrap=header in keys, overflow="fold")
    for row in cells:
        table.add_row(*(Text(cell) for cell in row))
    target.print(table)


#: A wrapping column is never drawn narrower than this (or its header, or its widest cell if narrower).
_NARROWEST = 10


def _column_widths(
    columns: Sequence[str], cells: Sequence[Sequence[str]], keys: Collection[str], total: int
) -> list[int] | None:
    """Each column's width so the table fits `total`: key columns whole, the others sharing what is
    left (at least `_NARROWEST`); None when even that does not fit."""
    natural = [max([len(header), *(len(row[i]) for row in cells)]) for i, header in enumerate(columns)]
    room = total - (3 * len(columns) + 1)  # a border and two spaces of padding per column, one border more
    if sum(natural) <= room:
        return natural
    widths = [
        width if header in keys else min(width, max(len(header), _NARROWEST))
        for header, width in zip(columns, natural, strict=True)
    ]
    spare = room - sum(widths)
    if spare < 0:
        return None
    wanting = [i for i, header in enumerate(columns) if header not in keys and natural[i] > widths[i]]
    wanted = sum(natural[i] - widths[i] for i in wanting)
    for i in wanting:  # what is left, shared by how much more each column would take
        widths[i] += min(natural[i] - widths[i], spare * (natural[i] - widths[i]) // wanted)
    return widths


def _print_records(
    columns: Sequence[str], cells: Sequence[Sequence[str]], title: str | None, target: Console
) -> None:
    label = max(len(header) for header in columns)
    if title:
        target.print(Text(title, style="bold"), soft_wrap=True)
    for number, row in enumerate(cells):
        if number:
            target.print()
        for header, cell in zip(columns, row, strict=True):
            target.print(Text.assemble((f"{header:>{label}}", "bold"), f"  {cell}"), soft_wrap=True)


def write_csv(columns: Sequence[str], rows: Iterable[Sequence[str]]) -> None:
    """A header row, then the rows, every cell formula-safe (`mappings.csv_text.csv_record`)."""
    from mappings.csv_text import csv_record

    console.file.write(csv_record(columns))
    for row in rows:
        console.file.write(csv_record(row))
    console.file.flush()


def print_items(
    items: Sequence[T],
    *,
    output: Output,
    columns: Sequence[str],
    row: Callable[[T], Sequence[str]],
    keys: Collection[str] = (),
    data: Callable[[T], Any] | None = None,
    next_page: str | None = None,
) -> None:
    """A listing: `{"items", "next"}` as JSON (the API's list shape), CSV with a header, or a table."""
    if output is Output.JSON:
        print_json({"items": [data(item) if data else item for item in items], "next": next_page})
    elif output is Output.CSV:
        write_csv(columns, (row(item) for item in items))
    else:
        print_table(columns, (row(item) for item in items), keys=keys)


def summary_lines(data: Any, indent: str = "") -> Iterator[str]:
    """A nested JSON-like value as readable `key: value` lines (YAML-like): for a person, not a parser."""
    if isinstance(data, Mapping):
        for key, value in data.items():
            if value is None or value == [] or value == {}:
                continue
            if isinstance(value, Mapping) or (
                isinstance(value, list) and any(isinstance(item, Mapping | list) for item in value)
            ):
                yield f"{indent}{key}:"
                yield from summary_lines(value, indent + "  ")
            elif isinstance(value, list):
                yield f"{indent}{key}: {', '.join(plain_cell(item) for item in value)}"
            else:
                yield f"{indent}{key}: {plain_cell(value)}"
    elif isinstance(data, list):
        for item in data:
            lines = list(summary_lines(item, indent + "  "))
            if lines:
                yield f"{indent}- {lines[0].lstrip()}"
                yield from lines[1:]
    else:
        yield f"{indent}{plain_cell(data)}"


def print_lines(lines: Iterable[str]) -> None:
    """Plain text lines (no markup, no wrapping of ids): what a person reads, also when piped."""
    for line in lines:
        console.print(Text(line), soft_wrap=True)


# -- files and drops ---------------------------------------------------------------------------------------


def collect_files(paths: Iterable[Path], wanted: Callable[[Path], bool]) -> list[Path]:
    """The files named, and the `wanted` files of the folders named (sorted); a missing path is exit 2."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(p for p in path.iterdir() if p.is_file() and wanted(p)))
        elif path.is_file():
            files.append(path)
        else:
            fail(f"{path}: no such file or directory", USAGE)
    return files


def load_sftp_settings(path: Path) -> SftpSettings:
    """The SFTP settings in `path`, or the command ends (exit 2) naming the file and what is wrong."""
    from pydantic import ValidationError

    from schemas.sftp import SftpSettings

    data = read_input(path)
    try:
        return SftpSettings.model_validate_json(data)
    except ValidationError as error:
        fail(f"{path}: {validation_problems(error)}", USAGE)


def validation_problems(error: Any) -> str:
    """A pydantic `ValidationError` as `field: message; …` — never with the input (it may hold a secret)."""
    problems = []
    for item in error.errors(include_input=False, include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "value"
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return "; ".join(problems)


def read_drop(directory: str, sftp: Path | None, take: Callable[[DropFolder], T]) -> T:
    """`take` a drop folder (`transports.drop_folder`): `directory` is local, or with `--sftp FILE` a folder
    on that SFTP server (host key pinned).

    A missing local folder and unreadable SFTP settings are exit 2; SFTP failures exit 1.
    """
    from transports.drop_folder import LocalDropFolder, open_drop_folder
    from transports.sftp import SftpError

    if sftp is None:
        if not Path(directory).is_dir():
            fail(f"{directory}: not a directory", USAGE)
        with working(f"reading {directory}"):
            return take(LocalDropFolder(Path(directory)))
    settings = load_sftp_settings(sftp)
    with (
        fails_on(SftpError, describe=lambda error: f"SFTP: {error}"),
        working(f"reading {directory} over SFTP"),
        open_drop_folder(directory, settings) as folder,
    ):
        return take(folder)
