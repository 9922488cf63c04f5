"""Who paid: a learned payer account (a Norwegian IBAN is its BBAN), else a learned name alias, identifies
the customer; a name that merely resembles a customer's is evidence only (truncated bank names of
look-alike companies score perfectly against the wrong one).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

from gateway.matching.index import MatchIndex
from gateway.matching.learning import confident_customer, related_customers
from gateway.matching.model import Evidence, OpenItem
from gateway.matching.names import NameHit
from gateway.matching.references import normalise_account
from gateway.matching.scoring import (
    W_FUZZY_MAX,
    W_FUZZY_MIN,
    W_PAYER_ACCOUNT,
    W_PAYER_ALIAS,
    W_PAYER_CONFLICT,
    W_PAYER_GROUP,
)
from gateway.matching.wording import labels
from schemas.remittance import Payment


@dataclass(frozen=True)
class Payer:
    """The payer as matching knows it: identified (`customer_key` with `evidence`), or resembling names.

    `notes` is the payment-level evidence the identification leaves (the payer's evidence first, a shared
    account, the names it resembles). `group`: the customers the identified payer pays for (its customer
    group, when the policy searches groups): their items are the payer's business, not a conflict.
    """

    name: str | None
    customer_key: str | None = None
    evidence: Evidence | None = None
    fuzzy: tuple[NameHit, ...] = ()
    notes: tuple[Evidence, ...] = ()
    group: frozenset[str] = frozenset()

    def resembles(self, customer_key: str) -> bool:
        return any(hit.customer_key == customer_key for hit in self.fuzzy)

    def evidence_for(self, customer_key: str, items: Sequence[OpenItem], index: MatchIndex) -> list[Evidence]:
        """What the payer says about a candidate of `customer_key`: the same customer, another, or alike."""
        if self.customer_key is not None and self.evidence is not None:
            owners = {item.customer_key for item in items} | {customer_key}
            if owners == {self.customer_key}:
                return [self.evidence]
            if self.group and owners <= self.group | {self.customer_key}:
                return [self._group_evidence(sorted(owners - {self.customer_key}), index)]
            return [
                Evidence(
                    "payer-conflict",
                    f"the payer is {index.customer_name(self.customer_key)} (by its "
                    f"{self.evidence.kind.removeprefix('payer-')}), but {labels(items)} "
                    f"belong(s) to {index.customer_name(customer_key)}",
                    W_PAYER_CONFLICT,
                )
            ]
        for hit in self.fuzzy:
            if hit.customer_key == customer_key:
                weight = W_FUZZY_MIN + (W_FUZZY_MAX - W_FUZZY_MIN) * max(0.0, min(1.0, (hit.score - 85) / 15))
                return [
                    Evidence(
                        "payer-name-fuzzy",
                        f"payer name '{self.name}' resembles {hit.name} ({hit.score:.0f} %)",
                        round(weight, 3),
                    )
                ]
        return []

    def with_group(self, index: MatchIndex) -> Payer:
        """The payer with the customers it pays for (none when it is not identified)."""
        if self.customer_key is None or self.evidence is None:
            return self
        members = index.group_of(self.customer_key)
        return dataclasses.replace(self, group=frozenset(members)) if members else self

    def _group_evidence(self, members: Sequence[str], index: MatchIndex) -> Evidence:
        assert self.customer_key is not None
        assert self.evidence is not None
        parent = index.customer_name(self.customer_key)
        names = ", ".join(index.customer_name(key) for key in members)
        return Evidence(
            "payer-group",
            f"the payer is {parent} (by its {self.evidence.kind.removeprefix('payer-')}), which pays for "
            f"{names} (customer group)",
            min(W_PAYER_GROUP, self.evidence.weight),
        )


def identify_payer(payment: Payment, index: MatchIndex) -> Payer:
    notes: list[Evidence] = []
    customer_key, evidence = _by_account(payment, index, notes)
    if customer_key is None:
        customer_key, evidence = _by_alias(payment, index)
    if evidence is not None:
        notes.insert(0, evidence)
        return Payer(payment.payer_name, customer_key, evidence, (), tuple(notes))
    fuzzy: tuple[NameHit, ...] = ()
    if payment.payer_name:
        fuzzy = tuple(index.find_names(payment.payer_name))
        if fuzzy:
            names = ", ".join(f"{hit.name} ({hit.score:.0f} %)" for hit in fuzzy[:3])
            notes.append(
                Evidence(
                    "payer-name-fuzzy",
                    f"payer name '{payment.payer_name}' resembles {names}; a name alone identifies no one",
                    0.0,
                )
            )
    return Payer(payment.payer_name, customer_key, None, fuzzy, tuple(notes))


def _by_account(
    payment: Payment, index: MatchIndex, notes: list[Evidence]
) -> tuple[str | None, Evidence | None]:
    """The customer a learned payer account identifies; an account shared by several identifies none.

    An account only the engine's own applications taught (not a person) yields to the payment's own
    structured references: when they name another customer's items with exactly the amount, the account
    pays for several customers (a payment service, a collective account) and identifies no one here; the
    application then teaches that it is shared (`learning.learn_from_application`).
    """
    if not payment.payer_account:
        return None, None
    owner, shared = index.account_owner(payment.payer_account)
    account = normalise_account(payment.payer_account)
    if owner is not None:
        source = index.account_source(account)
        if not index.account_taught(account):
            named = confident_customer(payment, index)
            if named is not None and not related_customers(index, owner, named[0]):
                notes.append(
                    Evidence(
                        "payer-account-shared",
                        f"payer account {account} was learned as {index.customer_name(owner)}'s"
                        f"{' (from ' + source + ')' if source else ''}, but this payment's {named[1]} names "
                        f"{index.customer_name(named[0])}'s items with exactly the amount: an account paying "
                        "for several customers identifies no one",
                        0.0,
                    )
                )
                return None, None
        how = f"learned from {source}" if source else "learned"
        detail = f"payer account {account} is {index.customer_name(owner)}'s ({how})"
        return owner, Evidence("payer-account", detail, W_PAYER_ACCOUNT)
    if shared:
        notes.append(
            Evidence(
                "payer-account-shared",
                f"payer account {account} has paid for several customers (or is a shared account by "
                "policy): it identifies no one",
                0.0,
            )
        )
    return None, None


def _by_alias(payment: Payment, index: MatchIndex) -> tuple[str | None, Evidence | None]:
    if not payment.payer_name:
        return None, None
    owner = index.customer_for_alias(payment.payer_name)
    if owner is None:
        return None, None
    detail = f"payer name '{payment.payer_name}' is a learned alias of {index.customer_name(owner)}"
    return owner, Evidence("payer-alias", detail, W_PAYER_ALIAS)
