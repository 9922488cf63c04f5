"""UN/EDIFACT INVOIC ⇄ the canonical invoice: EANCOM 1997 INVOIC (D.96A, EAN008) and UN D.01B INVOIC.

Pure functions, no I/O: `render` (with `version` "D96A" or "D01B": the registry's "edifact-d96a" and
"edifact-d01b"), `parse`, `inspect`, `sniff`. The syntax (separators, escaping, character sets, the
envelope) is `mappings.syntax.edifact`'s; the message structure is checked with `mappings.syntax.edi_grammar`
against `mappings.syntax.grammars.invoic`, and a rendered message that fails it is refused (`FormatError`
naming segment, element and component): nothing leaves that our own grammar rejects.

Mapping, segment by segment (D.96A group numbers; D.01B's are SG16/SG26/SG27/SG29/SG30/SG34/SG39/SG50/SG52):

* BGM 1001 = BT-3 (380 invoice, 381 credit note, or the invoice's own code), 1004 = BT-1, 1225 = 9 (original).
* DTM 137 = BT-2, 35 = BT-72 (delivery date), 131 = BT-7, 194/206 = BG-14 period start/end (also per line).
* PAI 4461 = BT-81 of the first payment means (PAI occurs once).
* FTX AAI = BT-22 notes (and BT-127 per line), AAB = BT-20 payment terms, REG = BT-33 seller legal information
  (e.g. "Foretaksregisteret"), TXD = BT-120 VAT exemption reason with BT-121 in C107 4441, in the order of
  the VAT breakdown entries that have one (only E, AE, K, G and O may; read back onto those, in order).
  Text is cut into the FTX/IMD/NAD components as it comes (a full-length component continues in the next
  without a space when read); line breaks become spaces.
* SG1 RFF: ON = BT-13, VN = BT-14, CT = BT-12, AEP = BT-11, CR = BT-10, AAK = BT-16, ALO = BT-15,
  IV = BG-3 preceding invoice with DTM 171 = its date, PQ = BT-83 payment reference (KID), one per payment
  means that has one, in order. The KID is a reference (RFF PQ), not free text: receivers match on it.
* SG2 NAD SU = seller, BY = buyer, PE = payee, LC = tax representative, DP = delivery (BT-70/71, BG-15).
  C082 is the party's GLN (scheme 0088) with 3055 "9" when it has one, else its first identifier (or
  endpoint, or legal registration) with 3055 "ZZZ" (and, in D.01B, the ISO 6523 scheme in 1131); C080 the
  name; C059, 3164, 3229/C819, 3251, 3207 the address. SG3 RFF VA = VAT id, XA = legal registration,
  FC = tax registration id. FII RB = the payment accounts (IBAN, account name, BIC), under PE if there is a
  payee, else under SU. SG5 CTA IC + COM TE/EM = contact. We do not write NAD IV: EN 16931 has one buyer,
  who is the invoicee; on reading, IV (or the automotive BT) stands for the buyer when there is no BY.
* SG7 CUX 2:currency:4. A separate VAT currency (BT-6/BT-111) is not written: refused with a reason.
* SG8 PAT 1 with DTM 13 = BT-9 due date.
* SG15 ALC A/C = document allowance/charge: reason code in C552 5189 (allowance) or C214 7161 (charge), reason
  text in C214 7160; PCD 1/2 = percentage, MOA 8 = amount, MOA 25 = base amount, SG21 TAX = its VAT.
* SG25 LIN 1082 = BT-126 when it fits (else the line's sequence number, and RFF LI = BT-126), C212 = GTIN
  (scheme 0160; EN in D.96A, SRV in D.01B); PIA SA = BT-155, BP = BT-156; IMD F = BT-153, A = BT-154;
  QTY 47 = BT-129 with BT-130; SG26 MOA 203 = BT-131; SG28 PRI AAA = BT-146 with base quantity and unit
  (5284, 6411), PRI AAB = BT-148; SG29 RFF ON 1156 = BT-132; SG33 TAX = BT-151/152; SG38 ALC = line
  allowances/charges as in SG15.
* UNS S; CNT 2 = number of lines; SG48 MOA 79 = BT-106, 260 = BT-107, 259 = BT-108, 125 = BT-109,
  176 = BT-110, 77 = BT-112, 113 = BT-113, 165 = BT-114, 9 = BT-115; SG50 TAX + MOA 125/124 = BG-23.
* Amounts carry exactly the currency's minor units (NOK 150.00, JPY 150), quantities and prices as given;
  the decimal mark is the envelope's (UNA). Not mapped: BT-6/BT-111 (refused), BT-8, BT-17, BT-18, BT-19,
  BT-28/BT-45 trading names, BT-133, BT-147 (derivable from BT-148 − BT-146), BT-158/159, BG-32 attributes,
  attachments, mandates (BT-89/91); party endpoints (BT-34/BT-49) and non-GLN identifier schemes are carried
  only as the NAD identification (read back as `identifiers[0]`; D.96A has no room for a 4-digit scheme).
  Text longer than the segment has room for (a name over 175 characters, an address line over 35…) is
  refused with the field named, never cut.
* Character set: the envelope's syntax level. Under UNOA text is written in upper case (what UNOA
  partners expect); a character the level cannot carry (ø in UNOA, € in UNOC) is refused with the
  canonical field named, never replaced.

Reading (`parse`) is tolerant where real senders vary and strict where money is concerned: every
INVOIC message of an interchange becomes an `Invoice` (the envelope is checked strictly first). Amounts
accept "." or "," as decimal mark; a DTM 102 written with a time (CCYYMMDDHHMM) is read as its date; a party
without a name is named by its identification; the quantity is QTY 47, else 46, else 12, with unit C62 when
none is given; a line without a price gets quantity × price = amount; a TAX with a rate and no category is S
(rate above 0) or Z (rate 0); a line without TAX takes the header's SG6 TAX, or the only summary TAX; an
item without IMD is named by its item number; the buyer is NAD BY, else IV, else BT (automotive "bill-to");
missing totals and VAT breakdown are derived the way EN 16931 defines them (BR-CO-10…16,
`compute_vat_breakdown`). Totals that are stated but do not add up are not corrected: the invoice is
refused with the EN 16931 rule and the segment the amount came from, and so is a CNT 2 that does not
count the lines, or a BGM code that is not an invoice or credit note (220 is an order).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation, localcontext
from typing import Any, Literal

from pydantic import ValidationError

from mappings.base import FormatError, RenderedDocument
from mappings.invoice.canonical_json import InvoiceValidationError, error_entries
from mappings.syntax import edifact
from mappings.syntax.edi_envelope import EdiEnvelope
from mappings.syntax.edi_grammar import StructureProblem, check_message
from mappings.syntax.edifact import (
    SYNTAX_ENCODINGS,
    UNOA_REPERTOIRE,
    Group,
    Message,
    Party,
    Segment,
    ServiceCharacters,
    build_interchange,
    default_service_characters,
    write_interchange,
)
from mappings.syntax.grammars.invoic import CREDIT_NOTE_CODES, DOCUMENT_CODES, GRAMMARS, Version
from schemas.canonical import (
    AllowanceCharge,
    DocumentType,
    Invoice,
    InvoiceLine,
    compute_vat_breakdown,
    currency_minor_units,
)
from schemas.canonical import Party as CanonicalParty

FORMAT_D96A = "edifact-d96a"
FORMAT_D01B = "edifact-d01b"
INSPECT_FORMAT = "invoic"
MEDIA_TYPE = "application/EDIFACT"
EXTENSION = "edi"
GLN_SCHEME = "0088"
GTIN_SCHEME = "0160"
DEFAULT_UNIT = "C62"
UNDEFINED_PAYMENT_MEANS = "1"
MAX_DIGITS = 35  # the longest numeric data element in the directories we read (MOA 5004 n..35)
#: the VAT categories that carry an exemption reason (BT-120/BT-121); FTX TXD are matched to them in order
EXEMPT_CATEGORIES = frozenset({"E", "AE", "K", "G", "O"})

_RELEASES: dict[Version, tuple[str, str, str, str]] = {
    "D96A": ("D", "96A", "UN", "EAN008"),
    "D01B": ("D", "01B", "UN", ""),
}
_FORMATS: dict[Version, str] = {"D96A": FORMAT_D96A, "D01B": FORMAT_D01B}


@dataclass(frozen=True)
class _Limits:
    reference: int
    text: int
    description: int
    postcode: int
    exemption_code: int


_LIMITS: dict[Version, _Limits] = {
    "D96A": _Limits(reference=35, text=70, description=35, postcode=9, exemption_code=3),
    "D01B": _Limits(reference=70, text=512, description=256, postcode=17, exemption_code=17),
}


# ============================================================================================== render


def _plain(value: Decimal) -> str:
    """Plain decimal notation, never an exponent, never "-0"."""
    return format(abs(value) if value == 0 else value, "f")


def _interchange_id(party: CanonicalParty, role: str) -> tuple[str, str]:
    """UNB sender/recipient for a preview: the GLN with qualifier 14, else an organisation id with ZZZ."""
    candidates = [party.endpoint, *party.identifiers, party.legal_registration]
    gln = next((c for c in candidates if c is not None and c.scheme == GLN_SCHEME), None)
    if gln is not None:
        return gln.value, "14"
    for candidate in (party.legal_registration, party.endpoint, *party.identifiers):
        if candidate is not None:
            if len(candidate.value) > 35:
                raise FormatError(
                    f"{role}.identifiers", f"{candidate.value!r} is longer than UNB allows (35)"
                )
            return candidate.value, "ZZZ"
    raise FormatError(
        f"{role}.identifiers",
        f"the {role} has no GLN or other identifier to address the interchange to (UNB)",
    )


def preview_envelope(invoice: Invoice) -> EdiEnvelope:
    """The dry-run envelope: seller and buyer GLN (qualifier 14) or other identifier (ZZZ)."""
    sender, sender_qualifier = _interchange_id(invoice.seller, "seller")
    recipient, recipient_qualifier = _interchange_id(invoice.buyer, "buyer")
    return EdiEnvelope.preview(
        sender, recipient, sender_qualifier=sender_qualifier, recipient_qualifier=recipient_qualifier
    )


def _service_characters(envelope: EdiEnvelope) -> ServiceCharacters:
    if envelope.service_characters is None:
        return default_service_characters(envelope.syntax_version)
    chars = envelope.service_characters
    if len(chars) != 6:
        raise FormatError("envelope.service_characters", f"needs the six UNA characters, got {chars!r}")
    service = ServiceCharacters(*chars)
    service.check()
    return service


_LINE_BREAKS = re.compile(r"[\r\n\t]+")


class _Writer:
    """Builds the message body; every text goes through `text`, which names the canonical field on refusal."""

    def __init__(self, invoice: Invoice, version: Version, envelope: EdiEnvelope, service: ServiceCharacters):
        self.invoice = invoice
        self.version = version
        self.d01b = version == "D01B"
        self.limits = _LIMITS[version]
        self.syntax_id = envelope.syntax_id
        self.codec = SYNTAX_ENCODINGS.get(envelope.syntax_id, "utf-8")
        self.service = service
        self.minor = currency_minor_units(invoice.currency)
        self.quantum = Decimal(1).scaleb(-self.minor)
        self.segments: list[Segment] = []

    # -- values

    def text(self, value: str, field: str, max_length: int | None = None) -> str:
        value = _LINE_BREAKS.sub(" ", value)
        if self.syntax_id == "UNOA":
            value = value.upper()
            bad = next((c for c in value if c not in UNOA_REPERTOIRE), None)
            if bad is not None:
                raise FormatError(
                    field,
                    f"character {bad!r} cannot be written in UNOA (upper case letters, "
                    "digits, space and . , - ( ) / = ' + : ? ! \" % & * ; < >); agree "
                    "UNOC or UNOW with the partner",
                )
        else:
            try:
                value.encode(self.codec)
            except UnicodeEncodeError as error:
                raise FormatError(
                    field,
                    f"character {value[error.start]!r} cannot be written in {self.syntax_id} ({self.codec})",
                ) from None
        if self.service.release_character is None:
            bad = next((c for c in value if c in self.service.delimiters), None)
            if bad is not None:
                raise FormatError(
                    field,
                    f"{bad!r} is a service character and the envelope's UNA has no "
                    "release character to write it as data",
                )
        if max_length is not None and len(value) > max_length:
            raise FormatError(
                field,
                f"{value!r} is {len(value)} characters long; INVOIC {self.version} has room for {max_length}",
            )
        return value

    def chunks(self, value: str, field: str, size: int, count: int) -> list[str]:
        """`value` cut into at most `count` pieces of `size` characters (refused when longer)."""
        value = self.text(value, field)
        if len(value) > size * count:
            raise FormatError(
                field,
                f"{len(value)} characters; INVOIC {self.version} has room for "
                f"{size * count} here ({count} × {size})",
            )
        return [value[i : i + size] for i in range(0, len(value), size)] or [""]

    def decimal(self, value: Decimal) -> str:
        return _plain(value).replace(".", self.service.decimal)

    def amount(self, value: Decimal) -> str:
        return self.decimal(value.quantize(self.quantum))

    @staticmethod
    def date(value: dt.date) -> str:
        return value.strftime("%Y%m%d")

    def add(self, tag: str, *elements: str | Sequence[str]) -> None:
        self.segments.append(Segment.of(tag, *elements))

    def dtm(self, qualifier: str, value: dt.date) -> None:
        self.add("DTM", (qualifier, self.date(value), "102"))

    def moa(self, qualifier: str, value: Decimal) -> None:
        self.add("MOA", (qualifier, self.amount(value)))

    def tax(self, category: str, rate: Decimal | None) -> None:
        self.add(
            "TAX", "7", "VAT", "", "", ("", "", "", self.decimal(rate) if rate is not None else ""), category
        )

    def ftx(self, subject: str, value: str, field: str, *, code: str = "") -> None:
        lines = self.chunks(value, field, self.limits.text, 5) if value else []
        self.add("FTX", subject, "", (code,) if code else "", lines)

    # -- message

    def message(self) -> list[Segment]:
        invoice = self.invoice
        if invoice.tax_currency is not None and invoice.tax_currency != invoice.currency:
            raise FormatError(
                "tax_currency", "a VAT accounting currency (BT-6, BT-111) is not part of the INVOIC mapping"
            )
        number = self.text(invoice.number, "number", 35)
        self.add("BGM", invoice.effective_type_code, number, "9")
        self.dtm("137", invoice.issue_date)
        if invoice.delivery is not None and invoice.delivery.date is not None:
            self.dtm("35", invoice.delivery.date)
        if invoice.tax_point_date is not None:
            self.dtm("131", invoice.tax_point_date)
        self.period(invoice.period)
        if invoice.payment_means:
            self.add("PAI", ("", "", invoice.payment_means[0].code))
        for index, note in enumerate(invoice.notes):
            self.ftx("AAI", note, f"notes.{index}")
        if invoice.payment_terms is not None:
            self.ftx("AAB", invoice.payment_terms, "payment_terms")
        if invoice.seller.legal_info is not None:
            self.ftx("REG", invoice.seller.legal_info, "seller.legal_info")
        for index, vb in enumerate(invoice.vat_breakdown):
            if vb.exemption_reason is None and vb.exemption_reason_code is None:
                continue
            category = vb.category.value
            if category not in EXEMPT_CATEGORIES:
                raise FormatError(
                    f"vat_breakdown.{index}.exemption_reason",
                    f"category {category} has no VAT exemption reason (EN 16931 BR-{category}-10)",
                )
            code = ""
            if vb.exemption_reason_code is not None:
                code = self.text(
                    vb.exemption_reason_code,
                    f"vat_breakdown.{index}.exemption_reason_code",
                    self.limits.exemption_code,
                )
            self.ftx("TXD", vb.exemption_reason or "", f"vat_breakdown.{index}.exemption_reason", code=code)
        self.references()
        self.parties()
        self.add("CUX", ("2", invoice.currency, "4"))
        if invoice.due_date is not None:
            self.add("PAT", "1")
            self.dtm("13", invoice.due_date)
        for index, ac in enumerate(invoice.allowances_charges):
            self.allowance_charge(ac, f"allowances_charges.{index}", with_tax=True)
        for index, line in enumerate(invoice.lines):
            self.line(index, line)
        self.summary()
        return self.segments

    def period(self, period: Any) -> None:
        if period is not None and period.start is not None:
            self.dtm("194", period.start)
        if period is not None and period.end is not None:
            self.dtm("206", period.end)

    def reference(self, qualifier: str, value: str | None, field: str, date: dt.date | None = None) -> None:
        if value is None:
            return
        self.add("RFF", (qualifier, self.text(value, field, self.limits.reference)))
        if date is not None:
            self.dtm("171", date)

    def references(self) -> None:
        invoice = self.invoice
        self.reference("ON", invoice.order_reference, "order_reference")
        self.reference("VN", invoice.sales_order_reference, "sales_order_reference")
        self.reference("CT", invoice.contract_reference, "contract_reference")
        self.reference("AEP", invoice.project_reference, "project_reference")
        self.reference("CR", invoice.buyer_reference, "buyer_reference")
        self.reference("AAK", invoice.despatch_advice_reference, "despatch_advice_reference")
        self.reference("ALO", invoice.receiving_advice_reference, "receiving_advice_reference")
        for index, preceding in enumerate(invoice.preceding_invoices):
            self.reference("IV", preceding.id, f"preceding_invoices.{index}.id", preceding.issue_date)
        for index, means in enumerate(invoice.payment_means):
            self.reference("PQ", means.payment_id, f"payment_means.{index}.payment_id")

    def party_identification(self, party: CanonicalParty, field: str) -> tuple[str, ...]:
        candidates = [party.endpoint, *party.identifiers, party.legal_registration]
        gln = next((c for c in candidates if c is not None and c.scheme == GLN_SCHEME), None)
        if gln is not None:
            return (self.text(gln.value, f"{field}.identifiers", 35), "", "9")
        chosen = next(
            (c for c in (*party.identifiers, party.endpoint, party.legal_registration) if c is not None), None
        )
        if chosen is None:
            return ()
        scheme = chosen.scheme if self.d01b and chosen.scheme else ""
        return (self.text(chosen.value, f"{field}.identifiers", 35), scheme, "ZZZ")

    def address(self, address: Any, field: str) -> list[str | Sequence[str]]:
        if address is None:
            return ["", "", "", "", ""]
        street = [self.text(line, f"{field}.lines.{i}", 35) for i, line in enumerate(address.lines)]
        subdivision: str | Sequence[str] = ""
        if address.subdivision is not None:
            if self.d01b:
                subdivision = ("", "", "", self.text(address.subdivision, f"{field}.subdivision", 70))
            else:
                subdivision = self.text(address.subdivision, f"{field}.subdivision", 9)
        return [
            street,
            self.text(address.city, f"{field}.city", 35) if address.city else "",
            subdivision,
            self.text(address.postal_code, f"{field}.postal_code", self.limits.postcode)
            if address.postal_code
            else "",
            address.country,
        ]

    def nad(
        self, qualifier: str, identification: Sequence[str], name: str | None, address: Any, field: str
    ) -> None:
        names = self.chunks(name, f"{field}.name", 35, 5) if name else []
        self.add("NAD", qualifier, identification, "", names, *self.address(address, f"{field}.address"))

    def party(self, qualifier: str, party: CanonicalParty, field: str, *, accounts: bool) -> None:
        self.nad(qualifier, self.party_identification(party, field), party.name, party.address, field)
        if accounts:
            self.accounts()
        for rff, value, name in (
            ("VA", party.vat_id, "vat_id"),
            (
                "XA",
                party.legal_registration.value if party.legal_registration else None,
                "legal_registration",
            ),
            ("FC", party.tax_registration_id, "tax_registration_id"),
        ):
            self.reference(rff, value, f"{field}.{name}")
        contact = party.contact
        if contact is not None and (contact.name or contact.phone or contact.email):
            self.add(
                "CTA",
                "IC",
                ("", self.text(contact.name, f"{field}.contact.name", 35)) if contact.name else "",
            )
            if contact.phone:
                self.add("COM", (self.text(contact.phone, f"{field}.contact.phone", 512), "TE"))
            if contact.email:
                self.add("COM", (self.text(contact.email, f"{field}.contact.email", 512), "EM"))

    def accounts(self) -> None:
        accounts = [(i, m.account) for i, m in enumerate(self.invoice.payment_means) if m.account is not None]
        if len(accounts) > 5:
            raise FormatError("payment_means", f"{len(accounts)} accounts; NAD takes at most 5 FII")
        for index, account in accounts:
            assert account is not None
            where = f"payment_means.{index}.account"
            names = self.chunks(account.name, f"{where}.name", 35, 2) if account.name else []
            institution: tuple[str, ...] = ()
            if account.bic is not None:
                institution = (self.text(account.bic, f"{where}.bic", 11), "25", "17")
            self.add("FII", "RB", (self.text(account.id, f"{where}.id", 35), *names), institution)

    def parties(self) -> None:
        invoice = self.invoice
        self.party("SU", invoice.seller, "seller", accounts=invoice.payee is None)
        self.party("BY", invoice.buyer, "buyer", accounts=False)
        if invoice.payee is not None:
            self.party("PE", invoice.payee, "payee", accounts=True)
        if invoice.tax_representative is not None:
            self.party("LC", invoice.tax_representative, "tax_representative", accounts=False)
        delivery = invoice.delivery
        if delivery is not None and (delivery.location or delivery.party_name or delivery.address):
            identification: tuple[str, ...] = ()
            if delivery.location is not None:
                location = delivery.location
                value = self.text(location.value, "delivery.location", 35)
                if location.scheme == GLN_SCHEME:
                    identification = (value, "", "9")
                else:
                    identification = (value, location.scheme if self.d01b and location.scheme else "", "ZZZ")
            self.nad("DP", identification, delivery.party_name, delivery.address, "delivery")

    def allowance_charge(self, ac: AllowanceCharge, field: str, *, with_tax: bool) -> None:
        code = self.text(ac.reason_code, f"{field}.reason_code", 3) if ac.reason_code else ""
        reason = self.chunks(ac.reason, f"{field}.reason", 35, 2) if ac.reason else []
        special: tuple[str, ...] = ()
        if (ac.is_charge and code) or reason:
            special = (code if ac.is_charge else "", "", "", *reason)
        self.add(
            "ALC",
            "C" if ac.is_charge else "A",
            ("", code) if code and not ac.is_charge else "",
            "",
            "",
            special,
        )
        if ac.percent is not None:
            self.add("PCD", ("2" if ac.is_charge else "1", self.decimal(ac.percent)))
        self.moa("8", ac.amount)
        if ac.base_amount is not None:
            self.moa("25", ac.base_amount)
        if with_tax and ac.vat_category is not None:
            self.tax(ac.vat_category.value, ac.vat_rate)

    def line(self, index: int, line: InvoiceLine) -> None:
        field = f"lines.{index}"
        item = line.item
        fits = (line.id.isdigit() and len(line.id) <= 6) if not self.d01b else len(line.id) <= 6
        number = self.text(line.id, f"{field}.id") if fits else str(index + 1)
        gtin: tuple[str, ...] = ()
        if item.standard_id is not None:
            if item.standard_id.scheme not in (GTIN_SCHEME, None):
                raise FormatError(
                    f"{field}.item.standard_id.scheme",
                    f"only GTINs (scheme {GTIN_SCHEME}) go in LIN, not scheme {item.standard_id.scheme}",
                )
            gtin = (
                self.text(item.standard_id.value, f"{field}.item.standard_id", 35),
                "SRV" if self.d01b else "EN",
            )
        self.add("LIN", number, "", gtin)
        numbers: list[tuple[str, ...]] = []
        if item.seller_id is not None:
            numbers.append((self.text(item.seller_id, f"{field}.item.seller_id", 35), "SA"))
        if item.buyer_id is not None:
            numbers.append((self.text(item.buyer_id, f"{field}.item.buyer_id", 35), "BP"))
        if numbers:
            self.add("PIA", "1" if gtin else "5", *numbers)
        size = self.limits.description
        room = 99 if self.d01b else 10  # IMD repeats in the line group, two 7008 each
        for kind, value, name in (("F", item.name, "name"), ("A", item.description, "description")):
            if value is None:
                continue
            pieces = self.chunks(value, f"{field}.item.{name}", size, 2 * room)
            for start in range(0, len(pieces), 2):
                self.add("IMD", kind, "", ("", "", "", *pieces[start : start + 2]))
            room -= (len(pieces) + 1) // 2
        unit = self.text(line.unit_code, f"{field}.unit_code", 3)
        self.add("QTY", ("47", self.decimal(line.quantity), unit))
        self.period(line.period)
        if line.note is not None:
            self.ftx("AAI", line.note, f"{field}.note")
        self.moa("203", line.net_amount)
        price = line.price
        base: tuple[str, ...] = ()
        if price.base_quantity is not None or price.base_unit_code is not None:
            base_unit = (
                self.text(price.base_unit_code, f"{field}.price.base_unit_code", 3)
                if price.base_unit_code
                else ""
            )
            base = (
                "",
                "",
                self.decimal(price.base_quantity) if price.base_quantity is not None else "1",
                base_unit,
            )
        self.add("PRI", ("AAA", self.decimal(price.net), *base))
        if price.gross is not None:
            self.add("PRI", ("AAB", self.decimal(price.gross), *base))
        if line.order_line_reference is not None:
            order = (
                self.text(self.invoice.order_reference, "order_reference", self.limits.reference)
                if self.invoice.order_reference
                else ""
            )
            self.add(
                "RFF", ("ON", order, self.text(line.order_line_reference, f"{field}.order_line_reference", 6))
            )
        if number != line.id:
            self.add("RFF", ("LI", self.text(line.id, f"{field}.id", self.limits.reference)))
        self.tax(line.vat_category.value, line.vat_rate)
        for ac_index, ac in enumerate(line.allowances_charges):
            self.allowance_charge(ac, f"{field}.allowances_charges.{ac_index}", with_tax=False)

    def summary(self) -> None:
        invoice = self.invoice
        totals = invoice.totals
        self.add("UNS", "S")
        self.add("CNT", ("2", str(len(invoice.lines))))
        self.moa("79", totals.line_extension)
        if any(not ac.is_charge for ac in invoice.allowances_charges) or totals.allowance_total:
            self.moa("260", totals.allowance_total)
        if any(ac.is_charge for ac in invoice.allowances_charges) or totals.charge_total:
            self.moa("259", totals.charge_total)
        self.moa("125", totals.tax_exclusive)
        self.moa("176", totals.tax_amount)
        self.moa("77", totals.tax_inclusive)
        if totals.prepaid:
            self.moa("113", totals.prepaid)
        if totals.rounding:
            self.moa("165", totals.rounding)
        self.moa("9", totals.payable)
        for vb in invoice.vat_breakdown:
            self.tax(vb.category.value, vb.rate)
            self.moa("125", vb.taxable_amount)
            self.moa("124", vb.tax_amount)


class InvoicGrammarError(FormatError):
    """A rendered INVOIC that fails our own grammar: the first problem names the place, `problems` has all."""

    def __init__(self, problems: list[StructureProblem], version: Version) -> None:
        first = problems[0]
        where = f"segment {first.position} ({first.tag})"
        if first.element is not None:
            where += f": element {first.element}"
            if first.component is not None:
                where += f", component {first.component}"
        more = f" (and {len(problems) - 1} more)" if len(problems) > 1 else ""
        super().__init__(where, f"INVOIC {version} grammar: {first.reason}{more}")
        self.problems = problems


def render(
    invoice: Invoice, options: EdiEnvelope | None = None, *, version: Literal["D96A", "D01B"] = "D96A"
) -> RenderedDocument:
    """Canonical invoice or credit note → one EDIFACT interchange with one INVOIC message.

    `options` is the partner's envelope (control numbers, identifiers, syntax level, UNA); without one the
    dry-run envelope of `preview_envelope` is used. The message is checked against our INVOIC grammar before
    it is returned: a `FormatError` names the segment position and element that fail, or the canonical
    field whose text the syntax level cannot carry.
    """
    if version not in GRAMMARS:
        raise ValueError(f"version must be D96A or D01B, not {version!r}")
    envelope = options if options is not None else preview_envelope(invoice)
    if not isinstance(envelope, EdiEnvelope):
        raise TypeError(f"INVOIC rendering takes an EdiEnvelope, not {type(envelope).__name__}")
    service = _service_characters(envelope)
    body = _Writer(invoice, version, envelope, service).message()
    una = envelope.service_characters is not None
    unh_position = 1 + int(una) + int(envelope.use_groups) + 1
    positioned = [Segment(s.tag, s.elements, unh_position + i + 1) for i, s in enumerate(body)]
    problems = check_message(GRAMMARS[version], positioned)
    if problems:
        raise InvoicGrammarError(problems, version)
    message_version, release, agency, association = _RELEASES[version]
    message = Message(
        reference=envelope.message_ref,
        type="INVOIC",
        version=message_version,
        release=release,
        agency=agency,
        association=association,
        segments=body,
    )
    sender = Party(envelope.sender_id, envelope.sender_qualifier)
    recipient = Party(envelope.recipient_id, envelope.recipient_qualifier)
    groups: list[Group] = []
    if envelope.use_groups:
        date_format = "%Y%m%d" if envelope.syntax_version >= 4 else "%y%m%d"
        groups.append(
            Group(
                group_id="INVOIC",
                sender=Party(envelope.group_sender_id or envelope.sender_id, envelope.sender_qualifier),
                recipient=Party(
                    envelope.group_recipient_id or envelope.recipient_id, envelope.recipient_qualifier
                ),
                prepared=(envelope.prepared.strftime(date_format), envelope.prepared.strftime("%H%M")),
                reference=envelope.group_ref or "1",
                agency=agency,
                version=message_version,
                release=release,
                association=association,
                messages=[message],
            )
        )
    interchange = build_interchange(
        sender=sender,
        recipient=recipient,
        control_ref=envelope.interchange_ref,
        prepared=envelope.prepared,
        messages=[] if groups else [message],
        groups=groups,
        syntax_id=envelope.syntax_id,
        syntax_version=envelope.syntax_version,
        service_chars=service,
        application_ref=envelope.application_ref,
        test_indicator="1" if envelope.test else "",
        ack_requested="1" if envelope.ack_requested else "",
        una=una,
    )
    content = write_interchange(interchange, una=una, newline=envelope.newline)
    return RenderedDocument(
        format=_FORMATS[version], content=content, media_type=MEDIA_TYPE, extension=EXTENSION
    )


# =============================================================================================== parse


class InvoicContentError(FormatError):
    """An INVOIC message whose content cannot become a canonical invoice; names the segment (and element)."""

    def __init__(
        self,
        reason: str,
        segment: Segment | None,
        element: int | None = None,
        component: int | None = None,
        *,
        message: Message | None = None,
    ) -> None:
        if segment is not None:
            where = f"segment {segment.position} ({segment.tag})"
            if element is not None:
                where += f": element {element}"
                if component is not None:
                    where += f", component {component}"
        elif message is not None:
            where = f"message {message.reference!r} (UNH at segment {message.position})"
        else:
            where = "message"
        super().__init__(where, reason)
        self.segment_position = segment.position if segment is not None else 0
        self.segment_tag = segment.tag if segment is not None else ""
        self.element_index = element
        self.component_index = component


_NUMBER = re.compile(r"-?(?:\d+(?:[.,]\d*)?|[.,]\d+)")


def _number(segment: Segment, element: int, component: int, what: str) -> Decimal | None:
    value = segment.get(element, component).strip()
    if not value:
        return None
    if not _NUMBER.fullmatch(value):
        raise InvoicContentError(f"{what} {value!r} is not a number", segment, element, component)
    if sum(c.isdigit() for c in value) > MAX_DIGITS:
        raise InvoicContentError(f"{what} has more than {MAX_DIGITS} digits", segment, element, component)
    try:
        return Decimal(value.replace(",", "."))
    except InvalidOperation:  # pragma: no cover - the pattern admits only valid numbers
        raise InvoicContentError(f"{what} {value!r} is not a number", segment, element, component) from None


def _date(segment: Segment) -> tuple[str, dt.date | tuple[dt.date, dt.date]]:
    """DTM: (qualifier, date) — or (qualifier, (start, end)) for format 718."""
    qualifier, value, form = segment.get(1, 1), segment.get(1, 2).strip(), segment.get(1, 3)
    if not form:
        form = {8: "102", 12: "203", 6: "101"}.get(len(value), "")

    def day(text: str, pattern: str) -> dt.date:
        try:
            if pattern == "YYMMDD":
                year = int(text[:2])
                return dt.date(year + (2000 if year < 70 else 1900), int(text[2:4]), int(text[4:6]))
            return dt.date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        except ValueError:
            raise InvoicContentError(
                f"date {value!r} is not a calendar date ({pattern})", segment, 1, 2
            ) from None

    if not value.isdigit() and form != "718":
        raise InvoicContentError(f"date {value!r} must be digits (format {form or 'unknown'})", segment, 1, 2)
    if form == "102" and len(value) in (8, 12):
        # 12 digits under 102 is a CCYYMMDDHHMM mislabelled as CCYYMMDD (seen in real files): the date part
        return qualifier, day(value[:8], "CCYYMMDD")
    if form in ("203", "204") and len(value) >= 12:
        return qualifier, day(value[:8], "CCYYMMDD")
    if form == "101" and len(value) == 6:
        return qualifier, day(value, "YYMMDD")
    if form == "718" and re.fullmatch(r"\d{8}-\d{8}", value):
        return qualifier, (day(value[:8], "CCYYMMDD"), day(value[9:], "CCYYMMDD"))
    raise InvoicContentError(
        f"date {value!r} does not match format {form or '(none)'} (read: 101, 102, 203, 718)",
        segment,
        1,
        3 if form else 2,
    )


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if v is not None and v != [] and v != {}}


def _pieces(segment: Segment, element: int, first: int, last: int) -> list[str]:
    return [piece for c in range(first, last + 1) if (piece := segment.get(element, c))]


def _join(pieces: list[str], size: int) -> str:
    """Text pieces as one text: a piece as long as the element allows was cut there by its writer and
    continues without a space; a shorter one ended a line, and a space separates it from the next."""
    text = ""
    previous = ""
    for piece in pieces:
        if text and len(previous) < size:
            text += " "
        text += piece
        previous = piece
    return text.strip()


def _joined(segment: Segment, element: int, first: int, last: int, size: int = 35) -> str:
    """Components `first`…`last` of one element as one text (see `_join`)."""
    return _join(_pieces(segment, element, first, last), size)


def _release(message: Message) -> tuple[int, str]:
    """(year, letter) of a directory release ("96A" → (1996, "A")); unknown → D.96A's."""
    digits = message.release[:2]
    if not digits.isdigit():
        return (1996, "A")
    year = int(digits)
    return (year + (1900 if year >= 90 else 2000), message.release[2:3])


@dataclass
class _PartyReading:
    segment: Segment
    qualifier: str
    identification: dict[str, Any] | None
    name: str
    address: dict[str, Any] | None
    references: dict[str, str] = field(default_factory=dict)
    accounts: list[dict[str, Any]] = field(default_factory=list)
    contact: dict[str, Any] = field(default_factory=dict)

    def canonical(self) -> dict[str, Any]:
        name = self.name or (self.identification or {}).get("value")
        legal = self.references.get("XA") or self.references.get("GN")
        return _drop_none(
            {
                "name": name,
                "identifiers": [self.identification] if self.identification else [],
                "vat_id": self.references.get("VA"),
                "legal_registration": {"value": legal} if legal else None,
                "tax_registration_id": self.references.get("FC"),
                "address": self.address,
                "contact": _drop_none(self.contact) or None,
            }
        )


@dataclass
class _AllowanceReading:
    segment: Segment
    is_charge: bool
    reason_code: str
    reason: str
    amount: Decimal | None = None
    base: Decimal | None = None
    percent: Decimal | None = None
    category: str | None = None
    rate: Decimal | None = None
    amount_segment: Segment | None = None

    def canonical(self, with_tax: bool) -> dict[str, Any]:
        if self.amount is None:
            raise InvoicContentError("allowance/charge without an amount (MOA 8, 204 or 23)", self.segment)
        return _drop_none(
            {
                "is_charge": self.is_charge,
                "amount": self.amount,
                "base_amount": self.base,
                "percent": self.percent,
                "vat_category": self.category if with_tax else None,
                "vat_rate": self.rate if with_tax else None,
                "reason": self.reason or None,
                "reason_code": self.reason_code or None,
            }
        )


@dataclass
class _Tax:
    segment: Segment
    category: str | None
    rate: Decimal | None
    amounts: dict[str, tuple[Decimal, Segment]] = field(default_factory=dict)


@dataclass
class _LineReading:
    segment: Segment
    sequence: int
    numbers: dict[str, str] = field(default_factory=dict)
    names: dict[str, list[str]] = field(default_factory=dict)
    quantities: dict[str, tuple[Decimal, str, Segment]] = field(default_factory=dict)
    dates: dict[str, dt.date] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    amounts: dict[str, tuple[Decimal, Segment]] = field(default_factory=dict)
    prices: dict[str, tuple[Decimal, Decimal | None, str, Segment]] = field(default_factory=dict)
    references: dict[str, Segment] = field(default_factory=dict)
    tax: _Tax | None = None
    allowances: list[_AllowanceReading] = field(default_factory=list)


def _tax(segment: Segment) -> _Tax:
    category = segment.get(6).strip() or None
    rate = _number(segment, 5, 4, "duty/tax/fee rate (5278)")
    return _Tax(segment, category, rate)


def _tax_category(tax: _Tax) -> tuple[str, Decimal | None]:
    """EN 16931 category and rate of a TAX: a rate without category is S (above 0) or Z (0)."""
    category, rate = tax.category, tax.rate
    if category is None:
        if rate is None:
            raise InvoicContentError("TAX has neither a category (5305) nor a rate (5278)", tax.segment)
        category = "S" if rate > 0 else "Z"
    if category == "O":
        return category, None
    if rate is None and category in ("Z", "E", "AE", "K", "G"):
        rate = Decimal(0)
    return category, rate


class _MessageReader:
    """Reads one INVOIC message into canonical data (a dict the `Invoice` model then validates)."""

    def __init__(self, message: Message) -> None:
        self.message = message
        self.sources: dict[str, Segment] = {}
        self.bgm: Segment | None = None
        self.dates: dict[str, tuple[dt.date | tuple[dt.date, dt.date], Segment]] = {}
        self.payment_means_code: str | None = None
        self.texts: dict[str, list[tuple[str, str, Segment]]] = {}
        self.references: list[tuple[str, str, Segment, dt.date | None]] = []
        self.parties: list[_PartyReading] = []
        self.header_tax: _Tax | None = None
        self.currency: str | None = None
        self.due_date: dt.date | None = None
        self.allowances: list[_AllowanceReading] = []
        self.lines: list[_LineReading] = []
        self.summary_amounts: dict[str, tuple[Decimal, Segment]] = {}
        self.summary_taxes: list[_Tax] = []
        self.counts: dict[str, tuple[Decimal, Segment]] = {}
        self.uns: Segment | None = None
        release = _release(message)
        self.text_size = 512 if release >= (1999, "B") else 70  # FTX 4440: an..512 from D.99B on
        self.description_size = 256 if release >= (1998, "B") else 35  # IMD 7008: an..256 from D.98B on

    # -- walk

    def read(self) -> dict[str, Any]:
        section = "header"
        owner: object = None  # the open segment group's reading (or a tag for groups we skip)
        line: _LineReading | None = None
        for segment in self.message.segments:
            tag = segment.tag
            if tag == "LIN":
                section = "line"
                line = _LineReading(segment, len(self.lines) + 1)
                self.lines.append(line)
                owner = None
                self.line_number(line, segment)
                continue
            if tag == "UNS":
                section, owner, self.uns = "summary", None, segment
                continue
            if section == "header":
                owner = self.header(segment, owner)
            elif section == "line":
                assert line is not None
                owner = self.line(line, segment, owner)
            else:
                owner = self.summary(segment, owner)
        return self.canonical()

    def header(self, segment: Segment, owner: object) -> object:
        tag = segment.tag
        if tag == "BGM":
            self.bgm = segment
        elif tag == "DTM":
            if isinstance(owner, tuple) and owner[0] == "RFF":
                index = owner[1]
                qualifier, value = _date(segment)
                if qualifier == "171" and isinstance(value, dt.date):
                    kind, ref_value, ref_segment, _ = self.references[index]
                    self.references[index] = (kind, ref_value, ref_segment, value)
            elif owner == "PAT":
                qualifier, value = _date(segment)
                if qualifier in ("13", "140") and isinstance(value, dt.date) and self.due_date is None:
                    self.due_date = value
            elif owner is None:
                qualifier, value = _date(segment)
                self.dates.setdefault(qualifier, (value, segment))
        elif tag == "PAI" and owner in (None, "PAT"):
            self.payment_means_code = self.payment_means_code or segment.get(1, 3) or None
        elif tag == "FTX" and owner is None:
            subject = segment.get(1)
            text = _joined(segment, 4, 1, 5, self.text_size)
            self.texts.setdefault(subject, []).append((text, segment.get(3, 1), segment))
        elif tag == "RFF":
            if isinstance(owner, _PartyReading):
                owner.references.setdefault(segment.get(1, 1), segment.get(1, 2).strip())
                return owner
            if isinstance(owner, _AllowanceReading) or owner == "other":
                return owner
            self.references.append((segment.get(1, 1), segment.get(1, 2).strip(), segment, None))
            return ("RFF", len(self.references) - 1)
        elif tag == "NAD":
            party = self.party(segment)
            self.parties.append(party)
            return party
        elif tag == "FII" and isinstance(owner, _PartyReading):
            account = _drop_none(
                {
                    "id": segment.get(2, 1).strip() or None,
                    "name": _joined(segment, 2, 2, 3) or None,
                    "bic": segment.get(3, 1).strip() or None,
                }
            )
            if "id" in account:
                owner.accounts.append(account)
        elif tag == "CTA" and isinstance(owner, _PartyReading):
            if segment.get(2, 2):
                owner.contact.setdefault("name", segment.get(2, 2).strip())
        elif tag == "COM" and isinstance(owner, _PartyReading):
            channel = {"TE": "phone", "EM": "email"}.get(segment.get(1, 2))
            if channel:
                owner.contact.setdefault(channel, segment.get(1, 1).strip())
        elif tag == "TAX":
            if isinstance(owner, _AllowanceReading):
                tax = _tax(segment)
                owner.category, owner.rate = _tax_category(tax)
                return owner
            self.header_tax = self.header_tax or _tax(segment)
            return "TAX"
        elif tag == "CUX":
            self.currency = self.currency or segment.get(1, 2).strip() or None
            return "CUX"
        elif tag == "PAT":
            return "PAT"
        elif tag == "ALC":
            allowance = self.allowance(segment)
            self.allowances.append(allowance)
            return allowance
        elif tag in ("MOA", "PCD") and isinstance(owner, _AllowanceReading):
            self.allowance_detail(owner, segment)
        elif tag in ("TDT", "TOD", "PAC", "RCS", "AJT", "INP", "EQD"):
            return "other"
        return owner

    def line_number(self, line: _LineReading, segment: Segment) -> None:
        number, kind = segment.get(3, 1).strip(), segment.get(3, 2)
        if number:
            line.numbers.setdefault(kind or "LIN", number)

    def line(self, line: _LineReading, segment: Segment, owner: object) -> object:
        tag = segment.tag
        if tag == "PIA":
            for element in range(2, 7):
                number, kind = segment.get(element, 1).strip(), segment.get(element, 2)
                if number:
                    line.numbers.setdefault(kind, number)
        elif tag == "IMD":
            pieces = _pieces(segment, 3, 4, 5)
            if pieces:
                line.names.setdefault(segment.get(1) or "F", []).extend(pieces)
        elif tag == "QTY":
            quantity = _number(segment, 1, 2, "quantity (6060)")
            if quantity is not None:
                line.quantities.setdefault(segment.get(1, 1), (quantity, segment.get(1, 3).strip(), segment))
        elif tag == "DTM" and owner is None:
            qualifier, value = _date(segment)
            if isinstance(value, dt.date):
                line.dates.setdefault(qualifier, value)
        elif tag == "FTX" and owner is None:
            text = _joined(segment, 4, 1, 5, self.text_size)
            if text:
                line.notes.append(text)
        elif tag == "MOA":
            if isinstance(owner, _AllowanceReading):
                self.allowance_detail(owner, segment)
            elif owner in (None, "MOA", "PRI", "RFF"):  # a line amount written after its price: still one
                amount = _number(segment, 1, 2, "monetary amount (5004)")
                if amount is not None:
                    line.amounts.setdefault(segment.get(1, 1), (amount, segment))
                return "MOA"
        elif tag == "PRI":
            price = _number(segment, 1, 2, "price (5118)")
            if price is not None:
                base = _number(segment, 1, 5, "unit price basis (5284)")
                line.prices.setdefault(segment.get(1, 1), (price, base, segment.get(1, 6).strip(), segment))
            return "PRI"
        elif tag == "RFF":
            if owner == "NAD" or isinstance(owner, _AllowanceReading):
                return owner
            line.references.setdefault(segment.get(1, 1), segment)
            return "RFF"
        elif tag == "TAX":
            if isinstance(owner, _AllowanceReading):
                return owner  # a line allowance's VAT is the line's (EN 16931 has none of its own)
            line.tax = line.tax or _tax(segment)
            return "TAX"
        elif tag == "ALC":
            allowance = self.allowance(segment)
            line.allowances.append(allowance)
            return allowance
        elif tag == "PCD" and isinstance(owner, _AllowanceReading):
            self.allowance_detail(owner, segment)
        elif tag == "NAD":
            return "NAD"
        elif tag in ("PAT", "PAC", "LOC", "TDT", "TOD", "RCS", "GIS"):
            return "other"
        return owner

    def summary(self, segment: Segment, owner: object) -> object:
        tag = segment.tag
        if tag == "CNT":
            value = _number(segment, 1, 2, "control value (6066)")
            if value is not None:
                self.counts.setdefault(segment.get(1, 1), (value, segment))
        elif tag == "MOA":
            amount = _number(segment, 1, 2, "monetary amount (5004)")
            if isinstance(owner, _Tax):
                if amount is not None:
                    owner.amounts.setdefault(segment.get(1, 1), (amount, segment))
                return owner
            if owner is None or owner == "MOA":
                if amount is not None:
                    self.summary_amounts.setdefault(segment.get(1, 1), (amount, segment))
                return "MOA"
        elif tag == "TAX":
            tax = _tax(segment)
            self.summary_taxes.append(tax)
            return tax
        elif tag == "ALC":
            return "other"
        return owner

    def party(self, segment: Segment) -> _PartyReading:
        identification: dict[str, Any] | None = None
        value = segment.get(2, 1).strip()
        if value:
            agency, code_list = segment.get(2, 3), segment.get(2, 2).strip()
            scheme = GLN_SCHEME if agency == "9" else (code_list or None)
            identification = _drop_none({"value": value, "scheme": scheme})
        name = _joined(segment, 4, 1, 5) or segment.get(3, 1).strip()
        country = segment.get(9).strip()
        address = None
        if country:
            lines = [segment.get(5, c).strip() for c in range(1, 5) if segment.get(5, c).strip()]
            if len(lines) > 3:
                lines = [*lines[:2], " ".join(lines[2:])]
            subdivision = segment.get(7, 4).strip() or segment.get(7, 1).strip()
            address = _drop_none(
                {
                    "lines": lines,
                    "city": segment.get(6).strip() or None,
                    "postal_code": segment.get(8).strip() or None,
                    "subdivision": subdivision or None,
                    "country": country,
                }
            )
        return _PartyReading(segment, segment.get(1), identification, name, address)

    def allowance(self, segment: Segment) -> _AllowanceReading:
        indicator = segment.get(1)
        if indicator not in ("A", "C"):
            raise InvoicContentError(
                f"allowance or charge qualifier (5463) {indicator!r}: A or C expected", segment, 1
            )
        reason_code = segment.get(5, 1).strip() or segment.get(2, 2).strip()
        return _AllowanceReading(segment, indicator == "C", reason_code, _joined(segment, 5, 4, 5))

    def allowance_detail(self, allowance: _AllowanceReading, segment: Segment) -> None:
        if segment.tag == "PCD":
            allowance.percent = allowance.percent or _number(segment, 1, 2, "percentage (5482)")
            return
        qualifier = segment.get(1, 1)
        amount = _number(segment, 1, 2, "monetary amount (5004)")
        if qualifier in ("8", "204", "23") and allowance.amount is None:
            allowance.amount, allowance.amount_segment = amount, segment
        elif qualifier == "25" and allowance.base is None:
            allowance.base = amount

    # -- canonical

    def canonical(self) -> dict[str, Any]:
        message = self.message
        bgm = self.bgm
        if bgm is None:
            raise InvoicContentError(
                "the message has no BGM (document code and number)", None, message=message
            )
        code = bgm.get(1, 1)
        if code not in DOCUMENT_CODES:
            raise InvoicContentError(
                f"document code (1001) {code!r} is not an invoice or credit note code "
                "(EN 16931: 380, 381, 383, 384, 386, 389, 393, …)",
                bgm,
                1,
                1,
            )
        credit_note = code in CREDIT_NOTE_CODES
        number = bgm.get(2, 1).strip()
        if not number:
            raise InvoicContentError("document number (1004) is missing", bgm, 2, 1)
        issue = self.dates.get("137") or self.dates.get("3")
        if issue is None or not isinstance(issue[0], dt.date):
            raise InvoicContentError("no document date (DTM 137)", bgm)
        currency = self.currency
        if currency is None:
            currency = next((s.get(1, 3) for _, s in self.summary_amounts.values() if s.get(1, 3)), None)
        if currency is None:
            raise InvoicContentError("no invoice currency (CUX, or a currency in the summary MOA)", bgm)
        if self.lines and self.uns is None:
            raise InvoicContentError(
                "no UNS: the summary section cannot be told from the last line", self.lines[-1].segment
            )
        seller = self.find_party("SU", "SE", "II")
        buyer = self.find_party("BY", "IV", "BT")
        if seller is None:
            raise InvoicContentError("no seller (NAD SU)", bgm)
        if buyer is None:
            raise InvoicContentError("no buyer (NAD BY, or IV)", bgm)
        payee = self.find_party("PE")
        representative = self.find_party("LC")
        delivery_party = self.find_party("DP", "ST")
        seller_data = seller.canonical()
        legal_info = self.text("REG")
        if legal_info:
            seller_data["legal_info"] = legal_info
        references: dict[str, str] = {}
        preceding: list[dict[str, Any]] = []
        payment_ids: list[str] = []
        for kind, value, _, date in self.references:
            if not value:
                continue
            if kind == "IV":
                preceding.append(_drop_none({"id": value, "issue_date": date}))
            elif kind == "PQ":
                payment_ids.append(value)
            elif kind == "DQ":
                references.setdefault("AAK", value)
            else:
                references.setdefault(kind, value)
        lines = [self.canonical_line(index, line) for index, line in enumerate(self.lines)]
        if not lines:
            raise InvoicContentError("the message has no line items (LIN)", None, message=message)
        count = self.counts.get("2")
        if count is not None and count[0] != len(lines):
            raise InvoicContentError(
                f"CNT 2 says {count[0]} lines, the message has {len(lines)}", count[1], 1, 2
            )
        allowances = []
        for index, allowance in enumerate(self.allowances):
            self.sources[f"allowances_charges.{index}"] = allowance.segment
            if allowance.amount_segment is not None:
                self.sources[f"allowances_charges.{index}.amount"] = allowance.amount_segment
            allowances.append(allowance.canonical(with_tax=True))
        delivery = None
        delivery_date = self.dates.get("35")
        if delivery_party is not None or delivery_date is not None:
            delivery = _drop_none(
                {
                    "party_name": delivery_party.name or None if delivery_party else None,
                    "location": delivery_party.identification if delivery_party else None,
                    "address": delivery_party.address if delivery_party else None,
                    "date": delivery_date[0] if delivery_date else None,
                }
            )
        period = _drop_none({"start": self.date_of("194"), "end": self.date_of("206")})
        whole = self.dates.get("263")
        if not period and whole is not None and isinstance(whole[0], tuple):
            period = {"start": whole[0][0], "end": whole[0][1]}
        payment_holder = payee or seller
        accounts = payment_holder.accounts or (seller.accounts if payee is not None else [])
        means_code = self.payment_means_code or UNDEFINED_PAYMENT_MEANS
        payment_means = [
            _drop_none(
                {
                    "code": means_code,
                    "account": account,
                    "payment_id": payment_ids[i] if i < len(payment_ids) else None,
                }
            )
            for i, account in enumerate(accounts)
        ]
        payment_means += [{"code": means_code, "payment_id": pid} for pid in payment_ids[len(accounts) :]]
        if not payment_means and self.payment_means_code:
            payment_means = [{"code": self.payment_means_code}]
        vat_breakdown = self.vat_breakdown(lines, allowances)
        totals = self.totals(lines, allowances, vat_breakdown)
        due_date = self.due_date or self.date_of("13") or self.date_of("140")
        return _drop_none(
            {
                "document_type": DocumentType.CREDIT_NOTE.value
                if credit_note
                else DocumentType.INVOICE.value,
                "type_code": None if code == ("381" if credit_note else "380") else code,
                "number": number,
                "issue_date": issue[0],
                "due_date": due_date,
                "tax_point_date": self.date_of("131"),
                "currency": currency,
                "buyer_reference": references.get("CR"),
                "project_reference": references.get("AEP"),
                "contract_reference": references.get("CT"),
                "order_reference": references.get("ON"),
                "sales_order_reference": references.get("VN"),
                "receiving_advice_reference": references.get("ALO"),
                "despatch_advice_reference": references.get("AAK"),
                "notes": [text for text, _, _ in self.texts.get("AAI", [])],
                "period": period or None,
                "preceding_invoices": preceding,
                "seller": seller_data,
                "buyer": buyer.canonical(),
                "payee": payee.canonical() if payee else None,
                "tax_representative": representative.canonical() if representative else None,
                "delivery": delivery or None,
                "payment_means": payment_means,
                "payment_terms": self.text("AAB"),
                "allowances_charges": allowances,
                "lines": lines,
                "vat_breakdown": vat_breakdown,
                "totals": totals,
            }
        )

    def text(self, subject: str) -> str | None:
        texts = [text for text, _, _ in self.texts.get(subject, []) if text]
        return " ".join(texts) if texts else None

    def date_of(self, qualifier: str) -> dt.date | None:
        found = self.dates.get(qualifier)
        return found[0] if found is not None and isinstance(found[0], dt.date) else None

    def find_party(self, *qualifiers: str) -> _PartyReading | None:
        for qualifier in qualifiers:
            for party in self.parties:
                if party.qualifier == qualifier:
                    return party
        return None

    def line_tax(self, line: _LineReading) -> _Tax:
        if line.tax is not None:
            return line.tax
        if self.header_tax is not None:
            return self.header_tax
        usable = [t for t in self.summary_taxes if t.category is not None or t.rate is not None]
        if len(usable) == 1:
            return usable[0]
        raise InvoicContentError(
            "the line has no VAT (no TAX in the line, in the header, or a single one in the summary)",
            line.segment,
        )

    def canonical_line(self, index: int, line: _LineReading) -> dict[str, Any]:
        quantity_found = next((line.quantities[q] for q in ("47", "46", "12") if q in line.quantities), None)
        if quantity_found is None:
            raise InvoicContentError("the line has no invoiced quantity (QTY 47, 46 or 12)", line.segment)
        quantity, unit, quantity_segment = quantity_found
        price_found = line.prices.get("AAA") or line.prices.get("INV") or line.prices.get("AAB")
        gross_found = line.prices.get("AAB")
        allowances = [a.canonical(with_tax=False) for a in line.allowances]
        adjustment = sum((a["amount"] if a["is_charge"] else -a["amount"] for a in allowances), Decimal(0))
        amount_found = line.amounts.get("203")
        if amount_found is not None:
            self.sources[f"lines.{index}.net_amount"] = amount_found[1]
        price_data: dict[str, Any]
        if price_found is not None:
            price, base, base_unit, price_segment = price_found
            self.sources[f"lines.{index}.price"] = price_segment
            price_data = _drop_none(
                {
                    "net": price,
                    "base_quantity": base if base else None,
                    "base_unit_code": base_unit or None,
                    "gross": gross_found[0] if gross_found is not None else None,
                }
            )
            if amount_found is None:
                net = quantity * price / (base or Decimal(1)) + adjustment
                amount = net.quantize(Decimal("0.01"))
            else:
                amount = amount_found[0]
        elif amount_found is not None:
            amount = amount_found[0]
            derived = (amount - adjustment) / quantity if quantity else Decimal(0)
            price_data = {"net": derived.quantize(Decimal("0.000001")).normalize()}
        else:
            raise InvoicContentError(
                "the line has neither an amount (MOA 203) nor a price (PRI)", line.segment
            )
        tax = self.line_tax(line)
        category, rate = _tax_category(tax)
        self.sources[f"lines.{index}.vat_category"] = self.sources[f"lines.{index}.vat_rate"] = tax.segment
        name_parts = line.names.get("F") or line.names.get("E") or line.names.get("A")
        size = self.description_size
        description = (
            _join(line.names["A"], size) if "A" in line.names and name_parts is not line.names["A"] else None
        )
        name = _join(name_parts, size) if name_parts else None
        standard = next((line.numbers[k] for k in ("EN", "SRV") if k in line.numbers), None)
        if name is None:
            name = standard or next(iter(line.numbers.values()), None)
        if name is None:
            raise InvoicContentError(
                "the line has no item description (IMD) and no item number to name it by", line.segment
            )
        reference = line.references.get("LI")
        order_line = line.references.get("ON")
        line_id = (
            (reference.get(1, 2).strip() if reference is not None else "")
            or line.segment.get(1).strip()
            or str(line.sequence)
        )
        period = _drop_none({"start": line.dates.get("194"), "end": line.dates.get("206")})
        self.sources[f"lines.{index}"] = line.segment
        self.sources[f"lines.{index}.quantity"] = quantity_segment
        return _drop_none(
            {
                "id": line_id,
                "note": " ".join(line.notes) or None,
                "quantity": quantity,
                "unit_code": unit or DEFAULT_UNIT,
                "net_amount": amount,
                "order_line_reference": (order_line.get(1, 3).strip() or None)
                if order_line is not None
                else None,
                "period": period or None,
                "allowances_charges": allowances,
                "price": price_data,
                "vat_category": category,
                "vat_rate": rate,
                "item": _drop_none(
                    {
                        "name": name,
                        "description": description,
                        "seller_id": line.numbers.get("SA"),
                        "buyer_id": line.numbers.get("BP") or line.numbers.get("IN"),
                        "standard_id": {"value": standard, "scheme": GTIN_SCHEME} if standard else None,
                    }
                ),
            }
        )

    def vat_breakdown(
        self, lines: list[dict[str, Any]], allowances: list[dict[str, Any]]
    ) -> list[dict[str, Any]]:
        computed: list[dict[str, Any]] = []
        try:
            line_models = [InvoiceLine.model_validate(line) for line in lines]
            ac_models = [AllowanceCharge.model_validate(ac) for ac in allowances]
            computed = [
                vb.model_dump(exclude_none=True) for vb in compute_vat_breakdown(line_models, ac_models)
            ]
        except ValidationError:
            pass  # the invoice's own validation names what is wrong
        stated = [
            t for t in self.summary_taxes if t.amounts and (t.category is not None or t.rate is not None)
        ]
        if not stated:
            return computed
        reasons = [(text, code) for text, code, _ in self.texts.get("TXD", [])]
        out: list[dict[str, Any]] = []
        for index, tax in enumerate(stated):
            category, rate = _tax_category(tax)
            taxable = tax.amounts.get("125")
            amount = tax.amounts.get("124")
            self.sources[f"vat_breakdown.{index}"] = tax.segment
            if taxable is None:
                match = next(
                    (
                        c
                        for c in computed
                        if c["category"] == category and Decimal(c.get("rate", 0)) == (rate or 0)
                    ),
                    None,
                )
                taxable_amount = match["taxable_amount"] if match else Decimal(0)
            else:
                taxable_amount = taxable[0]
                self.sources[f"vat_breakdown.{index}.taxable_amount"] = taxable[1]
            if amount is None:
                tax_amount = (taxable_amount * (rate or 0) / 100).quantize(Decimal("0.01"))
            else:
                tax_amount = amount[0]
                self.sources[f"vat_breakdown.{index}.tax_amount"] = amount[1]
            entry: dict[str, Any] = {
                "category": category,
                "rate": rate,
                "taxable_amount": taxable_amount,
                "tax_amount": tax_amount,
            }
            if category in EXEMPT_CATEGORIES and reasons:
                text, code = reasons.pop(0)
                entry["exemption_reason"] = text or None
                entry["exemption_reason_code"] = code or None
            out.append(_drop_none(entry))
        return out

    def totals(
        self,
        lines: list[dict[str, Any]],
        allowances: list[dict[str, Any]],
        vat_breakdown: list[dict[str, Any]],
    ) -> dict[str, Any]:
        """BG-22: what the summary states, the rest derived as BR-CO-10…16 define it."""
        stated = self.summary_amounts

        def value(qualifier: str, name: str, derived: Decimal) -> Decimal:
            found = stated.get(qualifier)
            if found is None:
                return derived
            self.sources[f"totals.{name}"] = found[1]
            return found[0]

        line_extension = value(
            "79", "line_extension", sum((line["net_amount"] for line in lines), Decimal(0))
        )
        allowance_total = value(
            "260", "allowance_total", sum((a["amount"] for a in allowances if not a["is_charge"]), Decimal(0))
        )
        charge_total = value(
            "259", "charge_total", sum((a["amount"] for a in allowances if a["is_charge"]), Decimal(0))
        )
        tax_exclusive = value("125", "tax_exclusive", line_extension - allowance_total + charge_total)
        tax_amount = value("176", "tax_amount", sum((vb["tax_amount"] for vb in vat_breakdown), Decimal(0)))
        if "86" in stated and "77" not in stated:
            stated = {**stated, "77": stated["86"]}
            self.summary_amounts = stated
        tax_inclusive = value("77", "tax_inclusive", tax_exclusive + tax_amount)
        prepaid = value("113", "prepaid", Decimal(0))
        rounding = value("165", "rounding", Decimal(0))
        payable = value("9", "payable", tax_inclusive - prepaid + rounding)
        return {
            "line_extension": line_extension,
            "allowance_total": allowance_total,
            "charge_total": charge_total,
            "tax_exclusive": tax_exclusive,
            "tax_amount": tax_amount,
            "tax_inclusive": tax_inclusive,
            "prepaid": prepaid,
            "rounding": rounding,
            "payable": payable,
        }

    def locate(self, field: str) -> Segment | None:
        """The segment a canonical field was read from (longest known prefix of its path)."""
        parts = field.split(".")
        while parts:
            found = self.sources.get(".".join(parts))
            if found is not None:
                return found
            parts.pop()
        return None


def _message_where(message: Message) -> str:
    return f"message {message.reference!r} (UNH at segment {message.position})"


def _read_message(message: Message) -> tuple[dict[str, Any], _MessageReader]:
    reader = _MessageReader(message)
    with localcontext() as context:
        # numbers have at most 35 digits (MOA 5004 n..35); products and quotients of two stay exact here,
        # and the canonical model then refuses what is too large for it, naming the field
        context.prec = 120
        return reader.read(), reader


def _invoice(message: Message) -> Invoice:
    data, reader = _read_message(message)
    try:
        return Invoice.model_validate(data)
    except ValidationError as error:
        entries = error_entries(error)
        for entry in entries:
            segment = reader.locate(entry["field"])
            entry["message"] = message.reference
            if segment is not None:
                entry["segment"] = f"segment {segment.position} ({segment.tag})"
                entry["reason"] = f"{entry['segment']}: {entry['reason']}"
            entry["field"] = f"{_message_where(message)}: {entry['field']}"
        raise InvoiceValidationError(entries) from None


def _invoic_messages(data: bytes) -> tuple[Any, list[Message]]:
    """The (first) interchange and the INVOIC messages of every interchange in the file, in order."""
    interchanges = edifact.every_interchange(data)
    interchange = interchanges[0]
    every = [m for i in interchanges for m in i.all_messages]
    messages = [m for m in every if m.type == "INVOIC"]
    if not messages:
        found = ", ".join(sorted({m.type for m in every})) or "none"
        raise FormatError("interchange", f"no INVOIC message (message types found: {found})")
    return interchange, messages


def parse(data: bytes) -> list[Invoice]:
    """Every INVOIC message of an EDIFACT interchange → canonical `Invoice` (credit notes for 381 and the
    other credit note codes), in order; in a file of several interchanges, those of each, in file order.

    The envelope is checked strictly first (`EdiSyntaxError`); content that cannot be read raises
    `InvoicContentError` naming the segment; an invoice that does not add up raises
    `InvoiceValidationError` whose errors name the EN 16931 rule, the message and the segment.
    """
    _, messages = _invoic_messages(data)
    return [_invoice(message) for message in messages]


def sniff(data: bytes) -> bool:
    """An EDIFACT interchange (UNA/UNB) whose messages are all INVOIC (at least one)."""
    return edifact.all_messages_are(data, "INVOIC")


def _summary(data: dict[str, Any]) -> dict[str, Any]:
    def party(value: Any) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            return None
        identifiers = value.get("identifiers") or []
        return _drop_none(
            {
                "name": value.get("name"),
                "id": identifiers[0] if identifiers else None,
                "vat_id": value.get("vat_id"),
            }
        )

    def text(value: Any) -> Any:
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return _plain(value)
        return value

    totals = data.get("totals") or {}
    delivery = data.get("delivery") or {}
    return _drop_none(
        {
            "document_type": data.get("document_type"),
            "type_code": data.get("type_code")
            or ("381" if data.get("document_type") == "credit_note" else "380"),
            "number": data.get("number"),
            "issue_date": text(data.get("issue_date")),
            "due_date": text(data.get("due_date")),
            "delivery_date": text(delivery.get("date")),
            "currency": data.get("currency"),
            "seller": party(data.get("seller")),
            "buyer": party(data.get("buyer")),
            "order_reference": data.get("order_reference"),
            "payment_reference": next(
                (m.get("payment_id") for m in data.get("payment_means", []) if m.get("payment_id")), None
            ),
            "lines": len(data.get("lines", [])),
            "totals": {k: text(v) for k, v in totals.items()},
            "vat_breakdown": [{k: text(v) for k, v in vb.items()} for vb in data.get("vat_breakdown", [])],
        }
    )


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from an INVOIC interchange: the envelope, then per message the invoice number,
    dates, parties, totals and line count, and whether it is a valid canonical invoice (with the errors,
    each naming the EN 16931 rule or the segment, when not)."""
    interchange, messages = _invoic_messages(data)
    summaries: list[dict[str, Any]] = []
    for message in messages:
        summary: dict[str, Any] = {
            "reference": message.reference,
            "message_type": ":".join(
                p
                for p in (message.type, message.version, message.release, message.agency, message.association)
                if p
            ),
            "position": message.position,
        }
        try:
            content, _ = _read_message(message)
        except FormatError as error:
            summaries.append({**summary, "valid": False, "errors": [error.as_dict()]})
            continue
        summary.update(_summary(content))
        try:
            _invoice(message)
        except InvoiceValidationError as error:
            summaries.append({**summary, "valid": False, "errors": error.errors})
            continue
        summaries.append({**summary, "valid": True})
    return {
        "format": INSPECT_FORMAT,
        "sender": interchange.sender.as_dict(),
        "recipient": interchange.recipient.as_dict(),
        "control_ref": interchange.control_ref,
        "prepared": {"date": interchange.prepared[0], "time": interchange.prepared[1]},
        "syntax": {"identifier": interchange.syntax_id, "version": interchange.syntax_version},
        "test": interchange.is_test,
        "message_count": len(summaries),
        "messages": summaries,
    }
