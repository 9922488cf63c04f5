"""Customer groups: a parent that pays its subsidiaries' invoices (issue 22).

A link says "`parent` pays for `member`": from a receiver profile's `parent_customer`, an API call, or a
person's resolution of a payment from one customer onto another's items. Groups nest (a holding pays for
a subsidiary that pays for its own); a parent's group is every customer below it, never the customers
above it or beside it, so a subsidiary's money is never searched against its parent's invoices.

Customer keys are what invoices give (`org:0192:910667831`, `vat:NO...`, `name:...`); a parent named by
an org number alone is matched to the one known key that ends with it (`parent_key`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from gateway.matching.names import match_key

if TYPE_CHECKING:
    from gateway.matching.index import MatchIndex
    from gateway.matching.model import Allocation
    from schemas.remittance import Payment

_ORG_NUMBER = re.compile(r"(?:NO)?(\d{9})(?:MVA)?")


class CustomerGroups:
    """member -> parents, and parent -> members; `members_of` follows nested groups, cycle-safe."""

    def __init__(self, links: Iterable[tuple[str, str]] = ()) -> None:
        self._members: dict[str, list[str]] = {}
        self._parents: dict[str, list[str]] = {}
        for member, parent in links:
            self.link(member, parent)

    def __bool__(self) -> bool:
        return bool(self._members)

    def link(self, member: str, parent: str) -> bool:
        """Record that `parent` pays for `member`; False when already known or a customer names itself."""
        if not member or not parent or member == parent:
            return False
        members = self._members.setdefault(parent, [])
        if member in members:
            return False
        members.append(member)
        self._parents.setdefault(member, []).append(parent)
        return True

    def members_of(self, parent: str) -> list[str]:
        """Every customer `parent` pays for, nested groups included, nearest first (never `parent`)."""
        found: list[str] = []
        seen = {parent}
        frontier = [parent]
        while frontier:
            following: list[str] = []
            for key in frontier:
                for member in self._members.get(key, ()):
                    if member not in seen:
                        seen.add(member)
                        found.append(member)
                        following.append(member)
            frontier = following
        return found

    def parents_of(self, member: str) -> list[str]:
        """The customers that pay for `member` directly."""
        return list(self._parents.get(member, ()))


def parent_key(reference: str, known: Iterable[str]) -> str:
    """The customer key a parent reference names: a known key as given (any case), else the one known
    `org:`/`vat:` key with the same nine-digit organisation number, else the reference as a key.

    "910667831", "NO910667831MVA", "org:910667831" and "org:0192:910667831" name the same company.
    """
    text = " ".join(reference.split())
    keys = list(known)
    folded = {key.casefold(): key for key in keys}
    if text.casefold() in folded:
        return folded[text.casefold()]
    number = org_number(text)
    if number is not None:
        same = sorted({key for key in keys if org_number(key) == number})
        if len(same) == 1:
            return same[0]
        if same:
            return next((key for key in same if key.startswith("org:")), same[0])
        return f"org:{number}"
    if text[:4].casefold() == "name":
        return "name:" + text[5:].strip().casefold()
    return text


def org_number(key: str) -> str | None:
    """The nine-digit organisation number a key or reference carries (org:…, vat:NO…MVA, or bare)."""
    value = key.split(":")[-1].replace(" ", "").upper()
    if key[:5].casefold() == "name:":
        return None
    found = _ORG_NUMBER.fullmatch(value)
    return found.group(1) if found else None


def learn_groups_from_resolution(
    payment: Payment, allocations: Sequence[Allocation], index: MatchIndex
) -> list[tuple[str, str]]:
    """What a person's resolution teaches about groups, applied to `index`: (member, parent) links.

    The payer is known as customer P (a learned account, else a learned alias, else the one allocated
    customer whose name is the payer's) and the person put its money on items of other customers: P pays
    for them. Nothing is learned when the payer is unknown or paid only its own items. (The service does
    the same against the database: `gateway.services.payments.matching_runs._learn`.)
    """
    owners: dict[str, str] = {}
    for allocation in allocations:
        item = index.item(allocation.invoice_id)
        if item is not None:
            owners.setdefault(item.customer_key, item.customer_name)
    payer = index.customer_for_account(payment.payer_account) if payment.payer_account else None
    if payer is None and payment.payer_name:
        payer = index.customer_for_alias(payment.payer_name)
    if payer is None and payment.payer_name:
        name = match_key(payment.payer_name)
        named = [key for key, customer in owners.items() if name and match_key(customer) == name]
        payer = named[0] if len(named) == 1 else None
    if payer is None:
        return []
    learned = [
        (member, payer) for member in owners if member != payer and payer not in index.group_of(member)
    ]
    return [(member, parent) for member, parent in learned if index.learn_group(member, parent)]
