"""Bank files for the payment tests: camt.054.001.08 notifications as a Norwegian bank writes them.

Built here (not copied from anywhere) in the shape of `../shared/samples/camt/SYNTHETIC_no_camt054_v08_
kid_batch.xml`: one credit entry per call, a batch when there are several transactions.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from xml.sax.saxutils import escape

NS = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


@dataclass
class Tx:
    amount: Decimal
    kid: str | None = None
    invoices: list[str] = field(default_factory=list)
    credit_notes: list[str] = field(default_factory=list)
    text: str | None = None
    payer: str | None = None
    account: str | None = None
    reference: str | None = None
    currency: str = "NOK"


def _tx(tx: Tx, number: int) -> str:
    parties = ""
    if tx.payer or tx.account:
        debtor = f"<Dbtr><Pty><Nm>{escape(tx.payer)}</Nm></Pty></Dbtr>" if tx.payer else ""
        account = (
            f"<DbtrAcct><Id><Othr><Id>{tx.account}</Id><SchmeNm><Cd>BBAN</Cd></SchmeNm></Othr></Id></DbtrAcct>"
            if tx.account
            else ""
        )
        parties = f"<RltdPties>{debtor}{account}</RltdPties>"
    strd = ""
    if tx.kid:
        strd += (
            "<Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry></Tp>"
            f"<Ref>{tx.kid}</Ref></CdtrRefInf></Strd>"
        )
    for kind, numbers in (("CINV", tx.invoices), ("CREN", tx.credit_notes)):
        for doc in numbers:
            strd += (
                f"<Strd><RfrdDocInf><Tp><CdOrPrtry><Cd>{kind}</Cd></CdOrPrtry></Tp>"
                f"<Nb>{escape(doc)}</Nb></RfrdDocInf></Strd>"
            )
    ustrd = f"<Ustrd>{escape(tx.text)}</Ustrd>" if tx.text else ""
    remittance = f"<RmtInf>{ustrd}{strd}</RmtInf>" if (strd or ustrd) else ""
    reference = tx.reference or f"TX-{number}"
    return (
        f"<TxDtls><Refs><AcctSvcrRef>{reference}</AcctSvcrRef></Refs>"
        f'<Amt Ccy="{tx.currency}">{tx.amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"{parties}{remittance}</TxDtls>"
    )


def camt054(
    transactions: list[Tx], *, message_id: str = "MSG-1", day: dt.date = dt.date(2026, 11, 20)
) -> bytes:
    """One notification with one credit entry holding `transactions` (a batch when more than one)."""
    total = sum((t.amount for t in transactions), Decimal(0))
    currency = transactions[0].currency if transactions else "NOK"
    batch = (
        f'<Btch><NbOfTxs>{len(transactions)}</NbOfTxs><TtlAmt Ccy="{currency}">{total}</TtlAmt>'
        "<CdtDbtInd>CRDT</CdtDbtInd></Btch>"
        if len(transactions) > 1
        else ""
    )
    details = "".join(_tx(t, n) for n, t in enumerate(transactions, 1))
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NS}"><BkToCstmrDbtCdtNtfctn>'
        f"<GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>{day.isoformat()}T06:00:00+01:00</CreDtTm></GrpHdr>"
        f"<Ntfctn><Id>{message_id}-N</Id><CreDtTm>{day.isoformat()}T06:00:00+01:00</CreDtTm>"
        "<Acct><Id><Othr><Id>15038366383</Id><SchmeNm><Cd>BBAN</Cd></SchmeNm></Othr></Id>"
        f"<Ccy>{currency}</Ccy></Acct>"
        f'<Ntry><NtryRef>1</NtryRef><Amt Ccy="{currency}">{total}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day.isoformat()}</Dt></BookgDt>"
        f"<ValDt><Dt>{day.isoformat()}</Dt></ValDt><AcctSvcrRef>{message_id}-E1</AcctSvcrRef>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
        f"<NtryDtls>{batch}{details}</NtryDtls></Ntry></Ntfctn></BkToCstmrDbtCdtNtfctn></Document>"
    ).encode()


# --- card payments (issue 21): a checkout's advice, and the bank statement the provider's payout lands on ---

NS_053 = "urn:iso:std:iso:20022:tech:xsd:camt.053.001.08"


def card_advice(
    invoices: list[tuple[str, str | None, Decimal]],
    *,
    provider: str = "stripe",
    payment: str = "pi_3QabcDEF",
    event: str = "evt_1QabcDEF",
    checkout: str = "c0ffee00c0ffee00c0ffee00c0ffee00",
    paid_at: dt.datetime = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC),
    payer: str | None = "Kari Nordmann",
    customer: str = "0192:999999999",
    currency: str = "NOK",
) -> bytes:
    """A card payment advice (`schemas.card_advice`) as the portal's webhook keeps it: the bytes PAY writes
    (`advice.model_dump_json().encode()`); `invoices` as (number, KID, amount)."""
    from schemas.card_advice import AdvisedInvoice, CardPaymentAdvice

    advice = CardPaymentAdvice(
        provider=provider,  # type: ignore[arg-type]
        event_id=event,
        checkout_id=checkout,
        provider_payment=payment,
        paid_at=paid_at,
        amount=sum((amount for _, _, amount in invoices), Decimal(0)),
        currency=currency,
        payer_name=payer,
        customer=customer,
        invoices=[AdvisedInvoice(number=n, kid=k, amount=a) for n, k, a in invoices],
    )
    return advice.model_dump_json().encode()


def camt053(
    transactions: list[Tx], *, message_id: str = "STMT-1", day: dt.date = dt.date(2026, 11, 23)
) -> bytes:
    """A day's statement (camt.053.001.08) with one credit entry per transaction (each its own entry, as a
    bank books a provider's payout: one credit, the provider as debtor, the payout's reference as text)."""
    currency = transactions[0].currency if transactions else "NOK"
    total = sum((t.amount for t in transactions), Decimal(0))
    entries = "".join(
        f'<Ntry><NtryRef>{n}</NtryRef><Amt Ccy="{t.currency}">{t.amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"<Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>{day.isoformat()}</Dt></BookgDt>"
        f"<ValDt><Dt>{day.isoformat()}</Dt></ValDt><AcctSvcrRef>{message_id}-E{n}</AcctSvcrRef>"
        "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
        f"<NtryDtls>{_tx(t, n)}</NtryDtls></Ntry>"
        for n, t in enumerate(transactions, 1)
    )
    balance = (
        '<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy="{currency}">{amount}</Amt>'
        "<CdtDbtInd>CRDT</CdtDbtInd><Dt><Dt>{day}</Dt></Dt></Bal>"
    )
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><Document xmlns="{NS_053}"><BkToCstmrStmt>'
        f"<GrpHdr><MsgId>{message_id}</MsgId><CreDtTm>{day.isoformat()}T06:00:00+01:00</CreDtTm></GrpHdr>"
        f"<Stmt><Id>{message_id}-S</Id><CreDtTm>{day.isoformat()}T06:00:00+01:00</CreDtTm>"
        "<Acct><Id><Othr><Id>15038366383</Id><SchmeNm><Cd>BBAN</Cd></SchmeNm></Othr></Id>"
        f"<Ccy>{currency}</Ccy></Acct>"
        + balance.format(code="OPBD", currency=currency, amount="0.00", day=day.isoformat())
        + balance.format(code="CLBD", currency=currency, amount=total, day=day.isoformat())
        + f"{entries}</Stmt></BkToCstmrStmt></Document>"
    ).encode()
