"""Customer groups for payment matching: which customer pays for which (a parent paying its subsidiaries'
invoices). Thin over `gateway.services.payments.customer_groups`."""

from __future__ import annotations

from fastapi import APIRouter

from gateway.api.deps import IdentityDep, SessionDep
from gateway.api.errors import ErrorAnswer
from gateway.api.requests import CustomerGroupRequest
from gateway.api.views import CustomerGroupList, CustomerGroupView
from gateway.services.payments import customer_groups as group_service

router = APIRouter(tags=["payments"])


@router.get("/matching/groups")
def get_customer_groups(identity: IdentityDep, session: SessionDep) -> CustomerGroupList:
    """Every link matching searches: set through the API, learned from a person's resolution (a payer
    known as one customer paid another's invoices), or declared by a receiver profile's `parent_customer`."""
    return CustomerGroupList.model_validate({"items": group_service.list_groups(session, identity.tenant_id)})


@router.put("/matching/groups")
def put_customer_group(
    body: CustomerGroupRequest, identity: IdentityDep, session: SessionDep
) -> CustomerGroupView:
    """`parent` pays `customer`'s invoices: its payments without a reference are searched against the
    group's open items, and a member's KID from the parent's account is no payer conflict. Idempotent."""
    try:
        link = group_service.set_parent(
            session, identity.tenant_id, body.customer, body.parent, actor=identity.actor
        )
    except group_service.GroupRefused as error:
        raise ErrorAnswer(422, [error.as_dict()]) from None
    return CustomerGroupView.model_validate(link)


@router.delete("/matching/groups/{link_id}")
def delete_customer_group(link_id: str, identity: IdentityDep, session: SessionDep) -> CustomerGroupView:
    """Remove a link (a receiver profile's link is removed by editing the profile)."""
    try:
        removed = group_service.remove_link(session, identity.tenant_id, link_id)
    except group_service.GroupLinkNotFound as error:
        raise ErrorAnswer.one(404, "link_id", str(error)) from None
    return CustomerGroupView.model_validate(removed)
