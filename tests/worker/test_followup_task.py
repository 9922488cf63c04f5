"""The worker's `followup` task: each tenant with follow-up enabled gets one run per day (Europe/Oslo),
a tenant without it none; a second pass the same day runs nothing again."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import FollowUpRun
from gateway.services.tenancy.tenants import put_tenant_settings
from gateway.settings import Settings
from gateway.worker import WorkerContext
from gateway.worker.tasks import run_follow_up_daily
from schemas.followup import FollowUpSettings
from schemas.tenant import TenantSettings


def test_one_run_per_enabled_tenant_per_day(engine: Engine, settings: Settings) -> None:
    with session_scope(engine) as session:
        enabled = TenantSettings(follow_up=FollowUpSettings(enabled=True))
        put_tenant_settings(session, "acme", enabled, actor="test")
        put_tenant_settings(session, "globex", TenantSettings(), actor="test")
    context = WorkerContext(engine, settings, worker_id="w1")
    # 23:30 UTC on 30 November is already 1 December in Oslo
    late = dt.datetime(2026, 11, 30, 23, 30, tzinfo=dt.UTC)
    run_follow_up_daily(context, late)
    run_follow_up_daily(context, late + dt.timedelta(minutes=20))
    run_follow_up_daily(context, late + dt.timedelta(days=1))
    with session_scope(engine) as session:
        runs = [
            (run.tenant_id, run.run_on, run.actor) for run in session.execute(select(FollowUpRun)).scalars()
        ]
    assert sorted(runs) == [("acme", dt.date(2026, 12, 1), "w1"), ("acme", dt.date(2026, 12, 2), "w1")]
