"""The journal over random NOK months: every voucher balances, the journal balances in total, each
customer's receivables equal its open invoices less its open credit notes plus the notice charges posted,
and customer prepayments equal what the posted payments left unapplied.

A month is a timeline: invoices and credit notes through the real intake, payments as intake writes them,
applications (whole, partial, over, written off, netting a credit note) and reversals through the real
payment services, notices sent and some coming back. It is played day by day with posting runs between
(so allocations made after their payment was posted, reversals after posting and notices failing after
posting all occur), then the month is posted to its end.
"""

from __future__ import annotations

import datetime as dt
import itertools
from decimal import Decimal
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import Engine, select
from sqlmodel import col

from db.engine import session_scope
from db.models import InvoiceRecord, PaymentAllocation, PaymentRecord, ReminderNotice
from gateway.services.ledger import journal
from gateway.services.ledger.posting import post
from tests.services.ledger import factories as f

ORGS = ["910667831", "923609016", "974760673"]
RATES = [("S", "25"), ("S", "15"), ("S", "12"), ("Z", "0")]
_tenants = itertools.count(1)


def day(n: int) -> dt.date:
    return dt.date(2026, 11, n)


cents = st.integers(min_value=100, max_value=2_000_000).map(lambda c: Decimal(c) / 100)
invoices = st.lists(
    st.tuples(st.integers(0, 2), cents, st.sampled_from(RATES), st.integers(1, 20)), min_size=1, max_size=5
)
credit_notes = st.lists(st.tuples(st.integers(0, 2), cents, st.integers(1, 20)), min_size=0, max_size=2)
payments = st.lists(
    st.fixed_dictionaries(
        {
            "share": st.sampled_from(["exact", "partial", "over", "none", "write_off"]),
            "target": st.integers(0, 4),
            "extra": st.integers(1, 50_000).map(lambda c: Decimal(c) / 100),
            "day": st.integers(1, 25),
            "apply_after": st.integers(0, 4),
            "reverse_after": st.none() | st.integers(0, 5),
            "net_credit_note": st.booleans(),
        }
    ),
    max_size=5,
)
notices = st.lists(
    st.tuples(
        st.integers(0, 2),
        st.sampled_from(["0", "35.00", "70.00"]),
        st.sampled_from(["0", "12.34", "0.50"]),
        st.integers(1, 25),
        st.none() | st.integers(0, 4),
    ),
    max_size=3,
)
cutoffs = st.lists(st.integers(1, 29), max_size=3, unique=True)


def _payable(lines: tuple[str, str], net: Decimal) -> Decimal:
    rate = Decimal(lines[1])
    return net + (net * rate / 100).quantize(Decimal("0.01"))


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(invoices, credit_notes, payments, notices, cutoffs)
def test_random_months_balance_and_match_the_open_amounts(
    engine: Engine,
    invoice_specs: list[Any],
    credit_specs: list[Any],
    payment_specs: list[dict[str, Any]],
    notice_specs: list[Any],
    cutoff_days: list[int],
) -> None:
    tenant = f"prop{next(_tenants)}"
    ops: list[tuple[int, int, Any]] = []  # (day, order within the day, action)
    made: dict[str, Any] = {}

    for index, (org, net, vat, on) in enumerate(invoice_specs):

        def make_invoice(
            index: int = index, org: int = org, net: Decimal = net, vat: Any = vat, on: int = on
        ) -> None:
            made[f"i{index}"] = f.invoice(
                engine, tenant, lines=[(vat[0], vat[1], str(net))], org=ORGS[org], issue_date=day(on)
            )

        ops.append((on, 0, make_invoice))
    for index, (org, net, on) in enumerate(credit_specs):

        def make_note(index: int = index, org: int = org, net: Decimal = net, on: int = on) -> None:
            made[f"c{index}"] = f.invoice(
                engine,
                tenant,
                lines=[("S", "25", str(net))],
                org=ORGS[org],
                issue_date=day(on),
                credit_note=True,
            )

        ops.append((on, 1, make_note))
    for index, spec in enumerate(payment_specs):
        target = spec["target"] % len(invoice_specs)
        org, net, vat, issued = invoice_specs[target]
        payable = _payable(vat, net)
        note = next(
            (
                (n, _payable(("S", "25"), c_net), c_on)
                for n, (c_org, c_net, c_on) in enumerate(credit_specs)
                if c_org == org and _payable(("S", "25"), c_net) < payable
            ),
            None,
        )
        share = spec["share"]
        owed = payable - (note[1] if note and spec["net_credit_note"] else Decimal(0))
        amount = {
            "exact": owed,
            "partial": max(Decimal("0.01"), owed - spec["extra"]),
            "over": owed + spec["extra"],
            "none": spec["extra"],
            "write_off": max(Decimal("0.01"), owed - min(spec["extra"], Decimal("50.00"))),
        }[share]
        paid_on = max(spec["day"], issued)
        apply_on = min(29, paid_on + spec["apply_after"])
        if note is not None and spec["net_credit_note"]:
            apply_on = max(apply_on, note[2])

        def make_payment(index: int = index, amount: Decimal = amount, paid_on: int = paid_on) -> None:
            made[f"p{index}"] = f.payment(engine, str(amount), tenant_id=tenant, booking_date=day(paid_on))

        ops.append((paid_on, 2, make_payment))
        if share == "none":
            continue
        applied = min(amount, owed) if share != "over" else owed
        write_off = owed - amount if share == "write_off" else Decimal(0)

        def make_application(
            index: int = index,
            target: int = target,
            applied: Decimal = applied,
            write_off: Decimal = write_off,
            note: Any = note if spec["net_credit_note"] else None,
            on: int = apply_on,
        ) -> None:
            allocations = [(made[f"i{target}"].id, str(applied + (note[1] if note else 0)))]
            if note is not None:
                allocations.append((made[f"c{note[0]}"].id, str(note[1])))
            f.apply(
                engine,
                made[f"p{index}"].id,
                allocations,
                at=day(on),
                write_off=str(write_off),
                tenant_id=tenant,
            )

        ops.append((apply_on, 3, make_application))
        if spec["reverse_after"] is not None:
            reverse_on = min(29, apply_on + spec["reverse_after"])

            def make_reversal(index: int = index, on: int = reverse_on) -> None:
                f.reverse(engine, made[f"p{index}"].id, at=day(on), tenant_id=tenant)

            ops.append((reverse_on, 4, make_reversal))
    for index, (org, fee, interest, on, fail_after) in enumerate(notice_specs):

        def make_notice(
            index: int = index, org: int = org, fee: str = fee, interest: str = interest, on: int = on
        ) -> None:
            made[f"n{index}"] = f.notice(
                engine, org=ORGS[org], fee=fee, interest=interest, on=day(on), tenant_id=tenant
            )

        ops.append((on, 5, make_notice))
        if fail_after is not None:
            fail_on = min(29, on + fail_after)

            def make_failure(index: int = index, on: int = fail_on) -> None:
                f.fail_notice(engine, made[f"n{index}"].id, at=day(on))

            ops.append((fail_on, 6, make_failure))

    ops.sort(key=lambda op: (op[0], op[1]))
    pending = list(ops)
    for cutoff in [*sorted(cutoff_days), 30]:
        while pending and pending[0][0] <= cutoff:
            pending.pop(0)[2]()
        post(engine, tenant, until=day(cutoff), actor="test")
    assert not pending
    assert post(engine, tenant, until=day(30), actor="test").vouchers == 0  # posting again: nothing new

    with session_scope(engine) as session:
        vouchers = list(journal.iter_vouchers(session, tenant))
        for voucher in vouchers:
            assert voucher.debit_total == voucher.credit_total, voucher
            assert all((line.debit == 0) != (line.credit == 0) for line in voucher.lines), voucher
        assert [v.number for v in vouchers] == list(range(1, len(vouchers) + 1))
        balances = journal.account_balances(session, tenant, day(30) + dt.timedelta(days=1))
        assert sum(balances.values(), Decimal(0)) == 0
        customers = journal.customer_balances(session, tenant, day(30) + dt.timedelta(days=1))

        expected: dict[str, Decimal] = {}
        for record in session.execute(
            select(InvoiceRecord).where(col(InvoiceRecord.tenant_id) == tenant)
        ).scalars():
            open_amount = Decimal(
                record.open_amount if record.open_amount is not None else record.payable_amount
            )
            sign = -1 if record.document_type == "credit_note" else 1
            key = record.customer_key or ""
            expected[key] = expected.get(key, Decimal(0)) + sign * open_amount
        for notice in session.execute(
            select(ReminderNotice).where(col(ReminderNotice.tenant_id) == tenant)
        ).scalars():
            if notice.status == "sent":
                key = notice.customer_key
                expected[key] = expected.get(key, Decimal(0)) + Decimal(notice.fee) + Decimal(notice.interest)
        assert {k: v for k, v in customers.items() if v} == {k: v for k, v in expected.items() if v}
        assert balances.get("1500", Decimal(0)) == sum(expected.values(), Decimal(0))

        unapplied = Decimal(0)
        for payment in session.execute(
            select(PaymentRecord).where(col(PaymentRecord.tenant_id) == tenant)
        ).scalars():
            active = session.execute(
                select(PaymentAllocation).where(
                    col(PaymentAllocation.payment_id) == payment.id,
                    col(PaymentAllocation.reversed_at).is_(None),
                )
            ).scalars()
            net = Decimal(0)
            for allocation in active:
                document = session.get(InvoiceRecord, allocation.invoice_id)
                assert document is not None
                net += Decimal(allocation.amount) * (-1 if document.document_type == "credit_note" else 1)
            unapplied += Decimal(payment.amount) - net
        assert -balances.get("2900", Decimal(0)) == unapplied
        assert balances.get("1920", Decimal(0)) == sum(
            (Decimal(p.amount) for p in session.execute(
                select(PaymentRecord).where(col(PaymentRecord.tenant_id) == tenant)
            ).scalars()),
            Decimal(0),
        )  # fmt: skip
