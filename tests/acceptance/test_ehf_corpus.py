"""EHF acceptance: a generated corpus of invoices and credit notes passes the official rules and round-trips.

`build_corpus()` makes 64 canonical documents from a seeded `random.Random`, each valid by our own EN 16931
checks (totals from `schemas.canonical`). Every one is rendered with `ubl.render`, validated with the
official UBL 2.1 XSD + CEN EN 16931 + PEPPOL BIS Billing 3.0.21 rules (no fatal or error finding allowed) and
parsed back with `ubl.parse` to the same canonical invoice (routing is gateway-only and excluded).

The corpus varies what the EHF issue asks for: invoices and credit notes (with the preceding invoice), VAT
categories S (25/15/12 % and the Swedish/German rates), Z, E, AE, K and O (O always alone: BR-O-11…14),
document and line allowances/charges with UNCL 5189/7161 reason codes, gross prices with discounts and base
quantities, foreign currency with NOK (or the seller's) tax currency and BT-111, Norwegian, Swedish, Danish
and German sellers with identifiers that pass the PEPPOL-COMMON checksums, KID (MOD10), IBANs, embedded PDFs,
several unit codes and 1–30 lines. `test_corpus_covers_every_dimension` keeps it from silently shrinking.

What each VAT category needs (CEN EN 16931 1.3.x schematron, read from the rules directory):

* S: seller VAT or tax registration id (BR-S-02); rate > 0; no exemption reason (BR-S-10).
* Z: seller VAT id (BR-Z-02); no exemption reason (BR-Z-10).
* E: seller VAT id (BR-E-02); exemption reason or code (BR-E-10).
* AE: seller VAT id and buyer VAT id or legal registration (BR-AE-02); reason "Reverse charge" (BR-AE-10).
* K: seller and buyer VAT ids (BR-IC-02); reason (BR-IC-10); delivery date or invoicing period (BR-IC-11);
  deliver-to country (BR-IC-12).
* O: no seller, tax representative or buyer VAT id (BR-O-02); reason (BR-O-10); nothing else (BR-O-11…14).

National PEPPOL rules the generator follows: NO-R-001 (NO + mod-11 orgnr + MVA), SE-R-001…006 and 013
(SE + Luhn orgnr + 01, "Godkänd för F-skatt", S only at 25/12/6 %), DK-R-002/005/013/014/017 (CVR with
scheme 0184, payment means 58), DE-R-001/015 (payment means and buyer reference between German parties).
"""

from __future__ import annotations

import base64
import datetime as dt
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import pytest
from stdnum import ean, iban, luhn
from stdnum.de import vat as de_vat
from stdnum.dk import cvr as dk_cvr
from stdnum.fi import alv as fi_alv
from stdnum.no import kontonr as no_kontonr
from stdnum.no import orgnr as no_orgnr
from stdnum.se import orgnr as se_orgnr

from gateway.services.validation import Validator, get_validator
from mappings.base import FormatError
from mappings.invoice import ubl
from schemas.canonical import (
    AllowanceCharge,
    Invoice,
    InvoiceLine,
    compute_totals,
    compute_vat_breakdown,
    line_net_amount,
    round_amount,
)
from tests.conftest import SHARED

RULES = SHARED / "validation"
SEED = 20261102
CORPUS_SIZE = 64

pytestmark = pytest.mark.skipif(not RULES.is_dir(), reason=f"official validation artefacts not at {RULES}")

#: a tiny but well-formed PDF, embedded as BT-125
PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
    b"trailer<</Root 1 0 R>>\n%%EOF\n"
)

EXEMPTIONS: dict[str, list[tuple[str, str | None]]] = {
    # category → (BT-120 text, BT-121 code) alternatives; the code list is CEN BR-CL-22 / PEPPOL P0104…P0111
    "E": [("Exempt from VAT", "VATEX-EU-132-1I"), ("Fritatt for merverdiavgift, mval. § 3-5", None)],
    "AE": [("Reverse charge", "VATEX-EU-AE"), ("Omvendt avgiftsplikt", None)],
    "K": [("Intra-community supply", "VATEX-EU-IC")],
    "O": [("Not subject to VAT", "VATEX-EU-O"), ("Utenfor merverdiavgiftsloven", None)],
}

# -------------------------------------------------------------------------------- identifiers


def _digits(rng: random.Random, count: int) -> str:
    return "".join(str(rng.randrange(10)) for _ in range(count))


def _draw(rng: random.Random, make: Callable[[], str], valid: Callable[[str], bool]) -> str:
    for _ in range(1000):
        candidate = make()
        if valid(candidate):
            return candidate
    raise AssertionError("no valid identifier drawn")  # pragma: no cover


def _peppol_mod11(value: str) -> bool:
    """PEPPOL u:mod11 (PEPPOL-COMMON-R041, NO-R-001), written out to cross-check python-stdnum."""
    weights = [(i % 6) + 2 for i in range(len(value) - 1)]
    total = sum(int(d) * w for d, w in zip(reversed(value[:-1]), weights, strict=True))
    return int(value) > 0 and (11 - total % 11) % 11 == int(value[-1])


def norwegian_orgnr(rng: random.Random) -> str:
    return _draw(
        rng, lambda: rng.choice("89") + _digits(rng, 8), lambda v: no_orgnr.is_valid(v) and _peppol_mod11(v)
    )


def swedish_orgnr(rng: random.Random) -> str:
    # PEPPOL-COMMON-R049 / SE-R-013: ten digits, Luhn over all of them
    return _draw(rng, lambda: "556" + _digits(rng, 7), lambda v: se_orgnr.is_valid(v) and luhn.is_valid(v))


def danish_cvr(rng: random.Random) -> str:
    return _draw(rng, lambda: str(rng.randint(1, 9)) + _digits(rng, 7), dk_cvr.is_valid)


def german_vat(rng: random.Random) -> str:
    return _draw(rng, lambda: "DE" + str(rng.randint(1, 9)) + _digits(rng, 8), de_vat.is_valid)


def finnish_vat(rng: random.Random) -> str:
    return _draw(rng, lambda: "FI" + _digits(rng, 8), fi_alv.is_valid)


def gln(rng: random.Random, prefix: str) -> str:
    """A GS1 GLN (PEPPOL-COMMON-R040: mod 10 check digit)."""
    body = prefix + _digits(rng, 12 - len(prefix))
    return body + ean.calc_check_digit(body)


def iban_for(rng: random.Random, country: str, bban_digits: int) -> str:
    def make() -> str:
        bban = _digits(rng, bban_digits)
        return country + iban.calc_check_digits(f"{country}00{bban}") + bban

    return _draw(rng, make, iban.is_valid)


def norwegian_account(rng: random.Random) -> str:
    return _draw(rng, lambda: rng.choice(["1503", "8601", "9710"]) + _digits(rng, 7), no_kontonr.is_valid)


def kid(rng: random.Random, number: int) -> str:
    """A MOD10 KID of 7–25 digits: customer and invoice number, padded, plus the Luhn check digit."""
    body = f"{rng.randint(1, 99999)}{number:06d}".zfill(rng.randint(6, 24))
    return body + luhn.calc_check_digit(body)


# ------------------------------------------------------------------------------------- parties


def _address(
    country: str, street: str, city: str, postal: str, *, extra: str | None = None
) -> dict[str, Any]:
    lines = [street] + ([extra] if extra else [])
    return {"lines": lines, "city": city, "postal_code": postal, "country": country}


def _contact(name: str, domain: str) -> dict[str, Any]:
    return {"name": name, "phone": "+47 22 00 00 00", "email": f"faktura@{domain}.example.com"}


@dataclass(frozen=True)
class Seller:
    country: str
    party: dict[str, Any]
    account: dict[str, Any]
    means_code: str
    home_currency: str
    standard_rates: tuple[Decimal, ...]


def make_sellers(rng: random.Random) -> dict[str, list[Seller]]:
    sellers: dict[str, list[Seller]] = {"NO": [], "SE": [], "DK": [], "DE": []}
    for name, city, postal in [
        ("Nordlys Verktøy AS", "Oslo", "0155"),
        ("Fjelltopp Rådgivning AS", "Bergen", "5003"),
        ("Havbris Energi ASA", "Stavanger", "4006"),
        ("Polarlys Transport AS", "Tromsø", "9008"),
    ]:
        orgnr = norwegian_orgnr(rng)
        account: dict[str, Any] = (
            {"id": iban_for(rng, "NO", 11), "name": name, "bic": "DNBANOKK"}
            if len(sellers["NO"]) % 2 == 0
            else {"id": norwegian_account(rng)}
        )
        party: dict[str, Any] = {
            "name": name,
            "trading_name": name.removesuffix(" AS").removesuffix(" ASA"),
            "legal_registration": {"value": orgnr, "scheme": "0192"},
            "vat_id": f"NO{orgnr}MVA",
            "legal_info": "Foretaksregisteret",
            "endpoint": {"value": orgnr, "scheme": "0192"},
            "address": _address("NO", "Storgata 1", city, postal),
            "contact": _contact("Kari Nordmann", name.split()[0].lower()),
        }
        rates = (Decimal("25"), Decimal("15"), Decimal("12"))
        sellers["NO"].append(Seller("NO", party, account, "30", "NOK", rates))
    for name in ["Skärgård Konsult AB", "Norrsken Logistik AB"]:
        orgnr = swedish_orgnr(rng)
        party = {
            "name": name,
            "legal_registration": {"value": orgnr, "scheme": "0007"},
            "vat_id": f"SE{orgnr}01",
            "tax_registration_id": "Godkänd för F-skatt",  # SE-R-005
            "legal_info": "Aktiebolag",
            "endpoint": {"value": orgnr, "scheme": "0007"},
            "address": _address("SE", "Drottninggatan 7", "Stockholm", "111 51"),
            "contact": _contact("Anna Svensson", name.split()[0].lower()),
        }
        account = {"id": iban_for(rng, "SE", 20), "bic": "ESSESESS"}
        sellers["SE"].append(
            Seller("SE", party, account, "30", "SEK", (Decimal("25"), Decimal("12"), Decimal("6")))
        )
    for name in ["Øresund Design ApS", "Jyllands Maskiner A/S"]:
        cvr = danish_cvr(rng)
        party = {
            "name": name,
            "identifiers": [{"value": cvr, "scheme": "0184"}],  # DK-R-013: always with a scheme
            "legal_registration": {"value": cvr, "scheme": "0184"},  # DK-R-002, DK-R-014
            "vat_id": f"DK{cvr}",
            "endpoint": {"value": cvr, "scheme": "0184"},
            "address": _address("DK", "Vesterbrogade 10", "København V", "1620"),
            "contact": _contact("Mette Jensen", name.split()[0].lower()),
        }
        account = {"id": iban_for(rng, "DK", 14), "bic": "DABADKKK"}
        # DK-R-005: code 30 is not among the Danish payment means; 58 is SEPA credit transfer
        sellers["DK"].append(Seller("DK", party, account, "58", "DKK", (Decimal("25"),)))
    for name in ["Rheinland Elektro GmbH", "Hanse Handelskontor GmbH"]:
        number = gln(rng, "40")
        party = {
            "name": name,
            "identifiers": [{"value": number, "scheme": "0088"}],
            "legal_registration": {"value": f"HRB {rng.randint(10000, 99999)}"},
            "vat_id": german_vat(rng),
            "legal_info": "GmbH, Amtsgericht Köln",
            "endpoint": {"value": number, "scheme": "0088"},
            "address": _address("DE", "Domstraße 3", "Köln", "50668", extra="Gebäude B"),
            "contact": _contact("Jonas Müller", name.split()[0].lower()),
        }
        account = {"id": iban_for(rng, "DE", 18), "bic": "COBADEFFXXX"}
        sellers["DE"].append(Seller("DE", party, account, "58", "EUR", (Decimal("19"), Decimal("7"))))
    return sellers


def make_buyers(rng: random.Random) -> dict[str, list[dict[str, Any]]]:
    buyers: dict[str, list[dict[str, Any]]] = {"NO": [], "SE": [], "DK": [], "DE": [], "FI": []}
    for name, city, postal in [
        ("Fjordbyen Bygg AS", "Bergen", "5003"),
        ("Midnattsol Drift AS", "Tromsø", "9008"),
        ("Vestkyst Handel AS", "Trondheim", "7011"),
        ("Kommunalteknikk Nord KF", "Bodø", "8006"),
    ]:
        orgnr = norwegian_orgnr(rng)
        buyers["NO"].append(
            {
                "name": name,
                "legal_registration": {"value": orgnr, "scheme": "0192"},
                "vat_id": f"NO{orgnr}MVA",
                "endpoint": {"value": orgnr, "scheme": "0192"},
                "address": _address("NO", "Bryggen 5", city, postal),
                "contact": {"email": f"invoice@{name.split()[0].lower()}.example.com"},
            }
        )
    orgnr = swedish_orgnr(rng)
    buyers["SE"].append(
        {
            "name": "Göta Bygg AB",
            "legal_registration": {"value": orgnr, "scheme": "0007"},
            "vat_id": f"SE{orgnr}01",
            "endpoint": {"value": orgnr, "scheme": "0007"},
            "address": _address("SE", "Kungsgatan 12", "Göteborg", "411 19"),
        }
    )
    cvr = danish_cvr(rng)
    buyers["DK"].append(
        {
            "name": "Fyn Facility A/S",
            "identifiers": [{"value": cvr, "scheme": "0184"}],
            "legal_registration": {"value": cvr, "scheme": "0184"},  # DK-R-017
            "vat_id": f"DK{cvr}",
            "endpoint": {"value": cvr, "scheme": "0184"},
            "address": _address("DK", "Vestergade 4", "Odense C", "5000"),
        }
    )
    number = gln(rng, "43")
    buyers["DE"].append(
        {
            "name": "Bayern Industrie AG",
            "identifiers": [{"value": number, "scheme": "0088"}],
            "vat_id": german_vat(rng),
            "endpoint": {"value": number, "scheme": "0088"},
            "address": _address("DE", "Leopoldstraße 20", "München", "80802"),
        }
    )
    number = gln(rng, "64")
    buyers["FI"].append(
        {
            "name": "Saimaa Teknologia Oy",
            "vat_id": finnish_vat(rng),
            "endpoint": {"value": number, "scheme": "0088"},
            "address": _address("FI", "Mannerheimintie 9", "Helsinki", "00100"),
        }
    )
    return buyers


# ------------------------------------------------------------------------------------------ lines

#: name, UN/ECE Rec 20 unit, price range in whole currency units, quantity decimals
CATALOGUE: list[tuple[str, str, tuple[int, int], int]] = [
    ("Skrutrekker sett", "EA", (50, 900), 0),
    ("Konsulenttimer", "HUR", (700, 1800), 1),
    ("Kobberkabel 3x2,5 mm²", "MTR", (8, 60), 1),
    ("Kaffebønner, hele", "KGM", (90, 400), 3),
    ("Monteringsbrakett", "C62", (5, 120), 0),
    ("Servicebesøk", "EA", (900, 4000), 0),
    ("Frakt pall", "C62", (300, 1500), 0),
    ("Sement", "KGM", (2, 9), 1),
]


def _money(rng: random.Random, low: int, high: int) -> Decimal:
    return Decimal(rng.randint(low * 100, high * 100)) / 100


def make_line(
    rng: random.Random, index: int, category: str, rate: Decimal | None, *, negative: bool
) -> InvoiceLine:
    name, unit, (low, high), places = rng.choice(CATALOGUE)
    step = Decimal(10) ** -places
    quantity = Decimal(rng.randint(1, 40 * 10**places)) * step if places else Decimal(rng.randint(1, 25))
    if unit == "HUR":
        quantity = Decimal(rng.randint(1, 80)) / 2
    if negative:
        quantity = -Decimal(rng.randint(1, 2))
    net = _money(rng, low, high)
    price: dict[str, Any] = {"net": net}
    roll = rng.random()
    if unit in {"KGM", "MTR"} and roll < 0.35:
        # price per 100 kg or 10 m (BT-149/BT-150, same unit as the quantity: PEPPOL-EN16931-R130)
        price["base_quantity"] = Decimal(100) if unit == "KGM" else Decimal(10)
        price["base_unit_code"] = unit
    elif roll < 0.45:
        price["base_quantity"] = Decimal(1)
    if rng.random() < 0.3:
        discount = round_amount(net * Decimal(rng.randint(2, 25)) / 100)
        price["gross"] = net + discount  # PEPPOL-EN16931-R046: net = gross − discount
        price["discount"] = discount
    data: dict[str, Any] = {
        "id": str(index),
        "quantity": quantity,
        "unit_code": unit,
        "net_amount": Decimal(0),
        "price": price,
        "vat_category": category,
        "vat_rate": rate,
        "item": {"name": name, "seller_id": f"SKU-{rng.randint(1000, 9999)}"},
    }
    if rng.random() < 0.25:
        body = "70" + _digits(rng, 11)
        data["item"]["standard_id"] = {"value": body + ean.calc_check_digit(body), "scheme": "0160"}
        data["item"]["classifications"] = [{"value": str(rng.randint(10000000, 99999999)), "scheme": "MP"}]
        data["item"]["origin_country"] = rng.choice(["NO", "SE", "DE", "CN"])
        data["item"]["attributes"] = {"Farge": rng.choice(["Blå", "Rød", "Sort"])}
    if rng.random() < 0.2:
        data["note"] = f"Levert {rng.randint(1, 28)}. oktober"
    line = InvoiceLine.model_validate(data)
    gross_amount = line_net_amount(line)
    charges: list[dict[str, Any]] = []
    if not negative and gross_amount > 100 and rng.random() < 0.25:
        percent = Decimal(rng.choice([5, 10, 12.5]))
        charges.append(
            {
                "is_charge": False,
                "amount": round_amount(gross_amount * percent / 100),  # PEPPOL-EN16931-R040
                "base_amount": gross_amount,
                "percent": percent,
                "reason": "Kvantumsrabatt",
                "reason_code": "95",
            }
        )
    if not negative and rng.random() < 0.15:
        charges.append(
            {"is_charge": True, "amount": _money(rng, 10, 150), "reason": "Emballasje", "reason_code": "ABL"}
        )
    line.allowances_charges = [AllowanceCharge.model_validate(c) for c in charges]
    line.net_amount = line_net_amount(line)
    return line


# ------------------------------------------------------------------------------------- documents

#: VAT mixes per seller country: "S1" is the seller's first standard rate, "S2" the second, …
MIXES: dict[str, list[tuple[str, ...]]] = {
    "NO": [
        ("S1",),
        ("S1", "S2"),
        ("S1", "S2", "S3"),
        ("S1", "Z"),
        ("S1", "E"),
        ("AE",),
        ("S1", "AE"),
        ("O",),
        ("Z",),
        ("E",),
        ("S3", "Z", "E"),
        ("S2",),
        ("S1", "S3", "Z", "E", "AE"),
    ],
    "SE": [("S1",), ("K",), ("S1", "S2", "S3"), ("S1", "K"), ("AE",), ("S2", "E")],
    "DK": [("S1",), ("K",), ("S1", "AE"), ("O",), ("E",), ("S1", "Z")],
    "DE": [("S1", "S2"), ("K",), ("AE",), ("S1",), ("S1", "E"), ("S2", "K")],
}
SELLER_CYCLE = ["NO", "NO", "NO", "SE", "NO", "DK", "NO", "DE"]
CURRENCIES: dict[str, list[tuple[str, str | None, Decimal]]] = {
    # document currency, tax currency (BT-6), rate to the tax currency for BT-111
    "NO": [
        ("NOK", None, Decimal(1)),
        ("EUR", "NOK", Decimal("11.6523")),
        ("NOK", None, Decimal(1)),
        ("SEK", "NOK", Decimal("1.0137")),
        ("NOK", None, Decimal(1)),
        ("USD", "NOK", Decimal("10.8214")),
    ],
    "SE": [("SEK", None, Decimal(1)), ("EUR", "SEK", Decimal("11.4930"))],
    "DK": [("DKK", None, Decimal(1)), ("EUR", "DKK", Decimal("7.4604"))],
    "DE": [("EUR", None, Decimal(1)), ("USD", "EUR", Decimal("0.9241"))],
}
EU = ["SE", "DK", "DE", "FI"]


@dataclass(frozen=True)
class CorpusDocument:
    id: str
    invoice: Invoice


def _pick_buyer(
    rng: random.Random,
    buyers: dict[str, list[dict[str, Any]]],
    seller: Seller,
    mix: tuple[str, ...],
    currency: str,
) -> dict[str, Any]:
    if "K" in mix or ("AE" in mix and seller.country != "NO"):
        # intra-community supply / cross-border reverse charge: a VAT-registered buyer in another EU state
        country = rng.choice([c for c in EU if c != seller.country])
    elif seller.country == "NO":
        country = {"EUR": rng.choice(["NO", "DE", "FI"]), "SEK": rng.choice(["NO", "SE"])}.get(currency, "NO")
        if "AE" in mix:
            country = "NO"  # domestic reverse charge (mval. § 11-1): the buyer is VAT registered in Norway
    else:
        country = rng.choice([seller.country, "NO"])
    return dict(rng.choice(buyers[country]))


def build_document(
    number: int,
    rng: random.Random,
    seller: Seller,
    buyers: dict[str, list[dict[str, Any]]],
    mix: tuple[str, ...],
    currency_choice: tuple[str, str | None, Decimal],
    *,
    credit_note: bool,
    line_count: int,
) -> CorpusDocument:
    currency, tax_currency, fx = currency_choice
    issue_date = dt.date(2026, 1, 1) + dt.timedelta(days=rng.randint(0, 330))
    seller_party = dict(seller.party)
    buyer = _pick_buyer(rng, buyers, seller, mix, currency)
    if mix == ("O",):
        # BR-O-02: neither seller nor buyer VAT identifier when the invoice is not subject to VAT
        seller_party.pop("vat_id", None)
        buyer.pop("vat_id", None)
    categories: list[tuple[str, Decimal | None]] = []
    for code in mix:
        if code.startswith("S"):
            categories.append(("S", seller.standard_rates[int(code[1]) - 1]))
        elif code == "O":
            categories.append(("O", None))
        else:
            categories.append((code, Decimal(0)))
    line_count = max(line_count, len(categories))
    lines: list[InvoiceLine] = []
    for index in range(line_count):
        category, rate = categories[index] if index < len(categories) else rng.choice(categories)
        negative = not credit_note and index >= 3 and rng.random() < 0.08
        lines.append(make_line(rng, index + 1, category, rate, negative=negative))

    document_acs: list[dict[str, Any]] = []
    by_category: dict[tuple[str, Decimal | None], Decimal] = {}
    for line in lines:
        key = (line.vat_category.value, line.vat_rate)
        by_category[key] = by_category.get(key, Decimal(0)) + line.net_amount
    if rng.random() < 0.45:
        (category, rate), base = max(by_category.items(), key=lambda item: item[1])
        if base > 200:
            percent = Decimal(rng.choice([2, 3, 5]))
            reason_code, reason = rng.choice(
                [("95", "Rabatt"), ("100", "Spesialrabatt"), ("64", "Avtalerabatt"), ("41", "Bonus")]
            )
            document_acs.append(
                {
                    "is_charge": False,
                    "amount": round_amount(base * percent / 100),
                    "base_amount": base,
                    "percent": percent,
                    "vat_category": category,
                    "vat_rate": rate,
                    "reason": reason,
                    "reason_code": reason_code,
                }
            )
    if rng.random() < 0.45:
        category, rate = categories[0]
        reason_code, reason = rng.choice([("FC", "Frakt"), ("ABL", "Emballasje"), ("SAA", "Ekspedisjon")])
        charge: dict[str, Any] = {
            "is_charge": True,
            "amount": _money(rng, 49, 600),
            "vat_category": category,
            "vat_rate": rate,
            "reason_code": reason_code,
        }
        if rng.random() < 0.7:
            charge["reason"] = reason
        document_acs.append(charge)
    allowances_charges = [AllowanceCharge.model_validate(ac) for ac in document_acs]

    breakdown = compute_vat_breakdown(lines, allowances_charges)
    for vb in breakdown:
        if vb.category.value in EXEMPTIONS:
            vb.exemption_reason, vb.exemption_reason_code = rng.choice(EXEMPTIONS[vb.category.value])
    totals = compute_totals(lines, allowances_charges, breakdown)
    prepaid = Decimal(0)
    if not credit_note and totals.tax_inclusive > 1000 and rng.random() < 0.12:
        prepaid = round_amount(totals.tax_inclusive * Decimal("0.3"))
    rounding = Decimal(0)
    if currency == "NOK" and rng.random() < 0.35:
        due = totals.tax_inclusive - prepaid
        rounding = due.quantize(Decimal(1), rounding=ROUND_HALF_UP) - due
    totals = compute_totals(lines, allowances_charges, breakdown, prepaid=prepaid, rounding=rounding)
    if tax_currency is not None:
        totals.tax_amount_in_tax_currency = round_amount(totals.tax_amount * fx)

    german = seller.country == "DE" and buyer["address"]["country"] == "DE"
    kind = "CN" if credit_note else "INV"
    doc_number = f"{kind}-{seller.country}-{2026_0000 + number}"
    data: dict[str, Any] = {
        "document_type": "credit_note" if credit_note else "invoice",
        "number": doc_number,
        "issue_date": issue_date,
        "currency": currency,
        "tax_currency": tax_currency,
        # PEPPOL-EN16931-R003 is met by the order reference; DE-R-015 wants BT-10 between German parties
        "buyer_reference": f"REF-{rng.randint(100, 999)}" if german or rng.random() < 0.8 else None,
        "order_reference": f"PO-{rng.randint(4500000, 4599999)}",
        "seller": seller_party,
        "buyer": buyer,
        "payment_terms": rng.choice(["30 dager netto", "14 dagar netto", "Netto 30 Tage", "Net 30 days"]),
        "allowances_charges": [ac.model_dump() for ac in allowances_charges],
        "lines": [line.model_dump() for line in lines],
        "vat_breakdown": [vb.model_dump() for vb in breakdown],
        "totals": totals.model_dump(),
        "routing": {"receiver_id": f"cust-{rng.randint(1, 50)}"} if rng.random() < 0.5 else None,
    }
    if rng.random() < 0.4:
        data["notes"] = [
            rng.choice(["Takk for handelen!", "Ref. rammeavtale 2026", "Leveranse etter avtale"])
        ]
    if rng.random() < 0.3:
        start = issue_date.replace(day=1) - dt.timedelta(days=1)
        data["period"] = {"start": start.replace(day=1), "end": start}
    needs_delivery = "K" in mix
    if needs_delivery or rng.random() < 0.3:
        # BR-IC-11 (actual delivery date) and BR-IC-12 (deliver-to country) for intra-community supply
        data["delivery"] = {
            "date": issue_date - dt.timedelta(days=rng.randint(0, 10)),
            "address": dict(buyer["address"]),
            "party_name": buyer["name"],
        }
    pay_id = kid(rng, number) if seller.country == "NO" and rng.random() < 0.85 else None
    if credit_note:
        data["preceding_invoices"] = [
            {
                "id": f"INV-{seller.country}-{2026_0000 + number - 1}",
                "issue_date": issue_date - dt.timedelta(days=20),
            }
        ]
        if german or rng.random() < 0.5:
            # a refund to the buyer's account (DE-R-001: always between German parties); BT-9 rides on
            # PaymentMeans in a credit note
            data["payment_means"] = [{"code": seller.means_code, "account": seller.account}]
            data["due_date"] = issue_date + dt.timedelta(days=14)
    else:
        data["due_date"] = issue_date + dt.timedelta(days=rng.choice([10, 14, 30]))
        data["payment_means"] = [
            {
                "code": seller.means_code,
                "payment_id": pay_id if pay_id is not None else doc_number,
                "account": seller.account,
            }
        ]
    if rng.random() < 0.25:
        data["attachments"] = [
            {
                "id": f"{doc_number}-pdf",
                "description": "Fakturakopi",
                "filename": f"{doc_number}.pdf",
                "mime_type": "application/pdf",
                "content_base64": base64.b64encode(PDF).decode(),
            }
        ]
    invoice = Invoice.model_validate(data)
    label = "credit-note" if credit_note else "invoice"
    cats = "+".join(dict.fromkeys(c for c, _ in categories))
    return CorpusDocument(f"ehf-{number:03d}-{label}-{cats}-{currency}", invoice)


def build_corpus(size: int = CORPUS_SIZE, seed: int = SEED) -> list[CorpusDocument]:
    rng = random.Random(seed)
    sellers = make_sellers(rng)
    buyers = make_buyers(rng)
    per_country: Counter[str] = Counter()
    documents: list[CorpusDocument] = []
    for number in range(1, size + 1):
        country = SELLER_CYCLE[(number - 1) % len(SELLER_CYCLE)]
        nth = per_country[country]
        per_country[country] += 1
        seller = sellers[country][nth % len(sellers[country])]
        mix = MIXES[country][nth % len(MIXES[country])]
        currency = CURRENCIES[country][nth % len(CURRENCIES[country])]
        if number % 16 == 5:
            line_count = 30
        elif number % 16 == 9:
            line_count = 1
        else:
            line_count = rng.randint(1, 8)
        documents.append(
            build_document(
                number,
                rng,
                seller,
                buyers,
                mix,
                currency,
                credit_note=number % 5 == 2,
                line_count=line_count,
            )
        )
    return documents


CORPUS = build_corpus()


def credit_note_due_date_without_payment_means() -> CorpusDocument:
    """A credit note with BT-9 but no BG-16: valid EN 16931, but the UBL CreditNote has no `cbc:DueDate`."""
    source = next(
        d for d in CORPUS if d.invoice.document_type.value == "credit_note" and not d.invoice.payment_means
    )
    invoice = source.invoice.model_copy(
        update={"due_date": source.invoice.issue_date + dt.timedelta(days=14)}
    )
    return CorpusDocument(
        f"{source.id}-due-date-without-payment-means", Invoice.model_validate(invoice.model_dump())
    )




# ------------------------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def validator() -> Validator:
    return get_validator(RULES)


def test_credit_note_due_date_without_payment_means_is_refused_not_dropped() -> None:
    with pytest.raises(FormatError, match="PaymentDueDate") as caught:
        ubl.render(credit_note_due_date_without_payment_means().invoice)
    assert caught.value.where == "due_date"


@pytest.mark.parametrize("document", [pytest.param(d, id=d.id) for d in CORPUS])
def test_corpus_document_passes_official_rules_and_round_trips(
    validator: Validator, document: CorpusDocument
) -> None:
    invoice = document.invoice
    content = ubl.render(invoice).content
    report = validator.validate(content)
    blocking = [f"{f.rule_id} [{f.flag}] {f.location}: {f.text}" for f in report.blocking]
    assert blocking == [], "\n".join(blocking)
    assert [name.split("-")[0] for name in report.rule_sets] == ["UBL", "CEN", "PEPPOL"]
    expected = invoice.model_copy(update={"routing": None})
    back = ubl.parse(content)
    assert back.model_dump() == expected.model_dump()
    assert back == expected


def _categories(invoice: Invoice) -> set[str]:
    return {vb.category.value for vb in invoice.vat_breakdown}


def test_corpus_covers_every_dimension() -> None:
    invoices = [d.invoice for d in CORPUS]
    assert len(invoices) >= 60
    assert len({d.id for d in CORPUS}) == len(CORPUS)
    assert len({i.number for i in invoices}) == len(invoices)

    credit_notes = [i for i in invoices if i.document_type.value == "credit_note"]
    assert len(credit_notes) >= 10
    assert all(cn.preceding_invoices for cn in credit_notes)

    category_counts = Counter(c for i in invoices for c in _categories(i))
    for category in ("S", "Z", "E", "AE", "K", "O"):
        assert category_counts[category] >= 4, (category, category_counts)
    assert sum(1 for i in invoices if len(_categories(i)) >= 3) >= 5
    for invoice in invoices:
        if "O" in _categories(invoice):  # BR-O-11…14
            assert _categories(invoice) == {"O"}
            assert invoice.seller.vat_id is None and invoice.buyer.vat_id is None
        if "K" in _categories(invoice):  # BR-IC-02, BR-IC-11, BR-IC-12
            assert invoice.delivery is not None and invoice.delivery.date is not None
            assert invoice.delivery.address is not None and invoice.buyer.vat_id is not None
        if "AE" in _categories(invoice):
            assert invoice.buyer.vat_id is not None
        for vb in invoice.vat_breakdown:
            assert (vb.exemption_reason is not None) == (vb.category.value in EXEMPTIONS)
    s_rates = Counter(
        str(vb.rate.normalize())
        for i in invoices
        for vb in i.vat_breakdown
        if vb.rate and vb.category.value == "S"
    )
    for rate in ("25", "15", "12"):
        assert s_rates[rate] >= 4, s_rates

    currencies = Counter((i.currency, i.tax_currency) for i in invoices)
    for currency in ("EUR", "SEK", "USD"):
        assert currencies[(currency, "NOK")] >= 2, currencies
    assert currencies[("NOK", None)] >= 10
    assert all(i.totals.tax_amount_in_tax_currency is not None for i in invoices if i.tax_currency)

    seller_countries = Counter(i.seller.address.country for i in invoices if i.seller.address)
    assert seller_countries["NO"] >= 30 and all(seller_countries[c] >= 6 for c in ("SE", "DK", "DE")), (
        seller_countries
    )
    assert {i.seller.endpoint.scheme for i in invoices if i.seller.endpoint} >= {
        "0192",
        "0007",
        "0184",
        "0088",
    }
    assert sum(1 for i in invoices if i.buyer.address and i.buyer.address.country != "NO") >= 15

    kids = [i.kid for i in invoices if i.kid and i.kid.isdigit()]
    assert len(kids) >= 20 and all(luhn.is_valid(k) for k in kids)
    assert len({len(k) for k in kids}) >= 5
    accounts = [m.account.id for i in invoices for m in i.payment_means if m.account]
    assert sum(1 for a in accounts if iban.is_valid(a)) >= 30

    doc_acs = [ac for i in invoices for ac in i.allowances_charges]
    assert (
        sum(1 for ac in doc_acs if ac.is_charge) >= 10 and sum(1 for ac in doc_acs if not ac.is_charge) >= 10
    )
    assert all(ac.reason_code for ac in doc_acs)
    lines = [line for i in invoices for line in i.lines]
    line_acs = [ac for line in lines for ac in line.allowances_charges]
    assert (
        sum(1 for ac in line_acs if ac.is_charge) >= 5 and sum(1 for ac in line_acs if not ac.is_charge) >= 5
    )
    assert sum(1 for line in lines if line.price.gross is not None) >= 20
    assert sum(1 for line in lines if (line.price.base_quantity or 1) > 1) >= 5
    assert {line.unit_code for line in lines} >= {"EA", "HUR", "KGM", "MTR", "C62"}
    assert sum(1 for line in lines if line.quantity < 0) >= 1
    line_counts = [len(i.lines) for i in invoices]
    assert min(line_counts) == 1 and max(line_counts) == 30
    assert sum(1 for i in invoices if i.attachments) >= 8
    assert (
        sum(1 for i in invoices if i.totals.rounding) >= 3
        and sum(1 for i in invoices if i.totals.prepaid) >= 1
    )


def test_corpus_is_deterministic() -> None:
    again = build_corpus()
    assert [d.id for d in again] == [d.id for d in CORPUS]
    assert [d.invoice for d in again] == [d.invoice for d in CORPUS]
