"""What a person's resolution of a payment teaches the index, so the next such payment matches by itself.

The payer's account becomes the customer's; the payer's name becomes an alias when it differs from the
customer's names as written (unless it fits another customer as well: a truncated bank name often does);
and a reference written in a house style the readers did not understand ("F202400123" for invoice 123)
becomes a pattern for this customer.
"""

from __future__ import annotations

from collections.abc import Sequence

from gateway.matching.index import MatchIndex
from gateway.matching.model import Allocation, Learned, LearnedPattern
from gateway.matching.names import alias_key
from gateway.matching.references import (
    compact_kid,
    derive_pattern,
    normalise_account,
    normalise_number,
    text_references,
)
from schemas.remittance import Payment

#: A payer name that fits another customer's name this well (0..100) is not learned as an alias: a bank name
#: cut at 20-35 characters is often the start of several customers' names.
ALIAS_RIVAL_SCORE = 95.0


def learn_from_resolution(
    payment: Payment, allocations: Sequence[Allocation], index: MatchIndex, customer_key: str
) -> Learned:
    """What a person's resolution teaches, applied to `index` and returned for the caller to store."""
    learned = Learned()
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
