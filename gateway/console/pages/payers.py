"""Payers: what payment matching knows about who pays, for credit controllers to see and correct.

Two lists on one page: the payer accounts and names matching learned (from a person's resolution, or from
its own confident application of a KID or invoice number), each with the customer, the payment it came
from and whether it still identifies that customer or is shared; and the customer groups (a parent paying
its subsidiaries' invoices). A credit controller forgets a learned identity, removes a stored link, or adds
"parent pays for member".

Every change calls the service the API's `/matching/learned` and `/matching/groups` routes call, with the
person as the actor (`console:<email>`).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import Response
from sqlalchemy.orm import Session

from db.engine import session_scope
from gateway.console.auth import CreditController, Viewer
from gateway.console.templating import page, redirect
from gateway.matching.references import normalise_account
from gateway.services.payments import customer_groups as group_service
from gateway.services.payments import learned as learned_service
from gateway.services.payments import review
from gateway.services.tenancy.console_users import ConsoleIdentity
from gateway.services.tenancy.tenants import tenant_settings

router = APIRouter()

PATH = "/console/payments/payers"
#: Learned identities shown at most (newest first); a filter narrows them.
SHOWN = 200
SHOW = {"standing": "Standing entries", "all": "Withdrawn ones too"}

CustomerReference = Annotated[str, Form(max_length=200)]


def _shared_why(entry: dict[str, Any], holders: dict[tuple[str, str], set[str]], names: dict[str, str],
                policy_accounts: set[str]) -> str:  # fmt: skip
    """Why a shared entry identifies no one, in words."""
    if entry["kind"] == "account" and entry["value"] in policy_accounts:
        return "The matching policy names it a shared account (a payment service, a collective account)."
    customers = sorted(names.get(key, key) for key in holders.get((entry["kind"], entry["value"]), set()))
    listed = ", ".join(customers[:-1]) + f" and {customers[-1]}" if len(customers) > 1 else "".join(customers)
    return f"Has paid for {listed}: identifies {'neither' if len(customers) == 2 else 'none of them'}."


def _after_forgetting(entry: dict[str, Any], holders: dict[tuple[str, str], set[str]], names: dict[str, str],
                      policy_accounts: set[str]) -> str:  # fmt: skip
    """What forgetting this entry changes, in words, for the confirmation."""
    others = holders.get((entry["kind"], entry["value"]), set()) - {entry["customer_key"]}
    if entry["kind"] == "account" and entry["value"] in policy_accounts:
        return "It stays a shared account: the matching policy names it."
    if len(others) == 1:
        [other] = others
        return f"It then identifies {names.get(other, other)} again, the other customer it paid for."
    if others:
        return "It stays shared: it has paid for other customers too."
    return "Its next payment without a reference waits for a person (or is learned again from a KID)."


def _learned_rows(session: Session, tenant_id: str, text: str, show: str) -> tuple[list[dict[str, Any]], int]:
    entries = learned_service.list_learned(session, tenant_id, withdrawn=show == "all", limit=10_000)
    holders: dict[tuple[str, str], set[str]] = {}
    for entry in entries:
        if entry["standing"] != "withdrawn":
            holders.setdefault((entry["kind"], entry["value"]), set()).add(entry["customer_key"])
    names = review.customer_names(session, tenant_id, {entry["customer_key"] for entry in entries})
    wanted = text.strip().casefold()
    account = normalise_account(text) if wanted else ""
    if wanted:
        entries = [
            entry
            for entry in entries
            if wanted in entry["value"].casefold()
            or (account and account in entry["value"])
            or wanted in entry["customer_key"].casefold()
            or wanted in names.get(entry["customer_key"], "").casefold()
        ]
    shown = entries[:SHOWN]
    policy_accounts = {
        normalise_account(a) for a in tenant_settings(session, tenant_id).matching.shared_accounts
    }
    labels = review.payment_labels(session, tenant_id, [entry["payment_id"] for entry in shown])
    rows = [
        {
            **entry,
            "shown_value": review.shown_account(entry["value"])
            if entry["kind"] == "account"
            else entry["value"],
            "customer_name": names.get(entry["customer_key"]),
            "payment_label": labels.get(entry["payment_id"] or "", {}),
            "by_words": _who(entry["by"]),
            "withdrawn_by_words": _who(entry["withdrawn_by"]),
            "shared_why": _shared_why(entry, holders, names, policy_accounts)
            if entry["standing"] == "shared"
            else None,
            "after_forgetting": _after_forgetting(entry, holders, names, policy_accounts),
        }
        for entry in shown
    ]
    return rows, len(entries)


def _who(actor: str | None) -> str:
    text = actor or ""
    if text == "matching":
        return "the matcher"
    return text.removeprefix("console:").removeprefix("api:")


def _group_rows(session: Session, tenant_id: str) -> list[dict[str, Any]]:
    links = group_service.list_groups(session, tenant_id)
    names = review.customer_names(
        session, tenant_id, {key for link in links for key in (link["customer"], link["parent"])}
    )
    labels = review.payment_labels(session, tenant_id, [link["learned_from"] for link in links])
    return [
        {
            **link,
            "customer_name": names.get(link["customer"]),
            "parent_name": names.get(link["parent"]),
            "payment_label": labels.get(link["learned_from"] or "", {}),
            "by_words": _who(link["created_by"]),
        }
        for link in links
    ]


def _payers_page(
    request: Request,
    identity: ConsoleIdentity,
    *,
    text: str = "",
    show: str = "standing",
    group_form: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    with session_scope(request.app.state.engine) as session:
        learned, matching = _learned_rows(session, identity.tenant_id, text, show)
        groups = _group_rows(session, identity.tenant_id)
    context = {
        "title": "Payers",
        "learned": learned,
        "matching": matching,
        "shown_at_most": SHOWN,
        "text": text,
        "show": show,
        "show_options": list(SHOW.items()),
        "groups": groups,
        "group_form": group_form or {"customer": "", "parent": ""},
        "errors": errors or {},
        "may_act": identity.may("payments"),
    }
    return page(request, "payments/payers.html", context, identity=identity, status=status)


@router.get(PATH)
def payers_page(
    request: Request,
    identity: Viewer,
    q: Annotated[str, Query(max_length=200)] = "",
    show: str = "standing",
) -> Response:
    if show not in SHOW:
        raise HTTPException(404, f"There is no list {show!r} of learned payers (standing or all).")
    return _payers_page(request, identity, text=q, show=show)


def _described(entry: dict[str, Any], name: str | None) -> str:
    what = (
        f"payer account {review.shown_account(entry['value'])}"
        if entry["kind"] == "account"
        else f"the payer name “{entry['value']}”"
    )
    return f"{what} as {name or entry['customer_key']}’s"


@router.post(PATH + "/learned/{entry_id}/forget")
def forget_learned(request: Request, identity: CreditController, entry_id: str) -> Response:
    """Withdraw one learned payer identity, as `DELETE /matching/learned/{id}` does."""
    with session_scope(request.app.state.engine) as session:
        try:
            entry = learned_service.withdraw_learned(
                session, identity.tenant_id, entry_id, actor=identity.actor
            )
        except learned_service.LearnedNotFound:
            raise HTTPException(404, f"There is no learned payer identity {entry_id}.") from None
        name = review.customer_names(session, identity.tenant_id, [entry["customer_key"]]).get(
            entry["customer_key"]
        )
    return redirect(
        request,
        PATH,
        f"Forgotten: matching no longer takes {_described(entry, name)}. The next matching run goes "
        "without it; a later confident payment may teach it again.",
    )


@router.post(PATH + "/groups")
def add_group_link(
    request: Request,
    identity: CreditController,
    customer: CustomerReference = "",
    parent: CustomerReference = "",
) -> Response:
    """`parent` pays for `customer`, as `PUT /matching/groups` does; a refusal is shown beside its field."""
    try:
        with session_scope(request.app.state.engine) as session:
            link = group_service.set_parent(
                session, identity.tenant_id, customer, parent, actor=identity.actor
            )
            names = review.customer_names(session, identity.tenant_id, [link["customer"], link["parent"]])
    except group_service.GroupRefused as error:
        return _payers_page(
            request,
            identity,
            group_form={"customer": customer, "parent": parent},
            errors={error.field: error.reason},
            status=422,
        )
    member = names.get(link["customer"], link["customer"])
    payer = names.get(link["parent"], link["parent"])
    return redirect(
        request,
        PATH + "#groups-h",
        f"{payer} now pays for {member}: payments from {payer} are searched among {member}’s open "
        "invoices too.",
    )


@router.post(PATH + "/groups/{link_id}/remove")
def remove_group_link(request: Request, identity: CreditController, link_id: str) -> Response:
    """Remove a stored link, as `DELETE /matching/groups/{id}` does (a profile's link is the profile's)."""
    with session_scope(request.app.state.engine) as session:
        try:
            link = group_service.remove_link(session, identity.tenant_id, link_id)
        except group_service.GroupLinkNotFound:
            raise HTTPException(404, f"There is no customer group link {link_id}.") from None
        names = review.customer_names(session, identity.tenant_id, [link["customer"], link["parent"]])
    member = names.get(link["customer"], link["customer"])
    payer = names.get(link["parent"], link["parent"])
    return redirect(
        request,
        PATH + "#groups-h",
        f"Removed: {payer} no longer counts as paying for {member}.",
        kind="info",
    )
