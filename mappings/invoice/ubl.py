"""EHF 3.0 / PEPPOL BIS Billing 3.0: the canonical invoice as a UBL 2.1 Invoice or CreditNote, both ways.

Pure functions, no I/O. `render` writes every field of the canonical model in the element
order the UBL 2.1 schema demands (it is a strict sequence), in the invoice's own profile: its
customization (BT-24) and profile (BT-23) as read, else PEPPOL BIS Billing 3.0 (plain EN 16931 and Factur-X
invoices, read from CII, take PEPPOL BIS Billing 3.0's: `ubl_profile`). `parse` reads a UBL Invoice or
CreditNote (through the safe `parse_xml`) back into the canonical model, which checks the EN 16931
arithmetic, keeping the profile identifiers (left out when they are the defaults, like the type code) and the
payment terms text exactly (XRechnung's `#SKONTO#` lines end with a line break, DE-R-018).

EHF and PEPPOL specifics decided here:

* Seller/buyer name (BT-27/BT-44) is `PartyLegalEntity/RegistrationName`, the trading name (BT-28/BT-45)
  `PartyName/Name`. Payee (BT-59) and tax representative (BT-62) names are `PartyName/Name`; a trading
  name of those (no EN 16931 term) rides in their `PartyLegalEntity/RegistrationName`.
* `legal_info` (BT-33) is `PartyLegalEntity/CompanyLegalForm`, except the Norwegian "Foretaksregisteret"
  which EHF (NO-R-002) wants as `PartyTaxScheme/CompanyID` with `TaxScheme/ID` TAX. BT-32 (tax
  registration id) is also a TAX `PartyTaxScheme` (UBL-SR-13 allows one), so when both are present the
  registration id takes the `PartyTaxScheme` and "Foretaksregisteret" goes to `CompanyLegalForm`.
* A credit note has no `DueDate` or `ProjectReference` in UBL: BT-9 is the first
  `PaymentMeans/PaymentDueDate`, BT-11 an `AdditionalDocumentReference` with `DocumentTypeCode` 50.
  BT-18 is an `AdditionalDocumentReference` with `DocumentTypeCode` 130; every other one is an attachment.
* The type code is left out of the canonical model when it is the default (380 invoice, 381 credit note).
* A sales order without a purchase order is `OrderReference/ID` "NA" (PEPPOL) and reads back as none.
* BT-111 is a second `TaxTotal` without subtotals, in the tax currency.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import Any

from lxml import etree

from mappings.base import FormatError, RenderedDocument
from mappings.invoice.canonical_json import InvoiceValidationError, invoice_from_data, invoice_summary
from mappings.xml import local_name, namespace, parse_xml
from schemas.canonical import (
    Address,
    AllowanceCharge,
    DocumentType,
    Invoice,
    InvoiceLine,
    Party,
    Period,
)
from schemas.invoice_profiles import (
    PEPPOL_BILLING_CUSTOMIZATION,
    PEPPOL_BILLING_PROCESS,
    SELF_BILLED_CREDIT_NOTE,
    SELF_BILLED_INVOICE,
    SELF_BILLING_PROCESS,
    converts_to_peppol_billing,
    is_self_billing,
    profile_name,
)

FORMAT_NAME = "ehf"
MEDIA_TYPE = "application/xml"
EXTENSION = "xml"

INVOICE_NS = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
CREDIT_NOTE_NS = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
CAC = "urn:oasis:names:specification:ubl:schema:xsd:CommonAggregateComponents-2"
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
CUSTOMIZATION_ID = PEPPOL_BILLING_CUSTOMIZATION
PROFILE_ID = PEPPOL_BILLING_PROCESS
#: PEPPOL-EN16931-R007: a PEPPOL billing process is `urn:fdc:peppol.eu:2017:poacc:billing:NN:1.0`
_PEPPOL_BILLING_PROCESS = re.compile(r"^urn:fdc:peppol\.eu:2017:poacc:billing:[0-9]{2}:1\.0$")
FORETAKSREGISTERET = "Foretaksregisteret"
INVOICED_OBJECT_CODE = "130"
PROJECT_REFERENCE_CODE = "50"

_NS = {"cac": CAC, "cbc": CBC}
_ROOTS = {(INVOICE_NS, "Invoice"), (CREDIT_NOTE_NS, "CreditNote")}
_PREFIX = {CAC: "cac:", CBC: "cbc:"}


# --------------------------------------------------------------------------------------------- render


def _num(value: Decimal) -> str:
    """Plain decimal notation, never an exponent (`1E+2` → `100`)."""
    return format(abs(value) if value == 0 else value, "f")


def _cac(parent: etree._Element, name: str) -> etree._Element:
    return etree.SubElement(parent, f"{{{CAC}}}{name}")


def _cbc(parent: etree._Element, tag: str, text: str, /, **attributes: str | None) -> etree._Element:
    element = etree.SubElement(parent, f"{{{CBC}}}{tag}")
    element.text = text
    for key, value in attributes.items():
        if value is not None:
            element.set(key, value)
    return element


def _opt(parent: etree._Element, tag: str, text: str | None, /, **attributes: str | None) -> None:
    if text is not None:
        _cbc(parent, tag, text, **attributes)


def _amount(parent: etree._Element, name: str, value: Decimal, currency: str) -> None:
    _cbc(parent, name, _num(value), currencyID=currency)


def _date(value: dt.date) -> str:
    return value.isoformat()


def _tax_scheme(parent: etree._Element, scheme: str = "VAT") -> None:
    _cbc(_cac(parent, "TaxScheme"), "ID", scheme)


def _tax_category(
    parent: etree._Element,
    name: str,
    category: str,
    rate: Decimal | None,
    *,
    reason_code: str | None = None,
    reason: str | None = None,
) -> None:
    element = _cac(parent, name)
    _cbc(element, "ID", category)
    if rate is not None:
        _cbc(element, "Percent", _num(rate))
    _opt(element, "TaxExemptionReasonCode", reason_code)
    _opt(element, "TaxExemptionReason", reason)
    _tax_scheme(element)


def _address(parent: etree._Element, name: str, address: Address) -> None:
    element = _cac(parent, name)
    lines = list(address.lines)
    if lines:
        _cbc(element, "StreetName", lines[0])
    if len(lines) > 1:
        _cbc(element, "AdditionalStreetName", lines[1])
    _opt(element, "CityName", address.city)
    _opt(element, "PostalZone", address.postal_code)
    _opt(element, "CountrySubentity", address.subdivision)
    if len(lines) > 2:
        _cbc(_cac(element, "AddressLine"), "Line", lines[2])
    _cbc(_cac(element, "Country"), "IdentificationCode", address.country)


def _period(parent: etree._Element, period: Period | None, description_code: str | None = None) -> None:
    if period is None and description_code is None:
        return
    element = _cac(parent, "InvoicePeriod")
    if period is not None and period.start is not None:
        _cbc(element, "StartDate", _date(period.start))
    if period is not None and period.end is not None:
        _cbc(element, "EndDate", _date(period.end))
    _opt(element, "DescriptionCode", description_code)


def _is_foretaksregisteret(party: Party) -> bool:
    """EHF NO-R-002: "Foretaksregisteret" as a TAX `PartyTaxScheme`, when BT-32 does not need that slot."""
    return (
        party.legal_info is not None
        and party.legal_info.strip().casefold() == FORETAKSREGISTERET.casefold()
        and party.tax_registration_id is None
    )


def _party(parent: etree._Element, name: str, party: Party, *, named_by_party_name: bool) -> None:
    """`name` is `AccountingSupplierParty/Party`-style (wrapped) or `PayeeParty` (a party itself)."""
    wrapper, _, inner = name.rpartition("/")
    element = _cac(_cac(parent, wrapper) if wrapper else parent, inner)
    if party.endpoint is not None:
        _cbc(element, "EndpointID", party.endpoint.value, schemeID=party.endpoint.scheme)
    for identifier in party.identifiers:
        _cbc(_cac(element, "PartyIdentification"), "ID", identifier.value, schemeID=identifier.scheme)
    party_name = party.name if named_by_party_name else party.trading_name
    registration_name = party.trading_name if named_by_party_name else party.name
    if party_name is not None:
        _cbc(_cac(element, "PartyName"), "Name", party_name)
    if party.address is not None:
        _address(element, "PostalAddress", party.address)
    foretak = _is_foretaksregisteret(party)
    for company_id, scheme in (
        (party.vat_id, "VAT"),
        (party.tax_registration_id, "TAX"),
        (party.legal_info if foretak else None, "TAX"),
    ):
        if company_id is not None:
            scheme_element = _cac(element, "PartyTaxScheme")
            _cbc(scheme_element, "CompanyID", company_id)
            _tax_scheme(scheme_element, scheme)
    legal_form = None if foretak else party.legal_info
    if registration_name is not None or party.legal_registration is not None or legal_form is not None:
        legal = _cac(element, "PartyLegalEntity")
        _opt(legal, "RegistrationName", registration_name)
        if party.legal_registration is not None:
            _cbc(legal, "CompanyID", party.legal_registration.value, schemeID=party.legal_registration.scheme)
        _opt(legal, "CompanyLegalForm", legal_form)
    contact = party.contact
    if contact is not None and (contact.name or contact.phone or contact.email):
        contact_element = _cac(element, "Contact")
        _opt(contact_element, "Name", contact.name)
        _opt(contact_element, "Telephone", contact.phone)
        _opt(contact_element, "ElectronicMail", contact.email)


def _allowance_charge(
    parent: etree._Element, ac: AllowanceCharge, currency: str, *, with_tax_category: bool
) -> None:
    element = _cac(parent, "AllowanceCharge")
    _cbc(element, "ChargeIndicator", "true" if ac.is_charge else "false")
    _opt(element, "AllowanceChargeReasonCode", ac.reason_code)
    _opt(element, "AllowanceChargeReason", ac.reason)
    if ac.percent is not None:
        _cbc(element, "MultiplierFactorNumeric", _num(ac.percent))
    _amount(element, "Amount", ac.amount, currency)
    if ac.base_amount is not None:
        _amount(element, "BaseAmount", ac.base_amount, currency)
    if with_tax_category and ac.vat_category is not None:
        _tax_category(element, "TaxCategory", ac.vat_category.value, ac.vat_rate)


def _document_reference(parent: etree._Element, name: str, value: str | None) -> None:
    if value is not None:
        _cbc(_cac(parent, name), "ID", value)


def _line(parent: etree._Element, line: InvoiceLine, currency: str, *, credit_note: bool) -> None:
    element = _cac(parent, "CreditNoteLine" if credit_note else "InvoiceLine")
    _cbc(element, "ID", line.id)
    _opt(element, "Note", line.note)
    _cbc(
        element,
        "CreditedQuantity" if credit_note else "InvoicedQuantity",
        _num(line.quantity),
        unitCode=line.unit_code,
    )
    _amount(element, "LineExtensionAmount", line.net_amount, currency)
    _opt(element, "AccountingCost", line.accounting_cost)
    _period(element, line.period)
    if line.order_line_reference is not None:
        _cbc(_cac(element, "OrderLineReference"), "LineID", line.order_line_reference)
    for ac in line.allowances_charges:
        _allowance_charge(element, ac, currency, with_tax_category=True)
    item = line.item
    item_element = _cac(element, "Item")
    _opt(item_element, "Description", item.description)
    _cbc(item_element, "Name", item.name)
    if item.buyer_id is not None:
        _cbc(_cac(item_element, "BuyersItemIdentification"), "ID", item.buyer_id)
    if item.seller_id is not None:
        _cbc(_cac(item_element, "SellersItemIdentification"), "ID", item.seller_id)
    if item.standard_id is not None:
        _cbc(
            _cac(item_element, "StandardItemIdentification"),
            "ID",
            item.standard_id.value,
            schemeID=item.standard_id.scheme,
        )
    if item.origin_country is not None:
        _cbc(_cac(item_element, "OriginCountry"), "IdentificationCode", item.origin_country)
    for classification in item.classifications:
        _cbc(
            _cac(item_element, "CommodityClassification"),
            "ItemClassificationCode",
            classification.value,
            listID=classification.scheme,
        )
    _tax_category(item_element, "ClassifiedTaxCategory", line.vat_category.value, line.vat_rate)
    for name, value in item.attributes.items():
        prop = _cac(item_element, "AdditionalItemProperty")
        _cbc(prop, "Name", name)
        _cbc(prop, "Value", value)
    price = line.price
    price_element = _cac(element, "Price")
    _amount(price_element, "PriceAmount", price.net, currency)
    if price.base_quantity is not None or price.base_unit_code is not None:
        _cbc(
            price_element,
            "BaseQuantity",
            _num(price.base_quantity if price.base_quantity is not None else Decimal(1)),
            unitCode=price.base_unit_code,
        )
    if price.gross is not None or price.discount is not None:
        discount = price.discount if price.discount is not None else (price.gross or Decimal(0)) - price.net
        price_ac = _cac(price_element, "AllowanceCharge")
        _cbc(price_ac, "ChargeIndicator", "false")
        _amount(price_ac, "Amount", discount, currency)
        if price.gross is not None:
            _amount(price_ac, "BaseAmount", price.gross, currency)


def default_profile_id(customization_id: str) -> str:
    """The business process a specification identifier goes with when the invoice names none."""
    return SELF_BILLING_PROCESS if is_self_billing(customization_id) else PROFILE_ID


def ubl_profile(invoice: Invoice) -> tuple[str, str]:
    """BT-24 and BT-23 as an EHF / PEPPOL BIS document of this invoice states them.

    The invoice's own profile (default PEPPOL BIS Billing 3.0): a self-billed, forward-billing or XRechnung
    invoice is written back as what it is. A plain EN 16931 or Factur-X / ZUGFeRD invoice (read from CII)
    is converted: PEPPOL BIS Billing is a CIUS of EN 16931, so the EHF takes its identifiers (and the
    PEPPOL billing process, unless the invoice names one of PEPPOL's billing processes), and the worker's
    PEPPOL validation then applies the PEPPOL rules to it (R120…), refusing what they refuse.
    """
    if converts_to_peppol_billing(invoice.customization_id):
        own_process = invoice.profile_id or ""
        return CUSTOMIZATION_ID, own_process if _PEPPOL_BILLING_PROCESS.match(own_process) else PROFILE_ID
    customization_id = invoice.customization_id or CUSTOMIZATION_ID
    return customization_id, invoice.profile_id or default_profile_id(customization_id)


def render(invoice: Invoice) -> RenderedDocument:
    """Canonical → UBL 2.1 Invoice or CreditNote in the invoice's profile (`ubl_profile`)."""
    customization_id, profile_id = ubl_profile(invoice)
    return write_ubl(
        invoice, customization_id=customization_id, profile_id=profile_id, format_name=FORMAT_NAME
    )


def write_ubl(
    invoice: Invoice, *, customization_id: str, profile_id: str, format_name: str
) -> RenderedDocument:
    """Canonical → UBL 2.1 Invoice or CreditNote with these identifiers (BT-24, BT-23)."""
    credit_note = invoice.document_type is DocumentType.CREDIT_NOTE
    if credit_note and invoice.due_date is not None and not invoice.payment_means:
        # A UBL CreditNote has no cbc:DueDate; dropping BT-9 silently would send something else.
        raise FormatError(
            "due_date",
            "a UBL CreditNote carries the due date (BT-9) only in PaymentMeans/PaymentDueDate: "
            "add payment means or leave the due date out",
        )
    root_name, root_ns = ("CreditNote", CREDIT_NOTE_NS) if credit_note else ("Invoice", INVOICE_NS)
    nsmap: Any = {None: root_ns, "cac": CAC, "cbc": CBC}  # lxml-stubs want str keys; None is the default
    root = etree.Element(f"{{{root_ns}}}{root_name}", nsmap=nsmap)
    currency = invoice.currency
    _cbc(root, "CustomizationID", customization_id)
    _cbc(root, "ProfileID", profile_id)
    _cbc(root, "ID", invoice.number)
    _cbc(root, "IssueDate", _date(invoice.issue_date))
    if credit_note:
        if invoice.tax_point_date is not None:
            _cbc(root, "TaxPointDate", _date(invoice.tax_point_date))
        _cbc(root, "CreditNoteTypeCode", invoice.effective_type_code)
        for note in invoice.notes:
            _cbc(root, "Note", note)
    else:
        if invoice.due_date is not None:
            _cbc(root, "DueDate", _date(invoice.due_date))
        _cbc(root, "InvoiceTypeCode", invoice.effective_type_code)
        for note in invoice.notes:
            _cbc(root, "Note", note)
        if invoice.tax_point_date is not None:
            _cbc(root, "TaxPointDate", _date(invoice.tax_point_date))
    _cbc(root, "DocumentCurrencyCode", currency)
    _opt(root, "TaxCurrencyCode", invoice.tax_currency)
    _opt(root, "AccountingCost", invoice.accounting_cost)
    _opt(root, "BuyerReference", invoice.buyer_reference)
    _period(root, invoice.period, invoice.tax_point_date_code)
    if invoice.order_reference is not None or invoice.sales_order_reference is not None:
        order = _cac(root, "OrderReference")
        _cbc(order, "ID", invoice.order_reference or "NA")
        _opt(order, "SalesOrderID", invoice.sales_order_reference)
    for preceding in invoice.preceding_invoices:
        reference = _cac(_cac(root, "BillingReference"), "InvoiceDocumentReference")
        _cbc(reference, "ID", preceding.id)
        if preceding.issue_date is not None:
            _cbc(reference, "IssueDate", _date(preceding.issue_date))
    _document_reference(root, "DespatchDocumentReference", invoice.despatch_advice_reference)
    _document_reference(root, "ReceiptDocumentReference", invoice.receiving_advice_reference)
    if not credit_note:
        _document_reference(root, "OriginatorDocumentReference", invoice.tender_reference)
    _document_reference(root, "ContractDocumentReference", invoice.contract_reference)
    if invoice.invoiced_object_identifier is not None:
        reference = _cac(root, "AdditionalDocumentReference")
        _cbc(
            reference,
            "ID",
            invoice.invoiced_object_identifier.value,
            schemeID=invoice.invoiced_object_identifier.scheme,
        )
        _cbc(reference, "DocumentTypeCode", INVOICED_OBJECT_CODE)
    if credit_note and invoice.project_reference is not None:
        reference = _cac(root, "AdditionalDocumentReference")
        _cbc(reference, "ID", invoice.project_reference)
        _cbc(reference, "DocumentTypeCode", PROJECT_REFERENCE_CODE)
    for attachment in invoice.attachments:
        reference = _cac(root, "AdditionalDocumentReference")
        _cbc(reference, "ID", attachment.id)
        _opt(reference, "DocumentDescription", attachment.description)
        if attachment.content_base64 is not None or attachment.uri is not None:
            holder = _cac(reference, "Attachment")
            if attachment.content_base64 is not None:
                _cbc(
                    holder,
                    "EmbeddedDocumentBinaryObject",
                    attachment.content_base64,
                    mimeCode=attachment.mime_type,
                    filename=attachment.filename,
                )
            if attachment.uri is not None:
                _cbc(_cac(holder, "ExternalReference"), "URI", attachment.uri)
    if credit_note:
        _document_reference(root, "OriginatorDocumentReference", invoice.tender_reference)
    else:
        _document_reference(root, "ProjectReference", invoice.project_reference)
    _party(root, "AccountingSupplierParty/Party", invoice.seller, named_by_party_name=False)
    _party(root, "AccountingCustomerParty/Party", invoice.buyer, named_by_party_name=False)
    if invoice.payee is not None:
        _party(root, "PayeeParty", invoice.payee, named_by_party_name=True)
    if invoice.tax_representative is not None:
        _party(root, "TaxRepresentativeParty", invoice.tax_representative, named_by_party_name=True)
    if invoice.delivery is not None:
        delivery = invoice.delivery
        element = _cac(root, "Delivery")
        if delivery.date is not None:
            _cbc(element, "ActualDeliveryDate", _date(delivery.date))
        if delivery.location is not None or delivery.address is not None:
            location = _cac(element, "DeliveryLocation")
            if delivery.location is not None:
                _cbc(location, "ID", delivery.location.value, schemeID=delivery.location.scheme)
            if delivery.address is not None:
                _address(location, "Address", delivery.address)
        if delivery.party_name is not None:
            _cbc(_cac(_cac(element, "DeliveryParty"), "PartyName"), "Name", delivery.party_name)
    for index, means in enumerate(invoice.payment_means):
        element = _cac(root, "PaymentMeans")
        _cbc(element, "PaymentMeansCode", means.code, name=means.rendered_text)
        if credit_note and index == 0 and invoice.due_date is not None:
            _cbc(element, "PaymentDueDate", _date(invoice.due_date))
        _opt(element, "PaymentID", means.payment_id)
        if means.account is not None:
            account = _cac(element, "PayeeFinancialAccount")
            _cbc(account, "ID", means.account.id)
            _opt(account, "Name", means.account.name)
            if means.account.bic is not None:
                _cbc(_cac(account, "FinancialInstitutionBranch"), "ID", means.account.bic)
        if means.mandate_reference is not None or means.debited_account is not None:
            mandate = _cac(element, "PaymentMandate")
            _opt(mandate, "ID", means.mandate_reference)
            if means.debited_account is not None:
                _cbc(_cac(mandate, "PayerFinancialAccount"), "ID", means.debited_account)
    if invoice.payment_terms is not None:
        _cbc(_cac(root, "PaymentTerms"), "Note", invoice.payment_terms)
    for ac in invoice.allowances_charges:
        _allowance_charge(root, ac, currency, with_tax_category=True)
    totals = invoice.totals
    tax_total = _cac(root, "TaxTotal")
    _amount(tax_total, "TaxAmount", totals.tax_amount, currency)
    for vb in invoice.vat_breakdown:
        subtotal = _cac(tax_total, "TaxSubtotal")
        _amount(subtotal, "TaxableAmount", vb.taxable_amount, currency)
        _amount(subtotal, "TaxAmount", vb.tax_amount, currency)
        _tax_category(
            subtotal,
            "TaxCategory",
            vb.category.value,
            vb.rate,
            reason_code=vb.exemption_reason_code,
            reason=vb.exemption_reason,
        )
    if totals.tax_amount_in_tax_currency is not None:
        _amount(
            _cac(root, "TaxTotal"),
            "TaxAmount",
            totals.tax_amount_in_tax_currency,
            invoice.tax_currency or currency,
        )
    monetary = _cac(root, "LegalMonetaryTotal")
    _amount(monetary, "LineExtensionAmount", totals.line_extension, currency)
    _amount(monetary, "TaxExclusiveAmount", totals.tax_exclusive, currency)
    _amount(monetary, "TaxInclusiveAmount", totals.tax_inclusive, currency)
    has_allowances = any(not ac.is_charge for ac in invoice.allowances_charges)
    has_charges = any(ac.is_charge for ac in invoice.allowances_charges)
    if has_allowances or totals.allowance_total:
        _amount(monetary, "AllowanceTotalAmount", totals.allowance_total, currency)
    if has_charges or totals.charge_total:
        _amount(monetary, "ChargeTotalAmount", totals.charge_total, currency)
    if totals.prepaid:
        _amount(monetary, "PrepaidAmount", totals.prepaid, currency)
    if totals.rounding:
        _amount(monetary, "PayableRoundingAmount", totals.rounding, currency)
    _amount(monetary, "PayableAmount", totals.payable, currency)
    for line in invoice.lines:
        _line(root, line, currency, credit_note=credit_note)
    content = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    # the tree goes with the bytes: the worker's validator judges it without parsing the bytes again
    return RenderedDocument.with_tree(
        root, format=format_name, content=content, media_type=MEDIA_TYPE, extension=EXTENSION
    )


# ---------------------------------------------------------------------------------------------- parse


def _where(element: etree._Element, child: str | None = None) -> str:
    """An XPath-ish location: `/Invoice/cac:InvoiceLine[2]/cbc:LineExtensionAmount`."""
    steps: list[str] = []
    node: etree._Element | None = element
    while node is not None:
        name = local_name(node)
        ns = namespace(node)
        step = f"{_PREFIX.get(ns or '', '')}{name}"
        parent = node.getparent()
        if parent is not None:
            same = [sibling for sibling in parent if sibling.tag == node.tag]
            if len(same) > 1:
                step += f"[{same.index(node) + 1}]"
        steps.append(step)
        node = parent
    path = "/" + "/".join(reversed(steps))
    return f"{path}/{child}" if child else path


class _Reader:
    """Typed look-ups under one element, each failure a `FormatError` naming the XPath."""

    def __init__(self, element: etree._Element) -> None:
        self.element = element

    def all(self, path: str) -> list[_Reader]:
        return [_Reader(found) for found in self.element.findall(path, _NS)]

    def one(self, path: str) -> _Reader | None:
        found = self.element.find(path, _NS)
        return None if found is None else _Reader(found)

    def text(self, path: str | None = None) -> str | None:
        found = self.element if path is None else self.element.find(path, _NS)
        if found is None or found.text is None:
            return None
        value = found.text.strip()
        return value or None

    def exact_text(self, path: str) -> str | None:
        """The text as written, whitespace and line breaks kept; None when absent or blank."""
        found = self.element.find(path, _NS)
        if found is None or found.text is None or not found.text.strip():
            return None
        return found.text

    def attribute(self, path: str, name: str) -> str | None:
        found = self.element.find(path, _NS)
        if found is None:
            return None
        value = found.get(name)
        return value.strip() if value is not None and value.strip() else None

    def required(self, path: str) -> str:
        value = self.text(path)
        if value is None:
            raise FormatError(_where(self.element, path), "required element is missing or empty")
        return value

    def _convert(self, path: str, convert: Callable[[str], Any], what: str) -> Any:
        value = self.text(path)
        if value is None:
            return None
        try:
            return convert(value)
        except (InvalidOperation, ValueError):
            raise FormatError(_where(self.element, path), f"{value!r} is not {what}") from None

    def decimal(self, path: str) -> Decimal | None:
        value: Decimal | None = self._convert(path, _to_decimal, "a number")
        return value

    def required_decimal(self, path: str) -> Decimal:
        self.required(path)
        value = self.decimal(path)
        assert value is not None
        return value

    def date(self, path: str) -> dt.date | None:
        value: dt.date | None = self._convert(path, _to_date, "a date (YYYY-MM-DD)")
        return value

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


_DECIMAL = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)$")


def _to_decimal(text: str) -> Decimal:
    if not _DECIMAL.match(text):
        raise ValueError(text)
    return Decimal(text)


def _to_date(text: str) -> dt.date:
    if not re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        raise ValueError(text)
    return dt.date.fromisoformat(text)


def _drop_none(data: dict[str, Any]) -> dict[str, Any]:
    return {key: value for key, value in data.items() if value is not None and value != [] and value != {}}


def _parse_address(reader: _Reader | None) -> dict[str, Any] | None:
    if reader is None:
        return None
    lines = [
        value
        for value in (
            reader.text("cbc:StreetName"),
            reader.text("cbc:AdditionalStreetName"),
            reader.text("cac:AddressLine/cbc:Line"),
        )
        if value is not None
    ]
    return _drop_none(
        {
            "lines": lines,
            "city": reader.text("cbc:CityName"),
            "postal_code": reader.text("cbc:PostalZone"),
            "subdivision": reader.text("cbc:CountrySubentity"),
            "country": reader.text("cac:Country/cbc:IdentificationCode"),
        }
    )


def _parse_party(holder: _Reader | None, *, named_by_party_name: bool) -> dict[str, Any] | None:
    if holder is None:
        return None
    wrapped = local_name(holder.element) in {"AccountingSupplierParty", "AccountingCustomerParty"}
    party = holder.one("cac:Party") if wrapped else holder
    if party is None:
        raise FormatError(_where(holder.element, "cac:Party"), "required element is missing")
    party_name = party.text("cac:PartyName/cbc:Name")
    registration_name = party.text("cac:PartyLegalEntity/cbc:RegistrationName")
    if named_by_party_name:
        name, trading_name = party_name, registration_name
    else:
        name, trading_name = (registration_name, party_name) if registration_name else (party_name, None)
    vat_id: str | None = None
    tax_registration_id: str | None = None
    legal_info = party.text("cac:PartyLegalEntity/cbc:CompanyLegalForm")
    for scheme in party.all("cac:PartyTaxScheme"):
        company_id = scheme.text("cbc:CompanyID")
        if company_id is None:
            continue
        if (scheme.text("cac:TaxScheme/cbc:ID") or "").upper() == "VAT":
            vat_id = vat_id or company_id
        elif company_id.casefold() == FORETAKSREGISTERET.casefold() and legal_info is None:
            legal_info = company_id
        elif tax_registration_id is None:
            tax_registration_id = company_id
    identifiers = [
        ident
        for reader in party.all("cac:PartyIdentification")
        if (ident := reader.identifier("cbc:ID")) is not None
    ]
    contact = party.one("cac:Contact")
    contact_data = (
        _drop_none(
            {
                "name": contact.text("cbc:Name"),
                "phone": contact.text("cbc:Telephone"),
                "email": contact.text("cbc:ElectronicMail"),
            }
        )
        if contact is not None
        else None
    )
    return _drop_none(
        {
            "name": name,
            "trading_name": trading_name,
            "identifiers": identifiers,
            "legal_registration": party.identifier("cac:PartyLegalEntity/cbc:CompanyID"),
            "vat_id": vat_id,
            "tax_registration_id": tax_registration_id,
            "legal_info": legal_info,
            "endpoint": party.identifier("cbc:EndpointID"),
            "address": _parse_address(party.one("cac:PostalAddress")),
            "contact": contact_data or None,
        }
    )


def _parse_period(reader: _Reader | None) -> dict[str, Any] | None:
    if reader is None:
        return None
    period = _drop_none({"start": reader.date("cbc:StartDate"), "end": reader.date("cbc:EndDate")})
    return period or None


def _parse_allowance_charge(reader: _Reader) -> dict[str, Any]:
    return _drop_none(
        {
            "is_charge": reader.boolean("cbc:ChargeIndicator"),
            "amount": reader.required_decimal("cbc:Amount"),
            "base_amount": reader.decimal("cbc:BaseAmount"),
            "percent": reader.decimal("cbc:MultiplierFactorNumeric"),
            "vat_category": reader.text("cac:TaxCategory/cbc:ID"),
            "vat_rate": reader.decimal("cac:TaxCategory/cbc:Percent"),
            "reason": reader.text("cbc:AllowanceChargeReason"),
            "reason_code": reader.text("cbc:AllowanceChargeReasonCode"),
        }
    )


def _parse_line(reader: _Reader, *, credit_note: bool) -> dict[str, Any]:
    quantity_path = "cbc:CreditedQuantity" if credit_note else "cbc:InvoicedQuantity"
    item = reader.one("cac:Item")
    if item is None:
        raise FormatError(_where(reader.element, "cac:Item"), "required element is missing")
    price = reader.one("cac:Price")
    if price is None:
        raise FormatError(_where(reader.element, "cac:Price"), "required element is missing")
    price_ac = price.one("cac:AllowanceCharge")
    attributes: dict[str, str] = {}
    for prop in item.all("cac:AdditionalItemProperty"):
        name = prop.text("cbc:Name")
        if name is not None:
            attributes[name] = prop.text("cbc:Value") or ""
    classifications = [
        ident
        for found in item.all("cac:CommodityClassification")
        if (ident := found.identifier("cbc:ItemClassificationCode", "listID")) is not None
    ]
    price_data = _drop_none(
        {
            "net": price.required_decimal("cbc:PriceAmount"),
            "gross": price_ac.decimal("cbc:BaseAmount") if price_ac else None,
            "discount": price_ac.decimal("cbc:Amount") if price_ac else None,
            "base_quantity": price.decimal("cbc:BaseQuantity"),
            "base_unit_code": price.attribute("cbc:BaseQuantity", "unitCode"),
        }
    )
    return _drop_none(
        {
            "id": reader.required("cbc:ID"),
            "note": reader.text("cbc:Note"),
            "quantity": reader.required_decimal(quantity_path),
            "unit_code": reader.attribute(quantity_path, "unitCode"),
            "net_amount": reader.required_decimal("cbc:LineExtensionAmount"),
            "order_line_reference": reader.text("cac:OrderLineReference/cbc:LineID"),
            "accounting_cost": reader.text("cbc:AccountingCost"),
            "period": _parse_period(reader.one("cac:InvoicePeriod")),
            "allowances_charges": [_parse_allowance_charge(ac) for ac in reader.all("cac:AllowanceCharge")],
            "price": price_data,
            "vat_category": item.required("cac:ClassifiedTaxCategory/cbc:ID"),
            "vat_rate": item.decimal("cac:ClassifiedTaxCategory/cbc:Percent"),
            "item": _drop_none(
                {
                    "name": item.required("cbc:Name"),
                    "description": item.text("cbc:Description"),
                    "seller_id": item.text("cac:SellersItemIdentification/cbc:ID"),
                    "buyer_id": item.text("cac:BuyersItemIdentification/cbc:ID"),
                    "standard_id": item.identifier("cac:StandardItemIdentification/cbc:ID"),
                    "classifications": classifications,
                    "origin_country": item.text("cac:OriginCountry/cbc:IdentificationCode"),
                    "attributes": attributes,
                }
            ),
        }
    )


def _ubl_root(data: bytes) -> etree._Element:
    root = parse_xml(data)
    if (namespace(root), local_name(root)) not in _ROOTS:
        raise FormatError(
            f"/{local_name(root)}",
            f"not a UBL 2.1 Invoice or CreditNote (root {{{namespace(root)}}}{local_name(root)})",
        )
    return root


def invoice_data_from_ubl(root: etree._Element) -> dict[str, Any]:
    """The canonical invoice as plain data (not yet validated) from a UBL Invoice/CreditNote root."""
    credit_note = local_name(root) == "CreditNote"
    doc = _Reader(root)
    type_code = doc.text("cbc:CreditNoteTypeCode" if credit_note else "cbc:InvoiceTypeCode")
    if is_self_billing(doc.text("cbc:CustomizationID")):  # 380 in a self-billed invoice is kept, and refused
        default_type = SELF_BILLED_CREDIT_NOTE if credit_note else SELF_BILLED_INVOICE
    else:
        default_type = "381" if credit_note else "380"
    invoiced_object: dict[str, Any] | None = None
    project_reference = doc.text("cac:ProjectReference/cbc:ID")
    attachments: list[dict[str, Any]] = []
    for reference in doc.all("cac:AdditionalDocumentReference"):
        code = reference.text("cbc:DocumentTypeCode")
        if code == INVOICED_OBJECT_CODE and invoiced_object is None:
            invoiced_object = reference.identifier("cbc:ID")
            continue
        if credit_note and code == PROJECT_REFERENCE_CODE and project_reference is None:
            project_reference = reference.text("cbc:ID")
            continue
        embedded = reference.one("cac:Attachment/cbc:EmbeddedDocumentBinaryObject")
        content = None
        if embedded is not None and embedded.element.text is not None:
            content = "".join(embedded.element.text.split()) or None
        attachments.append(
            _drop_none(
                {
                    "id": reference.required("cbc:ID"),
                    "description": reference.text("cbc:DocumentDescription"),
                    "filename": embedded.element.get("filename") if embedded is not None else None,
                    "mime_type": embedded.element.get("mimeCode") if embedded is not None else None,
                    "content_base64": content,
                    "uri": reference.text("cac:Attachment/cac:ExternalReference/cbc:URI"),
                }
            )
        )
    due_date = doc.date("cac:PaymentMeans/cbc:PaymentDueDate") if credit_note else doc.date("cbc:DueDate")
    payment_means = []
    for means in doc.all("cac:PaymentMeans"):
        account = means.one("cac:PayeeFinancialAccount")
        payment_means.append(
            _drop_none(
                {
                    "code": means.required("cbc:PaymentMeansCode"),
                    "text": means.attribute("cbc:PaymentMeansCode", "name"),
                    "payment_id": means.text("cbc:PaymentID"),
                    "account": _drop_none(
                        {
                            "id": account.text("cbc:ID"),
                            "name": account.text("cbc:Name"),
                            "bic": account.text("cac:FinancialInstitutionBranch/cbc:ID"),
                        }
                    )
                    if account is not None
                    else None,
                    "mandate_reference": means.text("cac:PaymentMandate/cbc:ID"),
                    "debited_account": means.text("cac:PaymentMandate/cac:PayerFinancialAccount/cbc:ID"),
                }
            )
        )
    tax_totals = doc.all("cac:TaxTotal")
    currency = doc.text("cbc:DocumentCurrencyCode")
    in_document_currency = [t for t in tax_totals if t.attribute("cbc:TaxAmount", "currencyID") == currency]
    if len(in_document_currency) > 1:  # BR-CO-15 wants exactly one BT-110; two would be read as one at random
        raise InvoiceValidationError(
            [
                {
                    "field": "totals.tax_amount",
                    "rule": "BR-CO-15",
                    "reason": "BR-CO-15: the invoice states its total VAT (BT-110) in the document currency "
                    f"{len(in_document_currency)} times; exactly one is allowed",
                }
            ]
        )
    main_tax = next((t for t in tax_totals if t.one("cac:TaxSubtotal") is not None), None)
    if main_tax is None:
        raise FormatError(_where(root, "cac:TaxTotal/cac:TaxSubtotal"), "required element is missing")
    # BT-110 is the VAT total in the document currency (BR-CO-15), whichever TaxTotal holds the breakdown
    vat_total = in_document_currency[0] if in_document_currency else main_tax
    tax_currency_total = next(
        (t for t in tax_totals if t is not vat_total and t.one("cac:TaxSubtotal") is None), None
    ) or next((t for t in tax_totals if t is not vat_total), None)
    vat_breakdown = [
        _drop_none(
            {
                "category": subtotal.required("cac:TaxCategory/cbc:ID"),
                "rate": subtotal.decimal("cac:TaxCategory/cbc:Percent"),
                "taxable_amount": subtotal.required_decimal("cbc:TaxableAmount"),
                "tax_amount": subtotal.required_decimal("cbc:TaxAmount"),
                "exemption_reason": subtotal.text("cac:TaxCategory/cbc:TaxExemptionReason"),
                "exemption_reason_code": subtotal.text("cac:TaxCategory/cbc:TaxExemptionReasonCode"),
            }
        )
        for subtotal in main_tax.all("cac:TaxSubtotal")
    ]
    monetary = doc.one("cac:LegalMonetaryTotal")
    if monetary is None:
        raise FormatError(_where(root, "cac:LegalMonetaryTotal"), "required element is missing")
    totals = _drop_none(
        {
            "line_extension": monetary.required_decimal("cbc:LineExtensionAmount"),
            "allowance_total": monetary.decimal("cbc:AllowanceTotalAmount"),
            "charge_total": monetary.decimal("cbc:ChargeTotalAmount"),
            "tax_exclusive": monetary.required_decimal("cbc:TaxExclusiveAmount"),
            "tax_amount": vat_total.required_decimal("cbc:TaxAmount"),
            "tax_amount_in_tax_currency": tax_currency_total.decimal("cbc:TaxAmount")
            if tax_currency_total is not None
            else None,
            "tax_inclusive": monetary.required_decimal("cbc:TaxInclusiveAmount"),
            "prepaid": monetary.decimal("cbc:PrepaidAmount"),
            "rounding": monetary.decimal("cbc:PayableRoundingAmount"),
            "payable": monetary.required_decimal("cbc:PayableAmount"),
        }
    )
    order_reference = doc.text("cac:OrderReference/cbc:ID")
    sales_order_reference = doc.text("cac:OrderReference/cbc:SalesOrderID")
    if order_reference == "NA" and sales_order_reference is not None:
        order_reference = None
    delivery = doc.one("cac:Delivery")
    delivery_data = (
        _drop_none(
            {
                "party_name": delivery.text("cac:DeliveryParty/cac:PartyName/cbc:Name"),
                "location": delivery.identifier("cac:DeliveryLocation/cbc:ID"),
                "date": delivery.date("cbc:ActualDeliveryDate"),
                "address": _parse_address(delivery.one("cac:DeliveryLocation/cac:Address")),
            }
        )
        if delivery is not None
        else None
    )
    period_reader = doc.one("cac:InvoicePeriod")
    preceding = [
        _drop_none({"id": ref.required("cbc:ID"), "issue_date": ref.date("cbc:IssueDate")})
        for ref in doc.all("cac:BillingReference/cac:InvoiceDocumentReference")
    ]
    supplier = doc.one("cac:AccountingSupplierParty")
    if supplier is None:
        raise FormatError(_where(root, "cac:AccountingSupplierParty"), "required element is missing")
    customer = doc.one("cac:AccountingCustomerParty")
    if customer is None:
        raise FormatError(_where(root, "cac:AccountingCustomerParty"), "required element is missing")
    line_path = "cac:CreditNoteLine" if credit_note else "cac:InvoiceLine"
    customization_id = doc.text("cbc:CustomizationID")
    profile_id = doc.text("cbc:ProfileID")
    if profile_id is not None and profile_id == default_profile_id(customization_id or CUSTOMIZATION_ID):
        profile_id = None  # the default of its customization, as `render` writes it back
    if customization_id == CUSTOMIZATION_ID:
        customization_id = None
    return _drop_none(
        {
            "document_type": DocumentType.CREDIT_NOTE.value if credit_note else DocumentType.INVOICE.value,
            "type_code": None if type_code == default_type else type_code,
            "customization_id": customization_id,
            "profile_id": profile_id,
            "number": doc.required("cbc:ID"),
            "issue_date": doc.required("cbc:IssueDate") and doc.date("cbc:IssueDate"),
            "due_date": due_date,
            "tax_point_date": doc.date("cbc:TaxPointDate"),
            "tax_point_date_code": period_reader.text("cbc:DescriptionCode") if period_reader else None,
            "currency": doc.required("cbc:DocumentCurrencyCode"),
            "tax_currency": doc.text("cbc:TaxCurrencyCode"),
            "buyer_reference": doc.text("cbc:BuyerReference"),
            "project_reference": project_reference,
            "contract_reference": doc.text("cac:ContractDocumentReference/cbc:ID"),
            "order_reference": order_reference,
            "sales_order_reference": sales_order_reference,
            "receiving_advice_reference": doc.text("cac:ReceiptDocumentReference/cbc:ID"),
            "despatch_advice_reference": doc.text("cac:DespatchDocumentReference/cbc:ID"),
            "tender_reference": doc.text("cac:OriginatorDocumentReference/cbc:ID"),
            "invoiced_object_identifier": invoiced_object,
            "accounting_cost": doc.text("cbc:AccountingCost"),
            "notes": [note for reader in doc.all("cbc:Note") if (note := reader.text()) is not None],
            "period": _parse_period(period_reader),
            "preceding_invoices": preceding,
            "seller": _parse_party(supplier, named_by_party_name=False),
            "buyer": _parse_party(customer, named_by_party_name=False),
            "payee": _parse_party(doc.one("cac:PayeeParty"), named_by_party_name=True),
            "tax_representative": _parse_party(
                doc.one("cac:TaxRepresentativeParty"), named_by_party_name=True
            ),
            "delivery": delivery_data or None,
            "payment_means": payment_means,
            "payment_terms": doc.exact_text("cac:PaymentTerms/cbc:Note"),
            "allowances_charges": [_parse_allowance_charge(ac) for ac in doc.all("cac:AllowanceCharge")],
            "lines": [_parse_line(line, credit_note=credit_note) for line in doc.all(line_path)],
            "vat_breakdown": vat_breakdown,
            "totals": totals,
            "attachments": attachments,
        }
    )


def parse(data: bytes) -> Invoice:
    """UBL 2.1 Invoice/CreditNote → canonical `Invoice`; `FormatError` (or `InvoiceValidationError`)."""
    return invoice_from_data(invoice_data_from_ubl(_ubl_root(data)))


def sniff(data: bytes) -> bool:
    """A UBL Invoice or CreditNote (by its root element's namespace)."""
    head = data[:4096].removeprefix(b"\xef\xbb\xbf").lstrip()
    if not head.startswith(b"<") or not (b"Invoice-2" in head or b"CreditNote-2" in head):
        return False
    try:
        root = parse_xml(data)
    except FormatError:
        return False
    return (namespace(root), local_name(root)) in _ROOTS


def inspect(data: bytes) -> dict[str, Any]:
    """What the gateway reads from an EHF / PEPPOL BIS invoice or credit note."""
    root = _ubl_root(data)
    doc = _Reader(root)
    customization_id = doc.text("cbc:CustomizationID")
    profile = profile_name(customization_id)
    result: dict[str, Any] = {
        "format": "peppol-self-billing" if profile == "peppol-self-billing" else FORMAT_NAME,
        "document": local_name(root),
        "customization_id": customization_id,
        "profile_id": doc.text("cbc:ProfileID"),
        "profile": profile,
    }
    try:
        invoice = parse(data)
    except FormatError as error:
        errors = getattr(error, "errors", None) or [error.as_dict()]
        return {**result, "valid": False, "errors": errors}
    summary = invoice_summary(invoice)
    for key in ("profile", "customization_id", "profile_id"):  # as the document writes them, above
        summary.pop(key, None)
    return {**result, "valid": True, **summary}
