"""Status-change hooks: the layers above the outbox subscribe here to every delivery status change.

The outbox writes a delivery's history and knows nothing of what else a change means (a deviation row to
open, a webhook event for the tenant's ERP): the gateway subscribes a hook at start-up and the outbox calls
every hook in the transaction of the change, so what a hook writes exists exactly when the change does. A
hook that raises rolls the change back with it.

Subscribing is idempotent (the same hook twice is one hook) and hooks run in the order subscribed. A hook
may also say how to take many changes at once (`subscribe(hook, many=…)`): the outbox hands a batch's
changes (`notify_all`) to it in one call, so it can read what it needs with one statement instead of one a
change; each hook still sees every change once, in order.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.orm import Session

__all__ = [
    "StatusChange",
    "StatusChangeHook",
    "StatusChangesHook",
    "notify",
    "notify_all",
    "subscribe",
    "subscribers",
    "unsubscribe",
]


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

#: Called with the session and several changes in order: the same as the hook called on each in turn.
StatusChangesHook = Callable[[Session, Sequence[StatusChange]], None]

_hooks: list[StatusChangeHook] = []
_many: dict[StatusChangeHook, StatusChangesHook] = {}


def subscribe(hook: StatusChangeHook, *, many: StatusChangesHook | None = None) -> None:
    """Call `hook` on every status change from now on (once, however often it is subscribed); `many`, when
    given, takes a batch's changes in one call instead (it must do what `hook` on each would)."""
    if hook not in _hooks:
        _hooks.append(hook)
    if many is not None:
        _many[hook] = many


def unsubscribe(hook: StatusChangeHook) -> None:
    """Stop calling `hook` (a test's own hook, say); a hook not subscribed is ignored."""
    if hook in _hooks:
        _hooks.remove(hook)
    _many.pop(hook, None)


def subscribers() -> tuple[StatusChangeHook, ...]:
    """The hooks subscribed, in the order they run."""
    return tuple(_hooks)


def notify(session: Session, change: StatusChange) -> None:
    """Run every hook for `change`, in `session`'s transaction (`notify_all` of one)."""
    notify_all(session, [change])


def notify_all(session: Session, changes: Sequence[StatusChange]) -> None:
    """Run every hook for `changes` (in order), in `session`'s transaction: a hook subscribed with `many`
    takes them in one call, the others one by one."""
    if not changes:
        return
    for hook in _hooks:
        many = _many.get(hook)
        if many is not None:
            many(session, changes)
        else:
            for change in changes:
                hook(session, change)
