"""What a person's resolution, or the engine's own confident application, teaches the index, so the next
such payment matches by itself.

The payer's account becomes the customer's; the payer's name becomes an alias when it differs from the
customer's names as written (unless it fits another customer as well: a truncated bank name often does);
and a reference written in a house style the readers did not understand ("F202400123" for invoice 123)
becomes a pattern for this customer.

An automatic application teaches only the payer's account, and only when it rests on structured
references that fit the amount (`learn_from_application`); an account seen so for two customers is shared.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal

from gateway.matching.index import MatchIndex
from gateway.matching.model import Allocation, Decision, Learned, LearnedPattern, OpenItem
from gateway.matching.names import alias_key
from gateway.matching.references import (
    compact_kid,
    derive_pattern,
    normalise_account,
    normalise_number,
    text_references,
)
from schemas.matching import MatchingPolicy
from schemas.remittance import Payment

#: Payment kinds a payment provider reports (a card payment advice: `mappings.remittance.card_advice`): the
#: payer is whoever held the card, paying through the provider; who it is teaches nothing about the customer.
PROVIDER_PAYMENT_KINDS = frozenset({"card"})

#: A payer name that fits another customer's name this well (0..100) is not learned as an alias: a bank name
#: cut at 20-35 characters is often the start of several customers' names.
ALIAS_RIVAL_SCORE = 95.0


def learn_from_resolution(
    payment: Payment, allocations: Sequence[Allocation], index: MatchIndex, customer_key: str
) -> Learned:
    """What a person's resolution teaches, applied to `index` and returned for the caller to store."""
    learned = Learned()
    if payment.kind in PROVIDER_PAYMENT_KINDS:
        learned.notes.append(
            "the payer of a card payment is the card holder at a payment provider: its name and account "
            "are not learned"
        )
    else:
        _learn_account(payment, index, customer_key, learned)
        _learn_alias(payment, index, customer_key, learned)
    _learn_patterns(payment, allocations, index, customer_key, learned)
    return learned


def _learn_account(payment: Payment, index: MatchIndex, customer_key: str, learned: Learned) -> None:
    if not payment.payer_account:
        return
    account = normalise_account(payment.payer_account)
    if account and index.customer_for_account(account) != customer_key:
        index.learn_account(account, customer_key)
        learned.accounts[account] = customer_key


def _learn_alias(payment: Payment, index: MatchIndex, customer_key: str, learned: Learned) -> None:
    name = (payment.payer_name or "").strip()
    if not (name and alias_key(name)):
        return
    own = {alias_key(known) for known in index.customer_names(customer_key)}
    if alias_key(name) in own or index.customer_for_alias(name) == customer_key:
        return
    rivals = [
        hit
        for hit in index.find_names(name, limit=10)
        if hit.customer_key != customer_key and hit.score >= ALIAS_RIVAL_SCORE
    ]
    if rivals:
        learned.notes.append(
            f"payer name '{name}' is not learned as an alias: it fits {rivals[0].name} as well "
            f"({rivals[0].score:.0f} %)"
        )
    else:
        index.learn_alias(name, customer_key)
        learned.aliases[name] = customer_key


def _learn_patterns(
    payment: Payment,
    allocations: Sequence[Allocation],
    index: MatchIndex,
    customer_key: str,
    learned: Learned,
) -> None:
    """A pattern for each allocated item the payment named only in a way the readers did not understand."""
    texts = [*payment.free_text, payment.end_to_end_id or ""]
    direct: set[str] = set()  # numbers the readers found by themselves
    kids: set[str] = set()
    for line in payment.lines:
        texts += [value for value in (line.text, line.invoice_number, line.kid) if value]
        if line.invoice_number:
            direct.add(normalise_number(line.invoice_number))
        if line.kid:
            kids.add(compact_kid(line.kid))
            direct.add(normalise_number(line.kid))
    for text in [*payment.free_text, *(line.text for line in payment.lines if line.text)]:
        direct.update(reference.number for reference in text_references(text))
    source = f"resolution of payment {payment.bank_reference or payment.position or ''}".strip()
    for allocation in allocations:
        item = index.item(allocation.invoice_id)
        number = item.number if item is not None else allocation.number
        if normalise_number(number) in direct or (
            item is not None and item.kid and compact_kid(item.kid) in kids
        ):
            continue
        for text in texts:
            regex = derive_pattern(text, number) if text else None
            if regex is not None:
                pattern = LearnedPattern(customer_key, regex, source)
                if index.learn_pattern(pattern):
                    learned.patterns.append(pattern)
                break


# --- learning from the engine's own confident applications (issue 22) ------------------------------------

#: Amount evidence a confident application's proposal carries: the amount fits (exactly, or short within
#: the write-off allowance). A partial, an overpayment or a stated deduction teaches nothing.
_FITTING = frozenset({"amount-exact", "amount-short"})
_NOT_FITTING = frozenset({"amount-partial", "amount-over", "amount-deduction", "amount-mismatch"})


def structured_references(payment: Payment, index: MatchIndex) -> dict[str, tuple[OpenItem, str]]:
    """The items the payment names by a structured reference (invoice id -> item, how it was named).

    Structured: a remittance line's KID or invoice number field, or a free-text token that is a KID valid
    under the tenant's KID agreement (its check digit makes a chance hit on another item's KID unlikely,
    unlike a free-text number, which is often an order or customer number). A value naming items of
    several customers names no one. Typo-corrected and pattern-read references are not here: a guess
    teaches nothing.
    """
    named: list[tuple[list[OpenItem], str]] = []
    for line in payment.lines:
        if line.kid:
            kid = compact_kid(line.kid)
            named.append((index.by_kid(kid), f"KID {kid}"))
        if line.invoice_number:
            items = index.by_number(normalise_number(line.invoice_number))
            for reading in text_references(line.invoice_number) if not items else ():
                items = index.by_number(reading.number)  # "INV-10023": as the reference reader reads it
                if items:
                    break
            named.append((items, f"invoice number {line.invoice_number}"))
    agreement = index.kid_agreement
    if agreement is not None:
        for text in [*payment.free_text, *(line.text for line in payment.lines if line.text)]:
            for reference in text_references(text):
                digits = reference.digits
                if digits and len(digits) == agreement.length and agreement.is_valid(digits):
                    named.append((index.by_kid(digits), f"KID {digits}"))
    found: dict[str, tuple[OpenItem, str]] = {}
    for items, how in named:
        if len({item.customer_key for item in items}) == 1:
            for item in items:
                found.setdefault(item.invoice_id, (item, how))
    return found


#: The write-off allowance `confident_customer` grants (the policy's defaults: the payer's identification
#: runs without the tenant's policy): a payment service's fee taken off a KID payment still names it.
_DEFAULT_POLICY = MatchingPolicy()


def confident_customer(payment: Payment, index: MatchIndex) -> tuple[str, str] | None:
    """The customer whose open items the payment's structured references name and whose open amounts add
    up to the amount, exactly or short within the default write-off allowance (customer key, how it was
    named); None when they name several customers or the amount does not fit. What the payment says by
    itself, whoever the payer seems to be: what would apply if the payer's account were not known."""
    found = structured_references(payment, index)
    customers = {item.customer_key for item, _ in found.values()}
    if len(customers) != 1:
        return None
    items = [item for item, _ in found.values()]
    if any(item.currency != payment.currency or item.open_amount <= 0 for item in items):
        return None
    owed = sum(
        (item.open_amount if item.document_type == "invoice" else -item.open_amount for item in items),
        Decimal(0),
    )
    short = owed - payment.amount
    allowance = min(_DEFAULT_POLICY.write_off_limit, owed * _DEFAULT_POLICY.write_off_percent / 100)
    if not Decimal(0) <= short <= allowance:
        return None
    return items[0].customer_key, next(iter(found.values()))[1]


def is_intermediary(name: str | None, policy: MatchingPolicy) -> str | None:
    """The intermediary (payment service, card acquirer...) a payer name is, by a word or its start."""
    folded = (name or "").casefold().strip()
    if not folded:
        return None
    for intermediary in policy.intermediary_names:
        known = intermediary.casefold().strip()
        if known and (folded.startswith(known) or re.search(rf"\b{re.escape(known)}\b", folded)):
            return intermediary
    return None


def related_customers(index: MatchIndex, customer_key: str, other_key: str) -> bool:
    """Whether an account of `customer_key` paying `other_key`'s items is still one payer: the same customer.

    A parent paying its group's invoices (`MatchIndex.group_of`) from its own account is one payer too, not
    an account paying for several customers: it neither becomes shared nor yields."""
    return customer_key == other_key or other_key in index.group_of(customer_key)


def _named_like_another(name: str | None, index: MatchIndex, customer_key: str) -> str | None:
    """The other customer a payer's name resembles closely while it does not resemble `customer_key`'s:
    then the account is a third party's (a sister company, an accountant) paying once, not the customer's."""
    if not name:
        return None
    hits = index.find_names(name, limit=10)
    if any(hit.customer_key == customer_key for hit in hits):
        return None
    rivals = [hit for hit in hits if hit.score >= ALIAS_RIVAL_SCORE]
    return rivals[0].name if rivals else None


def learn_from_application(
    payment: Payment, decision: Decision, index: MatchIndex, policy: MatchingPolicy
) -> Learned:
    """What the engine's own automatic application teaches: the payer's account is the customer's.

    Only from an application that rests on structured references (`structured_references`) naming every
    applied item, whose amount fits (exact, or short within the write-off allowance); from a payment with
    a payer account that is neither in `policy.shared_accounts` nor an intermediary's (by the payer's
    name), nor taught by a person as another customer's. An account learned automatically for another
    customer becomes shared: an account seen paying for two customers identifies neither, ever after. Nor
    from a payer whose name resembles another customer and not this one (a third party paying once).
    Applied to `index` (so the rest of a run uses it) and returned for the caller to store.
    """
    learned = Learned()
    proposal = decision.proposal
    if decision.outcome != "applied" or proposal is None or not payment.payer_account:
        return learned
    if payment.kind in PROVIDER_PAYMENT_KINDS:
        return learned
    kinds = {evidence.kind for evidence in proposal.evidence}
    if not kinds & _FITTING or kinds & _NOT_FITTING or proposal.unapplied:
        return learned
    found = structured_references(payment, index)
    named = [found.get(allocation.invoice_id) for allocation in proposal.allocations]
    customer_key = proposal.customer_key
    if (
        customer_key is None
        or not named
        or any(hit is None or hit[0].customer_key != customer_key for hit in named)
    ):
        return learned
    how = next(hit[1] for hit in named if hit is not None)
    account = normalise_account(payment.payer_account)
    if not account:
        return learned
    if account in {normalise_account(shared) for shared in policy.shared_accounts}:
        learned.notes.append(f"payer account {account} is a shared account (policy): never learned")
        return learned
    intermediary = is_intermediary(payment.payer_name, policy)
    if intermediary is not None:
        learned.notes.append(
            f"payer account {account} is not learned: '{payment.payer_name}' is an intermediary "
            f"({intermediary}) paying for others"
        )
        return learned
    third_party = _named_like_another(payment.payer_name, index, customer_key)
    if third_party is not None:
        learned.notes.append(
            f"payer account {account} is not learned: the payer's name '{payment.payer_name}' resembles "
            f"{third_party}, not {index.customer_name(customer_key)} (paying for someone else?)"
        )
        return learned
    owner, shared = index.account_owner(account)
    if shared:
        learned.notes.append(f"payer account {account} has paid for several customers: never learned")
        return learned
    if owner is not None and owner != customer_key:
        if related_customers(index, owner, customer_key):
            return learned  # the group's payer paying a member's item: the account stays the payer's
        if index.account_taught(account):
            learned.notes.append(
                f"payer account {account} is not learned: a person taught it as "
                f"{index.customer_name(owner)}'s"
            )
            return learned
        learned.notes.append(
            f"payer account {account} was learned for {index.customer_name(owner)} and now paid "
            f"{index.customer_name(customer_key)}'s {how}: it pays for several customers (shared) and "
            "identifies no one from now on"
        )
    elif owner is not None and index.account_taught(account):
        return learned  # a person taught it already: nothing new
    reference = payment.bank_reference or payment.position
    source = f"payment {reference}'s {how}" if reference else f"a payment's {how}"
    index.learn_account(account, customer_key, source=source, automatic=True)
    learned.accounts[account] = customer_key
    return learned
