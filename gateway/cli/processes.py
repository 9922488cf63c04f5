"""`gateway serve | worker | check | migrate | demo`: the long-running processes, what they check before they
start, the one-off migration, and the whole path shown in one command."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Annotated

import typer

from gateway.cli.common import (
    REFUSED,
    JsonFlag,
    OutputOption,
    console,
    errors,
    fail,
    output_format,
    print_items,
    print_table,
)
from gateway.cli.context import CliContext, cli_context

if TYPE_CHECKING:
    from gateway.cli.checks import Finding

CHECK_COLUMNS = ("check", "status", "detail")


def _check_row(finding: Finding) -> tuple[str, str, str]:
    return (finding.check, "ok" if finding.ok else "PROBLEM", finding.detail)


def _refuse_on_problems(cli: CliContext, channels: list[str] | None = None) -> None:
    """What `gateway check` checks; a process does not start on a problem (the problems on stderr, exit 1)."""
    from gateway.cli.checks import run_checks

    problems = [finding for finding in run_checks(cli.settings, channels or ()) if not finding.ok]
    if problems:
        print_table(CHECK_COLUMNS, map(_check_row, problems), keys=("check",), to=errors)
        fail(f"not starting: {len(problems)} problem(s) in the configuration (see `gateway check`)")


def serve(ctx: typer.Context, host: str = "127.0.0.1", port: int = 8000) -> None:
    """Run the HTTP API (after the checks of `gateway check`; it does not start on a problem)."""
    import uvicorn

    from gateway.api.app import create_app
    from gateway.logging_setup import logging_for_run
    from gateway.services.metrics import MetricsServer

    cli = cli_context(ctx)
    _refuse_on_problems(cli)
    settings = cli.settings
    with logging_for_run(settings.log_level, settings.log_format):
        app = create_app(settings)
        # the private metrics port serves the app's own registry: the same figures as /metrics
        own_port = (
            MetricsServer(settings.metrics_port, settings.metrics_host, app.state.metrics_registry)
            if settings.metrics_port is not None
            else None
        )
        try:
            # uvicorn's own logging setup is skipped: its lines go through ours (JSON or console,
            # redacted), and the access log is `gateway.api`'s `request` line (request id, route template)
            uvicorn.run(app, host=host, port=port, log_config=None, access_log=False)
        finally:
            if own_port is not None:
                own_port.close()


def worker(
    ctx: typer.Context,
    once: Annotated[bool, typer.Option("--once", help="deliver what is due now, then exit")] = False,
    channel: Annotated[list[str] | None, typer.Option(help="only these channels")] = None,
    worker_id: Annotated[str | None, typer.Option(help="name in events (default host:pid)")] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="write what each channel would send under data_dir/dry-run/")
    ] = False,
) -> None:
    """Claim and deliver queued deliveries until SIGTERM (or, with --once, until none is due).

    The checks of `gateway check` run first; the worker does not start on a problem. A database that does
    not answer yet is not one: the worker waits for it (backing off), as it rides out an outage later.
    """
    from gateway.logging_setup import logging_for_run
    from gateway.services.metrics import MetricsServer, registry
    from gateway.worker import Worker
    from gateway.worker.runner import stop_on_signals

    cli = cli_context(ctx)
    stop = threading.Event()
    stop_on_signals(stop.set, f"worker {worker_id or 'starting'}")
    # a copy, so the run's shared settings (perhaps a caller's own object) stay as they were given
    settings = cli.settings.model_copy(update={"dry_run": True}) if dry_run else cli.settings
    with logging_for_run(settings.log_level, settings.log_format):
        if not _wait_for_database(cli, channel, stop, write_probe=not dry_run):
            console.print("stopped before the database answered")
            return
        runner = Worker(cli.engine, settings, worker_id=worker_id, channels=channel, stop_requested=stop)
        runner.install_signal_handlers()
        # this worker's own counters (the outbox's gauges are the API's /metrics: one set, not per worker)
        own_port = (
            MetricsServer(settings.worker_metrics_port, settings.metrics_host, registry())
            if settings.worker_metrics_port is not None
            else None
        )
        try:
            stats = runner.run(once=once)
        finally:
            if own_port is not None:
                own_port.close()
    outages = (
        f"; database outages {stats.outages} ({stats.outage_seconds:.1f} s, writes resumed "
        f"{stats.writes_resumed})"
        if stats.outages
        else ""
    )
    console.print(
        f"claimed {stats.claimed}; outcomes {dict(stats.outcomes)}; leases lost {stats.lease_lost}{outages}"
    )


def _wait_for_database(
    cli: CliContext, channels: list[str] | None, stop: threading.Event, *, write_probe: bool = True
) -> bool:
    """The start checks, run again (with backoff) while the database is the only problem and does not
    answer; then the outbox opened. False when a stop came first; a real problem ends the command (exit 1).
    """
    from gateway.cli.checks import run_checks
    from gateway.worker.outage import DatabaseOutage, is_outage

    settings = cli.settings
    outage = DatabaseOutage(
        "worker (starting)",
        initial_seconds=settings.worker_db_backoff_initial_seconds,
        max_seconds=settings.worker_db_backoff_max_seconds,
    )
    while not stop.is_set():
        findings = run_checks(settings, channels or (), write_probe=write_probe)
        problems = [finding for finding in findings if not finding.ok]
        # the outbox's database not answering (and a document store in it): waited for; all else is real
        unanswered = [finding for finding in problems if finding.database_outage]
        if problems and len(unanswered) == len(problems):
            stop.wait(outage.failed(unanswered[0].detail))
            continue
        if problems:
            print_table(CHECK_COLUMNS, map(_check_row, problems), keys=("check",), to=errors)
            fail(f"not starting: {len(problems)} problem(s) in the configuration (see `gateway check`)")
        try:
            cli.engine  # noqa: B018 - opens the outbox (and creates the schema of an empty one)
        except Exception as error:
            if not is_outage(error):
                raise
            stop.wait(outage.failed(error))
            continue
        outage.recovered()
        return True
    return False


def check(
    ctx: typer.Context,
    channel: Annotated[
        list[str] | None, typer.Option(help="check these channels too (default: the configured ones)")
    ] = None,
    as_json: JsonFlag = False,
    output: OutputOption = None,
) -> None:
    """Check the configuration: every configured channel's settings, the rules directory, the database URL,
    whether the database answers and whether its migrations are current, and whether the document store
    takes a document and gives it back (a small probe, written once). Exit 1 when anything is wrong."""
    from pydantic import ValidationError
    from pydantic_settings import SettingsError

    from gateway.cli.checks import run_checks, settings_findings
    from gateway.settings import Settings

    given = ctx.find_object(CliContext)
    try:
        settings = given.settings if given is not None and given.has_settings else Settings()
        findings = run_checks(settings, channel or ())
    except (ValidationError, SettingsError) as error:
        findings = settings_findings(error)
    print_items(
        findings,
        output=output_format(as_json, output),
        columns=CHECK_COLUMNS,
        row=_check_row,
        keys=("check",),
        data=lambda finding: finding.as_dict(),
    )
    if not all(finding.ok for finding in findings):
        raise typer.Exit(REFUSED)


def migrate(
    ctx: typer.Context,
    wait: Annotated[
        float,
        typer.Option(
            "--wait", min=0, help="seconds to wait for a database that does not answer yet (0: not at all)"
        ),
    ] = 300.0,
) -> None:
    """Bring the outbox's schema up to this gateway's migrations (once per release; processes only check).

    A database that does not answer yet (a server still starting) is waited for, up to `--wait` seconds.
    """
    from db.engine import migrate as run_migrations
    from gateway import runtime
    from gateway.cli.checks import schema_state
    from gateway.worker.outage import DatabaseOutage, is_outage, reason_of

    cli = cli_context(ctx)
    settings = cli.settings
    engine = runtime.open_outbox(settings, run_migrations=False)
    outage = DatabaseOutage(
        "migrate",
        initial_seconds=settings.worker_db_backoff_initial_seconds,
        max_seconds=settings.worker_db_backoff_max_seconds,
        engine=engine,
    )
    try:
        try:
            before = outage.wait_out(lambda: schema_state(engine), threading.Event(), give_up_after=wait)
        except Exception as error:
            if not is_outage(error):
                raise
            fail(f"the database does not answer ({reason_of(error)}); waited {wait:g} s")
        if before.unknown:
            fail(before.problem() or "unknown revision")
        run_migrations(engine)
        after = schema_state(engine)
    finally:
        engine.dispose()
    current = ", ".join(after.current)
    if before.up_to_date:
        console.print(f"the outbox is current ({current}); nothing to do")
    else:
        was = ", ".join(before.current) or "empty"
        console.print(f"the outbox migrated from {was} to {current}")


def demo(ctx: typer.Context, count: Annotated[int, typer.Option(help="sample invoices to push")] = 5) -> None:
    """Push sample invoices through intake, outbox, worker and the folder channel; print their statuses."""
    from gateway.demo import run_demo

    cli = cli_context(ctx)
    run_demo(cli.engine, cli.settings, count=count, console=console)
