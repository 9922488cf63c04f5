"""Telling idle workers that there is new work, on PostgreSQL: `NOTIFY gateway_outbox`.

Whoever queues a delivery that is due now notifies inside its own transaction; PostgreSQL delivers the
notification when (and only if) that transaction commits, so a worker woken by it finds the delivery
committed. Workers `LISTEN` on a dedicated connection (`gateway.worker.wakeup`) and still look every
`worker_listen_poll_seconds`: a notification is a hint that saves waiting, never the only way work is
found (a retry that comes due, or a notification sent while a worker was reconnecting, is found by that
look). On SQLite there is no such thing; workers poll.

The channel is one per database, not per schema: a notification from another schema of the same database
wakes a worker for one empty look, which costs one query.
"""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.orm import Session

__all__ = ["OUTBOX_CHANNEL", "notify_new_work"]

#: The PostgreSQL notification channel workers listen on.
OUTBOX_CHANNEL = "gateway_outbox"
_NOTIFY = text("SELECT pg_notify(:channel, '')")


def notify_new_work(session: Session) -> None:
    """Wake the listening workers when this transaction commits (nothing on SQLite).

    Notifications with the same channel and payload in one transaction are delivered once, so a batch of
    a thousand invoices wakes each worker once."""
    if session.get_bind().dialect.name == "postgresql":
        session.execute(_NOTIFY, {"channel": OUTBOX_CHANNEL})
