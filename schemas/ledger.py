"""The ledger hand-off as data: the chart of accounts the receivables journal posts to, the VAT codes each
EN 16931 VAT category maps to, and the exchange rates that turn a foreign-currency document into the
accounting currency.

Why data and not code: every seller's chart differs a little (a 1501 for group companies, a 3010 for a
product line), the standard tax codes are fixed by Skatteetaten but which one a category and rate means is
the seller's declaration, and rates are the seller's own bookkeeping choice. The defaults are the Norwegian
standard chart (NS 4102) and the standard tax codes of SAF-T Financial 1.30; every account carries the
grouping category and code (næringsspesifikasjon) that SAF-T 1.30 requires.

Amounts are `Decimal`; an exchange rate is accounting-currency units for one unit of the foreign currency.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas.canonical import VatCategory

AccountNumber = Annotated[str, Field(pattern=r"^[0-9]{4,10}$")]
Period = Annotated[str, Field(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="YYYY-MM")]

VoucherType = Literal[
    "invoice",  # a sales invoice: 1500 debit, revenue and output VAT credit
    "credit_note",  # the reverse
    "payment",  # money in: bank debit; receivables credit for what it settles, prepayments for the rest
    "allocation",  # a later application of a payment already posted: prepayments debit, receivables credit
    "allocation_reversal",  # a reversed application: receivables debit, prepayments credit
    "notice",  # a reminder fee, interest and compensation charged on a notice that left
    "notice_reversal",  # a notice that came back (failed after it left): its charges reversed
]


class LedgerAccount(BaseModel):
    """One account of the chart, with the grouping SAF-T 1.30 requires on every account."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: AccountNumber
    name: Annotated[str, Field(min_length=1, max_length=256)]
    grouping_category: Annotated[str, Field(min_length=1, max_length=256)]
    grouping_code: Annotated[str, Field(min_length=1, max_length=18)]


class VatCode(BaseModel):
    """What one VAT category at one rate posts to: the standard tax code, the revenue account and (for a
    taxed category) the output VAT account. `rate` None matches the category at any rate (zero-rated and
    exempt categories carry 0 or nothing)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: VatCategory
    rate: Decimal | None = None
    tax_code: Annotated[str, Field(pattern=r"^[0-9]{1,3}$", description="Standard_Tax_Codes.csv")]
    revenue_account: AccountNumber
    vat_account: AccountNumber | None = None
    description: str = ""


class ExchangeRate(BaseModel):
    """Accounting-currency units per one unit of `currency`, in force from `effective_from` until the next."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")]
    effective_from: dt.date
    rate: Annotated[Decimal, Field(gt=0)]


class LedgerAccounts(BaseModel):
    """Which account each posting role uses (numbers from `LedgerSettings.accounts`)."""

    model_config = ConfigDict(extra="forbid")

    receivables: AccountNumber = "1500"
    bank: AccountNumber = "1920"
    prepayments: AccountNumber = Field(
        "2900", description="customer prepayments: money received and not (yet) applied, overpayments"
    )
    write_off: AccountNumber = Field("7830", description="losses on receivables: write-offs, short payments")
    reminder_fees: AccountNumber = "3900"
    compensation: AccountNumber = Field("3900", description="the B2B fixed compensation (NOK 40 / EUR 40)")
    interest: AccountNumber = Field("8050", description="late-payment interest income")
    fx_gain: AccountNumber = "8060"
    fx_loss: AccountNumber = "8160"
    rounding: AccountNumber = Field("3900", description="BT-114 rounding amounts")
    card_clearing: AccountNumber = Field(
        "1580",
        description="card payments in transit: a card payment advice is debited here, the provider's payout "
        "credits it (gross) when it reaches the bank",
    )
    card_fees: AccountNumber = Field("7770", description="payment providers' fees, taken off their payouts")


def _account(number: str, name: str, category: str, code: str) -> LedgerAccount:
    return LedgerAccount(number=number, name=name, grouping_category=category, grouping_code=code)


def default_chart() -> list[LedgerAccount]:
    """The NS 4102 accounts the receivables journal uses, grouped as næringsspesifikasjon says."""
    return [
        _account("1500", "Kundefordringer", "balanseverdiForOmloepsmiddel", "1500"),
        _account("1580", "Kortbetalinger under oppgjør", "balanseverdiForOmloepsmiddel", "1570"),
        _account("1920", "Bankinnskudd", "balanseverdiForOmloepsmiddel", "1920"),
        _account("2700", "Utgående merverdiavgift, alminnelig sats", "kortsiktigGjeld", "2740"),
        _account("2701", "Utgående merverdiavgift, middels sats", "kortsiktigGjeld", "2740"),
        _account("2702", "Utgående merverdiavgift, lav sats", "kortsiktigGjeld", "2740"),
        _account("2703", "Utgående merverdiavgift, råfisk", "kortsiktigGjeld", "2740"),
        _account("2900", "Forskudd fra kunder", "kortsiktigGjeld", "2900"),
        _account("3000", "Salgsinntekt, avgiftspliktig", "salgsinntekt", "3000"),
        _account("3100", "Salgsinntekt, avgiftsfri", "salgsinntekt", "3100"),
        _account("3200", "Salgsinntekt, utenfor avgiftsområdet", "salgsinntekt", "3200"),
        _account("3900", "Andre driftsinntekter", "annenDriftsinntekt", "3900"),
        _account("7770", "Bank- og kortgebyrer", "annenDriftskostnad", "7700"),
        _account("7830", "Tap på fordringer", "annenDriftskostnad", "7830"),
        _account("8050", "Annen renteinntekt", "finansinntekt", "8050"),
        _account("8060", "Valutagevinst (agio)", "finansinntekt", "8060"),
        _account("8160", "Valutatap (disagio)", "finanskostnad", "8160"),
    ]


def _vat(
    category: VatCategory, rate: str | None, code: str, revenue: str, vat: str | None, text: str
) -> VatCode:
    return VatCode(
        category=category,
        rate=Decimal(rate) if rate is not None else None,
        tax_code=code,
        revenue_account=revenue,
        vat_account=vat,
        description=text,
    )


def default_vat_codes() -> list[VatCode]:
    """Output VAT: EN 16931 category and rate → Norwegian standard tax code (SAF-T 1.30)."""
    c = VatCategory
    return [
        _vat(c.STANDARD, "25", "3", "3000", "2700", "Utgående mva, alminnelig sats"),
        _vat(c.STANDARD, "15", "31", "3000", "2701", "Utgående mva, middels sats"),
        _vat(c.STANDARD, "12", "33", "3000", "2702", "Utgående mva, lav sats"),
        _vat(c.STANDARD, "11.11", "32", "3000", "2703", "Utgående mva, råfisk"),
        _vat(c.ZERO, None, "5", "3100", None, "Innenlands omsetning fritatt for mva"),
        _vat(c.REVERSE_CHARGE, None, "51", "3100", None, "Innenlands omsetning, omvendt avgiftsplikt"),
        _vat(c.EXPORT, None, "52", "3100", None, "Utførsel av varer og tjenester"),
        _vat(c.INTRA_COMMUNITY, None, "52", "3100", None, "Utførsel av varer og tjenester"),
        _vat(c.CANARY_IGIC, None, "52", "3100", None, "Utførsel av varer og tjenester"),
        _vat(c.CEUTA_IPSI, None, "52", "3100", None, "Utførsel av varer og tjenester"),
        _vat(c.EXEMPT, None, "6", "3200", None, "Omsetning utenfor merverdiavgiftsloven"),
        _vat(c.OUTSIDE_SCOPE, None, "6", "3200", None, "Omsetning utenfor merverdiavgiftsloven"),
    ]


class SaftCompany(BaseModel):
    """The seller as SAF-T's Header/Company names it (blank fields are taken from the tenant's invoices)."""

    model_config = ConfigDict(extra="forbid")

    registration_number: Annotated[str, Field(pattern=r"^[0-9]{9}$")] | None = None
    name: str | None = None
    street: str | None = None
    city: str | None = None
    postal_code: str | None = None
    country: Annotated[str, Field(pattern=r"^[A-Z]{2}$")] = "NO"
    contact_first_name: str = "Receivables"
    contact_last_name: str = "Gateway"
    contact_email: str | None = None
    contact_telephone: Annotated[str, Field(max_length=18)] | None = Field(
        None, description="SAF-T's Header/Company/Contact/Telephone (mandatory there); blank: the seller's"
    )


class LedgerSettings(BaseModel):
    """A tenant's ledger hand-off: chart, posting roles, VAT codes, currency and rates, SAF-T header."""

    model_config = ConfigDict(extra="forbid")

    accounting_currency: Annotated[str, Field(pattern=r"^[A-Z]{3}$")] = "NOK"
    accounts: list[LedgerAccount] = Field(default_factory=default_chart)
    roles: LedgerAccounts = Field(default_factory=LedgerAccounts)
    vat_codes: list[VatCode] = Field(default_factory=default_vat_codes)
    exchange_rates: list[ExchangeRate] = Field(default_factory=list)
    company: SaftCompany = Field(default_factory=SaftCompany)

    @model_validator(mode="after")
    def _accounts_exist(self) -> LedgerSettings:
        known = {account.number for account in self.accounts}
        if len(known) != len(self.accounts):
            raise ValueError("accounts: an account number appears twice")
        # the card payment roles came later: a chart saved before them gets their default accounts
        defaults = {account.number: account for account in default_chart()}
        for role in ("card_clearing", "card_fees"):
            number = getattr(self.roles, role)
            if number not in known and number == LedgerAccounts.model_fields[role].default:
                self.accounts.append(defaults[number])
                known.add(number)
        used = [(f"roles.{name}", number) for name, number in self.roles.model_dump().items()]
        for index, code in enumerate(self.vat_codes):
            used.append((f"vat_codes[{index}].revenue_account", code.revenue_account))
            if code.vat_account is not None:
                used.append((f"vat_codes[{index}].vat_account", code.vat_account))
        for where, number in used:
            if number not in known:
                raise ValueError(f"{where}: account {number} is not in accounts")
        return self

    def account(self, number: str) -> LedgerAccount:
        for account in self.accounts:
            if account.number == number:
                return account
        raise KeyError(number)

    def vat_code(self, category: VatCategory | str, rate: Decimal | None) -> VatCode | None:
        """The mapping for one VAT breakdown line: an exact rate first, then the category's any-rate entry."""
        exact = [c for c in self.vat_codes if c.category == category and c.rate is not None]
        for code in exact:
            if rate is not None and code.rate == rate:
                return code
        for code in self.vat_codes:
            if code.category == category and code.rate is None:
                return code
        return None

    def rate_on(self, currency: str, day: dt.date) -> Decimal | None:
        """The rate in force on `day` (1 for the accounting currency), or None when there is none."""
        if currency == self.accounting_currency:
            return Decimal(1)
        best: ExchangeRate | None = None
        for rate in self.exchange_rates:
            applies = rate.currency == currency and rate.effective_from <= day
            if applies and (best is None or rate.effective_from > best.effective_from):
                best = rate
        return best.rate if best is not None else None


class VoucherLine(BaseModel):
    """One posted line as the journal formats read it (db.models.ledger.LedgerLine without the row ids)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    line_no: int
    account: AccountNumber
    debit: Decimal = Decimal(0)
    credit: Decimal = Decimal(0)
    tax_code: str | None = None
    tax_rate: Decimal | None = None
    tax_base: Decimal | None = None
    tax_amount: Decimal | None = None
    customer_key: str | None = None
    customer_number: str | None = Field(None, description="the customer's id in the journal and SAF-T")
    document_number: str | None = None
    kid: str | None = None
    due_date: dt.date | None = None
    text: str = ""
    currency: str | None = None
    currency_amount: Decimal | None = None
    exchange_rate: Decimal | None = None


class Voucher(BaseModel):
    """One posted voucher: it balances (the sum of debits equals the sum of credits)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    number: int
    period: Period
    voucher_date: dt.date
    event_date: dt.date
    voucher_type: VoucherType
    source_key: str
    customer_key: str | None = None
    description: str = ""
    lines: list[VoucherLine]

    @property
    def debit_total(self) -> Decimal:
        return sum((line.debit for line in self.lines), Decimal(0))

    @property
    def credit_total(self) -> Decimal:
        return sum((line.credit for line in self.lines), Decimal(0))
