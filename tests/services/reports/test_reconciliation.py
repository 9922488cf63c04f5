"""Bank reconciliation: each shared camt.053 sample against a gateway seeded through the real remittance
intake (the matching camt.054, derived from the statement) and a journal whose bank account is inserted here,
with known differences planted — the report finds exactly those. Also: a statement for another account and
currency, refusals of what is not a camt.053, tenant isolation (the command line: tests/cli/test_reports.py).
"""

from __future__ import annotations

import copy
import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine
from sqlmodel import select

from db.engine import session_scope
from db.models.ledger import LedgerLine, LedgerVoucher
from gateway.services.reports.reconciliation import (
    ReconciliationRefused,
    read_statement_file,
    reconcile_file,
)
from tests.conftest import SHARED

CAMT = SHARED / "samples" / "camt"
SAMPLES = ["genkgo_camt053.v2.minimal.xml", "genkgo_camt053.v4.xml", "genkgo_camt053.v8.xml"]
DAY = dt.date(2014, 12, 31)  # the samples' booking date
EUR_NOK = Decimal("11.50")


# -- statements and the matching notifications -------------------------------------------------------------


def _ns(root: etree._Element) -> str:
    return etree.QName(root).namespace or ""


def _child(parent: etree._Element, ns: str, name: str) -> etree._Element | None:
    return parent.find(f"{{{ns}}}{name}")


def _entry_copy(
    template: etree._Element, ns: str, *, amount: str, reference: str, direction: str = "CRDT"
) -> etree._Element:
    """The sample's entry with another amount, bank reference and direction (the transaction's amount too)."""
    entry = copy.deepcopy(template)
    amount_element = _child(entry, ns, "Amt")
    assert amount_element is not None
    amount_element.text = amount
    indicator = _child(entry, ns, "CdtDbtInd")
    assert indicator is not None
    indicator.text = direction
    ref = _child(entry, ns, "AcctSvcrRef")
    if ref is None:  # the .02 sample has none: AcctSvcrRef comes right after ValDt
        ref = etree.Element(f"{{{ns}}}AcctSvcrRef")
        value_date = _child(entry, ns, "ValDt")
        assert value_date is not None
        value_date.addnext(ref)
    ref.text = reference
    _fix_transaction_amount(entry, ns, amount, direction)
    return entry


def _fix_transaction_amount(entry: etree._Element, ns: str, amount: str, direction: str = "CRDT") -> None:
    """The v4/v8 samples' TxDtls/Amt is `SEK 0`: a well-formed bank file says the entry's amount there."""
    for tx_amount in entry.iterfind(f"{{{ns}}}NtryDtls/{{{ns}}}TxDtls/{{{ns}}}Amt"):
        tx_amount.text, tx_amount.attrib["Ccy"] = amount, "EUR"
    for tx_direction in entry.iterfind(f"{{{ns}}}NtryDtls/{{{ns}}}TxDtls/{{{ns}}}CdtDbtInd"):
        tx_direction.text = direction


def derived(
    name: str, extra: list[tuple[str, str, str]], *, keep_first: bool = True, fix_first: bool = False
) -> etree._Element:
    """The sample statement plus entries (amount, reference, CRDT|DBIT) copied from its own entry."""
    root = etree.fromstring((CAMT / name).read_bytes())
    ns = _ns(root)
    [statement] = root.iterfind(f".//{{{ns}}}Stmt")
    [first] = statement.iterfind(f"{{{ns}}}Ntry")
    last = first
    for amount, reference, direction in extra:
        entry = _entry_copy(first, ns, amount=amount, reference=reference, direction=direction)
        last.addnext(entry)
        last = entry
    if fix_first:
        _fix_transaction_amount(first, ns, "8.85")
    if not keep_first:
        statement.remove(first)
    return root


def as_camt054(root: etree._Element, message_id: str) -> bytes:
    """The same entries as the bank's camt.054 notification (what the gateway takes in day by day)."""
    text = etree.tostring(root).decode()
    text = text.replace("camt.053.001.", "camt.054.001.").replace("BkToCstmrStmt>", "BkToCstmrDbtCdtNtfctn>")
    text = text.replace("<Stmt>", "<Ntfctn>").replace("</Stmt>", "</Ntfctn>")
    notification = etree.fromstring(text.encode())
    ns = _ns(notification)
    for balance in notification.iterfind(f".//{{{ns}}}Bal"):
        balance.getparent().remove(balance)  # type: ignore[union-attr]
    [message] = notification.iterfind(f".//{{{ns}}}GrpHdr/{{{ns}}}MsgId")
    message.text = message_id
    return etree.tostring(notification, xml_declaration=True, encoding="UTF-8")


def statement_v8(
    *,
    account: str,
    currency: str,
    opening: str,
    closing: str,
    entries: list[tuple[str, str, str]],
    day: dt.date = dt.date(2026, 11, 20),
) -> bytes:
    """Our own camt.053.001.08: one statement, booked balances, entries (amount, reference, direction)."""
    ntry = "".join(
        f'<Ntry><Amt Ccy="{currency}">{amount}</Amt><CdtDbtInd>{direction}</CdtDbtInd>'
        f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day}</Dt></BookgDt><ValDt><Dt>{day}</Dt></ValDt>"
        f"<AcctSvcrRef>{reference}</AcctSvcrRef>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
        "<NtryDtls><TxDtls><RltdPties><Dbtr><Pty><Nm>Kunde AS</Nm></Pty></Dbtr>"
        f"<CdtrAcct><Id><Othr><Id>{account}</Id></Othr></Id></CdtrAcct></RltdPties></TxDtls></NtryDtls></Ntry>"
        for amount, reference, direction in entries
    )

    def balance(code: str, amount: str) -> str:
        indicator = "DBIT" if amount.startswith("-") else "CRDT"
        return (
            f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp>"
            f'<Amt Ccy="{currency}">{amount.lstrip("-")}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>'
            f"<Dt><Dt>{day}</Dt></Dt></Bal>"
        )

    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>STMT-{account}</MsgId><CreDtTm>{day}T18:00:00+01:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>S-1</Id><CreDtTm>{day}T18:00:00+01:00</CreDtTm>"
        f"<FrToDt><FrDtTm>{day}T00:00:00+01:00</FrDtTm><ToDtTm>{day}T23:59:59+01:00</ToDtTm></FrToDt>"
        f"<Acct><Id><Othr><Id>{account}</Id></Othr></Id><Ccy>{currency}</Ccy></Acct>"
        f"{balance('OPBD', opening)}{balance('CLBD', closing)}{ntry}</Stmt></BkToCstmrStmt></Document>"
    ).encode()


# -- seeding -----------------------------------------------------------------------------------------------


def book(client: TestClient, auth: dict[str, str], data: bytes, name: str) -> None:
    """Through the real intake, as a bank file arrives (matching off: reconciliation needs no allocation)."""
    answer = client.post(
        "/remittances",
        params={"filename": name, "match": "false"},
        content=data,
        headers={**auth, "Content-Type": "application/xml"},
    )
    assert answer.status_code == 201, answer.text


def post_bank_lines(
    engine: Engine,
    tenant: str,
    day: dt.date,
    lines: list[tuple[Decimal, str | None, Decimal | None]],
    *,
    account: str = "1920",
) -> None:
    """One voucher per bank line (NOK amount signed + debit, foreign currency and its amount), balanced
    against prepayments — a private factory: the posting engine is another helper's."""
    with session_scope(engine) as session:
        number = len(session.exec(select(LedgerVoucher).where(LedgerVoucher.tenant_id == tenant)).all())
        for amount, currency, currency_amount in lines:
            number += 1
            voucher = LedgerVoucher(
                tenant_id=tenant,
                number=number,
                period=day.strftime("%Y-%m"),
                voucher_date=day,
                event_date=day,
                voucher_type="payment",
                source_key=f"test:{number}",
                description="bank",
            )
            session.add(voucher)
            session.flush()
            debit, credit = (amount, Decimal(0)) if amount >= 0 else (Decimal(0), -amount)
            session.add_all(
                [
                    LedgerLine(
                        voucher_id=voucher.id, tenant_id=tenant, line_no=1, voucher_date=day, account=account,
                        debit=str(debit), credit=str(credit), currency=currency,
                        currency_amount=None if currency_amount is None else str(currency_amount),
                        exchange_rate=None if currency is None else str(EUR_NOK),
                    ),
                    LedgerLine(
                        voucher_id=voucher.id, tenant_id=tenant, line_no=2, voucher_date=day, account="2900",
                        debit=str(credit), credit=str(debit),
                    ),
                ]
            )  # fmt: skip


def eur(amount: str) -> tuple[Decimal, str, Decimal]:
    value = Decimal(amount)
    return (value * EUR_NOK).quantize(Decimal("0.01")), "EUR", value


def reconcile(client: TestClient, auth: dict[str, str], data: bytes) -> dict[str, Any]:
    answer = client.post(
        "/reports/reconciliation", content=data, headers={**auth, "Content-Type": "application/xml"}
    )
    assert answer.status_code == 200, answer.text
    found: dict[str, Any] = answer.json()
    return found


def kinds(report: dict[str, Any]) -> list[tuple[str, str | None, str]]:
    return sorted((d["kind"], d.get("reference"), d["amount"]) for d in report["differences"])


# -- the samples with planted differences ------------------------------------------------------------------

#: on the statement besides the sample's own entry: one the gateway never got, one it got for another amount,
#: a debit (money out: listed apart)
STATEMENT_EXTRA = [("120.00", "R-MISSING", "CRDT"), ("50.00", "R-DIFF", "CRDT"), ("30.00", "R-DEBIT", "DBIT")]
#: what the bank notified the gateway of: the sample's entry, one at another amount, one the statement lacks
GATEWAY_ENTRIES = [("55.00", "R-DIFF", "CRDT"), ("70.00", "R-EXTRA", "CRDT")]
JOURNAL_OFF = Decimal("5.00")  # the journal's opening bank balance is this much above the statement's


@pytest.mark.parametrize("name", SAMPLES)
def test_each_sample_finds_exactly_the_planted_differences(
    name: str, client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    statement = etree.tostring(derived(name, STATEMENT_EXTRA), xml_declaration=True, encoding="UTF-8")
    gateway = as_camt054(derived(name, GATEWAY_ENTRIES, fix_first=True), f"NOTIF-{name}")
    book(client, auth, gateway, "notification.xml")
    # the journal: the opening balance (off by JOURNAL_OFF), every statement movement on its day, one after
    post_bank_lines(engine, "acme", dt.date(2014, 12, 1), [eur(str(Decimal("18.15") + JOURNAL_OFF))])
    post_bank_lines(engine, "acme", DAY, [eur("8.85"), eur("120.00"), eur("50.00"), eur("-30.00")])
    post_bank_lines(engine, "acme", dt.date(2015, 1, 5), [eur("999.00")])
    post_bank_lines(engine, "acme", DAY, [(Decimal("400.00"), None, None)])  # NOK: not this EUR statement

    report = reconcile(client, auth, statement)

    assert report["statement"]["currency"] == "EUR"
    assert (report["statement"]["period_from"], report["statement"]["period_to"]) == ("2014-12-31",) * 2
    assert any("FrToDt 2007-10-18" in note for note in report["notes"])
    [matched] = report["matched"]
    assert (matched["amount"], matched["gateway_amount"], matched["date"]) == ("8.85", "8.85", "2014-12-31")
    if "v2" in name:  # no reference in the .02 sample: amount, date and the payer's account
        assert matched["reference"] is None and matched["matched_by"] == "amount, date and payer account"
    else:
        assert matched["reference"] == "AAAASESS-FP-CN_98765/01" and matched["matched_by"] == "reference"
    [missing] = report["missing_in_gateway"]
    assert (missing["reference"], missing["amount"], missing["date"]) == ("R-MISSING", "120.00", "2014-12-31")
    [extra] = report["missing_on_statement"]
    assert (extra["reference"], extra["amount"], extra["date"]) == ("R-EXTRA", "70.00", "2014-12-31")
    [different] = report["amount_differences"]
    assert (different["reference"], different["amount"], different["gateway_amount"]) == (
        "R-DIFF",
        "50.00",
        "55.00",
    )
    assert different["difference"] == "-5.00"
    [debit] = report["debits"]
    assert (debit["reference"], debit["amount"]) == ("R-DEBIT", "30.00")

    balances = report["balances"]
    assert balances["account"] == "1920" and balances["compared_in"] == "EUR amounts of the account's lines"
    assert balances["opening"] == {"statement": "18.15", "journal": "23.15", "difference": "-5.00"}
    assert balances["movements"] == {"statement": "148.85", "journal": "148.85", "difference": "0.00"}
    # the samples' own closing balance (DBIT 27.00, in SEK) is not their opening plus their entries
    assert balances["statement_gap"] == str(Decimal("-27.00") - Decimal("18.15") - Decimal("148.85"))
    assert balances["closing"]["difference"] == str(-JOURNAL_OFF + Decimal("-194.00"))
    assert balances["carried_from_opening"] == "-5.00"
    assert any("Bal[2] (CLBD) is in SEK" in note for note in report["notes"])

    assert kinds(report) == [
        ("amount_difference", "R-DIFF", "50.00"),
        ("missing_in_gateway", "R-MISSING", "120.00"),
        ("missing_on_statement", "R-EXTRA", "70.00"),
        ("opening_balance", None, "-5.00"),
        ("statement_does_not_add_up", "Stmt[1]/Bal[2]", "-194.00"),
    ]
    assert report["verdict"] == "5 differences"
    summary = report["summary"]
    assert summary["matched"] == {"count": 1, "amount": "8.85"}
    assert summary["missing_in_gateway"] == {"count": 1, "amount": "120.00"}
    assert summary["missing_on_statement"] == {"count": 1, "amount": "70.00"}
    assert summary["amount_differences"] == {
        "count": 1,
        "statement_amount": "50.00",
        "gateway_amount": "55.00",
    }
    assert summary["debits"] == {"count": 1, "amount": "30.00"}


@pytest.mark.parametrize("name", SAMPLES)
def test_each_sample_booked_as_it_is_against_itself(
    name: str, client: TestClient, auth: dict[str, str]
) -> None:
    """The statement taken in by the remittance intake as it is, then reconciled: the .02 sample matches; the
    .04/.08 samples' transaction says `SEK 0` where the entry says EUR 8.85, and intake books what the
    transaction says — reconciliation shows it as an amount difference."""
    data = (CAMT / name).read_bytes()
    book(client, auth, data, name)
    report = reconcile(client, auth, data)
    if "v2" in name:
        assert [m["amount"] for m in report["matched"]] == ["8.85"] and report["amount_differences"] == []
    else:
        [different] = report["amount_differences"]
        assert (different["amount"], different["currency"]) == ("8.85", "EUR")
        assert (different["gateway_amount"], different["gateway_currency"]) == ("0.00", "SEK")
    assert report["missing_in_gateway"] == [] and report["missing_on_statement"] == []


# -- another account and currency, a batch, the accounting currency ----------------------------------------


def test_a_statement_for_another_account_and_currency(
    client: TestClient, auth: dict[str, str], engine: Engine
) -> None:
    own = "15038366383"
    # the gateway: EUR payments (another currency), a NOK payment into another account, and ours
    book(client, auth, as_camt054(derived(SAMPLES[2], [], fix_first=True), "EUR-1"), "eur.xml")
    other = statement_v8(account="99990000001", currency="NOK", opening="0", closing="75.00",
                         entries=[("75.00", "OTHER-1", "CRDT")])  # fmt: skip
    book(client, auth, as_camt054(etree.fromstring(other), "OTHER-N"), "other.xml")
    ours = statement_v8(account=own, currency="NOK", opening="1000.00", closing="1250.00",
                        entries=[("100.00", "N-1", "CRDT"), ("150.00", "N-2", "CRDT")])  # fmt: skip
    book(client, auth, as_camt054(etree.fromstring(ours), "OURS-N"), "ours.xml")
    # the journal in NOK: the account's balance, whatever the lines' currencies
    post_bank_lines(engine, "acme", dt.date(2026, 11, 1), [(Decimal("900.00"), None, None), eur("8.70")])
    post_bank_lines(engine, "acme", dt.date(2026, 11, 20), [(Decimal("250.00"), None, None)])

    report = reconcile(client, auth, ours)
    assert [(m["reference"], m["matched_by"]) for m in report["matched"]] == [
        ("N-1", "reference"),
        ("N-2", "reference"),
    ]
    assert report["missing_on_statement"] == [] and report["missing_in_gateway"] == []
    assert report["summary"]["gateway_payments_other_account"] == 1  # OTHER-1, same day and currency
    assert report["balances"]["compared_in"] == "the account's balance"
    assert report["balances"]["opening"] == {
        "statement": "1000.00",
        "journal": "1000.05",
        "difference": "-0.05",
    }
    assert report["balances"]["closing"]["difference"] == "-0.05"
    assert kinds(report) == [("opening_balance", None, "-0.05")]
    assert report["verdict"] == "1 difference"

    # the same statement for an account and currency the gateway never saw: nothing of ours matches
    elsewhere = statement_v8(account="DK5000400440116243", currency="DKK", opening="0", closing="20.00",
                             entries=[("20.00", "DK-1", "CRDT")])  # fmt: skip
    report = reconcile(client, auth, elsewhere)
    assert [d["reference"] for d in report["missing_in_gateway"]] == ["DK-1"]
    assert report["missing_on_statement"] == [] and report["matched"] == []
    assert report["summary"]["gateway_payments_other_currency"] == 3  # OTHER-1, N-1, N-2 (NOK) on its day
    assert report["balances"]["opening"]["journal"] == "0"


def test_a_batch_entry_is_covered_by_its_transactions(client: TestClient, auth: dict[str, str]) -> None:
    """One booked entry of three transactions: the gateway booked three payments (`ref/1`…`ref/3`)."""
    notification = derived(SAMPLES[2], [], fix_first=True)
    ns = _ns(notification)
    [entry] = notification.iterfind(f".//{{{ns}}}Ntry")
    [details] = entry.iterfind(f"{{{ns}}}NtryDtls")
    [tx] = details.iterfind(f"{{{ns}}}TxDtls")
    for amount in ("3.00", "2.85"):
        twin = copy.deepcopy(tx)
        twin.find(f"{{{ns}}}Amt").text = amount  # type: ignore[union-attr]
        details.append(twin)
    tx.find(f"{{{ns}}}Amt").text = "3.00"  # type: ignore[union-attr]
    book(client, auth, as_camt054(notification, "BATCH"), "batch.xml")
    report = reconcile(client, auth, (CAMT / SAMPLES[2]).read_bytes())
    [matched] = report["matched"]
    assert [p["reference"] for p in matched["payments"]] == [
        f"AAAASESS-FP-CN_98765/01/{n}" for n in (1, 2, 3)
    ]
    assert matched["gateway_amount"] == "8.85" and report["amount_differences"] == []


def test_excluded_payments_are_not_compared(client: TestClient, auth: dict[str, str]) -> None:
    """The same notification twice (its payment a duplicate) and a pending entry: neither is money in."""
    ours = statement_v8(account="15038366383", currency="NOK", opening="0", closing="100.00",
                        entries=[("100.00", "N-1", "CRDT")])  # fmt: skip
    book(client, auth, as_camt054(etree.fromstring(ours), "FIRST"), "first.xml")
    book(client, auth, as_camt054(etree.fromstring(ours), "AGAIN"), "again.xml")
    pending = as_camt054(etree.fromstring(ours.replace(b"N-1", b"P-1")), "PENDING").replace(b"BOOK", b"PDNG")
    book(client, auth, pending, "pending.xml")
    report = reconcile(client, auth, ours)
    assert [len(m["payments"]) for m in report["matched"]] == [1]
    assert report["missing_on_statement"] == []


# -- refusals ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "field", "reason"),
    [
        ((CAMT / "genkgo_camt054.v8.xml").read_bytes(), "Document", "not a camt.053"),
        ((CAMT / "genkgo_camt052.v8.xml").read_bytes(), "Document", "not a camt.053"),
        (b"<Document><unclosed>", "Document", "not a camt.052 / camt.053 / camt.054 Document"),
        (
            b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"><BkToCstmrStmt><GrpHdr>',
            "line 1",
            "not well-formed",
        ),
        (b'<?xml version="1.0"?><!DOCTYPE d [<!ENTITY e "x">]><d>&e;</d>', "document", "DOCTYPE"),
        (b"UNA:+.? 'UNB+UNOC:3", "line 1", "not well-formed"),
        (b"", "document", "empty"),
    ],
)
def test_what_is_not_a_statement_is_refused_naming_why(
    data: bytes, field: str, reason: str, client: TestClient, auth: dict[str, str]
) -> None:
    answer = client.post(
        "/reports/reconciliation", content=data, headers={**auth, "Content-Type": "application/xml"}
    )
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["field"] == field and reason in error["reason"]


def test_a_statement_that_does_not_add_up_to_its_own_totals_is_refused(engine: Engine) -> None:
    root = derived(SAMPLES[2], [])
    ns = _ns(root)
    [statement] = root.iterfind(f".//{{{ns}}}Stmt")
    summary = etree.fromstring(
        f'<TxsSummry xmlns="{ns}"><TtlNtries><NbOfNtries>2</NbOfNtries></TtlNtries></TxsSummry>'
    )
    [first_entry] = statement.iterfind(f"{{{ns}}}Ntry")
    first_entry.addprevious(summary)
    reading = read_statement_file(etree.tostring(root))
    assert reading.statement is None and "declares 2 entries" in reading.reason
    with session_scope(engine) as session, pytest.raises(ReconciliationRefused) as refused:
        reconcile_file(session, "acme", etree.tostring(root))
    assert refused.value.field == "Stmt[1]/TxsSummry/TtlNtries/NbOfNtries"


def test_a_statement_larger_than_the_remittance_limit_is_refused(
    client: TestClient, auth: dict[str, str], settings: Any
) -> None:
    limit, _ = settings.intake_limit("remittances")
    answer = client.post(
        "/reports/reconciliation",
        content=b" " * (limit + 1),
        headers={**auth, "Content-Type": "application/xml"},
    )
    assert answer.status_code == 413


# -- tenants -----------------------------------------------------------------------------------------------


def test_a_tenant_reconciles_against_its_own_payments_and_journal_only(
    client: TestClient, auth: dict[str, str], token_for: Any, engine: Engine
) -> None:
    ours = statement_v8(account="15038366383", currency="NOK", opening="500.00", closing="600.00",
                        entries=[("100.00", "N-1", "CRDT")])  # fmt: skip
    book(client, auth, as_camt054(etree.fromstring(ours), "ACME"), "acme.xml")
    post_bank_lines(engine, "acme", dt.date(2026, 11, 1), [(Decimal("500.00"), None, None)])
    post_bank_lines(engine, "acme", dt.date(2026, 11, 20), [(Decimal("100.00"), None, None)])
    assert reconcile(client, auth, ours)["verdict"] == "reconciled"

    other = reconcile(client, token_for("other"), ours)
    assert [d["reference"] for d in other["missing_in_gateway"]] == ["N-1"]
    assert other["matched"] == []
    assert other["balances"]["opening"] == {"statement": "500.00", "journal": "0", "difference": "500.00"}
    assert other["verdict"] == "3 differences"  # N-1, the opening balance, the movements
    assert client.post("/reports/reconciliation", content=ours).status_code == 401


def test_the_documented_example_reads(client: TestClient, auth: dict[str, str]) -> None:
    spec = client.get("/openapi.json").json()
    body = spec["paths"]["/reports/reconciliation"]["post"]["requestBody"]["content"]["application/xml"]
    report = reconcile(client, auth, body["example"].encode())
    assert [d["reference"] for d in report["missing_in_gateway"]] == ["20261125-000123"]
    assert report["balances"]["statement_gap"] == "0.00"
