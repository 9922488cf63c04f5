"""The in-memory index matching reads: a tenant's open and recently paid items, and what people taught.

Items are found by normalised number, KID and customer; payers by learned account and alias, or by a
name that resembles a customer's (`NameIndex`); free-text house styles by learned reference patterns.
"""

from __future__ import annotations

import bisect
import re
import sys
from collections.abc import Callable, Collection, Iterable, Mapping
from decimal import Decimal
from types import MappingProxyType

from gateway.matching.groups import CustomerGroups
from gateway.matching.model import Allocation, LearnedPattern, OpenItem
from gateway.matching.names import NameHit, NameIndex, alias_key
from gateway.matching.references import compact_kid, normalise_account, normalise_number
from mappings.base import FormatError
from schemas.kid import KidAgreement

_EMPTY: Mapping[str, str] = MappingProxyType({})
_Table = dict[str, "OpenItem | list[OpenItem]"]
_Key = str | Decimal  # a number, a KID, an open amount


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


class _SortedTable:
    """Items by key, in the order they were filed: the bulk as two sorted lists, later filings in a dict.

    A million-entry dict costs about 41 MiB; the same entries as a sorted list of keys beside a list of
    items cost 16 MiB, and a lookup is a bisection (about twenty comparisons, in C). The bulk (what the
    index is built from) is sorted stably, so items with one key keep their filing order, and items filed
    later (`put`) come after them, as they would in a dict of lists. `take` retires a bulk item without
    moving the lists (a replaced item; rare).
    """

    __slots__ = ("_filter", "_filter_mask", "_items", "_keys", "_later", "_retired")

    def __init__(
        self, items: list[OpenItem] | None = None, key: Callable[[OpenItem], _Key] | None = None
    ) -> None:
        """`items` in filing order, each with a `key` (cheap: it is asked twice); the table keeps the list.

        Sorted in place (stable: filing order within a key) and the keys read off afterwards: no
        million-entry list of positions or pairs, which would cost more than the tables save.
        """
        if items and key is not None:
            items.sort(key=key)
            self._keys: list[_Key] = list(map(key, items))
        else:
            items, self._keys = [], []
        self._items = items
        # one bit per hash value (modulo eight per key): a lookup whose bit is clear is not in the bulk,
        # without a bisection through a million keys in memory far apart (most lookups: typo neighbours)
        bits = 1 << max(10, (8 * len(self._keys)).bit_length())
        self._filter = bytearray(bits >> 3)
        self._filter_mask = bits - 1
        for hashed in map(hash, self._keys):
            hashed &= self._filter_mask
            self._filter[hashed >> 3] |= 1 << (hashed & 7)
        self._later: dict[_Key, OpenItem | list[OpenItem]] = {}
        self._retired: set[int] = set()  # id() of bulk items taken out (the lists keep them alive)

    def put(self, key: _Key, item: OpenItem) -> None:
        _put(self._later, key, item)  # type: ignore[arg-type]

    def take(self, key: _Key, item: OpenItem) -> None:
        if item is self._first(key, item):
            self._retired.add(id(item))
        _take(self._later, key, item)  # type: ignore[arg-type]

    def _first(self, key: _Key, wanted: OpenItem) -> OpenItem | None:
        """`wanted` when it is among the bulk's live items under `key`, else None."""
        return next((item for item in self._bulk(key) if item is wanted), None)

    def _bulk(self, key: _Key) -> list[OpenItem]:
        hashed = hash(key) & self._filter_mask
        if not self._filter[hashed >> 3] >> (hashed & 7) & 1:
            return []
        keys = self._keys
        start = bisect.bisect_left(keys, key)
        if start == len(keys) or keys[start] != key:
            return []  # most lookups (a typo's few hundred neighbours) find nothing
        end = bisect.bisect_right(keys, key, start)
        found = self._items[start:end]
        if self._retired and found:
            found = [item for item in found if id(item) not in self._retired]
        return found

    def get(self, key: _Key) -> list[OpenItem]:
        """The items filed under `key`, in filing order (a new list)."""
        found = self._bulk(key)
        later = self._later.get(key)
        if later is not None:
            found += later if isinstance(later, list) else [later]
        return found


def _kid_key(item: OpenItem) -> str:
    return compact_kid(item.kid or "")


def _open_amount(item: OpenItem) -> Decimal:
    return item.open_amount


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
        self._numbers = _SortedTable()  # filled after the items: sorted lists are built in one go
        self._kids = _SortedTable()
        self._customers: dict[str, list[OpenItem]] = {}
        self._customer_names: dict[str, list[str]] = {}
        self._names = NameIndex()
        self._accounts: dict[str, str | None] = {}
        self._aliases: dict[str, str | None] = {}
        self._patterns: dict[str | None, list[tuple[LearnedPattern, re.Pattern[str]]]] = {}
        self._amounts: _SortedTable | None = None  # built on first use: open_with_amount
        self._account_sources: dict[str, str] = {}  # how an account was learned ("payment X's KID 123")
        self._taught_accounts: set[str] = set()  # accounts a person taught (not only the engine's learning)
        for item in items:
            self._add(item, tables=False)
        number_key = self._number_key
        self._numbers = _SortedTable([i for i in self._items.values() if number_key(i)], number_key)
        self._kids = _SortedTable([i for i in self._items.values() if i.kid], _kid_key)
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
        self._add(item, tables=True)

    @staticmethod
    def _number_key(item: OpenItem) -> str:
        """The key an item's number is filed under ("" for none); the item's own string when it is
        already normalised (a million numbers, one string each; digits without a leading zero are)."""
        own = item.number
        if own.isdigit() and own[0] != "0" and own.isascii():
            return own
        number = normalise_number(own)
        return own if number == own else number

    def _add(self, item: OpenItem, *, tables: bool) -> None:
        """`tables=False` while the index is built: the number and KID tables are sorted in one go."""
        old = self._items.get(item.invoice_id)
        if old is not None:
            self._remove(old)
        item.customer_key = sys.intern(item.customer_key)
        item.customer_name = sys.intern(item.customer_name)
        item.currency = sys.intern(item.currency)
        self._items[item.invoice_id] = item
        if self._amounts is not None:
            self._amounts.put(item.open_amount, item)
        if tables:
            number = self._number_key(item)
            if number:
                self._numbers.put(number, item)
            if item.kid:
                self._kids.put(compact_kid(item.kid), item)
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
        self._numbers.take(normalise_number(item.number), item)
        if item.kid:
            self._kids.take(compact_kid(item.kid), item)
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
            if self._amounts is not None and item.open_amount > 0:
                self._amounts.put(item.open_amount, item)

    def learn_account(
        self, account: str, customer_key: str, *, source: str = "", automatic: bool = False
    ) -> None:
        """`automatic`: learned from the engine's own application, not taught by a person; `source` says
        from what (kept from the first source)."""
        key = normalise_account(account)
        if key:
            self._accounts[key] = (
                customer_key if self._accounts.get(key, customer_key) == customer_key else None
            )
            if source:
                self._account_sources.setdefault(key, source)
            if not automatic:
                self._taught_accounts.add(key)

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
        return self._numbers.get(number)

    def by_kid(self, kid: str) -> list[OpenItem]:
        return self._kids.get(kid)

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

    def open_with_amount(
        self, amount: Decimal, currency: str, *, limit: int | None = None, excluded: Collection[str] = ()
    ) -> list[OpenItem]:
        """Open invoices of any customer (not of `excluded`) whose open amount is exactly `amount` in
        `currency`, in filing order; the first `limit` of them (a subscription price is thousands').

        The amount table is built on first use (only a reference that does not fit, from a payer who is
        not identified, asks) and kept up to date by `add` and `apply`; stale entries are skipped here.
        """
        if self._amounts is None:
            self._amounts = _SortedTable(
                [item for item in self._items.values() if item.open_amount > 0], _open_amount
            )
        found: dict[str, OpenItem] = {}
        for item in self._amounts.get(amount):
            if (
                item.open_amount == amount
                and item.currency == currency
                and item.document_type == "invoice"
                and item.customer_key not in excluded
                and self._items.get(item.invoice_id) is item
            ):
                found[item.invoice_id] = item
                if limit is not None and len(found) >= limit:
                    break
        return list(found.values())

    def count_open_with_amount(self, amount: Decimal, currency: str, enough: int) -> int:
        """How many open invoices have exactly `amount` in `currency`, counted up to `enough` (a common
        amount is known as such without walking the thousands of a subscription price)."""
        return len(self.open_with_amount(amount, currency, limit=enough))

    def share_account(self, account: str) -> None:
        """An account that identifies no one (a payment service, a bank's collective account: policy)."""
        key = normalise_account(account)
        if key:
            self._accounts[key] = None

    def account_taught(self, account: str) -> bool:
        """Whether a person taught the account (else only the engine's own applications did, if anyone)."""
        return normalise_account(account) in self._taught_accounts

    def account_source(self, account: str) -> str:
        """How the account was learned ("payment X's KID 123"), or "" when nothing says."""
        return self._account_sources.get(normalise_account(account), "")

    def learn_group(self, member: str, parent: str) -> bool:
        """Record that `parent` pays for `member`; False when already known."""
        return self._groups.link(member, parent)

    def group_of(self, parent: str) -> list[str]:
        """The customers `parent` pays for (nested groups included), nearest first; never `parent`."""
        return self._groups.members_of(parent) if self._groups else []

    def parents_of(self, member: str) -> list[str]:
        return self._groups.parents_of(member)

    def account_owners(self) -> list[str]:
        """Every customer a learned account identifies (taught by a person or by the engine's learning)."""
        return sorted({owner for owner in self._accounts.values() if owner is not None})

    def customer_keys(self) -> list[str]:
        """Every customer the index holds items of."""
        return list(self._customers)
