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
