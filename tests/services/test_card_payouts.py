"""Card payment advices through the remittance intake and matching, and the provider's payouts reconciled
against them on the bank statement, on SQLite and PostgreSQL.

Real parts: invoices pushed through the API, the card advice reader, intake (`receive_and_match`, source
"stripe" as the portal's webhook keeps an advice), the matching engine, camt.053 statements from the bank.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import CardPayout, LedgerLine, LedgerVoucher, PayerAlias, PayerObservation, PaymentRecord
from gateway.samples import kid_for, sample_invoice_json
from gateway.services.ledger.posting import post
from gateway.services.outbound.documents import document_store
from gateway.services.payments.intake import RemittanceUpload, receive_and_match
from gateway.services.portal.payouts import PayoutAnnouncement, PayoutRefused, list_payouts, record_payout
from gateway.services.tenancy.tenants import put_tenant_settings, tenant_settings
from gateway.settings import Settings
from schemas.ledger import LedgerAccount
from tests.payment_scenarios import invoice, payment_status, receive
from tests.remittance_files import Tx, camt053, card_advice

STRIPE_PAYER = "STRIPE PAYMENTS EUROPE LTD"


def _two_invoices(client: TestClient, auth: dict[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Two open invoices of one customer, each with its own KID."""
    means = sample_invoice_json(1)["payment_means"]
    means[0]["payment_id"] = kid_for(101)
    return invoice(client, auth, 1), invoice(client, auth, 1, number="INV-000101", payment_means=means)


def _advise(engine: Engine, settings: Settings, data: bytes, source: str = "stripe") -> dict[str, Any]:
    """An advice kept as the portal's webhook keeps it: `receive_and_match`, matched before the answer."""
    intake = receive_and_match(
        engine, document_store(settings, engine), [RemittanceUpload(data, f"{source}-advice.json")],
        tenant_id="acme", source=source, actor=f"provider:{source}",
    )  # fmt: skip
    return intake.file_answer()


def _payment(engine: Engine, payment_id: str) -> PaymentRecord:
    with session_scope(engine) as session:
        row = session.get(PaymentRecord, payment_id)
        assert row is not None
        session.expunge(row)
        return row


def _pay_both(client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings) -> list[str]:
    first, second = _two_invoices(client, auth)
    amounts = [Decimal(first["payable_amount"]), Decimal(second["payable_amount"])]
    data = card_advice(
        [(first["number"], first["payment_reference"], amounts[0]),
         (second["number"], second["payment_reference"], amounts[1])],
        payment="pi_both", payer="Kari Nordmann",
    )  # fmt: skip
    answer = _advise(engine, settings, data)
    assert answer["format"] == "card-advice" and answer["outcome"] == "accepted"
    (payment,) = answer["payments"]
    assert payment["status"] == "applied", payment
    for view in (first, second):
        assert payment_status(client, auth, view["id"])["payment_status"] == "paid"
    return [payment["id"]]


def test_an_advice_for_two_invoices_pays_both_and_teaches_nothing_of_the_card_holder(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings
) -> None:
    _pay_both(client, auth, engine, settings)
    with session_scope(engine) as session:
        assert session.execute(select(PayerAlias)).scalars().all() == []
        assert session.execute(select(PayerObservation)).scalars().all() == []


def test_the_same_provider_payment_twice_is_booked_once(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings
) -> None:
    (first_id,) = _pay_both(client, auth, engine, settings)
    first = _payment(engine, first_id)
    again = card_advice(
        [(line["invoice_number"], line["kid"], Decimal(line["amount"])) for line in first.data["lines"]],
        payment="pi_both", event="evt_other", paid_at=dt.datetime(2026, 11, 21, 9, 0, tzinfo=dt.UTC),
    )  # fmt: skip
    (payment,) = _advise(engine, settings, again)["payments"]
    assert payment["status"] == "duplicate"
    assert _payment(engine, payment["id"]).duplicate_of == first_id


def test_an_advice_for_an_invoice_already_paid_is_an_exception_never_dropped(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings
) -> None:
    paid = invoice(client, auth, 3)
    amount = Decimal(paid["payable_amount"])
    answer = receive(
        client, auth, camt053([Tx(amount, kid=paid["payment_reference"], payer="Fjordbyen Bygg AS")])
    )
    assert answer.json()["payments"][0]["status"] == "applied"
    late = card_advice([(paid["number"], paid["payment_reference"], amount)], payment="pi_late")
    (payment,) = _advise(engine, settings, late)["payments"]
    assert payment["status"] in ("exception", "needs_approval"), payment
    row = _payment(engine, payment["id"])
    assert row.status == "exception" or Decimal(row.unapplied or 0) == amount
    assert payment_status(client, auth, paid["id"])["payment_status"] == "paid"  # not overpaid by itself


def _announce(engine: Engine, payment_ids: list[str], **changes: Any) -> Any:
    rows = [_payment(engine, pid) for pid in payment_ids]
    gross = sum((Decimal(row.amount) for row in rows), Decimal(0))
    values: dict[str, Any] = {
        "provider": "stripe", "payout_reference": "po_1QpAYOUT", "amount": gross - Decimal("12.34"),
        "currency": "NOK", "arrival_date": dt.date(2026, 11, 23),
        "provider_payments": tuple(row.bank_reference or "" for row in rows), "fees": Decimal("12.34"),
    }  # fmt: skip
    values.update(changes)
    return record_payout(engine, "acme", PayoutAnnouncement(**values))


def test_a_payout_on_the_statement_is_reconciled_not_matched_again(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings
) -> None:
    advices = _pay_both(client, auth, engine, settings)
    payout = _announce(engine, advices)
    assert payout.status == "announced" and payout.payment_ids == advices and payout.unknown_payments == []
    entry = Tx(payout.amount, payer=STRIPE_PAYER, text="STRIPE PO_1QPAYOUT", reference="NB-2001")
    (payment,) = receive(client, auth, camt053([entry]), "camt053.xml").json()["payments"]
    assert payment["status"] == "reconciled", payment
    row = _payment(engine, payment["id"])
    assert row.note == f"payout po_1QpAYOUT of 1 card payment (gross {payout.gross} NOK, fees 12.34 NOK)"
    assert row.decision is not None and row.decision["payout"]["payout_reference"] == "po_1QpAYOUT"
    (stored,) = list_payouts(engine, "acme")
    assert (stored.status, stored.bank_payment_id) == ("reconciled", payment["id"])
    # the same payout announced again: the first record, nothing changed
    assert _announce(engine, advices).status == "reconciled"


def test_a_payout_entry_before_its_announcement_waits_then_is_reconciled(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings
) -> None:
    advices = _pay_both(client, auth, engine, settings)
    gross = Decimal(_payment(engine, advices[0]).amount)
    entry = Tx(gross - Decimal("12.34"), payer=STRIPE_PAYER, text="STRIPE", reference="NB-3001")
    (payment,) = receive(client, auth, camt053([entry]), "camt053.xml").json()["payments"]
    assert payment["status"] in ("exception", "needs_approval"), payment  # a lump sum: never applied
    assert _payment(engine, payment["id"]).applied_amount is None
    payout = _announce(engine, advices)
    assert payout.status == "reconciled" and payout.bank_payment_id == payment["id"]
    assert _payment(engine, payment["id"]).status == "reconciled"


def test_without_a_reference_only_one_payout_of_that_amount_near_its_date_is_taken(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings
) -> None:
    advices = _pay_both(client, auth, engine, settings)
    payout = _announce(engine, advices)
    _announce(engine, [], payout_reference="po_2QTWIN", amount=payout.amount, gross=payout.amount + 1,
              fees=Decimal(1), arrival_date=dt.date(2026, 12, 20))  # fmt: skip
    far = Tx(payout.amount, payer=STRIPE_PAYER, reference="NB-4001")
    (payment,) = receive(client, auth, camt053([far], day=dt.date(2026, 12, 1)), "far.xml").json()["payments"]
    assert (
        payment["status"] != "reconciled"
    )  # a week after its arrival date: not recognised without reference
    near = Tx(payout.amount, payer=STRIPE_PAYER, reference="NB-4002")
    (payment,) = receive(client, auth, camt053([near], message_id="S2"), "near.xml").json()["payments"]
    assert payment["status"] == "reconciled"
    # two announced payouts of the same amount: neither is guessed
    _announce(
        engine,
        [],
        payout_reference="po_3",
        amount=Decimal("500.00"),
        gross=Decimal("510.00"),
        fees=Decimal("10.00"),
    )
    _announce(
        engine,
        [],
        payout_reference="po_4",
        amount=Decimal("500.00"),
        gross=Decimal("505.00"),
        fees=Decimal("5.00"),
    )
    twin = Tx(Decimal("500.00"), payer=STRIPE_PAYER, reference="NB-4003")
    (payment,) = receive(client, auth, camt053([twin], message_id="S3"), "twin.xml").json()["payments"]
    assert payment["status"] != "reconciled"


def test_a_payout_that_does_not_add_up_is_refused(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings
) -> None:
    advices = _pay_both(client, auth, engine, settings)
    with pytest.raises(PayoutRefused) as refused:
        _announce(engine, advices, amount=Decimal("1.00"))
    assert refused.value.field == "amount"
    with session_scope(engine) as session:
        assert session.execute(select(CardPayout)).scalars().all() == []


def _lines(engine: Engine, source_key: str) -> list[tuple[str, Decimal]]:
    """A voucher's lines as (account, signed amount: debit positive)."""
    with session_scope(engine) as session:
        voucher = session.execute(
            select(LedgerVoucher).where(LedgerVoucher.source_key == source_key)  # type: ignore[arg-type]
        ).scalar_one()
        return [
            (line.account, Decimal(line.debit) - Decimal(line.credit))
            for line in session.execute(
                select(LedgerLine).where(LedgerLine.voucher_id == voucher.id)  # type: ignore[arg-type]
            ).scalars()
        ]


def test_the_ledger_posts_advices_to_clearing_and_the_payout_as_bank_and_fees(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings
) -> None:
    with session_scope(engine) as session:  # the clearing account is the tenant's setting
        tenant = tenant_settings(session, "acme")
        tenant.ledger.accounts.append(LedgerAccount(number="1581", name="Stripe", grouping_category="balanseverdiForOmloepsmiddel",
                                                    grouping_code="1570"))  # fmt: skip
        tenant.ledger.roles.card_clearing = "1581"
        put_tenant_settings(session, "acme", tenant, actor="test")
    (advice_id,) = _pay_both(client, auth, engine, settings)
    payout = _announce(engine, [advice_id])
    entry = Tx(payout.amount, payer=STRIPE_PAYER, text="po_1QpAYOUT", reference="NB-5001")
    (bank,) = receive(client, auth, camt053([entry]), "camt053.xml").json()["payments"]
    assert bank["status"] == "reconciled"
    post(engine, "acme", until=dt.date(2026, 12, 31), actor="test")
    advice = _lines(engine, f"payment:{advice_id}")
    assert advice[0] == ("1581", payout.gross) and {a for a, _ in advice[1:]} == {"1500"}
    assert _lines(engine, f"payment:{bank['id']}") == [
        ("1920", payout.amount), ("7770", Decimal("12.34")), ("1581", -payout.gross),
    ]  # fmt: skip
    with session_scope(engine) as session:
        balances: dict[str, Decimal] = {}
        for voucher in session.execute(select(LedgerVoucher)).scalars():
            amounts = [
                Decimal(line.debit) - Decimal(line.credit)
                for line in session.execute(
                    select(LedgerLine).where(LedgerLine.voucher_id == voucher.id)  # type: ignore[arg-type]
                ).scalars()
            ]
            assert sum(amounts, Decimal(0)) == 0, voucher.description
        for line in session.execute(select(LedgerLine)).scalars():
            balances[line.account] = (
                balances.get(line.account, Decimal(0)) + Decimal(line.debit) - Decimal(line.credit)
            )
    assert balances["1581"] == 0  # every card payment the payout bundles has reached the bank
