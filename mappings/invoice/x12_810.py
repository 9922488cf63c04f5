"""ASC X12 810 Invoice, releases 004010 and 005010: the canonical invoice as an 810, and 810s back.

Pure functions, no I/O. `render` writes one invoice or credit note as one 810 in its own interchange
(ISA/GS "IN"/ST…SE/GE/IEA, from an `EdiEnvelope` or a preview envelope) and checks the transaction set
against the release's grammar (`mappings.syntax.grammars.x12_810`) before returning it. `parse` reads
every
810 in every group of an interchange into canonical invoices; `inspect` says what each one holds;
`sniff` recognises an X12 interchange that carries 810s.

Money is exact: N2 elements (TDS, SAC05) are integer cents, R elements decimal text; never a float.

Mapping decisions (X12 leaves these to trading partners; these are the gateway's):

* BIG: BIG01 issue date, BIG02 number (at most 22 characters: longer is refused, never cut), BIG04 the
  purchase order (BT-13; a longer one goes to REF*PO), BIG07 transaction type "DI" (debit invoice), "CR"
  (credit memo) for credit notes, "DR" (debit memo) for type 383, BIG08 "00" (original).
* Credit notes are 810s with BIG07 "CR" and positive amounts, as in EN 16931 and UBL: the type code carries
  the sign. Partners differ (some want "CN" and negative quantities and TDS); reading accepts both.
* CUR*SE*<currency> is always written (an 810 without CUR means USD, which a Nordic seller rarely bills in).
* Heading REF: VN sales order (BT-14), CR buyer reference (BT-10), CT contract (BT-12), JB project (BT-11),
  PK despatch advice (BT-16), RV receiving advice (BT-15), OI each preceding invoice (BG-3, number only).
  NTE: each note (BT-22) is NTE*GEN, continued in NTE*ADD segments of at most 80 characters.
* Parties are N1 loops: SE seller, BT buyer (the EN 16931 buyer is the invoicee), PE payee, RI remit-to
  (one per payment means: REF*PY account with its name in REF03, REF*02 BIC, REF*4N the KID / payment
  reference, REF*ZZ "payment means code" when not 30), ST delivery (BG-13). N103/N104 carry a GLN ("UL",
  scheme 0088), a DUNS ("1", scheme 0060) or an identifier without scheme ("92" for the seller: a supplier
  number assigned by the buyer; "91" for the buyer: a customer number assigned by the seller). Every
  identifier also rides in the loop as REF*VX (VAT number) or REF*ZZ with REF03 naming it ("endpoint
  0192", "legal registration 0192", "identifier 0088", "tax registration"), so none is lost. N3/N4 is the
  address (a two-letter subdivision in N402, a longer one in N405 "SP" / N406); PER*IC the contact.
* ITD: "05" (discount not applicable), basis "3" (invoice date), ITD06 the due date, ITD07 the net days,
  ITD12 the payment terms (BT-20; longer terms continue in further ITD segments).
* DTM 011 (shipped) is the delivery date (BT-72), DTM 150/151 the invoicing period (heading and line).
* IT1: IT101 line id, IT102 quantity, IT103 the X12 unit (355) for the UN/ECE Rec 20 unit (C62/H87/EA → EA,
  HUR → HR, KGM → KG, KMT → DK, …; an unmapped unit is refused), IT104 the net price, IT105 "HP"/"TP" for a
  price per 100/1000 (another base quantity must divide the price exactly), then VN seller item id, BP
  buyer item id, UP/EN/UK the GTIN. PID*F*08 the item name, PID*F*GEN its description. TXI*VA with the
  rate (TXI03) and the VAT category (UNCL 5305) in TXI10. REF*FJ order line reference, REF*L1 line note.
* SAC (line and document level): SAC01 A/C, SAC02 D240 freight / C310 discount / ZZZZ otherwise, SAC03 "UN"
  with the UNCL 5189/7161 reason code in SAC04, SAC05 the amount in cents, SAC12 02 (off invoice) or 06
  (paid by customer), SAC15 the reason. A document-level one carries its VAT category in a TXI.
* Summary: TDS01 the total with VAT (BT-112) in cents; TXI*VA per VAT breakdown line (tax in TXI02, rate in
  TXI03, taxable amount in TXI08, category in TXI10); AMT*1 line total, AMT*D prepaid (when any), AMT*BAP
  amount due (BT-115); CTT line count and the quantity hash total (when it fits ten digits).
* Not carried (no natural place in an 810): trading names, legal info (BT-33), tax representative,
  tax point date, tax currency / BT-111, VAT exemption reasons, accounting costs, tender and invoiced
  object references, allowance percentages and base amounts, gross prices and price discounts,
  classifications, origin country, attachments, direct debit mandates, preceding invoice dates.

Reading an 810 (`parse`):

* Every 810 of every group, whatever GS01 says (an X348 810 comes in a "SC" group); the envelope is
  checked strictly by `mappings.syntax.x12.parse`, the transaction set's structure only when
  `strict=True` (real 810s deviate, e.g. ISS before TDS).
* No CUR means USD. Seller: the SE, SU, VN or II loop, else the interchange sender stands in (ISA06); buyer:
  BT, BY, SO or ST, else the interchange receiver. An N4 without a country is US (a Canadian province code
  makes it CA); three-letter countries are converted.
* Taxes: TXI*VA anywhere makes it a VAT invoice (categories from TXI10, else S for a rate above zero and Z
  for zero). Otherwise it is a sales-tax invoice, which EN 16931 cannot express as VAT: every line and
  charge is category O (not subject to VAT), and the sales tax is a document-level charge — tax-coded SACs
  (D360 GST, H850 tax) already are charges; otherwise the summary's non-VAT TXI amounts, else the lines'.
* A VAT invoice's line without TXI*VA takes the summary's VAT category when there is exactly one (else the
  810 is refused naming the IT1); a summary SAC without one stays outside the VAT breakdown.
* A negative unit price becomes a negative quantity at the positive price (EN 16931 BR-27); a missing unit
  is C62; an X12 unit without a Rec 20 equivalent in the table is kept as written. Texts longer than the
  canonical model holds (1000 characters for notes and terms) are cut there.
* A credit memo (BIG07 CR/CN) with a negative TDS has its quantities and amounts turned positive.
* TDS01 must equal what the lines, allowances, charges and taxes add up to: otherwise the 810 is refused
  naming TDS01 (`unbalanced="reject"`), or the difference becomes a document-level charge or allowance
  named as such (`unbalanced="adjust"`). AMT*D is the prepaid amount, AMT*BAP the amount due.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any, Literal

import pycountry
from pydantic import EmailStr, TypeAdapter, ValidationError

from mappings.base import FormatError, RenderedDocument
from mappings.invoice.canonical_json import InvoiceValidationError, error_entries
from mappings.syntax import x12
from mappings.syntax.edi_envelope import EdiEnvelope
from mappings.syntax.edi_grammar import MessageGrammar, StructureProblem, check_message
from mappings.syntax.grammars.x12_810 import IMPLIED_DECIMALS, X12_810_004010, X12_810_005010, grammar_for
from mappings.syntax.x12 import (
    FunctionalGroup,
    Interchange,
    Party,
    Segment,
    Separators,
    TransactionSet,
    X12SyntaxError,
    build_interchange,
    read_date,
    write_interchange,
)
from schemas.canonical import (
    AllowanceCharge,
    DocumentType,
    Invoice,
    InvoiceLine,
    VatBreakdown,
    VatCategory,
    category_rule,
    compute_totals,
    compute_vat_breakdown,
    line_net_amount,
    round_amount,
    tax_within_tolerance,
    taxable_within_tolerance,
)
from schemas.canonical import Party as CanonicalParty

__all__ = [
    "FORMAT_4010",
    "FORMAT_5010",
    "MEDIA_TYPE",
    "inspect",
    "parse",
    "render",
    "sniff",
]

FORMAT_4010 = "x12-810"
FORMAT_5010 = "x12-810-5010"
MEDIA_TYPE = "application/EDI-X12"
EXTENSION = "x12"
SET_ID = "810"

Version = Literal["004010", "005010"]

_GRAMMARS: dict[str, MessageGrammar] = {"004010": X12_810_004010, "005010": X12_810_005010}
_ISA_VERSION = {"004010": "00401", "005010": "00501"}
_REF02_MAX = {"004010": 30, "005010": 50}
_BODY_START = 4  # ISA, GS and ST come first: the body's first segment is the interchange's fourth

#: UN/ECE Rec 20 (and Rec 21 package) unit → X12 355 unit of measurement.
UNITS_TO_X12: dict[str, str] = {
    "C62": "EA", "H87": "EA", "EA": "EA", "HUR": "HR", "KGM": "KG", "GRM": "GR", "LBR": "LB", "TNE": "MP",
    "MTR": "MR", "CMT": "CM", "MMT": "MM", "KMT": "DK", "FOT": "FT", "INH": "IN", "YRD": "YD", "MTK": "SM",
    "FTK": "SF", "YDK": "SY", "MTQ": "CR", "LTR": "LT", "MLT": "ML", "GLL": "GA", "DAY": "DA", "WEE": "WK",
    "MON": "MO", "ANN": "YR", "MIN": "MJ", "SEC": "03", "KWH": "KH", "KWT": "K7", "PR": "PR", "SET": "ST",
    "DZN": "DZ", "KT": "KT", "XBX": "BX", "XCT": "CT", "XCS": "CA", "XPK": "PK", "XPX": "PL", "XPL": "PA",
    "XRO": "RL", "XBG": "BG", "XBO": "BO", "XCA": "CN", "XDR": "DR",
}
#: X12 355 → Rec 20, the table above reversed (EA reads back as EA, "each"), plus PC (piece) and UN (unit).
UNITS_FROM_X12: dict[str, str] = {
    **{code: rec20 for rec20, code in UNITS_TO_X12.items() if rec20 not in ("C62", "H87")},
    "PC": "H87",
    "UN": "C62",
}

_GTIN_QUALIFIERS = {12: "UP", 14: "UK"}  # 8 and 13 digits (and anything else) are "EN"
_STANDARD_ID_QUALIFIERS = ("UP", "EN", "UK", "UA")
_SELLER_ITEM_QUALIFIERS = ("VN", "VP", "VC")
_BUYER_ITEM_QUALIFIERS = ("BP", "IN")

_SAC_CODES = {("C", "FC"): "D240", ("A", "95"): "C310"}
_SAC_NAMES = {"D240": "Freight", "C310": "Discount", "D360": "Goods and Services Tax Charge", "H850": "Tax",
              "G830": "Shipping and Handling", "I410": "Unsaleable Merchandise Allowance"}
_TAX_SAC_CODES = frozenset({"D360", "H850"})

_N1_SCHEMES = {"UL": "0088", "1": "0060"}
_CANADIAN_PROVINCES = frozenset({"AB", "BC", "MB", "NB", "NL", "NS", "NT", "NU", "ON", "PE", "QC", "SK",
                                 "YT"})
_SCHEME_QUALIFIERS = {"0088": "UL", "0060": "1"}
_SELLER_CODES = ("SE", "SU", "VN", "II")
_BUYER_CODES = ("BT", "BY", "SO", "ST")
_REMIT_CODES = ("RI", "RE")
_N1_LOOP_TAGS = frozenset({"N2", "N3", "N4", "REF", "PER", "DMG"})
_IDENTIFIER_LABEL = re.compile(r"^(endpoint|legal registration|identifier|tax registration)(?: (\S+))?$")

_HEADING_REFS = {
    "sales_order_reference": "VN",
    "buyer_reference": "CR",
    "contract_reference": "CT",
    "project_reference": "JB",
    "despatch_advice_reference": "PK",
    "receiving_advice_reference": "RV",
}

_NUMBER = re.compile(r"^-?(\d+\.?\d*|\.\d+)$")
_INTEGER = re.compile(r"^-?\d+$")
_EMAIL: TypeAdapter[str] = TypeAdapter(EmailStr)


# ------------------------------------------------------------------------------------------------ render


def render(invoice: Invoice, options: EdiEnvelope | None = None, *,
           version: Version = "004010") -> RenderedDocument:
    """One invoice or credit note as an X12 810 interchange (ISA…IEA), checked against the 810 grammar.

    Without an envelope a preview one is used: qualifier ZZ, the seller's and buyer's identifiers (endpoint,
    legal registration, VAT number, identifier or name) cut to ISA's 15 characters, control numbers 1,
    test indicator. `FormatError` names the field (or the segment and element) that X12 cannot carry.
    """
    if version not in _GRAMMARS:
        raise FormatError("version", f"unknown X12 810 release {version!r} (004010 or 005010)")
    envelope = options or _preview_envelope(invoice)
    separators = Separators(
        element=envelope.x12_element_separator,
        component=envelope.x12_component_separator,
        segment=envelope.x12_segment_terminator,
        repetition=envelope.x12_repetition_separator if version >= "005010" else None,
    )
    try:
        separators.check()
    except ValueError as error:
        raise FormatError("envelope.x12 separators", str(error)) from None
    body = _Writer(invoice, version, separators).body()
    _check(body, version)
    control = envelope.message_ref.zfill(4)
    if not 4 <= len(control) <= 9:
        raise FormatError("envelope.message_ref", f"ST02 must be 4–9 characters, got {control!r}")
    group_ref = envelope.group_ref or envelope.interchange_ref
    if not group_ref.isdigit() or len(group_ref) > 9:
        raise FormatError("envelope.group_ref", f"GS06 must be up to 9 digits, got {group_ref!r}")
    application_ids = {"group_sender_id": envelope.group_sender_id or envelope.sender_id,
                       "group_recipient_id": envelope.group_recipient_id or envelope.recipient_id}
    for name, value in application_ids.items():
        if not 2 <= len(value) <= 15:
            raise FormatError(f"envelope.{name}", f"GS02/GS03 must be 2–15 characters, got {value!r}")
    group = FunctionalGroup(
        functional_id="IN",
        sender=application_ids["group_sender_id"],
        receiver=application_ids["group_recipient_id"],
        date=envelope.prepared.strftime("%Y%m%d"),
        time=envelope.prepared.strftime("%H%M"),
        control_number=str(int(group_ref)),
        agency="X",
        version=version,
        transactions=[TransactionSet(SET_ID, control, segments=body)],
    )
    try:
        interchange = build_interchange(
            sender=Party(envelope.sender_qualifier, envelope.sender_id),
            receiver=Party(envelope.recipient_qualifier, envelope.recipient_id),
            control_number=envelope.interchange_ref,
            prepared=envelope.prepared,
            groups=[group],
            version=_ISA_VERSION[version],
            usage_indicator="T" if envelope.test else "P",
            ack_requested="1" if envelope.ack_requested else "0",
            separators=separators,
        )
    except ValueError as error:
        raise FormatError("envelope", str(error)) from None
    content = write_interchange(interchange, newline=envelope.newline)
    return RenderedDocument(format=FORMAT_5010 if version == "005010" else FORMAT_4010, content=content,
                            media_type=MEDIA_TYPE, extension=EXTENSION)


def _preview_envelope(invoice: Invoice) -> EdiEnvelope:
    """`EdiEnvelope.preview` with qualifier ZZ and ">" as component separator (as most 810 partners use), so
    that a ":" in names and notes survives; X12 cannot escape a delimiter in text."""
    preview = EdiEnvelope.preview(_interchange_id(invoice.seller), _interchange_id(invoice.buyer),
                                  sender_qualifier="ZZ", recipient_qualifier="ZZ")
    return dataclasses.replace(preview, x12_component_separator=">")


def _interchange_id(party: CanonicalParty) -> str:
    """An ISA06/ISA08 identifier from a party: the first of endpoint, legal registration, VAT number,
    identifier and name, without characters an ISA cannot hold safely, at most 15 characters."""
    candidates = [
        party.endpoint.value if party.endpoint else None,
        party.legal_registration.value if party.legal_registration else None,
        party.vat_id,
        *(identifier.value for identifier in party.identifiers),
        party.name,
    ]
    for candidate in candidates:
        if candidate:
            cleaned = re.sub(r"[^A-Za-z0-9 ._-]", "", candidate).strip()[:15].strip()
            if len(cleaned) >= 2:
                return cleaned
    return "UNKNOWN"


def _check(body: list[Segment], version: str) -> None:
    problems = check_message(_GRAMMARS[version], body)
    if problems:
        raise _problem_error(problems[0])


def _problem_error(problem: StructureProblem) -> X12SyntaxError:
    """A grammar problem as a `FormatError` naming the segment position (in the interchange) and element."""
    return X12SyntaxError(problem.reason, segment_position=problem.position, segment_tag=problem.tag,
                          element_index=problem.element, component_index=problem.component)


def _cents(amount: Decimal, where: str) -> str:
    """An amount as N2: integer cents, exact (a third decimal is an error, never rounded away)."""
    cents = amount.scaleb(2)
    if cents != cents.to_integral_value():
        raise FormatError(where, f"{amount} has more than two decimals; X12 N2 carries cents")
    return str(int(cents))


def _r(value: Decimal) -> str:
    """An R (explicit decimal) value: plain notation, no exponent, no trailing zeros after the point."""
    if value == 0:
        return "0"
    text = format(value.normalize(), "f")
    return text


def _date(value: dt.date) -> str:
    return value.strftime("%Y%m%d")


def _chunks(text: str, width: int) -> list[str]:
    """Free text in pieces of at most `width` characters, broken at spaces where possible (a reader joins
    them with one space)."""
    flat = " ".join(text.split())
    return textwrap.wrap(flat, width, break_long_words=True, break_on_hyphens=False) or [flat]


@dataclass
class _Writer:
    invoice: Invoice
    version: str
    separators: Separators
    segments: list[Segment] = field(default_factory=list)

    # -- helpers

    def add(self, tag: str, *elements: str | Sequence[str]) -> None:
        segment = Segment.of(tag, *elements).trimmed()
        self.segments.append(Segment(tag, segment.elements, _BODY_START + len(self.segments)))

    def free(self, text: str) -> str:
        """Free text: X12 cannot escape its delimiters, so they (and control characters) become spaces."""
        delimiters = {self.separators.element, self.separators.component, self.separators.segment}
        if self.separators.repetition:
            delimiters.add(self.separators.repetition)
        cleaned = "".join(" " if char in delimiters or ord(char) < 32 or ord(char) == 127 else char
                          for char in text)
        return " ".join(cleaned.split())

    def ident(self, value: str, where: str, max_length: int) -> str:
        """An identifier or reference: refused (not altered) when too long or containing a delimiter."""
        delimiters = [self.separators.element, self.separators.component, self.separators.segment]
        if self.separators.repetition:
            delimiters.append(self.separators.repetition)
        for char in delimiters:
            if char in value:
                raise FormatError(where, f"{value!r} contains the X12 delimiter {char!r}, which X12 cannot "
                                         "escape")
        if len(value) > max_length:
            raise FormatError(where, f"{value!r} is {len(value)} characters; X12 {self.version} allows "
                                     f"{max_length} here")
        return value

    def ref(self, qualifier: str, value: str, where: str, description: str = "") -> None:
        self.add("REF", qualifier, self.ident(value, where, _REF02_MAX[self.version]), self.free(description))

    # -- the transaction set

    def body(self) -> list[Segment]:
        invoice = self.invoice
        self.heading(invoice)
        for index, line in enumerate(invoice.lines):
            self.line(index, line)
        self.summary(invoice)
        return self.segments

    def heading(self, invoice: Invoice) -> None:
        order = invoice.order_reference
        order_in_big = order if order is not None and len(order) <= 22 else None
        if order_in_big is not None:
            self.ident(order_in_big, "order_reference", 22)
        self.add("BIG", _date(invoice.issue_date), self.ident(invoice.number, "number", 22), "",
                 order_in_big or "", "", "", _transaction_type(invoice), "00")
        for note in invoice.notes:
            for index, chunk in enumerate(_chunks(self.free(note), 80)):
                self.add("NTE", "GEN" if index == 0 else "ADD", chunk)
        self.add("CUR", "SE", invoice.currency)
        if order is not None and order_in_big is None:
            self.ref("PO", order, "order_reference")
        for name, qualifier in _HEADING_REFS.items():
            value = getattr(invoice, name)
            if value:
                self.ref(qualifier, value, name)
        for index, preceding in enumerate(invoice.preceding_invoices):
            self.ref("OI", preceding.id, f"preceding_invoices.{index}.id")
        self.party("SE", invoice.seller, "seller", unscheme_qualifier="92")
        self.party("BT", invoice.buyer, "buyer", unscheme_qualifier="91")
        if invoice.payee is not None:
            self.party("PE", invoice.payee, "payee", unscheme_qualifier="92")
        for index, means in enumerate(invoice.payment_means):
            if means.account is None and not means.payment_id:
                continue
            where = f"payment_means.{index}"
            payee_name = invoice.payee.name if invoice.payee else invoice.seller.name
            # only a label here: the name itself is carried, and length-checked, in N1*PE or N1*SE
            self.add("N1", "RI", self.free(payee_name)[:60])
            if means.account is not None:
                self.ref("PY", means.account.id, f"{where}.account.id", means.account.name or "")
                if means.account.bic:
                    self.ref("02", means.account.bic, f"{where}.account.bic")
            if means.payment_id:
                self.ref("4N", means.payment_id, f"{where}.payment_id")
            if means.code != "30":
                self.ref("ZZ", means.code, f"{where}.code", "payment means code")
        delivery = invoice.delivery
        if delivery is not None and (delivery.party_name or delivery.location or delivery.address):
            qualifier, location = "", ""
            if delivery.location is not None:
                qualifier = "UL" if delivery.location.scheme == "0088" else "ZZ"
                location = self.ident(delivery.location.value, "delivery.location", 80)
            self.add("N1", "ST", self.free(delivery.party_name or invoice.buyer.name), qualifier, location)
            if delivery.address is not None:
                self.address(delivery.address)
        self.terms(invoice)
        if delivery is not None and delivery.date is not None:
            self.add("DTM", "011", _date(delivery.date))
        if invoice.period is not None:
            self.period(invoice.period)

    def party(self, code: str, party: CanonicalParty, where: str, *, unscheme_qualifier: str) -> None:
        qualifier, identifier = _primary_identifier(party, unscheme_qualifier)
        self.add("N1", code, self.free(party.name), qualifier,
                 self.ident(identifier, f"{where}.identifiers", 80) if identifier else "")
        if party.address is not None:
            self.address(party.address)
        if party.vat_id:
            self.ref("VX", party.vat_id, f"{where}.vat_id")
        if party.endpoint is not None:
            self.ref("ZZ", party.endpoint.value, f"{where}.endpoint",
                     _label("endpoint", party.endpoint.scheme))
        if party.legal_registration is not None:
            self.ref("ZZ", party.legal_registration.value, f"{where}.legal_registration",
                     _label("legal registration", party.legal_registration.scheme))
        for index, identifier_model in enumerate(party.identifiers):
            self.ref("ZZ", identifier_model.value, f"{where}.identifiers.{index}",
                     _label("identifier", identifier_model.scheme))
        if party.tax_registration_id:
            self.ref("ZZ", party.tax_registration_id, f"{where}.tax_registration_id", "tax registration")
        contact = party.contact
        if contact is not None and (contact.name or contact.phone or contact.email):
            numbers: list[str] = []
            if contact.phone:
                numbers += ["TE", self.free(contact.phone)]
            if contact.email:
                numbers += ["EM", self.free(str(contact.email))]
            self.add("PER", "IC", self.free(contact.name or ""), *numbers)

    def address(self, address: Any) -> None:
        lines = [self.free(line) for line in address.lines]
        for start in range(0, len(lines), 2):
            self.add("N3", *lines[start : start + 2])
        subdivision = self.free(address.subdivision or "")
        state, location_qualifier, location = "", "", ""
        if len(subdivision) == 2:
            state = subdivision
        elif subdivision:
            location_qualifier, location = "SP", subdivision
        self.add("N4", self.free(address.city or ""), state, self.free(address.postal_code or ""),
                 address.country, location_qualifier, location)

    def terms(self, invoice: Invoice) -> None:
        terms = _chunks(self.free(invoice.payment_terms), 80) if invoice.payment_terms else []
        if invoice.due_date is not None:
            days = (invoice.due_date - invoice.issue_date).days
            self.add("ITD", "05", "3", "", "", "", _date(invoice.due_date),
                     str(days) if 0 <= days <= 999 else "", "", "", "", "", terms[0] if terms else "")
            terms = terms[1:]
        for chunk in terms:
            self.add("ITD", *([""] * 11), chunk)

    def period(self, period: Any) -> None:
        if period.start is not None:
            self.add("DTM", "150", _date(period.start))
        if period.end is not None:
            self.add("DTM", "151", _date(period.end))

    def line(self, index: int, line: InvoiceLine) -> None:
        where = f"lines.{index}"
        unit = UNITS_TO_X12.get(line.unit_code)
        if unit is None:
            raise FormatError(f"{where}.unit_code", f"UN/ECE Rec 20 unit {line.unit_code!r} has no X12 355 "
                                                    "equivalent in the gateway's table")
        price, basis = _unit_price(line, where)
        ids: list[str] = []
        item = line.item
        if item.seller_id:
            ids += ["VN", self.ident(item.seller_id, f"{where}.item.seller_id", 48)]
        if item.buyer_id:
            ids += ["BP", self.ident(item.buyer_id, f"{where}.item.buyer_id", 48)]
        if item.standard_id is not None and item.standard_id.scheme == "0160":
            gtin = self.ident(item.standard_id.value, f"{where}.item.standard_id", 48)
            ids += [_GTIN_QUALIFIERS.get(len(gtin), "EN"), gtin]
        self.add("IT1", self.ident(line.id, f"{where}.id", 20), _r(line.quantity), unit, _r(price), basis,
                 *ids)
        self.tax(line.vat_category, line.vat_rate)
        for chunk in _chunks(self.free(item.name), 80):
            self.add("PID", "F", "08", "", "", chunk)
        if item.description:
            for chunk in _chunks(self.free(item.description), 80):
                self.add("PID", "F", "GEN", "", "", chunk)
        if line.order_line_reference:
            self.ref("FJ", line.order_line_reference, f"{where}.order_line_reference")
        if line.note:
            for chunk in _chunks(self.free(line.note), 80):
                self.add("REF", "L1", "", chunk)
        if line.period is not None:
            self.period(line.period)
        for ac_index, charge in enumerate(line.allowances_charges):
            self.allowance_charge(charge, f"{where}.allowances_charges.{ac_index}")

    def tax(self, category: VatCategory, rate: Decimal | None, *, amount: Decimal | None = None,
            taxable: Decimal | None = None) -> None:
        summary = amount is not None
        rate_text = _r(rate) if rate is not None else ("0" if summary else "")
        self.add("TXI", "VA", _r(amount) if amount is not None else "", rate_text, "", "", "", "",
                 _r(taxable) if taxable is not None else "", "", category.value)

    def allowance_charge(self, charge: AllowanceCharge, where: str) -> None:
        indicator = "C" if charge.is_charge else "A"
        code = _SAC_CODES.get((indicator, charge.reason_code or ""), "ZZZZ")
        agency, agency_code = ("UN", self.ident(charge.reason_code, f"{where}.reason_code", 10)) \
            if charge.reason_code else ("", "")
        self.add("SAC", indicator, code, agency, agency_code, _cents(charge.amount, f"{where}.amount"),
                 "", "", "", "", "", "", "06" if charge.is_charge else "02", "", "",
                 self.free(charge.reason or ""))

    def summary(self, invoice: Invoice) -> None:
        totals = invoice.totals
        self.add("TDS", _cents(totals.tax_inclusive, "totals.tax_inclusive"))
        for breakdown in invoice.vat_breakdown:
            self.tax(breakdown.category, breakdown.rate, amount=breakdown.tax_amount,
                     taxable=breakdown.taxable_amount)
        self.add("AMT", "1", _r(totals.line_extension))
        if totals.prepaid:
            self.add("AMT", "D", _r(totals.prepaid))
        self.add("AMT", "BAP", _r(totals.payable))
        for index, charge in enumerate(invoice.allowances_charges):
            self.allowance_charge(charge, f"allowances_charges.{index}")
            if charge.vat_category is not None:
                self.tax(charge.vat_category, charge.vat_rate)
        hash_total = _r(sum((line.quantity for line in invoice.lines), Decimal(0)))
        fits = len(hash_total.replace("-", "").replace(".", "")) <= 10
        self.add("CTT", str(len(invoice.lines)), hash_total if fits else "")


def _transaction_type(invoice: Invoice) -> str:
    if invoice.document_type is DocumentType.CREDIT_NOTE:
        return "CR"
    return "DR" if invoice.type_code == "383" else "DI"


def _label(role: str, scheme: str | None) -> str:
    return f"{role} {scheme}" if scheme else role


def _primary_identifier(party: CanonicalParty, unscheme_qualifier: str) -> tuple[str, str]:
    """N103/N104: a GLN, else a DUNS, else an identifier without scheme (see the module notes)."""
    candidates = [party.endpoint, party.legal_registration, *party.identifiers]
    for scheme in ("0088", "0060"):
        for candidate in candidates:
            if candidate is not None and candidate.scheme == scheme:
                return _SCHEME_QUALIFIERS[scheme], candidate.value
    for candidate in party.identifiers:
        if candidate.scheme is None and len(candidate.value) >= 2:
            return unscheme_qualifier, candidate.value
    return "", ""


def _unit_price(line: InvoiceLine, where: str) -> tuple[Decimal, str]:
    """IT104/IT105: the price per unit, or per hundred / thousand."""
    base = line.price.base_quantity
    if base is None or base == 1:
        return line.price.net, ""
    if base == 100:
        return line.price.net, "HP"
    if base == 1000:
        return line.price.net, "TP"
    per_unit = line.price.net / base
    if per_unit * base != line.price.net or _decimal_places(per_unit) > 6:
        raise FormatError(f"{where}.price.base_quantity",
                          f"X12 IT104 is a price per unit (or per 100/1000): {line.price.net} per "
                          f"{base} is not an exact unit price")
    return per_unit, ""


def _decimal_places(value: Decimal) -> int:
    exponent = value.normalize().as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


# ------------------------------------------------------------------------------------------------- read


@dataclass
class _PartyLoop:
    n1: Segment
    segments: list[Segment] = field(default_factory=list)

    @property
    def code(self) -> str:
        return self.n1.get(1)

    def refs(self, qualifier: str) -> list[Segment]:
        return [s for s in self.segments if s.tag == "REF" and s.get(1) == qualifier]


@dataclass
class _Charge:
    sac: Segment
    taxes: list[Segment] = field(default_factory=list)


@dataclass
class _LineLoop:
    it1: Segment
    taxes: list[Segment] = field(default_factory=list)
    pids: list[Segment] = field(default_factory=list)
    refs: list[Segment] = field(default_factory=list)
    dates: list[Segment] = field(default_factory=list)
    charges: list[_Charge] = field(default_factory=list)


@dataclass
class _Transaction:
    """An 810's segments sorted into heading, lines and summary (lenient about order)."""

    big: Segment | None = None
    heading: list[Segment] = field(default_factory=list)
    parties: list[_PartyLoop] = field(default_factory=list)
    lines: list[_LineLoop] = field(default_factory=list)
    tds: Segment | None = None
    taxes: list[Segment] = field(default_factory=list)
    amounts: list[Segment] = field(default_factory=list)
    charges: list[_Charge] = field(default_factory=list)
    ctt: Segment | None = None


def _sort(transaction: TransactionSet) -> _Transaction:
    result = _Transaction()
    party: _PartyLoop | None = None
    line: _LineLoop | None = None
    charge: _Charge | None = None
    in_subline = False
    for segment in transaction.segments:
        tag = segment.tag
        if tag == "BIG" and result.big is None:
            result.big = segment
            continue
        if result.tds is None and tag == "TDS":
            result.tds = segment
            party = line = charge = None
            continue
        if result.tds is not None:  # summary
            if tag == "SAC":
                charge = _Charge(segment)
                result.charges.append(charge)
            elif tag == "TXI":
                (charge.taxes if charge is not None else result.taxes).append(segment)
            elif tag == "AMT":
                result.amounts.append(segment)
            elif tag == "CTT":
                result.ctt = segment
            continue
        if tag == "IT1":
            line = _LineLoop(segment)
            result.lines.append(line)
            party = charge = None
            in_subline = False
            continue
        if line is not None:  # detail
            if tag == "SLN":
                in_subline = True
            elif tag == "N1":
                in_subline = True  # a line-level N1 loop: nothing after it belongs to the line
            elif in_subline:
                continue
            elif tag == "SAC":
                charge = _Charge(segment)
                line.charges.append(charge)
            elif tag == "TXI":
                (charge.taxes if charge is not None else line.taxes).append(segment)
            elif tag == "PID":
                line.pids.append(segment)
            elif tag == "REF":
                line.refs.append(segment)
            elif tag == "DTM":
                line.dates.append(segment)
            continue
        if tag == "N1":
            party = _PartyLoop(segment)
            result.parties.append(party)
            continue
        if party is not None and tag in _N1_LOOP_TAGS:
            party.segments.append(segment)
            continue
        party = None
        result.heading.append(segment)
    return result


def _fail(segment: Segment, element: int | None, reason: str) -> X12SyntaxError:
    return X12SyntaxError(reason, segment_position=segment.position, segment_tag=segment.tag,
                          element_index=element)


def _read_date(segment: Segment, element: int) -> dt.date:
    text = segment.get(element)
    day = read_date(text)
    if day is None:
        raise _fail(segment, element, f"{segment.tag}{element:02d} {text!r} is not a date (CCYYMMDD)")
    return day


def _optional_date(segment: Segment | None, element: int) -> dt.date | None:
    if segment is None or not segment.get(element):
        return None
    return _read_date(segment, element)


def _read_number(segment: Segment, element: int) -> Decimal:
    """An R or N element as an exact Decimal (N2 elements scaled by their implied decimals)."""
    text = segment.get(element)
    places = IMPLIED_DECIMALS.get((segment.tag, element))
    pattern = _INTEGER if places else _NUMBER
    if not pattern.fullmatch(text):
        kind = "N2 (digits, implied decimals)" if places else "a number"
        raise _fail(segment, element, f"{segment.tag}{element:02d} {text!r} is not {kind}")
    if sum(char.isdigit() for char in text) > 18:
        raise _fail(segment, element, f"{segment.tag}{element:02d} {text!r} has more than 18 digits")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise _fail(segment, element, f"{segment.tag}{element:02d} {text!r} is not a number") from None
    return value.scaleb(-places) if places else value


def _optional_number(segment: Segment | None, element: int) -> Decimal | None:
    if segment is None or not segment.get(element):
        return None
    return _read_number(segment, element)


def _country(code: str, state: str) -> str:
    """N404 as ISO 3166 alpha-2 (three-letter codes converted); none: US, or CA for a Canadian province."""
    code = code.strip().upper()
    if len(code) == 3:
        found = pycountry.countries.get(alpha_3=code)
        return found.alpha_2 if found is not None else code
    if code:
        return code
    if state.upper() in _CANADIAN_PROVINCES:
        return "CA"
    return "US"


def _read_address(segments: Iterable[Segment]) -> dict[str, Any] | None:
    lines: list[str] = []
    n4: Segment | None = None
    for segment in segments:
        if segment.tag == "N3":
            lines += [value for value in (segment.get(1), segment.get(2)) if value.strip()]
        elif segment.tag == "N4" and n4 is None:
            n4 = segment
    if not lines and n4 is None:
        return None
    address: dict[str, Any] = {"lines": [line.strip() for line in lines[:3]]}
    if n4 is not None:
        state = n4.get(2).strip()
        subdivision = state or (n4.get(6).strip() if n4.get(5) == "SP" else "")
        address.update(city=n4.get(1).strip() or None, postal_code=n4.get(3).strip() or None,
                       subdivision=subdivision or None, country=_country(n4.get(4), state))
    else:
        address["country"] = "US"
    return address


def _read_party(loop: _PartyLoop) -> dict[str, Any]:
    name = loop.n1.get(2).strip() or loop.n1.get(4).strip() or loop.code
    party: dict[str, Any] = {"name": name}
    structured = False
    identifiers: list[dict[str, Any]] = []
    for ref in loop.refs("ZZ"):
        match = _IDENTIFIER_LABEL.fullmatch(ref.get(3).strip())
        if match is None or not ref.get(2):
            continue
        structured = True
        role, scheme = match.groups()
        identifier = {"value": ref.get(2), "scheme": scheme}
        if role == "endpoint":
            party["endpoint"] = identifier
        elif role == "legal registration":
            party["legal_registration"] = identifier
        elif role == "identifier":
            identifiers.append(identifier)
        else:
            party["tax_registration_id"] = ref.get(2)
    if not structured and loop.n1.get(4):
        identifiers.append({"value": loop.n1.get(4), "scheme": _N1_SCHEMES.get(loop.n1.get(3))})
    if identifiers:
        party["identifiers"] = identifiers
    vat = loop.refs("VX")
    if vat and vat[0].get(2):
        party["vat_id"] = vat[0].get(2)
    address = _read_address(loop.segments)
    if address is not None:
        party["address"] = address
    contact = next((s for s in loop.segments if s.tag == "PER"), None)
    if contact is not None:
        details: dict[str, Any] = {}
        if contact.get(2).strip():
            details["name"] = contact.get(2).strip()
        for qualifier_index in (3, 5, 7):
            qualifier, number = contact.get(qualifier_index), contact.get(qualifier_index + 1).strip()
            if qualifier == "TE" and number and "phone" not in details:
                details["phone"] = number[:50]
            elif qualifier == "EM" and number and "email" not in details and _valid_email(number):
                details["email"] = number
        if details:
            party["contact"] = details
    return party


def _valid_email(text: str) -> bool:
    try:
        _EMAIL.validate_python(text)
    except ValidationError:
        return False
    return True


def _envelope_party(party: Party) -> dict[str, Any]:
    return {"name": party.id or "unknown", "identifiers": [{"value": party.id}] if party.id else []}


def _chunks_joined(values: Iterable[str]) -> str:
    return " ".join(value.strip() for value in values if value.strip())


@dataclass
class _Taxes:
    vat: bool
    categories: dict[int, tuple[VatCategory, Decimal | None]] = field(default_factory=dict)


def _vat_of(txi: Segment) -> tuple[VatCategory, Decimal | None]:
    rate = _optional_number(txi, 3)
    category_code = txi.get(10).strip()
    try:
        category = VatCategory(category_code)
    except ValueError:
        category = VatCategory.STANDARD if rate is not None and rate > 0 else VatCategory.ZERO
    if category is VatCategory.OUTSIDE_SCOPE:
        return category, None
    return category, rate if rate is not None else Decimal(0)


@dataclass
class _Reading:
    """One way of reading an 810's amounts: lines, document allowances/charges, VAT breakdown, and the
    first stated VAT figure that does not add up, if any."""

    lines: list[InvoiceLine]
    charges: list[AllowanceCharge]
    breakdown: list[VatBreakdown]
    vat_problem: X12SyntaxError | None


class _Reader:
    """One 810 transaction set → the canonical invoice's data (a dict for `Invoice.model_validate`)."""

    def __init__(self, transaction: TransactionSet, interchange: Interchange,
                 unbalanced: Literal["reject", "adjust"]) -> None:
        self.transaction = transaction
        self.interchange = interchange
        self.unbalanced = unbalanced
        self.sorted = _sort(transaction)
        self.sign = Decimal(1)

    def first(self, tag: str, qualifier: str | None = None) -> Segment | None:
        return next((s for s in self.sorted.heading if s.tag == tag
                     and (qualifier is None or s.get(1) == qualifier)), None)

    def read(self) -> dict[str, Any]:
        sorted_ = self.sorted
        big = sorted_.big
        if big is None:
            raise X12SyntaxError("an 810 begins with BIG (invoice date and number): it is missing",
                                 segment_position=self.transaction.position, segment_tag="ST")
        if not big.get(2):
            raise _fail(big, 2, "BIG02 (invoice number) is mandatory and missing")
        if sorted_.tds is None:
            raise X12SyntaxError("an 810 needs TDS (the total invoice amount): it is missing",
                                 segment_position=self.transaction.position, segment_tag="ST")
        transaction_type = big.get(7)
        credit = transaction_type in ("CR", "CN")
        stated_total = _read_number(sorted_.tds, 1)
        if credit and stated_total < 0:
            self.sign = Decimal(-1)
        data: dict[str, Any] = {
            "document_type": DocumentType.CREDIT_NOTE.value if credit else DocumentType.INVOICE.value,
            "number": big.get(2),
            "issue_date": _read_date(big, 1),
        }
        if transaction_type == "DR":
            data["type_code"] = "383"
        cur = self.first("CUR")
        data["currency"] = cur.get(2) if cur is not None and cur.get(2) else "USD"
        order = big.get(4) or (po.get(2) if (po := self.first("REF", "PO")) is not None else "")
        if order:
            data["order_reference"] = order
        for name, qualifier in _HEADING_REFS.items():
            ref = self.first("REF", qualifier)
            if ref is not None and ref.get(2):
                data[name] = ref.get(2)
        preceding = [{"id": s.get(2)} for s in sorted_.heading if s.tag == "REF" and s.get(1) == "OI"
                     and s.get(2)]
        if preceding:
            data["preceding_invoices"] = preceding
        notes = self.notes()
        if notes:
            data["notes"] = notes
        self.parties(data)
        self.dates_and_terms(data)
        taxes = self.tax_mode()
        if not sorted_.lines:
            raise X12SyntaxError("the 810 has no IT1 line: the canonical invoice needs at least one",
                                 segment_position=sorted_.tds.position, segment_tag="TDS")
        stated_total *= self.sign
        # The standard reading counts every SAC. When both levels carry SACs and that does not add up, two
        # habits are tried, in this order: line SACs as detail repeated in the summary (Ariba), and the
        # summary repeating the lines'. Whichever matches TDS01 is taken; none matching keeps the first.
        has_line_sacs = any(c.sac.get(1) in ("A", "C") for line in sorted_.lines for c in line.charges)
        has_document_sacs = any(c.sac.get(1) in ("A", "C") for c in sorted_.charges)
        readings = [(True, True)]
        if has_line_sacs and has_document_sacs:
            readings += [(False, True), (True, False)]
        first: _Reading | None = None
        chosen: _Reading | None = None
        for use_line_sacs, use_document_sacs in readings:
            line_models, charge_models = self.amounts(taxes, use_line_sacs, use_document_sacs)
            breakdown, vat_problem = self.stated_vat(compute_vat_breakdown(line_models, charge_models))
            totals = compute_totals(line_models, charge_models, breakdown)
            reading = _Reading(line_models, charge_models, breakdown, vat_problem)
            first = first or reading
            if totals.tax_inclusive == stated_total and vat_problem is None:
                chosen = reading
                break
        if chosen is not None:
            line_models, charge_models, breakdown = chosen.lines, chosen.charges, chosen.breakdown
        else:
            assert first is not None
            line_models, charge_models, breakdown = first.lines, first.charges, first.breakdown
            if self.unbalanced == "reject" and first.vat_problem is not None:
                raise first.vat_problem
            totals = compute_totals(line_models, charge_models, breakdown)
            difference = stated_total - totals.tax_inclusive
            if self.unbalanced == "reject" and difference:
                raise _fail(sorted_.tds, 1, f"TDS01 says the invoice totals {stated_total}, but its lines, "
                                            f"allowances, charges and taxes add up to {totals.tax_inclusive} "
                                            f"(a difference of {difference})")
            if difference:
                charge_models.append(AllowanceCharge.model_validate(self.balancing_charge(difference)))
            breakdown = compute_vat_breakdown(line_models, charge_models)
            totals = compute_totals(line_models, charge_models, breakdown)
        self.check_line_total(sum((line.net_amount for line in line_models), Decimal(0)))
        prepaid = self.amount("D") or Decimal(0)
        payable = self.amount("BAP")
        rounding = Decimal(0) if payable is None else payable - (totals.tax_inclusive - prepaid)
        totals = compute_totals(line_models, charge_models, breakdown, prepaid=prepaid, rounding=rounding)
        # models, not dumps: pydantic takes validated instances as they are
        data.update(lines=line_models, allowances_charges=charge_models, vat_breakdown=breakdown,
                    totals=totals)
        return data

    def stated_vat(self, breakdown: list[VatBreakdown]) -> tuple[list[VatBreakdown], X12SyntaxError | None]:
        """The summary TXI*VA figures (TXI08 taxable, TXI02 tax) over the breakdown the lines give.

        A stated figure the official rule accepts is kept (BR-x-08: below one unit for S/L/M, else exact;
        BR-CO-17 with BR-x-09: below one unit, or 0 where the category carries no VAT), and the canonical
        model then warns of the difference; one it refuses is the first problem, naming the TXI element
        (an 810 whose VAT does not add up is refused like an INVOIC, never sent to fail BR-CO-17 later).
        """
        by_key = {(vb.category, (vb.rate or Decimal(0)).normalize()): index
                  for index, vb in enumerate(breakdown)}
        result = list(breakdown)
        problem: X12SyntaxError | None = None
        for txi in self.sorted.taxes:
            if txi.get(1) != "VA":
                continue
            category, rate = _vat_of(txi)
            taxable = _optional_number(txi, 8)
            tax = _optional_number(txi, 2)
            index = by_key.get((category, (rate or Decimal(0)).normalize()))
            what = f"VAT category {category.value}" + (f" at {rate} %" if rate is not None else "")
            if index is None:
                if (tax or 0) or (taxable or 0):
                    problem = problem or _fail(txi, 2 if tax else 8, f"TXI states {what}, but no line, "
                                                                     "allowance or charge is in it")
                continue
            vb = result[index]
            if taxable is not None:
                taxable *= self.sign
                if not taxable_within_tolerance(category, taxable, vb.taxable_amount):
                    problem = problem or _fail(
                        txi, 8, f"TXI08 says the taxable amount in {what} is {taxable}, but the lines, "
                                f"allowances and charges in it add up to {vb.taxable_amount} "
                                f"({category_rule(category, '08')})")
                    continue
                vb = vb.model_copy(update={"taxable_amount": taxable})
            if tax is not None:
                tax *= self.sign
                if not tax_within_tolerance(category, tax, vb.taxable_amount, rate):
                    exact = round_amount(vb.taxable_amount * (rate or Decimal(0)) / 100)
                    problem = problem or _fail(
                        txi, 2, f"TXI02 says the VAT in {what} is {tax}, but {vb.taxable_amount} × "
                                f"{rate or 0} % is {exact} (BR-CO-17)")
                    continue
                vb = vb.model_copy(update={"tax_amount": tax})
            result[index] = vb
        return result, problem

    def check_line_total(self, line_total: Decimal) -> None:
        """AMT*1 (line item total), when stated, must be what the IT1 lines add up to (BR-CO-10, exact)."""
        amt = next((s for s in self.sorted.amounts if s.get(1) == "1" and s.get(2)), None)
        if amt is None:
            return
        stated = _read_number(amt, 2) * self.sign
        if stated != line_total:
            raise _fail(amt, 2, f"AMT*1 says the lines total {stated}, but the IT1 lines add up to "
                                f"{line_total} (BR-CO-10)")

    def amounts(self, taxes: _Taxes, use_line_sacs: bool,
                use_document_sacs: bool) -> tuple[list[InvoiceLine], list[AllowanceCharge]]:
        """Lines and document-level allowances/charges, counting line or document SACs as asked."""
        sorted_ = self.sorted
        lines = [self.line(index, loop, taxes, use_line_sacs) for index, loop in enumerate(sorted_.lines)]
        charges: list[dict[str, Any]] = []
        if use_document_sacs:
            charges = [self.document_charge(charge, taxes) for charge in sorted_.charges
                       if charge.sac.get(1) in ("A", "C") and charge.sac.get(5)]
        charges += self.sales_tax_charges(taxes, use_line_sacs, use_document_sacs)
        return lines, [AllowanceCharge.model_validate(charge) for charge in charges]

    def amount(self, qualifier: str) -> Decimal | None:
        segment = next((s for s in self.sorted.amounts if s.get(1) == qualifier), None)
        value = _optional_number(segment, 2)
        return None if value is None else value * self.sign

    def notes(self) -> list[str]:
        notes: list[list[str]] = []
        for segment in self.sorted.heading:
            if segment.tag != "NTE" or not segment.get(2).strip():
                continue
            if segment.get(1) == "ADD" and notes:
                notes[-1].append(segment.get(2))
            else:
                notes.append([segment.get(2)])
        return [_chunks_joined(chunks)[:1000] for chunks in notes]

    def parties(self, data: dict[str, Any]) -> None:
        loops = self.sorted.parties

        def find(codes: Sequence[str]) -> _PartyLoop | None:
            for code in codes:
                for loop in loops:
                    if loop.code == code:
                        return loop
            return None

        seller = find(_SELLER_CODES)
        buyer = find(_BUYER_CODES)
        data["seller"] = _read_party(seller) if seller else _envelope_party(self.interchange.sender)
        data["buyer"] = _read_party(buyer) if buyer else _envelope_party(self.interchange.receiver)
        payee = find(("PE",))
        if payee is not None:
            data["payee"] = _read_party(payee)
        means: list[dict[str, Any]] = []
        for loop in loops:
            if loop.code in _REMIT_CODES:
                found = _payment_means(loop)
                if found is not None:
                    means.append(found)
        if means:
            data["payment_means"] = means
        ship_to = find(("ST",))
        if ship_to is not None:
            delivery: dict[str, Any] = {}
            if ship_to.n1.get(2).strip():
                delivery["party_name"] = ship_to.n1.get(2).strip()
            if ship_to.n1.get(4):
                delivery["location"] = {"value": ship_to.n1.get(4),
                                        "scheme": _N1_SCHEMES.get(ship_to.n1.get(3))}
            address = _read_address(ship_to.segments)
            if address is not None:
                delivery["address"] = address
            data["delivery"] = delivery

    def dates_and_terms(self, data: dict[str, Any]) -> None:
        delivered = self.first("DTM", "035") or self.first("DTM", "011")
        date = _optional_date(delivered, 2)
        if date is not None:
            data.setdefault("delivery", {})["date"] = date
        period = _period(self.sorted.heading)
        if period:
            data["period"] = period
        terms: list[str] = []
        issue_date: dt.date = data["issue_date"]
        for itd in (s for s in self.sorted.heading if s.tag == "ITD"):
            if "due_date" not in data:
                due = _optional_date(itd, 6)
                days = itd.get(7)
                if due is not None:
                    data["due_date"] = due
                elif days.isdigit() and len(days) <= 3 and itd.get(2) in ("3", ""):
                    data["due_date"] = issue_date + dt.timedelta(days=int(days))
            if itd.get(12).strip():
                terms.append(itd.get(12))
        if terms:
            data["payment_terms"] = _chunks_joined(terms)[:1000]

    def tax_mode(self) -> _Taxes:
        every_tax = [*self.sorted.taxes, *(t for c in self.sorted.charges for t in c.taxes),
                     *(t for line in self.sorted.lines for t in line.taxes),
                     *(t for line in self.sorted.lines for c in line.charges for t in c.taxes)]
        return _Taxes(vat=any(t.get(1) == "VA" for t in every_tax))

    def line(self, index: int, loop: _LineLoop, taxes: _Taxes, use_sacs: bool = True) -> InvoiceLine:
        it1 = loop.it1
        if not it1.get(2):
            raise _fail(it1, 2, "IT102 (quantity invoiced) is missing")
        if not it1.get(4):
            raise _fail(it1, 4, "IT104 (unit price) is missing")
        quantity = _read_number(it1, 2) * self.sign
        price = _read_number(it1, 4)
        if price < 0:  # EN 16931 BR-27: the price is never negative, the quantity may be
            quantity, price = -quantity, -price
        unit = it1.get(3)
        base: Decimal | None = {"HP": Decimal(100), "TP": Decimal(1000)}.get(it1.get(5))
        item: dict[str, Any] = {}
        attributes: dict[str, str] = {}
        for pair in range(6, 26, 2):
            qualifier, value = it1.get(pair), it1.get(pair + 1)
            if not qualifier or not value:
                continue
            if qualifier in _SELLER_ITEM_QUALIFIERS and "seller_id" not in item:
                item["seller_id"] = value
            elif qualifier in _BUYER_ITEM_QUALIFIERS and "buyer_id" not in item:
                item["buyer_id"] = value
            elif qualifier in _STANDARD_ID_QUALIFIERS and "standard_id" not in item:
                item["standard_id"] = {"value": value, "scheme": "0160"}
            else:
                attributes.setdefault(f"X12 {qualifier}", value)
        names = [p.get(5) for p in loop.pids if p.get(2) != "GEN" and p.get(5).strip()]
        descriptions = [p.get(5) for p in loop.pids if p.get(2) == "GEN" and p.get(5).strip()]
        name = _chunks_joined(names)
        description = _chunks_joined(descriptions)
        if len(name) > 200:
            description = description or name
            name = names[0].strip()[:200]
        line_id = it1.get(1).strip() or str(index + 1)
        item["name"] = name or item.get("seller_id") or item.get("buyer_id") or f"line {line_id}"
        if description:
            item["description"] = description[:1000]
        if attributes:
            item["attributes"] = attributes
        vat_taxes = [t for t in loop.taxes if t.get(1) == "VA"]
        if taxes.vat:
            if vat_taxes:
                category, rate = _vat_of(vat_taxes[0])
            else:
                category, rate = self.single_vat(it1)
        else:
            category, rate = VatCategory.OUTSIDE_SCOPE, None
        line: dict[str, Any] = {
            "id": line_id,
            "quantity": quantity,
            "unit_code": UNITS_FROM_X12.get(unit, unit) if unit else "C62",
            "net_amount": Decimal(0),
            "price": {"net": price, "base_quantity": base},
            "vat_category": category,
            "vat_rate": rate,
            "item": item,
            "allowances_charges": [self.charge(c.sac) for c in loop.charges
                                   if use_sacs and c.sac.get(1) in ("A", "C") and c.sac.get(5)],
        }
        fj = next((r for r in loop.refs if r.get(1) == "FJ" and r.get(2)), None)
        if fj is not None:
            line["order_line_reference"] = fj.get(2)
        note = _chunks_joined(r.get(3) for r in loop.refs if r.get(1) == "L1")
        if note:
            line["note"] = note[:1000]
        period = _period(loop.dates)
        if period:
            line["period"] = period
        try:
            model = InvoiceLine.model_validate(line)
        except ValidationError as error:
            raise InvoiceValidationError(error_entries(error, f"lines.{index}")) from None
        model.net_amount = line_net_amount(model)
        return model

    def single_vat(self, anchor: Segment) -> tuple[VatCategory, Decimal | None]:
        """The VAT category of a line or charge without its own TXI: the summary's, if it has only one."""
        summary = {_vat_of(t) for t in self.sorted.taxes if t.get(1) == "VA"}
        if len(summary) == 1:
            return summary.pop()
        raise _fail(anchor, None, f"{anchor.tag} has no TXI*VA saying its VAT category and rate, and the "
                                  "summary has not exactly one to take it from")

    def charge(self, sac: Segment) -> dict[str, Any]:
        amount = abs(_read_number(sac, 5)) if self.sign < 0 else _read_number(sac, 5)
        code = sac.get(2)
        reason = sac.get(15).strip() or _SAC_NAMES.get(code) or (f"X12 SAC02 {code}" if code else None)
        result: dict[str, Any] = {"is_charge": sac.get(1) == "C", "amount": amount, "reason": reason}
        if sac.get(3) == "UN" and sac.get(4):
            result["reason_code"] = sac.get(4)
        return result

    def document_charge(self, charge: _Charge, taxes: _Taxes) -> dict[str, Any]:
        """A summary SAC: in a VAT invoice its VAT category is its own TXI*VA (none without one, as the
        canonical model allows a document-level allowance or charge outside the VAT breakdown)."""
        result = self.charge(charge.sac)
        if taxes.vat:
            vat = [t for t in charge.taxes if t.get(1) == "VA"]
            if vat:
                result["vat_category"], result["vat_rate"] = _vat_of(vat[0])
        else:
            result.update(vat_category=VatCategory.OUTSIDE_SCOPE, vat_rate=None)
        return result

    def sales_tax_charges(self, taxes: _Taxes, use_line_sacs: bool,
                          use_document_sacs: bool) -> list[dict[str, Any]]:
        """A sales-tax invoice's taxes as document-level charges, unless the SACs counted carry them."""
        if taxes.vat:
            return []
        sorted_ = self.sorted
        tax_sacs = [c.sac for c in sorted_.charges if use_document_sacs]
        tax_sacs += [c.sac for line in sorted_.lines for c in line.charges if use_line_sacs]
        if any(sac.get(2) in _TAX_SAC_CODES for sac in tax_sacs):
            return []
        sources = [t for t in sorted_.taxes if t.get(2)]
        if not sources:
            sources = [t for line in sorted_.lines for t in line.taxes if t.get(2)]
        charges: dict[str, Decimal] = {}
        for txi in sources:
            charges[txi.get(1)] = charges.get(txi.get(1), Decimal(0)) + _read_number(txi, 2) * self.sign
        return [
            {"is_charge": True, "amount": round_amount(amount), "reason": f"Sales tax (X12 TXI {code})",
             "vat_category": VatCategory.OUTSIDE_SCOPE, "vat_rate": None}
            for code, amount in charges.items() if amount
        ]

    def balancing_charge(self, difference: Decimal) -> dict[str, Any]:
        return {
            "is_charge": difference > 0,
            "amount": abs(difference),
            "reason": "Difference to the 810's total (TDS01) that its lines, allowances, charges and taxes "
                      "do not explain",
            "vat_category": VatCategory.OUTSIDE_SCOPE,
            "vat_rate": None,
        }


def _period(segments: Iterable[Segment]) -> dict[str, Any] | None:
    period: dict[str, Any] = {}
    for segment in segments:
        if segment.tag == "DTM" and segment.get(1) in ("150", "151") and segment.get(2):
            period.setdefault("start" if segment.get(1) == "150" else "end", _read_date(segment, 2))
    return period or None


def _payment_means(loop: _PartyLoop) -> dict[str, Any] | None:
    account_ref = next(iter(loop.refs("PY") + loop.refs("11")), None)
    kid = next(iter(loop.refs("4N")), None)
    if account_ref is None and kid is None:
        return None
    means: dict[str, Any] = {"code": "30"}
    for ref in loop.refs("ZZ"):
        if ref.get(3).strip() == "payment means code" and ref.get(2):
            means["code"] = ref.get(2)
    if kid is not None and kid.get(2):
        means["payment_id"] = kid.get(2)
    if account_ref is not None and account_ref.get(2):
        account: dict[str, Any] = {"id": account_ref.get(2)}
        if account_ref.get(3).strip():
            account["name"] = account_ref.get(3).strip()
        bic = next(iter(loop.refs("02") + loop.refs("01") + loop.refs("RT")), None)
        if bic is not None and bic.get(2):
            account["bic"] = bic.get(2).strip()
        means["account"] = account
    return means


def _transactions_810(interchange: Interchange) -> list[tuple[FunctionalGroup, TransactionSet]]:
    return [(group, t) for group in interchange.groups for t in group.transactions if t.set_id == SET_ID]


def parse(data: bytes, *, strict: bool = False,
          unbalanced: Literal["reject", "adjust"] = "reject") -> list[Invoice]:
    """Every 810 in every functional group of an X12 interchange (of each, in a file of several), as canonical
    invoices.

    The envelope is checked strictly (`X12SyntaxError` with the segment position); `strict=True` also checks
    each transaction set against the 810 grammar of its GS08 release. An 810 whose TDS01 does not match
    its lines, allowances, charges and taxes is refused (`unbalanced="reject"`) or balanced with a charge
    or allowance named as such (`unbalanced="adjust"`). A canonical validation failure is an
    `InvoiceValidationError` whose fields are prefixed with the 810's control number.
    """
    found = [
        (interchange, group, transaction)
        for interchange in x12.every_interchange(data)  # a VAN's file: ISA…IEA, ISA…IEA
        for group, transaction in _transactions_810(interchange)
    ]
    if not found:
        raise FormatError("interchange", "no 810 transaction set in this interchange")
    invoices: list[Invoice] = []
    for interchange, group, transaction in found:
        if strict:
            problems = check_message(grammar_for(group.version), transaction.segments)
            if problems:
                raise _problem_error(problems[0])
        try:
            invoices.append(Invoice.model_validate(_Reader(transaction, interchange, unbalanced).read()))
        except ValidationError as error:
            prefix = f"810 {transaction.control_number} (ST at segment {transaction.position})"
            raise InvoiceValidationError(error_entries(error, prefix)) from None
    return invoices


# ------------------------------------------------------------------------------------ sniff and inspect


def sniff(data: bytes) -> bool:
    """An X12 interchange (ISA first) that carries at least one 810 transaction set."""
    return x12.has_set(data, SET_ID)


def _n2_text(segment: Segment | None, element: int) -> str | None:
    try:
        value = _optional_number(segment, element)
    except X12SyntaxError:
        return segment.get(element) if segment is not None else None
    return None if value is None else str(value)


def inspect(data: bytes) -> dict[str, Any]:
    """Per 810: invoice number, date, parties, total (TDS01), line count, currency; whether it reads into the
    canonical model (and why not), and the grammar's findings for its release."""
    interchange = x12.parse(data)
    transactions: list[dict[str, Any]] = []
    for group, transaction in _transactions_810(interchange):
        sorted_ = _sort(transaction)
        big = sorted_.big
        cur = next((s for s in sorted_.heading if s.tag == "CUR"), None)
        summary: dict[str, Any] = {
            "control_number": transaction.control_number,
            "position": transaction.position,
            "release": group.version,
            "functional_id": group.functional_id,
            "invoice_number": big.get(2) if big else None,
            "invoice_date": big.get(1) if big else None,
            "transaction_type": (big.get(7) or None) if big else None,
            "purchase_order": (big.get(4) or None) if big else None,
            "currency": cur.get(2) if cur is not None and cur.get(2) else "USD",
            "currency_stated": cur is not None,
            "parties": [{"code": loop.code, "name": loop.n1.get(2) or None,
                         "id_qualifier": loop.n1.get(3) or None, "id": loop.n1.get(4) or None}
                        for loop in sorted_.parties],
            "total": _n2_text(sorted_.tds, 1),
            "line_count": len(sorted_.lines),
            "ctt_line_count": sorted_.ctt.get(1) if sorted_.ctt is not None else None,
        }
        problems = check_message(grammar_for(group.version), transaction.segments)
        summary["grammar_problems"] = [
            _problem_error(p).as_dict()
            for p in problems[:20]
        ]
        try:
            invoice = Invoice.model_validate(_Reader(transaction, interchange, "reject").read())
        except FormatError as error:
            errors = getattr(error, "errors", None) or [error.as_dict()]
            summary.update(readable=False, errors=errors)
        except ValidationError as error:
            summary.update(readable=False, errors=error_entries(error))
        else:
            summary.update(readable=True, payable=str(invoice.totals.payable),
                           tax_amount=str(invoice.totals.tax_amount), seller=invoice.seller.name,
                           buyer=invoice.buyer.name)
        transactions.append(summary)
    return {
        "format": FORMAT_4010,
        "interchange_version": interchange.version,
        "sender": interchange.sender.as_dict(),
        "receiver": interchange.receiver.as_dict(),
        "control_number": interchange.control_number,
        "test": interchange.is_test,
        "invoice_count": len(transactions),
        "invoices": transactions,
    }
