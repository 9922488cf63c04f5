"""Issue 19's acceptance: a year of receivables follow-up walked day by day with a fixed clock, through the
public surface only, on SQLite and PostgreSQL.

Every day of the walk is one `POST /followup/run {"date": day}` (what the worker's daily task does on its
own day), and the worker then delivers what the run queued. Around the runs, what an ERP, a bank and a
person do on that day: invoices posted, a camt.054 with a KID through `POST /remittances`, disputes and
promises over the API, a credit approved on the host with `gateway disputes approve ID --as NAME`.

The walk's clock: a run takes its day as a parameter, but opening and resolving a dispute and recording a
promise take the moment from the wall clock (an ERP does them "now"). The `clock` fixture sets that moment to
the walk's day for those routes and the disputes command, nothing else. The worker runs without its own
`followup` task: that one would run the real today in the middle of the walk.

Invoices (one receiver profile each, so no two are grouped into one notice):

- A (business, folder): nudge → reminder → reminder → payment demand, fees 35 / 35 / 105 at the rate of
  700, a partial payment between the reminders, each deadline 14 days on, interest and the B2B
  compensation stated, PDFs written to the folder by the worker.
- B (priority, folder): a hasty second level counted from the due date comes before the first deadline:
  refused with NO-FEE-SEQUENCE until the deadline has passed.
- C (business, folder): a dispute pauses follow-up, its rejection resumes it with the days paused added.
- D (business, folder): a credited dispute: proposed over the API, approved by another person on the host,
  the credit note delivered by the worker, the invoice closed, no notice after.
- E (business, folder): due 1 June; the interest rate changes on 1 July: notices before use the old rate
  only, the one spanning 1 July the new rate for the days from it (computed here from the formula).
- F (business, PEPPOL with a folder transport): its notices go as EHF Reminder; every one passes XSD and
  the three reminder rule sets.
- H (business, folder): a promise to pay breaks: the next run resumes at the next level and counts it for
  the customer.
- G (credit limit): held at intake with the reason, released by a person, delivered.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from typer.testing import CliRunner

import gateway.api.routes.disputes as dispute_routes
import gateway.api.routes.promises as promise_routes
import gateway.cli.disputes as dispute_commands
from gateway.cli import app as cli_app
from gateway.samples import sample_invoice_json
from gateway.services.validation import get_validator
from gateway.settings import Settings
from gateway.worker import Worker
from gateway.worker.tasks import PERIODIC_TASKS
from mappings.print.printability import check_printable
from mappings.sbdh import unwrap_sbdh
from tests.conftest import SHARED
from tests.remittance_files import Tx, camt054

Auth = dict[str, str]
OSLO = ZoneInfo("Europe/Oslo")
RULES = SHARED / "validation"
REMINDER_TYPE = (
    "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2::Invoice##urn:cen.eu:en16931:2017#compliant"
    "#urn:fdc:peppol.eu:2017:poacc:billing:3.0#conformant#urn:fdc:anskaffelser.no:2019:ehf:reminder:3.0::2.1"
)
OLD_RATE, NEW_RATE = Decimal("12.50"), Decimal("12.00")
COMPENSATION = Decimal("470.00")
LEVELS: list[dict[str, Any]] = [
    {"level": 0, "kind": "nudge", "delay_days": -3},
    {"level": 1, "kind": "reminder", "delay_days": 14},
    {"level": 2, "kind": "reminder", "delay_days": 0, "delay_from": "previous_notice"},
    {"level": 3, "kind": "payment_demand", "delay_days": 0, "delay_from": "previous_notice",
     "approval_required": True},
]  # fmt: skip
FOLLOW_UP: dict[str, Any] = {
    "enabled": True,
    "strategies": [
        {"segment": "business", "levels": LEVELS},
        {
            "segment": "priority",  # a hasty second level counted from the due date
            "levels": [
                {"level": 1, "kind": "reminder", "delay_days": 14},
                {"level": 2, "kind": "reminder", "delay_days": 20},
            ],
        },
    ],
    "collection_rates": [{"effective_from": "2015-01-01", "collection_rate": "700"}],
    "interest_rates": [
        {"effective_from": "2026-01-01", "rate_percent": str(OLD_RATE), "fixed_compensation": "470"},
        {"effective_from": "2026-07-01", "rate_percent": str(NEW_RATE), "fixed_compensation": "470"},
    ],
}
FIRST_DAY, LAST_DAY = dt.date(2026, 1, 1), dt.date(2026, 10, 15)
CENT = Decimal("0.01")


def exact_interest(amount: Decimal, due: dt.date, on: dt.date) -> Decimal:
    """Late-payment interest as the law says it, written out here and not asked of the engine: for each
    period of one rate, outstanding × rate/100 × days/365, from the due date up to the notice date, unrounded
    (rounded once, at the end, by the caller)."""
    old_days = max(0, (min(on, dt.date(2026, 7, 1)) - due).days)
    new_days = max(0, (on - max(due, dt.date(2026, 7, 1))).days)
    return amount * OLD_RATE / 100 * old_days / 365 + amount * NEW_RATE / 100 * new_days / 365


def interest(amount: Decimal, due: dt.date, on: dt.date) -> Decimal:
    """`exact_interest` as stated to the customer: rounded half-up to øre."""
    return exact_interest(amount, due, on).quantize(CENT, rounding=ROUND_HALF_UP)


# --- the clock, the host, the worker ------------------------------------------------------------------------


@dataclass
class Clock:
    """The moment the dispute and promise routes (and the disputes command) take as now."""

    day: dt.date = FIRST_DAY

    def now(self) -> dt.datetime:
        return dt.datetime.combine(self.day, dt.time(9, 0), tzinfo=OSLO).astimezone(dt.UTC)


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    walk = Clock()
    monkeypatch.setattr(dispute_routes, "utcnow", walk.now)
    monkeypatch.setattr(promise_routes, "utcnow", walk.now)
    monkeypatch.setattr(dispute_commands, "_now", walk.now)
    return walk


@pytest.fixture
def host(monkeypatch: pytest.MonkeyPatch, settings: Settings, tmp_path: Path) -> Settings:
    """One configuration for the API, the worker and the command line, as on a host: the official
    validation artefacts, PEPPOL through a folder transport."""
    settings.rules_dir = RULES
    settings.channels = {"peppol": {"folder": {"directory": str(tmp_path / "ap"), "fsync": False}}}
    monkeypatch.setenv("GATEWAY_DATABASE_URL", settings.database)
    monkeypatch.setenv("GATEWAY_DATA_DIR", str(settings.data_dir))
    monkeypatch.setenv("GATEWAY_RULES_DIR", str(RULES))
    monkeypatch.setenv("GATEWAY_CHANNELS", json.dumps(settings.channels))
    for name in ("GATEWAY_TENANT", "GATEWAY_CHANNELS_FILE"):
        monkeypatch.delenv(name, raising=False)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    return settings


def gateway(*args: str) -> str:
    result = CliRunner().invoke(cli_app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def deliver(engine: Engine, settings: Settings) -> dict[str, int]:
    """The worker drains the outbox once (its own daily follow-up left out: the walk's runs are dated)."""
    tasks = tuple(task for task in PERIODIC_TASKS if task.name != "followup")
    return dict(Worker(engine, settings, worker_id="w", periodic_tasks=tasks).run(once=True).outcomes)


def pdf_text(path: Path) -> str:
    return subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True, text=True).stdout


# --- the API ------------------------------------------------------------------------------------------------


@dataclass
class Desk:
    """The ERP's side of the walk: one tenant's token and the client."""

    client: TestClient
    auth: Auth
    invoices: dict[str, dict[str, Any]] = field(default_factory=dict)

    def ok(self, answer: Any, status: int = 200) -> Any:
        assert answer.status_code == status, answer.text
        return answer.json()

    def post(self, path: str, body: dict[str, Any] | None = None, status: int = 200) -> Any:
        return self.ok(self.client.post(path, json=body, headers=self.auth), status)

    def receiver(self, receiver_id: str, **profile: Any) -> None:
        body = {"receiver_id": receiver_id, "segment": "business", "preferred_channel": "folder", **profile}
        answer = self.client.put(f"/receivers/{receiver_id}", json=body, headers=self.auth)
        assert answer.status_code in (200, 201), answer.text

    def invoice(self, name: str, n: int, issued: dt.date, receiver_id: str) -> dict[str, Any]:
        data = sample_invoice_json(n, issue_date=issued, receiver_id=receiver_id, number_prefix=name)
        created = self.ok(self.client.post("/invoices", json=data, headers=self.auth), 201)
        view = self.view(created["invoice_id"])
        self.invoices[name] = view
        return view

    def view(self, invoice_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.ok(self.client.get(f"/invoices/{invoice_id}", headers=self.auth))
        return found

    def run(self, day: dt.date) -> dict[str, Any]:
        report: dict[str, Any] = self.ok(
            self.client.post("/followup/run", json={"date": day.isoformat()}, headers=self.auth)
        )
        return report

    def decisions(self, run_id: str) -> dict[str, dict[str, Any]]:
        page = self.ok(
            self.client.get(f"/followup/runs/{run_id}/decisions", params={"limit": 1000}, headers=self.auth)
        )
        return {item["invoice_number"]: item for item in page["items"]}

    def notice(self, notice_id: str) -> dict[str, Any]:
        found: dict[str, Any] = self.ok(self.client.get(f"/reminders/{notice_id}", headers=self.auth))
        return found

    def pay(self, kid: str, amount: Decimal, day: dt.date) -> None:
        bank = camt054([Tx(amount, kid=kid)], message_id=f"PAY-{kid}-{day}", day=day)
        self.ok(
            self.client.post(
                "/remittances", params={"filename": f"{kid}.xml"}, content=bank,
                headers={**self.auth, "Content-Type": "application/xml"},
            ),
            201,
        )  # fmt: skip


@dataclass
class Walk:
    """What the walk saw: every notice written, by invoice name, in order."""

    desk: Desk
    notices: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    refusals: dict[str, list[tuple[dt.date, dict[str, Any]]]] = field(default_factory=dict)
    skips: dict[str, list[tuple[dt.date, str]]] = field(default_factory=dict)
    past_last_level: dict[str, dt.date] = field(default_factory=dict)

    def name_of(self, number: str) -> str | None:
        return next((name for name, view in self.desk.invoices.items() if view["number"] == number), None)

    def record(self, day: dt.date, report: dict[str, Any]) -> None:
        if report["looked_at"] == 0:
            return
        for number, decision in self.desk.decisions(report["run_id"]).items():
            name = self.name_of(number)
            assert name is not None, number
            if decision["decision"] == "notice":
                seen = self.notices.setdefault(name, [])
                if not seen or seen[-1]["id"] != decision["notice_id"]:
                    seen.append(self.desk.notice(decision["notice_id"]))
            elif decision["decision"] == "refused":
                self.refusals.setdefault(name, []).append((day, decision))
            elif decision["decision"] == "past_last_level":
                self.past_last_level.setdefault(name, day)
            elif decision["decision"] == "skipped" and not decision["reason"].startswith("not_due"):
                self.skips.setdefault(name, []).append((day, decision["reason"]))

    def levels(self, name: str) -> list[tuple[int, str, str, str, str]]:
        """(level, kind, notice day, deadline, fee) of each notice an invoice was in."""
        return [(n["level"], n["kind"], n["notice_on"], n["deadline"], n["fee"]) for n in self.notices[name]]

    def item(self, name: str, index: int) -> dict[str, Any]:
        number = self.desk.invoices[name]["number"]
        found: list[dict[str, Any]] = [
            i for i in self.notices[name][index]["items"] if i["invoice_number"] == number
        ]
        assert len(found) == 1, found
        return found[0]


def days(first: dt.date, last: dt.date) -> Iterator[dt.date]:
    day = first
    while day <= last:
        yield day
        day += dt.timedelta(days=1)


# --- the year -----------------------------------------------------------------------------------------------


def test_a_year_of_follow_up(
    client: TestClient, auth: Auth, engine: Engine, host: Settings, clock: Clock, outbound_dir: Path
) -> None:
    desk = Desk(client, auth)
    current = desk.ok(client.get("/settings", headers=auth))
    desk.ok(client.put("/settings", json={**current, "follow_up": FOLLOW_UP}, headers=auth))
    for receiver_id in ("R-A", "R-C", "R-D", "R-E", "R-H"):
        desk.receiver(receiver_id)
    desk.receiver("R-B", segment="priority")
    buyer = sample_invoice_json(7)["buyer"]["endpoint"]
    gateway("participant", "add", f"{buyer['scheme']}:{buyer['value']}",
            "--types", f"invoice,credit_note,{REMINDER_TYPE}")  # fmt: skip
    desk.receiver("R-F", preferred_channel="peppol", fallback_channels=["folder"])

    issued = dt.date(2026, 1, 1)  # due 15 January
    a = desk.invoice("A", 1, issued, "R-A")
    desk.invoice("B", 2, issued, "R-B")
    f = desk.invoice("F", 7, issued, "R-F")
    assert a["due_date"] == "2026-01-15" and a["currency"] == "NOK"
    walk = Walk(desk)
    paid_a = Decimal("1000.00")
    actions: dict[dt.date, Callable[[], None]] = {}

    def on(day: str) -> Callable[[Callable[[], None]], Callable[[], None]]:
        def register(action: Callable[[], None]) -> Callable[[], None]:
            actions[dt.date.fromisoformat(day)] = action
            return action

        return register

    @on("2026-02-05")
    def _partial_payment() -> None:
        desk.pay(a["payment_reference"], paid_a, dt.date(2026, 2, 5))
        [payment] = desk.ok(client.get("/payments", headers=auth))["items"]
        if payment["status"] != "matched":  # a short payment may go to a person, who places it
            allocation = {"invoice_id": a["id"], "amount": str(paid_a)}
            desk.post(f"/payments/{payment['id']}/resolve", {"allocations": [allocation]})
        left = desk.view(a["id"])["payment"]
        assert Decimal(left["open_amount"]) == Decimal(a["payable_amount"]) - paid_a

    @on("2026-02-15")
    def _invoices_c_d() -> None:
        desk.invoice("C", 3, dt.date(2026, 3, 1), "R-C")  # due 15 March
        desk.invoice("D", 5, dt.date(2026, 4, 1), "R-D")  # due 15 April

    approvals: list[str] = []

    def approve_demands() -> None:
        for notice in desk.ok(client.get("/reminders", params={"status": "awaiting_approval"}, headers=auth))[
            "items"
        ]:
            approved = desk.ok(client.post(f"/reminders/{notice['id']}/approve", headers=auth))
            assert approved["status"] == "queued"
            approvals.append(notice["id"])

    disputes: dict[str, dict[str, Any]] = {}

    @on("2026-04-05")
    def _dispute_c() -> None:  # after C's reminder (29 March), before its deadline (12 April)
        c = desk.invoices["C"]
        disputes["C"] = desk.post(
            f"/invoices/{c['id']}/disputes", {"reason": "the order was cancelled", "category": "goods"}, 201
        )

    @on("2026-04-25")
    def _reject_c() -> None:
        rejected = desk.post(
            f"/disputes/{disputes['C']['id']}/resolve", {"outcome": "rejected", "note": "signed for"}
        )
        assert rejected["status"] == "rejected" and rejected["paused_days"] == 20

    @on("2026-04-20")
    def _dispute_d_credited() -> None:  # after D's nudge (12 April), before any reminder
        d = desk.invoices["D"]
        opened = desk.post(
            f"/invoices/{d['id']}/disputes", {"reason": "returned in full", "category": "goods"}, 201
        )
        proposed = desk.post(
            f"/disputes/{opened['id']}/resolve", {"outcome": "credited", "credit_amount": d["payable_amount"]}
        )
        assert proposed["status"] == "awaiting_approval"
        disputes["D"] = proposed

    @on("2026-04-22")
    def _approve_d() -> None:
        gateway("disputes", "approve", disputes["D"]["id"], "--as", "kari", "--tenant", "acme")
        credited = desk.ok(client.get(f"/disputes/{disputes['D']['id']}", headers=auth))
        assert credited["status"] == "credited" and credited["resolved_by"] == "cli:kari"
        disputes["D"] = credited

    @on("2026-05-10")
    def _invoice_e() -> None:
        desk.invoice("E", 6, dt.date(2026, 5, 18), "R-E")  # due 1 June

    @on("2026-07-20")
    def _invoice_h() -> None:
        desk.invoice("H", 9, dt.date(2026, 8, 1), "R-H")  # due 15 August

    promise: dict[str, Any] = {}

    @on("2026-09-10")
    def _promise_h() -> None:  # after H's reminder (29 August), before its second (13 September)
        h = desk.invoices["H"]
        body = {"date": "2026-09-25", "amount": h["payable_amount"]}
        promise.update(desk.post(f"/invoices/{h['id']}/promises", body, 201))

    for day in days(FIRST_DAY, LAST_DAY):
        clock.day = day
        if day in actions:
            actions[day]()
        report = desk.run(day)
        walk.record(day, report)
        approve_demands()
        if report["notices"] or approvals or day in actions:
            deliver(engine, host)
            approvals.clear()

    # --- A: nudge → reminder → reminder → payment demand ---------------------------------------------------
    assert walk.levels("A") == [
        (0, "nudge", "2026-01-12", "2026-01-15", "0"),  # a nudge keeps the due date
        (1, "reminder", "2026-01-29", "2026-02-12", "35.00"),
        (2, "reminder", "2026-02-13", "2026-02-27", "35.00"),
        (3, "payment_demand", "2026-02-28", "2026-03-14", "105.00"),
    ]
    nudge, first, second, demand = walk.notices["A"]
    payable = Decimal(a["payable_amount"])
    left = payable - paid_a
    assert (Decimal(nudge["interest"]), Decimal(nudge["compensation"])) == (
        Decimal(0),
        Decimal(0),
    )  # not late
    assert Decimal(first["interest"]) == interest(payable, dt.date(2026, 1, 15), dt.date(2026, 1, 29)) > 0
    assert Decimal(first["compensation"]) == COMPENSATION  # B2B, once per claim
    assert Decimal(first["total"]) == payable + 35 + Decimal(first["interest"]) + COMPENSATION
    # the partial payment on 5 February: the second reminder claims what is left
    assert Decimal(second["open_total"]) == left and Decimal(walk.item("A", 2)["open_amount"]) == left
    assert Decimal(second["compensation"]) == 0
    assert Decimal(demand["open_total"]) == left
    # the paid part's interest up to the payment is not lost, nor is the rest charged for days it was paid:
    # what is left from the due date to the notice, and the 1000 paid on 5 February for the 21 days it was
    # late, summed exactly and rounded once
    due_a, paid_on = dt.date(2026, 1, 15), dt.date(2026, 2, 5)
    assert (paid_on - due_a).days == 21
    for notice in (second, demand):
        on_day = dt.date.fromisoformat(notice["notice_on"])
        on_the_balances = exact_interest(left, due_a, on_day) + exact_interest(paid_a, due_a, paid_on)
        expected = on_the_balances.quantize(CENT, rounding=ROUND_HALF_UP)
        assert Decimal(notice["interest"]) == expected > interest(left, due_a, on_day), notice
        assert Decimal(notice["total"]) == left + Decimal(notice["fee"]) + expected, notice
    # delivered by the worker: a PDF in the folder for each, with the invoice, the fee and the new deadline
    for notice in walk.notices["A"]:
        sent = desk.notice(notice["id"])
        assert (sent["status"], sent["channel"], sent["format"]) == ("sent", "folder", "reminder-pdf")
        [written] = (outbound_dir / "acme").glob(f"reminder-{a['number']}__{sent['delivery_id']}-*.pdf")
        text = pdf_text(written)
        deadline = dt.date.fromisoformat(notice["deadline"]).strftime("%d.%m.%Y")
        assert a["number"] in text and f"innen {deadline}" in text, text
        if Decimal(notice["fee"]):
            assert notice["fee"].replace(".", ",") in text, text
    assert len(list((outbound_dir / "acme").glob(f"*{a['number']}*.pdf"))) == 4
    # no notice after the demand: from the day after its deadline, a candidate for collection
    assert walk.past_last_level["A"] == dt.date(2026, 3, 15)

    # --- B: the second fee refused before the first deadline passed ----------------------------------------
    assert walk.levels("B") == [
        (1, "reminder", "2026-01-29", "2026-02-12", "35.00"),
        (2, "reminder", "2026-02-13", "2026-02-27", "35.00"),
    ]
    refused = walk.refusals["B"]
    assert [day for day, _ in refused] == list(days(dt.date(2026, 2, 4), dt.date(2026, 2, 12)))
    assert {(d["rule"], d["level"]) for _, d in refused} == {("NO-FEE-SEQUENCE", 2)}
    assert "2026-02-12" in refused[0][1]["reason"]

    # --- C: paused by a dispute from 5 to 25 April, resumed with 20 days added ------------------------------
    skipped_c = [day for day, reason in walk.skips["C"] if reason.startswith("disputed")]
    assert skipped_c == list(days(dt.date(2026, 4, 5), dt.date(2026, 4, 24)))
    assert [(level, on_) for level, _, on_, _, _ in walk.levels("C")] == [
        (0, "2026-03-12"),
        (1, "2026-03-29"),
        (2, "2026-05-03"),  # 13 April + the 20 days paused
        (3, "2026-05-18"),  # the day after the second reminder's deadline
    ]

    # --- D: credited: a credit note delivered, the invoice closed, no reminder ------------------------------
    closed = desk.view(desk.invoices["D"]["id"])
    assert Decimal(closed["payment"]["open_amount"]) == 0 and closed["payment"]["payment_status"] == "paid"
    assert [level for level, *_ in walk.levels("D")] == [0]  # the nudge before the dispute, nothing after
    credit_note = desk.view(disputes["D"]["credit_note_invoice_id"])
    assert credit_note["document_type"] == "credit_note"
    assert [d["status"] for d in credit_note["deliveries"]] == ["delivered"]

    # --- E: the 1 July rate change applies to the days from 1 July only -------------------------------------
    e_due = dt.date(2026, 6, 1)
    e_amount = Decimal(desk.invoices["E"]["payable_amount"])
    assert [(level, on_) for level, _, on_, _, _ in walk.levels("E")] == [
        (0, "2026-05-29"), (1, "2026-06-15"), (2, "2026-06-30"), (3, "2026-07-15"),
    ]  # fmt: skip
    for index in (1, 2, 3):
        notice = walk.notices["E"][index]
        on_day = dt.date.fromisoformat(notice["notice_on"])
        assert Decimal(walk.item("E", index)["interest"]) == interest(e_amount, e_due, on_day)
    spanning = Decimal(walk.item("E", 3)["interest"])
    old_only = (e_amount * OLD_RATE / 100 * 44 / 365).quantize(CENT, rounding=ROUND_HALF_UP)
    assert spanning == (e_amount * OLD_RATE / 100 * 30 / 365 + e_amount * NEW_RATE / 100 * 14 / 365).quantize(
        CENT, rounding=ROUND_HALF_UP
    )
    assert spanning != old_only

    # --- H: the broken promise resumes at the next level, counted for the customer --------------------------
    promised = [day for day, reason in walk.skips["H"] if reason.startswith("promised")]
    assert promised == list(days(dt.date(2026, 9, 10), dt.date(2026, 9, 25)))
    assert [(level, on_) for level, _, on_, _, _ in walk.levels("H")][1:3] == [
        (1, "2026-08-29"), (2, "2026-09-26"),
    ]  # fmt: skip
    assert desk.ok(client.get(f"/promises/{promise['id']}", headers=auth))["status"] == "broken"
    customer = desk.ok(client.get("/receivables/customers/R-H", headers=auth))
    assert customer["promises"]["broken"] == 1, customer

    # --- F: every EHF Reminder sent passes XSD and the three reminder rule sets -----------------------------
    assert [(level, kind) for level, kind, *_ in walk.levels("F")] == [
        (0, "nudge"), (1, "reminder"), (2, "reminder"), (3, "payment_demand"),
    ]  # fmt: skip
    validator = get_validator(RULES)
    envelopes = sorted((host.data_dir.parent / "ap").rglob("*.xml"))
    reminders = []
    for envelope in envelopes:
        header, document = unwrap_sbdh(envelope.read_bytes())
        if header["document_type_id"] == REMINDER_TYPE:
            reminders.append(document)
            validated = validator.validate(document)
            assert validated.findings == [], (envelope.name, validated.findings)
            assert len(validated.rule_sets) == 4, validated.rule_sets
            assert f["number"].encode() in document
    # the nudge and the reminders went as EHF; the payment demand never does: a PDF on the fallback channel
    as_ehf = [n for n in walk.notices["F"] if n["kind"] in ("nudge", "reminder")]
    assert len(reminders) == len(as_ehf) == 3
    assert {desk.notice(n["id"])["format"] for n in as_ehf} == {"ehf-reminder"}
    demand_f = desk.notice(walk.notices["F"][3]["id"])
    assert (demand_f["format"], demand_f["channel"], demand_f["status"]) == ("reminder-pdf", "folder", "sent")

    # --- every notice PDF the worker wrote is printable ----------------------------------------------------
    pdfs = sorted((outbound_dir / "acme").glob("reminder-*.pdf"))
    assert len(pdfs) == sum(len(notices) for notices in walk.notices.values()) - len(reminders)
    for pdf in pdfs:
        assert check_printable(pdf.read_bytes()) == [], pdf.name


def test_a_customer_over_its_credit_limit_is_held_at_intake_and_released(
    client: TestClient, auth: Auth, engine: Engine, host: Settings, outbound_dir: Path
) -> None:
    desk = Desk(client, auth)
    amount = Decimal(sample_invoice_json(4)["totals"]["payable"])
    desk.receiver("R-G", credit_limit=str(amount - 1))
    answer = client.post(
        "/invoices", json=sample_invoice_json(4, receiver_id="R-G", number_prefix="G"), headers=auth
    )
    created = desk.ok(answer, 201)
    warning = created["credit_warning"]
    assert warning["action"] == "hold" and Decimal(warning["limit"]) == amount - 1
    [held] = desk.view(created["invoice_id"])["deliveries"]
    assert held["status"] == "held" and "credit limit" in held["events"][0]["reason"]
    deliver(engine, host)
    assert desk.view(created["invoice_id"])["deliveries"][0]["status"] == "held"  # the worker leaves it
    released = desk.ok(
        client.post(f"/deliveries/{held['id']}/release", json={"reason": "ok by credit"}, headers=auth)
    )
    assert released["status"] == "queued"
    deliver(engine, host)
    assert desk.view(created["invoice_id"])["deliveries"][0]["status"] == "delivered"
    over = desk.ok(client.get("/receivables/customers/R-G", headers=auth))
    assert over["over_limit"] is True
    [nok] = over["balances"]
    assert (Decimal(nok["balance"]), Decimal(nok["headroom"])) == (amount, Decimal(-1))
