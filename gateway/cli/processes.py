"""`gateway serve | worker | demo`: the long-running processes, and the whole path shown in one command."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli.common import console
from gateway.cli.context import cli_context


def serve(ctx: typer.Context, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the HTTP API."""
    import uvicorn

    from gateway.api.app import create_app

    uvicorn.run(create_app(cli_context(ctx).settings), host=host, port=port)


def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="deliver what is due now, then exit")] = False,
    channel: Annotated[list[str] | None, typer.Option(help="only these channels")] = None,
    worker_id: Annotated[str | None, typer.Option(help="name in events (default host:pid)")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="write what each channel would send under data_dir/dry-run/")
    ] = False,
) -> None:
    """Claim and deliver queued deliveries until SIGTERM (or, with --once, until none is due)."""
    import logging

    from gateway.worker import Worker

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    cli = cli_context(ctx)
    # a copy, so the run's shared settings (perhaps a caller's own object) stay as they were given
    settings = cli.settings.model_copy(update={"dry_run": True}) if dry_run else cli.settings
    runner = Worker(cli.engine, settings, worker_id=worker_id, channels=channel)
    runner.install_signal_handlers()
    stats = runner.run(once=once)
    console.print(f"claimed {stats.claimed}; outcomes {dict(stats.outcomes)}; leases lost {stats.lease_lost}")


def demo(ctx: typer.Context, count: Annotated[int, typer.Option(help="sample invoices to push")] = 5) -> None:
    """Push sample invoices through intake, outbox, worker and the folder channel; print their statuses."""
    from gateway.demo import run_demo

    cli = cli_context(ctx)
    run_demo(cli.engine, cli.settings, count=count, console=console)
