"""`gateway worker --dry-run`: what would be sent goes to the dry-run folder; the outbox stays as it was.

The outbox is compared row by row, every column of every table (statuses, events, attempts, leases,
documents, batches, deviations), before and after a dry run through the worker, typer's runner and a
`gateway` process whose output is read from a pipe.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, Table, select, text, update
from sqlmodel import SQLModel, col
from typer.testing import CliRunner

import db.models  # noqa: F401  (every table in the metadata)
from db.engine import session_scope
from db.models import Delivery, utcnow
from gateway.cli import app as cli_app
from gateway.samples import sample_invoice_json
from gateway.services.outbound import deliveries as service
from gateway.settings import Settings
from gateway.worker import Worker
from gateway.worker.dry_run import NOT_WRITTEN, REFUSED, WRITTEN, DryRun
from tests.worker.test_worker import _accept, archive_channel  # noqa: F401  (fixture)

Dump = dict[str, list[tuple[Any, ...]]]


def _table_rows(engine: Engine, table: Table) -> list[tuple[Any, ...]]:
    order = list(table.primary_key.columns)
    with engine.connect() as connection:
        rows = connection.execute(select(table).order_by(*order)).all()
    return [tuple(row) for row in rows]


def outbox_dump(engine: Engine) -> Dump:
    """Every row of every table, every column, in primary-key order, and the schema revision."""
    dump = {table.name: _table_rows(engine, table) for table in SQLModel.metadata.sorted_tables}
    with engine.connect() as connection:
        dump["alembic_version"] = [
            tuple(r) for r in connection.execute(text("SELECT * FROM alembic_version"))
        ]
    return dump


@pytest.fixture
def queue(engine: Engine, settings: Settings, archive_channel: str, tmp_path: Path) -> dict[str, str]:  # noqa: F811
    """An outbox with history: one invoice delivered, then four queued — one per channel (folder and a
    real archive folder), one that cannot render, one not due yet. Their invoice ids by role."""
    settings.channels = {archive_channel: {"directory": str(tmp_path / "real-archive")}}
    [delivered] = _accept(engine, [sample_invoice_json(9)])
    assert Worker(engine, settings, worker_id="real").run(once=True).outcomes == {"delivered": 1}
    to_archive = sample_invoice_json(2)
    to_archive["routing"] = {"channel": archive_channel}
    unrenderable = sample_invoice_json(3)
    unrenderable["routing"] = {"format": "canonical-jsn"}
    folder, archive, broken, later = _accept(
        engine, [sample_invoice_json(1), to_archive, unrenderable, sample_invoice_json(4)]
    )
    with session_scope(engine) as session:
        session.execute(
            update(Delivery)
            .where(col(Delivery.invoice_id) == later)
            .values(next_attempt_at=utcnow() + dt.timedelta(hours=2))
        )
    return {"delivered": delivered, "folder": folder, "archive": archive, "broken": broken, "later": later}


def _dry_run_files(settings: Settings) -> list[str]:
    root = settings.data_dir / "dry-run"
    return sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())


def _check_dry_run_wrote_the_due_documents(settings: Settings, archive: str, tmp_path: Path) -> None:
    files = _dry_run_files(settings)
    assert [f for f in files if f.startswith("folder/acme/INV-000001__") and f.endswith(".json")]
    assert [f for f in files if f.startswith(f"{archive}/acme/INV-000002__")]
    assert not [f for f in files if "INV-000003" in f or "INV-000004" in f or "INV-000009" in f]
    assert not (tmp_path / "real-archive").exists()  # the real channel was never used


def _statuses(engine: Engine) -> list[str]:
    with session_scope(engine) as session:
        return sorted(d["status"] for d in service.list_deliveries(session, "acme"))


def test_a_dry_run_writes_what_is_due_and_changes_nothing_in_the_outbox(
    engine: Engine,
    settings: Settings,
    queue: dict[str, str],
    archive_channel: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    before = outbox_dump(engine)
    assert _statuses(engine) == ["delivered", "queued", "queued", "queued", "queued"]
    dry = settings.model_copy(update={"dry_run": True})
    worker = Worker(engine, dry, worker_id="dry")
    stats = worker.run()  # without --once too: one pass, then it returns
    assert stats.claimed == 0
    assert stats.outcomes == {WRITTEN: 2, REFUSED: 1}
    assert outbox_dump(engine) == before
    _check_dry_run_wrote_the_due_documents(settings, archive_channel, tmp_path)

    rehearsals = DryRun(worker.context, worker.deliveries).run()
    refused = next(r for r in rehearsals if r.outcome == REFUSED)
    assert refused.channel == "folder" and "unknown format 'canonical-jsn'" in refused.detail
    assert {r.outcome for r in rehearsals} == {WRITTEN, REFUSED} and NOT_WRITTEN not in stats.outcomes
    assert outbox_dump(engine) == before

    # A real worker afterwards sends exactly what the dry run showed.
    real = Worker(engine, settings, worker_id="real").run(once=True)
    assert real.outcomes == {"delivered": 2, "deviation": 1}


def test_a_dry_run_needs_dry_run_settings(engine: Engine, settings: Settings) -> None:
    worker = Worker(engine, settings)
    with pytest.raises(ValueError, match="dry_run"):
        DryRun(worker.context, worker.deliveries)


def test_cli_worker_dry_run_through_the_runner_and_a_process(
    engine: Engine,
    settings: Settings,
    queue: dict[str, str],
    archive_channel: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    before = outbox_dump(engine)
    result = CliRunner().invoke(cli_app, ["worker", "--dry-run", "--once"], obj=settings)
    assert result.exit_code == 0, result.output
    assert "'written (dry run)': 2" in result.output and "'would deviate (dry run)': 1" in result.output
    assert outbox_dump(engine) == before
    _check_dry_run_wrote_the_due_documents(settings, archive_channel, tmp_path)

    # The same as a process, its output read from a pipe; the settings come from the environment, and
    # the archive channel is registered as a plugin would be.
    shutil.rmtree(settings.data_dir / "dry-run")
    environment = {
        **os.environ,
        "GATEWAY_DATABASE_URL": settings.database,
        "GATEWAY_DATA_DIR": str(settings.data_dir),
        "GATEWAY_CHANNELS": json.dumps(settings.channels),
    }
    program = (
        "import channels; channels.register('archive', 'channels.folder:FolderChannel'); "
        "from gateway.cli import main; main()"
    )
    process = subprocess.run(
        [sys.executable, "-c", program, "worker", "--dry-run"],
        env=environment,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    assert "written (dry run)" in process.stdout
    assert outbox_dump(engine) == before
    _check_dry_run_wrote_the_due_documents(settings, archive_channel, tmp_path)
