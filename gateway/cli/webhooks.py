"""`gateway webhook …` (also `gateway webhooks …`): the ERP's endpoints, and sending due events by hand."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from gateway.cli.common import (
    OPERATOR,
    JsonFlag,
    OutputOption,
    TenantFilter,
    TenantOption,
    fail,
    fails_on,
    output_format,
    print_items,
    print_lines,
)
from gateway.cli.context import cli_context

webhook_app = typer.Typer(
    help="Webhooks to the ERP: endpoints, and sending due events.", no_args_is_help=True
)


@webhook_app.command("add")
def webhook_add(
    ctx: typer.Context,
    url: str,
    tenant: TenantOption = "",
    events: Annotated[
        str,
        typer.Option(help="comma-separated: delivery.status_changed, deviation.opened, deviation.closed, *"),
    ] = "*",
    secret: Annotated[str | None, typer.Option(help="your own signing secret (default: generated)")] = None,
) -> None:
    """Add (or change) an endpoint; a generated secret is printed this once."""
    from gateway.services.tenancy import webhooks

    wanted = [e.strip() for e in events.split(",") if e.strip()]
    cli = cli_context(ctx)
    with (
        fails_on(webhooks.WebhookError, describe=lambda e: f"{e.field}: {e.reason}"),
        cli.session() as session,
    ):
        endpoint, created, generated = webhooks.put_endpoint(
            session, tenant, url=url, events=wanted, secret=secret, actor=OPERATOR,
            addresses=webhooks.webhook_addresses(cli.settings),
        )  # fmt: skip
        view = webhooks.endpoint_view(endpoint)
    lines = [f"webhook {view['id']} {'added' if created else 'changed'}: {url} {view['events']}"]
    if generated:
        lines.append(f"secret (shown once): {generated}")
    print_lines(lines)


@webhook_app.command("list")
def webhook_list(
    ctx: typer.Context, tenant: TenantFilter = None, as_json: JsonFlag = False, output: OutputOption = None
) -> None:
    """Endpoints (secrets are never shown) and their events by status."""
    from gateway.services.tenancy import webhooks

    shape = output_format(as_json, output)
    found: list[dict[str, Any]] = []
    with cli_context(ctx).session() as session:
        endpoints = webhooks.list_endpoints(session, tenant)
        counts = webhooks.event_counts(session, [endpoint.id for endpoint in endpoints])
        for endpoint in endpoints:
            by_status = counts[endpoint.id]
            found.append(
                {
                    **webhooks.endpoint_view(endpoint),
                    "tenant_id": endpoint.tenant_id,
                    "events_pending": by_status.get("pending", 0) + by_status.get("sending", 0),
                    "events_delivered": by_status.get("delivered", 0),
                    "events_failed": by_status.get("failed", 0),
                }
            )
    print_items(
        found,
        output=shape,
        columns=("id", "tenant", "url", "events", "active", "pending", "delivered", "failed"),
        keys=("id", "tenant", "url"),
        row=lambda item: (
            item["id"],
            item["tenant_id"],
            item["url"],
            ",".join(item["events"]),
            "yes" if item["active"] else "no",
            str(item["events_pending"]),
            str(item["events_delivered"]),
            str(item["events_failed"]),
        ),
    )


@webhook_app.command("remove")
def webhook_remove(ctx: typer.Context, endpoint_id: str, tenant: TenantOption = "") -> None:
    """Remove an endpoint and its events."""
    from gateway.services.tenancy import webhooks

    with cli_context(ctx).session() as session:
        found = webhooks.delete_endpoint(session, tenant, endpoint_id, actor=OPERATOR)
    if not found:
        fail(f"no webhook endpoint {endpoint_id} for tenant {tenant}")
    print_lines([f"webhook {endpoint_id} removed"])


@webhook_app.command("send")
def webhook_send(ctx: typer.Context) -> None:
    """Send every due webhook event now (a manual drain; workers do this every few seconds)."""
    from gateway.services.tenancy.webhooks import (
        SendReport,
        send_due_events,
        webhook_addresses,
        webhook_policy,
    )

    cli = cli_context(ctx)
    total = SendReport()
    while True:
        report = send_due_events(
            cli.engine,
            policy=webhook_policy(cli.settings),
            timeout_seconds=cli.settings.webhook_timeout_seconds,
            addresses=webhook_addresses(cli.settings),
            ca_bundle=cli.settings.webhook_ca_bundle,
        )
        if not report.claimed:
            break
        total.claimed += report.claimed
        total.delivered += report.delivered
        total.retried += report.retried
        total.failed += report.failed
        if not report.delivered and not report.failed:
            break  # only retries left, scheduled for later
    done = f"delivered {total.delivered}, to retry {total.retried}, failed {total.failed}"
    print_lines([f"sent {total.claimed}: {done}"])
