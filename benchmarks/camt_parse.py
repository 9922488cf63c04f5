"""camt.054 reading speed and memory: one Norwegian-style KID batch entry with many transactions.

    python benchmarks/camt_parse.py [--transactions 50000] [--entries 1] [--repeat 3]

Builds a camt.054.001.08 in memory: `--entries` booked credit entries, each a batch (`Btch` with
NbOfTxs / TtlAmt) of `--transactions` / `--entries` TxDtls, every TxDtls with an AcctSvcrRef, a payer name
and BBAN, a MOD10 KID (SCOR) and one Ustrd line, so the batch checks run over every transaction. It then
times `mappings.remittance.camt.parse` (best of `--repeat`) and prints payments/s and MB/s.

Peak RSS is `resource.getrusage(RUSAGE_SELF).ru_maxrss`, which only grows: it is read after building the
document, after the streamed parse, and last after an `lxml.etree.fromstring` of the same bytes (the whole
tree at once, for comparison), so each figure is the peak up to that step.
"""

from __future__ import annotations

import argparse
import gc
import platform
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from lxml import etree

from mappings.remittance import camt
from schemas.kid import mod10_check_digit

NAMESPACE = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"


def transaction_xml(number: int) -> str:
    body = f"{number:09d}"
    kid = body + mod10_check_digit(body)
    return (
        f"<TxDtls><Refs><AcctSvcrRef>TX-{number}</AcctSvcrRef><EndToEndId>NOTPROVIDED</EndToEndId></Refs>"
        f'<Amt Ccy="NOK">{100 + number % 900}.50</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
        f"<RltdPties><Dbtr><Pty><Nm>Kunde {number}</Nm></Pty></Dbtr>"
        f"<DbtrAcct><Id><Othr><Id>{86011117947 + number}</Id><SchmeNm><Cd>BBAN</Cd></SchmeNm></Othr></Id>"
        "</DbtrAcct></RltdPties>"
        f"<RmtInf><Ustrd>Faktura {number}</Ustrd><Strd><CdtrRefInf><Tp><CdOrPrtry><Cd>SCOR</Cd></CdOrPrtry>"
        f"</Tp><Ref>{kid}</Ref></CdtrRefInf></Strd></RmtInf></TxDtls>"
    )


def build_document(transactions: int, entries: int) -> bytes:
    per_entry = transactions // entries
    parts = [
        '<?xml version="1.0" encoding="UTF-8"?>\n',
        f'<Document xmlns="{NAMESPACE}"><BkToCstmrDbtCdtNtfctn>',
        "<GrpHdr><MsgId>BENCH-1</MsgId><CreDtTm>2024-05-02T06:10:00+02:00</CreDtTm></GrpHdr>",
        "<Ntfctn><Id>BENCH-NTF-1</Id><Acct><Id><Othr><Id>15038366383</Id></Othr></Id><Ccy>NOK</Ccy></Acct>",
    ]
    number = 0
    for entry in range(entries):
        batch = [transaction_xml(number + n) for n in range(per_entry)]
        total = sum(100 + (number + n) % 900 for n in range(per_entry)) * 100 + 50 * per_entry
        amount = f"{total // 100}.{total % 100:02d}"
        number += per_entry
        parts.append(
            f'<Ntry><Amt Ccy="NOK">{amount}</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts>'
            "<BookgDt><Dt>2024-05-02</Dt></BookgDt><ValDt><Dt>2024-05-02</Dt></ValDt>"
            f"<AcctSvcrRef>ARCHIVE-{entry + 1}</AcctSvcrRef>"
            "<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>RCDT</Cd><SubFmlyCd>DMCT</SubFmlyCd></Fmly></Domn></BkTxCd>"
            f'<NtryDtls><Btch><NbOfTxs>{per_entry}</NbOfTxs><TtlAmt Ccy="NOK">{amount}</TtlAmt>'
            f"<CdtDbtInd>CRDT</CdtDbtInd></Btch>{''.join(batch)}</NtryDtls></Ntry>"
        )
    parts.append("</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>")
    return "".join(parts).encode()


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # kilobytes on Linux


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--transactions", type=int, default=50_000)
    parser.add_argument("--entries", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    print(f"python {platform.python_version()}, lxml {etree.__version__}, {platform.machine()}")
    started_rss = peak_rss_mb()
    data = build_document(args.transactions, args.entries)
    built_rss = peak_rss_mb()
    print(
        f"document: {args.transactions:,} TxDtls in {args.entries} batch entry(ies), {len(data) / 1e6:.1f} MB"
    )

    best = float("inf")
    payments = 0
    for _ in range(args.repeat):
        gc.collect()
        start = time.perf_counter()
        document = camt.parse(data)
        elapsed = time.perf_counter() - start
        payments = len(document.payments)
        best = min(best, elapsed)
        del document
    assert payments == args.transactions, payments
    streamed_rss = peak_rss_mb()
    print(
        f"camt.parse: best of {args.repeat}: {best:.2f} s = {payments / best:,.0f} payments/s, "
        f"{len(data) / 1e6 / best:.1f} MB/s"
    )

    gc.collect()
    tree = etree.fromstring(data, parser=etree.XMLParser(resolve_entities=False, huge_tree=True))
    tree_elements = sum(1 for _ in tree.iter())
    tree_rss = peak_rss_mb()
    del tree
    print(
        f"peak RSS (ru_maxrss): start {started_rss:.0f} MB, document built {built_rss:.0f} MB, "
        f"after camt.parse {streamed_rss:.0f} MB (+{streamed_rss - built_rss:.0f} MB), "
        f"after a whole-tree parse for comparison {tree_rss:.0f} MB ({tree_elements:,} elements)"
    )


if __name__ == "__main__":
    main()
