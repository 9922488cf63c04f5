"""The invoice search behind `GET /invoices`: find a tenant's invoices by what people know about them.

A finance team knows a number, a customer (part of its name, its organisation number), a KID or an amount;
the operators know a delivery status or a channel. A page is found one of two ways. A filter that pins the
rows down through its own index (a number, a KID, an amount, a buyer id, a few buyer names, the few
invoices with a delivery status or a change since) finds them, and they are sorted. Otherwise the page
order's index is walked and each row checked, which fills a page after a few rows exactly when many rows
match. The buyer's name is matched by substring among the tenant's distinct buyer names
(`invoice_buyer_names`), far fewer than its invoices. The choice is made here, after a bounded look
(at most `FEW_INVOICES` counted in an index), not left to the planner: SQLite plans without statistics unless
someone runs ANALYZE, and would walk a million rows for one invoice number. See benchmarks/search.py.

Pages are keyset pages: ordered by (sort key, id), the cursor is the last row's pair, so the next page
starts after it however many rows were added meanwhile. The cursor is opaque text carrying a checksum and
the search it belongs to; it is no secret (every query is the tenant's own anyway), but an edited cursor,
or one from another search, is refused instead of quietly paging something else.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import hashlib
import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal, InvalidOperation
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import (
    ColumnElement,
    Select,
    and_,
    exists,
    false,
    func,
    or_,
    select,
    tuple_,
    union_all,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Mapped, Session
from sqlalchemy.sql.selectable import CompoundSelect
from sqlmodel import col

from db.models import BuyerName, Delivery, DeliveryEvent, InvoiceRecord, PaymentAllocation
from gateway.services.moments import UTC_MOMENT_WORDS, UtcMoment, as_utc
from outbox.states import DeliveryStatus
from schemas.canonical import Invoice
from schemas.search_keys import SearchColumns, amount_cents, folded, identifier_key, search_columns

SortOrder = Literal[
    "created", "-created", "issue_date", "-issue_date", "due_date", "-due_date", "amount", "-amount",
    "number", "-number",
]  # fmt: skip
PaymentStatus = Literal["unpaid", "partially_paid", "paid", "overpaid"]
#: The column each sort order reads (a `-` in front: descending); each has an index (tenant, key, id, …).
SORT_COLUMNS: dict[str, Mapped[Any]] = {
    "created": col(InvoiceRecord.created_at),
    "issue_date": col(InvoiceRecord.issue_date),
    "due_date": col(InvoiceRecord.due_date),
    "amount": col(InvoiceRecord.payable_cents),
    "number": col(InvoiceRecord.number),
}
#: Sort columns that may be empty: an empty one sorts lowest (first ascending, last descending).
_NULLABLE = frozenset({"due_date"})
_CHECKSUM_BYTES = 8
_CURSOR_SALT = b"gateway invoice search cursor v1\x00"


class InvoiceSearch(BaseModel):
    """What an invoice search asks for; every filter given must hold (they are combined with AND)."""

    model_config = ConfigDict(extra="forbid")

    number: str | None = Field(None, min_length=1, max_length=100, description="the document number, exactly")
    buyer: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="part of the buyer's name; case, accents and repeated spaces do not matter",
        examples=["fjordbyen"],
    )
    buyer_id: str | None = Field(
        None,
        min_length=1,
        max_length=100,
        description="the buyer's organisation number, VAT id or electronic address (with or without scheme)",
        examples=["910667831"],
    )
    receiver_id: str | None = Field(None, min_length=1, max_length=100, description="the receiver profile")
    kid: str | None = Field(None, min_length=1, max_length=40, description="the payment reference (KID)")
    amount: Decimal | None = Field(
        None, max_digits=19, decimal_places=2, description="the amount due, exactly"
    )
    amount_min: Decimal | None = Field(None, max_digits=19, decimal_places=4, description="amount due ≥")
    amount_max: Decimal | None = Field(None, max_digits=19, decimal_places=4, description="amount due ≤")
    status: list[DeliveryStatus] = Field(
        default_factory=list, description="has a delivery in one of these statuses (repeat for several)"
    )
    channel: list[str] = Field(
        default_factory=list,
        description="has a delivery on one of these channels (with `status`: the same one)",
    )
    payment_status: list[PaymentStatus] = Field(default_factory=list, description="repeat for several")
    issued_from: dt.date | None = Field(None, description="issue date ≥")
    issued_to: dt.date | None = Field(None, description="issue date ≤")
    due_from: dt.date | None = Field(None, description="due date ≥")
    due_to: dt.date | None = Field(None, description="due date ≤")
    since: UtcMoment | None = Field(
        None,
        description="changed since: accepted, a delivery event (status, correction, resend) or a payment "
        f"applied or reversed at or after this time: {UTC_MOMENT_WORDS}",
    )
    q: str | None = Field(
        None,
        min_length=1,
        max_length=200,
        description="one box: the number, the invoice id, part of the buyer's name, the KID or the amount",
        examples=["INV-1003"],
    )
    sort: SortOrder = Field("-created", description="the order; `-` in front for descending")


class InvalidSearch(ValueError):
    """A search that cannot be run as asked; `field` names the parameter (an API 400)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@dataclass(frozen=True)
class InvoicePage:
    """One page of a search: the invoices, and the cursor of the next page (None: this was the last)."""

    items: list[dict[str, Any]]
    next_cursor: str | None


# --- intake side: what the search reads is written when an invoice arrives ---------------------------------


def invoice_search_columns(invoice: Invoice) -> SearchColumns:
    """The search columns of an invoice (stored beside it by the intake, and again when it is corrected)."""
    buyer = invoice.buyer
    return search_columns(
        buyer.name,
        invoice.totals.payable,
        legal_id=buyer.legal_registration.value if buyer.legal_registration else None,
        vat_id=buyer.vat_id,
        endpoint=buyer.endpoint.value if buyer.endpoint else None,
    )


def remember_buyer_names(session: Session, tenant_id: str, names: Sequence[str]) -> None:
    """Add the tenant's buyer names not yet known (a concurrent intake adding the same one is fine)."""
    distinct = sorted(set(names))
    if not distinct:
        return
    table = BuyerName.__table__  # type: ignore[attr-defined]
    insert = postgresql_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    session.execute(
        insert(table).on_conflict_do_nothing(index_elements=["tenant_id", "name_search"]),
        [{"tenant_id": tenant_id, "name_search": name} for name in distinct],
    )


# --- the search --------------------------------------------------------------------------------------------


def search_invoices(
    session: Session, tenant_id: str, search: InvoiceSearch, *, cursor: str | None = None, limit: int = 50
) -> InvoicePage:
    """One page of the tenant's invoices matching `search`, after `cursor` (from the previous page).

    Two steps: the page's ids in order (the filters and the sort key, from indexes where they cover them),
    then the summaries of just those rows; sorting wide rows to keep fifty would read every match.
    """
    descending = search.sort.startswith("-")
    sort_name = search.sort.lstrip("-")
    sort_column = SORT_COLUMNS[sort_name]
    id_column = col(InvoiceRecord.id)
    fingerprint = _fingerprint(search)
    filters = _filters(session, tenant_id, search)
    sort_key: ColumnElement[Any] = sort_column.label("sort_key")
    tenant = col(InvoiceRecord.tenant_id)
    # always the tenant's rows; when a filter brings its own index lookups (the tenant among them), in a
    # form no index serves: SQLite, planning without statistics, would otherwise read the whole tenant
    mine = func.coalesce(tenant, "") == tenant_id if filters.own_lookups else tenant == tenant_id
    query = select(id_column, sort_key).where(mine, *filters.conditions)
    if cursor is not None:
        key, last_id = _decode_cursor(cursor, search.sort, fingerprint)
        query = query.where(_after(sort_column, sort_name in _NULLABLE, descending, key, last_id))
    # A filter that pins the rows down through its own index: sort what it finds. Without one, walk the
    # order's index and keep the rows that pass. Ordering by an expression says "sort" to both databases
    # (SQLite, without statistics, would otherwise walk the order even for a number).
    key_order = func.coalesce(sort_column, sort_column) if filters.pinpointed else sort_column
    if sort_name in _NULLABLE:
        ordered = key_order.desc().nulls_last() if descending else key_order.asc().nulls_first()
    else:
        ordered = key_order.desc() if descending else key_order.asc()
    query = query.order_by(ordered, id_column.desc() if descending else id_column.asc()).limit(limit + 1)
    keys = session.execute(query).all()
    more = len(keys) > limit
    keys = keys[:limit]
    next_cursor = _encode_cursor(search.sort, fingerprint, keys[-1].sort_key, keys[-1].id) if more else None
    ids = [row.id for row in keys]
    columns = [getattr(InvoiceRecord, name) for name in _SUMMARY_COLUMNS]
    rows = {row.id: row for row in session.execute(select(*columns).where(id_column.in_(ids)))} if ids else {}
    deliveries = _deliveries_of(session, ids)
    return InvoicePage([_summary(rows[i], deliveries.get(i, [])) for i in ids], next_cursor)


_SUMMARY_COLUMNS = (
    "id", "number", "document_type", "issue_date", "due_date", "currency", "payable_amount", "open_amount",
    "payment_status", "buyer_name", "receiver_id", "payment_reference", "created_at",
)  # fmt: skip
#: Buyer names handed to the query as a list; more than this many match only a short text, and a walk of
#: the page order fills a page after a few rows whatever the list.
MANY_NAMES = 2000
#: A filter matching at most this many invoices finds them and sorts them; matching more, the page order's
#: index is walked and each invoice checked, which then fills a page within 50 × N / matches rows. Near
#: √(50 N) the two cost the same: this suits tenants of a few hundred thousand to a few million invoices.
FEW_INVOICES = 2000


@dataclass
class _Filters:
    """A search's conditions, and whether one of them pins the rows down through its own index (a number,
    a KID, an amount, a buyer id, a receiver, a few buyer names) so that sorting what it finds is cheap."""

    conditions: list[ColumnElement[bool]] = field(default_factory=list)
    pinpointed: bool = False
    #: A condition that names the tenant in its own index lookups (an OR with the tenant in each branch,
    #: ids found in an index): the query's own tenant check must then leave the indexes to it.
    own_lookups: bool = False

    def add(
        self, condition: ColumnElement[bool], *, pinpoints: bool = False, own_lookups: bool = False
    ) -> None:
        self.conditions.append(condition)
        self.pinpointed = self.pinpointed or pinpoints
        self.own_lookups = self.own_lookups or own_lookups


def _filters(session: Session, tenant_id: str, search: InvoiceSearch) -> _Filters:
    """One condition per filter given (each served by an index of `invoices`)."""
    record = InvoiceRecord
    found = _Filters()
    newest_first = search.sort.lstrip("-") == "created"
    if search.number is not None:
        found.add(col(record.number) == search.number.strip(), pinpoints=True)
    if search.buyer is not None and folded(search.buyer):
        by_name, few_names = _buyer_named(session, tenant_id, search.buyer, newest_first=newest_first)
        # in another order than newest first, few names are a lookup of ids with the tenant in it
        own_lookups = few_names and not newest_first
        found.add(false() if by_name is None else by_name, pinpoints=few_names, own_lookups=own_lookups)
    if search.buyer_id is not None:
        found.add(_buyer_id(tenant_id, search.buyer_id), pinpoints=True, own_lookups=True)
    if search.receiver_id is not None:
        found.add(col(record.receiver_id) == search.receiver_id, pinpoints=True)
    if search.kid is not None:
        found.add(col(record.payment_reference) == identifier_key(search.kid), pinpoints=True)
    if search.amount is not None:
        found.add(col(record.payable_cents) == amount_cents(search.amount), pinpoints=True)
    if search.amount_min is not None:
        found.add(col(record.payable_cents) >= _cents(search.amount_min, ROUND_CEILING))
    if search.amount_max is not None:
        found.add(col(record.payable_cents) <= _cents(search.amount_max, ROUND_FLOOR))
    if search.status or search.channel:
        with_delivery, few = _with_delivery(session, tenant_id, search.status, search.channel)
        found.add(with_delivery, pinpoints=few, own_lookups=few)
    if search.payment_status:
        found.add(col(record.payment_status).in_(search.payment_status))
    for column, low, high in (
        (col(record.issue_date), search.issued_from, search.issued_to),
        (col(record.due_date), search.due_from, search.due_to),
    ):
        if low is not None:
            found.add(column >= low)
        if high is not None:
            found.add(column <= high)
    if search.since is not None:
        changed, few = _changed_since(session, tenant_id, search.since)
        found.add(changed, pinpoints=few, own_lookups=few)
    if search.q is not None and search.q.strip():
        one_box, pinpoints = _one_box(session, tenant_id, search.q.strip(), newest_first=newest_first)
        found.add(one_box, pinpoints=pinpoints, own_lookups=pinpoints)
    return found


def _cents(amount: Decimal, rounding: str) -> int:
    """A bound in whole hundredths, rounded inwards (no invoice lies between a bound and its rounding)."""
    return int((amount * 100).to_integral_value(rounding=rounding))


def _buyer_names(tenant_id: str, text: str) -> Select[Any]:
    """The tenant's folded buyer names containing `text` folded: a scan of names, not of invoices."""
    return select(col(BuyerName.name_search)).where(
        col(BuyerName.tenant_id) == tenant_id,
        col(BuyerName.name_search).contains(folded(text), autoescape=True),
    )


def _buyer_named(
    session: Session, tenant_id: str, text: str, *, newest_first: bool
) -> tuple[ColumnElement[bool] | None, bool]:
    """Invoices whose buyer's name contains `text` (None: no name does), and whether they are few.

    Few (counted in the name index): looked up by name and sorted; the name index carries the newest-first
    key, and in another order their rows give the key (so the bar is lower there). More: the page order's
    index is walked (each carries the name) and each entry's name checked against the names found, handed
    over as a list (hashed by both databases) unless there are very many of them.
    """
    names = list(session.execute(_buyer_names(tenant_id, text).limit(MANY_NAMES + 1)).scalars())
    if not names:
        return None, True
    by_name = col(InvoiceRecord.buyer_search)
    few = FEW_INVOICES if newest_first else FEW_INVOICES // 2
    if len(names) <= MANY_NAMES:
        named = select(col(InvoiceRecord.id)).where(
            col(InvoiceRecord.tenant_id) == tenant_id, by_name.in_(names)
        )
        count = session.execute(select(func.count()).select_from(named.limit(few + 1).subquery()))
        if count.scalar_one() <= few:
            return (by_name.in_(names) if newest_first else col(InvoiceRecord.id).in_(named)), True
    # the expression keeps both databases from reaching for the name index when the walk is the better way
    listed = names if len(names) <= MANY_NAMES else _buyer_names(tenant_id, text)
    return func.coalesce(by_name, "").in_(listed), False


def _buyer_id(tenant_id: str, value: str) -> ColumnElement[bool]:
    """The buyer's organisation number, VAT id or endpoint; `0192:910667831` also as `910667831`."""
    key = identifier_key(value)
    keys = {key, key.partition(":")[2]} - {""}
    return _any_of(
        tenant_id,
        [
            col(InvoiceRecord.buyer_legal_id).in_(keys),
            col(InvoiceRecord.buyer_vat_id).in_(keys),
            col(InvoiceRecord.buyer_endpoint).in_(keys),
        ],
    )


def _any_of(tenant_id: str, terms: list[ColumnElement[bool]]) -> ColumnElement[bool]:
    """`terms` ORed, each with the tenant: every branch one lookup in a (tenant, column) index."""
    tenant = col(InvoiceRecord.tenant_id) == tenant_id
    return or_(*(and_(tenant, term) for term in terms))


def _these_or_each(
    session: Session, tenant_id: str, matching: Select[Any], each: ColumnElement[bool]
) -> tuple[ColumnElement[bool], bool]:
    """The invoices `matching` finds, named by id when they are few; else `each`, checked row by row."""
    found = set(session.execute(matching.limit(FEW_INVOICES + 1)).scalars())
    if len(found) > FEW_INVOICES:
        return each, False
    if not found:
        return false(), True  # a constant: no database reads a row for it
    # the ids alone: `matching` found them among the tenant's rows, and the page query checks the tenant in
    # a form no index serves (`own_lookups`); a plain tenant condition here would let SQLite read every
    # invoice of the tenant in an index and test each id, instead of looking the ids up
    return col(InvoiceRecord.id).in_(sorted(found)), True


def _with_delivery(
    session: Session, tenant_id: str, statuses: Sequence[DeliveryStatus], channels: Sequence[str]
) -> tuple[ColumnElement[bool], bool]:
    """Invoices with a delivery in one of `statuses` on one of `channels` (either may be empty)."""
    # every status when none is asked for: a check per invoice is then one lookup in (tenant, status,
    # invoice, channel), where SQLite would otherwise pick an index by the tenant alone
    wanted = statuses or list(DeliveryStatus)
    conditions = [
        col(Delivery.tenant_id) == tenant_id,
        col(Delivery.status).in_([status.value for status in wanted]),
    ]
    if channels:
        conditions.append(col(Delivery.channel).in_(list(channels)))
    matching = select(col(Delivery.invoice_id)).where(*conditions).distinct()
    each = exists().where(col(Delivery.invoice_id) == col(InvoiceRecord.id), *conditions)
    return _these_or_each(session, tenant_id, matching, each)


def _changed_since(session: Session, tenant_id: str, since: dt.datetime) -> tuple[ColumnElement[bool], bool]:
    """Accepted, a delivery event, or a payment applied or reversed at or after `since`."""
    if since.tzinfo is None:
        since = since.replace(tzinfo=dt.UTC)
    accepted = [col(InvoiceRecord.tenant_id) == tenant_id, col(InvoiceRecord.created_at) >= since]
    events = [col(DeliveryEvent.tenant_id) == tenant_id, col(DeliveryEvent.at) >= since]
    payments = [
        col(PaymentAllocation.tenant_id) == tenant_id,
        or_(col(PaymentAllocation.created_at) >= since, col(PaymentAllocation.reversed_at) >= since),
    ]
    # not `union`: that would read every arm whole before the limit
    matching: CompoundSelect[Any] = union_all(
        select(col(InvoiceRecord.id)).where(*accepted),
        select(col(DeliveryEvent.invoice_id)).where(*events),
        select(col(PaymentAllocation.invoice_id)).where(*payments),
    )
    each = or_(
        and_(*accepted),
        exists().where(col(DeliveryEvent.invoice_id) == col(InvoiceRecord.id), *events),
        exists().where(col(PaymentAllocation.invoice_id) == col(InvoiceRecord.id), *payments),
    )
    return _these_or_each(session, tenant_id, select(matching.subquery()), each)


_AMOUNT = re.compile(r"-?\d{1,17}(\.\d{1,2})?")


def amount_in(text: str) -> Decimal | None:
    """`text` read as an amount the way people write one: "1 250,50", "1.250,50", "1,250.50", "1250.5"."""
    compact = "".join(text.split()).replace("'", "")
    if "," in compact and "." in compact:
        thousands, decimal = (".", ",") if compact.rfind(",") > compact.rfind(".") else (",", ".")
        compact = compact.replace(thousands, "").replace(decimal, ".")
    elif "," in compact:
        compact = compact.replace(",", ".")
    if not _AMOUNT.fullmatch(compact):
        return None
    try:
        return Decimal(compact)
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimals
        return None


def _one_box(
    session: Session, tenant_id: str, text: str, *, newest_first: bool
) -> tuple[ColumnElement[bool], bool]:
    """`q`: the number, the id, part of the buyer's name, the KID, or the amount (whichever it is); and
    whether that pins the rows down (it does unless many buyer names contain it)."""
    record = InvoiceRecord
    terms: list[ColumnElement[bool]] = [
        col(record.number) == text,
        col(record.id) == text.lower(),
        col(record.payment_reference) == identifier_key(text),
    ]
    few_names = True
    if folded(text):
        by_name, few_names = _buyer_named(session, tenant_id, text, newest_first=newest_first)
        if by_name is not None:  # a constant false branch would keep SQLite from an OR of index lookups
            terms.append(by_name)
    amount = amount_in(text)
    if amount is not None:
        terms.append(col(record.payable_cents) == amount_cents(amount))
    return _any_of(tenant_id, terms), few_names


def _after(
    column: Mapped[Any], nullable: bool, descending: bool, key: Any, last_id: str
) -> ColumnElement[bool]:
    """Rows after (key, last_id) in the page order; an empty key sorts lowest."""
    id_column = col(InvoiceRecord.id)
    if key is None:
        among_empty = and_(column.is_(None), id_column < last_id if descending else id_column > last_id)
        return among_empty if descending else or_(among_empty, column.is_not(None))
    pair = tuple_(column, id_column)
    beyond = pair < tuple_(key, last_id) if descending else pair > tuple_(key, last_id)
    return or_(beyond, column.is_(None)) if nullable and descending else beyond


def _deliveries_of(session: Session, invoice_ids: list[str]) -> dict[str, list[dict[str, Any]]]:
    """The page's deliveries, in chain order, as the summary shows them."""
    grouped: dict[str, list[dict[str, Any]]] = {}
    if not invoice_ids:
        return grouped
    rows = session.execute(
        select(
            col(Delivery.invoice_id),
            col(Delivery.id),
            col(Delivery.channel),
            col(Delivery.status),
            col(Delivery.attempt),
            col(Delivery.updated_at),
        )
        .where(col(Delivery.invoice_id).in_(invoice_ids))
        .order_by(col(Delivery.chain_position), col(Delivery.created_at), col(Delivery.id))
    )
    for invoice_id, delivery_id, channel, status, attempt, updated_at in rows:
        if invoice_id is None:  # not possible for an invoice's own deliveries; keeps the type exact
            continue
        grouped.setdefault(invoice_id, []).append(
            {
                "id": delivery_id,
                "channel": channel,
                "status": str(status),
                "attempt": attempt,
                "updated_at": updated_at.isoformat(),
            }
        )
    return grouped


def _summary(row: Any, deliveries: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "id": row.id,
        "number": row.number,
        "document_type": row.document_type,
        "issue_date": row.issue_date.isoformat(),
        "due_date": row.due_date.isoformat() if row.due_date else None,
        "currency": row.currency,
        "payable_amount": row.payable_amount,
        "open_amount": row.open_amount if row.open_amount is not None else row.payable_amount,
        "payment_status": row.payment_status,
        "buyer_name": row.buyer_name,
        "receiver_id": row.receiver_id,
        "payment_reference": row.payment_reference,
        "created_at": row.created_at.isoformat(),
        "deliveries": deliveries,
    }


# --- cursors -----------------------------------------------------------------------------------------------


def _fingerprint(search: InvoiceSearch) -> str:
    """Which search a cursor belongs to (its filters and order)."""
    return hashlib.sha256(search.model_dump_json().encode()).hexdigest()[:16]


def _key_text(key: Any) -> Any:
    if isinstance(key, dt.datetime):
        return (key if key.tzinfo else key.replace(tzinfo=dt.UTC)).isoformat()
    if isinstance(key, dt.date):
        return key.isoformat()
    return key


def _encode_cursor(sort: str, fingerprint: str, key: Any, last_id: str) -> str:
    body = json.dumps([sort, fingerprint, _key_text(key), last_id], separators=(",", ":")).encode()
    checksum = hashlib.sha256(_CURSOR_SALT + body).digest()[:_CHECKSUM_BYTES]
    return base64.urlsafe_b64encode(checksum + body).rstrip(b"=").decode("ascii")


def _decode_cursor(cursor: str, sort: str, fingerprint: str) -> tuple[Any, str]:
    """The (sort key, id) a cursor carries; `InvalidSearch` naming `cursor` for anything but one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
    except (binascii.Error, ValueError):
        raise InvalidSearch("cursor", "not a cursor of this search: start again without it") from None
    checksum, body = raw[:_CHECKSUM_BYTES], raw[_CHECKSUM_BYTES:]
    if (
        len(raw) <= _CHECKSUM_BYTES
        or hashlib.sha256(_CURSOR_SALT + body).digest()[:_CHECKSUM_BYTES] != checksum
    ):
        raise InvalidSearch("cursor", "not a cursor of this search (changed or cut short): start again")
    try:
        cursor_sort, cursor_fingerprint, key, last_id = json.loads(body)
    except (ValueError, TypeError):
        raise InvalidSearch("cursor", "not a cursor of this search: start again without it") from None
    if cursor_sort != sort or cursor_fingerprint != fingerprint:
        raise InvalidSearch("cursor", "the cursor belongs to another search: start again without it")
    return _key_value(sort.lstrip("-"), key), str(last_id)


def _key_value(sort_name: str, key: Any) -> Any:
    """The cursor's sort key as the column compares it."""
    if key is None and sort_name in _NULLABLE:
        return None
    try:
        if sort_name == "created":
            return as_utc(dt.datetime.fromisoformat(str(key)))
        if sort_name in ("issue_date", "due_date"):
            return dt.date.fromisoformat(str(key))
        if sort_name == "amount" and isinstance(key, int) and not isinstance(key, bool):
            return key
        if sort_name == "number" and isinstance(key, str):
            return key
    except ValueError:
        pass
    raise InvalidSearch("cursor", "not a cursor of this search: start again without it")


# --- a search typed by a person ----------------------------------------------------------------------------

_LIST_FIELDS = ("status", "channel", "payment_status")
_AMOUNT_FIELDS = ("amount", "amount_min", "amount_max")
_DATE_FIELDS = ("issued_from", "issued_to", "due_from", "due_to")


def search_from_form(values: Sequence[tuple[str, str]]) -> InvoiceSearch:
    """A search from a form's fields as typed (`name=value` pairs; a repeated name adds to a list).

    Empty fields are no filter; amounts are read as people write them ("1 250,50"); names the search does
    not know are left out (a page's own parameters, such as its cursor). `InvalidSearch` names the first
    field that is wrong and says how to write it.
    """
    known = set(InvoiceSearch.model_fields)
    data: dict[str, Any] = {}
    for name, raw in values:
        value = raw.strip()
        if name not in known or not value:
            continue
        if name in _LIST_FIELDS:
            data.setdefault(name, []).append(value)
        elif name in _AMOUNT_FIELDS:
            amount = amount_in(value)
            if amount is None:
                raise InvalidSearch(name, f"{value!r} is not an amount: write it as 1250.50 or 1 250,50")
            data[name] = amount
        else:
            data[name] = value
    try:
        return InvoiceSearch.model_validate(data)
    except ValidationError as error:
        first = error.errors()[0]
        name = str(first["loc"][0]) if first["loc"] else "q"
        given = data.get(name)
        if name in _DATE_FIELDS:
            raise InvalidSearch(name, f"{given!r} is not a date: write it as YYYY-MM-DD") from None
        if name == "since":
            raise InvalidSearch(name, f"{given!r} is not a time: write it as YYYY-MM-DDTHH:MM") from None
        if name in _LIST_FIELDS or name == "sort":
            wrong = first.get("input", given)
            raise InvalidSearch(name, f"{wrong!r} is not one of the choices") from None
        raise InvalidSearch(name, str(first["msg"])) from None
