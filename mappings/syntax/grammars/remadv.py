"""REMADV grammars: EANCOM 1997 REMADV (UN D.96A, subset version 002, `EAN002`) and EANCOM 2002 REMADV
(UN D.01B, subset version 005, `EAN005`), as data for `mappings.syntax.edi_grammar.check_message`.

Structure after GS1's EANCOM pages (1997: BGM segment 2, the DOC group SG4 "C 9999 DOC-MOA-DTM-RFF-NAD-SG5-
SG6-SG8" at segment 12 with its MOA "M 5", SG6 "C 100 AJT-MOA-RFF", the summary MOA "M 5" after UNS; 2002:
heading BGM, DTM M 5, RFF C 5, FII C 5, PAI C 1, SG1 NAD-SG3 CTA-COM, SG4 CUX-DTM, the DOC group SG5
"C 999999 DOC-MOA-DTM-RFF-NAD-SG6-SG7-SG10", SG7 AJT-MOA-RFF-FTX-QTY, SG10 DLI-MOA-PIA-…-SG12 AJT-MOA-RFF).
The 1997 heading is laid out like the UN D.96A message (DTM, RFF, FII, PAI, FTX, SG1 NAD with SG2 CTA-COM,
SG3 CUX-DTM). Covered are the segments `mappings.remittance.edifact_remadv` writes and those real advices
commonly
carry; inside a DLI group only DLI, MOA, PIA, DTM and its AJT group. Element formats are each directory's
(D.96A: RFF 1154 an..35, MOA 5004 n..18, FTX 4440 an..70; D.01B: an..70, n..35, an..512); numeric formats
are checked as decimals ("r"). Code lists are given only where they are short and closed (UNS 0081).
"""

from __future__ import annotations

from typing import Literal

from mappings.syntax.edi_grammar import Element, ElementKind, GroupRule, MessageGrammar, SegmentRule

__all__ = ["GRAMMARS", "REMADV_D01B_EAN005", "REMADV_D96A_EAN002", "Version"]

Version = Literal["D96A", "D01B"]
UNBOUNDED = 999_999


def _e(
    name: str,
    max_length: int = 35,
    kind: ElementKind = "an",
    *,
    mandatory: bool = False,
    codes: frozenset[str] | None = None,
) -> Element:
    element_kind: ElementKind = "id" if codes is not None and kind == "an" else kind
    return Element(name, mandatory, element_kind, 0, max_length, codes)


def _c(name: str, *components: Element, mandatory: bool = False) -> Element:
    return Element(name, mandatory, components=components)


def _s(tag: str, *elements: Element, mandatory: bool = False, max_repeat: int = 1) -> SegmentRule:
    return SegmentRule(tag, mandatory, max_repeat, elements)


def _g(
    name: str, *children: SegmentRule | GroupRule, mandatory: bool = False, max_repeat: int = 1
) -> GroupRule:
    return GroupRule(name, children, mandatory, max_repeat)


def _grammar(version: Version) -> MessageGrammar:
    d01b = version == "D01B"
    reference = 70 if d01b else 35
    text = 512 if d01b else 70
    digits = 35 if d01b else 18
    code_list = 17 if d01b else 3

    def dtm(max_repeat: int = 1, *, mandatory: bool = False) -> SegmentRule:
        return _s(
            "DTM",
            _c(
                "C507 date/time/period",
                _e("2005 qualifier", 3, mandatory=True),
                _e("2380 value", 35),
                _e("2379 format", 3),
                mandatory=True,
            ),
            mandatory=mandatory,
            max_repeat=max_repeat,
        )

    def rff(max_repeat: int = 1, *, mandatory: bool = False) -> SegmentRule:
        components = [
            _e("1153 qualifier", 3, mandatory=True),
            _e("1154 reference", reference),
            _e("1156 line", 6),
            _e("4000 version", 35),
        ]
        if d01b:
            components.append(_e("1060 revision", 6))
        return _s(
            "RFF",
            _c("C506 reference", *components, mandatory=True),
            mandatory=mandatory,
            max_repeat=max_repeat,
        )

    def moa(max_repeat: int = 1, *, mandatory: bool = False) -> SegmentRule:
        return _s(
            "MOA",
            _c(
                "C516 monetary amount",
                _e("5025 qualifier", 3, mandatory=True),
                _e("5004 amount", digits, "r"),
                _e("6345 currency", 3),
                _e("6343 currency qualifier", 3),
                _e("4405 status", 3),
                mandatory=True,
            ),
            mandatory=mandatory,
            max_repeat=max_repeat,
        )

    def ftx(max_repeat: int) -> SegmentRule:
        elements = [
            _e("4451 subject", 3, mandatory=True),
            _e("4453 function", 3),
            _c(
                "C107 text reference",
                _e("4441 code", code_list, mandatory=True),
                _e("1131 code list", code_list),
                _e("3055 agency", 3),
            ),
            _c("C108 text literal", _e("4440 text", text, mandatory=True), *[_e("4440 text", text)] * 4),
            _e("3453 language", 3),
        ]
        if d01b:
            elements.append(_e("4447 format", 3))
        return _s("FTX", *elements, max_repeat=max_repeat)

    def cux() -> SegmentRule:
        currency = _c(
            "C504 currency details",
            _e("6347 usage", 3, mandatory=True),
            _e("6345 currency", 3),
            _e("6343 qualifier", 3),
            _e("6348 rate basis", 4, "n"),
        )
        return _s("CUX", currency, currency, _e("5402 rate", 12, "r"), _e("6341 market", 3), mandatory=True)

    document_name = _c(
        "C002 document/message name",
        _e("1001 code", 3),
        _e("1131 code list", code_list),
        _e("3055 agency", 3),
        _e("1000 name", 35),
    )
    bgm_number = (
        _c(
            "C106 document identification",
            _e("1004 number", 35),
            _e("1056 version", 9),
            _e("1060 revision", 6),
        )
        if d01b
        else _e("1004 number", 35)
    )
    bgm = _s(
        "BGM", document_name, bgm_number, _e("1225 function", 3), _e("4343 response type", 3), mandatory=True
    )
    fii = _s(
        "FII",
        _e("3035 party", 3, mandatory=True),
        _c(
            "C078 account",
            _e("3194 account number", 35),
            _e("3192 holder name", 35),
            _e("3192 holder name", 35),
            _e("6345 currency", 3),
        ),
        _c(
            "C088 institution",
            _e("3433 institution code", 11),
            _e("1131 code list", code_list),
            _e("3055 agency", 3),
            _e("3434 branch number", 17),
            _e("1131 code list", code_list),
            _e("3055 agency", 3),
            _e("3432 institution name", 70),
            _e("3436 branch place", 70),
        ),
        _e("3207 country", 3),
        max_repeat=5,
    )
    pai = _s(
        "PAI",
        _c(
            "C534 payment instructions",
            _e("4439 conditions", 3),
            _e("4431 guarantee", 3),
            _e("4461 means", 3),
            _e("1131 code list", code_list),
            _e("3055 agency", 3),
            _e("4435 channel", 3),
            mandatory=True,
        ),
    )
    nad = _s(
        "NAD",
        _e("3035 party", 3, mandatory=True),
        _c(
            "C082 party identification",
            _e("3039 id", 35, mandatory=True),
            _e("1131 code list", code_list),
            _e("3055 agency", 3),
        ),
        _c("C058 name and address", _e("3124 line", 35, mandatory=True), *[_e("3124 line", 35)] * 4),
        _c(
            "C080 party name",
            _e("3036 name", 35, mandatory=True),
            *[_e("3036 name", 35)] * 4,
            _e("3045 format", 3),
        ),
        _c(
            "C059 street",
            _e("3042 street", 35, mandatory=True),
            *[_e("3042 street", 35)] * (3 if d01b else 2),
        ),
        _e("3164 city", 35),
        (
            _c(
                "C819 subdivision",
                _e("3229 code", 9),
                _e("1131 code list", code_list),
                _e("3055 agency", 3),
                _e("3228 name", 70),
            )
            if d01b
            else _e("3229 subdivision", 9)
        ),
        _e("3251 postcode", 17 if d01b else 9),
        _e("3207 country", 3),
        mandatory=True,
    )
    cta = _s(
        "CTA",
        _e("3139 function", 3),
        _c("C056 contact", _e("3413 id", 17), _e("3412 name", 256 if d01b else 35)),
        mandatory=True,
    )
    com = _s(
        "COM",
        _c(
            "C076 communication",
            _e("3148 number", 512, mandatory=True),
            _e("3155 channel", 3, mandatory=True),
            mandatory=True,
        ),
        max_repeat=5,
    )
    doc = _s(
        "DOC",
        _c(
            "C002 document/message name",
            _e("1001 code", 3),
            _e("1131 code list", code_list),
            _e("3055 agency", 3),
            _e("1000 name", 35),
            mandatory=True,
        ),
        _c(
            "C503 document details",
            _e("1004 number", 35),
            _e("1373 status", 3),
            _e("1366 source", 70 if d01b else 35),
            _e("3453 language", 3),
            *([_e("1056 version", 9), _e("1060 revision", 6)] if d01b else []),
        ),
        _e("3153 channel", 3),
        _e("1220 copies", 2, "n"),
        _e("1218 originals", 2, "n"),
        mandatory=True,
    )
    ajt = _s("AJT", _e("4465 reason", 3, mandatory=True), _e("1082 line item", 6), mandatory=True)
    qty = _s(
        "QTY",
        _c(
            "C186 quantity",
            _e("6063 qualifier", 3, mandatory=True),
            _e("6060 quantity", digits if d01b else 15, "r", mandatory=True),
            _e("6411 unit", 8 if d01b else 3),
            mandatory=True,
        ),
    )
    dli = _s("DLI", _e("1073 action", 3, mandatory=True), _e("1082 line item", 6), mandatory=True)
    pia = _s(
        "PIA",
        _e("4347 function", 3, mandatory=True),
        *[
            _c(
                "C212 item number",
                _e("7140 number", 35),
                _e("7143 type", 3),
                _e("1131 code list", code_list),
                _e("3055 agency", 3),
            )
        ]
        * 5,
        max_repeat=5,
    )
    uns = _s("UNS", _e("0081 section", 1, "a", mandatory=True, codes=frozenset({"D", "S"})), mandatory=True)

    def sg(d96a: int, d01b_number: int) -> str:
        return f"SG{d01b_number if d01b else d96a}"

    adjustment = (
        _g(sg(6, 7), ajt, moa(), rff(), ftx(5), qty, max_repeat=100)
        if d01b
        else _g(sg(6, 7), ajt, moa(), rff(), max_repeat=100)
    )
    children: tuple[SegmentRule | GroupRule, ...] = (
        bgm,
        dtm(5, mandatory=True),
        rff(5),
        fii,
        pai,
        ftx(5),
        _g(sg(1, 1), nad, _g(sg(2, 3), cta, com, max_repeat=5), max_repeat=99),
        _g(sg(3, 4), cux(), dtm(), max_repeat=5),
        _g(
            sg(4, 5),
            doc,
            moa(99 if d01b else 5, mandatory=True),
            dtm(5),
            rff(5),
            _s("NAD", *nad.elements, max_repeat=2),
            _g(sg(5, 6), cux(), dtm(), max_repeat=5),
            adjustment,
            _g(
                sg(8, 10),
                dli,
                moa(5),
                pia,
                dtm(5),
                _g(sg(9, 12), ajt, moa(), rff(), max_repeat=10),
                max_repeat=9999,
            ),
            max_repeat=UNBOUNDED if d01b else 9999,
        ),
        uns,
        moa(99, mandatory=True),
    )
    name = "REMADV D.01B EAN005" if d01b else "REMADV D.96A EAN002"
    return MessageGrammar(name, children, "edifact")


REMADV_D96A_EAN002 = _grammar("D96A")
REMADV_D01B_EAN005 = _grammar("D01B")

GRAMMARS: dict[Version, MessageGrammar] = {"D96A": REMADV_D96A_EAN002, "D01B": REMADV_D01B_EAN005}
