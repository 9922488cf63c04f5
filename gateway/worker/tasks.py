"""The worker's periodic tasks, and their registry: a new periodic task is a function here and one entry
in `PERIODIC_TASKS` (with the setting that holds its interval)."""

from __future__ import annotations

import datetime as dt

from pydantic import ValidationError

from channels import ChannelUnavailable, UnknownChannel
from channels.digipost import DigipostChannel
from channels.efaktura import EfakturaChannel
from channels.print_sftp import PrintChannel
from db.engine import session_scope
from gateway.services.followup.run import TENANT_ZONE, run_due_follow_ups
from gateway.services.inbound.digipost_events import poll_digipost_events
from gateway.services.inbound.edi_acks import flag_overdue
from gateway.services.inbound.efaktura_receipts import poll_efaktura_receipts
from gateway.services.inbound.print_returns import poll_print_returns
from gateway.services.payments.intake import receive_drop_and_match, zip_limits
from gateway.services.payments.matching_runs import run_all
from gateway.services.payments.remittances import load_sftp_sources
from gateway.services.portal.access import forget_old_portal_history
from gateway.services.tenancy.console_users import forget_old_sign_ins
from gateway.services.tenancy.webhooks import send_due_events, webhook_addresses, webhook_policy
from gateway.worker.batches import hand_over_batches
from gateway.worker.context import WorkerContext, log
from gateway.worker.periodic import PeriodicTask
from transports.drop_folder import DropFolder, LocalDropFolder, open_drop_folder
from transports.sftp import SftpError


def read_print_returns(context: WorkerContext, now: dt.datetime) -> int:
    """Read and apply the print houses' return files (receipts, production reports, returned mail), and
    the eFaktura provider's receipt files when `efaktura` is among `return_poll_channels`."""
    read = 0
    for name in context.settings.return_poll_channels:
        if not context.wants(name):
            continue
        try:
            channel = context.channel(name)
        except (UnknownChannel, ChannelUnavailable, ValidationError) as error:
            log.warning("worker %s: cannot read %s return files: %s", context.worker_id, name, error)
            continue
        if isinstance(channel, PrintChannel):
            report = poll_print_returns(context.engine, channel, actor=f"{name}:returns")
            for problem in report.errors:
                log.warning("worker %s: %s return files: %s", context.worker_id, name, problem)
            read += len(report.files)
        elif isinstance(channel, EfakturaChannel) and channel.config.receipts_directory is not None:
            receipts = poll_efaktura_receipts(
                context.engine,
                channel.config.receipts_directory,
                default_channel=context.settings.default_channel,
                actor=f"{name}:receipts",
            )
            for problem in receipts.errors:
                log.warning("worker %s: %s receipt files: %s", context.worker_id, name, problem)
            read += len(receipts.files)
    return read


def read_digipost_events(context: WorkerContext, now: dt.datetime) -> int:
    """Read and apply each configured digipost channel's document events; how many events were read."""
    read = 0
    configured = context.settings.configured_channels()
    for name in context.settings.digipost_event_channels:
        if name not in configured or not context.wants(name):
            continue
        try:
            channel = context.channel(name)
        except (UnknownChannel, ChannelUnavailable, ValidationError) as error:
            log.warning("worker %s: cannot read %s document events: %s", context.worker_id, name, error)
            continue
        if isinstance(channel, DigipostChannel):
            report = poll_digipost_events(context.engine, channel, channel_name=name, now=now,
                                          actor=f"{name}:events")  # fmt: skip
            if report.error:
                log.warning("worker %s: %s document events: %s", context.worker_id, name, report.error)
            elif report.events:
                log.info("worker %s: %s document events: %d read, %d applied, %d noted, %d unlinked",
                         context.worker_id, name, report.events, report.applied, report.noted,
                         report.unlinked)  # fmt: skip
            read += report.events
    return read


def forget_console_history(context: WorkerContext, now: dt.datetime) -> int:
    """Old console sessions and failed sign-ins go (`forget_old_sign_ins`), and the portal's old sessions,
    spent links and link requests with them (`forget_old_portal_history`)."""
    with session_scope(context.engine) as session:
        return forget_old_sign_ins(session, now) + forget_old_portal_history(session, now)


def flag_overdue_acknowledgements(context: WorkerContext, now: dt.datetime) -> int:
    """EDI interchanges whose partner has not acknowledged them in time go to deviation."""
    flagged = flag_overdue(context.engine, now, actor=context.worker_id)
    if flagged:
        log.info("worker %s: %d EDI interchange(s) not acknowledged in time", context.worker_id, flagged)
    return flagged


def receive_remittances(context: WorkerContext, now: dt.datetime) -> int:
    """Read each tenant's remittance drop (`remittance_dir/<tenant>/`) and each bank SFTP folder, matching
    what each brought (`receive_drop_and_match`), then every payment still new (a busy or crashed run's, also
    one queued by `POST /remittances` whose run after the answer found the lease busy or failed); how many
    files and payments it handled."""
    settings, worker_id = context.settings, context.worker_id
    handled = 0
    root = settings.remittance_dir
    if root.is_dir():
        for tenant_dir in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
            handled += _take_remittance_drop(context, LocalDropFolder(tenant_dir), tenant_dir.name)
    handled += pull_remittance_sftp(context)
    for run in run_all(context.engine, holder=worker_id):
        log.info("worker %s: matching %s", worker_id, run.as_dict())
        handled += run.payments
    return handled


def _take_remittance_drop(context: WorkerContext, folder: DropFolder, tenant_id: str) -> int:
    """One tenant's drop folder received and matched; how many files and payments it handled."""
    worker_id = context.worker_id
    intake = receive_drop_and_match(
        context.engine, context.document_store, folder, tenant_id=tenant_id, actor=worker_id,
        max_bytes=context.settings.max_remittance_bytes, holder=worker_id,
        refused_quota_bytes=context.settings.refused_remittance_quota_bytes,
        limits=zip_limits(context.settings),
    )  # fmt: skip
    for item in intake.items:
        log.info("worker %s: remittance %s %s %s", worker_id, tenant_id, item.name,
                 item.outcome + (f" ({item.reason})" if item.reason else ""))  # fmt: skip
    matched = intake.matching.payments if intake.matching is not None else 0
    if intake.matching is not None:
        log.info("worker %s: matching %s", worker_id, intake.matching.as_dict())
    return len(intake.items) + matched


def pull_remittance_sftp(context: WorkerContext) -> int:
    """Pull each configured bank SFTP folder (`GATEWAY_REMITTANCE_SFTP_SOURCES`); a source that cannot
    be reached is logged and tried again next time (its files stay on the server until they are kept)."""
    settings, worker_id = context.settings, context.worker_id
    if settings.remittance_sftp_sources is None:
        return 0
    try:
        sources = load_sftp_sources(settings.remittance_sftp_sources)
    except ValueError as error:
        log.error("worker %s: remittance SFTP sources: %s", worker_id, error)
        return 0
    handled = 0
    for source in sources:
        try:
            with open_drop_folder(source.directory, source.sftp) as folder:
                handled += _take_remittance_drop(context, folder, source.tenant)
        except SftpError as error:
            log.warning("worker %s: remittance pull %s@%s: %s", worker_id, source.tenant,
                        source.sftp.host, error)  # fmt: skip
    return handled


def send_webhooks(context: WorkerContext, now: dt.datetime) -> int:
    """Send the due webhook events; how many were tried."""
    settings = context.settings
    report = send_due_events(
        context.engine,
        policy=webhook_policy(settings),
        timeout_seconds=settings.webhook_timeout_seconds,
        now=now,
        addresses=webhook_addresses(settings),
        ca_bundle=settings.webhook_ca_bundle,
    )
    if report.claimed:
        log.info("worker %s: webhooks %s", context.worker_id, report)
    return report.claimed


def run_follow_up_daily(context: WorkerContext, now: dt.datetime) -> int:
    """Each tenant with follow-up enabled gets its daily run once its day (Europe/Oslo) has begun; how
    many notices the runs wrote."""
    today = now.astimezone(TENANT_ZONE).date()
    reports = run_due_follow_ups(
        context.engine, today=today, actor=context.worker_id, settings=context.settings
    )
    for report in reports:
        log.info("worker %s: follow-up %s", context.worker_id, report.as_dict())
    return sum(report.notices for report in reports)


#: Every periodic task a worker runs, in the order it runs them after each delivery round.
PERIODIC_TASKS: tuple[PeriodicTask, ...] = (
    PeriodicTask("batches", "batch_poll_seconds", hand_over_batches),
    # side effects of a round: a draining worker does not go on for them; the first read of return
    # files waits one interval (a worker started for one round does not poll)
    PeriodicTask(
        "print-returns",
        "return_poll_seconds",
        read_print_returns,
        waits_first_interval=True,
        runs_when_draining=False,
        counts_as_work=False,
    ),
    PeriodicTask(
        "digipost-events",
        "digipost_events_poll_seconds",
        read_digipost_events,
        waits_first_interval=True,
        runs_when_draining=False,
        counts_as_work=False,
    ),
    PeriodicTask("ack-deadlines", "ack_check_seconds", flag_overdue_acknowledgements, counts_as_work=False),
    PeriodicTask("remittances", "remittance_poll_seconds", receive_remittances),
    PeriodicTask("webhooks", "webhook_poll_seconds", send_webhooks),
    PeriodicTask("followup", "followup_interval_seconds", run_follow_up_daily, counts_as_work=False),
    PeriodicTask(
        "console-history",
        "console_cleanup_seconds",
        forget_console_history,
        waits_first_interval=True,
        counts_as_work=False,
    ),
)
