"""A hard, seeded test set for payment matching, with ground truth, and its scorer.

    python benchmarks/matching_hard_set.py [--seed 1] [--payments 20000] [--customers 4000]
                                           [--invoices 60000] [--no-learning] [--per-payment FILE]

The generator builds a tenant: customers with look-alike names ("Nordic Trading AS", "Nordic Trading
Partners AS", "Nordic Trading AB") that banks send upper-case, with Nordic letters spelt out or dropped and
cut at 20-35 characters; one or two bank accounts each, of which only some are known to the index
(learned earlier); subscription customers with many same-amount invoices; invoice numbers issued in one
sequence across all customers (so a typo usually lands on another customer's real invoice); KIDs (MOD10,
10 digits); credit notes; EUR and SEK customers. Then payments in booking order, of the categories in
`CATEGORIES` (the printed table gives their shares), each with the intended outcome:

* `apply`: the allocation a careful person would book; the engine should apply it by itself.
* `approve`: the right proposal, but policy wants a person's approval (a stated deduction).
* `exception`: no automatic application is safe (ambiguous, wrong-but-valid KID, a name only, duplicates,
  unknown payers); the intended allocation, where there is one, should be among the top-3 suggestions.

The scorer runs `match_payment` over the set in order, as the service does: an applied decision is
applied to the index; an exception or approval is resolved by a person, who books the intended
allocation and teaches the index (`learn_from_resolution`: payer account, alias, reference pattern); a
wrong automatic application is reversed by that person and counted as false. `--no-learning` switches
all teaching off (people's, groups, and the automatic applications'). Rates are per payment and per
invoice, by count and by amount (NOK, EUR at 11.5, SEK at 1.0), overall, per category, and for the
structured references (KID / CINV / CREN categories).

Issue 22 added the classes an independent evaluation found weak (`ISSUE_22`): a payment without a
reference from an account the customer paid an exact KID / invoice number from before
(`no_ref_known_account`); payment services, a bank's collective account and an accounting office paying
for several customers (`shared_account_kid`, and `shared_account`: no reference, the amount exactly an open
amount of the last customer that paid through it, nobody's); parent companies with two to four
subsidiaries, 60 % of the groups declared in receiver profiles (`parent_pays`, `parent_pays_kid`,
`parent_pays_new_group`: undeclared, counted as `parent_pays` once a person's resolution taught the group);
a valid KID / structured number paying less (`partial_reference`); last month's KID of the same customer
with the amount of another of its invoices (`old_kid`); an OCR overpayment without a payer name
(`over_no_name`). The generator writes its own name fold (`name_key`) and uses the engine only through its
input and output types.

The scorer simulates the service around the engine: the index gets the receiver profiles' customer
groups (`MatchIndex(groups=)`); every automatic application teaches the index through the engine's
`learn_from_application` (the payer's account, when the application was certain on a structured reference;
the set's shared accounts are in the policy); a person's resolution of a parent's payment onto a
subsidiary's items teaches the group (`MatchIndex.learn_group`).

Targets (`Report.targets`; the exit code is 1 when one is missed), over the categories before issue 22:
structured references >= 99.5 % applied automatically with <= 0.05 % false; overall >= 85 % applied
automatically (over the payments whose truth is a match) with <= 0.2 % false (over all payments; a payment
whose truth is an exception counts as false when it is applied at all). Issue 22's (`Report.issue_targets`,
asserted as well): per class, no_ref_known_account >= 88 %, shared_account_kid >= 99 %, parent_pays_kid
>= 95 %, partial_reference >= 93 % and over_no_name >= 92 % applied automatically, old_kid's meant invoice
first among the suggestions >= 90 %; no false application in the issue-22 classes at all; the extended set
(issue 22 included) >= 90 % applied automatically with <= 0.2 % false. The floors hold across seeds 1-7 at
the default size (their means: no_ref 90, parent_pays 78, partial_reference 94.3, over_no_name 93.6); the
false rates are exact. parent_pays is held to >= 60 %, not more (seed 1, default size: 70 %; seeds 1, 4
and 7 at 2,000-5,000 payments: 39-71 %; the right allocation is among the top-3 suggestions for 95-100 % of
the rest): a parent's group holds its own and its subsidiaries' open items, often dozens, many of them
round amounts, and the engine applies a lone combination only when fewer than 0.01 such combinations
would add up by chance (`gateway.matching.candidates.chance_combinations`, round amounts on their own grid:
before that guard, 2 200 + 2 300 + 2 600 of a parent's own items were applied for a subsidiary's 7 100.00
it did not know). The rest are amounts other items or combinations of the group add up to as well, and
"Vår ref PO ..." texts naming another open or an already paid invoice (conflicting evidence).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import itertools
import math
import random
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from gateway.matching import (
    Allocation,
    Decision,
    MatchIndex,
    OpenItem,
    learn_from_application,
    learn_from_resolution,
    match_payment,
)
from schemas.kid import KidAgreement
from schemas.matching import MatchingPolicy
from schemas.remittance import Payment, RemittanceLine

Expect = Literal["apply", "approve", "exception"]
CENT = Decimal("0.01")
ZERO = Decimal(0)
T0 = dt.date(2026, 3, 2)
#: The latest simple payments duplicates are drawn from, and the latest paid items already-paid ones are.
HISTORY_DRAWN = 2000
PAID_DRAWN = 3000
NOK_RATES = {"NOK": Decimal(1), "EUR": Decimal("11.5"), "SEK": Decimal("1.0")}
FX_RATES = {"EUR": Decimal("11.5"), "SEK": Decimal("0.98")}

#: Category -> (weight, expected outcome, structured reference?). Weights are relative shares.
CATEGORIES: dict[str, tuple[float, Expect, bool]] = {
    "kid": (30.0, "apply", True),
    "kid_multi": (3.0, "apply", True),
    "cinv": (9.0, "apply", True),
    "cinv_multi": (3.0, "apply", True),
    "cren_netted": (2.5, "apply", True),
    "kid_typo": (1.5, "apply", False),
    "text_number": (12.0, "apply", False),
    "text_typo": (2.5, "apply", False),
    "text_house_style": (1.5, "apply", False),
    "fx": (3.0, "apply", False),
    "short_write_off": (2.0, "apply", False),
    "over": (1.0, "apply", False),
    "partial": (2.0, "apply", False),
    "lump_unique": (4.0, "apply", False),
    "amount_only": (5.0, "apply", False),
    "deduction": (2.0, "approve", False),
    "lump_ambiguous": (1.5, "exception", False),
    "amount_ambiguous": (1.5, "exception", False),
    "name_only": (2.0, "exception", False),
    "name_taught": (0.0, "apply", False),  # a name_only payment whose bank name a person taught before
    "wrong_kid": (1.0, "exception", False),
    "wrong_kid_unknown": (0.5, "exception", False),
    "fx_uninstructed": (0.5, "exception", False),
    "duplicate": (1.5, "exception", False),
    "already_paid": (1.0, "exception", False),
    "unknown_payer": (2.5, "exception", False),
    # issue 22: the classes an independent evaluation found weak (see ISSUE_22 and `Report.issue_targets`)
    "no_ref_known_account": (3.0, "apply", False),
    "shared_account_kid": (1.0, "apply", True),
    "shared_account": (1.0, "exception", False),
    "parent_pays": (2.0, "apply", False),
    "parent_pays_kid": (1.0, "apply", True),
    "parent_pays_new_group": (0.7, "exception", False),
    "partial_reference": (2.0, "apply", False),
    "old_kid": (1.0, "exception", False),
    "over_no_name": (1.0, "apply", False),
}

#: The categories added for issue 22. The established targets (`Report.targets`) stay over the others, so
#: they keep their meaning; these have their own targets (`Report.issue_targets`), asserted as well.
ISSUE_22 = frozenset(
    {
        "no_ref_known_account",
        "shared_account_kid",
        "shared_account",
        "parent_pays",
        "parent_pays_kid",
        "parent_pays_new_group",
        "partial_reference",
        "old_kid",
        "over_no_name",
    }
)


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


PREFIXES = _words(
    "Nordic Nord Fjord Polar Viking Aurora Bergen Oslo Trønder Nordlys Havbris Stål Skog Fjell Kyst "
    "Sjø Vest Midt Arktis Bølge Granitt Furu Bjørk Eik Lyng Solvang Brekke Haug Dal Berg Lund Strand "
    "Vik Holm Moe Bakke Næss Sæther Ødegård Åsen Grønli Bjørnstad Hagen Johansen Olsen Larsen "
    "Andersen Pedersen Nilsen Kristiansen Jensen Karlsen Eriksen Haugen Hansen Lie Dahl Solberg Aas "
    "Bråten Sørensen Ås Frøya Hitra"
)
SECTORS = _words(
    "Trading Bygg Transport Elektro Rør Maskin Eiendom Data Service Consulting Regnskap Shipping "
    "Logistikk Marine Energi Entreprenør Handel Import Verksted Design Media Helse Tannhelse "
    "Eiendomsforvaltning Installasjon Ventilasjon Maling Snekkeri Catering Renhold Sikkerhet Teknikk "
    "Industri Fisk Sjømat Landbruk Treforedling Kjøleteknikk Anleggsgartner"
)
TOWNS = _words(
    "Bergen Oslo Trondheim Stavanger Tromsø Bodø Ålesund Molde Hamar Lillehammer Gjøvik Drammen "
    "Tønsberg Sandefjord Larvik Skien Porsgrunn Arendal Kristiansand Mandal Egersund Haugesund Stord "
    "Voss Førde Florø Kristiansund Steinkjer Levanger Namsos Mo Narvik Harstad Alta Hammerfest "
    "Kirkenes Vadsø Fauske Sortland Røros Kongsberg Hønefoss Jessheim Lillestrøm Ski Moss Fredrikstad "
    "Sarpsborg Halden"
)
SUFFIXES = (
    "Partners",
    "Group",
    "Holding",
    "Invest",
    "Norge",
    "Vest",
    "Øst",
    "Nord",
    "Sør",
    "International",
    "Solutions",
    "Services",
    "og Sønn",
    "Drift",
    "Utvikling",
)
FORMS = (("AS", 70), ("ASA", 3), ("AB", 6), ("Oy", 3), ("GmbH", 3), ("Ltd", 4), ("", 11))
PEOPLE = (
    "OLA NORDMANN",
    "KARI NORDMANN",
    "PER HANSEN",
    "ANNE JOHANSEN",
    "LARS OLSEN",
    "INGRID LARSEN",
    "BJØRN NILSEN",
    "SIRI DAHL",
    "STATENS VEGVESEN",
    "NORSK TIPPING",
    "BRØNNØYSUNDREGISTRENE",
    "KLARNA BANK AB",
    "VIPPS MOBILEPAY AS",
)
SUBSCRIPTIONS = tuple(Decimal(v) for v in ("499.00", "990.00", "1490.00", "2500.00", "4990.00", "9900.00"))
#: Accounts that pay for several customers: (name on the payment, kind). "intermediary": a payment service
#: whose name the policy's intermediary list knows; "declared": a bank's collective account the tenant lists
#: in the policy's shared_accounts; "collective": an accounting office paying its clients' bills, known to
#: no list (only seeing it pay for a second customer tells it is shared).
SHARED_PAYERS = (
    ("KLARNA BANK AB", "intermediary"),
    ("VIPPS MOBILEPAY AS", "intermediary"),
    ("SPAREBANK 1 FELLESKONTO", "declared"),
    ("REGNSKAPSHUSET NORD AS", "collective"),
)
DEDUCTION_REASONS = ("Reklamasjon", "Manglende levering", "Kontantrabatt", "Skadet vare", "Avtalt kreditt")


@dataclass(slots=True)
class Customer:
    key: str
    name: str
    accounts: list[str]
    known: bool
    currency: str
    style: str  # kid, cinv, text, house
    house: str  # the house-style format for style "house"
    subscription: Decimal | None
    weight: float
    invoices: list[str] = field(default_factory=list)
    credit_notes: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SharedPayer:
    """An account paying for several customers, and whom it paid for so far (in order)."""

    account: str
    name: str
    kind: str
    paid_for: list[str] = field(default_factory=list)

    @property
    def known_shared(self) -> bool:
        """Whether a careful engine can know by now that the account is no one customer's."""
        return self.kind != "collective" or len(set(self.paid_for)) >= 2


_SPELT = str.maketrans({"æ": "ae", "ø": "o", "ö": "o", "å": "a", "ä": "a"})


def name_key(name: str) -> str:
    """The generator's own fold of a payer name (written apart from the engine's, on purpose).

    Lower case, Nordic letters and their spelt-out forms made equal (ø = oe = o, å = aa = a), anything but
    letters and digits a space. Coarser than needed rather than finer: the scorer uses it to decide when a
    name a person taught should now apply, and a coarser key only lowers the rate the set expects.
    """
    text = name.casefold().translate(_SPELT)
    text = "".join(ch for ch in unicodedata.normalize("NFKD", text) if not unicodedata.combining(ch))
    text = text.replace("oe", "o").replace("aa", "a")
    return " ".join("".join(ch if ch.isalnum() else " " for ch in text).split())


def _luhn_digit(body: str) -> str:
    """The MOD10 (Luhn) check digit of `body`: every second digit from the right doubled, digits summed."""
    total = 0
    for position, char in enumerate(reversed(body)):
        value = int(char) * (2 if position % 2 == 0 else 1)
        total += value - 9 if value > 9 else value
    return str(-total % 10)


def mod10_kid(number: str, length: int = 10) -> str:
    """The set's KID for an invoice number (its own, not the gateway's): digits zero-padded, MOD10 check."""
    body = number.lstrip("0").rjust(length - 1, "0")
    return body + _luhn_digit(body)


def mod10_valid(kid: str) -> bool:
    return len(kid) >= 2 and kid.isdigit() and _luhn_digit(kid[:-1]) == kid[-1]


@dataclass(frozen=True, slots=True)
class Truth:
    """What should become of a payment: the outcome and the allocation a person would book."""

    category: str
    expect: Expect
    allocations: tuple[Allocation, ...]
    customer_key: str | None
    suggest: tuple[str, ...] = ()  # for exceptions without an allocation: the item ids a person must see

    @property
    def structured(self) -> bool:
        return CATEGORIES[self.category][2]


@dataclass
class HardSet:
    agreement: KidAgreement
    items: list[OpenItem]
    accounts: dict[str, str]
    aliases: dict[str, str]
    payments: list[Payment]
    truths: list[Truth]
    customers: int
    groups: dict[str, str] = field(default_factory=dict)  # member -> parent, as receiver profiles declare
    shared_accounts: list[str] = field(default_factory=list)  # the tenant's policy lists these as shared
    #: `generate_stream`: the payments and their truths made one at a time as the scorer asks (the lists
    #: stay empty); `count` of them
    stream: Iterator[tuple[Payment, Truth]] | None = None
    count: int = 0

    @property
    def size(self) -> int:
        """How many payments the set has (or will have made, streamed)."""
        return self.count if self.stream is not None else len(self.payments)

    def pairs(self) -> Iterable[tuple[Payment, Truth]]:
        """The payments with their truths, in booking order (a stream can be read once)."""
        return self.stream if self.stream is not None else zip(self.payments, self.truths, strict=True)


class _OpenAmounts:
    """Invoice id -> what the generator has left open: the issued amount until a payment is booked on the
    item. A dict holds only the items paid on (a tenant of a million items, a few hundred thousand paid),
    not one entry per item. `total_amount` is what the generator issued; nobody changes it."""

    __slots__ = ("_booked", "_items")

    def __init__(self, items: dict[str, OpenItem]) -> None:
        self._items = items
        self._booked: dict[str, Decimal] = {}

    def __getitem__(self, invoice_id: str) -> Decimal:
        booked = self._booked.get(invoice_id)
        return self._items[invoice_id].total_amount if booked is None else booked

    def __setitem__(self, invoice_id: str, amount: Decimal) -> None:
        self._booked[invoice_id] = amount


class _Generator:
    def __init__(self, seed: int, customers: int, invoices: int) -> None:
        self.rng = random.Random(seed)
        self.agreement = KidAgreement(algorithm="mod10", length=10)
        self.customers: list[Customer] = []
        self.items: dict[str, OpenItem] = {}
        self.open = _OpenAmounts(self.items)
        self.history: list[tuple[Payment, str]] = []  # simple full payments, for duplicates
        self.paid: list[str] = []
        self.sequence = 0
        self.day = 0
        self._make_customers(customers)
        self._make_items(invoices)
        self.cumulative: dict[int, list[float]] = {}
        self.owners = {c.key: c for c in self.customers}
        self.with_credit_notes = [c for c in self.customers if c.credit_notes]
        self.foreign = [c for c in self.customers if c.currency != "NOK"]
        self.euro = [c for c in self.customers if c.currency == "EUR"]
        self.house = [c for c in self.customers if c.style == "house"]
        self.known = [c for c in self.customers if c.known]
        # issue 22: accounts that paid a KID or a structured invoice number exactly (an engine that learns
        # from automatic applications knows them afterwards), customer groups and shared payer accounts
        self.start_accounts = {c.accounts[0] for c in self.customers if c.known}
        self.learnable: dict[str, str] = {}  # customer key -> an account first seen on a structured payment
        self.last_account: str | None = None
        self.members: dict[str, list[Customer]] = {}  # parent key -> subsidiaries
        self.declared: dict[str, bool] = {}  # parent key -> the group is in the receiver profiles
        self._make_groups()
        self.parents = [self.owners[key] for key in self.members]
        # a parent's payments are searched against its group's items: the amount-only categories keep to
        # customers whose own items are all an amount search sees
        self.known = [c for c in self.known if c.key not in self.members]
        self.shared = [SharedPayer(self._account(), name, kind) for name, kind in SHARED_PAYERS]

    # -- the world --

    def _name(self, bases: list[str], seen: set[str]) -> str:
        rng = self.rng
        while True:
            if bases and rng.random() < 0.35:
                name = f"{rng.choice(bases)} {rng.choice(SUFFIXES)}"
            else:
                name = f"{rng.choice(PREFIXES)} {rng.choice(SECTORS)}"
                if rng.random() < 0.5:
                    name += f" {rng.choice(TOWNS)}"
                bases.append(name)
            form = rng.choices([f for f, _ in FORMS], weights=[w for _, w in FORMS])[0]
            full = f"{name} {form}".strip()
            if full not in seen:
                seen.add(full)
                return full

    def _account(self) -> str:
        return str(self.rng.randint(1000_00_00000, 9999_99_99999))

    def _make_customers(self, count: int) -> None:
        rng = self.rng
        bases: list[str] = []
        seen: set[str] = set()
        for number in range(count):
            currency = rng.choices(("NOK", "EUR", "SEK"), weights=(91, 7, 2))[0]
            style = rng.choices(("kid", "cinv", "text", "house"), weights=(55, 17, 25, 3))[0]
            house = rng.choice(("F{year}{n:07d}", "{year}{n:08d}", "K{cust}{n}", "REF{n:09d}X"))
            self.customers.append(
                Customer(
                    key=f"org:{900_000_000 + number * 7}",
                    name=self._name(bases, seen),
                    accounts=[self._account() for _ in range(rng.choice((1, 1, 1, 2)))],
                    known=rng.random() < 0.65,
                    currency=currency,
                    style=style,
                    house=house.replace("{cust}", str(rng.randint(1000, 9999))),
                    subscription=rng.choice(SUBSCRIPTIONS) if rng.random() < 0.3 else None,
                    weight=min(40.0, rng.paretovariate(1.3)),
                )
            )

    def _make_groups(self) -> None:
        """Parent companies (known payers, NOK) with two to four subsidiaries each; 60 % declared."""
        rng = self.rng
        free = [c for c in self.customers if c.currency == "NOK"]
        rng.shuffle(free)
        taken: set[str] = set()
        wanted = max(2, len(self.customers) // 40)
        for parent in free:
            if len(self.members) >= wanted:
                break
            if not parent.known or parent.key in taken:
                continue
            members = [c for c in free if c.key not in taken and c is not parent][: rng.randint(2, 4)]
            if len(members) < 2:
                break
            taken.update([parent.key, *(m.key for m in members)])
            self.members[parent.key] = members
            self.declared[parent.key] = rng.random() < 0.6

    def _amount(self, customer: Customer) -> Decimal:
        rng = self.rng
        if customer.subscription is not None and rng.random() < 0.6:
            return customer.subscription
        value = min(400_000.0, max(50.0, math.exp(rng.gauss(math.log(4000), 1.1))))
        if customer.currency == "EUR":
            value /= 11
        if rng.random() < 0.25:
            return Decimal(round(value, -2) or 100).quantize(CENT)
        return Decimal(str(round(value, 2))).quantize(CENT)

    def _make_items(self, count: int) -> None:
        rng = self.rng
        owners = [*self.customers]
        owners += rng.choices(
            self.customers, weights=[c.weight for c in self.customers], k=max(0, count - len(owners))
        )
        # owners by issue day (in drawing order within a day), and one date object per day: a million
        # items share a few hundred dates (the scale benchmark's peak memory counts the generator's)
        by_day: dict[int, list[Customer]] = {}
        for owner in owners:
            by_day.setdefault(rng.randint(-200, -1), []).append(owner)
        del owners
        dates = {offset: T0 + dt.timedelta(days=offset) for offset in range(-200, 30)}
        dated = ((day, owner) for day in sorted(by_day) for owner in by_day[day])
        invoice_number = 100_000
        credit_number = 20_000
        amounts: dict[Decimal, Decimal] = {}  # equal amounts (all in cents) share one Decimal
        for day, owner in dated:
            issue = dates[day]
            due = dates[day + rng.choice((14, 14, 30))]
            if rng.random() < 0.04:
                credit_number += 1
                amount = (self._amount(owner) * Decimal(rng.choice(("0.1", "0.2", "0.25", "0.5")))).quantize(
                    CENT
                )
                item = OpenItem(
                    f"cn-{credit_number}",
                    f"KN-{credit_number}",
                    "credit_note",
                    owner.key,
                    owner.name,
                    owner.currency,
                    amount,
                    amount,
                    issue,
                    None,
                    None,
                )
                owner.credit_notes.append(item.invoice_id)
            else:
                invoice_number += 1
                number = str(invoice_number)
                amount = self._amount(owner)
                amount = amounts.setdefault(amount, amount)
                item = OpenItem(
                    f"inv-{number}",
                    number,
                    "invoice",
                    owner.key,
                    owner.name,
                    owner.currency,
                    amount,
                    amount,
                    issue,
                    due,
                    mod10_kid(number),
                )
                owner.invoices.append(item.invoice_id)
            self.items[item.invoice_id] = item  # open: its total (`_OpenAmounts`)

    # -- helpers --

    def pick(self, pool: Sequence[Customer] | None = None) -> Customer:
        """A customer, the busier ones more often (cumulative weights cached per pool)."""
        pool = self.customers if pool is None else pool
        cumulative = self.cumulative.get(id(pool))
        if cumulative is None:
            cumulative = self.cumulative[id(pool)] = list(itertools.accumulate(c.weight for c in pool))
        return self.rng.choices(pool, cum_weights=cumulative)[0]

    def open_invoices(self, customer: Customer) -> list[OpenItem]:
        items = [self.items[i] for i in customer.invoices if self.open[i] > 0]
        return sorted(items, key=lambda item: (item.due_date or item.issue_date, item.number))

    def bank_name(self, name: str) -> str:
        rng = self.rng
        text = name.upper()
        mode = rng.random()
        if mode < 0.35:
            text = text.replace("Æ", "AE").replace("Ø", "OE").replace("Å", "AA")
        elif mode < 0.7:
            text = text.replace("Æ", "AE").replace("Ø", "O").replace("Å", "A")
        if rng.random() < 0.25:
            words = text.split()
            if len(words) > 2 and words[-1] in {"AS", "ASA", "AB", "OY", "GMBH", "LTD"}:
                text = " ".join(words[:-1])
        return text[: rng.randint(20, 35)].rstrip()

    def account_text(self, account: str) -> str:
        form = self.rng.random()
        if form < 0.5:
            return account
        if form < 0.75:
            return f"{account[:4]}.{account[4:6]}.{account[6:]}"
        check = 98 - int(account + "232400") % 97
        iban = f"NO{check:02d}{account}"
        return " ".join(iban[i : i + 4] for i in range(0, len(iban), 4))

    def payment(
        self,
        customer: Customer | None,
        amount: Decimal,
        *,
        currency: str | None = None,
        lines: tuple[RemittanceLine, ...] = (),
        free_text: tuple[str, ...] = (),
        instructed: tuple[Decimal, str] | None = None,
        known_account: bool | None = None,
        payer_name: str | None = None,
        account: str | None = None,
        anonymous: bool = False,
        no_account: bool = False,
    ) -> Payment:
        """`anonymous`: no payer name (an OCR giro line); `no_account`: no payer account either."""
        rng = self.rng
        self.sequence += 1
        booking = T0 + dt.timedelta(days=self.day)
        if customer is not None:
            if account is None and not no_account:
                account = (
                    customer.accounts[0] if known_account or rng.random() < 0.85 else customer.accounts[-1]
                )
            if payer_name is None and not anonymous and rng.random() < 0.75:
                payer_name = self.bank_name(customer.name)
        self.last_account = account
        return Payment(
            amount=amount,
            currency=currency or (customer.currency if customer else "NOK"),
            booking_date=booking,
            value_date=booking,
            payer_name=payer_name,
            payer_account=self.account_text(account) if account else None,
            bank_reference=f"BR{self.sequence:08d}",
            instructed_amount=instructed[0] if instructed else None,
            instructed_currency=instructed[1] if instructed else None,
            free_text=free_text,
            lines=lines,
            position=f"payment {self.sequence}",
        )

    def noise(self) -> tuple[str, ...]:
        rng = self.rng
        roll = rng.random()
        if roll < 0.6:
            return ()
        if roll < 0.75:
            return ("Betaling",)
        if roll < 0.85:
            return (f"Kundenr {rng.randint(1000, 9999)} {T0 + dt.timedelta(days=self.day):%d.%m.%Y}",)
        if roll < 0.92:  # the payer's own order number: often also the number of someone's invoice
            return (f"Vår ref PO {rng.randint(100_000, 199_999)}",)
        return (f"Takk for handelen kr {rng.randint(1, 99)} {rng.randint(100, 999)},00",)

    def book(self, allocations: Sequence[Allocation]) -> None:
        for allocation in allocations:
            self.open[allocation.invoice_id] -= allocation.amount + allocation.write_off
            if self.open[allocation.invoice_id] <= 0:
                self.paid.append(allocation.invoice_id)
                item = self.items[allocation.invoice_id]
                if item.document_type == "invoice":  # the owner's list holds open invoices only
                    self.owners[item.customer_key].invoices.remove(item.invoice_id)

    def text_for(self, numbers: Sequence[str]) -> str:
        rng = self.rng
        if len(numbers) > 1:
            joined = rng.choice((", ", " ", "/", " og "))
            return rng.choice(("Faktura ", "Fakt. ", "Inv ", "")) + joined.join(numbers)
        n = numbers[0]
        return rng.choice(
            (
                f"Faktura {n}",
                f"Fakt.nr. {n}",
                f"inv#{n}",
                f"F-{n}",
                f"Invoice {n}",
                n,
                f"Fakturanr: 00{n}",
                f"Betaling faktura {n} {T0 + dt.timedelta(days=self.day):%d.%m.%Y}",
                f"Ref {n} kundenr {rng.randint(1000, 9999)}",
            )
        )

    def reference(self, item: OpenItem, how: str) -> tuple[tuple[RemittanceLine, ...], tuple[str, ...]]:
        if how == "kid":
            return (RemittanceLine(kid=item.kid),), ()
        if how == "cinv":
            return (RemittanceLine(invoice_number=item.number, document_kind="invoice"),), ()
        return (), (self.text_for([item.number]),)

    def note_structured(self, customer: Customer) -> None:
        """The account of a payment that named its invoices by KID / structured number, amount exact."""
        account = self.last_account
        if account and account not in self.start_accounts and customer.key not in self.learnable:
            self.learnable[customer.key] = account

    def group_items(self, parent: Customer) -> list[OpenItem]:
        """The open invoices of a parent and its subsidiaries."""
        return [item for c in (parent, *self.members[parent.key]) for item in self.open_invoices(c)]

    def unique_amounts(self, items: Sequence[OpenItem]) -> list[OpenItem]:
        """The items whose open amount no other of `items` has."""
        counts = Counter(self.open[i.invoice_id] for i in items)
        return [i for i in items if counts[self.open[i.invoice_id]] == 1]

    # -- categories: each returns (payment, truth) or None when this tenant state cannot produce one --

    def single(self, category: str, customer: Customer | None = None) -> tuple[Customer, OpenItem] | None:
        customer = customer or self.pick()
        invoices = self.open_invoices(customer)
        if not invoices:
            return None
        return customer, self.rng.choice(invoices[:6])

    def kid(self) -> tuple[Payment, Truth] | None:
        found = self.single("kid")
        if found is None:
            return None
        customer, item = found
        amount = self.open[item.invoice_id]
        payment = self.payment(
            customer, amount, lines=(RemittanceLine(kid=item.kid),), free_text=self.noise()
        )
        allocation = Allocation(item.invoice_id, item.number, amount)
        self.history.append((payment, item.invoice_id))
        self.note_structured(customer)
        return payment, Truth("kid", "apply", (allocation,), customer.key)

    def multi(self, category: str) -> tuple[Payment, Truth] | None:
        customer = self.pick()
        invoices = self.open_invoices(customer)
        if len(invoices) < 2:
            return None
        chosen = self.rng.sample(invoices[:8], self.rng.randint(2, min(4, len(invoices[:8]))))
        amounts = [self.open[item.invoice_id] for item in chosen]
        if category == "kid_multi":
            lines = tuple(RemittanceLine(kid=i.kid, amount=a) for i, a in zip(chosen, amounts, strict=True))
        else:
            lines = tuple(
                RemittanceLine(invoice_number=i.number, document_kind="invoice", amount=a)
                for i, a in zip(chosen, amounts, strict=True)
            )
        payment = self.payment(customer, sum(amounts, ZERO), lines=lines)
        self.note_structured(customer)
        allocations = tuple(
            Allocation(i.invoice_id, i.number, a) for i, a in zip(chosen, amounts, strict=True)
        )
        return payment, Truth(category, "apply", allocations, customer.key)

    def cinv(self) -> tuple[Payment, Truth] | None:
        found = self.single("cinv")
        if found is None:
            return None
        customer, item = found
        amount = self.open[item.invoice_id]
        shown = self.rng.choice(
            (item.number, item.number, item.number, f"00{item.number}", f"INV-{item.number}")
        )
        line = RemittanceLine(invoice_number=shown, document_kind="invoice", amount=amount)
        payment = self.payment(customer, amount, lines=(line,), free_text=self.noise())
        self.history.append((payment, item.invoice_id))
        self.note_structured(customer)
        return payment, Truth(
            "cinv", "apply", (Allocation(item.invoice_id, item.number, amount),), customer.key
        )

    def cren_netted(self) -> tuple[Payment, Truth] | None:
        if not self.with_credit_notes:
            return None
        customer = self.pick(self.with_credit_notes)
        credit = next((self.items[i] for i in customer.credit_notes if self.open[i] > 0), None)
        if credit is None:
            return None
        invoices = self.open_invoices(customer)
        if not invoices:
            return None
        chosen = self.rng.sample(invoices[:6], self.rng.randint(1, min(3, len(invoices[:6]))))
        owed = sum((self.open[i.invoice_id] for i in chosen), ZERO)
        credit_open = self.open[credit.invoice_id]
        if owed <= credit_open:
            return None
        lines = (
            *(
                RemittanceLine(
                    invoice_number=i.number, document_kind="invoice", amount=self.open[i.invoice_id]
                )
                for i in chosen
            ),
            RemittanceLine(invoice_number=credit.number, document_kind="credit_note", amount=credit_open),
        )
        payment = self.payment(customer, owed - credit_open, lines=lines)
        allocations = (
            *(Allocation(i.invoice_id, i.number, self.open[i.invoice_id]) for i in chosen),
            Allocation(credit.invoice_id, credit.number, credit_open, "credit_note"),
        )
        return payment, Truth("cren_netted", "apply", allocations, customer.key)

    def kid_typo(self) -> tuple[Payment, Truth] | None:
        found = self.single("kid_typo")
        if found is None:
            return None
        customer, item = found
        assert item.kid is not None
        kid = item.kid
        for _ in range(20):
            position = self.rng.randrange(len(kid) - 1)
            if self.rng.random() < 0.5:
                typo = kid[:position] + self.rng.choice("0123456789") + kid[position + 1 :]
            else:
                typo = kid[:position] + kid[position + 1] + kid[position] + kid[position + 2 :]
            if typo != kid and not mod10_valid(typo):
                break
        else:
            return None
        amount = self.open[item.invoice_id]
        payment = self.payment(customer, amount, lines=(RemittanceLine(kid=typo),))
        return payment, Truth(
            "kid_typo", "apply", (Allocation(item.invoice_id, item.number, amount),), customer.key
        )

    def text_number(self) -> tuple[Payment, Truth] | None:
        customer = self.pick()
        invoices = self.open_invoices(customer)
        if not invoices:
            return None
        count = 1 if self.rng.random() < 0.85 or len(invoices) < 2 else 2
        chosen = self.rng.sample(invoices[:6], min(count, len(invoices[:6])))
        amounts = [self.open[i.invoice_id] for i in chosen]
        texts = (self.text_for([i.number for i in chosen]), *self.noise())
        payment = self.payment(customer, sum(amounts, ZERO), free_text=texts)
        allocations = tuple(
            Allocation(i.invoice_id, i.number, a) for i, a in zip(chosen, amounts, strict=True)
        )
        if len(chosen) == 1:
            self.history.append((payment, chosen[0].invoice_id))
        return payment, Truth("text_number", "apply", allocations, customer.key)

    def text_typo(self) -> tuple[Payment, Truth] | None:
        found = self.single("text_typo")
        if found is None:
            return None
        customer, item = found
        number = item.number
        rng = self.rng
        position = rng.randrange(len(number))
        kind = rng.random()
        if kind < 0.4:
            typo = (
                number[:position]
                + rng.choice("0123456789".replace(number[position], ""))
                + number[position + 1 :]
            )
        elif kind < 0.7 and position < len(number) - 1 and number[position] != number[position + 1]:
            typo = number[:position] + number[position + 1] + number[position] + number[position + 2 :]
        elif kind < 0.85:
            typo = number[:position] + number[position + 1 :]
        else:
            typo = number[:position] + rng.choice("0123456789") + number[position:]
        if typo == number:
            return None
        amount = self.open[item.invoice_id]
        payment = self.payment(customer, amount, free_text=(self.text_for([typo]),))
        return payment, Truth(
            "text_typo", "apply", (Allocation(item.invoice_id, item.number, amount),), customer.key
        )

    def text_house_style(self) -> tuple[Payment, Truth] | None:
        if not self.house:
            return None
        customer = self.pick(self.house)
        invoices = self.open_invoices(customer)
        if not invoices:
            return None
        item = self.rng.choice(invoices[:4])
        token = customer.house.format(year=T0.year, n=int(item.number))
        amount = self.open[item.invoice_id]
        payment = self.payment(customer, amount, free_text=(token,), known_account=True)
        allocation = Allocation(item.invoice_id, item.number, amount)
        return payment, Truth("text_house_style", "apply", (allocation,), customer.key)

    def fx(self) -> tuple[Payment, Truth] | None:
        if not self.foreign:
            return None
        found = self.single("fx", self.pick(self.foreign))
        if found is None:
            return None
        customer, item = found
        owed = self.open[item.invoice_id]
        rate = FX_RATES[item.currency] * Decimal(str(round(self.rng.uniform(0.97, 1.03), 4)))
        lines, texts = self.reference(item, self.rng.choice(("kid", "kid", "text")))
        payment = self.payment(
            customer,
            (owed * rate).quantize(CENT),
            currency="NOK",
            lines=lines,
            free_text=texts,
            instructed=(owed, item.currency),
        )
        return payment, Truth("fx", "apply", (Allocation(item.invoice_id, item.number, owed),), customer.key)

    def short_write_off(self) -> tuple[Payment, Truth] | None:
        found = self.single("short_write_off")
        if found is None:
            return None
        customer, item = found
        owed = self.open[item.invoice_id]
        allowance = min(Decimal(50), owed / 100).quantize(CENT)
        if allowance < Decimal("1.00"):
            return None
        short = Decimal(self.rng.randint(1, int(allowance * 100))) / 100
        lines, texts = self.reference(item, self.rng.choice(("kid", "kid", "cinv", "text")))
        payment = self.payment(customer, owed - short, lines=lines, free_text=texts)
        allocation = Allocation(item.invoice_id, item.number, owed - short, write_off=short)
        return payment, Truth("short_write_off", "apply", (allocation,), customer.key)

    def over(self) -> tuple[Payment, Truth] | None:
        found = self.single("over")
        if found is None:
            return None
        customer, item = found
        owed = self.open[item.invoice_id]
        excess = (owed * Decimal(self.rng.randint(1, 20)) / 100).quantize(CENT) or Decimal("1.00")
        lines, texts = self.reference(item, self.rng.choice(("kid", "kid", "cinv", "text")))
        payment = self.payment(customer, owed + excess, lines=lines, free_text=texts)
        allocation = Allocation(item.invoice_id, item.number, owed + excess)
        return payment, Truth("over", "apply", (allocation,), customer.key)

    def partial(self) -> tuple[Payment, Truth] | None:
        found = self.single("partial")
        if found is None:
            return None
        customer, item = found
        owed = self.open[item.invoice_id]
        if owed < 1000:
            return None
        paid = (owed * Decimal(self.rng.randint(20, 80)) / 100).quantize(Decimal(1)).quantize(CENT)
        lines, texts = self.reference(item, self.rng.choice(("kid", "kid", "cinv", "cinv", "text")))
        payment = self.payment(customer, paid, lines=lines, free_text=texts)
        return payment, Truth(
            "partial", "apply", (Allocation(item.invoice_id, item.number, paid),), customer.key
        )

    def deduction(self) -> tuple[Payment, Truth] | None:
        found = self.single("deduction")
        if found is None:
            return None
        customer, item = found
        owed = self.open[item.invoice_id]
        deducted = (owed * Decimal(self.rng.randint(5, 25)) / 100).quantize(CENT)
        if deducted <= min(Decimal(50), owed / 100):
            return None
        line = RemittanceLine(
            invoice_number=item.number,
            document_kind="invoice",
            amount=owed - deducted,
            document_amount=item.total_amount,
            adjustment=deducted,
            adjustment_reason=self.rng.choice(DEDUCTION_REASONS),
        )
        payment = self.payment(customer, owed - deducted, lines=(line,))
        allocation = Allocation(item.invoice_id, item.number, owed - deducted, write_off=deducted)
        return payment, Truth("deduction", "approve", (allocation,), customer.key)

    def lump_unique(self) -> tuple[Payment, Truth] | None:
        customer = self.pick(self.known)
        invoices = self.open_invoices(customer)
        if len(invoices) < 3:
            return None
        count = self.rng.randint(2, min(4, len(invoices)))
        chosen = invoices[:count] if self.rng.random() < 0.7 else self.rng.sample(invoices[:8], count)
        amounts = [self.open[i.invoice_id] for i in chosen]
        payment = self.payment(customer, sum(amounts, ZERO), free_text=self.noise(), known_account=True)
        allocations = tuple(
            Allocation(i.invoice_id, i.number, a) for i, a in zip(chosen, amounts, strict=True)
        )
        return payment, Truth("lump_unique", "apply", allocations, customer.key)

    def lump_ambiguous(self) -> tuple[Payment, Truth] | None:
        for _ in range(30):
            customer = self.pick(self.known)
            by_amount: dict[Decimal, list[OpenItem]] = defaultdict(list)
            for item in self.open_invoices(customer):
                by_amount[self.open[item.invoice_id]].append(item)
            same = next((items for items in by_amount.values() if len(items) >= 3), None)
            if same is not None:
                chosen = same[:2]
                amount = self.open[chosen[0].invoice_id]
                payment = self.payment(customer, amount * 2, free_text=self.noise(), known_account=True)
                allocations = tuple(Allocation(i.invoice_id, i.number, amount) for i in chosen)
                return payment, Truth("lump_ambiguous", "exception", allocations, customer.key)
        return None

    def amount_only(self) -> tuple[Payment, Truth] | None:
        customer = self.pick(self.known)
        invoices = self.open_invoices(customer)
        counts = Counter(self.open[i.invoice_id] for i in invoices)
        unique = [i for i in invoices[:8] if counts[self.open[i.invoice_id]] == 1]
        if not unique:
            return None
        item = self.rng.choice(unique)
        amount = self.open[item.invoice_id]
        payment = self.payment(customer, amount, free_text=self.noise(), known_account=True)
        return payment, Truth(
            "amount_only", "apply", (Allocation(item.invoice_id, item.number, amount),), customer.key
        )

    def amount_ambiguous(self) -> tuple[Payment, Truth] | None:
        for _ in range(30):
            customer = self.pick(self.known)
            invoices = self.open_invoices(customer)
            counts = Counter(self.open[i.invoice_id] for i in invoices)
            same = [i for i in invoices if counts[self.open[i.invoice_id]] >= 2]
            if same:
                item = same[0]
                amount = self.open[item.invoice_id]
                payment = self.payment(customer, amount, free_text=self.noise(), known_account=True)
                allocation = Allocation(item.invoice_id, item.number, amount)
                return payment, Truth("amount_ambiguous", "exception", (allocation,), customer.key)
        return None

    def name_only(self) -> tuple[Payment, Truth] | None:
        customer = self.pick()
        invoices = self.open_invoices(customer)
        if not invoices:
            return None
        item = self.rng.choice(invoices[:6])
        amount = self.open[item.invoice_id]
        payment = self.payment(
            customer, amount, payer_name=self.bank_name(customer.name), account=self._account()
        )
        allocation = Allocation(item.invoice_id, item.number, amount)
        return payment, Truth("name_only", "exception", (allocation,), customer.key)

    def wrong_kid(self) -> tuple[Payment, Truth] | None:
        customer = self.pick(self.known)
        invoices = self.open_invoices(customer)
        counts = Counter(self.open[i.invoice_id] for i in invoices)
        unique = [i for i in invoices if counts[self.open[i.invoice_id]] == 1]
        if not unique:
            return None
        meant = self.rng.choice(unique[:6])
        if self.rng.random() < 0.3 and len(invoices) > 1:
            wrong = self.rng.choice([i for i in invoices if i is not meant])
        else:
            other = self.single("wrong_kid")
            if other is None:
                return None
            wrong = other[1]
        if wrong.invoice_id == meant.invoice_id or self.open[wrong.invoice_id] == self.open[meant.invoice_id]:
            return None
        amount = self.open[meant.invoice_id]
        payment = self.payment(customer, amount, lines=(RemittanceLine(kid=wrong.kid),), known_account=True)
        allocation = Allocation(meant.invoice_id, meant.number, amount)
        return payment, Truth("wrong_kid", "exception", (allocation,), customer.key, (wrong.invoice_id,))

    def wrong_kid_unknown(self) -> tuple[Payment, Truth] | None:
        """Another customer's valid KID, from a payer the index does not know, for one of its own invoices."""
        found = self.single("wrong_kid_unknown")
        other = self.single("wrong_kid_unknown")
        if found is None or other is None or found[0] is other[0]:
            return None
        customer, meant = found
        wrong = other[1]
        amount = self.open[meant.invoice_id]
        if amount == self.open[wrong.invoice_id]:
            return None
        payment = self.payment(
            customer, amount, lines=(RemittanceLine(kid=wrong.kid),), account=self._account()
        )
        allocation = Allocation(meant.invoice_id, meant.number, amount)
        return payment, Truth(
            "wrong_kid_unknown", "exception", (allocation,), customer.key, (wrong.invoice_id,)
        )

    def fx_uninstructed(self) -> tuple[Payment, Truth] | None:
        """A EUR invoice paid in NOK by KID without the instructed amount: the conversion is unknown."""
        if not self.euro:
            return None
        found = self.single("fx_uninstructed", self.pick(self.euro))
        if found is None:
            return None
        customer, item = found
        owed = self.open[item.invoice_id]
        paid = (owed * FX_RATES["EUR"]).quantize(CENT)
        payment = self.payment(customer, paid, currency="NOK", lines=(RemittanceLine(kid=item.kid),))
        allocation = Allocation(item.invoice_id, item.number, owed)
        return payment, Truth("fx_uninstructed", "exception", (allocation,), customer.key)

    def duplicate(self) -> tuple[Payment, Truth] | None:
        candidates = [(p, i) for p, i in self.history[-HISTORY_DRAWN:] if self.open[i] <= 0]
        if not candidates:
            return None
        original, invoice_id = self.rng.choice(candidates)
        self.sequence += 1
        booking = T0 + dt.timedelta(days=self.day)
        payment = dataclasses.replace(
            original,
            bank_reference=f"BR{self.sequence:08d}",
            booking_date=booking,
            value_date=booking,
            position=f"payment {self.sequence}",
        )
        customer = self.items[invoice_id].customer_key
        return payment, Truth("duplicate", "exception", (), customer, (invoice_id,))

    def already_paid(self) -> tuple[Payment, Truth] | None:
        if not self.paid:
            return None
        item = self.items[self.rng.choice(self.paid[-PAID_DRAWN:])]
        if item.document_type != "invoice" or self.open[item.invoice_id] > 0:
            return None
        owner = self._owner(item)
        lines, texts = self.reference(item, self.rng.choice(("kid", "cinv", "text")))
        payment = self.payment(owner, item.total_amount, lines=lines, free_text=(*texts, "Purring"))
        return payment, Truth("already_paid", "exception", (), owner.key, (item.invoice_id,))

    def unknown_payer(self) -> tuple[Payment, Truth] | None:
        rng = self.rng
        name = rng.choice(PEOPLE) if rng.random() < 0.7 else None
        texts: tuple[str, ...] = ()
        roll = rng.random()
        if roll < 0.2:
            texts = ("Betaling",)
        elif roll < 0.35:
            texts = (f"Ordre {rng.randint(100000, 999999)}",)
        amount = Decimal(str(round(math.exp(rng.gauss(math.log(3000), 1.2)), 2))).quantize(CENT)
        payment = self.payment(None, amount, payer_name=name, account=self._account(), free_text=texts)
        return payment, Truth("unknown_payer", "exception", (), None)

    # -- issue 22 --

    def no_ref_known_account(self) -> tuple[Payment, Truth] | None:
        """No reference, from an account the customer paid a KID / invoice number from earlier (exactly):
        an engine that learns from confident automatic applications knows the payer, the amount is unique."""
        keys = [key for key in self.learnable if key not in self.members]
        if not keys:
            return None
        customer = self.owners[self.rng.choice(keys)]
        unique = self.unique_amounts(self.open_invoices(customer))
        if not unique:
            return None
        if len(unique) >= 3 and self.rng.random() < 0.25:  # a lump sum of its oldest unique-amount invoices
            chosen = unique[: self.rng.randint(2, 3)]
            total = sum((self.open[i.invoice_id] for i in chosen), ZERO)
            if any(self.open[i.invoice_id] == total for i in unique):
                return None
        else:
            chosen = [self.rng.choice(unique[:6])]
        amounts = [self.open[i.invoice_id] for i in chosen]
        payment = self.payment(
            customer, sum(amounts, ZERO), free_text=self.noise(), account=self.learnable[customer.key]
        )
        allocations = tuple(
            Allocation(i.invoice_id, i.number, a) for i, a in zip(chosen, amounts, strict=True)
        )
        return payment, Truth("no_ref_known_account", "apply", allocations, customer.key)

    def shared_account_kid(self) -> tuple[Payment, Truth] | None:
        """A customer pays its invoice's KID through a payment service / collective account: apply, and
        learn nothing about the account (it pays for several customers)."""
        shared = self.rng.choice(self.shared)
        found = self.single("shared_account_kid")
        if found is None:
            return None
        customer, item = found
        amount = self.open[item.invoice_id]
        name = shared.name if shared.kind != "collective" or self.rng.random() < 0.5 else None
        payment = self.payment(
            customer,
            amount,
            lines=(RemittanceLine(kid=item.kid),),
            payer_name=name,
            anonymous=name is None,
            account=shared.account,
        )
        shared.paid_for.append(customer.key)
        allocation = Allocation(item.invoice_id, item.number, amount)
        return payment, Truth("shared_account_kid", "apply", (allocation,), customer.key)

    def shared_account(self) -> tuple[Payment, Truth] | None:
        """No reference, from a shared account, and the amount is exactly a unique open amount of the last
        customer that paid through it by KID: had the account been learned as that customer's, the money
        would go there. Nobody can tell whose it is: an exception (and nothing to learn)."""
        ready = [s for s in self.shared if s.paid_for and s.known_shared]
        if not ready:
            return None
        shared = self.rng.choice(ready)
        last = self.owners[shared.paid_for[-1]]
        unique = self.unique_amounts(self.open_invoices(last))
        if not unique:
            return None
        amount = self.open[self.rng.choice(unique[:6]).invoice_id]
        payment = self.payment(
            None,
            amount,
            payer_name=shared.name if shared.kind != "collective" else None,
            account=shared.account,
            free_text=self.noise(),
        )
        return payment, Truth("shared_account", "exception", (), None)

    def _parent_payment(self, category: str, declared: bool) -> tuple[Payment, Truth] | None:
        parents = [p for p in self.parents if self.declared[p.key] == declared]
        if not parents:
            return None
        parent = self.rng.choice(parents)
        items = self.group_items(parent)
        unique = [i for i in self.unique_amounts(items) if i.customer_key != parent.key]
        if not unique:
            return None
        if category == "parent_pays_kid":
            chosen = [self.rng.choice(unique[:8])]
        else:
            chosen = self.rng.sample(unique[:8], min(len(unique[:8]), self.rng.randint(1, 3)))
        amounts = [self.open[i.invoice_id] for i in chosen]
        total = sum(amounts, ZERO)
        if len(chosen) > 1 and any(self.open[i.invoice_id] == total for i in items):
            return None
        if category == "parent_pays_kid":
            lines = tuple(RemittanceLine(kid=i.kid, amount=a) for i, a in zip(chosen, amounts, strict=True))
            payment = self.payment(parent, total, lines=lines, known_account=True)
        else:
            payment = self.payment(parent, total, free_text=self.noise(), known_account=True)
        allocations = tuple(
            Allocation(i.invoice_id, i.number, a) for i, a in zip(chosen, amounts, strict=True)
        )
        expect: Expect = "exception" if category == "parent_pays_new_group" else "apply"
        return payment, Truth(category, expect, allocations, parent.key)

    def parent_pays(self) -> tuple[Payment, Truth] | None:
        """A parent (known account) pays subsidiaries' invoices without a reference; the group is declared
        and the amount fits one combination of the group's open invoices: apply."""
        return self._parent_payment("parent_pays", declared=True)

    def parent_pays_kid(self) -> tuple[Payment, Truth] | None:
        """A parent pays a subsidiary's invoice by its KID: the group's payer, not a payer conflict."""
        return self._parent_payment("parent_pays_kid", declared=True)

    def parent_pays_new_group(self) -> tuple[Payment, Truth] | None:
        """As parent_pays, but nobody declared the group: an exception a person resolves (which teaches the
        group, after which the scorer counts such payments as parent_pays)."""
        return self._parent_payment("parent_pays_new_group", declared=False)

    def partial_reference(self) -> tuple[Payment, Truth] | None:
        """A valid KID or structured invoice number, the amount well below the open amount (and equal to no
        other open invoice of the customer): a partial payment by a known rule; often no payer name (OCR)."""
        found = self.single("partial_reference")
        if found is None:
            return None
        customer, item = found
        owed = self.open[item.invoice_id]
        if owed < 1000:
            return None
        paid = (owed * Decimal(self.rng.randint(20, 80)) / 100).quantize(Decimal(1)).quantize(CENT)
        if any(self.open[i.invoice_id] == paid for i in self.open_invoices(customer)):
            return None
        how = self.rng.choice(("kid", "kid", "kid", "cinv"))
        lines, _ = self.reference(item, how)
        anonymous = how == "kid" and self.rng.random() < 0.5
        payment = self.payment(
            customer, paid, lines=lines, anonymous=anonymous, no_account=anonymous and self.rng.random() < 0.5
        )
        allocation = Allocation(item.invoice_id, item.number, paid)
        return payment, Truth("partial_reference", "apply", (allocation,), customer.key)

    def old_kid(self) -> tuple[Payment, Truth] | None:
        """Last month's KID of the same customer, the amount exactly another of its open invoices (a unique
        amount): an exception, with that other invoice ranked first."""
        customer = self.pick()
        invoices = self.open_invoices(customer)
        unique = self.unique_amounts(invoices)
        if len(invoices) < 2 or not unique:
            return None
        meant = self.rng.choice(unique[:6])
        older = [i for i in invoices if i is not meant and i.issue_date <= meant.issue_date] or [
            i for i in invoices if i is not meant
        ]
        old = older[0]
        amount = self.open[meant.invoice_id]
        if self.open[old.invoice_id] == amount:
            return None
        known = self.rng.random() < 0.5
        payment = self.payment(
            customer,
            amount,
            lines=(RemittanceLine(kid=old.kid),),
            known_account=known,
            account=None if known else self._account(),
        )
        allocation = Allocation(meant.invoice_id, meant.number, amount)
        return payment, Truth("old_kid", "exception", (allocation,), customer.key, (meant.invoice_id,))

    def over_no_name(self) -> tuple[Payment, Truth] | None:
        """A valid KID and more than the open amount, no payer name (an OCR giro line): the KID's customer
        is the payer; apply by the overpayment rule."""
        found = self.single("over_no_name")
        if found is None:
            return None
        customer, item = found
        owed = self.open[item.invoice_id]
        excess = (owed * Decimal(self.rng.randint(1, 20)) / 100).quantize(CENT) or Decimal("1.00")
        payment = self.payment(
            customer,
            owed + excess,
            lines=(RemittanceLine(kid=item.kid),),
            anonymous=True,
            no_account=self.rng.random() < 0.7,
        )
        allocation = Allocation(item.invoice_id, item.number, owed + excess)
        return payment, Truth("over_no_name", "apply", (allocation,), customer.key)

    def _owner(self, item: OpenItem) -> Customer:
        return self.owners[item.customer_key]

    def start(self) -> HardSet:
        """The tenant before any payment: its items as issued, the accounts known, the declared groups, the
        shared accounts its policy lists; no payments yet."""
        accounts = {c.accounts[0]: c.key for c in self.customers if c.known}
        items = list(self.items.values())  # the generator keeps open amounts apart: these stay as issued
        groups = {
            member.key: parent
            for parent, members in self.members.items()
            if self.declared[parent]
            for member in members
        }
        declared = [s.account for s in self.shared if s.kind == "declared"]
        return HardSet(self.agreement, items, accounts, {}, [], [], len(self.customers), groups, declared)

    def build(self, count: int) -> HardSet:
        hard_set = self.start()
        for payment, truth in self.stream(count):
            hard_set.payments.append(payment)
            hard_set.truths.append(truth)
        return hard_set

    def stream(self, count: int) -> Iterator[tuple[Payment, Truth]]:
        """`count` payments with their truths, in booking order, each booked before the next is made."""
        builders: dict[str, Callable[[], tuple[Payment, Truth] | None]] = {
            "kid": self.kid,
            "kid_multi": lambda: self.multi("kid_multi"),
            "cinv": self.cinv,
            "cinv_multi": lambda: self.multi("cinv_multi"),
            "cren_netted": self.cren_netted,
            "kid_typo": self.kid_typo,
            "text_number": self.text_number,
            "text_typo": self.text_typo,
            "text_house_style": self.text_house_style,
            "fx": self.fx,
            "short_write_off": self.short_write_off,
            "over": self.over,
            "partial": self.partial,
            "deduction": self.deduction,
            "lump_unique": self.lump_unique,
            "lump_ambiguous": self.lump_ambiguous,
            "amount_only": self.amount_only,
            "amount_ambiguous": self.amount_ambiguous,
            "name_only": self.name_only,
            "wrong_kid": self.wrong_kid,
            "wrong_kid_unknown": self.wrong_kid_unknown,
            "fx_uninstructed": self.fx_uninstructed,
            "duplicate": self.duplicate,
            "already_paid": self.already_paid,
            "unknown_payer": self.unknown_payer,
            "no_ref_known_account": self.no_ref_known_account,
            "shared_account_kid": self.shared_account_kid,
            "shared_account": self.shared_account,
            "parent_pays": self.parent_pays,
            "parent_pays_kid": self.parent_pays_kid,
            "parent_pays_new_group": self.parent_pays_new_group,
            "partial_reference": self.partial_reference,
            "old_kid": self.old_kid,
            "over_no_name": self.over_no_name,
        }
        names = list(CATEGORIES)
        weights = [CATEGORIES[n][0] for n in names]
        made_so_far = 0
        while made_so_far < count:
            self.day = made_so_far * 60 // max(1, count)
            category = self.rng.choices(names, weights=weights)[0]
            made = None
            for _ in range(20):
                made = builders[category]()
                if made is not None:
                    break
            if made is None:
                continue
            payment, truth = made
            self.book(truth.allocations)
            made_so_far += 1
            # only the latest are drawn from (duplicates, already paid ones): a million-payment run keeps
            # no more than that
            if len(self.history) > 2 * HISTORY_DRAWN:
                del self.history[:-HISTORY_DRAWN]
            if len(self.paid) > 2 * PAID_DRAWN:
                del self.paid[:-PAID_DRAWN]
            yield payment, truth


def generate(
    seed: int = 1, payments: int = 20_000, customers: int = 4_000, invoices: int = 60_000
) -> HardSet:
    """The hard set for this seed: the tenant's items at the start, the payments in order, their truths."""
    return _Generator(seed, customers, invoices).build(payments)


def generate_stream(
    seed: int = 1, payments: int = 20_000, customers: int = 4_000, invoices: int = 60_000
) -> HardSet:
    """As `generate`, but the payments and truths are made one at a time as `score` reads them (the same
    ones, in the same order): the scale benchmark's memory holds the generator's bookkeeping, not 100,000
    payments. Scored once (with `copy_items=False`: the generator keeps its own open amounts)."""
    generator = _Generator(seed, customers, invoices)
    hard_set = generator.start()
    hard_set.stream = generator.stream(payments)
    hard_set.count = payments
    return hard_set


# --- scoring ---------------------------------------------------------------------------------------------


def _key(allocations: Sequence[Allocation]) -> tuple[tuple[str, Decimal, Decimal], ...]:
    return tuple(sorted((a.invoice_id, a.amount, a.write_off) for a in allocations))


def _negated(allocations: Sequence[Allocation]) -> list[Allocation]:
    return [dataclasses.replace(a, amount=-a.amount, write_off=-a.write_off) for a in allocations]


@dataclass
class Tally:
    """Counts and NOK amounts for one row of the report."""

    payments: int = 0
    amount: Decimal = ZERO
    auto: int = 0
    auto_amount: Decimal = ZERO
    false: int = 0
    false_amount: Decimal = ZERO
    approval: int = 0
    approval_right: int = 0
    review: int = 0  # exceptions and approvals with an intended allocation
    top3: int = 0
    top1: int = 0

    def pct(self, part: int | Decimal, whole: int | Decimal) -> float:
        return float(part) * 100 / float(whole) if whole else 0.0


@dataclass
class Report:
    rows: dict[str, Tally]
    match: Tally  # truth is a match (expect apply)
    structured: Tally
    everything: Tally
    invoices: int
    invoice_amount: Decimal
    invoices_auto: int
    invoices_auto_amount: Decimal
    allocations_applied: int
    allocations_false: int
    allocations_applied_amount: Decimal
    allocations_false_amount: Decimal
    seconds: float
    outcomes: Counter[str]
    per_payment: list[tuple[int, str, str, bool, bool]]
    index_seconds: float = 0.0  # building the index
    match_seconds: float = 0.0  # inside match_payment only
    extended_match: Tally = field(default_factory=Tally)  # as `match`, the issue-22 categories included
    extended_everything: Tally = field(default_factory=Tally)  # as `everything`, ditto
    learned_automatically: int = 0  # accounts / aliases learned from automatic applications

    @property
    def targets(self) -> list[tuple[str, float, str, bool]]:
        s, m, e = self.structured, self.match, self.everything
        return [
            (
                "structured auto-match",
                s.pct(s.auto, s.payments),
                ">= 99.5 %",
                s.pct(s.auto, s.payments) >= 99.5,
            ),
            ("structured false", s.pct(s.false, s.payments), "<= 0.05 %", s.pct(s.false, s.payments) <= 0.05),
            ("overall auto-match", m.pct(m.auto, m.payments), ">= 85 %", m.pct(m.auto, m.payments) >= 85.0),
            ("overall false", e.pct(e.false, e.payments), "<= 0.2 %", e.pct(e.false, e.payments) <= 0.2),
        ]

    @property
    def passed(self) -> bool:
        return all(ok for *_, ok in self.targets + self.issue_targets)

    @property
    def issue_targets(self) -> list[tuple[str, float, str, bool]]:
        """Issue 22's targets, per class and over the extended set (why parent_pays is held to 60 %: the
        module's docstring)."""
        rows, m, e = self.rows, self.extended_match, self.extended_everything

        def auto(name: str, floor: float) -> tuple[str, float, str, bool]:
            row = rows[name]
            value = row.pct(row.auto, row.payments)
            return (f"{name} auto", value, f">= {floor:g} %", value >= floor)

        def top1(name: str, floor: float) -> tuple[str, float, str, bool]:
            row = rows[name]
            value = row.pct(row.top1, row.review)
            return (f"{name} top-1", value, f">= {floor:g} %", value >= floor)

        issue_false = sum(rows[name].false for name in ISSUE_22)
        issue_payments = sum(rows[name].payments for name in ISSUE_22)
        false_rate = m.pct(issue_false, issue_payments)
        return [
            auto("no_ref_known_account", 88),
            auto("shared_account_kid", 99),
            auto("parent_pays", 60),
            auto("parent_pays_kid", 95),
            auto("partial_reference", 93),
            auto("over_no_name", 92),
            top1("old_kid", 90),
            top1("parent_pays_new_group", 0),  # reported; an undeclared group cannot be searched
            ("issue-22 categories false", false_rate, "== 0 %", issue_false == 0),
            (
                "extended overall auto-match",
                m.pct(m.auto, m.payments),
                ">= 90 %",
                m.pct(m.auto, m.payments) >= 90,
            ),
            (
                "extended overall false",
                e.pct(e.false, e.payments),
                "<= 0.2 %",
                e.pct(e.false, e.payments) <= 0.2,
            ),
        ]


def _nok(payment: Payment) -> Decimal:
    return payment.amount * NOK_RATES.get(payment.currency, Decimal(1))


def score(
    hard_set: HardSet,
    policy: MatchingPolicy | None = None,
    *,
    learning: bool = True,
    copy_items: bool = True,
    keep_per_payment: bool = True,
) -> Report:
    """Run the matcher over the set in order, as the service would; count what it did against the truth.

    `copy_items=False` hands the set's items to the index as they are (they are changed: a set scored so
    cannot be scored again); the scale benchmark uses it to hold one copy of a million items, not two.
    Without a `policy`, the default policy with the set's declared shared accounts.
    """
    policy = policy or MatchingPolicy(shared_accounts=hard_set.shared_accounts)
    items = [dataclasses.replace(item) for item in hard_set.items] if copy_items else hard_set.items
    index_started = time.perf_counter()
    index = MatchIndex(  # as the service builds it: the receiver profiles' groups as (member, parent)
        items,
        kid_agreement=hard_set.agreement,
        accounts=hard_set.accounts,
        aliases=hard_set.aliases,
        groups=sorted(hard_set.groups.items()),
    )
    index_seconds = time.perf_counter() - index_started
    match_seconds = 0.0
    rows: dict[str, Tally] = {name: Tally() for name in CATEGORIES}
    match, structured, everything = Tally(), Tally(), Tally()
    extended_match, extended_everything = Tally(), Tally()
    outcomes: Counter[str] = Counter()
    per_payment: list[tuple[int, str, str, bool, bool]] = []
    invoices = invoices_auto = allocations_applied = allocations_false = learned_automatically = 0
    invoice_amount = invoices_auto_amount = applied_amount = false_amount = ZERO

    def nok(allocation: Allocation) -> Decimal:
        item = index.item(allocation.invoice_id)  # the index, not a second million-entry table
        assert item is not None
        return allocation.amount * NOK_RATES[item.currency]

    def owner(invoice_id: str) -> str:
        item = index.item(invoice_id)
        assert item is not None
        return item.customer_key

    taught: dict[str, str] = {}  # aliases learned so far (the set's own name key -> customer)
    grouped: set[tuple[str, str]] = set(hard_set.groups.items())  # (member, parent) the index knows
    started = time.perf_counter()
    for number, (payment, truth) in enumerate(hard_set.pairs()):
        if (
            truth.category == "name_only"
            and taught.get(name_key(payment.payer_name or "")) == truth.customer_key
        ):
            truth = dataclasses.replace(truth, category="name_taught", expect="apply")
        if truth.category == "parent_pays_new_group" and all(
            (owner(a.invoice_id), truth.customer_key) in grouped for a in truth.allocations
        ):
            truth = dataclasses.replace(truth, category="parent_pays", expect="apply")
        matching = time.perf_counter()
        decision: Decision = match_payment(payment, index, policy, today=payment.booking_date)
        match_seconds += time.perf_counter() - matching
        outcomes[decision.outcome] += 1
        wanted = _key(truth.allocations)
        got = _key(decision.proposal.allocations) if decision.proposal else None
        auto = decision.outcome == "applied"
        correct_auto = auto and truth.expect == "apply" and got == wanted
        false = auto and not correct_auto
        tallies = [rows[truth.category], extended_everything]
        established = truth.category not in ISSUE_22
        if established:
            tallies.append(everything)
        if truth.expect == "apply":
            tallies.append(extended_match)
            if established:
                tallies.append(match)
                if truth.structured:
                    tallies.append(structured)
        for tally in tallies:
            tally.payments += 1
            tally.amount += _nok(payment)
            if correct_auto:
                tally.auto += 1
                tally.auto_amount += _nok(payment)
            if false:
                tally.false += 1
                tally.false_amount += _nok(payment)
        if truth.expect == "apply":
            invoices += len(truth.allocations)
            invoice_amount += sum((nok(a) for a in truth.allocations), ZERO)
            if correct_auto:
                invoices_auto += len(truth.allocations)
                invoices_auto_amount += sum((nok(a) for a in truth.allocations), ZERO)
        if auto and decision.proposal is not None:
            allocations_applied += len(decision.proposal.allocations)
            applied_amount += sum((nok(a) for a in decision.proposal.allocations), ZERO)
            wrong = [
                a
                for a in decision.proposal.allocations
                if (a.invoice_id, a.amount, a.write_off) not in wanted
            ]
            if truth.expect != "apply":
                wrong = list(decision.proposal.allocations)
            allocations_false += len(wrong)
            false_amount += sum((nok(a) for a in wrong), ZERO)
        if not auto:
            row = rows[truth.category]
            if decision.outcome == "needs_approval":
                row.approval += 1
                row.approval_right += got == wanted
            if truth.allocations or truth.suggest:
                row.review += 1
                for rank, suggestion in enumerate(decision.suggestions[:3]):
                    ids = tuple(sorted(a.invoice_id for a in suggestion.allocations))
                    if (truth.allocations and _key(suggestion.allocations) == wanted) or (
                        not truth.allocations and set(truth.suggest) <= set(ids)
                    ):
                        row.top3 += 1
                        row.top1 += rank == 0
                        break
        if keep_per_payment:
            per_payment.append((number, truth.category, decision.outcome, correct_auto, false))
        # what the service and its people do next
        if auto and decision.proposal is not None:
            index.apply(decision.proposal.allocations)
            if learning and policy.learn_from_automatic:
                # the service learns from an automatic application as it books it (and withdraws what it
                # learned when a person reverses it: the index here keeps it; such a payment is already
                # counted as false)
                learned = learn_from_application(payment, decision, index, policy)
                learned_automatically += len(learned.accounts) + len(learned.aliases)
                taught.update((name_key(name), key) for name, key in learned.aliases.items())
            if correct_auto:
                continue
            index.apply(_negated(decision.proposal.allocations))  # a person reverses the wrong application
        elif decision.outcome == "needs_approval" and got == wanted and decision.proposal is not None:
            index.apply(decision.proposal.allocations)  # approved as proposed
            continue
        if truth.allocations:
            index.apply(truth.allocations)
        if learning and truth.customer_key is not None and truth.allocations:
            learned = learn_from_resolution(payment, truth.allocations, index, truth.customer_key)
            taught.update((name_key(name), key) for name, key in learned.aliases.items())
            for allocation in truth.allocations:
                member = owner(allocation.invoice_id)
                if member != truth.customer_key:
                    index.learn_group(member, truth.customer_key)
                    grouped.add((member, truth.customer_key))
    seconds = time.perf_counter() - started
    return Report(
        rows,
        match,
        structured,
        everything,
        invoices,
        invoice_amount,
        invoices_auto,
        invoices_auto_amount,
        allocations_applied,
        allocations_false,
        applied_amount,
        false_amount,
        seconds,
        outcomes,
        per_payment,
        index_seconds,
        match_seconds,
        extended_match,
        extended_everything,
        learned_automatically,
    )


def print_report(hard_set: HardSet, report: Report) -> None:
    total = hard_set.size
    print(
        f"hard set: {total} payments, {len(hard_set.items)} items "
        f"({sum(1 for i in hard_set.items if i.document_type == 'credit_note')} credit notes), "
        f"{hard_set.customers} customers, {len(hard_set.accounts)} payer accounts known at the start"
    )
    print(
        f"index built in {report.index_seconds:.1f} s; match_payment {report.match_seconds:.1f} s "
        f"({total / max(report.match_seconds, 1e-9):,.0f} payments/s), the whole run with people's "
        f"resolutions {report.seconds:.1f} s; "
        f"outcomes {dict(report.outcomes)}"
    )
    print()
    header = (
        f"{'category':<22}{'expect':<10}{'n':>6}{'share':>7}{'auto':>8}{'false':>7}"
        f"{'approval':>9}{'top-1':>8}{'top-3':>8}"
    )
    print(header)
    print("-" * len(header))
    for name, tally in report.rows.items():
        expect = CATEGORIES[name][1]
        if not tally.payments:
            continue
        if name in ISSUE_22 and not any(
            n in ISSUE_22 for n in list(report.rows)[: list(report.rows).index(name)]
        ):
            print("-- issue 22 --")
        auto = tally.pct(tally.auto, tally.payments)
        print(
            f"{name:<22}{expect:<10}{tally.payments:>6}{tally.pct(tally.payments, total):>6.1f}%"
            f"{auto:>7.1f}%{tally.pct(tally.false, tally.payments):>6.2f}%"
            f"{tally.pct(tally.approval_right, tally.payments):>8.1f}%"
            f"{tally.pct(tally.top1, tally.review):>7.1f}%"
            f"{tally.pct(tally.top3, tally.review):>7.1f}%"
        )
    print()
    print(
        "auto = applied by itself and exactly as the truth; false = applied but not as the truth (or applied"
    )
    print(
        "when the truth is an exception); approval = needs_approval with the right proposal; top-3 = of the"
    )
    print("exceptions/approvals with an intended answer, the share that has it among the top-3 suggestions")
    print("(top-1: as the first suggestion).")
    print()
    s, m, e = report.structured, report.match, report.everything
    review = sum(t.review for t in report.rows.values())
    top3 = sum(t.top3 for t in report.rows.values())
    lines = [
        (
            "structured (KID/CINV/CREN), by count",
            s.pct(s.auto, s.payments),
            s.pct(s.false, s.payments),
            s.payments,
        ),
        (
            "structured, by amount",
            s.pct(s.auto_amount, s.amount),
            s.pct(s.false_amount, s.amount),
            s.payments,
        ),
        (
            "overall (truth is a match), by count",
            m.pct(m.auto, m.payments),
            e.pct(e.false, e.payments),
            m.payments,
        ),
        ("overall, by amount", m.pct(m.auto_amount, m.amount), e.pct(e.false_amount, e.amount), m.payments),
        (
            "extended (issue 22 too), by count",
            report.extended_match.pct(report.extended_match.auto, report.extended_match.payments),
            report.extended_everything.pct(
                report.extended_everything.false, report.extended_everything.payments
            ),
            report.extended_match.payments,
        ),
    ]
    print(f"{'per payment':<40}{'auto':>9}{'false':>9}{'n':>8}")
    for label, auto, false, count in lines:
        print(f"{label:<40}{auto:>8.2f}%{false:>8.3f}%{count:>8}")
    print("(false over all payments in the row; 'overall false' counts every payment, also exception truths)")
    print()
    inv = report
    print(f"{'per invoice':<40}{'auto':>9}{'false':>9}{'n':>8}")
    print(
        f"{'by count':<40}{100 * inv.invoices_auto / max(1, inv.invoices):>8.2f}%"
        f"{100 * inv.allocations_false / max(1, inv.allocations_applied):>8.3f}%{inv.invoices:>8}"
    )
    auto_share = inv.invoices_auto_amount * 100 / max(Decimal(1), inv.invoice_amount)
    false_share = inv.allocations_false_amount * 100 / max(Decimal(1), inv.allocations_applied_amount)
    print(f"{'by amount':<40}{float(auto_share):>8.2f}%{float(false_share):>8.3f}%")
    print(
        "(auto: the truth's invoice allocations applied by themselves; false: share of automatically applied"
    )
    print(" allocations that were not the truth's)")
    print()
    print(
        f"exceptions and approvals with the right answer in the top 3: {top3}/{review} "
        f"({100 * top3 / max(1, review):.1f} %)"
    )
    print()
    for label, value, target, ok in report.targets + report.issue_targets:
        print(f"target {label:<34}{value:>8.3f} %  {target:<10} {'ok' if ok else 'MISSED'}")
    print()
    print(f"identities learned from automatic applications: {report.learned_automatically}")


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--payments", type=int, default=20_000)
    parser.add_argument("--customers", type=int, default=4_000)
    parser.add_argument("--invoices", type=int, default=60_000)
    parser.add_argument(
        "--no-learning", action="store_true", help="people resolve exceptions but teach nothing"
    )
    parser.add_argument(
        "--per-payment", type=Path, help="write one line per payment (category, outcome) here"
    )
    args = parser.parse_args(argv)
    started = time.perf_counter()
    hard_set = generate(args.seed, args.payments, args.customers, args.invoices)
    print(f"generated in {time.perf_counter() - started:.1f} s (seed {args.seed})")
    report = score(hard_set, learning=not args.no_learning)
    print_report(hard_set, report)
    if args.per_payment:
        with args.per_payment.open("w", encoding="utf-8") as out:
            for number, category, outcome, correct, false in report.per_payment:
                out.write(
                    f"{number}\t{category}\t{outcome}\t{'auto' if correct else 'false' if false else '-'}\n"
                )
    return 0 if report.passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
