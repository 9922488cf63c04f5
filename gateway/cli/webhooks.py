"""`gateway webhook …` (also `gateway webhooks …`): the ERP's endpoints, and sending due events by hand."""

from __future__ import annotations

from typing import Annotated

import typer

from gateway.cli.common import TenantOption, console, fail, fails_on, print_table
from gateway.cli.context import cli_context

webhook_app = typer.Typer(
    help="Webhooks to the ERP: endpoints, and sending due events.", no_args_is_help=True
)


@webhook_app.command("add")
def webhook_add(
    ctx: typer.Context,
    url: str,
    tenant: TenantOption = "default",
    events: Annotated[
        str,
        typer.Option(help="comma-separated: delivery.status_changed, deviation.opened, deviation.closed, *"),
    ] = "*",
    secret: Annotated[str | None, typer.Option(help="your own signing secret (default: generated)")] = None,
) -> None:
    """Add (or change) an endpoint; a generated secret is printed this once."""
    from gateway.services.tenancy import webhooks

    wanted = [e.strip() for e in events.split(",") if e.strip()]
    with fails_on(webhooks.WebhookError), cli_context(ctx).session() as session:
        endpoint, created, generated = webhooks.put_endpoint(
            session, tenant, url=url, events=wanted, secret=secret
        )
        view = webhooks.endpoint_view(endpoint)
    console.print(f"webhook {view['id']} {'added' if created else 'changed'}: {url} {view['events']}")
    if generated:
        console.print(f"secret (shown once): {generated}")


@webhook_app.command("list")
def webhook_list(
    ctx: typer.Context, tenant: Annotated[str | None, typer.Option(help="only this tenant")] = None
) -> None:
    """Endpoints (secrets are never shown) and their events by status."""
    from sqlalchemy import func, select
    from sqlmodel import col

    from db.models import WebhookEvent
    from gateway.services.tenancy import webhooks

    rows: list[tuple[str, ...]] = []
    with cli_context(ctx).session() as session:
        for endpoint in webhooks.list_endpoints(session, tenant):
            counts = dict(
                session.execute(
                    select(col(WebhookEvent.status), func.count())
                    .where(col(WebhookEvent.endpoint_id) == endpoint.id)
                    .group_by(col(WebhookEvent.status))
                ).all()
            )
            rows.append(
                (
                    endpoint.id,
                    endpoint.tenant_id,
                    endpoint.url,
                    ",".join(endpoint.events),
                    "yes" if endpoint.active else "no",
                    str(counts.get("pending", 0) + counts.get("sending", 0)),
                    str(counts.get("delivered", 0)),
                    str(counts.get("failed", 0)),
                )
            )
    print_table(("id", "tenant", "url", "events", "active", "pending", "delivered", "failed"), rows)


@webhook_app.command("remove")
def webhook_remove(ctx: typer.Context, endpoint_id: str, tenant: TenantOption = "default") -> None:
    """Remove an endpoint and its events."""
    from gateway.services.tenancy import webhooks

    with cli_context(ctx).session() as session:
        found = webhooks.delete_endpoint(session, tenant, endpoint_id)
    if not found:
        fail(f"no webhook endpoint {endpoint_id} for tenant {tenant}")
    console.print(f"webhook {endpoint_id} removed")


@webhook_app.command("send")
def webhook_send(ctx: typer.Context) -> None:
    """Send every due webhook event now (a manual drain; workers do this every few seconds)."""
    from gateway.services.tenancy.webhooks import SendReport, send_due_events, webhook_policy

    cli = cli_context(ctx)
    total = SendReport()
    while True:
        report = send_due_events(
            cli.engine,
            policy=webhook_policy(cli.settings),
            timeout_seconds=cli.settings.webhook_timeout_seconds,
        )
        if not report.claimed:
            break
        total.claimed += report.claimed
        total.delivered += report.delivered
        total.retried += report.retried
        total.failed += report.failed
        if not report.delivered and not report.failed:
            break  # only retries left, scheduled for later
    console.print(
        f"sent {total.claimed}: delivered {total.delivered}, to retry {total.retried}, failed {total.failed}"
    )
