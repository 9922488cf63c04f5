"""INVOIC grammars for what `mappings.invoice.edifact_invoic` writes: EANCOM 1997 INVOIC (UN D.96A, subset
EAN008)
and UN D.01B INVOIC.

Structure, segment group numbers, status and maximum repeats follow the UNTDID D.96A and D.01B INVOIC
segment tables (as also generated into Bots' UN grammars); EANCOM 1997 INVOIC version 008 keeps the D.96A
numbering and repeats where we could check them (GS1's EANCOM 1997 pages: SG25 LIN C 9999999, SG30 PAC C 10,
SG31 PCI C 10). Only the segments and groups the gateway writes are listed, in their places (plus the
heading SG6 TAX-MOA and the summary ALC group, which we do not write), so an unknown or misplaced segment in
our own output is an error. Element formats are each release's (D.96A: RFF 1154 an..35, MOA 5004 n..18, QTY
6060 n..15, NAD 3251 an..9, IMD 7008 an..35, FTX 4440 an..70; D.01B: an..70, n..35, an..35, an..17, an..256,
an..512). Numeric directory formats are checked as decimals ("r"). Code lists hold the values we write and
their common siblings; a code outside them fails our own check.
"""

from __future__ import annotations

from typing import Literal

from mappings.syntax.edi_grammar import Element, ElementKind, GroupRule, MessageGrammar, SegmentRule

#: UNCL 1001 document codes EN 16931 allows for an invoice or credit note (BT-3).
DOCUMENT_CODES = frozenset(
    {
        "71",
        "80",
        "81",
        "82",
        "83",
        "84",
        "102",
        "130",
        "202",
        "203",
        "204",
        "211",
        "218",
        "219",
        "261",
        "262",
        "295",
        "296",
        "308",
        "325",
        "326",
        "331",
        "380",
        "381",
        "382",
        "383",
        "384",
        "385",
        "386",
        "387",
        "388",
        "389",
        "390",
        "393",
        "394",
        "395",
        "396",
        "420",
        "456",
        "457",
        "458",
        "527",
        "532",
        "553",
        "575",
        "623",
        "633",
        "751",
        "780",
        "817",
        "870",
        "875",
        "876",
        "877",
        "935",
    }
)
#: The UNCL 1001 codes among those that are credit notes (PEPPOL BIS 3 credit note type codes).
CREDIT_NOTE_CODES = frozenset({"81", "83", "261", "262", "296", "308", "381", "396", "420", "458", "532"})
#: UNCL 5305 duty/tax/fee category codes EN 16931 uses (BT-118, BT-151).
VAT_CATEGORIES = frozenset({"S", "Z", "E", "AE", "K", "G", "O", "L", "M"})

MESSAGE_FUNCTIONS = frozenset({"1", "5", "7", "9", "31", "43"})
DATE_QUALIFIERS = frozenset({"3", "11", "13", "35", "131", "137", "140", "171", "194", "206", "263"})
DATE_FORMATS = frozenset({"101", "102", "203", "610", "718"})
TEXT_SUBJECTS = frozenset({"AAB", "AAI", "ABN", "PMT", "REG", "SUR", "TXD", "ZZZ"})
HEADER_REFERENCES = frozenset({"AAK", "AEP", "ALO", "CR", "CT", "DQ", "IV", "ON", "PQ", "VN"})
PARTY_REFERENCES = frozenset({"API", "FC", "GN", "IT", "VA", "XA"})
LINE_REFERENCES = frozenset({"AAK", "DQ", "LI", "ON"})
PARTY_QUALIFIERS = frozenset({"BY", "DP", "II", "IV", "LC", "PE", "PR", "SE", "SU", "UC"})
AGENCIES = frozenset({"9", "91", "92", "ZZZ"})
ACCOUNT_QUALIFIERS = frozenset({"BF", "RB"})
CONTACT_FUNCTIONS = frozenset({"AD", "IC", "PD"})
CHANNELS = frozenset({"EM", "FX", "TE"})
ALLOWANCE_OR_CHARGE = frozenset({"A", "C"})
PERCENT_QUALIFIERS = frozenset({"1", "2", "3"})
ALC_AMOUNTS = frozenset({"8", "23", "25", "204"})
LINE_AMOUNTS = frozenset({"203"})
SUMMARY_AMOUNTS = frozenset(
    {"9", "77", "79", "86", "113", "124", "125", "129", "131", "165", "176", "259", "260"}
)
TAX_AMOUNTS = frozenset({"124", "125"})
QUANTITY_QUALIFIERS = frozenset({"12", "46", "47", "61", "192"})
PRICE_QUALIFIERS = frozenset({"AAA", "AAB"})
ITEM_NUMBER_TYPES = frozenset({"BP", "EN", "IN", "MF", "SA", "SRV"})
DESCRIPTION_FORMATS = frozenset({"A", "E", "F"})
PAYMENT_TERMS = frozenset({"1", "3", "20", "22"})

Version = Literal["D96A", "D01B"]


def _e(
    name: str,
    max_length: int = 35,
    kind: ElementKind = "an",
    *,
    mandatory: bool = False,
    codes: frozenset[str] | None = None,
    min_length: int = 0,
) -> Element:
    return Element(
        name, mandatory, "id" if codes is not None and kind == "an" else kind, min_length, max_length, codes
    )


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
    list_id = 17 if d01b else 3  # 1131 code list identification
    reference_length = 70 if d01b else 35  # 1154
    text_length = 512 if d01b else 70  # 4440
    description_length = 256 if d01b else 35  # 7008
    amount_length = 35 if d01b else 18  # 5004
    quantity_length = 35 if d01b else 15  # 6060
    postcode_length = 17 if d01b else 9  # 3251

    def sg(number_d96a: int, number_d01b: int) -> str:
        return f"SG{number_d01b if d01b else number_d96a}"

    def dtm(codes: frozenset[str] = DATE_QUALIFIERS, max_repeat: int = 5) -> SegmentRule:
        return _s(
            "DTM",
            _c(
                "C507 date/time/period",
                _e("2005 date/time/period qualifier", 3, mandatory=True, codes=codes),
                _e("2380 date/time/period"),
                _e("2379 date/time/period format", 3, codes=DATE_FORMATS),
                mandatory=True,
            ),
            max_repeat=max_repeat,
        )

    def rff(codes: frozenset[str]) -> SegmentRule:
        components = [
            _e("1153 reference qualifier", 3, mandatory=True, codes=codes),
            _e("1154 reference number", reference_length),
            _e("1156 line number", 6),
            _e("4000 reference version number", 35),
        ]
        if d01b:
            components.append(_e("1060 revision number", 6))
        return _s("RFF", _c("C506 reference", *components, mandatory=True), mandatory=True)

    def moa(codes: frozenset[str], max_repeat: int = 1, *, mandatory: bool = False) -> SegmentRule:
        return _s(
            "MOA",
            _c(
                "C516 monetary amount",
                _e("5025 monetary amount type qualifier", 3, mandatory=True, codes=codes),
                _e("5004 monetary amount", amount_length, "r", mandatory=True),
                _e("6345 currency", 3),
                _e("6343 currency qualifier", 3),
                _e("4405 status", 3),
                mandatory=True,
            ),
            mandatory=mandatory,
            max_repeat=max_repeat,
        )

    def tax(*, mandatory: bool = False) -> SegmentRule:
        elements = [
            _e("5283 duty/tax/fee function qualifier", 3, mandatory=True, codes=frozenset({"7"})),
            _c(
                "C241 duty/tax/fee type",
                _e("5153 duty/tax/fee type", 3, codes=frozenset({"VAT"})),
                _e("1131 code list", list_id),
                _e("3055 agency", 3),
                _e("5152 duty/tax/fee type", 35),
            ),
            _c(
                "C533 duty/tax/fee account detail",
                _e("5289 duty/tax/fee account", 6, mandatory=True),
                _e("1131 code list", list_id),
                _e("3055 agency", 3),
            ),
            _e("5286 duty/tax/fee assessment basis", 15),
            _c(
                "C243 duty/tax/fee detail",
                _e("5279 duty/tax/fee rate identification", 7),
                _e("1131 code list", list_id),
                _e("3055 agency", 3),
                _e("5278 duty/tax/fee rate", 17),
                _e("5273 duty/tax/fee rate basis", 12),
                _e("1131 code list", list_id),
                _e("3055 agency", 3),
            ),
            _e("5305 duty/tax/fee category", 3, codes=VAT_CATEGORIES),
            _e("3446 party tax identification", 20),
        ]
        if d01b:
            elements.append(_e("1227 calculation sequence", 3))
        return _s("TAX", *elements, mandatory=mandatory)

    def pcd(*, mandatory: bool = True) -> SegmentRule:
        elements = [
            _c(
                "C501 percentage details",
                _e("5245 percentage qualifier", 3, mandatory=True, codes=PERCENT_QUALIFIERS),
                _e("5482 percentage", 10, "r"),
                _e("5249 percentage basis", 3),
                _e("1131 code list", list_id),
                _e("3055 agency", 3),
                mandatory=True,
            )
        ]
        if d01b:
            elements.append(_e("4405 status", 3))
        return _s("PCD", *elements, mandatory=mandatory)

    def alc() -> SegmentRule:
        return _s(
            "ALC",
            _e("5463 allowance or charge qualifier", 3, mandatory=True, codes=ALLOWANCE_OR_CHARGE),
            _c(
                "C552 allowance/charge information",
                _e("1230 allowance or charge number", 35),
                _e("5189 charge/allowance description", 3),
            ),
            _e("4471 settlement", 3),
            _e("1227 calculation sequence", 3),
            _c(
                "C214 special services identification",
                _e("7161 special services", 3),
                _e("1131 code list", list_id),
                _e("3055 agency", 3),
                _e("7160 special service", 35),
                _e("7160 special service", 35),
            ),
            mandatory=True,
        )

    def ftx(max_repeat: int) -> SegmentRule:
        elements = [
            _e("4451 text subject qualifier", 3, mandatory=True, codes=TEXT_SUBJECTS),
            _e("4453 text function", 3),
            _c(
                "C107 text reference",
                _e("4441 free text", list_id, mandatory=True),
                _e("1131 code list", list_id),
                _e("3055 agency", 3),
            ),
            _c(
                "C108 text literal",
                _e("4440 free text", text_length, mandatory=True),
                *(_e("4440 free text", text_length) for _ in range(4)),
            ),
            _e("3453 language", 3),
        ]
        if d01b:
            elements.append(_e("4447 text formatting", 3))
        return _s("FTX", *elements, max_repeat=max_repeat)

    def item_number(name: str, *, mandatory: bool = False) -> Element:
        return _c(
            name,
            _e("7140 item number", 35),
            _e("7143 item number type", 3, codes=ITEM_NUMBER_TYPES),
            _e("1131 code list", list_id),
            _e("3055 agency", 3),
            mandatory=mandatory,
        )

    document_number = (
        _c(
            "C106 document/message identification",
            _e("1004 document number", 35, mandatory=True),
            _e("1056 version", 9),
            _e("1060 revision number", 6),
            mandatory=True,
        )
        if d01b
        else _e("1004 document/message number", 35, mandatory=True)
    )
    bgm = _s(
        "BGM",
        _c(
            "C002 document/message name",
            _e("1001 document name code", 3, mandatory=True, codes=DOCUMENT_CODES),
            _e("1131 code list", list_id),
            _e("3055 agency", 3),
            _e("1000 document name", 35),
            mandatory=True,
        ),
        document_number,
        _e("1225 message function", 3, codes=MESSAGE_FUNCTIONS),
        _e("4343 response type", 3),
        mandatory=True,
    )
    pai = _s(
        "PAI",
        _c(
            "C534 payment instruction details",
            _e("4439 payment conditions", 3),
            _e("4431 payment guarantee", 3),
            _e("4461 payment means", 3),
            _e("1131 code list", list_id),
            _e("3055 agency", 3),
            _e("4435 payment channel", 3),
            mandatory=True,
        ),
    )
    subdivision = (
        _c(
            "C819 country sub-entity details",
            _e("3229 country sub-entity code", 9),
            _e("1131 code list", list_id),
            _e("3055 agency", 3),
            _e("3228 country sub-entity name", 70),
        )
        if d01b
        else _e("3229 country sub-entity identification", 9)
    )
    nad = _s(
        "NAD",
        _e("3035 party qualifier", 3, mandatory=True, codes=PARTY_QUALIFIERS),
        _c(
            "C082 party identification details",
            _e("3039 party identification", 35, mandatory=True),
            _e("1131 code list", list_id),
            _e("3055 agency", 3, codes=AGENCIES),
        ),
        _c(
            "C058 name and address",
            *(_e("3124 name and address line", 35, mandatory=index == 0) for index in range(5)),
        ),
        _c(
            "C080 party name",
            *(_e("3036 party name", 35, mandatory=index == 0) for index in range(5)),
            _e("3045 party name format", 3),
        ),
        _c(
            "C059 street",
            *(_e("3042 street and number/p.o. box", 35, mandatory=index == 0) for index in range(4)),
        ),
        _e("3164 city name", 35),
        subdivision,
        _e("3251 postcode", postcode_length),
        _e("3207 country", 3),
        mandatory=True,
    )
    fii = _s(
        "FII",
        _e("3035 party qualifier", 3, mandatory=True, codes=ACCOUNT_QUALIFIERS),
        _c(
            "C078 account identification",
            _e("3194 account holder number", 35),
            _e("3192 account holder name", 35),
            _e("3192 account holder name", 35),
            _e("6345 currency", 3),
        ),
        _c(
            "C088 institution identification",
            _e("3433 institution name identification", 11),
            _e("1131 code list", list_id),
            _e("3055 agency", 3),
            _e("3434 institution branch number", 17),
            _e("1131 code list", list_id),
            _e("3055 agency", 3),
            _e("3432 institution name", 70),
            _e("3436 institution branch place", 70),
        ),
        _e("3207 country", 3),
        max_repeat=5,
    )
    cta = _s(
        "CTA",
        _e("3139 contact function", 3, codes=CONTACT_FUNCTIONS),
        _c(
            "C056 department or employee details",
            _e("3413 department or employee identification", 17),
            _e("3412 department or employee", 35),
        ),
        mandatory=True,
    )
    com = _s(
        "COM",
        _c(
            "C076 communication contact",
            _e("3148 communication number", 512, mandatory=True),
            _e("3155 communication channel qualifier", 3, mandatory=True, codes=CHANNELS),
            mandatory=True,
        ),
        max_repeat=5,
    )
    cux = _s(
        "CUX",
        _c(
            "C504 currency details",
            _e("6347 currency details qualifier", 3, mandatory=True, codes=frozenset({"2"})),
            _e("6345 currency", 3, min_length=3),
            _e("6343 currency qualifier", 3, codes=frozenset({"4"})),
            _e("6348 currency rate base", 4, "r"),
        ),
        _c(
            "C504 currency details",
            _e("6347 currency details qualifier", 3, mandatory=True),
            _e("6345 currency", 3),
            _e("6343 currency qualifier", 3),
            _e("6348 currency rate base", 4, "r"),
        ),
        _e("5402 rate of exchange", 12, "r"),
        _e("6341 currency market exchange", 3),
        mandatory=True,
    )
    pat = _s(
        "PAT",
        _e("4279 payment terms type qualifier", 3, mandatory=True, codes=PAYMENT_TERMS),
        _c(
            "C110 payment terms",
            _e("4277 terms of payment identification", 17, mandatory=True),
            _e("1131 code list", list_id),
            _e("3055 agency", 3),
            _e("4276 terms of payment", 35),
            _e("4276 terms of payment", 35),
        ),
        _c(
            "C112 terms/time information",
            _e("2475 payment time reference", 3, mandatory=True),
            _e("2009 time relation", 3),
            _e("2151 type of period", 3),
            _e("2152 number of periods", 3, "n"),
        ),
        mandatory=True,
    )
    line_number = _e("1082 line item number", 6, "an" if d01b else "n")
    lin = _s(
        "LIN",
        line_number,
        _e("1229 action request", 3),
        item_number("C212 item number identification"),
        _c("C829 sub-line information", _e("5495 sub-line indicator", 3), line_number),
        _e("1222 configuration level", 2, "n"),
        _e("7083 configuration", 3),
        mandatory=True,
    )
    pia = _s(
        "PIA",
        _e("4347 product id function qualifier", 3, mandatory=True, codes=frozenset({"1", "5"})),
        item_number("C212 item number identification", mandatory=True),
        *(item_number("C212 item number identification") for _ in range(4)),
        max_repeat=25,
    )
    characteristic = (
        _c(
            "C272 item characteristic",
            _e("7081 item characteristic", 3),
            _e("1131 code list", list_id),
            _e("3055 agency", 3),
        )
        if d01b
        else _e("7081 item characteristic", 3)
    )
    imd = _s(
        "IMD",
        _e("7077 item description type", 3, codes=DESCRIPTION_FORMATS),
        characteristic,
        _c(
            "C273 item description",
            _e("7009 item description identification", 17),
            _e("1131 code list", list_id),
            _e("3055 agency", 3),
            _e("7008 item description", description_length),
            _e("7008 item description", description_length),
            _e("3453 language", 3),
        ),
        _e("7383 surface/layer indicator", 3),
        max_repeat=99 if d01b else 10,
    )
    qty = _s(
        "QTY",
        _c(
            "C186 quantity details",
            _e("6063 quantity qualifier", 3, mandatory=True, codes=QUANTITY_QUALIFIERS),
            _e("6060 quantity", quantity_length, "r", mandatory=True),
            _e("6411 measure unit", 3),
            mandatory=True,
        ),
        max_repeat=5,
    )
    pri = _s(
        "PRI",
        _c(
            "C509 price information",
            _e("5125 price qualifier", 3, mandatory=True, codes=PRICE_QUALIFIERS),
            _e("5118 price", 15, "r", mandatory=True),
            _e("5375 price type", 3),
            _e("5387 price type qualifier", 3),
            _e("5284 unit price basis", 9, "r"),
            _e("6411 measure unit", 3),
            mandatory=True,
        ),
        _e("5213 sub-line price change", 3),
        mandatory=True,
    )
    uns = _s(
        "UNS",
        _e("0081 section identification", 1, mandatory=True, codes=frozenset({"D", "S"})),
        mandatory=True,
    )
    cnt = _s(
        "CNT",
        _c(
            "C270 control",
            _e("6069 control qualifier", 3, mandatory=True, codes=frozenset({"1", "2"})),
            _e("6066 control value", 18, "r", mandatory=True),
            _e("6411 measure unit", 3),
            mandatory=True,
        ),
        max_repeat=10,
    )

    children: tuple[SegmentRule | GroupRule, ...] = (
        bgm,
        _s("DTM", *dtm().elements, mandatory=True, max_repeat=35),
        pai,
        ftx(99 if d01b else 10),
        _g("SG1", rff(HEADER_REFERENCES), dtm(), max_repeat=99999 if d01b else 99),
        _g(
            "SG2",
            nad,
            fii,
            _g("SG3", rff(PARTY_REFERENCES), dtm(), max_repeat=9999),
            _g("SG5", cta, com, max_repeat=5),
            max_repeat=99,
        ),
        _g("SG6", tax(mandatory=True), moa(TAX_AMOUNTS), max_repeat=5),
        _g("SG7", cux, dtm(), max_repeat=99 if d01b else 5),
        _g("SG8", pat, dtm(), pcd(mandatory=False), moa(SUMMARY_AMOUNTS), max_repeat=10),
        _g(
            sg(15, 16),
            alc(),
            _g(sg(18, 19), pcd()),
            _g(sg(19, 20), moa(ALC_AMOUNTS, mandatory=True), max_repeat=2),
            _g(sg(21, 22), tax(mandatory=True), moa(TAX_AMOUNTS), max_repeat=5),
            max_repeat=9999,
        ),
        _g(
            sg(25, 26),
            lin,
            pia,
            imd,
            qty,
            dtm(max_repeat=35),
            ftx(99 if d01b else 5),
            _g(sg(26, 27), moa(LINE_AMOUNTS, mandatory=True), max_repeat=99 if d01b else 5),
            _g(sg(28, 29), pri, max_repeat=25),
            _g(sg(29, 30), rff(LINE_REFERENCES), dtm(), max_repeat=10),
            _g(sg(33, 34), tax(mandatory=True), moa(TAX_AMOUNTS, max_repeat=2 if d01b else 1), max_repeat=99),
            _g(
                sg(38, 39),
                alc(),
                dtm(),
                _g(sg(40, 41), pcd()),
                _g(sg(41, 42), moa(ALC_AMOUNTS, mandatory=True), max_repeat=2),
                _g(
                    sg(43, 44),
                    tax(mandatory=True),
                    moa(TAX_AMOUNTS, max_repeat=2 if d01b else 1),
                    max_repeat=5,
                ),
                max_repeat=30 if d01b else 15,
            ),
            max_repeat=9999999,
        ),
        uns,
        cnt,
        _g(sg(48, 50), moa(SUMMARY_AMOUNTS, mandatory=True), mandatory=True, max_repeat=100),
        _g(sg(50, 52), tax(mandatory=True), moa(TAX_AMOUNTS, max_repeat=9 if d01b else 2), max_repeat=10),
        _g(sg(51, 53), alc(), moa(ALC_AMOUNTS | SUMMARY_AMOUNTS, max_repeat=2), max_repeat=15),
    )
    name = "INVOIC D.01B" if d01b else "INVOIC D.96A EAN008"
    return MessageGrammar(name, children, "edifact")


INVOIC_D96A_EAN008 = _grammar("D96A")
INVOIC_D01B = _grammar("D01B")

GRAMMARS: dict[Version, MessageGrammar] = {"D96A": INVOIC_D96A_EAN008, "D01B": INVOIC_D01B}
