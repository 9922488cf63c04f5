"""ASC X12 810 Invoice, versions 004010 and 005010: the transaction set body as grammar data.

`X12_810_004010` and `X12_810_005010` describe what lies between ST and SE, for
`mappings.syntax.edi_grammar.check_message`: segment order, loops with their repeats, max uses, and every
element's
X12 type and length. Taken from the 810 tables of the two releases (as published in implementation guides
and open-source dictionaries): heading (BIG … N1 loop … ITD, DTM, FOB, PID, MEA), detail (the IT1 loop with
its PID, SAC and SLN sub-loops and an N1 loop), summary (TDS, TXI, CAD, AMT, SAC loop, ISS loop, CTT).

Covered are the segments the gateway writes and those real 810s commonly carry. Rarely used ones (DMG, PWK,
PKG, L7, BAL, INC, PAM, the LM/N9/V1/FA1 loops, SDQ, SR, TC2) are left out: a file carrying them is reported
as having an unexpected segment, which `mappings.invoice.x12_810.parse` only acts on when asked to be strict.

Types: X12 ID → "id", AN → "an", DT → "dt" (CCYYMMDD), TM → "tm", R (explicit decimal point) → "r", and
N0/N2 (digits, an optional minus sign; N2 means two implied decimals, so TDS01 "843202" is 8432.02) →
"n". Which "n" elements carry implied decimals is listed in `IMPLIED_DECIMALS`.

Code lists are given only where they are short and closed (allowance/charge indicator, item description
type, yes/no, credit/debit flag); the long lists (entity, reference, unit, product id qualifiers) are left
to trading partner agreements.
"""

from __future__ import annotations

from typing import Final, Literal

from mappings.syntax.edi_grammar import Element, ElementKind, GroupRule, MessageGrammar, SegmentRule

__all__ = ["IMPLIED_DECIMALS", "UNBOUNDED", "X12_810_004010", "X12_810_005010", "grammar_for"]

Version = Literal["004010", "005010"]

#: ">1" in the standard's max use or loop repeat columns.
UNBOUNDED: Final = 999_999

#: (segment tag, element index) → implied decimal places of an N2 element (TDS01 "843202" = 8432.02).
IMPLIED_DECIMALS: Final[dict[tuple[str, int], int]] = {
    ("TDS", 1): 2,
    ("TDS", 2): 2,
    ("TDS", 3): 2,
    ("TDS", 4): 2,
    ("SAC", 5): 2,
    ("ITD", 8): 2,
    ("ITD", 10): 2,
}

# The 004010 data element dictionary for the elements used below: number → (name, type, min, max).
_DICTIONARY: Final[dict[int, tuple[str, ElementKind, int, int]]] = {
    19: ("City Name", "an", 2, 30),
    26: ("Country Code", "id", 2, 3),
    54: ("Risk of Loss Code", "id", 2, 2),
    61: ("Free-Form Message", "an", 1, 30),
    65: ("Height", "r", 1, 8),
    66: ("Identification Code Qualifier", "id", 1, 2),
    67: ("Identification Code", "an", 2, 80),
    76: ("Invoice Number", "an", 1, 22),
    81: ("Weight", "r", 1, 10),
    82: ("Length", "r", 1, 8),
    91: ("Transportation Method/Type Code", "id", 1, 2),
    93: ("Name", "an", 1, 60),
    98: ("Entity Identifier Code", "id", 2, 3),
    100: ("Currency Code", "id", 3, 3),
    103: ("Packaging Code", "an", 3, 5),
    107: ("Payment Method Code", "id", 1, 2),
    116: ("Postal Code", "id", 3, 15),
    118: ("Rate", "r", 1, 9),
    127: ("Reference Identification", "an", 1, 30),
    128: ("Reference Identification Qualifier", "id", 2, 3),
    140: ("Standard Carrier Alpha Code", "id", 2, 4),
    146: ("Shipment Method of Payment", "id", 2, 2),
    156: ("State or Province Code", "id", 2, 2),
    166: ("Address Information", "an", 1, 55),
    183: ("Volume", "r", 1, 8),
    187: ("Weight Qualifier", "id", 1, 2),
    189: ("Width", "r", 1, 8),
    206: ("Equipment Initial", "an", 1, 4),
    207: ("Equipment Number", "an", 1, 10),
    212: ("Unit Price", "r", 1, 17),
    234: ("Product/Service ID", "an", 1, 48),
    235: ("Product/Service ID Qualifier", "id", 2, 2),
    236: ("Price Identifier Code", "id", 3, 3),
    248: ("Allowance or Charge Indicator", "id", 1, 1),
    280: ("Exchange Rate", "r", 4, 10),
    284: ("Service Level Code", "id", 2, 2),
    289: ("Multiple Price Quantity", "n", 1, 2),  # N0
    306: ("Action Code", "id", 1, 2),
    309: ("Location Qualifier", "id", 1, 2),
    310: ("Location Identifier", "an", 1, 30),
    324: ("Purchase Order Number", "an", 1, 22),
    325: ("Tax Identification Number", "an", 1, 20),
    327: ("Change Order Sequence Number", "an", 1, 8),
    328: ("Release Number", "an", 1, 30),
    331: ("Allowance or Charge Method of Handling Code", "id", 2, 2),
    332: ("Percent", "r", 1, 6),
    333: ("Terms Basis Date Code", "id", 1, 2),
    334: ("Transportation Terms Qualifier Code", "id", 2, 2),
    335: ("Transportation Terms Code", "id", 3, 3),
    336: ("Terms Type Code", "id", 2, 2),
    337: ("Time", "tm", 4, 8),
    338: ("Terms Discount Percent", "r", 1, 6),
    342: ("Percent of Invoice Payable", "r", 1, 5),
    347: ("Hash Total", "r", 1, 10),
    349: ("Item Description Type", "id", 1, 1),
    350: ("Assigned Identification", "an", 1, 20),
    351: ("Terms Discount Days Due", "n", 1, 3),  # N0
    352: ("Description", "an", 1, 80),
    353: ("Transaction Set Purpose Code", "id", 2, 2),
    354: ("Number of Line Items", "n", 1, 6),  # N0
    355: ("Unit or Basis for Measurement Code", "id", 2, 2),
    356: ("Pack", "n", 1, 6),  # N0
    357: ("Size", "r", 1, 8),
    358: ("Quantity Invoiced", "r", 1, 10),
    362: ("Terms Discount Amount", "n", 1, 10),  # N2
    363: ("Note Reference Code", "id", 3, 3),
    364: ("Communication Number", "an", 1, 80),
    365: ("Communication Number Qualifier", "id", 2, 2),
    366: ("Contact Function Code", "id", 2, 2),
    368: ("Shipment/Order Status Code", "id", 2, 2),
    370: ("Terms Discount Due Date", "dt", 8, 8),
    371: ("Change Reason Code", "id", 2, 2),
    373: ("Date", "dt", 8, 8),
    374: ("Date/Time Qualifier", "id", 3, 3),
    378: ("Allowance/Charge Percent Qualifier", "id", 1, 1),
    380: ("Quantity", "r", 1, 15),
    382: ("Number of Units Shipped", "r", 1, 10),
    383: ("Quantity Difference", "r", 1, 9),
    384: ("Gross Weight per Pack", "r", 1, 9),
    385: ("Gross Volume per Pack", "r", 1, 9),
    386: ("Terms Net Days", "n", 1, 3),  # N0
    387: ("Routing", "an", 1, 35),
    388: ("Terms Deferred Due Date", "dt", 8, 8),
    389: ("Deferred Amount Due", "n", 1, 10),  # N2
    441: ("Tax Exempt Code", "id", 1, 1),
    443: ("Contact Inquiry Reference", "an", 1, 20),
    446: ("Terms Net Due Date", "dt", 8, 8),
    478: ("Credit/Debit Flag Code", "id", 1, 1),
    499: ("Condition Value", "an", 1, 10),
    522: ("Amount Qualifier Code", "id", 1, 3),
    559: ("Agency Qualifier Code", "id", 2, 2),
    610: ("Amount", "n", 1, 15),  # N2
    623: ("Time Code", "id", 2, 2),
    639: ("Basis of Unit Price Code", "id", 2, 2),
    640: ("Transaction Type Code", "id", 2, 2),
    648: ("Price Multiplier Qualifier", "id", 3, 3),
    649: ("Multiplier", "r", 1, 10),
    662: ("Relationship Code", "id", 1, 1),
    669: ("Currency Market/Exchange Code", "id", 3, 3),
    673: ("Quantity Qualifier", "id", 2, 2),
    687: ("Class of Trade Code", "id", 2, 2),
    706: ("Entity Relationship Code", "id", 2, 2),
    737: ("Measurement Reference ID Code", "id", 2, 2),
    738: ("Measurement Qualifier", "id", 1, 3),
    739: ("Measurement Value", "r", 1, 20),
    740: ("Range Minimum", "r", 1, 20),
    741: ("Range Maximum", "r", 1, 20),
    750: ("Product/Process Characteristic Code", "id", 2, 3),
    751: ("Product Description Code", "an", 1, 12),
    752: ("Surface/Layer/Position Code", "id", 2, 2),
    765: ("Day of Month", "n", 1, 2),  # N0
    770: ("Option Number", "an", 1, 20),
    782: ("Monetary Amount", "r", 1, 18),
    810: ("Inner Pack", "n", 1, 6),  # N0
    819: ("Language Code", "id", 2, 3),
    822: ("Source Subqualifier", "an", 1, 15),
    828: ("Dollar Basis For Percent", "r", 1, 9),
    933: ("Free-Form Message Text", "an", 1, 264),
    935: ("Measurement Significance Code", "id", 2, 2),
    936: ("Measurement Attribute Code", "id", 2, 2),
    954: ("Percent", "r", 1, 10),
    955: ("Tax Jurisdiction Code Qualifier", "id", 2, 2),
    956: ("Tax Jurisdiction Code", "an", 1, 10),
    963: ("Tax Type Code", "id", 2, 2),
    1005: ("Hierarchical Structure Code", "id", 4, 4),
    1018: ("Exponent", "r", 1, 15),
    1073: ("Yes/No Condition or Response Code", "id", 1, 1),
    1136: ("Code Category", "id", 2, 2),
    1250: ("Date Time Period Format Qualifier", "id", 2, 3),
    1251: ("Date Time Period", "an", 1, 35),
    1270: ("Code List Qualifier Code", "id", 1, 3),
    1271: ("Industry Code", "an", 1, 30),
    1300: ("Service, Promotion, Allowance, or Charge Code", "id", 4, 4),
    1301: ("Agency Service, Promotion, Allowance, or Charge Code", "an", 1, 10),
    1321: ("Condition Indicator", "id", 2, 2),
    1373: ("Measurement Method or Device", "id", 2, 4),
    1470: ("Number", "n", 1, 9),  # N0
    1715: ("Country Subdivision Code", "id", 1, 3),  # 005010
}

#: What 005010 changed for these elements: number → (min, max).
_LENGTHS_005010: Final[dict[int, tuple[int, int]]] = {
    127: (1, 50),  # REF02, REF04-2/4/6, SAC13, CAD08
    207: (1, 15),  # CAD03
    358: (1, 15),  # IT102
    364: (1, 256),  # PER04/06/08
    1321: (2, 3),  # YNQ01, CRC03…07
}

#: Short, closed code lists (the same in both releases).
_CODES: Final[dict[int, frozenset[str]]] = {
    248: frozenset({"A", "C", "N", "P", "Q", "R", "S"}),
    349: frozenset({"F", "S", "X"}),
    478: frozenset({"C", "D"}),
    1073: frozenset({"N", "U", "W", "Y"}),
}

# A segment's elements in order: a data element number, or a composite name, with M(andatory) or not.
_M = True
_O = False
_ElementSpec = tuple[int | str, bool]

_COMPOSITES: Final[dict[str, tuple[str, tuple[_ElementSpec, ...]]]] = {
    # C001 Composite Unit of Measure
    "C001": (
        "Composite Unit of Measure",
        (
            (355, _M),
            (1018, _O),
            (649, _O),
            (355, _O),
            (1018, _O),
            (649, _O),
            (355, _O),
            (1018, _O),
            (649, _O),
            (355, _O),
            (1018, _O),
            (649, _O),
            (355, _O),
            (1018, _O),
            (649, _O),
        ),
    ),
    # C040 Reference Identifier
    "C040": ("Reference Identifier", ((128, _M), (127, _M), (128, _O), (127, _O), (128, _O), (127, _O))),
}

_PRODUCT_IDS: Final[tuple[_ElementSpec, ...]] = ((235, _O), (234, _O)) * 10

_SEGMENTS: Final[dict[str, tuple[_ElementSpec, ...]]] = {
    "BIG": (
        (373, _M),
        (76, _M),
        (373, _O),
        (324, _O),
        (328, _O),
        (327, _O),
        (640, _O),
        (353, _O),
        (306, _O),
        (76, _O),
    ),
    "NTE": ((363, _O), (352, _M)),
    "CUR": (
        (98, _M),
        (100, _M),
        (280, _O),
        (98, _O),
        (100, _O),
        (669, _O),
        *((374, _O), (373, _O), (337, _O)) * 5,
    ),
    "REF": ((128, _M), (127, _O), (352, _O), ("C040", _O)),
    "YNQ": (
        (1321, _O),
        (1073, _M),
        (1250, _O),
        (1251, _O),
        (933, _O),
        (933, _O),
        (933, _O),
        (1270, _O),
        (1271, _O),
        (933, _O),
    ),
    "PER": ((366, _M), (93, _O), (365, _O), (364, _O), (365, _O), (364, _O), (365, _O), (364, _O), (443, _O)),
    "N1": ((98, _M), (93, _O), (66, _O), (67, _O), (706, _O), (98, _O)),
    "N2": ((93, _M), (93, _O)),
    "N3": ((166, _M), (166, _O)),
    "N4": ((19, _O), (156, _O), (116, _O), (26, _O), (309, _O), (310, _O)),
    "ITD": (
        (336, _O),
        (333, _O),
        (338, _O),
        (370, _O),
        (351, _O),
        (446, _O),
        (386, _O),
        (362, _O),
        (388, _O),
        (389, _O),
        (342, _O),
        (352, _O),
        (765, _O),
        (107, _O),
        (954, _O),
    ),
    "DTM": ((374, _M), (373, _O), (337, _O), (623, _O), (1250, _O), (1251, _O)),
    "FOB": ((146, _M), (309, _O), (352, _O), (334, _O), (335, _O), (309, _O), (352, _O), (54, _O), (352, _O)),
    "PID": (
        (349, _M),
        (750, _O),
        (559, _O),
        (751, _O),
        (352, _O),
        (752, _O),
        (822, _O),
        (1073, _O),
        (819, _O),
    ),
    "MEA": (
        (737, _O),
        (738, _O),
        (739, _O),
        ("C001", _O),
        (740, _O),
        (741, _O),
        (935, _O),
        (936, _O),
        (752, _O),
        (1373, _O),
    ),
    "IT1": ((350, _O), (358, _O), (355, _O), (212, _O), (639, _O), *_PRODUCT_IDS),
    "CRC": ((1136, _M), (1073, _M), (1321, _M), (1321, _O), (1321, _O), (1321, _O), (1321, _O)),
    "QTY": ((673, _M), (380, _O), ("C001", _O), (61, _O)),
    "IT3": ((382, _O), (355, _O), (368, _O), (383, _O), (371, _O)),
    "TXI": (
        (963, _M),
        (782, _O),
        (954, _O),
        (955, _O),
        (956, _O),
        (441, _O),
        (662, _O),
        (828, _O),
        (325, _O),
        (350, _O),
    ),
    "CTP": (
        (687, _O),
        (236, _O),
        (212, _O),
        (380, _O),
        ("C001", _O),
        (648, _O),
        (649, _O),
        (782, _O),
        (639, _O),
        (499, _O),
        (289, _O),
    ),
    "PO4": (
        (356, _O),
        (357, _O),
        (355, _O),
        (103, _O),
        (187, _O),
        (384, _O),
        (355, _O),
        (385, _O),
        (355, _O),
        (82, _O),
        (189, _O),
        (65, _O),
        (355, _O),
        (810, _O),
        (752, _O),
        (350, _O),
        (350, _O),
        (1470, _O),
    ),
    "SAC": (
        (248, _M),
        (1300, _O),
        (559, _O),
        (1301, _O),
        (610, _O),
        (378, _O),
        (332, _O),
        (118, _O),
        (355, _O),
        (380, _O),
        (380, _O),
        (331, _O),
        (127, _O),
        (770, _O),
        (352, _O),
        (819, _O),
    ),
    "SLN": (
        (350, _M),
        (350, _O),
        (662, _M),
        (380, _O),
        ("C001", _O),
        (212, _O),
        (639, _O),
        (662, _O),
        *_PRODUCT_IDS,
    ),
    "TDS": ((610, _M), (610, _O), (610, _O), (610, _O)),
    "CAD": ((91, _O), (206, _O), (207, _O), (140, _O), (387, _O), (368, _O), (128, _O), (127, _O), (284, _O)),
    "AMT": ((522, _M), (782, _M), (478, _O)),
    "ISS": ((382, _O), (355, _O), (81, _O), (355, _O), (183, _O), (355, _O), (380, _O), (81, _O)),
    "CTT": ((354, _M), (347, _O), (81, _O), (355, _O), (183, _O), (355, _O), (352, _O)),
}

#: Elements 005010 added at the end of a segment, and requirement changes.
_ADDED_005010: Final[dict[str, tuple[_ElementSpec, ...]]] = {
    "BIG": ((1005, _O),),  # BIG11
    "N4": ((1715, _O),),  # N407
    "MEA": ((1270, _O), (1271, _O)),  # MEA11, MEA12
}
_MANDATORY_005010: Final[frozenset[tuple[str, int]]] = frozenset({("CAD", 1)})


def _element(spec: _ElementSpec, version: Version, *, mandatory: bool | None = None) -> Element:
    key, required = spec
    if mandatory is not None:
        required = mandatory
    if isinstance(key, str):
        name, components = _COMPOSITES[key]
        return Element(
            f"{key} {name}",
            mandatory=required,
            components=tuple(_element(component, version) for component in components),
        )
    name, kind, minimum, maximum = _DICTIONARY[key]
    if version == "005010" and key in _LENGTHS_005010:
        minimum, maximum = _LENGTHS_005010[key]
    return Element(
        f"{key} {name}",
        mandatory=required,
        kind=kind,
        min_length=minimum,
        max_length=maximum,
        codes=_CODES.get(key),
    )


def _segment(tag: str, version: Version, *, mandatory: bool = False, max_repeat: int = 1) -> SegmentRule:
    specs = _SEGMENTS[tag] + (_ADDED_005010.get(tag, ()) if version == "005010" else ())
    elements = tuple(
        _element(
            spec,
            version,
            mandatory=True if version == "005010" and (tag, index) in _MANDATORY_005010 else None,
        )
        for index, spec in enumerate(specs, start=1)
    )
    return SegmentRule(tag, mandatory=mandatory, max_repeat=max_repeat, elements=elements)


def _build(version: Version) -> MessageGrammar:
    def seg(tag: str, max_repeat: int = 1, *, mandatory: bool = False) -> SegmentRule:
        return _segment(tag, version, mandatory=mandatory, max_repeat=max_repeat)

    new = version == "005010"

    def n1_loop() -> GroupRule:
        return GroupRule(
            "N1",
            (seg("N1", mandatory=True), seg("N2", 2), seg("N3", 2), seg("N4"), seg("REF", 12), seg("PER", 3)),
            max_repeat=200,
        )

    def tax_loop() -> GroupRule | SegmentRule:
        # 005010 made TXI under SAC a loop with its own DTM
        if new:
            return GroupRule("TXI", (seg("TXI", mandatory=True), seg("DTM")), max_repeat=UNBOUNDED)
        return seg("TXI", 10)

    many_taxes = UNBOUNDED if new else 10
    many_charges = UNBOUNDED if new else 25

    heading: tuple[SegmentRule | GroupRule, ...] = (
        seg("BIG", mandatory=True),
        seg("NTE", 100),
        seg("CUR"),
        seg("REF", 12),
        seg("YNQ", 10),
        seg("PER", 3),
        n1_loop(),
        seg("ITD", UNBOUNDED),
        seg("DTM", 10),
        seg("FOB"),
        seg("PID", 200),
        seg("MEA", 40),
        *((seg("CRC"),) if new else ()),
    )
    line_charges = GroupRule("SAC", (seg("SAC", mandatory=True), tax_loop()), max_repeat=many_charges)
    sub_line = GroupRule(
        "SLN",
        (
            seg("SLN", mandatory=True),
            seg("DTM"),
            seg("REF", UNBOUNDED),
            seg("PID", 1000),
            seg("SAC", many_charges),
            seg("TXI", many_taxes),
        ),
        max_repeat=1000,
    )
    item = GroupRule(
        "IT1",
        (
            seg("IT1", mandatory=True),
            seg("CRC"),
            seg("QTY", 5),
            seg("CUR"),
            seg("IT3", 5),
            seg("TXI", many_taxes),
            seg("CTP", 25),
            seg("MEA", 40),
            GroupRule("PID", (seg("PID", mandatory=True), seg("MEA", 10)), max_repeat=1000),
            seg("PO4"),
            seg("ITD", 2),
            seg("REF", UNBOUNDED),
            seg("YNQ", 10),
            seg("PER", 5),
            seg("DTM", 10),
            seg("CAD", UNBOUNDED),
            line_charges,
            sub_line,
            n1_loop(),
        ),
        max_repeat=200_000,
    )
    summary_charge_children: tuple[SegmentRule | GroupRule, ...] = (
        (seg("SAC", mandatory=True), seg("DTM", UNBOUNDED), tax_loop())
        if new
        else (seg("SAC", mandatory=True), tax_loop())
    )
    summary: tuple[SegmentRule | GroupRule, ...] = (
        seg("TDS", mandatory=True),
        seg("TXI", many_taxes),
        seg("CAD"),
        seg("AMT", UNBOUNDED),
        GroupRule("SAC", summary_charge_children, max_repeat=many_charges),
        GroupRule("ISS", (seg("ISS", mandatory=True), seg("PID")), max_repeat=UNBOUNDED),
        seg("CTT"),
    )
    return MessageGrammar(f"X12 810 {version}", (*heading, item, *summary), syntax="x12")


X12_810_004010: Final = _build("004010")
X12_810_005010: Final = _build("005010")


def grammar_for(version: str) -> MessageGrammar:
    """The grammar for a GS08 version ("004010", "004010VICS", "005010X…"): 005010 from release 5010 on,
    004010 below (older releases differ little in the segments an invoice uses)."""
    digits = version[:6]
    return X12_810_005010 if digits.isdigit() and digits >= "005010" else X12_810_004010
