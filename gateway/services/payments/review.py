"""What a credit controller reviewing payments needs besides the decisions themselves: the work queues and
their counts, each choice the engine offers in words with what booking it would do to the invoices, a
preview of a hand allocation or a reversal before it is booked, and what became of each remittance file.

Read-only: every booking goes through `matching_runs` (`approve_payment`, `resolve_payment`,
`ignore_payment`, `reverse_payment`), so the console and the API book the same way. The previews use the
same arithmetic as the booking (`_book_allocations`): the write-off goes with the last invoice.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from sqlmodel import col

from db.models import InvoiceRecord, PayerObservation, PaymentAllocation, PaymentRecord
from gateway.services.payments.matching_runs import (
    MATCHER,
    checked_allocations,
    invoice_payment_status,
    payment_choices,
)

#: The console's queues: name -> (label, the payment statuses in it; None: every payment).
QUEUES: dict[str, tuple[str, tuple[str, ...] | None]] = {
    "exceptions": ("Exceptions", ("exception",)),
    "approvals": ("Awaiting approval", ("needs_approval",)),
    "matched": ("Matched", ("applied", "resolved", "reconciled")),
    "all": ("All", None),
}
MATCHED = ("applied", "resolved")
UNMATCHED = ("new", "exception", "needs_approval")

#: Evidence kinds by what they are about, so a person sees at a glance which fact speaks.
_TOPICS = (
    ("kid", "Reference"),
    ("invoice-number", "Reference"),
    ("credit-note", "Reference"),
    ("reference", "Reference"),
    ("pattern", "Reference"),
    ("paid-reference", "Reference"),
    ("amount", "Amount"),
    ("fx", "Amount"),
    ("deduction", "Amount"),
    ("payer", "Payer"),
    ("account", "Payer"),
    ("alias", "Payer"),
    ("due", "Timing"),
    ("ambiguous", "Doubt"),
    ("conflict", "Doubt"),
    ("elsewhere", "Doubt"),
)


def sentence(text: str) -> str:
    """The engine's phrase as a sentence: a capital first letter and a full stop."""
    text = text.strip()
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?")) else text + "."


def evidence_in_words(evidence: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Each fact as a sentence, what it is about, and whether it speaks for or against the choice."""
    out = []
    for item in evidence:
        kind = str(item.get("kind", ""))
        weight = float(item.get("weight") or 0)
        topic = next((name for prefix, name in _TOPICS if kind.startswith(prefix)), "Evidence")
        out.append(
            {
                "topic": topic,
                "text": sentence(str(item.get("detail", ""))),
                "stance": "for" if weight > 0 else "against" if weight < 0 else "note",
            }
        )
    return out


@dataclass(frozen=True)
class InvoiceEffect:
    """What booking does to one invoice: open now, applied, written off, open after, status after."""

    invoice_id: str
    number: str
    buyer: str
    currency: str
    open_before: Decimal
    applied: Decimal
    write_off: Decimal
    open_after: Decimal
    status_before: str
    status_after: str
    credit_note: bool = False


def _open(invoice: InvoiceRecord) -> Decimal:
    return Decimal(invoice.open_amount if invoice.open_amount is not None else invoice.payable_amount)


def effects_of(
    session: Session, tenant_id: str, allocations: Sequence[tuple[str, Decimal]], write_off: Decimal
) -> list[InvoiceEffect]:
    """What booking `allocations` (invoice id, amount) with `write_off` would do, on the invoices as they
    are now; the write-off goes with the last invoice, as the booking does it."""
    invoices = {
        invoice.id: invoice
        for invoice in session.execute(
            select(InvoiceRecord).where(
                col(InvoiceRecord.tenant_id) == tenant_id,
                col(InvoiceRecord.id).in_([invoice_id for invoice_id, _ in allocations]),
            )
        ).scalars()
    }
    rows = [(invoices[i], amount) for i, amount in allocations if i in invoices]
    last_invoice = max(
        (n for n, (invoice, _) in enumerate(rows) if invoice.document_type != "credit_note"), default=None
    )
    running = {invoice.id: _open(invoice) for invoice, _ in rows}
    effects = []
    for n, (invoice, amount) in enumerate(rows):
        off = write_off if n == last_invoice else Decimal(0)
        before = running[invoice.id]
        after = before - amount - off
        running[invoice.id] = after
        effects.append(
            InvoiceEffect(
                invoice.id,
                invoice.number,
                invoice.buyer_name,
                invoice.currency,
                before,
                amount,
                off,
                after,
                invoice.payment_status,
                invoice_payment_status(after, Decimal(invoice.payable_amount)),
                invoice.document_type == "credit_note",
            )
        )
    return effects


def choices_in_words(session: Session, payment: PaymentRecord) -> list[dict[str, Any]]:
    """The proposal and suggestions a person may book (numbered as `approve_payment` counts them), each with
    its confidence, its evidence as sentences and what it would do to each invoice."""
    out = []
    for number, choice in enumerate(payment_choices(payment)):
        allocations = [(a["invoice_id"], Decimal(a["amount"])) for a in choice.get("allocations", [])]
        write_off = Decimal(choice.get("write_off") or 0)
        effects = effects_of(session, payment.tenant_id, allocations, write_off)
        out.append(
            {
                "number": number,
                "is_proposal": payment.status == "needs_approval" and number == 0,
                "invoices": [effect.number for effect in effects],
                "buyer": effects[0].buyer if effects else "",
                "effects": effects,
                "unapplied": Decimal(choice.get("unapplied") or 0),
                "confidence": round(float(choice.get("score") or 0) * 100),
                "write_off": write_off,
                "evidence": evidence_in_words(choice.get("evidence") or []),
            }
        )
    return out


def preview_allocations(
    session: Session, payment: PaymentRecord, requested: Sequence[tuple[str, Decimal]], write_off: Decimal
) -> list[InvoiceEffect]:
    """What a hand allocation would do, or `ResolutionRefused` naming the field, exactly as booking it
    would refuse (an unknown invoice, more than the payment brought)."""
    chosen, _net, _same = checked_allocations(session, payment, requested)
    return effects_of(session, payment.tenant_id, [(a.invoice_id, a.amount) for a in chosen], write_off)


def reversal_effects(session: Session, payment: PaymentRecord) -> list[InvoiceEffect]:
    """What reversing the payment would do: each invoice gets back what this payment applied and wrote off."""
    rows = session.execute(
        select(PaymentAllocation, InvoiceRecord)
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(PaymentAllocation.invoice_id))
        .where(col(PaymentAllocation.payment_id) == payment.id, col(PaymentAllocation.reversed_at).is_(None))
        .order_by(col(PaymentAllocation.created_at))
    ).all()
    effects = []
    for allocation, invoice in rows:
        before = _open(invoice)
        after = before + Decimal(allocation.amount) + Decimal(allocation.write_off)
        effects.append(
            InvoiceEffect(
                invoice.id,
                invoice.number,
                invoice.buyer_name,
                invoice.currency,
                before,
                -Decimal(allocation.amount),
                Decimal(0),
                after,
                invoice.payment_status,
                invoice_payment_status(after, Decimal(invoice.payable_amount)),
                invoice.document_type == "credit_note",
            )
        )
    return effects


def applied_to(session: Session, payment: PaymentRecord) -> list[dict[str, Any]]:
    """Every allocation of the payment (reversed ones too) with its invoice's payment status now."""
    rows = session.execute(
        select(PaymentAllocation, InvoiceRecord)
        .join(InvoiceRecord, col(InvoiceRecord.id) == col(PaymentAllocation.invoice_id))
        .where(col(PaymentAllocation.payment_id) == payment.id)
        .order_by(col(PaymentAllocation.created_at))
    ).all()
    return [
        {
            "number": invoice.number,
            "buyer": invoice.buyer_name,
            "currency": invoice.currency,
            "amount": Decimal(allocation.amount),
            "write_off": Decimal(allocation.write_off),
            "by": allocation.created_by,
            "at": allocation.created_at,
            "reversed_at": allocation.reversed_at,
            "reversed_by": allocation.reversed_by,
            "invoice_status": invoice.payment_status,
            "invoice_open": _open(invoice),
        }
        for allocation, invoice in rows
    ]


def best_in_words(payment: PaymentRecord) -> str:
    """One line for a list: what became of the payment, or the engine's best suggestion and why."""
    decision = payment.decision or {}
    if payment.status == "resolved":
        last = (decision.get("resolutions") or [{}])[-1]
        numbers = ", ".join(a.get("number", "") for a in last.get("allocations", []))
        return f"Resolved by {_who(last.get('by'))} to {numbers}" if numbers else "Resolved by hand"
    if payment.status == "applied":
        numbers = ", ".join(
            a.get("number", "") for a in (decision.get("proposal") or {}).get("allocations", [])
        )
        return f"Applied to {numbers} by the matcher"
    if payment.status in ("exception", "needs_approval"):
        choices = payment_choices(payment)
        if not choices:
            return sentence(str(decision.get("reason") or "No suggestion: allocate by hand"))
        best = choices[0]
        numbers = ", ".join(a.get("number", "") for a in best.get("allocations", []))
        lead = "Proposal" if payment.status == "needs_approval" else "Best suggestion"
        facts = [e for e in best.get("evidence") or [] if float(e.get("weight") or 0) > 0]
        why = f": {facts[0]['detail']}" if facts else ""
        more = f" (+{len(choices) - 1} more)" if len(choices) > 1 else ""
        return f"{lead} {numbers}{why}{more}"
    if payment.status == "new":
        return "Waiting for the next matching run"
    return sentence(str(payment.note or payment.status))


def _who(actor: Any) -> str:
    text = str(actor or "")
    return "the matcher" if text == MATCHER else text.removeprefix("console:")


def count_by_status(session: Session, tenant_id: str, *, file_id: str | None = None) -> dict[str, int]:
    """How many of the tenant's payments are in each status (the queues' counts)."""
    query = (
        select(col(PaymentRecord.status), func.count())
        .where(col(PaymentRecord.tenant_id) == tenant_id)
        .group_by(col(PaymentRecord.status))
    )
    if file_id:
        query = query.where(col(PaymentRecord.file_id) == file_id)
    return {status: int(count) for status, count in session.execute(query).all()}


def queue_counts(counts: dict[str, int]) -> dict[str, int]:
    """Per console queue, how many payments it holds."""
    return {
        name: sum(counts.values()) if statuses is None else sum(counts.get(s, 0) for s in statuses)
        for name, (_label, statuses) in QUEUES.items()
    }


def file_outcomes(session: Session, tenant_id: str, file_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
    """Per remittance file: payments matched (applied or resolved), unmatched (waiting for matching or a
    person) and otherwise settled (ignored, duplicates, hints), and the amount still unmatched.

    The counts are made by the database; only the unmatched payments' amounts are read (exact decimals,
    summed here): a bank file of ten thousand payments is not loaded to show a handful of exceptions.
    """
    outcomes: dict[str, dict[str, Any]] = {
        file_id: {"matched": 0, "unmatched": 0, "other": 0, "unmatched_amount": Decimal(0)}
        for file_id in file_ids
    }
    if not file_ids:
        return outcomes
    of_these_files = (col(PaymentRecord.tenant_id) == tenant_id, col(PaymentRecord.file_id).in_(file_ids))
    counted = session.execute(
        select(col(PaymentRecord.file_id), col(PaymentRecord.status), func.count())
        .where(*of_these_files)
        .group_by(col(PaymentRecord.file_id), col(PaymentRecord.status))
    ).all()
    for file_id, status, count in counted:
        bucket = "matched" if status in MATCHED else "unmatched" if status in UNMATCHED else "other"
        outcomes[file_id][bucket] += int(count)
    unmatched = session.execute(
        select(col(PaymentRecord.file_id), col(PaymentRecord.amount)).where(
            *of_these_files, col(PaymentRecord.status).in_(sorted(UNMATCHED))
        )
    ).all()
    for file_id, amount in unmatched:
        outcomes[file_id]["unmatched_amount"] += Decimal(amount)
    return outcomes


# --- what matching learned about payers, in words (the Payers page and a payment's page) -----------------


def shown_account(value: str) -> str:
    """A Norwegian account number as people write it (1503.20.80119); anything else as stored."""
    return f"{value[:4]}.{value[4:6]}.{value[6:]}" if len(value) == 11 and value.isdigit() else value


def customer_names(session: Session, tenant_id: str, keys: Iterable[str]) -> dict[str, str]:
    """The buyer name the tenant's invoices give each customer key; a `name:` key (an invoice without a
    customer key) by the invoice's name as written. A key no invoice carries is left out."""
    wanted = {key for key in keys if key}
    if not wanted:
        return {}
    names: dict[str, str] = {}
    keyed = sorted(key for key in wanted if not key.startswith("name:"))
    for start in range(0, len(keyed), 500):
        chunk = keyed[start : start + 500]
        for key, name in session.execute(
            select(col(InvoiceRecord.customer_key), col(InvoiceRecord.buyer_name))
            .where(col(InvoiceRecord.tenant_id) == tenant_id, col(InvoiceRecord.customer_key).in_(chunk))
            .order_by(col(InvoiceRecord.created_at).desc())
        ):
            if key is not None:
                names.setdefault(key, name)
    by_name = {key.removeprefix("name:"): key for key in wanted if key.startswith("name:")}
    if by_name:
        for name in session.execute(
            select(col(InvoiceRecord.buyer_name))
            .where(
                col(InvoiceRecord.tenant_id) == tenant_id,
                col(InvoiceRecord.customer_key).is_(None),
                func.lower(col(InvoiceRecord.buyer_name)).in_(sorted(by_name)),
            )
            .distinct()
        ).scalars():
            key = by_name.get(name.casefold())
            if key is not None:
                names.setdefault(key, name)
        for folded, key in by_name.items():  # SQLite's lower() folds ASCII only: ØSTBY stays as written
            names.setdefault(key, folded.title())
    return names


def payment_labels(session: Session, tenant_id: str, payment_ids: Iterable[str]) -> dict[str, dict[str, str]]:
    """Payment id -> its amount ("3 885.00 NOK") and day ("2026-11-20"), for links that say which payment
    they lead to."""
    wanted = sorted({payment_id for payment_id in payment_ids if payment_id})
    labels: dict[str, dict[str, str]] = {}
    for start in range(0, len(wanted), 500):
        for payment in session.execute(
            select(PaymentRecord).where(
                col(PaymentRecord.tenant_id) == tenant_id,
                col(PaymentRecord.id).in_(wanted[start : start + 500]),
            )
        ).scalars():
            day = payment.value_date or payment.booking_date or payment.created_at.date()
            amount = f"{Decimal(payment.amount):,.2f}".replace(",", "\u202f")
            labels[payment.id] = {"amount": f"{amount} {payment.currency}", "day": f"{day:%Y-%m-%d}"}
    return labels


def learned_in_words(session: Session, payment: PaymentRecord) -> list[str]:
    """What this payment taught matching about its payer (an automatic application's `learned`), what it
    deliberately did not learn and why, and what a reversal or a person's resolution made matching forget."""
    decision = payment.decision or {}
    learned = decision.get("learned") or {}
    accounts: dict[str, str] = learned.get("accounts") or {}
    aliases: dict[str, str] = learned.get("aliases") or {}
    names = customer_names(session, payment.tenant_id, [*accounts.values(), *aliases.values()])
    withdrawn = {
        observation.value: observation
        for observation in session.execute(
            select(PayerObservation).where(
                col(PayerObservation.tenant_id) == payment.tenant_id,
                col(PayerObservation.payment_id) == payment.id,
                col(PayerObservation.withdrawn_at).is_not(None),
            )
        ).scalars()
    }
    out: list[str] = []
    for account, key in accounts.items():
        name = names.get(key, key)
        text = (
            f"Matching learned from this payment that payer account {shown_account(account)} is {name}’s; "
            "a later payment from it without a reference is searched among that customer’s open items"
        )
        gone = withdrawn.get(account)
        if gone is not None and gone.withdrawn_at is not None:
            text += f". Since forgotten by {_who(gone.withdrawn_by)} ({gone.withdrawn_at:%Y-%m-%d %H:%M} UTC)"
        out.append(text + ".")
    for alias, key in aliases.items():
        out.append(
            f"Matching learned from this payment that the payer name “{alias}” is {names.get(key, key)}’s."
        )
    out += [sentence(str(note)) for note in learned.get("notes") or []]
    for what, entries in (("Reversed", decision.get("reversals")), ("Resolved", decision.get("resolutions"))):
        for entry in entries or []:
            forgot = [shown_account(str(value)) for value in entry.get("unlearned") or []]
            if forgot:
                out.append(
                    f"{what} by {_who(entry.get('by'))}: matching forgot what the automatic application "
                    f"taught (payer account {', '.join(forgot)})."
                )
    return out
