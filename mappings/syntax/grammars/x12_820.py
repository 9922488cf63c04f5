"""ASC X12 820 Payment Order / Remittance Advice, 004010 and 005010: the transaction set body as grammar data.

`X12_820_004010` and `X12_820_005010` describe what lies between ST and SE for
`mappings.syntax.edi_grammar.check_message`: the heading (BPR, NTE, TRN, CUR, REF, DTM and the N1 loop with
N2,
N3, N4, REF, PER, RDM, DTM) and the detail ENT loop with its NM1 loop, its ADX loop (NTE, PER, DTM, REF) and
its RMR loop (NTE, REF, DTM, the IT1 loop with REF, SAC/TXI and SLN, and the RMR's own ADX loop), as in the
820 tables of the two releases. Rarely used detail loops (TXP, DED, LX, N9, RYL) and the IT1 loop's deeper
levels are left out: a file carrying them is reported as having an unexpected segment, which
`mappings.remittance.x12_820` only shows (`inspect`) and never acts on.

Types: X12 ID → "id", AN → "an", DT → "dt" (CCYYMMDD), TM → "tm", R → "r", N0/N2 → "n". Lengths are the
release's (005010 widens TRN02/TRN04, REF02, RMR02 and ADX04 to 50, NM103 to 60 and NM104 to 35). Code lists
are given only where they are short and closed (BPR03 credit/debit flag).
"""

from __future__ import annotations

from typing import Final, Literal

from mappings.syntax.edi_grammar import Element, ElementKind, GroupRule, MessageGrammar, SegmentRule

__all__ = ["UNBOUNDED", "X12_820_004010", "X12_820_005010", "grammar_for"]

Version = Literal["004010", "005010"]

#: ">1" in the standard's max use or loop repeat columns.
UNBOUNDED: Final = 999_999


def _e(
    name: str,
    kind: ElementKind,
    min_length: int,
    max_length: int,
    *,
    mandatory: bool = False,
    codes: frozenset[str] | None = None,
) -> Element:
    return Element(name, mandatory, kind, min_length, max_length, codes)


def _s(tag: str, *elements: Element, mandatory: bool = False, max_repeat: int = 1) -> SegmentRule:
    return SegmentRule(tag, mandatory, max_repeat, elements)


def _g(name: str, *children: SegmentRule | GroupRule, max_repeat: int = UNBOUNDED) -> GroupRule:
    return GroupRule(name, children, False, max_repeat)


def _grammar(version: Version) -> MessageGrammar:
    wide = version == "005010"
    reference = 50 if wide else 30
    id_pairs = [
        element
        for n in range(10)
        for element in (
            _e(f"product/service ID qualifier {n + 1}", "id", 2, 2),
            _e(f"product/service ID {n + 1}", "an", 1, 48),
        )
    ]

    bpr = _s(
        "BPR",
        _e("BPR01 transaction handling code", "id", 1, 2, mandatory=True),
        _e("BPR02 monetary amount", "r", 1, 18, mandatory=True),
        _e("BPR03 credit/debit flag", "id", 1, 1, mandatory=True, codes=frozenset({"C", "D"})),
        _e("BPR04 payment method", "id", 3, 3, mandatory=True),
        _e("BPR05 payment format", "id", 1, 10),
        _e("BPR06 DFI ID qualifier", "id", 2, 2),
        _e("BPR07 DFI ID", "an", 3, 12),
        _e("BPR08 account number qualifier", "id", 1, 3),
        _e("BPR09 account number", "an", 1, 35),
        _e("BPR10 originating company identifier", "an", 10, 10),
        _e("BPR11 originating company supplemental code", "an", 9, 9),
        _e("BPR12 DFI ID qualifier", "id", 2, 2),
        _e("BPR13 DFI ID", "an", 3, 12),
        _e("BPR14 account number qualifier", "id", 1, 3),
        _e("BPR15 account number", "an", 1, 35),
        _e("BPR16 date", "dt", 8, 8),
        _e("BPR17 business function code", "id", 1, 3),
        _e("BPR18 DFI ID qualifier", "id", 2, 2),
        _e("BPR19 DFI ID", "an", 3, 12),
        _e("BPR20 account number qualifier", "id", 1, 3),
        _e("BPR21 account number", "an", 1, 35),
        mandatory=True,
    )
    nte = _s(
        "NTE",
        _e("NTE01 note reference code", "id", 3, 3),
        _e("NTE02 description", "an", 1, 80, mandatory=True),
        max_repeat=UNBOUNDED,
    )
    trn = _s(
        "TRN",
        _e("TRN01 trace type", "id", 1, 2, mandatory=True),
        _e("TRN02 reference identification", "an", 1, reference, mandatory=True),
        _e("TRN03 originating company identifier", "an", 10, 10),
        _e("TRN04 reference identification", "an", 1, reference),
    )
    cur = _s(
        "CUR",
        _e("CUR01 entity identifier", "id", 2, 3, mandatory=True),
        _e("CUR02 currency code", "id", 3, 3, mandatory=True),
        _e("CUR03 exchange rate", "r", 4, 10),
        _e("CUR04 entity identifier", "id", 2, 3),
        _e("CUR05 currency code", "id", 3, 3),
        *[_e(f"CUR{n:02d}", "an", 1, 8) for n in range(6, 22)],
    )

    def ref(max_repeat: int = UNBOUNDED) -> SegmentRule:
        return _s(
            "REF",
            _e("REF01 reference qualifier", "id", 2, 3, mandatory=True),
            _e("REF02 reference identification", "an", 1, reference),
            _e("REF03 description", "an", 1, 80),
            Element(
                "REF04 reference identifier",
                components=(
                    _e("C04001", "id", 2, 3, mandatory=True),
                    _e("C04002", "an", 1, reference),
                    _e("C04003", "id", 2, 3),
                    _e("C04004", "an", 1, reference),
                    _e("C04005", "id", 2, 3),
                    _e("C04006", "an", 1, reference),
                ),
            ),
            max_repeat=max_repeat,
        )

    def dtm(max_repeat: int = UNBOUNDED) -> SegmentRule:
        return _s(
            "DTM",
            _e("DTM01 date/time qualifier", "id", 3, 3, mandatory=True),
            _e("DTM02 date", "dt", 8, 8),
            _e("DTM03 time", "tm", 4, 8),
            _e("DTM04 time code", "id", 2, 2),
            _e("DTM05 date time period format qualifier", "id", 2, 3),
            _e("DTM06 date time period", "an", 1, 35),
            max_repeat=max_repeat,
        )

    def per() -> SegmentRule:
        return _s(
            "PER",
            _e("PER01 contact function", "id", 2, 2, mandatory=True),
            _e("PER02 name", "an", 1, 60),
            *[
                element
                for n in (3, 5, 7)
                for element in (
                    _e(f"PER{n:02d} communication number qualifier", "id", 2, 2),
                    _e(f"PER{n + 1:02d} communication number", "an", 1, 80),
                )
            ],
            _e("PER09 contact inquiry reference", "an", 1, 20),
            max_repeat=UNBOUNDED,
        )

    n2 = _s("N2", _e("N201 name", "an", 1, 60, mandatory=True), _e("N202 name", "an", 1, 60), max_repeat=2)
    n3 = _s(
        "N3", _e("N301 address", "an", 1, 55, mandatory=True), _e("N302 address", "an", 1, 55), max_repeat=2
    )
    n4 = _s(
        "N4",
        _e("N401 city", "an", 2, 30),
        _e("N402 state", "id", 2, 2),
        _e("N403 postal code", "id", 3, 15),
        _e("N404 country", "id", 2, 3),
        _e("N405 location qualifier", "id", 1, 2),
        _e("N406 location identifier", "an", 1, 30),
    )
    n1 = _s(
        "N1",
        _e("N101 entity identifier", "id", 2, 3, mandatory=True),
        _e("N102 name", "an", 1, 60),
        _e("N103 identification code qualifier", "id", 1, 2),
        _e("N104 identification code", "an", 2, 80),
        _e("N105 entity relationship", "id", 2, 2),
        _e("N106 entity identifier", "id", 2, 3),
        mandatory=True,
    )
    rdm = _s(
        "RDM",
        _e("RDM01 report transmission code", "id", 1, 2, mandatory=True),
        _e("RDM02 name", "an", 1, 60),
        _e("RDM03 communication number", "an", 1, 80),
    )
    ent = _s(
        "ENT",
        _e("ENT01 assigned number", "n", 1, 6),
        _e("ENT02 entity identifier", "id", 2, 3),
        _e("ENT03 identification code qualifier", "id", 1, 2),
        _e("ENT04 identification code", "an", 2, 80),
        _e("ENT05 entity identifier", "id", 2, 3),
        _e("ENT06 identification code qualifier", "id", 1, 2),
        _e("ENT07 identification code", "an", 2, 80),
        _e("ENT08 reference qualifier", "id", 2, 3),
        _e("ENT09 reference identification", "an", 1, reference),
        mandatory=True,
    )
    nm1 = _s(
        "NM1",
        _e("NM101 entity identifier", "id", 2, 3, mandatory=True),
        _e("NM102 entity type qualifier", "id", 1, 1, mandatory=True),
        _e("NM103 last or organization name", "an", 1, 60 if wide else 35),
        _e("NM104 first name", "an", 1, 35 if wide else 25),
        _e("NM105 middle name", "an", 1, 25),
        _e("NM106 prefix", "an", 1, 10),
        _e("NM107 suffix", "an", 1, 10),
        _e("NM108 identification code qualifier", "id", 1, 2),
        _e("NM109 identification code", "an", 2, 80),
        _e("NM110 entity relationship", "id", 2, 2),
        _e("NM111 entity identifier", "id", 2, 3),
        *([_e("NM112 name", "an", 1, 60)] if wide else []),
        mandatory=True,
    )
    adx = _s(
        "ADX",
        _e("ADX01 monetary amount", "r", 1, 18, mandatory=True),
        _e("ADX02 adjustment reason", "id", 2, 2, mandatory=True),
        _e("ADX03 reference qualifier", "id", 2, 3),
        _e("ADX04 reference identification", "an", 1, reference),
        mandatory=True,
    )
    rmr = _s(
        "RMR",
        _e("RMR01 reference qualifier", "id", 2, 3),
        _e("RMR02 reference identification", "an", 1, reference),
        _e("RMR03 payment action code", "id", 2, 2),
        _e("RMR04 monetary amount", "r", 1, 18),
        _e("RMR05 monetary amount", "r", 1, 18),
        _e("RMR06 monetary amount", "r", 1, 18),
        _e("RMR07 adjustment reason", "id", 2, 2),
        _e("RMR08 monetary amount", "r", 1, 18),
        mandatory=True,
    )
    it1 = _s(
        "IT1",
        _e("IT101 assigned identification", "an", 1, 20),
        _e("IT102 quantity", "r", 1, 15 if wide else 10),
        _e("IT103 unit", "id", 2, 2),
        _e("IT104 unit price", "r", 1, 17),
        _e("IT105 basis of unit price", "id", 2, 2),
        *id_pairs,
        mandatory=True,
    )
    sac = _s(
        "SAC",
        _e("SAC01 allowance or charge indicator", "id", 1, 1, mandatory=True),
        _e("SAC02 code", "id", 4, 4),
        _e("SAC03 agency qualifier", "id", 2, 2),
        _e("SAC04 agency code", "an", 1, 10),
        _e("SAC05 amount", "n", 1, 15),
        _e("SAC06 percent qualifier", "id", 1, 1),
        _e("SAC07 percent", "r", 1, 6),
        _e("SAC08 rate", "r", 1, 9),
        _e("SAC09 unit", "id", 2, 2),
        _e("SAC10 quantity", "r", 1, 15),
        _e("SAC11 quantity", "r", 1, 15),
        _e("SAC12 method of handling", "id", 2, 2),
        _e("SAC13 reference identification", "an", 1, reference),
        _e("SAC14 option number", "an", 1, 20),
        _e("SAC15 description", "an", 1, 80),
        _e("SAC16 language code", "id", 2, 3),
        mandatory=True,
    )
    txi = _s(
        "TXI",
        _e("TXI01 tax type", "id", 2, 2, mandatory=True),
        _e("TXI02 amount", "r", 1, 18),
        _e("TXI03 percent", "r", 1, 10),
        _e("TXI04 jurisdiction qualifier", "id", 2, 2),
        _e("TXI05 jurisdiction code", "an", 1, 30),
        _e("TXI06 exempt code", "id", 1, 1),
        _e("TXI07 relationship code", "id", 1, 1),
        _e("TXI08 dollar basis", "r", 1, 15),
        _e("TXI09 tax identification", "an", 1, 20),
        _e("TXI10 assigned identification", "an", 1, 20),
        max_repeat=UNBOUNDED,
    )
    sln = _s(
        "SLN",
        _e("SLN01 assigned identification", "an", 1, 20, mandatory=True),
        _e("SLN02 assigned identification", "an", 1, 8),
        _e("SLN03 relationship code", "id", 1, 1, mandatory=True),
        _e("SLN04 quantity", "r", 1, 15),
        Element(
            "SLN05 composite unit of measure",
            components=(
                _e("C00101 unit", "id", 2, 2, mandatory=True),
                *[_e(f"C001{n:02d}", "r", 1, 15) for n in range(2, 16)],
            ),
        ),
        _e("SLN06 unit price", "r", 1, 17),
        _e("SLN07 basis of unit price", "id", 2, 2),
        _e("SLN08 relationship code", "id", 1, 1),
        *id_pairs,
        mandatory=True,
    )

    item_loop = _g(
        "IT1",
        it1,
        _g("REF", ref(1), dtm(1)),
        _g("SAC", sac, txi),
        _g("SLN", sln, _g("REF", ref(1), dtm()), _g("SAC", sac, txi)),
    )
    children: tuple[SegmentRule | GroupRule, ...] = (
        bpr,
        nte,
        trn,
        _s("CUR", *cur.elements),
        ref(),
        dtm(),
        _g("N1", n1, n2, n3, n4, ref(), per(), rdm, dtm(1)),
        _g(
            "ENT",
            ent,
            _g("NM1", nm1, n2, n3, n4, ref(), per()),
            _g("ADX", adx, nte, per(), dtm(1), _g("REF", ref(1), dtm()), item_loop),
            _g(
                "RMR",
                rmr,
                nte,
                ref(),
                dtm(),
                item_loop,
                _g("ADX", adx, nte, per(), _g("REF", ref(1), dtm()), item_loop),
            ),
        ),
    )
    return MessageGrammar(f"820 {version}", children, "x12")


X12_820_004010 = _grammar("004010")
X12_820_005010 = _grammar("005010")


def grammar_for(release: str) -> MessageGrammar:
    """The grammar for a GS08 release: 005010 and later read with the 005010 tables, anything earlier with
    the 004010 ones (the 003xxx–004060 820s share the segments and loops read here)."""
    return X12_820_005010 if release[:6].isdigit() and release[:6] >= "005010" else X12_820_004010
