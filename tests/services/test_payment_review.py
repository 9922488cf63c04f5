"""The review side of payments (`gateway.services.payments.review`): queue counts, each choice's effect on
the invoices, previews that book nothing, and per-file outcomes, against real files and real matching."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.services.payments import matching_runs as payment_service
from gateway.services.payments import review
from tests.payment_scenarios import book_payments, payment_status


def test_queues_choices_and_previews(client: TestClient, auth: dict[str, Any], engine: Engine) -> None:
    booked = book_payments(client, auth)
    with session_scope(engine) as session:
        counts = review.count_by_status(session, "acme")
        assert sum(counts.values()) == 5 and counts["applied"] == 1
        queues = review.queue_counts(counts)
        assert queues["all"] == 5 and queues["matched"] == 1 and queues["exceptions"] == counts["exception"]

        twins = payment_service.get_payment(session, "acme", booked.payments["twins"]["id"])
        choices = review.choices_in_words(session, twins)
        assert [c["invoices"] for c in choices] == [["INV-000001"], ["INV-000101"]]
        [effect] = choices[1]["effects"]
        assert (effect.status_before, effect.status_after) == ("unpaid", "paid") and effect.open_after == 0
        assert any(e["stance"] == "against" and e["topic"] == "Doubt" for e in choices[0]["evidence"])
        assert all(not e["text"][0].islower() and e["text"].endswith(".") for e in choices[0]["evidence"])

        short = payment_service.get_payment(session, "acme", booked.payments["short"]["id"])
        [preview] = review.preview_allocations(
            session, short, [("INV-000002", Decimal(short.amount))], Decimal("12.50")
        )
        assert preview.status_after == "paid" and preview.write_off == Decimal("12.50")
        with pytest.raises(payment_service.ResolutionRefused) as refused:
            review.preview_allocations(session, short, [("INV-000002", Decimal("99999"))], Decimal(0))
        assert refused.value.field == "allocations"

        by_kid = payment_service.get_payment(session, "acme", booked.payments["by_kid"]["id"])
        [back] = review.reversal_effects(session, by_kid)
        assert back.status_before == "paid" and back.status_after == "unpaid"
        assert review.best_in_words(by_kid) == "Applied to INV-000003 by the matcher"

        outcomes = review.file_outcomes(session, "acme", [twins.file_id])[twins.file_id]
        assert outcomes["matched"] == 1
        assert outcomes["matched"] + outcomes["unmatched"] + outcomes["other"] == 5
        assert review.file_outcomes(session, "globex", [twins.file_id])[twins.file_id]["matched"] == 0
    # previews booked nothing
    assert payment_status(client, auth, "INV-000002")["payment_status"] == "unpaid"
    assert payment_status(client, auth, "INV-000003")["payment_status"] == "paid"
