"""Customer groups: which customer pays for which (a parent paying its subsidiaries' invoices), issue 22.

A link "`parent` pays for `customer`" comes from a receiver profile's `parent_customer` (the profile's
customer is every customer key its invoices carry), from the API (`PUT /matching/groups`), or from a
person's resolution of a payment whose payer is known as one customer onto another's items. Matching
searches a known parent's payments against its group's open items (`gateway.matching.groups`).

Stored links are rows of `customer_groups`; profile links are read from the profiles each time, so
editing the profile is how one is changed. A link learned from a resolution is forgotten when that
resolution is reversed.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import CustomerGroupLink, InvoiceRecord, PayerAlias, Receiver, utcnow
from gateway.matching.groups import CustomerGroups, org_number, parent_key
from gateway.services.refusals import Refused

SOURCES = ("profile", "api", "resolution")


class GroupRefused(Refused):
    """A link that cannot be made; `field` names what is wrong."""


class GroupLinkNotFound(LookupError):
    pass


def _invoice_customer_key(customer_key: str | None, buyer_name: str) -> str:
    """The key matching gives a customer (`matching_runs.open_items`): the invoice's, else its name."""
    return customer_key or f"name:{buyer_name.casefold()}"


def stored_links(session: Session, tenant_id: str) -> list[CustomerGroupLink]:
    return list(
        session.execute(
            select(CustomerGroupLink)
            .where(col(CustomerGroupLink.tenant_id) == tenant_id)
            .order_by(col(CustomerGroupLink.parent_key), col(CustomerGroupLink.customer_key))
        ).scalars()
    )


def profile_links(session: Session, tenant_id: str, known: Iterable[str]) -> list[tuple[str, str, str]]:
    """(member, parent, receiver_id) for every receiver profile naming a `parent_customer`: the members are
    the customer keys of the receiver's invoices, the parent the known key the reference names."""
    declared = Receiver.__table__.c.profile["parent_customer"].as_string()  # type: ignore[attr-defined]
    parents: dict[str, str] = {
        receiver_id: reference
        for receiver_id, reference in session.execute(
            select(col(Receiver.receiver_id), declared).where(
                col(Receiver.tenant_id) == tenant_id, declared.is_not(None)
            )
        )
        if reference
    }
    if not parents:
        return []
    table = InvoiceRecord.__table__  # type: ignore[attr-defined]
    members = session.execute(
        select(table.c.receiver_id, table.c.customer_key, table.c.buyer_name)
        .where(table.c.tenant_id == tenant_id, table.c.receiver_id.in_(sorted(parents)))
        .distinct()
    ).all()
    keys = set(known)
    for reference in parents.values():
        keys.update(_keys_named(session, tenant_id, reference))
    links: list[tuple[str, str, str]] = []
    for receiver_id, customer_key, buyer_name in members:
        member = _invoice_customer_key(customer_key, buyer_name)
        parent = parent_key(parents[receiver_id], keys)
        if member != parent:
            links.append((member, parent, receiver_id))
    return sorted(set(links))


def group_links(session: Session, tenant_id: str, known: Iterable[str]) -> list[tuple[str, str]]:
    """Every (member, parent) link matching searches: stored ones, then receiver profiles' ones."""
    links = [(link.customer_key, link.parent_key) for link in stored_links(session, tenant_id)]
    return links + [(member, parent) for member, parent, _ in profile_links(session, tenant_id, known)]


def _forms(reference: str) -> list[str]:
    """The spellings of a customer key a reference may stand for."""
    text = " ".join(reference.split())
    forms = [text]
    if text[:5].casefold() == "name:":
        forms.append("name:" + text[5:].strip().casefold())
    number = org_number(text)
    if number is not None:
        forms += [f"org:{number}", f"org:0192:{number}", f"vat:NO{number}MVA", f"vat:NO{number}"]
    return forms


def _keys_named(session: Session, tenant_id: str, reference: str) -> set[str]:
    """The tenant's customer keys (on invoices, or learned for a payer) a reference may stand for."""
    forms = _forms(reference)
    table = InvoiceRecord.__table__  # type: ignore[attr-defined]
    keys = set(
        session.execute(
            select(table.c.customer_key)
            .where(table.c.tenant_id == tenant_id, table.c.customer_key.in_(forms))
            .distinct()
        ).scalars()
    )
    keys.update(
        session.execute(
            select(col(PayerAlias.customer_key))
            .where(col(PayerAlias.tenant_id) == tenant_id, col(PayerAlias.customer_key).in_(forms))
            .distinct()
        ).scalars()
    )
    return {key for key in keys if key}


def _customer(session: Session, tenant_id: str, reference: str, field: str) -> str:
    reference = reference.strip()
    if not reference:
        raise GroupRefused(field, "must name a customer (its customer key or organisation number)")
    known = _keys_named(session, tenant_id, reference)
    key = parent_key(reference, known)
    if key not in known:
        raise GroupRefused(
            field, f"no invoice of this tenant names customer {reference!r} (a customer key such as "
            "'org:0192:910667831', or an organisation number)",
        )  # fmt: skip
    return key


def link_view(link: CustomerGroupLink) -> dict[str, Any]:
    return {
        "id": link.id,
        "customer": link.customer_key,
        "parent": link.parent_key,
        "source": link.source,
        "learned_from": link.learned_from,
        "created_by": link.created_by,
        "created_at": link.created_at.isoformat(),
    }


def list_groups(session: Session, tenant_id: str) -> list[dict[str, Any]]:
    """Every link: stored ones (with their id, for removing) and those receiver profiles declare."""
    views = [link_view(link) for link in stored_links(session, tenant_id)]
    for member, parent, receiver_id in profile_links(session, tenant_id, ()):
        views.append(
            {
                "id": None,
                "customer": member,
                "parent": parent,
                "source": "profile",
                "learned_from": None,
                "created_by": f"receiver profile {receiver_id}",
                "created_at": None,
            }
        )
    return views


def _would_cycle(session: Session, tenant_id: str, member: str, parent: str) -> bool:
    groups = CustomerGroups(group_links(session, tenant_id, ()))
    return parent in groups.members_of(member)


def set_parent(session: Session, tenant_id: str, customer: str, parent: str, *, actor: str) -> dict[str, Any]:
    """Link `customer` to the `parent` that pays for it (idempotent); both must be customers the tenant
    invoiced (or learned as a payer), and a customer cannot pay for itself or for its own parent."""
    member_key = _customer(session, tenant_id, customer, "customer")
    parent_key_ = _customer(session, tenant_id, parent, "parent")
    if member_key == parent_key_:
        raise GroupRefused("parent", "a customer does not pay for itself")
    existing = _link(session, tenant_id, member_key, parent_key_)
    if existing is not None:
        return link_view(existing)
    if _would_cycle(session, tenant_id, member_key, parent_key_):
        raise GroupRefused(
            "parent", f"{parent_key_} is already paid for by {member_key}: a group has no cycle"
        )
    link = CustomerGroupLink(
        tenant_id=tenant_id, customer_key=member_key, parent_key=parent_key_, source="api", created_by=actor
    )
    session.add(link)
    session.flush()
    return link_view(link)


def remove_link(session: Session, tenant_id: str, link_id: str) -> dict[str, Any]:
    link = session.get(CustomerGroupLink, link_id)
    if link is None or link.tenant_id != tenant_id:
        raise GroupLinkNotFound(f"no customer group link {link_id}")
    view = link_view(link)
    session.delete(link)
    session.flush()
    return view


def _link(session: Session, tenant_id: str, member: str, parent: str) -> CustomerGroupLink | None:
    return session.execute(
        select(CustomerGroupLink).where(
            col(CustomerGroupLink.tenant_id) == tenant_id,
            col(CustomerGroupLink.customer_key) == member,
            col(CustomerGroupLink.parent_key) == parent,
        )
    ).scalar_one_or_none()


def learn_link(
    session: Session, tenant_id: str, member: str, parent: str, *, payment_id: str, actor: str
) -> bool:
    """A person resolved `parent`'s payment onto `member`'s items: remember that it pays for it (False when
    known already, or when `member` pays for `parent`: a person's one resolution does not turn a group)."""
    if member == parent or _link(session, tenant_id, member, parent) is not None:
        return False
    if _would_cycle(session, tenant_id, member, parent):
        return False
    session.add(
        CustomerGroupLink(
            tenant_id=tenant_id,
            customer_key=member[:200],
            parent_key=parent[:200],
            source="resolution",
            learned_from=payment_id,
            created_by=actor,
            created_at=utcnow(),
        )
    )
    session.flush()
    return True


def forget_links_learned_from(session: Session, tenant_id: str, payment_id: str) -> list[dict[str, str]]:
    """Links a resolution of this payment taught, removed (the resolution is being undone)."""
    links = session.execute(
        select(CustomerGroupLink).where(
            col(CustomerGroupLink.tenant_id) == tenant_id,
            col(CustomerGroupLink.learned_from) == payment_id,
            col(CustomerGroupLink.source) == "resolution",
        )
    ).scalars()
    forgotten = []
    for link in links:
        forgotten.append({"customer": link.customer_key, "parent": link.parent_key})
        session.delete(link)
    return forgotten
