"""UN/CEFACT Cross Industry Invoice D16B, EN 16931's second syntax: the canonical invoice both ways.

Pure functions, no I/O. `render` writes every field of the canonical model in the element order the
CII D16B schema demands (a strict sequence), in the invoice's own guideline (BT-24) when it is a CII one
(plain EN 16931 `urn:cen.eu:en16931:2017`, which is also Factur-X / ZUGFeRD's EN 16931 profile, a Factur-X /
ZUGFeRD level, XRechnung), else EN 16931; `parse` keeps BT-24 and BT-23 in `customization_id` /
`profile_id`, so an invoice goes back out in its own profile. `parse` reads any CII invoice (through the safe
`parse_xml`) — plain EN 16931, XRechnung CII, Factur-X / ZUGFeRD BASIC, EN 16931 or EXTENDED — into the
canonical model, which checks the EN 16931 arithmetic; what the model has no field for (EXTENDED-only
elements, BT-90 creditor id, note subject codes) is left unread.

CII specifics decided here (EN 16931-3-3, the CII syntax binding):

* CII has one root for invoices and credit notes: BT-3 decides. A credit-note code (381, 396, 81, 83,
  532, 261, 262, 296, 308, 420, 458) is a `credit_note`; the default code of each kind is left out of the
  model, as the UBL mapping does.
* BT-83 (remittance information) is one `PaymentReference` for the whole document: it is read into every
  payment means and rendered from the first one that has it. BT-89 (mandate) lives in the payment terms,
  one per document: read into the direct-debit means (code 49/59), else the first.
* BT-8 is coded from UNTDID 2475 in CII (5, 29, 72) where the model keeps UNTDID 2005 (3, 35, 432).
* D16B has room for one preceding invoice (BG-3): rendering an invoice with two is refused, not cut.
* A price with a gross price (BT-148) and no discount (BT-147) reads the discount as gross − net, which
  is what BT-147 is (the UBL mapping writes it the same way).
* Factur-X MINIMUM and BASIC WL carry no lines: they are refused, saying so (the model needs BG-25).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from mappings.base import FormatError, RenderedDocument
from mappings.invoice.canonical_json import invoice_from_data, invoice_summary
from mappings.xml import local_name, namespace, parse_xml
from schemas.canonical import (
    Address,
    AllowanceCharge,
    DocumentType,
    Identifier,
    Invoice,
    InvoiceLine,
    Party,
    Period,
)
from schemas.invoice_profiles import (
    EN16931_CUSTOMIZATION,
    FACTUR_X_BASIC_WL,
    FACTUR_X_LEVELS,
    FACTUR_X_MINIMUM,
    ZUGFERD_2_BASIC_WL,
    ZUGFERD_2_MINIMUM,
    is_cii_family,
)

FORMAT_NAME = "cii"
MEDIA_TYPE = "application/xml"
EXTENSION = "xml"

RSM = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"
UDT = "urn:un:unece:uncefact:data:standard:UnqualifiedDataType:100"
QDT = "urn:un:unece:uncefact:data:standard:QualifiedDataType:100"
#: BT-24 of a plain EN 16931 invoice, which is also the Factur-X / ZUGFeRD EN 16931 (COMFORT) profile.
EN16931 = EN16931_CUSTOMIZATION
#: Known BT-24 values → a name for `inspect` (any other guideline is still read).
GUIDELINES = FACTUR_X_LEVELS
_XRECHNUNG = re.compile(r"#compliant#urn:xeinkauf\.de:kosit:xrechnung_([0-9.]+)")
#: Guidelines whose documents carry no invoice lines (BG-25), which the canonical model requires.
LINELESS_GUIDELINES = frozenset({FACTUR_X_MINIMUM, FACTUR_X_BASIC_WL, ZUGFERD_2_MINIMUM, ZUGFERD_2_BASIC_WL})
CREDIT_NOTE_CODES = frozenset({"381", "396", "81", "83", "532", "261", "262", "296", "308", "420", "458"})
#: BT-8: the model's UNTDID 2005 code → the CII UNTDID 2475 code (EN 16931-3-3).
TAX_POINT_CODE_TO_CII = {"3": "5", "35": "29", "432": "72"}
TAX_POINT_CODE_FROM_CII = {cii: ubl for ubl, cii in TAX_POINT_CODE_TO_CII.items()}
DIRECT_DEBIT_CODES = frozenset({"49", "59"})
TENDER_CODE, INVOICED_OBJECT_CODE, ATTACHMENT_CODE = "50", "130", "916"
PROJECT_NAME = "Project reference"  # ProcuringProject/Name is required by the schema; BT-11 has none

_NS = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
_PREFIX = {RSM: "rsm:", RAM: "ram:", UDT: "udt:", QDT: "qdt:"}
_IBAN = re.compile(r"^[A-Z]{2}[0-9]{2}[A-Z0-9]{1,30}$")


# --------------------------------------------------------------------------------------------- render


def _num(value: Decimal) -> str:
    """Plain decimal notation, never an exponent (`1E+2` → `100`)."""
    return format(abs(value) if value == 0 else value, "f")


def _el(
    parent: etree._Element, path: str, text: str | None = None, /, **attributes: str | None
) -> etree._Element:
    """`ram:A/ram:B` under `parent` (each step a new element), the last one with `text` and attributes."""
    element = parent
    for step in path.split("/"):
        prefix, _, name = step.partition(":")
        element = etree.SubElement(element, f"{{{_NS[prefix]}}}{name}")
    if text is not None:
        element.text = text
    for key, value in attributes.items():
        if value is not None:
            element.set(key, value)
    return element


def _opt(parent: etree._Element, path: str, text: str | None, /, **attributes: str | None) -> None:
    if text is not None:
        _el(parent, path, text, **attributes)


def _date_time(
    parent: etree._Element, path: str, value: dt.date, data_type: str = "udt:DateTimeString"
) -> None:
    _el(_el(parent, path), data_type, value.strftime("%Y%m%d"), format="102")


def _identifier(parent: etree._Element, identifier: Identifier) -> None:
    """A party or location identifier: `GlobalID` with its scheme, `ID` without one."""
    if identifier.scheme:
        _el(parent, "ram:GlobalID", identifier.value, schemeID=identifier.scheme)
    else:
        _el(parent, "ram:ID", identifier.value)


def _address(parent: etree._Element, address: Address) -> None:
    element = _el(parent, "ram:PostalTradeAddress")
    _opt(element, "ram:PostcodeCode", address.postal_code)
    for name, line in zip(("ram:LineOne", "ram:LineTwo", "ram:LineThree"), address.lines, strict=False):
        _el(element, name, line)
    _opt(element, "ram:CityName", address.city)
    _el(element, "ram:CountryID", address.country)
    _opt(element, "ram:CountrySubDivisionName", address.subdivision)


def _party(parent: etree._Element, name: str, party: Party) -> None:
    element = _el(parent, name)
    for identifier in sorted(party.identifiers, key=lambda i: i.scheme is not None):  # ID before GlobalID
        _identifier(element, identifier)
    _el(element, "ram:Name", party.name)
    _opt(element, "ram:Description", party.legal_info)
    if party.legal_registration is not None or party.trading_name is not None:
        legal = _el(element, "ram:SpecifiedLegalOrganization")
        if party.legal_registration is not None:
            _el(legal, "ram:ID", party.legal_registration.value, schemeID=party.legal_registration.scheme)
        _opt(legal, "ram:TradingBusinessName", party.trading_name)
    contact = party.contact
    if contact is not None and (contact.name or contact.phone or contact.email):
        contact_element = _el(element, "ram:DefinedTradeContact")
        _opt(contact_element, "ram:PersonName", contact.name)
        _opt(contact_element, "ram:TelephoneUniversalCommunication/ram:CompleteNumber", contact.phone)
        _opt(contact_element, "ram:EmailURIUniversalCommunication/ram:URIID", contact.email)
    if party.address is not None:
        _address(element, party.address)
    if party.endpoint is not None:
        _el(
            element,
            "ram:URIUniversalCommunication/ram:URIID",
            party.endpoint.value,
            schemeID=party.endpoint.scheme,
        )
    for tax_id, scheme in ((party.vat_id, "VA"), (party.tax_registration_id, "FC")):
        if tax_id is not None:
            _el(element, "ram:SpecifiedTaxRegistration/ram:ID", tax_id, schemeID=scheme)


def _tax(parent: etree._Element, name: str, category: str, rate: Decimal | None) -> etree._Element:
    element = _el(parent, name)
    _el(element, "ram:TypeCode", "VAT")
    _el(element, "ram:CategoryCode", category)
    if rate is not None:
        _el(element, "ram:RateApplicablePercent", _num(rate))
    return element


def _allowance_charge(parent: etree._Element, ac: AllowanceCharge) -> None:
    element = _el(parent, "ram:SpecifiedTradeAllowanceCharge")
    _el(element, "ram:ChargeIndicator/udt:Indicator", "true" if ac.is_charge else "false")
    if ac.percent is not None:
        _el(element, "ram:CalculationPercent", _num(ac.percent))
    if ac.base_amount is not None:
        _el(element, "ram:BasisAmount", _num(ac.base_amount))
    _el(element, "ram:ActualAmount", _num(ac.amount))
    _opt(element, "ram:ReasonCode", ac.reason_code)
    _opt(element, "ram:Reason", ac.reason)
    if ac.vat_category is not None:
        _tax(element, "ram:CategoryTradeTax", ac.vat_category.value, ac.vat_rate)


def _period(parent: etree._Element, period: Period | None) -> None:
    if period is None or (period.start is None and period.end is None):
        return
    element = _el(parent, "ram:BillingSpecifiedPeriod")
    if period.start is not None:
        _date_time(element, "ram:StartDateTime", period.start)
    if period.end is not None:
        _date_time(element, "ram:EndDateTime", period.end)


def _line(parent: etree._Element, line: InvoiceLine) -> None:
    element = _el(parent, "ram:IncludedSupplyChainTradeLineItem")
    document = _el(element, "ram:AssociatedDocumentLineDocument")
    _el(document, "ram:LineID", line.id)
    _opt(document, "ram:IncludedNote/ram:Content", line.note)
    item = line.item
    product = _el(element, "ram:SpecifiedTradeProduct")
    if item.standard_id is not None:
        _el(product, "ram:GlobalID", item.standard_id.value, schemeID=item.standard_id.scheme)
    _opt(product, "ram:SellerAssignedID", item.seller_id)
    _opt(product, "ram:BuyerAssignedID", item.buyer_id)
    _el(product, "ram:Name", item.name)
    _opt(product, "ram:Description", item.description)
    for name, value in item.attributes.items():
        characteristic = _el(product, "ram:ApplicableProductCharacteristic")
        _el(characteristic, "ram:Description", name)
        _el(characteristic, "ram:Value", value)
    for classification in item.classifications:
        _el(
            product,
            "ram:DesignatedProductClassification/ram:ClassCode",
            classification.value,
            listID=classification.scheme,
        )
    _opt(product, "ram:OriginTradeCountry/ram:ID", item.origin_country)
    agreement = _el(element, "ram:SpecifiedLineTradeAgreement")
    _opt(agreement, "ram:BuyerOrderReferencedDocument/ram:LineID", line.order_line_reference)
    price = line.price
    base_quantity = (
        _num(price.base_quantity if price.base_quantity is not None else Decimal(1))
        if price.base_quantity is not None or price.base_unit_code is not None
        else None
    )
    if price.gross is not None:
        gross = _el(agreement, "ram:GrossPriceProductTradePrice")
        _el(gross, "ram:ChargeAmount", _num(price.gross))
        _opt(gross, "ram:BasisQuantity", base_quantity, unitCode=price.base_unit_code)
        discount = price.discount if price.discount is not None else price.gross - price.net
        if discount:
            applied = _el(gross, "ram:AppliedTradeAllowanceCharge")
            _el(applied, "ram:ChargeIndicator/udt:Indicator", "false")
            _el(applied, "ram:ActualAmount", _num(discount))
    net = _el(agreement, "ram:NetPriceProductTradePrice")
    _el(net, "ram:ChargeAmount", _num(price.net))
    _opt(net, "ram:BasisQuantity", base_quantity, unitCode=price.base_unit_code)
    _el(
        element,
        "ram:SpecifiedLineTradeDelivery/ram:BilledQuantity",
        _num(line.quantity),
        unitCode=line.unit_code,
    )
    settlement = _el(element, "ram:SpecifiedLineTradeSettlement")
    _tax(settlement, "ram:ApplicableTradeTax", line.vat_category.value, line.vat_rate)
    _period(settlement, line.period)
    for ac in line.allowances_charges:
        _allowance_charge(settlement, ac)
    _el(
        settlement,
        "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount",
        _num(line.net_amount),
    )
    _opt(settlement, "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID", line.accounting_cost)


def _referenced(parent: etree._Element, name: str, value: str | None) -> None:
    _opt(parent, f"{name}/ram:IssuerAssignedID", value)


def _agreement(parent: etree._Element, invoice: Invoice) -> None:
    agreement = _el(parent, "ram:ApplicableHeaderTradeAgreement")
    _opt(agreement, "ram:BuyerReference", invoice.buyer_reference)
    _party(agreement, "ram:SellerTradeParty", invoice.seller)
    _party(agreement, "ram:BuyerTradeParty", invoice.buyer)
    if invoice.tax_representative is not None:
        _party(agreement, "ram:SellerTaxRepresentativeTradeParty", invoice.tax_representative)
    _referenced(agreement, "ram:SellerOrderReferencedDocument", invoice.sales_order_reference)
    _referenced(agreement, "ram:BuyerOrderReferencedDocument", invoice.order_reference)
    _referenced(agreement, "ram:ContractReferencedDocument", invoice.contract_reference)
    for attachment in invoice.attachments:
        reference = _el(agreement, "ram:AdditionalReferencedDocument")
        _el(reference, "ram:IssuerAssignedID", attachment.id)
        _opt(reference, "ram:URIID", attachment.uri)
        _el(reference, "ram:TypeCode", ATTACHMENT_CODE)
        _opt(reference, "ram:Name", attachment.description)
        if attachment.content_base64 is not None:
            _el(
                reference,
                "ram:AttachmentBinaryObject",
                attachment.content_base64,
                mimeCode=attachment.mime_type,
                filename=attachment.filename,
            )
    if invoice.tender_reference is not None:
        reference = _el(agreement, "ram:AdditionalReferencedDocument")
        _el(reference, "ram:IssuerAssignedID", invoice.tender_reference)
        _el(reference, "ram:TypeCode", TENDER_CODE)
    if invoice.invoiced_object_identifier is not None:
        reference = _el(agreement, "ram:AdditionalReferencedDocument")
        _el(reference, "ram:IssuerAssignedID", invoice.invoiced_object_identifier.value)
        _el(reference, "ram:TypeCode", INVOICED_OBJECT_CODE)
        _opt(reference, "ram:ReferenceTypeCode", invoice.invoiced_object_identifier.scheme)
    if invoice.project_reference is not None:
        project = _el(agreement, "ram:SpecifiedProcuringProject")
        _el(project, "ram:ID", invoice.project_reference)
        _el(project, "ram:Name", PROJECT_NAME)


def _delivery(parent: etree._Element, invoice: Invoice) -> None:
    element = _el(parent, "ram:ApplicableHeaderTradeDelivery")
    delivery = invoice.delivery
    if delivery is not None:
        if delivery.party_name is not None or delivery.location is not None or delivery.address is not None:
            ship_to = _el(element, "ram:ShipToTradeParty")
            if delivery.location is not None:
                _identifier(ship_to, delivery.location)
            _opt(ship_to, "ram:Name", delivery.party_name)
            if delivery.address is not None:
                _address(ship_to, delivery.address)
        if delivery.date is not None:
            _date_time(element, "ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime", delivery.date)
    _referenced(element, "ram:DespatchAdviceReferencedDocument", invoice.despatch_advice_reference)
    _referenced(element, "ram:ReceivingAdviceReferencedDocument", invoice.receiving_advice_reference)


def _settlement(parent: etree._Element, invoice: Invoice) -> None:
    settlement = _el(parent, "ram:ApplicableHeaderTradeSettlement")
    currency = invoice.currency
    _opt(settlement, "ram:PaymentReference", invoice.kid)
    _opt(settlement, "ram:TaxCurrencyCode", invoice.tax_currency)
    _el(settlement, "ram:InvoiceCurrencyCode", currency)
    if invoice.payee is not None:
        _party(settlement, "ram:PayeeTradeParty", invoice.payee)
    for means in invoice.payment_means:
        element = _el(settlement, "ram:SpecifiedTradeSettlementPaymentMeans")
        _el(element, "ram:TypeCode", means.code)
        _opt(element, "ram:Information", means.rendered_text)
        _opt(element, "ram:PayerPartyDebtorFinancialAccount/ram:IBANID", means.debited_account)
        if means.account is not None:
            account = _el(element, "ram:PayeePartyCreditorFinancialAccount")
            if _IBAN.match(means.account.id):
                _el(account, "ram:IBANID", means.account.id)
            _opt(account, "ram:AccountName", means.account.name)
            if not _IBAN.match(means.account.id):
                _el(account, "ram:ProprietaryID", means.account.id)
            _opt(element, "ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID", means.account.bic)
    code = TAX_POINT_CODE_TO_CII.get(invoice.tax_point_date_code or "", invoice.tax_point_date_code)
    for index, vb in enumerate(invoice.vat_breakdown):
        element = _el(settlement, "ram:ApplicableTradeTax")
        _el(element, "ram:CalculatedAmount", _num(vb.tax_amount))
        _el(element, "ram:TypeCode", "VAT")
        _opt(element, "ram:ExemptionReason", vb.exemption_reason)
        _el(element, "ram:BasisAmount", _num(vb.taxable_amount))
        _el(element, "ram:CategoryCode", vb.category.value)
        _opt(element, "ram:ExemptionReasonCode", vb.exemption_reason_code)
        if index == 0 and invoice.tax_point_date is not None:  # CII-SR-461: one TaxPointDate per invoice
            _date_time(element, "ram:TaxPointDate", invoice.tax_point_date, "udt:DateString")
        _opt(element, "ram:DueDateTypeCode", code if index == 0 else None)
        if vb.rate is not None:
            _el(element, "ram:RateApplicablePercent", _num(vb.rate))
    _period(settlement, invoice.period)
    for ac in invoice.allowances_charges:
        _allowance_charge(settlement, ac)
    mandate = next((m.mandate_reference for m in invoice.payment_means if m.mandate_reference), None)
    if invoice.payment_terms is not None or invoice.due_date is not None or mandate is not None:
        terms = _el(settlement, "ram:SpecifiedTradePaymentTerms")
        _opt(terms, "ram:Description", invoice.payment_terms)
        if invoice.due_date is not None:
            _date_time(terms, "ram:DueDateDateTime", invoice.due_date)
        _opt(terms, "ram:DirectDebitMandateID", mandate)
    totals = invoice.totals
    summation = _el(settlement, "ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    _el(summation, "ram:LineTotalAmount", _num(totals.line_extension))
    if any(ac.is_charge for ac in invoice.allowances_charges) or totals.charge_total:
        _el(summation, "ram:ChargeTotalAmount", _num(totals.charge_total))
    if any(not ac.is_charge for ac in invoice.allowances_charges) or totals.allowance_total:
        _el(summation, "ram:AllowanceTotalAmount", _num(totals.allowance_total))
    _el(summation, "ram:TaxBasisTotalAmount", _num(totals.tax_exclusive))
    _el(summation, "ram:TaxTotalAmount", _num(totals.tax_amount), currencyID=currency)
    if totals.tax_amount_in_tax_currency is not None:
        _el(
            summation,
            "ram:TaxTotalAmount",
            _num(totals.tax_amount_in_tax_currency),
            currencyID=invoice.tax_currency or currency,
        )
    if totals.rounding:
        _el(summation, "ram:RoundingAmount", _num(totals.rounding))
    _el(summation, "ram:GrandTotalAmount", _num(totals.tax_inclusive))
    if totals.prepaid:
        _el(summation, "ram:TotalPrepaidAmount", _num(totals.prepaid))
    _el(summation, "ram:DuePayableAmount", _num(totals.payable))
    for preceding in invoice.preceding_invoices:
        reference = _el(settlement, "ram:InvoiceReferencedDocument")
        _el(reference, "ram:IssuerAssignedID", preceding.id)
        if preceding.issue_date is not None:
            _date_time(reference, "ram:FormattedIssueDateTime", preceding.issue_date, "qdt:DateTimeString")
    _opt(settlement, "ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID", invoice.accounting_cost)


def guideline_for(invoice: Invoice) -> str:
    """BT-24 as a CII document of this invoice states it: the invoice's own specification when it is one
    of CII's (plain EN 16931, a Factur-X / ZUGFeRD level with lines, XRechnung), else EN 16931 (a PEPPOL BIS
    invoice written as CII is an EN 16931 invoice: PEPPOL's identifiers name a UBL CIUS)."""
    own = " ".join((invoice.customization_id or "").split())
    if is_cii_family(own) and own not in LINELESS_GUIDELINES:
        return own
    return EN16931


def render(invoice: Invoice, *, guideline: str | None = None) -> RenderedDocument:
    """Canonical → CII D16B `CrossIndustryInvoice` in the invoice's own guideline (BT-24, `guideline_for`)
    unless told otherwise, with its business process (BT-23) when it has one."""
    guideline = guideline or guideline_for(invoice)
    if len(invoice.preceding_invoices) > 1:
        raise FormatError(
            "preceding_invoices",
            f"CII D16B carries one preceding invoice reference (BG-3), this invoice has "
            f"{len(invoice.preceding_invoices)}: send it as EHF / UBL",
        )
    nsmap: Any = {"rsm": RSM, "ram": RAM, "udt": UDT, "qdt": QDT}
    root = etree.Element(f"{{{RSM}}}CrossIndustryInvoice", nsmap=nsmap)
    context = _el(root, "rsm:ExchangedDocumentContext")
    _opt(context, "ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID", invoice.profile_id)
    _el(context, "ram:GuidelineSpecifiedDocumentContextParameter/ram:ID", guideline)
    document = _el(root, "rsm:ExchangedDocument")
    _el(document, "ram:ID", invoice.number)
    _el(document, "ram:TypeCode", invoice.effective_type_code)
    _date_time(document, "ram:IssueDateTime", invoice.issue_date)
    for note in invoice.notes:
        _el(document, "ram:IncludedNote/ram:Content", note)
    transaction = _el(root, "rsm:SupplyChainTradeTransaction")
    for line in invoice.lines:
        _line(transaction, line)
    _agreement(transaction, invoice)
    _delivery(transaction, invoice)
    _settlement(transaction, invoice)
    content = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return RenderedDocument(format=FORMAT_NAME, content=content, media_type=MEDIA_TYPE, extension=EXTENSION)


# ---------------------------------------------------------------------------------------------- parse


def _where(element: etree._Element, child: str | None = None) -> str:
    """An XPath-ish location: `/rsm:CrossIndustryInvoice/…/ram:IncludedSupplyChainTradeLineItem[2]`."""
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        step = f"{_PREFIX.get(namespace(node) or '', '')}{local_name(node)}"
        parent = node.getparent()
        if parent is not None:
            same = [sibling for sibling in parent if sibling.tag == node.tag]
            if len(same) > 1:
                step += f"[{same.index(node) + 1}]"
        steps.append(step)
        node = parent
    path = "/" + "/".join(reversed(steps))
    return f"{path}/{child}" if child else path


_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _to_decimal(text: str) -> Decimal:
    if not _DECIMAL.match(text):
        raise ValueError(text)
    return Decimal(text)


class _Reader:
    """Typed look-ups under one element, each failure a `FormatError` naming the element."""

    def __init__(self, element: etree._Element) -> None:
        self.element = element

    def all(self, path: str) -> list[_Reader]:
        return [_Reader(found) for found in self.element.findall(path, _NS)]

    def one(self, path: str) -> _Reader | None:
        found = self.element.find(path, _NS)
        return None if found is None else _Reader(found)

    def need(self, path: str) -> _Reader:
        found = self.one(path)
        if found is None:
            raise FormatError(_where(self.element, path), "required element is missing")
        return found

    def text(self, path: str | None = None) -> str | None:
        found = self.element if path is None else self.element.find(path, _NS)
        if found is None or found.text is None:
            return None
        return found.text.strip() or None

    def texts(self, path: str) -> list[str]:
        return [value for reader in self.all(path) if (value := reader.text()) is not None]

    def attribute(self, path: str, name: str) -> str | None:
        found = self.element.find(path, _NS)
        value = found.get(name) if found is not None else None
        return value.strip() if value is not None and value.strip() else None

    def required(self, path: str) -> str:
        value = self.text(path)
        if value is None:
            raise FormatError(_where(self.element, path), "required element is missing or empty")
        return value

    def _convert(self, path: str | None, convert: Callable[[str], Any], what: str) -> Any:
        value = self.text(path)
        if value is None:
            return None
        try:
            return convert(value)
        except (InvalidOperation, ValueError):
            raise FormatError(_where(self.element, path), f"{value!r} is not {what}") from None

    def decimal(self, path: str | None = None) -> Decimal | None:
        value: Decimal | None = self._convert(path, _to_decimal, "a number")
        return value

    def required_decimal(self, path: str) -> Decimal:
        self.required(path)
        value = self.decimal(path)
        assert value is not None
        return value

    def date(self, path: str) -> dt.date | None:
        """A CII date: `path` holds a `DateTimeString` / `DateString` with format 102 (CCYYMMDD)."""
        holder = self.one(path)
        if holder is None:
            return None
        found = next((child for child in holder.element if isinstance(child.tag, str)), None)
        if found is None:
            raise FormatError(_where(holder.element), "a date needs its DateTimeString (format 102)")
        value = (found.text or "").strip()
        date_format = found.get("format", "102")
        if date_format != "102":
            raise FormatError(_where(found), f"date format {date_format!r}: EN 16931 dates are format 102")
        try:
            if not re.fullmatch(r"\d{8}", value):
                raise ValueError(value)
            return dt.datetime.strptime(value, "%Y%m%d").date()
        except ValueError:
            raise FormatError(_where(found), f"{value!r} is not a date (CCYYMMDD, format 102)") from None

    def boolean(self, path: str) -> bool:
        value = self.required(path)
        if value in {"true", "1"}:
            return True
        if value in {"false", "0"}:
            return False
        raise FormatError(_where(self.element, path), f"{value!r} is not true or false")

    def identifier(self, path: str, scheme_attribute: str = "schemeID") -> dict[str, Any] | None:
        value = self.text(path)
        if value is None:
            return None
        return _drop_none({"value": value, "scheme": self.attribute(path, scheme_attribute)})


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None and value != [] and value != {}}


def _parse_address(reader: _Reader | None) -> dict[str, Any] | None:
    if reader is None:
        return None
    return _drop_none(
        {
            "lines": reader.texts("ram:LineOne")
            + reader.texts("ram:LineTwo")
            + reader.texts("ram:LineThree"),
            "city": reader.text("ram:CityName"),
            "postal_code": reader.text("ram:PostcodeCode"),
            "subdivision": reader.text("ram:CountrySubDivisionName"),
            "country": reader.text("ram:CountryID"),
        }
    )


def _identifiers(reader: _Reader) -> list[dict[str, Any]]:
    """`ID` (no scheme) and `GlobalID` (with its scheme) in document order."""
    found: list[dict[str, Any]] = []
    for child in reader.element:
        if not isinstance(child.tag, str) or namespace(child) != RAM:
            continue
        if local_name(child) in {"ID", "GlobalID"} and child.text and child.text.strip():
            scheme = child.get("schemeID")
            found.append(
                _drop_none({"value": child.text.strip(), "scheme": scheme.strip() if scheme else None})
            )
    return found


def _parse_party(reader: _Reader | None) -> dict[str, Any] | None:
    if reader is None:
        return None
    legal = reader.one("ram:SpecifiedLegalOrganization")
    contact = reader.one("ram:DefinedTradeContact")
    contact_data = (
        _drop_none(
            {
                "name": contact.text("ram:PersonName") or contact.text("ram:DepartmentName"),
                "phone": contact.text("ram:TelephoneUniversalCommunication/ram:CompleteNumber"),
                "email": contact.text("ram:EmailURIUniversalCommunication/ram:URIID"),
            }
        )
        if contact is not None
        else None
    )
    tax_ids: dict[str, str] = {}
    for registration in reader.all("ram:SpecifiedTaxRegistration"):
        value = registration.text("ram:ID")
        scheme = (registration.attribute("ram:ID", "schemeID") or "").upper()
        if value is not None and scheme in {"VA", "FC"}:
            tax_ids.setdefault(scheme, value)
    return _drop_none(
        {
            "name": reader.required("ram:Name"),
            "trading_name": legal.text("ram:TradingBusinessName") if legal is not None else None,
            "identifiers": _identifiers(reader),
            "legal_registration": legal.identifier("ram:ID") if legal is not None else None,
            "vat_id": tax_ids.get("VA"),
            "tax_registration_id": tax_ids.get("FC"),
            "legal_info": "\n".join(reader.texts("ram:Description")) or None,
            "endpoint": reader.identifier("ram:URIUniversalCommunication/ram:URIID"),
            "address": _parse_address(reader.one("ram:PostalTradeAddress")),
            "contact": contact_data or None,
        }
    )


def _parse_allowance_charge(reader: _Reader) -> dict[str, Any]:
    return _drop_none(
        {
            "is_charge": reader.boolean("ram:ChargeIndicator/udt:Indicator"),
            "amount": reader.required_decimal("ram:ActualAmount"),
            "base_amount": reader.decimal("ram:BasisAmount"),
            "percent": reader.decimal("ram:CalculationPercent"),
            "vat_category": reader.text("ram:CategoryTradeTax/ram:CategoryCode"),
            "vat_rate": reader.decimal("ram:CategoryTradeTax/ram:RateApplicablePercent"),
            "reason": reader.text("ram:Reason"),
            "reason_code": reader.text("ram:ReasonCode"),
        }
    )


def _parse_period(reader: _Reader | None) -> dict[str, Any] | None:
    if reader is None:
        return None
    period = _drop_none({"start": reader.date("ram:StartDateTime"), "end": reader.date("ram:EndDateTime")})
    return period or None


def _parse_price(agreement: _Reader) -> dict[str, Any]:
    net = agreement.need("ram:NetPriceProductTradePrice")
    gross = agreement.one("ram:GrossPriceProductTradePrice")
    net_amount = net.required_decimal("ram:ChargeAmount")
    gross_amount = gross.decimal("ram:ChargeAmount") if gross is not None else None
    discount = None
    if gross is not None:
        discount = gross.decimal("ram:AppliedTradeAllowanceCharge/ram:ActualAmount")
        if discount is None and gross_amount is not None:
            discount = gross_amount - net_amount
    base_holder = net if net.one("ram:BasisQuantity") is not None else gross
    return _drop_none(
        {
            "net": net_amount,
            "gross": gross_amount,
            "discount": discount,
            "base_quantity": base_holder.decimal("ram:BasisQuantity") if base_holder else None,
            "base_unit_code": base_holder.attribute("ram:BasisQuantity", "unitCode") if base_holder else None,
        }
    )


def _parse_line(reader: _Reader) -> dict[str, Any]:
    document = reader.need("ram:AssociatedDocumentLineDocument")
    product = reader.need("ram:SpecifiedTradeProduct")
    agreement = reader.need("ram:SpecifiedLineTradeAgreement")
    delivery = reader.need("ram:SpecifiedLineTradeDelivery")
    settlement = reader.need("ram:SpecifiedLineTradeSettlement")
    attributes: dict[str, str] = {}
    for characteristic in product.all("ram:ApplicableProductCharacteristic"):
        name = characteristic.text("ram:Description")
        if name is not None:
            attributes[name] = characteristic.text("ram:Value") or ""
    classifications = [
        found
        for classification in product.all("ram:DesignatedProductClassification")
        if (found := classification.identifier("ram:ClassCode", "listID")) is not None
    ]
    return _drop_none(
        {
            "id": document.required("ram:LineID"),
            "note": "\n".join(document.texts("ram:IncludedNote/ram:Content")) or None,
            "quantity": delivery.required_decimal("ram:BilledQuantity"),
            "unit_code": delivery.attribute("ram:BilledQuantity", "unitCode"),
            "net_amount": settlement.required_decimal(
                "ram:SpecifiedTradeSettlementLineMonetarySummation/ram:LineTotalAmount"
            ),
            "order_line_reference": agreement.text("ram:BuyerOrderReferencedDocument/ram:LineID"),
            "accounting_cost": settlement.text("ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID"),
            "period": _parse_period(settlement.one("ram:BillingSpecifiedPeriod")),
            "allowances_charges": [
                _parse_allowance_charge(ac) for ac in settlement.all("ram:SpecifiedTradeAllowanceCharge")
            ],
            "price": _parse_price(agreement),
            "vat_category": settlement.required("ram:ApplicableTradeTax/ram:CategoryCode"),
            "vat_rate": settlement.decimal("ram:ApplicableTradeTax/ram:RateApplicablePercent"),
            "item": _drop_none(
                {
                    "name": product.required("ram:Name"),
                    "description": product.text("ram:Description"),
                    "seller_id": product.text("ram:SellerAssignedID"),
                    "buyer_id": product.text("ram:BuyerAssignedID"),
                    "standard_id": product.identifier("ram:GlobalID"),
                    "classifications": classifications,
                    "origin_country": product.text("ram:OriginTradeCountry/ram:ID"),
                    "attributes": attributes,
                }
            ),
        }
    )


def _cii_root(data: bytes) -> etree._Element:
    root = parse_xml(data)
    if (namespace(root), local_name(root)) != (RSM, "CrossIndustryInvoice"):
        raise FormatError(
            f"/{local_name(root)}",
            f"not a UN/CEFACT CII D16B CrossIndustryInvoice (root {{{namespace(root)}}}{local_name(root)})",
        )
    return root


def guideline_of(root: etree._Element) -> str | None:
    """BT-24, the specification identifier (`urn:cen.eu:en16931:2017`, a Factur-X or XRechnung id…)."""
    return _Reader(root).text(
        "rsm:ExchangedDocumentContext/ram:GuidelineSpecifiedDocumentContextParameter/ram:ID"
    )


def business_process_of(root: etree._Element) -> str | None:
    """BT-23, the business process type, when the document states one."""
    return _Reader(root).text(
        "rsm:ExchangedDocumentContext/ram:BusinessProcessSpecifiedDocumentContextParameter/ram:ID"
    )


def guideline_name(guideline: str | None) -> str | None:
    """A person's name for a BT-24 value: `Factur-X BASIC`, `XRechnung 3.0`…; None when unknown."""
    if guideline is None:
        return None
    xrechnung = _XRECHNUNG.search(guideline)
    if xrechnung:
        return f"XRechnung {xrechnung.group(1)}"
    return GUIDELINES.get(guideline)


def _payment_means(settlement: _Reader, mandate: str | None) -> list[dict[str, Any]]:
    payment_reference = settlement.text("ram:PaymentReference")
    readers = settlement.all("ram:SpecifiedTradeSettlementPaymentMeans")
    codes = [means.text("ram:TypeCode") for means in readers]
    mandate_index = next((i for i, code in enumerate(codes) if code in DIRECT_DEBIT_CODES), 0)
    found: list[dict[str, Any]] = []
    for index, means in enumerate(readers):
        account = means.one("ram:PayeePartyCreditorFinancialAccount")
        account_data = (
            _drop_none(
                {
                    "id": account.text("ram:IBANID") or account.text("ram:ProprietaryID"),
                    "name": account.text("ram:AccountName"),
                    "bic": means.text("ram:PayeeSpecifiedCreditorFinancialInstitution/ram:BICID"),
                }
            )
            if account is not None
            else None
        )
        found.append(
            _drop_none(
                {
                    "code": means.required("ram:TypeCode"),
                    "text": "\n".join(means.texts("ram:Information")) or None,
                    "payment_id": payment_reference,
                    "account": account_data or None,
                    "mandate_reference": mandate if index == mandate_index else None,
                    "debited_account": means.text("ram:PayerPartyDebtorFinancialAccount/ram:IBANID")
                    or means.text("ram:PayerPartyDebtorFinancialAccount/ram:ProprietaryID"),
                }
            )
        )
    return found


def _totals(settlement: _Reader, currency: str, tax_currency: str | None) -> dict[str, Any]:
    summation = settlement.need("ram:SpecifiedTradeSettlementHeaderMonetarySummation")
    tax_amount: Decimal | None = None
    tax_amount_in_tax_currency: Decimal | None = None
    for element in summation.all("ram:TaxTotalAmount"):
        value = element.decimal()
        currency_id = element.element.get("currencyID")
        if tax_currency and tax_currency != currency and currency_id == tax_currency:
            tax_amount_in_tax_currency = value
        elif tax_amount is None:
            tax_amount = value
    if tax_amount is None:
        # BT-110 may be left out (e.g. an invoice outside the scope of VAT): it is the breakdown's sum
        tax_amount = sum(
            (
                tax.required_decimal("ram:CalculatedAmount")
                for tax in settlement.all("ram:ApplicableTradeTax")
            ),
            Decimal(0),
        )
    return _drop_none(
        {
            "line_extension": summation.required_decimal("ram:LineTotalAmount"),
            "allowance_total": summation.decimal("ram:AllowanceTotalAmount"),
            "charge_total": summation.decimal("ram:ChargeTotalAmount"),
            "tax_exclusive": summation.required_decimal("ram:TaxBasisTotalAmount"),
            "tax_amount": tax_amount,
            "tax_amount_in_tax_currency": tax_amount_in_tax_currency,
            "tax_inclusive": summation.required_decimal("ram:GrandTotalAmount"),
            "prepaid": summation.decimal("ram:TotalPrepaidAmount"),
            "rounding": summation.decimal("ram:RoundingAmount"),
            "payable": summation.required_decimal("ram:DuePayableAmount"),
        }
    )


def invoice_data_from_cii(root: etree._Element) -> dict[str, Any]:
    """The canonical invoice as plain data (not yet validated) from a CII `CrossIndustryInvoice` root."""
    doc = _Reader(root)
    guideline = guideline_of(root)
    exchanged = doc.need("rsm:ExchangedDocument")
    transaction = doc.need("rsm:SupplyChainTradeTransaction")
    lines = transaction.all("ram:IncludedSupplyChainTradeLineItem")
    if not lines and guideline in LINELESS_GUIDELINES:
        raise FormatError(
            _where(transaction.element, "ram:IncludedSupplyChainTradeLineItem"),
            f"a {guideline_name(guideline)} document carries no invoice lines (BG-25); the gateway reads "
            "EN 16931 invoices (Factur-X BASIC, EN 16931, EXTENDED; XRechnung)",
        )
    agreement = transaction.need("ram:ApplicableHeaderTradeAgreement")
    delivery = transaction.one("ram:ApplicableHeaderTradeDelivery")
    settlement = transaction.need("ram:ApplicableHeaderTradeSettlement")
    type_code = exchanged.required("ram:TypeCode")
    credit_note = type_code in CREDIT_NOTE_CODES
    default_type = "381" if credit_note else "380"
    tender: str | None = None
    invoiced_object: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] = []
    for reference in agreement.all("ram:AdditionalReferencedDocument"):
        code = reference.text("ram:TypeCode")
        if code == TENDER_CODE and tender is None:
            tender = reference.required("ram:IssuerAssignedID")
            continue
        if code == INVOICED_OBJECT_CODE and invoiced_object is None:
            invoiced_object = reference.identifier("ram:IssuerAssignedID", "schemeID")
            scheme = reference.text("ram:ReferenceTypeCode")
            if invoiced_object is not None and scheme is not None:
                invoiced_object["scheme"] = scheme
            continue
        embedded = reference.one("ram:AttachmentBinaryObject")
        content = None
        if embedded is not None and embedded.element.text is not None:
            content = "".join(embedded.element.text.split()) or None
        attachments.append(
            _drop_none(
                {
                    "id": reference.required("ram:IssuerAssignedID"),
                    "description": reference.text("ram:Name"),
                    "filename": embedded.element.get("filename") if embedded is not None else None,
                    "mime_type": embedded.element.get("mimeCode") if embedded is not None else None,
                    "content_base64": content,
                    "uri": reference.text("ram:URIID"),
                }
            )
        )
    taxes = settlement.all("ram:ApplicableTradeTax")
    vat_breakdown = [
        _drop_none(
            {
                "category": tax.required("ram:CategoryCode"),
                "rate": tax.decimal("ram:RateApplicablePercent"),
                "taxable_amount": tax.required_decimal("ram:BasisAmount"),
                "tax_amount": tax.required_decimal("ram:CalculatedAmount"),
                "exemption_reason": tax.text("ram:ExemptionReason"),
                "exemption_reason_code": tax.text("ram:ExemptionReasonCode"),
            }
        )
        for tax in taxes
    ]
    tax_point_date = next((d for tax in taxes if (d := tax.date("ram:TaxPointDate")) is not None), None)
    cii_point_code = next((c for tax in taxes if (c := tax.text("ram:DueDateTypeCode")) is not None), None)
    terms = settlement.all("ram:SpecifiedTradePaymentTerms")
    due_date = next((d for term in terms if (d := term.date("ram:DueDateDateTime")) is not None), None)
    mandate = next((m for term in terms if (m := term.text("ram:DirectDebitMandateID")) is not None), None)
    payment_terms = "\n".join(text for term in terms for text in term.texts("ram:Description")) or None
    currency = settlement.required("ram:InvoiceCurrencyCode")
    tax_currency = settlement.text("ram:TaxCurrencyCode")
    ship_to = delivery.one("ram:ShipToTradeParty") if delivery is not None else None
    delivery_data = (
        _drop_none(
            {
                "party_name": ship_to.text("ram:Name") if ship_to is not None else None,
                "location": next(iter(_identifiers(ship_to)), None) if ship_to is not None else None,
                "date": delivery.date("ram:ActualDeliverySupplyChainEvent/ram:OccurrenceDateTime"),
                "address": _parse_address(ship_to.one("ram:PostalTradeAddress")) if ship_to else None,
            }
        )
        if delivery is not None
        else None
    )
    preceding = [
        _drop_none(
            {
                "id": reference.required("ram:IssuerAssignedID"),
                "issue_date": reference.date("ram:FormattedIssueDateTime"),
            }
        )
        for reference in settlement.all("ram:InvoiceReferencedDocument")
    ]
    return _drop_none(
        {
            "document_type": DocumentType.CREDIT_NOTE.value if credit_note else DocumentType.INVOICE.value,
            "customization_id": guideline,
            "profile_id": business_process_of(root),
            "type_code": None if type_code == default_type else type_code,
            "number": exchanged.required("ram:ID"),
            "issue_date": exchanged.required("ram:IssueDateTime/udt:DateTimeString")
            and exchanged.date("ram:IssueDateTime"),
            "due_date": due_date,
            "tax_point_date": tax_point_date,
            "tax_point_date_code": TAX_POINT_CODE_FROM_CII.get(cii_point_code or "", cii_point_code),
            "currency": currency,
            "tax_currency": tax_currency,
            "buyer_reference": agreement.text("ram:BuyerReference"),
            "project_reference": agreement.text("ram:SpecifiedProcuringProject/ram:ID"),
            "contract_reference": agreement.text("ram:ContractReferencedDocument/ram:IssuerAssignedID"),
            "order_reference": agreement.text("ram:BuyerOrderReferencedDocument/ram:IssuerAssignedID"),
            "sales_order_reference": agreement.text("ram:SellerOrderReferencedDocument/ram:IssuerAssignedID"),
            "receiving_advice_reference": delivery.text(
                "ram:ReceivingAdviceReferencedDocument/ram:IssuerAssignedID"
            )
            if delivery is not None
            else None,
            "despatch_advice_reference": delivery.text(
                "ram:DespatchAdviceReferencedDocument/ram:IssuerAssignedID"
            )
            if delivery is not None
            else None,
            "tender_reference": tender,
            "invoiced_object_identifier": invoiced_object,
            "accounting_cost": settlement.text("ram:ReceivableSpecifiedTradeAccountingAccount/ram:ID"),
            "notes": ["\n".join(note.texts("ram:Content")) for note in exchanged.all("ram:IncludedNote")],
            "period": _parse_period(settlement.one("ram:BillingSpecifiedPeriod")),
            "preceding_invoices": preceding,
            "seller": _parse_party(agreement.need("ram:SellerTradeParty")),
            "buyer": _parse_party(agreement.need("ram:BuyerTradeParty")),
            "payee": _parse_party(settlement.one("ram:PayeeTradeParty")),
            "tax_representative": _parse_party(agreement.one("ram:SellerTaxRepresentativeTradeParty")),
            "delivery": delivery_data or None,
            "payment_means": _payment_means(settlement, mandate),
            "payment_terms": payment_terms,
            "allowances_charges": [
                _parse_allowance_charge(ac) for ac in settlement.all("ram:SpecifiedTradeAllowanceCharge")
            ],
            "lines": [_parse_line(line) for line in lines],
            "vat_breakdown": vat_breakdown,
            "totals": _totals(settlement, currency, tax_currency),
            "attachments": attachments,
        }
    )


def parse(data: bytes) -> Invoice:
    """CII CrossIndustryInvoice → canonical `Invoice`; `FormatError` (or `InvoiceValidationError`)."""
    return invoice_from_data(invoice_data_from_cii(_cii_root(data)))


def sniff(data: bytes) -> bool:
    """A CII CrossIndustryInvoice (by its root element's namespace)."""
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head.startswith(b"<") or b"CrossIndustryInvoice" not in head:
        return False
    try:
        root = parse_xml(data)
    except FormatError:
        return False
    return (namespace(root), local_name(root)) == (RSM, "CrossIndustryInvoice")


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from a CII invoice (plain EN 16931, XRechnung CII, Factur-X / ZUGFeRD XML)."""
    root = _cii_root(data)
    guideline = guideline_of(root)
    result: dict[str, Any] = {
        "format": FORMAT_NAME,
        "document": local_name(root),
        "guideline": guideline,
        "guideline_name": guideline_name(guideline),
        "business_process": business_process_of(root),
    }
    try:
        invoice = parse(data)
    except FormatError as error:
        errors = getattr(error, "errors", None) or [error.as_dict()]
        return {**result, "valid": False, "errors": errors}
    return {**result, "valid": True, **invoice_summary(invoice)}
