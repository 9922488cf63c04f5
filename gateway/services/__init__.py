"""The gateway's use cases. Importing this package subscribes the gateway to the outbox's status changes.

Every entry point (API, worker, CLI, demo, the tests) reaches the outbox through these services, so a
status change can never happen before the deviation tracker and the webhooks have subscribed: there is
nothing to remember. `install_status_hooks` is also called by `gateway.runtime.open_outbox`, and may be
called again at no cost.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from outbox import hooks


def _status_changed(session: Session, change: hooks.StatusChange) -> None:
    # imported on first use: the services import each other, and this package is imported before any
    from gateway.services.outbound.deviations import on_status_change

    on_status_change(session, change)


def _latency_observed(session: Session, change: hooks.StatusChange) -> None:
    from gateway.services.metrics import on_status_change

    on_status_change(session, change)


def _latencies_observed(session: Session, changes: Sequence[hooks.StatusChange]) -> None:
    from gateway.services.metrics import on_status_changes

    on_status_changes(session, changes)


def _notice_followed(session: Session, change: hooks.StatusChange) -> None:
    from gateway.services.followup.notices import on_delivery_status_change

    on_delivery_status_change(session, change)


def install_status_hooks() -> None:
    """Subscribe the gateway's answer to every delivery status change (deviations, then webhooks), and the
    latency histograms of `gateway.services.metrics`."""
    hooks.subscribe(_status_changed)
    hooks.subscribe(_latency_observed, many=_latencies_observed)
    hooks.subscribe(_notice_followed)  # a follow-up notice's status follows its delivery


install_status_hooks()
