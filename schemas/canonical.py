"""The canonical invoice: what an ERP pushes and what every mapping reads.

Field names follow EN 16931 business terms (the BT/BG number is in each field's description), so a
mapping to UBL, EDIFACT or X12 is a lookup rather than an interpretation. Money is `Decimal` everywhere;
amounts carry at most two decimals (EN 16931 BR-DEC rules) and never more than the currency's minor
units. The arithmetic rules BR-CO-10…17 and the per-category taxable amounts are checked when the model
is built, so an invoice whose totals do not add up never reaches the outbox.

An invoice read back from the outbox, whose payload is byte for byte what intake stored after these checks
(its checksum says so), is built with the context `{VALIDATED_BEFORE: True}`: the checks that cost and
cannot change their verdict for the same bytes (the business rules, amounts, codes, e-mail syntax,
attachment base64) are not run again. Everything else (types, decimals, dates) is parsed as always.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_UP, Decimal
from enum import StrEnum
from typing import Annotated, Any, Literal

import iso4217
import pycountry
from email_validator import EmailNotValidError, validate_email
from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic.networks import validate_email as pydantic_validate_email
from pydantic_core import PydanticCustomError

from schemas.invoice_profiles import (
    SELF_BILLED_CREDIT_NOTE,
    SELF_BILLED_INVOICE,
    SELF_BILLING_CREDIT_NOTE_TYPE_CODES,
    SELF_BILLING_INVOICE_TYPE_CODES,
    is_self_billing,
    peppol_rules_apply,
    specification_name,
)
from schemas.national_id import NationalId, is_national_id

TWO_PLACES = Decimal("0.01")
#: Validation context key: the data is a payload these checks accepted before, unchanged since (checksum).
VALIDATED_BEFORE = "validated_before"


def validated_before(info: ValidationInfo) -> bool:
    """True when the data being validated was accepted by every check before (`VALIDATED_BEFORE`)."""
    context = info.context
    return isinstance(context, dict) and bool(context.get(VALIDATED_BEFORE))


def round_amount(value: Decimal) -> Decimal:
    """Round to two decimals, half away from zero, as EN 16931 expects of every amount."""
    return value.quantize(TWO_PLACES, rounding=ROUND_HALF_UP)


def currency_minor_units(code: str) -> int:
    """ISO 4217 minor units of a currency (NOK 2, JPY 0, KWD 3); funds/metals without one count as 2."""
    exponent = iso4217.Currency(code).exponent
    return 2 if exponent is None else int(exponent)


def _decimal_places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


def _check_amount(value: Decimal, info: ValidationInfo) -> Decimal:
    if validated_before(info):
        return value
    if not value.is_finite():
        raise PydanticCustomError("amount", "amount must be a finite number")
    if _decimal_places(value.normalize()) > 2:
        raise PydanticCustomError(
            "BR-DEC", "amount {value} has more than two decimals (EN 16931 BR-DEC)", {"value": str(value)}
        )
    return value


def _check_quantity(value: Decimal) -> Decimal:
    if not value.is_finite():
        raise PydanticCustomError("quantity", "quantity must be a finite number")
    return value


def _check_currency(value: str, info: ValidationInfo) -> str:
    if validated_before(info):
        return value
    try:
        iso4217.Currency(value)
    except ValueError:
        raise PydanticCustomError(
            "currency", "unknown ISO 4217 currency code '{code}'", {"code": value}
        ) from None
    return value


def _check_country(value: str, info: ValidationInfo) -> str:
    if validated_before(info):
        return value
    if pycountry.countries.get(alpha_2=value) is None:
        raise PydanticCustomError(
            "country", "unknown ISO 3166-1 alpha-2 country code '{code}'", {"code": value}
        )
    return value


Amount = Annotated[Decimal, AfterValidator(_check_amount), Field(max_digits=19)]
Quantity = Annotated[Decimal, AfterValidator(_check_quantity), Field(max_digits=19, decimal_places=6)]
Percent = Annotated[Decimal, Field(ge=0, le=100, max_digits=7, decimal_places=4)]
CurrencyCode = Annotated[
    str, Field(min_length=3, max_length=3, pattern=r"^[A-Z]{3}$"), AfterValidator(_check_currency)
]
CountryCode = Annotated[
    str, Field(min_length=2, max_length=2, pattern=r"^[A-Z]{2}$"), AfterValidator(_check_country)
]
Text = Annotated[str, Field(min_length=1, max_length=1000)]


def _check_email(value: str, info: ValidationInfo) -> str:
    """Checked and normalised as pydantic's `EmailStr` does (the same errors), once: a stored address is
    already the normalised one."""
    if validated_before(info):
        return value
    return pydantic_validate_email(value)[1]


#: pydantic's `EmailStr` (same check, same errors, same JSON schema) that `VALIDATED_BEFORE` skips
EmailAddress = Annotated[
    str, AfterValidator(_check_email), WithJsonSchema({"type": "string", "format": "email"})
]


def _not_blank(value: str) -> str:
    if not value.strip():
        raise PydanticCustomError("blank", "text must not be blank")
    return value


#: Free text kept exactly as given, line breaks and trailing newline included: XRechnung's early-payment
#: discount terms (DE-R-018, `#SKONTO#TAGE=14#PROZENT=2.00#` + a line break) are invalid once stripped.
ExactText = Annotated[
    str,
    StringConstraints(strip_whitespace=False, min_length=1, max_length=1000),
    AfterValidator(_not_blank),
]
#: A specification (BT-24) or business process (BT-23) identifier: a URN without blanks.
ProfileIdentifier = Annotated[str, Field(min_length=1, max_length=500, pattern=r"^\S+$")]
ShortText = Annotated[str, Field(min_length=1, max_length=200)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=False)


class DocumentType(StrEnum):
    """Invoice or credit note; the UNCL 1001 type code refines it (380, 381, 383, 384, 386, 393…)."""

    INVOICE = "invoice"
    CREDIT_NOTE = "credit_note"


class VatCategory(StrEnum):
    """UNCL 5305 subset used by EN 16931 (BT-118 / BT-151)."""

    STANDARD = "S"
    ZERO = "Z"
    EXEMPT = "E"
    REVERSE_CHARGE = "AE"
    INTRA_COMMUNITY = "K"
    EXPORT = "G"
    OUTSIDE_SCOPE = "O"
    CANARY_IGIC = "L"
    CEUTA_IPSI = "M"


class Identifier(_Model):
    """An identifier with its scheme (ISO 6523 ICD such as 0192 or 0088, or EAS for endpoints)."""

    value: ShortText
    scheme: Annotated[str, Field(max_length=10)] | None = None


class Address(_Model):
    """BG-5 / BG-8 / BG-12 / BG-15 postal address."""

    lines: list[ShortText] = Field(default_factory=list, max_length=3, description="BT-35/36/162")
    city: ShortText | None = Field(None, description="BT-37")
    postal_code: Annotated[str, Field(max_length=20)] | None = Field(None, description="BT-38")
    subdivision: ShortText | None = Field(None, description="BT-39")
    country: CountryCode = Field(description="BT-40 ISO 3166-1 alpha-2")


class Contact(_Model):
    """BG-6 / BG-9 contact."""

    name: ShortText | None = None
    phone: Annotated[str, Field(max_length=50)] | None = None
    email: EmailAddress | None = None


class Party(_Model):
    """Seller (BG-4), buyer (BG-7), payee (BG-10) or tax representative (BG-11)."""

    name: ShortText = Field(description="BT-27 / BT-44")
    trading_name: ShortText | None = Field(None, description="BT-28 / BT-45")
    identifiers: list[Identifier] = Field(default_factory=list, description="BT-29 / BT-46")
    legal_registration: Identifier | None = Field(None, description="BT-30 / BT-47 (e.g. 0192 orgnr)")
    vat_id: Annotated[str, Field(max_length=30)] | None = Field(None, description="BT-31 / BT-48")
    tax_registration_id: Annotated[str, Field(max_length=30)] | None = Field(None, description="BT-32")
    legal_info: ShortText | None = Field(None, description="BT-33, e.g. Foretaksregisteret")
    endpoint: Identifier | None = Field(None, description="BT-34 / BT-49 electronic address (EAS scheme)")
    address: Address | None = Field(None, description="BG-5 / BG-8")
    contact: Contact | None = Field(None, description="BG-6 / BG-9")

    @property
    def customer_key(self) -> str:
        """Who this party is for payment matching: org number, else VAT id, else the name (folded)."""
        if self.legal_registration is not None:
            scheme = f"{self.legal_registration.scheme}:" if self.legal_registration.scheme else ""
            return "org:" + scheme + "".join(self.legal_registration.value.split()).upper()
        if self.vat_id:
            return "vat:" + "".join(self.vat_id.split()).upper()
        return "name:" + " ".join(self.name.split()).casefold()


class DeliveryInformation(_Model):
    """BG-13: where and when the goods or services were delivered."""

    party_name: ShortText | None = Field(None, description="BT-70")
    location: Identifier | None = Field(None, description="BT-71")
    date: dt.date | None = Field(None, description="BT-72 actual delivery date")
    address: Address | None = Field(None, description="BG-15")


class BankAccount(_Model):
    """BT-84..86: the account the buyer pays into (IBAN or a national BBAN)."""

    id: Annotated[str, Field(min_length=1, max_length=34)] = Field(
        description="BT-84 IBAN or BBAN (EN 16931 sets no length: the official CEN CII examples carry 'A' "
        "and 'IBAN', which the official rules accept)"
    )
    name: ShortText | None = Field(None, description="BT-85")
    bic: Annotated[str, Field(min_length=1, max_length=35, pattern=r"^\S+$")] | None = Field(
        None,
        description="BT-86 payment service provider id: a BIC, or a national clearing code (EN 16931 "
        "fixes no format; the official PEPPOL examples carry 'BIC324098')",
    )

    @field_validator("id")
    @classmethod
    def _compact(cls, value: str) -> str:
        return value.replace(" ", "").replace(".", "").upper()


#: The payment means text (BT-82) that marks an invoice paid by AvtaleGiro (`PaymentMeans.avtalegiro`).
AVTALEGIRO_TEXT = "AvtaleGiro"


class PaymentMeans(_Model):
    """BG-16: how to pay, with the payment reference (Norwegian KID) the payee matches on."""

    code: Annotated[str, Field(pattern=r"^[0-9A-Z]{1,3}$")] = Field("30", description="BT-81 UNCL 4461")
    text: ShortText | None = Field(None, description="BT-82")
    payment_id: Annotated[str, Field(max_length=35)] | None = Field(None, description="BT-83 KID / reference")
    account: BankAccount | None = Field(None, description="BG-17")
    mandate_reference: ShortText | None = Field(None, description="BT-89 direct debit mandate")
    debited_account: Annotated[str, Field(max_length=34)] | None = Field(None, description="BT-91")
    avtalegiro: bool = Field(
        False,
        description="the payer pays this invoice by AvtaleGiro (a Nets direct debit mandate): the marker an "
        "eFaktura carries, so the bank shows it as already arranged; its due date must be 4–365 days after "
        "sending. In EHF it is the payment means text (BT-82) 'AvtaleGiro'",
    )

    @model_validator(mode="before")
    @classmethod
    def _avtalegiro_marker(cls, data: Any) -> Any:
        """BT-82 'AvtaleGiro' and the flag are one marker, so an EHF read back gives the flag again."""
        if not isinstance(data, dict):
            return data
        text = data.get("text")
        if isinstance(text, str) and text.strip().lower() == AVTALEGIRO_TEXT.lower():
            return {**data, "text": None, "avtalegiro": True}
        if data.get("avtalegiro") and text:
            raise PydanticCustomError(
                "avtalegiro",
                "an AvtaleGiro payment means carries the text (BT-82) 'AvtaleGiro'; leave text empty",
            )
        return data

    @property
    def rendered_text(self) -> str | None:
        """BT-82 as it goes out: the AvtaleGiro marker, or the text."""
        return AVTALEGIRO_TEXT if self.avtalegiro else self.text


class AllowanceCharge(_Model):
    """BG-20 / BG-21 (document level) or BG-27 / BG-28 (line level) allowance or charge."""

    is_charge: bool
    amount: Amount = Field(description="BT-92 / BT-99 / BT-136 / BT-141")
    base_amount: Amount | None = Field(None, description="BT-93 / BT-100")
    percent: Percent | None = Field(None, description="BT-94 / BT-101")
    vat_category: VatCategory | None = Field(None, description="BT-95 / BT-102 (document level only)")
    vat_rate: Percent | None = Field(None, description="BT-96 / BT-103")
    reason: ShortText | None = Field(None, description="BT-97 / BT-104")
    reason_code: Annotated[str, Field(max_length=10)] | None = Field(None, description="BT-98 / BT-105")


class Period(_Model):
    """BG-14 / BG-26 invoicing period."""

    start: dt.date | None = None
    end: dt.date | None = None

    @model_validator(mode="after")
    def _ordered(self) -> Period:
        if self.start and self.end and self.end < self.start:
            raise PydanticCustomError("BR-29", "period end is before its start (EN 16931 BR-29/BR-30)")
        return self


class Price(_Model):
    """BG-29: the item's net price, optionally derived from a gross price minus a discount."""

    net: Annotated[Decimal, Field(ge=0, max_digits=19, decimal_places=6)] = Field(description="BT-146")
    gross: Annotated[Decimal, Field(ge=0, max_digits=19, decimal_places=6)] | None = Field(
        None, description="BT-148"
    )
    discount: Annotated[Decimal, Field(ge=0, max_digits=19, decimal_places=6)] | None = Field(
        None, description="BT-147"
    )
    base_quantity: Annotated[Decimal, Field(gt=0, max_digits=19, decimal_places=6)] | None = Field(
        None, description="BT-149"
    )
    base_unit_code: Annotated[str, Field(max_length=3)] | None = Field(None, description="BT-150")


class Item(_Model):
    """BG-31: what was sold."""

    name: ShortText = Field(description="BT-153")
    description: Text | None = Field(None, description="BT-154")
    seller_id: Annotated[str, Field(max_length=100)] | None = Field(None, description="BT-155")
    buyer_id: Annotated[str, Field(max_length=100)] | None = Field(None, description="BT-156")
    standard_id: Identifier | None = Field(None, description="BT-157 (e.g. GTIN, scheme 0160)")
    classifications: list[Identifier] = Field(default_factory=list, description="BT-158")
    origin_country: CountryCode | None = Field(None, description="BT-159")
    attributes: dict[str, str] = Field(default_factory=dict, description="BG-32 name → value")


class InvoiceLine(_Model):
    """BG-25 invoice line."""

    id: Annotated[str, Field(min_length=1, max_length=50)] = Field(description="BT-126")
    note: Text | None = Field(None, description="BT-127")
    quantity: Quantity = Field(description="BT-129")
    unit_code: Annotated[str, Field(pattern=r"^[A-Z0-9]{1,3}$")] = Field(description="BT-130 UN/ECE Rec 20")
    net_amount: Amount = Field(description="BT-131")
    order_line_reference: Annotated[str, Field(max_length=50)] | None = Field(None, description="BT-132")
    accounting_cost: ShortText | None = Field(None, description="BT-133")
    period: Period | None = Field(None, description="BG-26")
    allowances_charges: list[AllowanceCharge] = Field(default_factory=list, description="BG-27 / BG-28")
    price: Price
    vat_category: VatCategory = Field(description="BT-151")
    vat_rate: Percent | None = Field(None, description="BT-152")
    item: Item


class VatBreakdown(_Model):
    """BG-23: one VAT category and rate with its taxable and tax amounts."""

    category: VatCategory = Field(description="BT-118")
    rate: Percent | None = Field(None, description="BT-119")
    taxable_amount: Amount = Field(description="BT-116")
    tax_amount: Amount = Field(description="BT-117")
    exemption_reason: Text | None = Field(None, description="BT-120")
    exemption_reason_code: Annotated[str, Field(max_length=30)] | None = Field(None, description="BT-121")


class Totals(_Model):
    """BG-22 document totals."""

    line_extension: Amount = Field(description="BT-106 sum of line net amounts")
    allowance_total: Amount = Field(Decimal("0"), description="BT-107")
    charge_total: Amount = Field(Decimal("0"), description="BT-108")
    tax_exclusive: Amount = Field(description="BT-109")
    tax_amount: Amount = Field(description="BT-110")
    tax_amount_in_tax_currency: Amount | None = Field(None, description="BT-111")
    tax_inclusive: Amount = Field(description="BT-112")
    prepaid: Amount = Field(Decimal("0"), description="BT-113")
    rounding: Amount = Field(Decimal("0"), description="BT-114")
    payable: Amount = Field(description="BT-115")


class DocumentReference(_Model):
    """BG-3 preceding invoice, or another referenced document."""

    id: ShortText
    issue_date: dt.date | None = None


class Attachment(_Model):
    """BG-24: a supporting document (a PDF copy, a POD, a timesheet) embedded or by URI."""

    id: ShortText = Field(description="BT-122")
    description: ShortText | None = Field(None, description="BT-123")
    filename: Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[^/\\\x00]+$")] | None = None
    mime_type: (
        Annotated[
            str,
            Field(
                pattern=r"^(application/pdf|image/png|image/jpeg|text/csv|application/vnd\.openxmlformats-"
                r"officedocument\.spreadsheetml\.sheet|application/vnd\.oasis\.opendocument\.spreadsheet)$"
            ),
        ]
        | None
    ) = None
    content_base64: str | None = Field(None, description="BT-125 embedded object", max_length=20_000_000)
    uri: Annotated[str, Field(max_length=2000)] | None = Field(None, description="BT-124 external document")

    @model_validator(mode="after")
    def _content_or_uri(self, info: ValidationInfo) -> Attachment:
        # BG-24 needs only its reference (BR-52): BT-124 and BT-125 are both optional, and official EHF
        # samples carry reference-only supporting documents (e.g. a consumer's name and birth date).
        if self.content_base64 is not None and not validated_before(info):
            if self.mime_type is None or self.filename is None:
                raise PydanticCustomError("BR-CL-24", "an embedded attachment needs mime_type and filename")
            try:
                base64.b64decode(self.content_base64, validate=True)
            except binascii.Error:
                raise PydanticCustomError("attachment", "content_base64 is not valid base64") from None
        return self


#: A PEPPOL participant id: a four-digit ISO 6523 ICD scheme, a colon and the identifier (`0192:987654325`).
PARTICIPANT_ID = re.compile(r"^[0-9]{4}:[^\s:][^\s]{0,134}$")
#: A trading partner's id, as its EDI profile is stored under (`gateway partner put`).
PARTNER_ID = re.compile(r"^[A-Za-z0-9._-]{1,100}$")


def mailbox_problem(address: str) -> str | None:
    """Why `address` is not one mailbox: syntax only, no DNS; `.test` passes (as in the e-mail channel)."""
    try:
        validate_email(address, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        return f"{address!r} is not an e-mail address: {error}"
    return None


def channel_address_problem(channel: str, address: str) -> str | None:
    """Why `address` cannot be an address on `channel`; None when it can, or the channel fixes no shape.

    Intake checks every address an invoice would be sent to with this, so a wrong one is a 422 at once
    instead of a deviation when the worker sends. A folder channel takes a sub-folder, the print channel
    uses the buyer's postal address, and channels from plugins are their own judges: any text passes.
    """
    if channel == "email":
        return mailbox_problem(address.strip())
    if channel == "peppol" and not PARTICIPANT_ID.match(address.strip()):
        return f"{address!r} is not a PEPPOL participant id 'scheme:value' (e.g. 0192:987654325)"
    if channel == "edi" and not PARTNER_ID.match(address.strip()):
        return f"{address!r} is not a trading partner id (letters, digits, '.', '_', '-')"
    return None


class DeliveryPreference(_Model):
    """Gateway routing, not EN 16931: which receiver profile to use, or a channel for this one invoice."""

    receiver_id: Annotated[str, Field(max_length=100)] | None = Field(
        None, description="the tenant's customer id; its receiver profile picks channel and address"
    )
    channel: Annotated[str, Field(max_length=50)] | None = Field(None, description="override the channel")
    address: Annotated[str, Field(max_length=500)] | None = Field(None, description="override the address")
    format: Annotated[str, Field(max_length=50)] | None = Field(None, description="override the wire format")

    @field_validator("address")
    @classmethod
    def _no_national_id_as_address(cls, value: str | None) -> str | None:
        """The address is shown in full wherever the delivery is; a national identity number never is."""
        if value is not None and is_national_id(value):
            raise PydanticCustomError(
                "national_id_address",
                "a national identity number is not an address; give it as routing.national_id",
            )
        return value

    national_id: NationalId | None = Field(
        None,
        description="the buyer's Norwegian national identity number (fødselsnummer or D-number): the buyer "
        "is a consumer, and without a receiver profile the invoice takes the tenant's consumer_waterfall. It "
        "sits here, not among the buyer's identifiers (BT-46): EN 16931 codes an identifier's scheme from "
        "the ISO 6523 ICD list (BR-CL-10), which has no scheme for a person, and a personal number has no "
        "business in a document that travels the PEPPOL network; no rendered format carries it. Masked in "
        "every view",
    )


class Invoice(_Model):
    """An invoice or credit note as EN 16931 describes it (core invoice model)."""

    document_type: DocumentType = DocumentType.INVOICE
    type_code: Annotated[str, Field(pattern=r"^[0-9]{1,3}$")] | None = Field(
        None, description="BT-3 UNCL 1001 (380, 381, …, and two-digit codes such as 82 metered services)"
    )
    customization_id: ProfileIdentifier | None = Field(
        None,
        description="BT-24 specification identifier, kept as read so the invoice is written back in its own "
        "profile (PEPPOL BIS Self-Billing, EHF forward billing, XRechnung…); none: PEPPOL BIS Billing 3.0",
    )
    profile_id: ProfileIdentifier | None = Field(
        None,
        description="BT-23 business process type (PEPPOL process id); none: the profile's own default",
    )
    number: Annotated[str, Field(min_length=1, max_length=100)] = Field(description="BT-1")
    issue_date: dt.date = Field(description="BT-2")
    due_date: dt.date | None = Field(None, description="BT-9")
    tax_point_date: dt.date | None = Field(None, description="BT-7")
    tax_point_date_code: Annotated[str, Field(pattern=r"^[0-9]{1,3}$")] | None = Field(
        None, description="BT-8 value added tax point date code (UNCL 2005: 3, 35, 432)"
    )
    currency: CurrencyCode = Field(description="BT-5")
    tax_currency: CurrencyCode | None = Field(None, description="BT-6")
    buyer_reference: Annotated[str, Field(max_length=100)] | None = Field(None, description="BT-10")
    project_reference: ShortText | None = Field(None, description="BT-11")
    contract_reference: ShortText | None = Field(None, description="BT-12")
    order_reference: ShortText | None = Field(None, description="BT-13 purchase order")
    sales_order_reference: ShortText | None = Field(None, description="BT-14")
    receiving_advice_reference: ShortText | None = Field(None, description="BT-15")
    despatch_advice_reference: ShortText | None = Field(None, description="BT-16 delivery note")
    tender_reference: ShortText | None = Field(None, description="BT-17 tender or lot reference")
    invoiced_object_identifier: Identifier | None = Field(
        None, description="BT-18 invoiced object identifier (e.g. a metering point, scheme AVE)"
    )
    accounting_cost: ShortText | None = Field(None, description="BT-19")
    notes: list[Text] = Field(default_factory=list, description="BT-22")
    period: Period | None = Field(None, description="BG-14")
    preceding_invoices: list[DocumentReference] = Field(default_factory=list, description="BG-3")
    seller: Party = Field(description="BG-4")
    buyer: Party = Field(description="BG-7")
    payee: Party | None = Field(None, description="BG-10")
    tax_representative: Party | None = Field(None, description="BG-11")
    delivery: DeliveryInformation | None = Field(None, description="BG-13")
    payment_means: list[PaymentMeans] = Field(default_factory=list, description="BG-16")
    payment_terms: ExactText | None = Field(
        None, description="BT-20, kept exactly (line breaks too: XRechnung #SKONTO# terms, DE-R-018)"
    )
    allowances_charges: list[AllowanceCharge] = Field(default_factory=list, description="BG-20 / BG-21")
    lines: list[InvoiceLine] = Field(min_length=1, max_length=10_000, description="BG-25")
    vat_breakdown: list[VatBreakdown] = Field(min_length=1, description="BG-23")
    totals: Totals = Field(description="BG-22")
    attachments: list[Attachment] = Field(default_factory=list, max_length=50, description="BG-24")
    routing: DeliveryPreference | None = Field(None, description="gateway routing (not part of EN 16931)")

    @property
    def effective_type_code(self) -> str:
        """BT-3 as written: the given code, else the profile's default (self-billing: 389 / 261)."""
        if self.type_code:
            return self.type_code
        credit_note = self.document_type is DocumentType.CREDIT_NOTE
        if self.is_self_billing:
            return SELF_BILLED_CREDIT_NOTE if credit_note else SELF_BILLED_INVOICE
        return "381" if credit_note else "380"

    @property
    def is_self_billing(self) -> bool:
        """Issued by the buyer in the seller's name (PEPPOL BIS Self-Billing 3.0)."""
        return is_self_billing(self.customization_id)

    @model_validator(mode="after")
    def _profile_type_code(self) -> Invoice:
        """A self-billed document has its own type codes (PEPPOL-EN16931-P0100 / P0101): refuse another at
        intake, naming the field, rather than send a document every receiver rejects."""
        if not self.is_self_billing or self.type_code is None:
            return self
        credit_note = self.document_type is DocumentType.CREDIT_NOTE
        allowed = SELF_BILLING_CREDIT_NOTE_TYPE_CODES if credit_note else SELF_BILLING_INVOICE_TYPE_CODES
        if self.type_code not in allowed:
            what = "credit note" if credit_note else "invoice"
            raise PydanticCustomError(
                "self_billing_type_code",
                "type_code {code}: a self-billed {what} (PEPPOL BIS Self-Billing 3.0) is type {allowed}",
                {"code": self.type_code, "what": what, "allowed": " or ".join(allowed)},
            )
        return self

    @property
    def kid(self) -> str | None:
        """The first payment reference (Norwegian KID), which remittance matching keys on."""
        return next((m.payment_id for m in self.payment_means if m.payment_id), None)

    @property
    def arithmetic_warnings(self) -> list[ArithmeticWarning]:
        """Differences the official rules tolerate (see `arithmetic_warnings`): accepted, never hidden."""
        return arithmetic_warnings(self)

    @model_validator(mode="after")
    def _check_business_rules(self, info: ValidationInfo) -> Invoice:
        if validated_before(info):  # the same bytes passed these rules at intake
            return self
        violations = business_rule_violations(self)
        if violations:
            summary = "; ".join(f"{rule}: {message}" for rule, _, message in violations)
            raise PydanticCustomError(
                "en16931",
                "{summary}",
                {
                    "summary": summary,
                    "violations": [
                        {"rule": rule, "field": field, "reason": f"{rule}: {message}"}
                        for rule, field, message in violations
                    ],
                },
            )
        return self


def line_net_amount(line: InvoiceLine) -> Decimal:
    """BT-131 as EN 16931 computes it: quantity × net price / base quantity + charges − allowances."""
    base = line.price.base_quantity or Decimal(1)
    amount = line.quantity * line.price.net / base
    for ac in line.allowances_charges:
        amount += ac.amount if ac.is_charge else -ac.amount
    return round_amount(amount)


def _rate_key(category: VatCategory, rate: Decimal | None) -> tuple[str, Decimal]:
    return (category.value, (rate or Decimal(0)).normalize())


def compute_vat_breakdown(
    lines: list[InvoiceLine], allowances_charges: list[AllowanceCharge]
) -> list[VatBreakdown]:
    """BG-23 from lines and document-level allowances/charges (BR-S-08 and siblings, BR-CO-17)."""
    taxable: dict[tuple[str, Decimal], Decimal] = {}
    for line in lines:
        key = _rate_key(line.vat_category, line.vat_rate)
        taxable[key] = taxable.get(key, Decimal(0)) + line.net_amount
    for ac in allowances_charges:
        if ac.vat_category is None:
            continue
        key = _rate_key(ac.vat_category, ac.vat_rate)
        taxable[key] = taxable.get(key, Decimal(0)) + (ac.amount if ac.is_charge else -ac.amount)
    return [
        VatBreakdown(
            category=VatCategory(category),
            rate=None if category == VatCategory.OUTSIDE_SCOPE.value else rate,
            taxable_amount=round_amount(amount),
            tax_amount=round_amount(amount * rate / 100),
        )
        for (category, rate), amount in taxable.items()
    ]


def compute_totals(
    lines: list[InvoiceLine],
    allowances_charges: list[AllowanceCharge],
    vat_breakdown: list[VatBreakdown],
    *,
    prepaid: Decimal = Decimal(0),
    rounding: Decimal = Decimal(0),
) -> Totals:
    """BG-22 as BR-CO-10…16 define it, from lines, allowances, charges and the VAT breakdown."""
    line_extension = sum((line.net_amount for line in lines), Decimal(0))
    allowances = sum((ac.amount for ac in allowances_charges if not ac.is_charge), Decimal(0))
    charges = sum((ac.amount for ac in allowances_charges if ac.is_charge), Decimal(0))
    tax_exclusive = line_extension - allowances + charges
    tax = sum((vb.tax_amount for vb in vat_breakdown), Decimal(0))
    tax_inclusive = tax_exclusive + tax
    return Totals(
        line_extension=line_extension,
        allowance_total=allowances,
        charge_total=charges,
        tax_exclusive=tax_exclusive,
        tax_amount=tax,
        tax_inclusive=tax_inclusive,
        prepaid=prepaid,
        rounding=rounding,
        payable=tax_inclusive - prepaid + rounding,
    )


#: Official rule ids per VAT category: EN 16931 names K "IC", L (IGIC) "AF" and M (IPSI) "AG".
_CATEGORY_RULE_PREFIX = {"K": "IC", "L": "AF", "M": "AG"}
#: The categories whose BR-x-08 allows a difference below one currency unit and whose BR-x-09 is a
#: rate rule (the others state exact equality and a tax amount of 0).
_RATED_CATEGORIES = frozenset({"S", "L", "M"})
ONE_UNIT = Decimal(1)
#: PEPPOL BIS 3 `u:slack`: R040 and R120 accept an amount within 0.02 of the computed figure.
PEPPOL_SLACK = Decimal("0.02")


def category_rule(category: VatCategory, number: str) -> str:
    """The official id of a per-category rule: BR-S-08, BR-IC-08 (K), BR-AF-08 (L), BR-AG-08 (M)."""
    return f"BR-{_CATEGORY_RULE_PREFIX.get(category.value, category.value)}-{number}"


def xpath_round(value: Decimal, places: int = 0) -> Decimal:
    """XPath `round(value * 10^places) div 10^places`: half towards positive infinity, as the schematron
    rounds (`round(-0.5)` is 0, `round(0.5)` is 1)."""
    unit = Decimal(1).scaleb(-places)
    return ((value / unit) + Decimal("0.5")).to_integral_value(rounding=ROUND_FLOOR) * unit


def _within_one_unit(stated: Decimal, computed: Decimal) -> bool:
    """`stated - 1 < computed < stated + 1`: the schematron's "difference below one currency unit"."""
    return stated - ONE_UNIT < computed < stated + ONE_UNIT


def _vat_within_one_unit(tax: Decimal, taxable: Decimal, rate: Decimal) -> bool:
    """BR-CO-17 / BR-S-09 as written: `abs(tax) - 1 < round(abs(taxable) * rate / 100, 2) < abs(tax) + 1`
    (absolute values: the sign is not compared)."""
    return _within_one_unit(abs(tax), xpath_round(abs(taxable) * (rate / 100), 2))


def _within_slack(stated: Decimal, computed: Decimal) -> bool:
    """PEPPOL `u:slack(stated, computed, 0.02)`: `stated + 0.02 >= computed and stated - 0.02 <= computed`."""
    return stated + PEPPOL_SLACK >= computed and stated - PEPPOL_SLACK <= computed


def taxable_within_tolerance(category: VatCategory, stated: Decimal, computed: Decimal) -> bool:
    """BR-x-08 as the official rule allows: below one currency unit for S, L, M; exact for the others."""
    if category.value in _RATED_CATEGORIES:
        return _within_one_unit(stated, computed)
    return stated == computed


def tax_within_tolerance(category: VatCategory, tax: Decimal, taxable: Decimal, rate: Decimal | None) -> bool:
    """BR-CO-17 with the category's BR-x-09 as the official rules allow (a difference below one currency
    unit where there is a rate, exactly 0 where the category carries no VAT)."""
    if rate is None or xpath_round(rate) == 0:
        br_co_17 = xpath_round(tax) == 0
    else:
        br_co_17 = _vat_within_one_unit(tax, taxable, rate)
    if category.value in _RATED_CATEGORIES:
        return br_co_17 and (rate is None or _vat_within_one_unit(tax, taxable, rate))
    return br_co_17 and tax == 0


@dataclass(frozen=True)
class ArithmeticWarning:
    """A stated amount that differs from the exact figure by less than the official rule tolerates.

    The invoice is accepted (the CEN/PEPPOL rules accept it, so the network does) and keeps the stated
    figure; the warning keeps the exact one and the difference, for the sender's and the buyer's eyes.
    """

    rule: str
    field: str
    stated: Decimal
    computed: Decimal
    tolerance: str
    #: set when the difference is beyond the rule's tolerance but the rule is PEPPOL's and the invoice's
    #: specification (this name: EN 16931, Factur-X, XRechnung…) does not contain it
    outside_specification: str | None = None

    @property
    def difference(self) -> Decimal:
        return self.stated - self.computed

    @property
    def message(self) -> str:
        if self.outside_specification is not None:
            return (
                f"{self.field} is {self.stated}, the exact figure is {self.computed} (difference "
                f"{self.difference}, beyond the {self.tolerance} {self.rule} allows); accepted: {self.rule} "
                f"is a PEPPOL rule, not part of {self.outside_specification}, but a PEPPOL delivery (EHF) "
                "would be refused for it"
            )
        return (
            f"{self.field} is {self.stated}, the exact figure is {self.computed} (difference "
            f"{self.difference}); accepted: {self.rule} allows {self.tolerance}"
        )

    def as_dict(self) -> dict[str, str]:
        found = {
            "rule": self.rule,
            "field": self.field,
            "stated": str(self.stated),
            "computed": str(self.computed),
            "difference": str(self.difference),
            "tolerance": self.tolerance,
            "message": self.message,
        }
        if self.outside_specification is not None:
            found["outside_specification"] = self.outside_specification
        return found


_BELOW_ONE_UNIT = "a difference below one currency unit"
_SLACK = f"a difference of at most {PEPPOL_SLACK}"


def _line_net_exact(line: InvoiceLine) -> Decimal:
    """R120's right-hand side, unrounded: quantity × (net price / base quantity) + charges − allowances."""
    base = line.price.base_quantity or Decimal(1)
    amount = line.quantity * (line.price.net / base)
    for ac in line.allowances_charges:
        amount += ac.amount if ac.is_charge else -ac.amount
    return amount


def _category_taxables(invoice: Invoice) -> dict[tuple[str, Decimal], Decimal]:
    """Σ line net + charges − allowances per (category, rate), unrounded (BR-x-08's right-hand side)."""
    taxable: dict[tuple[str, Decimal], Decimal] = {}
    for line in invoice.lines:
        key = _rate_key(line.vat_category, line.vat_rate)
        taxable[key] = taxable.get(key, Decimal(0)) + line.net_amount
    for ac in invoice.allowances_charges:
        if ac.vat_category is not None:
            key = _rate_key(ac.vat_category, ac.vat_rate)
            taxable[key] = taxable.get(key, Decimal(0)) + (ac.amount if ac.is_charge else -ac.amount)
    return taxable


def _official_taxable(
    taxables: dict[tuple[str, Decimal], Decimal], key: tuple[str, Decimal]
) -> Decimal | None:
    """BR-x-08's sum as the schematron takes it: per category and rate for S, L, M (None when no line,
    allowance or charge has that rate: the rule then fails), per category whatever the rate otherwise
    (0 when there is none)."""
    if key[0] in _RATED_CATEGORIES:
        return taxables.get(key)
    return sum((amount for (category, _), amount in taxables.items() if category == key[0]), Decimal(0))


def _arithmetic(invoice: Invoice) -> tuple[list[tuple[str, str, str]], list[ArithmeticWarning]]:
    """Every arithmetic rule the gateway enforces, each with the official rule's own tolerance.

    Returns the violations (refused: the official rule refuses too) and the warnings (a difference the
    official rule accepts). The tolerances, read from the schematron (CEN 1.3.16, PEPPOL BIS 3.0.21):

    - PEPPOL-EN16931-R120 line net, R040 allowance/charge amount: within 0.02 (`u:slack`), for a PEPPOL-bound
      invoice; for a plain EN 16931, Factur-X or XRechnung one (whose rules these are not) a difference
      beyond that is a warning saying a PEPPOL delivery would be refused for it;
    - BR-CO-17 and BR-S-09 / BR-AF-09 / BR-AG-09 VAT category tax amount, BR-S-08 / BR-AF-08 / BR-AG-08
      taxable amount: a difference strictly below one currency unit;
    - BR-CO-10…16, BR-Z/E/AE/IC/G/O-08 and -09: exact (the amounts have two decimals, so the schematron's
      rounding of a sum changes nothing).
    """
    found: list[tuple[str, str, str]] = []
    warnings: list[ArithmeticWarning] = []
    peppol = _PeppolRules(invoice.customization_id)
    for index, line in enumerate(invoice.lines):
        exact = _line_net_exact(line)
        rounded = round_amount(exact)
        if not _within_slack(line.net_amount, exact) and not peppol.enforced:
            warnings.append(
                peppol.not_enforced(
                    "PEPPOL-EN16931-R120", f"lines.{index}.net_amount", line.net_amount, rounded
                )
            )
        elif not _within_slack(line.net_amount, exact):
            found.append(
                (
                    "PEPPOL-EN16931-R120",
                    f"lines.{index}.net_amount",
                    f"lines[{index}].net_amount is {line.net_amount}, quantity × price / base quantity "
                    f"+ charges − allowances gives {rounded} (more than {PEPPOL_SLACK} apart)",
                )
            )
        elif line.net_amount != rounded:
            warnings.append(
                ArithmeticWarning(
                    "PEPPOL-EN16931-R120", f"lines.{index}.net_amount", line.net_amount, rounded, _SLACK
                )
            )
        for ac_index, ac in enumerate(line.allowances_charges):
            path = f"lines.{index}.allowances_charges.{ac_index}"
            _allowance_charge_rule(ac, path, found, warnings, peppol)
    for ac_index, ac in enumerate(invoice.allowances_charges):
        _allowance_charge_rule(ac, f"allowances_charges.{ac_index}", found, warnings, peppol)
    taxables = _category_taxables(invoice)
    for index, vb in enumerate(invoice.vat_breakdown):
        key = _rate_key(vb.category, vb.rate)
        category = vb.category.value
        field = f"vat_breakdown.{index}"
        expected = _official_taxable(taxables, key)
        if expected is None:
            found.append(
                (
                    category_rule(vb.category, "08"),
                    f"{field}.taxable_amount",
                    f"vat_breakdown[{index}].taxable_amount: no line, allowance or charge is in "
                    f"{category} {key[1]}%",
                )
            )
        elif category in _RATED_CATEGORIES:
            if not _within_one_unit(vb.taxable_amount, expected):
                found.append(_taxable_violation(vb, index, key, expected))
            elif vb.taxable_amount != expected:
                warnings.append(
                    ArithmeticWarning(
                        category_rule(vb.category, "08"),
                        f"{field}.taxable_amount",
                        vb.taxable_amount,
                        expected,
                        _BELOW_ONE_UNIT,
                    )
                )
        elif vb.taxable_amount != expected:
            found.append(_taxable_violation(vb, index, key, expected))
        rate = vb.rate
        exact_tax = round_amount(vb.taxable_amount * (rate or Decimal(0)) / 100)
        if rate is None or xpath_round(rate) == 0:
            br_co_17 = xpath_round(vb.tax_amount) == 0
        else:
            br_co_17 = _vat_within_one_unit(vb.tax_amount, vb.taxable_amount, rate)
        if not br_co_17:
            found.append(
                (
                    "BR-CO-17",
                    f"{field}.tax_amount",
                    f"vat_breakdown[{index}].tax_amount is {vb.tax_amount}, taxable amount × rate is "
                    f"{exact_tax} (a difference of one currency unit or more)",
                )
            )
        if category in _RATED_CATEGORIES:
            if rate is not None and not _vat_within_one_unit(vb.tax_amount, vb.taxable_amount, rate):
                found.append(
                    (
                        category_rule(vb.category, "09"),
                        f"{field}.tax_amount",
                        f"vat_breakdown[{index}].tax_amount is {vb.tax_amount}, taxable amount × rate is "
                        f"{exact_tax} (a difference of one currency unit or more)",
                    )
                )
        elif vb.tax_amount != 0:
            found.append(
                (
                    category_rule(vb.category, "09"),
                    f"{field}.tax_amount",
                    f"vat_breakdown[{index}].tax_amount is {vb.tax_amount}, category {category} carries "
                    "no VAT (0)",
                )
            )
        if br_co_17 and vb.tax_amount != exact_tax and not _found_for(found, f"{field}.tax_amount"):
            warnings.append(
                ArithmeticWarning(
                    "BR-CO-17", f"{field}.tax_amount", vb.tax_amount, exact_tax, _BELOW_ONE_UNIT
                )
            )
    return found, warnings


def _found_for(found: list[tuple[str, str, str]], field: str) -> bool:
    return any(f == field for _, f, _ in found)


def _taxable_violation(
    vb: VatBreakdown, index: int, key: tuple[str, Decimal], expected: Decimal
) -> tuple[str, str, str]:
    allowed = "a difference below one currency unit" if key[0] in _RATED_CATEGORIES else "no difference"
    return (
        category_rule(vb.category, "08"),
        f"vat_breakdown.{index}.taxable_amount",
        f"vat_breakdown[{index}].taxable_amount is {vb.taxable_amount}, the lines, allowances "
        f"and charges in {vb.category.value} {key[1]}% add up to {round_amount(expected)} "
        f"(the rule allows {allowed})",
    )


class _PeppolRules:
    """Whether the PEPPOL-only arithmetic rules (PEPPOL-EN16931-R120, R040) are the invoice's rules: they are
    for a PEPPOL-bound profile (`peppol_rules_apply`); for plain EN 16931, Factur-X or XRechnung a difference
    beyond their tolerance is a warning naming the specification, not a refusal."""

    def __init__(self, customization_id: str | None) -> None:
        self.enforced = peppol_rules_apply(customization_id)
        self.specification = specification_name(customization_id)

    def not_enforced(self, rule: str, field: str, stated: Decimal, computed: Decimal) -> ArithmeticWarning:
        return ArithmeticWarning(rule, field, stated, computed, _SLACK, self.specification)


def _allowance_charge_rule(
    ac: AllowanceCharge,
    path: str,
    found: list[tuple[str, str, str]],
    warnings: list[ArithmeticWarning],
    peppol: _PeppolRules,
) -> None:
    """PEPPOL-EN16931-R040: with both a base amount and a percentage, amount = base × percentage / 100
    within 0.02."""
    if ac.base_amount is None or ac.percent is None:
        return
    exact = ac.base_amount * ac.percent / 100
    if not _within_slack(ac.amount, exact) and not peppol.enforced:
        warnings.append(
            peppol.not_enforced("PEPPOL-EN16931-R040", f"{path}.amount", ac.amount, round_amount(exact))
        )
    elif not _within_slack(ac.amount, exact):
        found.append(
            (
                "PEPPOL-EN16931-R040",
                f"{path}.amount",
                f"{path}.amount is {ac.amount}, base amount {ac.base_amount} × {ac.percent} % gives "
                f"{round_amount(exact)} (more than {PEPPOL_SLACK} apart)",
            )
        )
    elif ac.amount != round_amount(exact):
        warnings.append(
            ArithmeticWarning("PEPPOL-EN16931-R040", f"{path}.amount", ac.amount, round_amount(exact), _SLACK)
        )


def arithmetic_warnings(invoice: Invoice) -> list[ArithmeticWarning]:
    """The stated amounts the official rules accept although they differ from the exact figure."""
    return _arithmetic(invoice)[1]


def business_rule_violations(invoice: Invoice) -> list[tuple[str, str, str]]:
    """EN 16931 arithmetic and consistency rules the gateway refuses to send without.

    Returns (rule id, field path, message) triples in rule order; empty when the invoice adds up within
    the official rules' tolerances (`_arithmetic`). These are the rules a wrong ERP export breaks; the
    full CEN/PEPPOL rule sets run later, per channel, on the wire format.
    """
    found: list[tuple[str, str, str]] = []
    minor = currency_minor_units(invoice.currency)
    if minor < 2:
        for path, amount in _all_amounts(invoice):
            if _decimal_places(amount.normalize()) > minor:
                found.append(
                    (
                        "currency-minor-units",
                        path,
                        f"{path} = {amount} has more decimals than {invoice.currency} allows ({minor})",
                    )
                )
                break
    if (
        invoice.tax_currency
        and invoice.tax_currency != invoice.currency
        and (invoice.totals.tax_amount_in_tax_currency is None)
    ):
        found.append(
            (
                "BR-53",
                "totals.tax_amount_in_tax_currency",
                "a tax currency (BT-6) needs the VAT total in that currency (BT-111)",
            )
        )
    arithmetic, _ = _arithmetic(invoice)
    found += [f for f in arithmetic if f[0] in {"PEPPOL-EN16931-R120", "PEPPOL-EN16931-R040"}]
    for index, line in enumerate(invoice.lines):
        rate_problem = _vat_rate_problem(line.vat_category, line.vat_rate)
        if rate_problem:
            found.append(
                (
                    category_rule(line.vat_category, "05"),
                    f"lines.{index}.vat_rate",
                    f"lines[{index}].vat_rate: {rate_problem}",
                )
            )
    totals = invoice.totals
    line_sum = sum((line.net_amount for line in invoice.lines), Decimal(0))
    if totals.line_extension != line_sum:
        found.append(
            (
                "BR-CO-10",
                "totals.line_extension",
                f"totals.line_extension is {totals.line_extension}, the lines add up to {line_sum}",
            )
        )
    allowances = sum((ac.amount for ac in invoice.allowances_charges if not ac.is_charge), Decimal(0))
    if totals.allowance_total != allowances:
        found.append(
            (
                "BR-CO-11",
                "totals.allowance_total",
                f"totals.allowance_total is {totals.allowance_total}, the allowances add up to {allowances}",
            )
        )
    charges = sum((ac.amount for ac in invoice.allowances_charges if ac.is_charge), Decimal(0))
    if totals.charge_total != charges:
        found.append(
            (
                "BR-CO-12",
                "totals.charge_total",
                f"totals.charge_total is {totals.charge_total}, the charges add up to {charges}",
            )
        )
    if totals.tax_exclusive != totals.line_extension - totals.allowance_total + totals.charge_total:
        found.append(
            (
                "BR-CO-13",
                "totals.tax_exclusive",
                f"totals.tax_exclusive is {totals.tax_exclusive}, line_extension − allowance_total + "
                f"charge_total is {totals.line_extension - totals.allowance_total + totals.charge_total}",
            )
        )
    vat_sum = sum((vb.tax_amount for vb in invoice.vat_breakdown), Decimal(0))
    if totals.tax_amount != vat_sum:
        found.append(
            (
                "BR-CO-14",
                "totals.tax_amount",
                f"totals.tax_amount is {totals.tax_amount}, the VAT breakdown adds up to {vat_sum}",
            )
        )
    if totals.tax_inclusive != totals.tax_exclusive + totals.tax_amount:
        found.append(
            (
                "BR-CO-15",
                "totals.tax_inclusive",
                f"totals.tax_inclusive is {totals.tax_inclusive}, tax_exclusive + tax_amount is "
                f"{totals.tax_exclusive + totals.tax_amount}",
            )
        )
    payable = totals.tax_inclusive - totals.prepaid + totals.rounding
    if totals.payable != payable:
        found.append(
            (
                "BR-CO-16",
                "totals.payable",
                f"totals.payable is {totals.payable}, tax_inclusive − prepaid + rounding is {payable}",
            )
        )
    stated: set[tuple[str, Decimal]] = set()
    expected_keys = set(_category_taxables(invoice))
    for index, vb in enumerate(invoice.vat_breakdown):
        key = _rate_key(vb.category, vb.rate)
        if key in stated:
            found.append(
                (
                    "BR-CO-18",
                    f"vat_breakdown.{index}",
                    f"vat_breakdown[{index}] repeats category {vb.category.value} at rate {key[1]}",
                )
            )
            continue
        stated.add(key)
        if key not in expected_keys:
            found.append(
                (
                    category_rule(vb.category, "01"),
                    f"vat_breakdown.{index}",
                    f"vat_breakdown[{index}] ({vb.category.value} {key[1]}%) has no line, allowance or "
                    "charge in that category",
                )
            )
    found += [f for f in arithmetic if f[1].startswith("vat_breakdown.")]
    for key in sorted(expected_keys - stated):
        found.append(
            (
                "BR-CO-18",
                "vat_breakdown",
                f"the VAT breakdown has no entry for category {key[0]} at rate {key[1]}%",
            )
        )
    return found


def _vat_rate_problem(category: VatCategory, rate: Decimal | None) -> str | None:
    """BR-S-05, BR-Z-05, BR-E-05, BR-AE-05, BR-K-05, BR-G-05, BR-O-05: what rate each category allows."""
    if category is VatCategory.OUTSIDE_SCOPE:
        return "category O (not subject to VAT) carries no rate" if rate is not None else None
    if rate is None:
        return f"category {category.value} needs a rate"
    if category is VatCategory.STANDARD and rate <= 0:
        return "category S (standard rated) needs a rate above zero"
    zero_rated = {
        VatCategory.ZERO,
        VatCategory.EXEMPT,
        VatCategory.REVERSE_CHARGE,
        VatCategory.INTRA_COMMUNITY,
        VatCategory.EXPORT,
    }
    if category in zero_rated and rate != 0:
        return f"category {category.value} needs rate 0"
    return None


def _all_amounts(invoice: Invoice) -> list[tuple[str, Decimal]]:
    amounts: list[tuple[str, Decimal]] = [
        (f"totals.{name}", value)
        for name, value in invoice.totals.model_dump().items()
        if isinstance(value, Decimal)
    ]
    amounts += [(f"lines.{i}.net_amount", line.net_amount) for i, line in enumerate(invoice.lines)]
    return amounts


CustomerSegment = Literal["private", "business", "priority", "public"]


class ReceiverProfile(_Model):
    """How a tenant's customer wants invoices: a preferred channel, fallbacks, an address per channel."""

    receiver_id: Annotated[str, Field(min_length=1, max_length=100)]
    name: ShortText | None = None
    preferred_channel: Annotated[str, Field(min_length=1, max_length=50)] | None = Field(
        None,
        description="the first channel to try; only a consumer (segment private, or a national_id) may leave "
        "it out, and then its invoices take the tenant's consumer_waterfall (the default channel when the "
        "tenant has none)",
    )
    fallback_channels: list[Annotated[str, Field(min_length=1, max_length=50)]] = Field(default_factory=list)
    addresses: dict[str, Annotated[str, Field(max_length=500)]] = Field(
        default_factory=dict, description="channel name → address (e-mail, participant id, folder…)"
    )
    formats: dict[str, Annotated[str, Field(max_length=50)]] = Field(
        default_factory=dict,
        description="channel name → wire format, where the receiver wants a specific one",
    )
    national_id: NationalId | None = Field(
        None,
        description="a consumer's Norwegian national identity number (fødselsnummer or D-number): marks "
        "the receiver as a consumer and addresses the consumer channels (eFaktura, Digipost); masked in "
        "every view",
    )
    segment: CustomerSegment | None = Field(
        None, description="the customer segment: private (a consumer), business, priority or public sector"
    )
    credit_limit: Annotated[Decimal, Field(ge=0, max_digits=19, decimal_places=2)] | None = Field(
        None,
        description="the most this customer may owe (open balance after a new invoice); over it the invoice "
        "is held for review or flagged, as the tenant's follow-up settings say",
    )
    risk_flag: Annotated[str, Field(min_length=1, max_length=100)] | None = Field(
        None, description="a credit team's mark on the customer (e.g. 'watch', 'stop'), shown wherever it is"
    )
    statements: bool = Field(
        False,
        description="the customer gets one periodic statement of all open items instead of single notices",
    )
    parent_customer: Annotated[str, Field(min_length=1, max_length=200)] | None = Field(
        None,
        description="the customer that pays this customer's invoices (a parent company): its customer key as "
        "invoices give it ('org:0192:987654321') or its organisation number; payment matching searches the "
        "parent's payments against its group's open items",
    )

    @property
    def is_consumer(self) -> bool:
        """A private person: the profile says so, or names a national identity number."""
        return self.segment == "private" or (self.segment is None and self.national_id is not None)

    @model_validator(mode="after")
    def _no_national_id_as_address(self) -> ReceiverProfile:
        """Addresses are shown in full wherever a delivery is (history, console, CLI, webhooks); a national
        identity number is shown masked, so it has one place: `national_id`, which channels address by."""
        for channel, address in self.addresses.items():
            if is_national_id(address):
                raise PydanticCustomError(
                    "receiver",
                    "addresses.{channel}: a national identity number is not an address; put it in "
                    "national_id (the consumer channels address by it, and every view masks it)",
                    {"channel": channel},
                )
        return self

    @model_validator(mode="after")
    def _chain_or_consumer(self) -> ReceiverProfile:
        """Without a preferred channel the profile names no chain: the tenant's consumer waterfall is its
        chain, which only a consumer takes (a business without a channel is a mistake, not a waterfall)."""
        if self.preferred_channel is not None:
            return self
        if self.fallback_channels:
            raise PydanticCustomError(
                "receiver", "fallback_channels: a chain needs its preferred_channel (the first to try)"
            )
        if not self.is_consumer:
            raise PydanticCustomError(
                "receiver",
                "preferred_channel: required unless the receiver is a consumer (segment private, or a "
                "national_id), whose invoices then take the tenant's consumer_waterfall",
            )
        return self

    @model_validator(mode="after")
    def _no_repeats(self) -> ReceiverProfile:
        chain = [self.preferred_channel, *self.fallback_channels] if self.preferred_channel else []
        if len(set(chain)) != len(chain):
            raise PydanticCustomError("receiver", "a channel appears twice in the preferred/fallback chain")
        return self


def invoice_json_schema() -> dict[str, Any]:
    """JSON Schema of the canonical invoice, as published under `schemas/invoice.schema.json`."""
    schema = Invoice.model_json_schema(mode="validation")
    schema["$id"] = "https://invoice-gateway.invalid/schemas/invoice.schema.json"
    schema["title"] = "Canonical invoice (EN 16931)"
    return schema


def receiver_json_schema() -> dict[str, Any]:
    return ReceiverProfile.model_json_schema(mode="validation")


ExportedSchema = Literal["invoice", "receiver"]
