"""The safe operations of issue 14 through the installed `gateway` executable, its output read from a pipe:
an address its channel cannot take, a correction that resends the e-mail and cancels the waiting letter,
the deviation that letter covered, and a DSN for another recipient found only by invoice number.
(`gateway worker --dry-run` as a process: tests/worker/test_dry_run.py.)"""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import Engine

from gateway.samples import sample_invoice_json
from gateway.settings import Settings
from outbox.states import DeliveryStatus as S
from tests.cli.test_pipe import _run
from tests.outbox_helpers import delivery_row
from tests.services import test_bounces
from tests.services.test_safe_resend import RIGHT, bounced, scene  # noqa: F401  (fixture)


def test_safe_operations_through_a_pipe(
    engine: Engine,
    scene: Settings,  # noqa: F811
    tmp_path: Path,
) -> None:
    channels = json.dumps(scene.channels)
    test_bounces._email_delivery(engine, "INV-1002", n=2)  # sent to kunde@ok.test
    invoice_id, email_id, letter_id = bounced(engine, scene, 1, "batched")

    bad = tmp_path / "bad.json"
    invoice = sample_invoice_json(7)
    invoice["routing"] = {"channel": "email", "address": "regnskap(at)kunde.no"}
    bad.write_text(json.dumps(invoice))
    sent = _run(scene, "send", str(bad), GATEWAY_CHANNELS=channels)
    assert sent.returncode == 2, sent.stdout + sent.stderr
    [row] = [line.split("\t") for line in sent.stdout.splitlines()]
    assert row[2] == "rejected" and "routing.address" in row[-1] and "is not an e-mail address" in row[-1]

    corrected = _run(
        scene,
        "correct",
        invoice_id,
        "--reason",
        "bounce: the customer gave a new address",
        "--email",
        RIGHT,
        "--resend",
        "--cancel-others",
        GATEWAY_CHANNELS=channels,
    )
    assert corrected.returncode == 0, corrected.stdout + corrected.stderr
    lines = corrected.stdout.splitlines()
    assert f"delivery {email_id} via email to {RIGHT}: queued again (attempt 2)" in lines
    assert f"warning: delivery {letter_id} via print was batched in an open print batch: cancelled" in lines
    assert delivery_row(engine, letter_id).status == S.CANCELLED

    covered = _run(scene, "deviations", "--state", "covered", "--json", GATEWAY_CHANNELS=channels)
    assert covered.returncode == 0, covered.stderr
    [item] = json.loads(covered.stdout)["items"]
    assert (item["delivery_id"], item["status"]) == (email_id, "covered")
    assert item["covered_by"] == {"delivery_id": letter_id, "channel": "print", "status": "cancelled"}

    dsn = tmp_path / "dsn.eml"
    dsn.write_bytes(test_bounces._sample("INV-1002", "failed"))  # reports full@ok.test, ukjent@ok.test
    bounces = _run(scene, "bounces", str(dsn), GATEWAY_CHANNELS=channels)
    assert bounces.returncode == 0, bounces.stdout + bounces.stderr
    [row] = [line.split("\t") for line in bounces.stdout.splitlines()]
    assert "invoice-number" in row and row[-1].endswith("recorded, not applied")
