"""Status-change hooks: the layers above the outbox subscribe here to every delivery status change.

The outbox writes a delivery's history and knows nothing of what else a change means (a deviation row to
open, a webhook event for the tenant's ERP): the gateway subscribes a hook at start-up and the outbox calls
every hook in the transaction of the change, so what a hook writes exists exactly when the change does. A
hook that raises rolls the change back with it.

Subscribing is idempotent (the same hook twice is one hook) and hooks run in the order subscribed.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

__all__ = ["StatusChange", "StatusChangeHook", "notify", "subscribe", "subscribers", "unsubscribe"]


@dataclass(frozen=True)
class StatusChange:
    """One history row that moved a delivery from `from_status` to `to_status` (the values as stored;
    `from_status` is None for a new delivery)."""

    delivery_id: str
    invoice_id: str
    tenant_id: str
    attempt: int
    from_status: str | None
    to_status: str
    actor: str
    reason: str | None
    channel_message_id: str | None
    details: dict[str, Any] | None
    at: dt.datetime


#: Called with the session whose transaction wrote the change, and the change.
StatusChangeHook = Callable[[Session, StatusChange], None]

_hooks: list[StatusChangeHook] = []


def subscribe(hook: StatusChangeHook) -> None:
    """Call `hook` on every status change from now on (once, however often it is subscribed)."""
    if hook not in _hooks:
        _hooks.append(hook)


def unsubscribe(hook: StatusChangeHook) -> None:
    """Stop calling `hook` (a test's own hook, say); a hook not subscribed is ignored."""
    if hook in _hooks:
        _hooks.remove(hook)


def subscribers() -> tuple[StatusChangeHook, ...]:
    """The hooks subscribed, in the order they run."""
    return tuple(_hooks)


def notify(session: Session, change: StatusChange) -> None:
    """Run every hook for `change`, in `session`'s transaction."""
    for hook in _hooks:
        hook(session, change)
