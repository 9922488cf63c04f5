"""The in-memory index matching reads: a tenant's open and recently paid items, and what people taught.

Items are found by normalised number, KID and customer; payers by learned account and alias, or by a
name that resembles a customer's (`NameIndex`); free-text house styles by learned reference patterns.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Mapping
from types import MappingProxyType

from gateway.matching.groups import CustomerGroups
from gateway.matching.model import Allocation, LearnedPattern, OpenItem
from gateway.matching.names import NameHit, NameIndex, alias_key
from gateway.matching.references import compact_kid, normalise_account, normalise_number
from mappings.base import FormatError
from schemas.kid import KidAgreement

_EMPTY: Mapping[str, str] = MappingProxyType({})
_Table = dict[str, "OpenItem | list[OpenItem]"]


def _put(table: _Table, key: str, item: OpenItem) -> None:
    existing = table.get(key)
    if existing is None:
        table[key] = item
    elif isinstance(existing, list):
        existing.append(item)
    else:
        table[key] = [existing, item]


def _take(table: _Table, key: str, item: OpenItem) -> None:
    existing = table.get(key)
    if existing is item:
        del table[key]
    elif isinstance(existing, list):
        remaining = [other for other in existing if other is not item]
        if not remaining:
            del table[key]
        else:
            table[key] = remaining[0] if len(remaining) == 1 else remaining


def _found(table: _Table, key: str) -> list[OpenItem]:
    existing = table.get(key)
    if existing is None:
        return []
    return list(existing) if isinstance(existing, list) else [existing]


class MatchIndex:
    """A tenant's open and recently paid items, indexed for matching, and what people taught.

    Items stay in the number and KID tables after they are paid (`open_amount <= 0`), so a second payment
    for a paid invoice is explained as a duplicate instead of being applied elsewhere; they leave the
    candidate pool for amount-only matching. Items of a customer are grouped, so no search ever scans the
    whole index. `accounts` and `aliases` map a payer account / payer name to a customer key: an account or
    alias learned for two different customers identifies neither (a payment service, a shared account).
    `groups` are (member, parent) links, or member -> parent: the parent pays its members' invoices
    (`gateway.matching.groups`).
    """

    def __init__(
        self,
        items: Iterable[OpenItem] = (),
        *,
        kid_agreement: KidAgreement | None = None,
        accounts: Mapping[str, str] = _EMPTY,
        aliases: Mapping[str, str] = _EMPTY,
        patterns: Iterable[LearnedPattern] = (),
        groups: Iterable[tuple[str, str]] | Mapping[str, str] = (),
    ) -> None:
        self.kid_agreement = kid_agreement
        self._items: dict[str, OpenItem] = {}
        self._numbers: _Table = {}
        self._kids: _Table = {}
        self._customers: dict[str, list[OpenItem]] = {}
        self._customer_names: dict[str, list[str]] = {}
        self._names = NameIndex()
        self._accounts: dict[str, str | None] = {}
        self._aliases: dict[str, str | None] = {}
        self._patterns: dict[str | None, list[tuple[LearnedPattern, re.Pattern[str]]]] = {}
        for item in items:
            self.add(item)
        for account, customer_key in accounts.items():
            self.learn_account(account, customer_key)
        for name, customer_key in aliases.items():
            self.learn_alias(name, customer_key)
        for pattern in patterns:
            self.learn_pattern(pattern)
        self._groups = CustomerGroups(groups.items() if isinstance(groups, Mapping) else groups)

    def __len__(self) -> int:
        return len(self._items)

    def add(self, item: OpenItem) -> None:
        """Index an item (again: an item with a known `invoice_id` replaces the old one)."""
        old = self._items.get(item.invoice_id)
        if old is not None:
            self._remove(old)
        item.customer_key = sys.intern(item.customer_key)
        item.customer_name = sys.intern(item.customer_name)
        item.currency = sys.intern(item.currency)
        self._items[item.invoice_id] = item
        number = normalise_number(item.number)
        if number:
            _put(self._numbers, item.number if number == item.number else number, item)
        if item.kid:
            _put(self._kids, compact_kid(item.kid), item)
        customer_items = self._customers.get(item.customer_key)
        if customer_items is None:
            self._customers[item.customer_key] = [item]
            self._customer_names[item.customer_key] = [item.customer_name]
            self._names.add(item.customer_key, item.customer_name)
        else:
            customer_items.append(item)
            known = self._customer_names[item.customer_key]
            if item.customer_name not in known:
                known.append(item.customer_name)
                self._names.add(item.customer_key, item.customer_name)

    def _remove(self, item: OpenItem) -> None:
        del self._items[item.invoice_id]
        _take(self._numbers, normalise_number(item.number), item)
        if item.kid:
            _take(self._kids, compact_kid(item.kid), item)
        customer_items = self._customers.get(item.customer_key, [])
        if item in customer_items:
            customer_items.remove(item)

    def apply(self, allocations: Iterable[Allocation]) -> None:
        """Lower open amounts by what was applied and written off; an item at <= 0 leaves the pool.

        All allocations are checked before any is applied: an unknown item changes nothing.
        """
        pending = list(allocations)
        items = []
        for allocation in pending:
            item = self._items.get(allocation.invoice_id)
            if item is None:
                raise KeyError(f"allocation to {allocation.invoice_id!r}: no such item in the matching index")
            items.append(item)
        for item, allocation in zip(items, pending, strict=True):
            item.open_amount -= allocation.amount + allocation.write_off

    def learn_account(self, account: str, customer_key: str) -> None:
        key = normalise_account(account)
        if key:
            self._accounts[key] = (
                customer_key if self._accounts.get(key, customer_key) == customer_key else None
            )

    def learn_alias(self, name: str, customer_key: str) -> None:
        key = alias_key(name)
        if key:
            self._aliases[key] = (
                customer_key if self._aliases.get(key, customer_key) == customer_key else None
            )

    def learn_pattern(self, pattern: LearnedPattern) -> bool:
        """Add a reference pattern; False when it is already known. A bad regex raises `FormatError`."""
        known = self._patterns.setdefault(pattern.customer_key, [])
        if any(existing.regex == pattern.regex for existing, _ in known):
            return False
        try:
            compiled = re.compile(pattern.regex, re.IGNORECASE)
        except re.error as error:
            raise FormatError(
                "pattern.regex", f"{pattern.regex!r} is no regular expression: {error}"
            ) from None
        if compiled.groups < 1:
            raise FormatError("pattern.regex", f"{pattern.regex!r} has no capture group for the number")
        known.append((pattern, compiled))
        return True

    # lookups the engine uses

    def item(self, invoice_id: str) -> OpenItem | None:
        return self._items.get(invoice_id)

    def by_number(self, number: str) -> list[OpenItem]:
        """Items whose normalised number is `number` (already normalised)."""
        return _found(self._numbers, number)

    def by_kid(self, kid: str) -> list[OpenItem]:
        return _found(self._kids, kid)

    def items_of(self, customer_key: str) -> list[OpenItem]:
        return self._customers.get(customer_key, [])

    def customer_names(self, customer_key: str) -> list[str]:
        return self._customer_names.get(customer_key, [])

    def customer_name(self, customer_key: str) -> str:
        names = self._customer_names.get(customer_key)
        return names[0] if names else customer_key

    def account_owner(self, account: str) -> tuple[str | None, bool]:
        """The customer a payer account is learned for, and whether it is shared (learned for several)."""
        key = normalise_account(account)
        if key not in self._accounts:
            return None, False
        owner = self._accounts[key]
        return owner, owner is None

    def customer_for_account(self, account: str) -> str | None:
        return self.account_owner(account)[0]

    def customer_for_alias(self, name: str) -> str | None:
        return self._aliases.get(alias_key(name))

    def find_names(self, name: str, *, limit: int = 5) -> list[NameHit]:
        return self._names.search(name, limit=limit)

    def patterns_for(self, customer_key: str | None) -> list[tuple[LearnedPattern, re.Pattern[str]]]:
        return self._patterns.get(customer_key, [])

    def learn_group(self, member: str, parent: str) -> bool:
        """Record that `parent` pays for `member`; False when already known."""
        return self._groups.link(member, parent)

    def group_of(self, parent: str) -> list[str]:
        """The customers `parent` pays for (nested groups included), nearest first; never `parent`."""
        return self._groups.members_of(parent) if self._groups else []

    def parents_of(self, member: str) -> list[str]:
        return self._groups.parents_of(member)

    def customer_keys(self) -> list[str]:
        """Every customer the index holds items of."""
        return list(self._customers)
