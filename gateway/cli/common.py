"""What every `gateway` sub-command shares: the consoles, the tenant option, the operator, the outbox."""

from __future__ import annotations

import getpass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from gateway.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Engine

    from transports.sftp import SftpSettings

console = Console()
errors = Console(stderr=True)

TenantOption = Annotated[str, typer.Option(help="tenant (sender) id")]
OPERATOR = f"cli:{getpass.getuser()}"


def _engine(ctx: typer.Context, settings: Settings) -> Engine:
    """The outbox for this command; its connections are closed when the command ends."""
    from gateway.runtime import outbox_engine

    return ctx.with_resource(outbox_engine(settings))


def _fail(message: str, code: int = 1) -> None:
    errors.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


SftpOption = Annotated[
    Path | None,
    typer.Option(help="JSON file with SFTP settings (host, username, host_key, password | private_key)"),
]


def load_sftp_settings(path: Path) -> SftpSettings:
    """The SFTP settings in `path`, or the command fails naming the file and what is wrong."""
    from pydantic import ValidationError

    from transports.sftp import SftpSettings

    try:
        return SftpSettings.model_validate_json(path.read_text())
    except (OSError, ValidationError) as error:
        _fail(f"{path}: {error}")
        raise  # pragma: no cover - _fail exits
