"""`gateway` command line: run the API and workers, push files, follow deliveries, and dry runs.

This module only builds the root app: its callback makes the run's `CliContext` (settings read once, the
outbox opened on first use), and the commands and groups of `gateway/cli/<group>.py` are added in the
order `gateway --help` lists them. A new command goes into the module of its group, and one line here.
"""

from __future__ import annotations

import typer

from gateway.cli import (
    avtalegiro,
    batches,
    deliveries,
    deviations,
    disputes,
    documents,
    dry_runs,
    efaktura,
    inbound,
    invoices,
    ledger,
    partners,
    payments,
    pods,
    portal,
    processes,
    receivables,
    reminders,
    reports,
    tenancy,
    users,
    webhooks,
)
from gateway.cli.common import EXIT_CODES, TENANT_RULE, console
from gateway.cli.context import CliContext, attach_cli_context, cli_context

__all__ = ["CliContext", "app", "cli_context", "console", "main"]

OUTPUT_RULE = (
    'Listings: a table, --json ({"items": [...], "next": null}, the API\'s list shape) or --output csv. '
    "On a terminal tables are drawn (ids, numbers and names never cut); piped, they are tab-separated rows "
    "without a header. Progress bars go to stderr, and only when it is a terminal."
)

app = typer.Typer(
    help="\n\n".join(
        (
            "Invoice gateway: canonical invoices in, deliveries out, statuses back.",
            EXIT_CODES,
            TENANT_RULE,
            OUTPUT_RULE,
        )
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)


@app.callback()
def _start_run(ctx: typer.Context) -> None:
    attach_cli_context(ctx)


app.command()(processes.serve)
app.command()(processes.worker)
app.command()(processes.check)
app.command()(processes.migrate)
app.command()(deliveries.send)
app.command()(deliveries.status)
app.command()(invoices.invoices)
app.command()(invoices.document)
app.command()(deliveries.resend)
app.command()(deliveries.correct)
app.command()(deliveries.cancel)
app.command()(inbound.receive)
app.command()(inbound.bounces)
app.command()(batches.batches)
app.command("receive-edi")(inbound.receive_edi)
app.command("print-returns")(batches.print_returns)
app.command("digipost-events")(inbound.digipost_events)
app.command()(deliveries.release)
app.command()(dry_runs.render)
app.command()(dry_runs.inspect)
app.command()(dry_runs.validate)
app.command()(dry_runs.schema)
app.command()(processes.demo)
app.command()(payments.match)

app.add_typer(tenancy.token_app, name="token")
app.add_typer(users.user_app, name="user")
app.add_typer(tenancy.receiver_app, name="receiver")
app.add_typer(tenancy.tenant_app, name="tenant")
app.add_typer(tenancy.participant_app, name="participant")
app.add_typer(partners.partner_app, name="partner")
app.add_typer(deviations.deviations_app, name="deviations")
app.add_typer(webhooks.webhook_app, name="webhook")
app.add_typer(webhooks.webhook_app, name="webhooks", hidden=True)  # `gateway webhooks send` reads naturally
app.add_typer(pods.pod_app, name="pod")
app.add_typer(payments.remittance_app, name="remittance")
app.add_typer(payments.payments_app, name="payments")
app.add_typer(documents.documents_app, name="documents")
app.add_typer(efaktura.efaktura_app, name="efaktura")
app.add_typer(avtalegiro.avtalegiro_app, name="avtalegiro")
app.add_typer(disputes.disputes_app, name="disputes")
app.add_typer(disputes.promises_app, name="promises")
app.add_typer(reminders.reminders_app, name="reminders")
app.add_typer(receivables.receivables_app, name="receivables")
app.add_typer(receivables.collection_app, name="collection")
app.add_typer(receivables.statements_app, name="statements")
app.add_typer(reports.report_app, name="report")
app.add_typer(ledger.ledger_app, name="ledger")
app.add_typer(portal.portal_app, name="portal")


def main() -> None:  # pragma: no cover
    app()
