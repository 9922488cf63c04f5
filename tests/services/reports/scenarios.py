"""The receivables histories the report tests (services, API, command line, console) share, with the
figures worked out by hand in the docstrings."""

from __future__ import annotations

from sqlalchemy import Engine

from db.engine import session_scope
from tests.services.reports.factories import (
    allocate,
    at,
    delivery,
    dispute_credit,
    invoice,
    paid,
    payment,
)


def aging_history(engine: Engine) -> None:
    """As of 2026-11-30 (days past due in brackets):

    NOK
    - C-1 Alfa AS: I-1 1 000 due 10-15 (46), 400 paid 11-10 → 600 in 31–60; I-2 2 000 due 12-04 (not due),
      paid 12-05 (after the day: not counted) → 2 000 not due; I-6 issued 12-01: not yet there.
    - C-2 Beta AS: I-3 500 due 07-15 (138): 500 allocated 09-01 and reversed 11-20 (not counted), 100 + 20
      write-off allocated 08-01 and reversed 12-10 (still standing on the day) → 380 over 90;
      credit note CN-1 150 due 11-05 (25) → −150 in 1–30.
    - C-3 Gamma AS: I-4 800 due 09-20 (71), a dispute credited 300 on 11-26 with CN-2 (no allocation)
      → 500 in 61–90 and CN-2 used up (0); I-5 250 due 11-15 paid in full 11-16 → 0.
    NOK: not due 2 000, 1–30 −150, 31–60 600, 61–90 500, over 90 380; total 3 330; C-1 2 600, C-3 500,
    C-2 230.
    EUR: C-4 Delta GmbH E-2 300 due 08-31 (91: over 90); C-1 Alfa AS E-1 100 due 11-30 (0: not due).
    As of 2026-12-31: I-2 paid, the 120 given back on I-3 (500 over 90), the rest as before.
    """
    with session_scope(engine) as session:
        alfa, beta, gamma = {"name": "Alfa AS"}, {"name": "Beta AS", "customer": "C-2"}, {"name": "Gamma AS"}
        i1 = invoice(session, "I-1", "1000.00", "2026-10-01", "2026-10-15", **alfa)
        paid(session, i1, "400.00", "2026-11-10")
        i2 = invoice(session, "I-2", "2000.00", "2026-11-20", "2026-12-04", **alfa)
        paid(session, i2, "2000.00", "2026-12-05")
        invoice(session, "I-6", "999.00", "2026-12-01", "2026-12-15", **alfa)
        i3 = invoice(session, "I-3", "500.00", "2026-07-01", "2026-07-15", **beta)
        allocate(session, payment(session, "500.00", "2026-09-01"), i3, "500.00", at("2026-09-01"),
                 reversed_at=at("2026-11-20"))  # fmt: skip
        allocate(session, payment(session, "100.00", "2026-08-01"), i3, "100.00", at("2026-08-01"),
                 write_off="20.00", reversed_at=at("2026-12-10"))  # fmt: skip
        invoice(session, "CN-1", "150.00", "2026-11-05", "2026-11-05", credit_note=True, **beta)
        i4 = invoice(session, "I-4", "800.00", "2026-09-01", "2026-09-20", customer="C-3", **gamma)
        cn2 = invoice(session, "CN-2", "300.00", "2026-11-25", "2026-11-25", customer="C-3", credit_note=True,
                      **gamma)  # fmt: skip
        dispute_credit(session, i4, cn2, "300.00", at("2026-11-26"))
        i5 = invoice(session, "I-5", "250.00", "2026-11-01", "2026-11-15", customer="C-3", **gamma)
        paid(session, i5, "250.00", "2026-11-16")
        invoice(session, "E-1", "100.00", "2026-11-01", "2026-11-30", currency="EUR", **alfa)
        invoice(session, "E-2", "300.00", "2026-08-01", "2026-08-31", customer="C-4", name="Delta GmbH",
                currency="EUR")  # fmt: skip
        invoice(session, "X-1", "7777.00", "2026-10-01", "2026-10-15", tenant="globex")


def dso_history(engine: Engine) -> None:
    """NOK, C-1: A 3 000 issued 08-10 due 09-09, paid 09-20; B 6 000 issued 09-05 due 10-05, 2 000 paid
    10-15 and 4 000 paid 11-10. C-2: C 3 100 issued 10-10 due 11-09, 1 000 paid 11-30; D 3 000 issued 11-20
    due 12-20; credit note CN 300 issued 11-25 due 11-25.

    Sales: Aug 3 000, Sep 6 000, Oct 3 100, Nov 2 700. Receivables (current) at the month's end: Aug 3 000;
    Sep 6 000 (6 000); Oct 7 100 (3 100); Nov 2 100 + 3 000 − 300 = 4 800 (3 000).
    Count-back: Sep 6 000 of Sep's 6 000 → 30.0; Oct 7 100 − 3 100 → 31 d + 4 000/6 000 × 30 = 51.0;
    Nov 4 800 − 2 700 → 30 d + 2 100/3 100 × 31 = 51.0.
    Best possible: Sep 6 000 × 30 / 6 000 = 30.0; Oct 3 100 × 31 / 3 100 = 31.0;
    Nov 3 000 × 30 / 2 700 = 33.3.
    CEI: Sep (3 000 + 6 000 − 6 000) / (3 000 + 6 000 − 6 000) = 100.0; Oct (6 000 + 3 100 − 7 100) /
    (9 100 − 3 100) = 33.3; Nov (7 100 + 2 700 − 4 800) / (9 800 − 3 000) = 73.5.
    Days late (Sep–Nov): C-1 (11 × 3 000 + 10 × 2 000 + 36 × 4 000) / 9 000 = 21.9; C-2 21 × 1 000 / 1 000
    = 21.0.
    """
    with session_scope(engine) as session:
        a = invoice(session, "A", "3000.00", "2026-08-10", "2026-09-09")
        paid(session, a, "3000.00", "2026-09-20")
        b = invoice(session, "B", "6000.00", "2026-09-05", "2026-10-05")
        paid(session, b, "2000.00", "2026-10-15")
        paid(session, b, "4000.00", "2026-11-10")
        c = invoice(session, "C", "3100.00", "2026-10-10", "2026-11-09", customer="C-2")
        paid(session, c, "1000.00", "2026-11-30")
        invoice(session, "D", "3000.00", "2026-11-20", "2026-12-20", customer="C-2")
        invoice(session, "CN", "300.00", "2026-11-25", "2026-11-25", customer="C-2", credit_note=True)


def delivery_history(engine: Engine) -> None:
    """November 2026: email 4 deliveries (delivered after 60, 120 and 600 s; one failed), 3 deviations (two
    on one delivery): rate 75.0 %, median 120 s, p90 600 s; peppol 2 (one delivered after 30 s, a second
    `delivered` event later does not count; one queued). Outside: one created 10-31, another tenant's."""
    with session_scope(engine) as session:
        start = at("2026-11-01", "10:00")
        delivery(session, "email", start, "delivered", delivered_after=[60])
        delivery(session, "email", start, "delivered", delivered_after=[120], deviations=2)
        delivery(session, "email", start, "delivered", delivered_after=[600])
        delivery(session, "email", start, "failed", deviations=1)
        delivery(session, "peppol", at("2026-11-30", "23:59"), "delivered", delivered_after=[30, 900])
        delivery(session, "peppol", start, "queued")
        delivery(session, "email", at("2026-10-31", "23:59"), "delivered", delivered_after=[5], deviations=1)
        delivery(session, "email", start, "failed", tenant="globex")
