"""Card payment advices through the remittance intake and matching, and the provider's payouts reconciled
against them on the bank statement, on SQLite and PostgreSQL.

Real parts: invoices pushed through the API, the card advice reader, intake (`receive_and_match`, source
"stripe" as the portal's webhook keeps an advice), the matching engine, camt.053 statements from the bank.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, select

from db.engine import session_scope
from db.models import CardPayout, LedgerLine, LedgerVoucher, PayerAlias, PayerObservation, PaymentRecord
from gateway.samples import kid_for, sample_invoice_json
from gateway.services.ledger.posting import post
from gateway.services.outbound.documents import document_store
from gateway.services.payments.intake import RemittanceUpload, receive_and_match
from gateway.services.payments.matching_runs import run_matching
from gateway.services.portal.payouts import (
    PayoutAnnouncement,
    PayoutRefused,
    list_payouts,
    record_payout,
    record_stripe_payout,
    stripe_payout,
)
from gateway.services.tenancy.tenants import put_tenant_settings, tenant_settings
from gateway.settings import Settings
from schemas.ledger import LedgerAccount
from tests.payment_scenarios import invoice, payment_status, receive
from tests.remittance_files import Tx, camt053, card_advice
from transports.payment_providers.stripe_payouts import StripeApiError

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


def test_one_checkout_for_invoices_of_two_buyers_pays_both_a_bank_lump_sum_does_not(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings
) -> None:
    """A portal customer may owe invoices made out to two buyers (one accounts-payable address for a
    group's companies) and pay both in one checkout: the advice names exactly what the gateway put in the
    checkout, so it applies across buyers. The same lines in a bank's file from an unknown payer do not:
    a lump sum over two customers is a person's call."""
    first, second = invoice(client, auth, 1), invoice(client, auth, 2)
    assert first["buyer_name"] != second["buyer_name"]
    lines = [
        (view["number"], view["payment_reference"], Decimal(view["payable_amount"]))
        for view in (first, second)
    ]
    answer = _advise(engine, settings, card_advice(lines, payment="pi_two_buyers"))
    (payment,) = answer["payments"]
    assert payment["status"] == "applied", payment
    for view in (first, second):
        assert payment_status(client, auth, view["id"])["payment_status"] == "paid"
    evidence = {item["kind"] for item in _payment(engine, payment["id"]).decision["proposal"]["evidence"]}  # type: ignore[index]
    assert "checkout" in evidence
    third, fourth = invoice(client, auth, 3), invoice(client, auth, 4)
    entry = Tx(
        Decimal(third["payable_amount"]) + Decimal(fourth["payable_amount"]),
        invoices=[third["number"], fourth["number"]],
        payer="Ukjent Betaler",
    )
    (bank,) = receive(client, auth, camt053([entry]), "camt053.xml").json()["payments"]
    assert bank["status"] != "applied", bank
    for view in (third, fourth):
        assert payment_status(client, auth, view["id"])["payment_status"] == "unpaid"


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
        category = "balanseverdiForOmloepsmiddel"
        tenant.ledger.accounts.append(
            LedgerAccount(number="1581", name="Stripe", grouping_category=category, grouping_code="1570")
        )
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


# --- Stripe: payout.paid and the payout's balance transactions from a loopback stand-in --------------------

SECRET = "sk_test_51Qstandin"


def _charge(number: int, amount: int, fee: int, intent: str) -> dict[str, Any]:
    """A balance transaction of a charge as Stripe lists it with `expand[]=data.source` (a Charge)."""
    return {
        "id": f"txn_{number:024d}", "object": "balance_transaction", "amount": amount, "fee": fee,
        "net": amount - fee, "currency": "nok", "type": "charge", "status": "available",
        "reporting_category": "charge", "available_on": 1795651200, "created": 1795305600,
        "fee_details": [{"amount": fee, "currency": "nok", "type": "stripe_fee", "description": "fees"}],
        "source": {"id": f"ch_{number:024d}", "object": "charge", "amount": amount, "currency": "nok",
                   "payment_intent": intent, "paid": True, "status": "succeeded"},
    }  # fmt: skip


class StripeStandIn:
    """`GET /v1/balance_transactions` as Stripe answers it: Bearer secret key, `payout`, `limit`,
    `starting_after`, `expand[]=data.source`; a list object with `has_more`; errors as Stripe's JSON."""

    def __init__(self, transactions: list[dict[str, Any]]) -> None:
        self.transactions = transactions
        self.requests: list[dict[str, list[str]]] = []

    def __enter__(self) -> str:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query)
                stand_in.requests.append(query)
                if self.headers.get("Authorization") != f"Bearer {SECRET}":
                    error = {"type": "invalid_request_error", "message": "Invalid API Key provided: sk_***"}
                    return self._answer(401, {"error": error})
                if url.path != "/v1/balance_transactions" or query.get("expand[]") != ["data.source"]:
                    return self._answer(404, {"error": {"message": "Unrecognized request URL"}})
                rows = stand_in.transactions if query.get("payout") == ["po_1QpAYOUT"] else []
                if "starting_after" in query:
                    ids = [row["id"] for row in rows]
                    rows = rows[ids.index(query["starting_after"][0]) + 1 :]
                limit = int(query.get("limit", ["10"])[0])
                self._answer(200, {"object": "list", "url": "/v1/balance_transactions",
                                   "has_more": len(rows) > limit, "data": rows[:limit]})  # fmt: skip

            def _answer(self, status: int, body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __exit__(self, *args: object) -> None:
        self.server.shutdown()
        self.server.server_close()


def _payout_paid(amount: int) -> dict[str, Any]:
    return {
        "id": "evt_1QpayoutPAID", "object": "event", "type": "payout.paid", "api_version": "2024-06-20",
        "created": 1795651200, "livemode": False,
        "data": {"object": {"id": "po_1QpAYOUT", "object": "payout", "amount": amount, "currency": "nok",
                            "arrival_date": 1795392000, "automatic": True, "status": "paid",
                            "balance_transaction": "txn_payout", "type": "bank_account"}},
    }  # fmt: skip


def test_a_stripe_payout_is_read_page_by_page_recorded_and_reconciled(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings
) -> None:
    (advice_id,) = _pay_both(client, auth, engine, settings)
    advice = _payment(engine, advice_id)
    gross_minor = int(Decimal(advice.amount) * 100)
    transactions = [_charge(1, gross_minor, 3512, advice.bank_reference or "")]
    transactions += [_charge(n, 100, 0, f"pi_unknown{n}") for n in range(2, 103)]  # 102 charges: two pages
    net = gross_minor - 3512 + 101 * 100
    transactions.append({"id": "txn_payout", "object": "balance_transaction", "amount": -net, "fee": 0,
                         "net": -net, "currency": "nok", "type": "payout", "source": {"id": "po_1QpAYOUT",
                         "object": "payout"}})  # fmt: skip
    stand_in = StripeStandIn(transactions)
    with stand_in as base:
        payout = record_stripe_payout(engine, "acme", _payout_paid(net), secret_key=SECRET, api_base=base)
        assert len(stand_in.requests) == 2 and stand_in.requests[1]["starting_after"] == [
            transactions[99]["id"]
        ]
        assert payout.payout_reference == "po_1QpAYOUT" and payout.amount == Decimal(net) / 100
        assert payout.fees == Decimal("35.12") and payout.gross == Decimal(gross_minor + 10100) / 100
        assert payout.payment_ids == [advice_id] and len(payout.unknown_payments) == 101
        assert payout.arrival_date == dt.date(2026, 11, 23)
        with pytest.raises(StripeApiError) as refused:
            record_stripe_payout(engine, "acme", _payout_paid(net), secret_key="sk_wrong", api_base=base)
        assert refused.value.status == 401 and "Invalid API Key" in refused.value.message
    entry = Tx(
        payout.amount, payer="Stripe Technology Europe Ltd", text="STRIPE po_1QpAYOUT", reference="NB-6001"
    )
    (bank,) = receive(client, auth, camt053([entry]), "camt053.xml").json()["payments"]
    assert bank["status"] == "reconciled"
    assert _payment(engine, bank["id"]).note == (
        f"payout po_1QpAYOUT of 1 card payment (gross {payout.gross} NOK, fees 35.12 NOK)"
    )


def test_a_stripe_payout_that_does_not_add_up_is_refused() -> None:
    event = _payout_paid(10000)
    with pytest.raises(PayoutRefused) as refused:
        stripe_payout(event, [_charge(1, 10000, 250, "pi_1")])
    assert refused.value.field == "balance_transactions"
    assert stripe_payout(event, [_charge(1, 10250, 250, "pi_1")]).provider_payments == ("pi_1",)
    with pytest.raises(PayoutRefused):
        stripe_payout({**event, "type": "payout.failed"}, [])


def test_a_checkout_advice_is_matched_against_its_own_invoices_only_and_other_payments_wait(
    client: TestClient, auth: dict[str, str], engine: Engine, settings: Settings
) -> None:
    """The webhook's matching run loads the invoices the checkout named, not every open item of the tenant,
    and decides the advice alone: another payment waiting stays `new` for the run that sees everything."""
    first, second = _two_invoices(client, auth)
    invoice(client, auth, 3)  # an open invoice the checkout does not name
    store = document_store(settings, engine)
    bank = receive_and_match(
        engine, store, [RemittanceUpload(camt053([Tx(Decimal("10.00"), payer="Ukjent")]), "camt053.xml")],
        tenant_id="acme", source="api", actor="api:test", match=False,
    ).file_answer()["payments"][0]  # fmt: skip
    lines = [(first["number"], first["payment_reference"], Decimal(first["payable_amount"]))]
    advice = receive_and_match(
        engine, store, [RemittanceUpload(card_advice(lines, payment="pi_only"), "advice.json")],
        tenant_id="acme", source="stripe", actor="provider:stripe", match=False,
    ).file_answer()["payments"][0]  # fmt: skip
    assert (bank["status"], advice["status"]) == ("new", "new")
    report = run_matching(engine, "acme", checkout=([advice["id"]], [first["id"], second["id"]]))
    assert (report.open_items, report.payments) == (2, 1)
    assert _payment(engine, advice["id"]).status == "applied"
    assert _payment(engine, bank["id"]).status == "new"
    assert payment_status(client, auth, first["id"])["payment_status"] == "paid"
