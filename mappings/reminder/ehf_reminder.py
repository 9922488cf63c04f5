"""EHF Reminder 3.0 (purring): a follow-up notice as a UBL 2.1 Invoice in the reminder profile, both ways.

Pure functions, no I/O. What the official samples (`dfo_Reminder-Example*.xml`) and the three rule sets
(EHF-P06 reminder data model, the CEN and PEPPOL rules as adapted for reminders) want, and what is decided
here:

* `CustomizationID` `…#conformant#urn:fdc:anskaffelser.no:2019:ehf:reminder:3.0`, `ProfileID`
  `urn:fdc:anskaffelser.no:2019:ehf:postaward:g3:06:1.0`; no `InvoiceTypeCode` (not in the reminder's data
  model). `DueDate` is the notice's new deadline; `BuyerReference` is mandatory (PEPPOL-EN16931-R003): the
  reminded invoice's, else the first reminded invoice's number.
* Each reminded invoice is a `BillingReference/InvoiceDocumentReference` (number, issue date; at least one
  is mandatory) and one `InvoiceLine` for its open amount (a credit note: quantity −1, a negative amount, as
  the samples carry a negative line), with a `Note` saying its dates, invoiced amount, days late and interest
  in a fixed form `parse` reads back.
* The reminder fee is a document-level charge with reason code `REM` (as `dfo_Reminder-Example-with-REM`),
  exempt from VAT: category E at 0 % with an exemption reason — fees carry no VAT (inkassoforskriften). The
  open amounts, late-payment interest and compensation are E lines as well: their VAT was charged on the
  original invoices, and interest is no supply. One E breakdown, tax 0.
* Amounts are rounded half-up to cents. A debt-collection warning or a payment demand is never an EHF
  Reminder (`ValueError`): they go as PDF by e-mail, Digipost or paper. A buyer or seller without an
  electronic address cannot receive or send one either (the data model makes `EndpointID` mandatory).
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from mappings.base import FormatError, RenderedDocument
from mappings.invoice.ubl import CAC, CBC, INVOICE_NS, _amount, _cac, _cbc, _num, _party, _tax_category
from mappings.reminder.notice import NoticeOptions, first_notice_for, money, signed_open
from mappings.xml import parse_xml
from schemas.canonical import Invoice, Party
from schemas.followup import NoticeKind, ReminderDocument, RemindedInvoice
from schemas.invoice_profiles import EHF_REMINDER_CUSTOMIZATION, EHF_REMINDER_PROCESS, is_ehf_reminder

FORMAT_NAME = "ehf-reminder"
MEDIA_TYPE = "application/xml"
EXTENSION = "xml"
FEE_REASON_CODE = "REM"
EXEMPT = "E"
EXEMPTION_REASON = "Purring: mva er beregnet på de opprinnelige fakturaene; gebyr og renter er uten mva"
#: Kinds that never go as EHF (DOMAIN.md: a debt-collection warning is PDF by e-mail, Digipost or paper).
NOT_AS_EHF = {NoticeKind.COLLECTION_WARNING, NoticeKind.PAYMENT_DEMAND}

_NS = {"cac": CAC, "cbc": CBC}
_ITEM_NOTE = re.compile(
    r"^(?P<kind>Faktura|Kreditnota) (?P<number>.+?), fakturadato (?P<issue>\d{4}-\d{2}-\d{2}), "
    r"forfall (?P<due>\d{4}-\d{2}-\d{2}), fakturert (?P<invoiced>-?[0-9.]+), "
    r"dager forfalt (?P<days>\d+), rente (?P<interest>-?[0-9.]+)$"
)
INTEREST_ITEM = "Forsinkelsesrente"
COMPENSATION_ITEM = "Standardkompensasjon"


# --------------------------------------------------------------------------------------------- render


def _exempt(parent: etree._Element, name: str, *, reason: bool = False) -> None:
    _tax_category(parent, name, EXEMPT, Decimal(0), reason=EXEMPTION_REASON if reason else None)


def _line(parent: etree._Element, number: int, name: str, amount: Decimal, currency: str, note: str) -> None:
    line = _cac(parent, "InvoiceLine")
    _cbc(line, "ID", str(number))
    _cbc(line, "Note", note)
    _cbc(line, "InvoicedQuantity", "-1" if amount < 0 else "1", unitCode="C62")
    _amount(line, "LineExtensionAmount", amount, currency)
    item = _cac(line, "Item")
    _cbc(item, "Name", name[:100])
    _exempt(item, "ClassifiedTaxCategory")
    _amount(_cac(line, "Price"), "PriceAmount", abs(amount), currency)


def _item_note(item: RemindedInvoice) -> str:
    kind = "Kreditnota" if item.document_type == "credit_note" else "Faktura"
    return (
        f"{kind} {item.number}, fakturadato {item.issue_date.isoformat()}, forfall {item.due_date.isoformat()}, "
        f"fakturert {_num(money(item.invoiced_amount))}, dager forfalt {item.days_late}, "
        f"rente {_num(money(item.interest))}"
    )


def _refuse_unless_ehf(doc: ReminderDocument, seller: Party, buyer: Party) -> None:
    if doc.kind in NOT_AS_EHF:
        raise ValueError(
            f"kind: a {doc.kind.value} is never sent as EHF (inkassoforskriften: a debt-collection warning "
            "or payment demand goes as PDF by e-mail, Digipost or paper)"
        )
    if doc.kind == "statement":
        raise ValueError("kind: a statement is a PDF, not an EHF Reminder")
    if buyer.endpoint is None:
        raise ValueError("buyer.endpoint: an EHF Reminder needs the buyer's electronic address (EndpointID)")
    if seller.endpoint is None:
        raise ValueError("seller.endpoint: an EHF Reminder needs the seller's electronic address (EndpointID)")


def render_ehf_reminder(doc: ReminderDocument) -> bytes:
    """`ReminderDocument` → EHF Reminder 3.0 XML (UTF-8). `ValueError` naming the field for a notice that
    cannot be an EHF Reminder (a collection warning, a payment demand, a party without an endpoint)."""
    seller = Party.model_validate(doc.seller)
    buyer = Party.model_validate(doc.buyer)
    _refuse_unless_ehf(doc, seller, buyer)
    currency = doc.currency
    root = etree.Element(f"{{{INVOICE_NS}}}Invoice", nsmap={None: INVOICE_NS, "cac": CAC, "cbc": CBC})
    _cbc(root, "CustomizationID", EHF_REMINDER_CUSTOMIZATION)
    _cbc(root, "ProfileID", EHF_REMINDER_PROCESS)
    _cbc(root, "ID", doc.notice_id)
    _cbc(root, "IssueDate", doc.notice_date.isoformat())
    _cbc(root, "DueDate", doc.deadline.isoformat())
    if doc.note:
        _cbc(root, "Note", doc.note)
    _cbc(root, "DocumentCurrencyCode", currency)
    _cbc(root, "BuyerReference", doc.buyer_reference or doc.invoices[0].number)
    for item in doc.invoices:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", item.number)
        _cbc(reference, "IssueDate", item.issue_date.isoformat())
    _party(root, "AccountingSupplierParty/Party", seller, named_by_party_name=False)
    _party(root, "AccountingCustomerParty/Party", buyer, named_by_party_name=False)
    if doc.payee_account:
        means = _cac(root, "PaymentMeans")
        _cbc(means, "PaymentMeansCode", "30")
        if doc.kid:
            _cbc(means, "PaymentID", doc.kid)
        account = _cac(means, "PayeeFinancialAccount")
        _cbc(account, "ID", doc.payee_account)
        if doc.payee_bic:
            _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", doc.payee_bic)
    terms = f"Betales innen {doc.deadline.isoformat()}" + (f" med KID {doc.kid}" if doc.kid else "")
    _cbc(_cac(root, "PaymentTerms"), "Note", terms)
    fee = money(doc.fee)
    if fee:
        charge = _cac(root, "AllowanceCharge")
        _cbc(charge, "ChargeIndicator", "true")
        _cbc(charge, "AllowanceChargeReasonCode", FEE_REASON_CODE)
        _cbc(charge, "AllowanceChargeReason", "Purregebyr")
        _amount(charge, "Amount", fee, currency)
        _exempt(charge, "TaxCategory")
    lines: list[tuple[str, Decimal, str]] = [
        (f"{'Kreditnota' if item.document_type == 'credit_note' else 'Faktura'} {item.number}",
         money(signed_open(item)), _item_note(item))
        for item in doc.invoices
    ]  # fmt: skip
    if doc.interest:
        rate = f" {_num(doc.interest_rate_percent)} % p.a." if doc.interest_rate_percent is not None else ""
        lines.append((INTEREST_ITEM, money(doc.interest), f"Forsinkelsesrente{rate} til {doc.notice_date}"))
    if doc.compensation:
        lines.append((COMPENSATION_ITEM, money(doc.compensation), "Standardkompensasjon (B2B)"))
    line_total = sum((amount for _, amount, _ in lines), Decimal(0))
    tax_exclusive = line_total + fee
    tax_total = _cac(root, "TaxTotal")
    _amount(tax_total, "TaxAmount", Decimal(0), currency)
    subtotal = _cac(tax_total, "TaxSubtotal")
    _amount(subtotal, "TaxableAmount", tax_exclusive, currency)
    _amount(subtotal, "TaxAmount", Decimal(0), currency)
    _exempt(subtotal, "TaxCategory", reason=True)
    totals = _cac(root, "LegalMonetaryTotal")
    _amount(totals, "LineExtensionAmount", line_total, currency)
    _amount(totals, "TaxExclusiveAmount", tax_exclusive, currency)
    _amount(totals, "TaxInclusiveAmount", tax_exclusive, currency)
    if fee:
        _amount(totals, "ChargeTotalAmount", fee, currency)
    _amount(totals, "PayableAmount", tax_exclusive, currency)
    for number, (name, amount, note) in enumerate(lines, start=1):
        _line(root, number, name, amount, currency, note)
    return bytes(etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def render(invoice: Invoice, options: NoticeOptions | None = None) -> RenderedDocument:
    """The registry's verb: the first notice for `invoice` (`notice.first_notice_for`) as EHF Reminder.

    Without options the notice is written on the invoice's due date + 14 days (the first day a fee is
    allowed), so a render without a clock stays reproducible; `gateway render` passes today."""
    chosen = options or NoticeOptions(on=(invoice.due_date or invoice.issue_date) + dt.timedelta(days=14))
    doc = first_notice_for(invoice, chosen.on, chosen.settings, segment=chosen.segment)
    return RenderedDocument(FORMAT_NAME, render_ehf_reminder(doc), MEDIA_TYPE, EXTENSION)


# --------------------------------------------------------------------------------------------- read


def _root(data: bytes) -> etree._Element:
    root = parse_xml(data)
    if etree.QName(root).namespace != INVOICE_NS or etree.QName(root).localname != "Invoice":
        raise FormatError("Invoice", "not a UBL Invoice")
    if not is_ehf_reminder(root.findtext("cbc:CustomizationID", namespaces=_NS)):
        raise FormatError("CustomizationID", "not the EHF Reminder 3.0 specification identifier")
    return root


def sniff(data: bytes) -> bool:
    """A UBL Invoice whose specification identifier is EHF Reminder 3.0 (cheap: the first 2 KB)."""
    head = data[:2048]
    return b"Invoice-2" in head and b":ehf:reminder:3.0" in head


def _text(element: etree._Element, path: str) -> str | None:
    found = element.findtext(path, namespaces=_NS)
    return " ".join(found.split()) if found is not None and found.strip() else None


def _decimal(element: etree._Element, path: str) -> Decimal:
    text = _text(element, path)
    if text is None:
        return Decimal(0)
    try:
        return Decimal(text)
    except InvalidOperation:
        raise FormatError(path, f"{text!r} is not an amount") from None


def _date(element: etree._Element, path: str) -> dt.date | None:
    text = _text(element, path)
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise FormatError(path, f"{text!r} is not a date (YYYY-MM-DD)") from None


def _party_json(root: etree._Element, path: str) -> dict[str, object]:
    party = root.find(path, namespaces=_NS)
    if party is None:
        raise FormatError(path, "missing")
    name = _text(party, "cac:PartyLegalEntity/cbc:RegistrationName") or _text(party, "cac:PartyName/cbc:Name")
    data: dict[str, object] = {"name": name or ""}
    endpoint = party.find("cbc:EndpointID", namespaces=_NS)
    if endpoint is not None and endpoint.text:
        data["endpoint"] = {"value": endpoint.text.strip(), "scheme": endpoint.get("schemeID")}
    registration = party.find("cac:PartyLegalEntity/cbc:CompanyID", namespaces=_NS)
    if registration is not None and registration.text:
        data["legal_registration"] = {"value": registration.text.strip(), "scheme": registration.get("schemeID")}
    schemes = party.findall("cac:PartyTaxScheme", namespaces=_NS)
    vat = next((_text(s, "cbc:CompanyID") for s in schemes if _text(s, "cac:TaxScheme/cbc:ID") == "VAT"), None)
    if vat:
        data["vat_id"] = vat
    country = _text(party, "cac:PostalAddress/cac:Country/cbc:IdentificationCode")
    if country:
        lines = [t for t in (_text(party, "cac:PostalAddress/cbc:StreetName"),
                             _text(party, "cac:PostalAddress/cbc:AdditionalStreetName")) if t]  # fmt: skip
        data["address"] = {
            "lines": lines,
            "city": _text(party, "cac:PostalAddress/cbc:CityName"),
            "postal_code": _text(party, "cac:PostalAddress/cbc:PostalZone"),
            "country": country,
        }
    return data


def parse(data: bytes) -> ReminderDocument:
    """EHF Reminder 3.0 → `ReminderDocument`. Our own reminders read back whole (each reminded invoice from
    its line's note); another issuer's lines are its own (the official samples repeat the invoice's goods
    lines): then each referenced invoice is listed with the reminder's dates, and a lone one carries the
    payable amount less the `REM` fees as its open amount."""
    root = _root(data)
    issue = _date(root, "cbc:IssueDate")
    if issue is None:
        raise FormatError("IssueDate", "missing")
    currency = _text(root, "cbc:DocumentCurrencyCode") or ""
    fee = sum(
        (_decimal(charge, "cbc:Amount") for charge in root.findall("cac:AllowanceCharge", namespaces=_NS)
         if _text(charge, "cbc:AllowanceChargeReasonCode") == FEE_REASON_CODE),
        Decimal(0),
    )  # fmt: skip
    by_number: dict[str, RemindedInvoice] = {}
    interest = compensation = Decimal(0)
    for line in root.findall("cac:InvoiceLine", namespaces=_NS):
        name = _text(line, "cac:Item/cbc:Name")
        amount = _decimal(line, "cbc:LineExtensionAmount")
        match = _ITEM_NOTE.match(_text(line, "cbc:Note") or "")
        if match:
            credit = match["kind"] == "Kreditnota"
            by_number[match["number"]] = RemindedInvoice(
                number=match["number"],
                issue_date=dt.date.fromisoformat(match["issue"]),
                due_date=dt.date.fromisoformat(match["due"]),
                currency=currency,
                invoiced_amount=Decimal(match["invoiced"]),
                open_amount=amount,
                interest=Decimal(match["interest"]),
                days_late=int(match["days"]),
                document_type="credit_note" if credit else "invoice",
            )
        elif name == INTEREST_ITEM:
            interest += amount
        elif name == COMPENSATION_ITEM:
            compensation += amount
    payable = _decimal(root, "cac:LegalMonetaryTotal/cbc:PayableAmount")
    references = root.findall("cac:BillingReference/cac:InvoiceDocumentReference", namespaces=_NS)
    items: list[RemindedInvoice] = []
    for reference in references:
        number = _text(reference, "cbc:ID") or ""
        if number in by_number:
            items.append(by_number[number])
            continue
        lone = len(references) == 1 and not by_number
        open_amount = payable - fee if lone else Decimal(0)
        items.append(
            RemindedInvoice(
                number=number or "?",
                issue_date=_date(reference, "cbc:IssueDate") or issue,
                due_date=issue,
                currency=currency,
                invoiced_amount=open_amount,
                open_amount=open_amount,
            )
        )
    if not items:
        raise FormatError("BillingReference", "an EHF Reminder names at least one reminded invoice")
    try:
        return ReminderDocument(
            notice_id=_text(root, "cbc:ID") or "",
            kind=NoticeKind.REMINDER,
            notice_date=issue,
            deadline=_date(root, "cbc:DueDate") or issue,
            currency=currency,
            seller=_party_json(root, "cac:AccountingSupplierParty/cac:Party"),
            buyer=_party_json(root, "cac:AccountingCustomerParty/cac:Party"),
            invoices=items,
            fee=fee,
            interest=interest,
            compensation=compensation,
            kid=_text(root, "cac:PaymentMeans/cbc:PaymentID"),
            payee_account=_text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cbc:ID"),
            payee_bic=_text(root, "cac:PaymentMeans/cac:PayeeFinancialAccount/cac:FinancialInstitutionBranch/cbc:ID"),
            note=_text(root, "cbc:Note"),
            buyer_reference=_text(root, "cbc:BuyerReference"),
        )
    except ValueError as error:  # pydantic's ValidationError: a field the reminder leaves empty or bad
        raise FormatError("Invoice", f"not a readable EHF Reminder: {error}".splitlines()[0]) from None


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from an EHF Reminder: number, dates, parties, reminded invoices, fee (`REM`),
    interest and the amount to pay."""
    root = _root(data)
    doc = parse(data)
    return {
        "format": FORMAT_NAME,
        "notice_id": doc.notice_id,
        "issue_date": doc.notice_date.isoformat(),
        "deadline": doc.deadline.isoformat(),
        "currency": doc.currency,
        "seller": doc.seller.get("name"),
        "buyer": doc.buyer.get("name"),
        "buyer_reference": doc.buyer_reference,
        "reminded_invoices": [
            {"number": item.number, "issue_date": item.issue_date.isoformat(), "open_amount": str(item.open_amount),
             "document_type": item.document_type}
            for item in doc.invoices
        ],  # fmt: skip
        "fee": str(doc.fee),
        "interest": str(doc.interest),
        "compensation": str(doc.compensation),
        "payable_amount": _text(root, "cac:LegalMonetaryTotal/cbc:PayableAmount"),
        "kid": doc.kid,
        "payee_account": doc.payee_account,
    }
