"""The daily follow-up run: one pass over a tenant's open invoices deciding, per invoice, which notice is due.

Why it is shaped this way:

- It must scale to a million open invoices. It reads only the columns it needs (never the canonical
  payload), streams the invoices that could be due in keyset chunks ordered by (due date, id) — the
  `ix_invoices_search_due` index — and loads what each chunk needs (disputes, promises, hand-offs, receiver
  segments, earlier notices, applied payments) with one query per kind per chunk, never one per invoice. An
  invoice whose due date is later than the earliest any level could come (`on` minus the smallest first
  delay) cannot be due and is not looked at.
- Every invoice looked at gets a `FollowUpDecision`: a notice, skipped with the reason (paid, disputed,
  promised, held, handed_off, small_amount, no_strategy, not_due), refused with the rule
  (`gateway.services.followup.rules`), or past_last_level (a candidate for collection). Skips are written
  per chunk; the notice decisions at the end, with the notices, because a notice groups one customer's
  invoices of one level from every chunk.
- Memory: only the invoices that get a notice are kept until the end, as small tuples (200,000 notices
  fit in tens of megabytes; see benchmarks/followup_run.py).
- Idempotent: a notice advances `FollowUpState` (level, deadline) at once, so a second run the same day finds
  the next level not yet due. Cancelling a notice puts the state back (`reminders.cancel_notice`).
- A dry run computes the same report and writes nothing (no run row, no promise settled).
- Promises: open promises whose date has passed are settled first (`promises.settle_promises`: KEPT when
  the invoice is paid in full or the payments applied since the promise reach the promised amount by its
  date, else BROKEN); a broken promise resumes follow-up at the next level at once (its delay is not
  waited for again: the customer already had until the promised date); broken promises are counted per
  customer.
- Statement customers (`statements.statement_customers`) get no single notices: skipped, with the reason.
- Notices are queued in the run (`notices.queue_notice`: channel and format, a delivery), not rendered:
  the worker that sends one renders it. A notice no channel can carry is `failed`, its decisions say why,
  and the run goes on.
- One run per tenant at a time (`lock_tenant_run`): two workers, or the CLI beside a worker, never both
  write notices.
- Fees: one notice carries one fee (the level's statutory fee, charged on the first of its invoices the
  rules allow it for), however many invoices it lists. Interest and the B2B compensation are per invoice;
  interest is on each day's balance (`rules.late_interest_on_balances`): a part paid late keeps the interest
  it earned until the day it was paid (`customers.payment_day`).
- Dates come from `on`; the delay of a level counts from the due date plus the days follow-up was paused
  by disputes (`FollowUpState.paused_days`), or from the day after the previous notice's deadline, which a
  pause since that notice has moved (a pause is added once, to the next level's date).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo

from sqlalchemy import Engine, and_, exists, func, insert, or_, select, update
from sqlalchemy.orm import Session
from sqlmodel import col

from db.engine import session_scope
from db.models import (
    CollectionHandoff,
    Dispute,
    FollowUpDecision,
    FollowUpRun,
    FollowUpState,
    InvoiceRecord,
    PaymentPromise,
    Receiver,
    ReminderNotice,
    ReminderNoticeItem,
    Tenant,
    new_id,
    utcnow,
)
from gateway.services.followup import rules
from gateway.services.followup.customers import applied_payments
from gateway.services.followup.notices import NoticeUndeliverable, queue_notice
from gateway.services.followup.promises import settle_promises
from gateway.services.followup.statements import statement_customers
from gateway.services.tenancy.tenants import tenant_settings
from gateway.settings import Settings
from schemas.followup import (
    DisputeStatus,
    DunningLevel,
    DunningStrategy,
    FollowUpSettings,
    NoticeKind,
    NoticeStatus,
    PromiseStatus,
)

log = logging.getLogger("gateway.followup")

#: Follow-up dates are the tenant's calendar days (Norway).
TENANT_ZONE = ZoneInfo("Europe/Oslo")
CHUNK_SIZE = 5000
OPEN_STATUSES = ("unpaid", "partially_paid")
ACTIVE_DISPUTES = (DisputeStatus.OPEN.value, DisputeStatus.AWAITING_APPROVAL.value)
ZERO = Decimal("0")

_INVOICES = InvoiceRecord.__table__  # type: ignore[attr-defined]
_STATES = FollowUpState.__table__  # type: ignore[attr-defined]
_NOTICES = ReminderNotice.__table__  # type: ignore[attr-defined]
_ITEMS = ReminderNoticeItem.__table__  # type: ignore[attr-defined]
_DISPUTES = Dispute.__table__  # type: ignore[attr-defined]
_PROMISES = PaymentPromise.__table__  # type: ignore[attr-defined]
_HANDOFFS = CollectionHandoff.__table__  # type: ignore[attr-defined]
_RECEIVERS = Receiver.__table__  # type: ignore[attr-defined]
#: The first key of the PostgreSQL advisory lock of a tenant's run (the second is the tenant's hash):
#: an arbitrary constant that no other lock of the gateway uses.
RUN_LOCK_CLASS = 190019


class FollowUpRunBusy(RuntimeError):
    """Another follow-up run of the tenant holds the run lock now (a second worker, the CLI beside it)."""

    def __init__(self, tenant_id: str) -> None:
        super().__init__(f"another follow-up run of tenant {tenant_id} is under way; try again when it ends")
        self.tenant_id = tenant_id


@dataclass
class RunReport:
    """What one run decided, in counts (a dry run's is the same as the real run's would be)."""

    tenant_id: str
    on: dt.date
    dry_run: bool
    run_id: str | None = None
    looked_at: int = 0
    notices: int = 0
    notice_invoices: int = 0
    awaiting_approval: int = 0
    undeliverable: int = 0
    notices_by_level: Counter[str] = field(default_factory=Counter)
    skipped: Counter[str] = field(default_factory=Counter)
    refused: Counter[str] = field(default_factory=Counter)
    fee_rules: Counter[str] = field(default_factory=Counter)
    past_last_level: int = 0
    promises_kept: int = 0
    promises_broken: int = 0
    broken_promises_by_customer: Counter[str] = field(default_factory=Counter)
    fees: Decimal = ZERO
    interest: Decimal = ZERO
    compensation: Decimal = ZERO

    def counts(self) -> dict[str, Any]:
        return {
            "looked_at": self.looked_at,
            "notices": self.notices,
            "notice_invoices": self.notice_invoices,
            "awaiting_approval": self.awaiting_approval,
            "undeliverable": self.undeliverable,
            "notices_by_level": dict(sorted(self.notices_by_level.items())),
            "skipped": dict(sorted(self.skipped.items())),
            "refused": dict(sorted(self.refused.items())),
            "without_fee": dict(sorted(self.fee_rules.items())),
            "past_last_level": self.past_last_level,
            "promises_kept": self.promises_kept,
            "promises_broken": self.promises_broken,
            "broken_promises_by_customer": dict(sorted(self.broken_promises_by_customer.items())),
            "fees": str(self.fees),
            "interest": str(self.interest),
            "compensation": str(self.compensation),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "run_id": self.run_id,
            "tenant_id": self.tenant_id,
            "date": self.on.isoformat(),
            "dry_run": self.dry_run,
            **self.counts(),
        }


class _Candidate(NamedTuple):
    """One invoice a notice will list, with what the rules said about it."""

    invoice_id: str
    open_amount: Decimal
    due_date: dt.date
    interest: Decimal
    compensation: Decimal
    fee: Decimal
    fee_rule: str | None
    fee_reason: str | None
    state_exists: bool
    fees_charged: int
    fee_total: Decimal
    paused_days: int


class _Notice(NamedTuple):
    strategy: DunningStrategy
    level: DunningLevel
    candidate: _Candidate


@dataclass
class _Group:
    """The invoices of one customer, currency and level (or one invoice when the level does not group)."""

    strategy: DunningStrategy
    level: DunningLevel
    customer_key: str
    receiver_id: str | None
    currency: str
    kid: str | None
    items: list[_Candidate] = field(default_factory=list)


@dataclass
class _ChunkContext:
    disputed: dict[str, Decimal | None]  # invoice id → disputed amount (None: all of it)
    promised: set[str]
    handed_off: set[str]
    history: dict[str, rules.ClaimHistory]
    #: invoice id → (day, amount) of the payments applied to it, for the interest on each day's balance
    payments: dict[str, list[tuple[dt.date, Decimal]]] = field(default_factory=dict)
    statement_customers: frozenset[str] = frozenset()


def tenant_today() -> dt.date:
    """Today in the tenant's time zone: the default day of a run asked for by a person or an ERP (the
    services themselves always take the day as a parameter)."""
    return dt.datetime.now(TENANT_ZONE).date()


def run_due_follow_ups(
    engine: Engine, *, today: dt.date, actor: str, settings: Settings
) -> list[RunReport]:
    """The daily run of every tenant with follow-up enabled whose `today` has no run yet (the worker's
    `followup` task), each in its own transaction so one tenant's failure leaves the others' runs. A tenant
    whose run another process holds is left to it; one whose run another process has just finished is
    not run again (looked at again under the run lock)."""
    with session_scope(engine) as session:
        tenants = [
            tenant_id
            for tenant_id, stored in session.execute(
                select(col(Tenant.id), col(Tenant.settings)).order_by(col(Tenant.id))
            )
            if (stored or {}).get("follow_up", {}).get("enabled")
        ]
        done = set(
            session.execute(
                select(col(FollowUpRun.tenant_id)).where(
                    col(FollowUpRun.run_on) == today, col(FollowUpRun.dry_run).is_(False)
                )
            ).scalars()
        )
    reports = []
    for tenant_id in tenants:
        if tenant_id in done:
            continue
        try:
            with session_scope(engine) as session:
                report = _run(
                    session, tenant_id, on=today, dry_run=False, actor=actor, settings=settings,
                    chunk_size=CHUNK_SIZE, once_a_day=True,
                )  # fmt: skip
        except FollowUpRunBusy as busy:
            log.info("follow-up: %s", busy)
            continue
        if report is not None:
            reports.append(report)
    return reports


def run_follow_up(
    target: Session | Engine,
    tenant_id: str,
    *,
    on: dt.date,
    dry_run: bool,
    actor: str,
    settings: Settings,
    chunk_size: int = CHUNK_SIZE,
) -> RunReport:
    """One follow-up pass over `tenant_id`'s open invoices on `on` (see the module docstring). With an
    engine, the run is one transaction of its own; with a session, the caller's (the run lock is held to
    its end). `FollowUpRunBusy` while another run of the tenant holds the lock. `settings` (the default
    channel) choose where the notices go."""
    if isinstance(target, Engine):
        with session_scope(target) as session:
            report = _run(
                session, tenant_id, on=on, dry_run=dry_run, actor=actor, settings=settings,
                chunk_size=chunk_size,
            )  # fmt: skip
    else:
        report = _run(
            target, tenant_id, on=on, dry_run=dry_run, actor=actor, settings=settings, chunk_size=chunk_size
        )
    assert report is not None  # only a once-a-day run is skipped
    return report


def lock_tenant_run(session: Session, tenant_id: str) -> None:
    """Hold the tenant's run lock until `session`'s transaction ends, or `FollowUpRunBusy`.

    Two runs at once (two workers, the CLI beside a worker) would both read the same follow-up states and
    both write the notices. On PostgreSQL the lock is a transaction-level advisory lock, tried without
    waiting. On SQLite every transaction of the gateway's engine begins IMMEDIATE (`db.engine`) and so
    holds the database's write lock to its end: a second run waits for the first to commit and then finds
    the states moved on (it writes nothing twice)."""
    if session.get_bind().dialect.name != "postgresql":
        return
    # keyed by the schema too: advisory locks are per database, and two gateways (or test runs) may keep
    # their tables in two schemas of one database with tenants of the same name
    key = func.hashtext(func.concat(func.current_schema(), "/", tenant_id))
    taken = session.execute(select(func.pg_try_advisory_xact_lock(RUN_LOCK_CLASS, key))).scalar_one()
    if not taken:
        raise FollowUpRunBusy(tenant_id)


def _run(
    session: Session,
    tenant_id: str,
    *,
    on: dt.date,
    dry_run: bool,
    actor: str,
    settings: Settings,
    chunk_size: int,
    once_a_day: bool = False,
) -> RunReport | None:
    """The run in `session` (None: `once_a_day` and the day's run is done already)."""
    if not dry_run:
        lock_tenant_run(session, tenant_id)
        if once_a_day and session.execute(
            select(
                exists().where(
                    col(FollowUpRun.tenant_id) == tenant_id,
                    col(FollowUpRun.run_on) == on,
                    col(FollowUpRun.dry_run).is_(False),
                )
            )
        ).scalar_one():
            return None
    tenant = tenant_settings(session, tenant_id)
    follow_up = tenant.follow_up
    report = RunReport(tenant_id=tenant_id, on=on, dry_run=dry_run)
    if not dry_run:
        run = FollowUpRun(tenant_id=tenant_id, run_on=on, dry_run=False, actor=actor)
        session.add(run)
        session.flush()
        report.run_id = run.id
    settled = settle_promises(session, tenant_id, on, dry_run=dry_run)
    report.promises_kept, report.promises_broken = settled.kept, settled.broken
    report.broken_promises_by_customer.update(settled.broken_by_customer)
    broken_now = settled.broken_invoices
    statement_set = frozenset(statement_customers(session, tenant_id))
    segments: dict[str, str | None] = {}
    groups: dict[tuple[Any, ...], _Group] = {}
    earliest = min((s.levels[0].delay_days for s in follow_up.strategies), default=0)
    if on.toordinal() > max(earliest, 0):
        cutoff = on - dt.timedelta(days=earliest)
        for chunk in _open_invoices(session, tenant_id, cutoff=cutoff, chunk_size=chunk_size):
            context = _chunk_context(session, tenant_id, chunk, on=on, segments=segments)
            context.statement_customers = statement_set
            decisions: list[dict[str, Any]] = []
            for row in chunk:
                report.looked_at += 1
                decided = _decide(row, follow_up, context, segments, on=on, broken_now=broken_now)
                if isinstance(decided, _Notice):
                    strategy, level, candidate = decided
                    customer = (row.customer_key or "", row.receiver_id or "")
                    key: tuple[Any, ...] = (strategy.segment, level.level, row.currency, *customer)
                    if not level.group_per_customer:
                        key = (*key, row.id)
                    group = groups.get(key)
                    if group is None:
                        group = groups[key] = _Group(
                            strategy, level, row.customer_key or "", row.receiver_id, row.currency,
                            row.payment_reference,
                        )  # fmt: skip
                    group.items.append(candidate)
                    continue
                decision, level_number, reason, rule = decided
                if decision == "skipped":
                    report.skipped[reason.split(":", 1)[0]] += 1
                elif decision == "refused":
                    report.refused[rule or "?"] += 1
                else:
                    report.past_last_level += 1
                decisions.append(
                    {
                        "run_id": report.run_id, "tenant_id": tenant_id, "invoice_id": row.id,
                        "level": level_number, "decision": decision, "reason": reason, "rule": rule,
                    }
                )  # fmt: skip
            if not dry_run and decisions:
                session.execute(insert(FollowUpDecision), decisions)
    queued = _write_notices(session, tenant_id, groups, on=on, dry_run=dry_run, report=report)
    if not dry_run:
        for notice_id in queued:
            try:
                queue_notice(session, notice_id, actor=actor, settings=settings, tenant=tenant)
            except NoticeUndeliverable as refusal:  # the notice is failed; the run goes on
                report.undeliverable += 1
                session.execute(
                    update(FollowUpDecision)
                    .where(col(FollowUpDecision.notice_id) == notice_id)
                    .values(reason=f"undeliverable: {refusal.reason}"[:2000])
                )
        session.execute(
            update(FollowUpRun)
            .where(FollowUpRun.id == report.run_id)  # type: ignore[arg-type]
            .values(finished_at=utcnow(), counts=report.counts())
        )
    return report


# --- reading -----------------------------------------------------------------------------------------------


def _open_invoices(
    session: Session, tenant_id: str, *, cutoff: dt.date, chunk_size: int
) -> Iterator[Sequence[Any]]:
    """The tenant's open invoices due on or before `cutoff`, with their follow-up state, in chunks."""
    inv, st = _INVOICES, _STATES
    columns = (
        inv.c.id, inv.c.number, inv.c.due_date, inv.c.currency, inv.c.payable_amount, inv.c.open_amount,
        inv.c.customer_key, inv.c.receiver_id, inv.c.payment_reference,
        st.c.invoice_id.label("state_id"), st.c.level, st.c.last_notice_id, st.c.last_deadline,
        st.c.fees_charged, st.c.fee_total, st.c.paused_days, st.c.held, st.c.handed_off_at,
    )  # fmt: skip
    base = (
        select(*columns)
        .select_from(inv.outerjoin(st, st.c.invoice_id == inv.c.id))
        .where(
            inv.c.tenant_id == tenant_id,
            inv.c.document_type == "invoice",
            inv.c.payment_status.in_(OPEN_STATUSES),
            inv.c.due_date.is_not(None),
            inv.c.due_date <= cutoff,
        )
        .order_by(inv.c.due_date, inv.c.id)
        .limit(chunk_size)
    )
    after: tuple[dt.date, str] | None = None
    while True:
        query = base
        if after is not None:
            query = query.where(
                or_(inv.c.due_date > after[0], and_(inv.c.due_date == after[0], inv.c.id > after[1]))
            )
        chunk = session.execute(query).all()
        if not chunk:
            return
        yield chunk
        if len(chunk) < chunk_size:
            return
        after = (chunk[-1].due_date, chunk[-1].id)


def _chunk_context(
    session: Session,
    tenant_id: str,
    chunk: Sequence[Any],
    *,
    on: dt.date,
    segments: dict[str, str | None],
) -> _ChunkContext:
    """What the chunk's decisions need, one query per kind for the whole chunk."""
    ids = [row.id for row in chunk]
    disputed: dict[str, Decimal | None] = {}
    for invoice_id, amount in session.execute(
        select(_DISPUTES.c.invoice_id, _DISPUTES.c.amount).where(
            _DISPUTES.c.tenant_id == tenant_id,
            _DISPUTES.c.invoice_id.in_(ids),
            _DISPUTES.c.status.in_(ACTIVE_DISPUTES),
        )
    ):
        if amount is None or (invoice_id in disputed and disputed[invoice_id] is None):
            disputed[invoice_id] = None
        else:
            disputed[invoice_id] = (disputed.get(invoice_id) or ZERO) + _decimal(amount)
    promised = set(
        session.execute(
            select(_PROMISES.c.invoice_id).where(
                _PROMISES.c.tenant_id == tenant_id,
                _PROMISES.c.invoice_id.in_(ids),
                _PROMISES.c.status == PromiseStatus.OPEN.value,
                _PROMISES.c.promised_on >= on,
            )
        ).scalars()
    )
    handed_off = set(
        session.execute(
            select(_HANDOFFS.c.invoice_id).where(
                _HANDOFFS.c.tenant_id == tenant_id,
                _HANDOFFS.c.invoice_id.in_(ids),
            )
        ).scalars()
    )
    wanted = {row.receiver_id for row in chunk if row.receiver_id and row.receiver_id not in segments}
    if wanted:
        for receiver_id, profile in session.execute(
            select(_RECEIVERS.c.receiver_id, _RECEIVERS.c.profile).where(
                _RECEIVERS.c.tenant_id == tenant_id,
                _RECEIVERS.c.receiver_id.in_(wanted),
            )
        ):
            segment = profile.get("segment") if isinstance(profile, dict) else None
            segments[receiver_id] = segment if isinstance(segment, str) else None
        for receiver_id in wanted - segments.keys():
            segments[receiver_id] = None
    # only an invoice whose open amount is no longer its payable amount can have had a payment applied
    part_paid = [
        row.id for row in chunk if row.open_amount is not None and row.open_amount != row.payable_amount
    ]
    return _ChunkContext(
        disputed, promised, handed_off, _histories(session, chunk),
        payments=applied_payments(session, tenant_id, part_paid),
    )  # fmt: skip


def _histories(session: Session, chunk: Sequence[Any]) -> dict[str, rules.ClaimHistory]:
    """Earlier notices (not cancelled) of the chunk's invoices that have had one: fee kinds in order,
    whether the B2B compensation was claimed; the last deadline comes from the state."""
    touched = {row.id: row.last_deadline for row in chunk if row.last_notice_id is not None}
    if not touched:
        return {}
    kinds: dict[str, list[NoticeKind]] = {}
    claimed: set[str] = set()
    query = (
        select(_ITEMS.c.invoice_id, _ITEMS.c.fee, _NOTICES.c.kind, _NOTICES.c.compensation)
        .select_from(_ITEMS.join(_NOTICES, _NOTICES.c.id == _ITEMS.c.notice_id))
        .where(_ITEMS.c.invoice_id.in_(list(touched)), _NOTICES.c.status != NoticeStatus.CANCELLED.value)
        .order_by(_NOTICES.c.notice_on, _NOTICES.c.created_at, _NOTICES.c.id)
    )
    for invoice_id, fee, kind, compensation in session.execute(query):
        if _decimal(fee) > 0:
            kinds.setdefault(invoice_id, []).append(NoticeKind(kind))
        if _decimal(compensation) > 0:
            claimed.add(invoice_id)
    return {
        invoice_id: rules.ClaimHistory(
            fee_kinds=tuple(kinds.get(invoice_id, ())),
            last_deadline=last_deadline,
            compensation_claimed=invoice_id in claimed,
        )
        for invoice_id, last_deadline in touched.items()
    }


# --- deciding ----------------------------------------------------------------------------------------------

#: (decision, level, reason, rule) for an invoice that gets no notice.
_NoNotice = tuple[str, int | None, str, str | None]


def _decide(
    row: Any,
    settings: FollowUpSettings,
    context: _ChunkContext,
    segments: dict[str, str | None],
    *,
    on: dt.date,
    broken_now: set[str],
) -> _NoNotice | _Notice:
    """One invoice: the notice it gets, or why none."""
    open_amount = _decimal(row.open_amount if row.open_amount is not None else row.payable_amount)
    if open_amount <= 0:
        return ("skipped", row.level, "paid: nothing left to pay", None)
    if row.handed_off_at is not None or row.id in context.handed_off:
        return ("skipped", row.level, "handed_off: with a collection agency", None)
    if row.held:
        return ("skipped", row.level, "held: a person stopped follow-up", None)
    if row.receiver_id is not None and row.receiver_id in context.statement_customers:
        return ("skipped", row.level, "statement_customer: gets periodic statements, no single notices",
                None)  # fmt: skip
    if row.id in context.disputed:
        amount = context.disputed[row.id]
        if amount is None or open_amount - amount <= 0:
            return ("skipped", row.level, "disputed: an open dispute covers the open amount", None)
        open_amount -= amount
    if row.id in context.promised:
        return ("skipped", row.level, "promised: an open promise to pay has not fallen due", None)
    if open_amount < settings.min_open_amount:
        return ("skipped", row.level, f"small_amount: {open_amount} below {settings.min_open_amount}", None)
    segment = segments.get(row.receiver_id) if row.receiver_id else None
    strategy = settings.strategy_for(segment)
    if strategy is None:
        return ("skipped", row.level, f"no_strategy: none for segment {segment or '(none)'}", None)
    current = row.level or 0
    nudged = current == 0 and row.last_notice_id is not None
    due_date: dt.date = row.due_date
    upcoming = [
        level
        for level in strategy.levels
        if (level.level > current or (level.level == 0 and not nudged and row.last_notice_id is None))
        and not (level.kind is NoticeKind.NUDGE and on >= due_date)
    ]
    last_deadline: dt.date | None = row.last_deadline
    if not upcoming:
        if row.last_notice_id is not None and (last_deadline is None or on > last_deadline):
            return (
                "past_last_level",
                current,
                f"past the last level ({current}): a collection candidate",
                None,
            )
        if last_deadline is not None:
            return ("skipped", current, f"not_due: the last notice's deadline {last_deadline} has not passed",
                    None)  # fmt: skip
        return ("skipped", current, "not_due: the strategy has no level after the due date", None)
    level = upcoming[0]
    due_on = level_due_on(
        level, due_date=due_date, last_deadline=last_deadline, paused_days=row.paused_days or 0
    )
    if row.id in broken_now:
        due_on = min(due_on, on)  # a broken promise resumes at the next level at once
    if on < due_on:
        return ("skipped", current, f"not_due: level {level.level} is due on {due_on}", None)
    history = context.history.get(row.id, rules.ClaimHistory(last_deadline=last_deadline))
    verdict = rules.judge_notice(settings, level, due_date=due_date, on=on, history=history)
    if not verdict.allowed:
        return ("refused", level.level, verdict.reason or "", verdict.rule)
    interest = compensation = ZERO
    if level.interest:
        balances = rules.balance_history(open_amount, context.payments.get(row.id, []), due_date=due_date)
        interest = rules.late_interest_on_balances(settings, balances, due_date=due_date, on=on)
        compensation = rules.compensation(
            settings, segment, due_date=due_date, on=on, already_claimed=history.compensation_claimed
        )
    candidate = _Candidate(
        row.id, open_amount, due_date, interest, compensation, verdict.fee, verdict.rule, verdict.reason,
        row.state_id is not None, row.fees_charged or 0, _decimal(row.fee_total or "0"), row.paused_days or 0,
    )  # fmt: skip
    return _Notice(strategy, level, candidate)


def level_due_on(
    level: DunningLevel, *, due_date: dt.date, last_deadline: dt.date | None, paused_days: int = 0
) -> dt.date:
    """The first day `level` may go: its delay after the due date plus the days follow-up was paused, or its
    delay after the day following the previous notice's deadline. A pause counts once: the previous notice
    went after any earlier pause, and a pause since it has moved its deadline (`disputes._resume_follow_up`),
    so `paused_days` is not added to that anchor again."""
    if level.delay_from == "previous_notice" and last_deadline is not None:
        return last_deadline + dt.timedelta(days=1 + level.delay_days)
    return due_date + dt.timedelta(days=level.delay_days + paused_days)


# --- writing -----------------------------------------------------------------------------------------------


def _write_notices(
    session: Session,
    tenant_id: str,
    groups: dict[tuple[Any, ...], _Group],
    *,
    on: dt.date,
    dry_run: bool,
    report: RunReport,
) -> list[str]:
    """The notices, their items, the notice decisions and the advanced states; the ids of the notices to
    queue now (those that need no approval)."""
    notices: list[dict[str, Any]] = []
    items: list[dict[str, Any]] = []
    decisions: list[dict[str, Any]] = []
    new_states: list[dict[str, Any]] = []
    changed_states: list[dict[str, Any]] = []
    queued: list[str] = []
    now = utcnow()

    def flush() -> None:
        if dry_run:
            for rows in (notices, items, decisions, new_states, changed_states):
                rows.clear()
            return
        for model, rows in (
            (ReminderNotice, notices), (ReminderNoticeItem, items), (FollowUpDecision, decisions),
            (FollowUpState, new_states),
        ):  # fmt: skip
            if rows:
                session.execute(insert(model), rows)
                rows.clear()
        if changed_states:
            session.execute(update(FollowUpState), changed_states)
            changed_states.clear()

    while groups:
        _, group = groups.popitem()
        level = group.level
        notice_id = new_id()
        deadline = on + dt.timedelta(days=level.payment_days)
        if level.kind is NoticeKind.NUDGE:  # a friendly note before the due date never moves the due date
            deadline = max(on, min(item.due_date for item in group.items))
        following = next((later for later in group.strategy.levels if later.level > level.level), None)
        status = NoticeStatus.AWAITING_APPROVAL if level.approval_required else NoticeStatus.QUEUED
        fee_carrier = next((item.invoice_id for item in group.items if item.fee > 0), None)
        notice_fee = next((item.fee for item in group.items if item.fee > 0), ZERO)
        open_total = sum((item.open_amount for item in group.items), ZERO)
        interest = sum((item.interest for item in group.items), ZERO)
        compensation = sum((item.compensation for item in group.items), ZERO)
        total = open_total + notice_fee + interest + compensation
        notices.append(
            {
                "id": notice_id, "tenant_id": tenant_id, "run_id": report.run_id,
                "customer_key": group.customer_key, "receiver_id": group.receiver_id, "level": level.level,
                "kind": level.kind.value, "status": status.value, "notice_on": on, "deadline": deadline,
                "currency": group.currency, "fee": str(notice_fee), "interest": str(interest),
                "compensation": str(compensation), "open_total": str(open_total), "total": str(total),
                "kid": group.kid if len(group.items) == 1 else None, "channel": level.channel,
                "created_at": now, "updated_at": now,
            }
        )  # fmt: skip
        report.notices += 1
        report.notice_invoices += len(group.items)
        report.notices_by_level[str(level.level)] += 1
        report.fees += notice_fee
        report.interest += interest
        report.compensation += compensation
        if status is NoticeStatus.AWAITING_APPROVAL:
            report.awaiting_approval += 1
        else:
            queued.append(notice_id)
        for item in group.items:
            fee = item.fee if item.invoice_id == fee_carrier else ZERO
            rule, reason = item.fee_rule, item.fee_reason
            if rule is not None:
                report.fee_rules[rule] += 1
            elif item.fee > 0 and fee == 0:
                reason = f"the notice's one fee is charged on invoice {fee_carrier}"
            items.append(
                {
                    "notice_id": notice_id, "invoice_id": item.invoice_id,
                    "open_amount": str(item.open_amount), "fee": str(fee), "interest": str(item.interest),
                    "days_late": (on - item.due_date).days,
                }
            )  # fmt: skip
            decisions.append(
                {
                    "run_id": report.run_id, "tenant_id": tenant_id, "invoice_id": item.invoice_id,
                    "level": level.level, "decision": "notice", "reason": reason, "rule": rule,
                    "notice_id": notice_id,
                }
            )  # fmt: skip
            next_on = (
                level_due_on(following, due_date=item.due_date, last_deadline=deadline,
                             paused_days=item.paused_days)
                if following is not None
                else deadline + dt.timedelta(days=1)
            )  # fmt: skip
            state = {
                "invoice_id": item.invoice_id, "level": level.level, "last_notice_id": notice_id,
                "last_notice_on": on, "last_deadline": deadline,
                "fees_charged": item.fees_charged + (fee > 0 and level.kind in rules.NOTICE_FEE_KINDS),
                "fee_total": str(item.fee_total + fee), "interest_total": str(item.interest),
                "next_action_on": next_on, "updated_at": now,
            }  # fmt: skip
            if item.state_exists:
                changed_states.append(state)
            else:
                new_states.append({**state, "tenant_id": tenant_id})
        if len(items) >= CHUNK_SIZE:
            flush()
    flush()
    return queued


def _decimal(text: str | None) -> Decimal:
    try:
        return Decimal(text) if text else ZERO
    except InvalidOperation:
        return ZERO
