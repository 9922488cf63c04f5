"""The customer hears what happened without having to look: e-mails to its portal users when the seller's
team answers an inquiry or closes it, and a receipt when a card payment is booked.

Sent **after** the change is committed, by whoever made it (the console page and the API route as a
background task once the answer is written, the command line after its transaction, the providers' webhook
after the event is kept): no SMTP conversation inside a database transaction, and a mail server that is down
never undoes or fails the answer. Delivery is in-process and at most once: a process that dies between the
commit and the send loses the e-mail (the portal still shows everything; there is no outbox for these).

What the customer is told of: only inquiries it can see in its portal (`inquiries.customer_can_see`: opened
from the portal, or with an answer to it); only the seller's answers (side `seller`), never internal notes;
outcomes as the portal words them (the internal resolution note stays internal). Each active portal user of
the customer gets one e-mail in its own language (nb or en), from the seller's name, with a link to the
thread when `portal_base_url` is set (no credential in it: the page asks to sign in). Whether it went is
noted on the dispute's history as an internal event (`customer_mailed` / `customer_mail_failed` with the
reason); an installation with no e-mail settings at all sends nothing and notes nothing (no entry "sent"
is the sign the customer was not told). The log names the dispute and the reason, never a token.

A receipt goes once per booked card payment: only the first delivery of the event that booked it sends one
(a repeated webhook is a duplicate and sends nothing), to the portal user who started the checkout (its
`created_by` is `portal:<email>`), else to the e-mail the provider reports for the payer.
"""

from __future__ import annotations

import datetime as dt
import logging
from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import Engine, select
from sqlmodel import Session, col

from db.engine import session_scope
from db.models import CardCheckout, InvoiceRecord, PortalUser
from db.models.followup import Dispute, DisputeMessage
from gateway.services.followup import disputes as dispute_service
from gateway.services.portal.checkout import checkout_lines
from gateway.services.portal.inquiries import customer_can_see
from gateway.services.portal.mail import (
    MailNotSent,
    NoticeMail,
    email_config,
    seller_name,
    send_notice_mail,
)
from gateway.settings import Settings

log = logging.getLogger("gateway.portal.notify")

#: History events this module writes (internal: the customer never sees them).
MAILED = "customer_mailed"
MAIL_FAILED = "customer_mail_failed"
#: Who the history names as the author of those events.
AUTHOR = "gateway:portal-mail"
#: Outcomes the customer is told of (a credit only once approved: a proposal is still "being looked into").
TOLD_OUTCOMES = ("rejected", "withdrawn", "credited")


@dataclass
class Told:
    """What was sent: the addresses reached and the failures (address, reason)."""

    sent: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _language(value: str | None) -> str:
    return value if value in ("nb", "en") else "nb"


def money_text(amount: Decimal, currency: str, language: str) -> str:
    """1 250,00 NOK (nb) / 1,250.00 NOK (en)."""
    text = f"{amount:,.2f}"
    if language == "nb":
        text = text.replace(",", " ").replace(".", ",")
    return f"{text} {currency}"


def _date_text(moment: dt.datetime, language: str) -> str:
    day = dispute_service.local_date(moment)
    return day.strftime("%d.%m.%Y") if language == "nb" else day.isoformat()


def _thread_place(settings: Settings, dispute_id: str, seller: str, language: str) -> str:
    """Where to read it: the thread's address, or (no portal address configured) words saying to sign in."""
    base = (settings.portal_base_url or "").rstrip("/")
    if base:
        link = f"{base}/portal/inquiries/{dispute_id}"
        return (
            f"Les hele saken i portalen:\n{link}"
            if language == "nb"
            else f"Read it all in the portal:\n{link}"
        )
    if language == "nb":
        return f"Logg inn i fakturaportalen til {seller} for å lese hele saken og svare."
    return f"Sign in to {seller}'s invoice portal to read it all and reply."


_ANSWER = {
    "nb": (
        "{seller} har svart på spørsmålet ditt om faktura {number}",
        "Hei,\n\n{seller} har svart på spørsmålet ditt om faktura {number}:\n\n{text}\n\n{place}\n\n"
        "Med vennlig hilsen\n{seller}\n",
    ),
    "en": (
        "{seller} has answered your question about invoice {number}",
        "Hello,\n\n{seller} has answered your question about invoice {number}:\n\n{text}\n\n{place}\n\n"
        "Kind regards\n{seller}\n",
    ),
}
_OUTCOME_SUBJECT = {
    "nb": "{seller} har avsluttet saken om faktura {number}",
    "en": "{seller} has closed your inquiry about invoice {number}",
}
_OUTCOME = {
    ("rejected", "nb"): "Saken er avsluttet: fakturaen gjelder som før. Gjenstår å betale: {open}.",
    ("rejected", "en"): "The inquiry is closed: the invoice stands as it is. Left to pay: {open}.",
    ("withdrawn", "nb"): "Saken er avsluttet uten endringer på fakturaen. Gjenstår å betale: {open}.",
    ("withdrawn", "en"): "The inquiry is closed with no change to the invoice. Left to pay: {open}.",
    ("credited", "nb"): "Vi har kreditert {amount} (kreditnota {credit_note}). Gjenstår å betale: {open}.",
    ("credited", "en"): "We credited {amount} (credit note {credit_note}). Left to pay: {open}.",
}
_OUTCOME_BODY = {
    "nb": "Hei,\n\n{seller} har avsluttet saken din om faktura {number}.\n\n{outcome}\n\n{place}\n\n"
    "Med vennlig hilsen\n{seller}\n",
    "en": "Hello,\n\n{seller} has closed your inquiry about invoice {number}.\n\n{outcome}\n\n{place}\n\n"
    "Kind regards\n{seller}\n",
}
_ATTACHMENT_ONLY = {
    "nb": "(Svaret er et vedlegg: se det i portalen.)",
    "en": "(The answer is an attachment: see it in the portal.)",
}


def _quoted(text: str) -> str:
    return "\n".join(f"  {line}" if line else "" for line in text.splitlines())


def _active_users(session: Session, tenant_id: str, receiver_id: str) -> list[PortalUser]:
    return list(
        session.execute(
            select(PortalUser)
            .where(
                col(PortalUser.tenant_id) == tenant_id,
                col(PortalUser.receiver_id) == receiver_id,
                col(PortalUser.disabled_at).is_(None),
            )
            .order_by(col(PortalUser.email))
        ).scalars()
    )


def _dispute_mails(
    session: Session, settings: Settings, dispute: Dispute, message_id: int | None
) -> list[NoticeMail]:
    """The e-mails to send for the answer `message_id` (or, None, for the dispute's outcome); none when
    the customer is not to be told."""
    invoice = session.get(InvoiceRecord, dispute.invoice_id)
    if invoice is None or not invoice.receiver_id or not customer_can_see(session, dispute.id):
        return []
    answer: DisputeMessage | None = None
    if message_id is not None:
        answer = session.get(DisputeMessage, message_id)
        if answer is None or answer.dispute_id != dispute.id or answer.side != "seller":
            return []
    elif dispute.status not in TOLD_OUTCOMES:
        return []
    users = _active_users(session, dispute.tenant_id, invoice.receiver_id)
    if not users:
        return []
    seller = seller_name(session, dispute.tenant_id)
    left = dispute_service.open_amount(invoice)
    credit_note = (
        session.get(InvoiceRecord, dispute.credit_note_invoice_id) if dispute.credit_note_invoice_id else None
    )
    mails = []
    for user in users:
        language = _language(user.language)
        values = {
            "seller": seller,
            "number": invoice.number,
            "place": _thread_place(settings, dispute.id, seller, language),
        }
        if answer is not None:
            subject, body = _ANSWER[language]
            text = _quoted(answer.text) if answer.text else _ATTACHMENT_ONLY[language]
            mails.append(
                NoticeMail(
                    to=user.email, seller=seller, subject=subject.format(**values),
                    body=body.format(text=text, **values), kind="inquiry-answer",
                )
            )  # fmt: skip
            continue
        outcome = _OUTCOME[(dispute.status, language)].format(
            open=money_text(left, invoice.currency, language),
            amount=money_text(Decimal(dispute.credit_amount or "0"), invoice.currency, language),
            credit_note=credit_note.number if credit_note is not None else "—",
        )
        mails.append(
            NoticeMail(
                to=user.email, seller=seller, subject=_OUTCOME_SUBJECT[language].format(**values),
                body=_OUTCOME_BODY[language].format(outcome=outcome, **values), kind="inquiry-outcome",
            )
        )  # fmt: skip
    return mails


def _send_all(settings: Settings, mails: list[NoticeMail]) -> Told:
    told = Told()
    for mail in mails:
        try:
            send_notice_mail(settings, mail)
        except MailNotSent as error:
            told.failed.append((mail.to, str(error)))
        else:
            told.sent.append(mail.to)
    return told


def _note_on_history(engine: Engine, dispute: Dispute, told: Told, kind: str, now: dt.datetime) -> None:
    """Say on the dispute's history (internal) whether the customer was told, in a transaction of its own."""
    entries = []
    if told.sent:
        entries.append((MAILED, f"e-mail to the customer ({kind}) sent to {', '.join(told.sent)}"))
    for address, reason in told.failed:
        entries.append((MAIL_FAILED, f"e-mail to the customer ({kind}) failed: {address}: {reason}"))
    if not entries:
        return
    with session_scope(engine) as session:
        for event, text in entries:
            session.add(
                DisputeMessage(
                    dispute_id=dispute.id, at=now, author=AUTHOR, side="internal", text=text, event=event
                )
            )


def tell_customer(
    engine: Engine,
    settings: Settings,
    tenant_id: str,
    dispute_id: str,
    *,
    message_id: int | None = None,
    now: dt.datetime | None = None,
) -> Told:
    """E-mail the customer's portal users about the seller's answer `message_id` on the dispute, or (None)
    about its outcome. Call it after the answer or resolution is committed. Never raises: whatever goes
    wrong is logged and, for a mail that did not go, noted on the dispute's history."""
    now = now or dt.datetime.now(dt.UTC)
    try:
        with session_scope(engine) as session:
            dispute = session.get(Dispute, dispute_id)
            if dispute is None or dispute.tenant_id != tenant_id:
                return Told()
            mails = _dispute_mails(session, settings, dispute, message_id)
            session.expunge(dispute)
        if not mails:
            return Told()
        try:
            email_config(settings)
        except MailNotSent as error:  # an installation that sends no e-mail: nothing failed, nothing noted
            log.info(
                "the customer is not told by e-mail", extra={"dispute_id": dispute_id, "reason": str(error)}
            )
            return Told()
        told = _send_all(settings, mails)
        for address, reason in told.failed:
            log.warning(
                "the customer was not told by e-mail",
                extra={"dispute_id": dispute_id, "to": address, "reason": reason},
            )
        _note_on_history(engine, dispute, told, mails[0].kind, now)
        return told
    except Exception:  # never fail the answer that was already given: say so in the log
        log.exception("telling the customer by e-mail failed", extra={"dispute_id": dispute_id})
        return Told()


# --- receipts for card payments -----------------------------------------------------------------------------


_RECEIPT_SUBJECT = {
    "nb": "Kvittering for betaling til {seller}",
    "en": "Receipt for your payment to {seller}",
}
_RECEIPT_BODY = {
    "nb": "Hei,\n\nTakk for betalingen! {seller} har mottatt {total} med {provider} {date} "
    "for:\n\n{lines}\n\n{place}\n\nMed vennlig hilsen\n{seller}\n",
    "en": "Hello,\n\nThank you for your payment! {seller} has received {total} by {provider} on {date} "
    "for:\n\n{lines}\n\n{place}\n\nKind regards\n{seller}\n",
}
_PROVIDERS = {"stripe": "kort (Stripe)", "vipps": "Vipps MobilePay"}
_PROVIDERS_EN = {"stripe": "card (Stripe)", "vipps": "Vipps MobilePay"}


def _receipt_place(settings: Settings, seller: str, language: str) -> str:
    base = (settings.portal_base_url or "").rstrip("/")
    if base:
        link = f"{base}/portal/invoices?show=paid"
        return (
            f"Se fakturaene i portalen:\n{link}"
            if language == "nb"
            else f"See the invoices in the portal:\n{link}"
        )
    if language == "nb":
        return f"Fakturaene vises som betalt i fakturaportalen til {seller}."
    return f"The invoices show as paid in {seller}'s invoice portal."


def _receipt_mail(
    session: Session, settings: Settings, checkout: CardCheckout, payer_email: str | None
) -> NoticeMail | None:
    address = None
    language = "nb"
    if checkout.created_by.startswith("portal:"):
        address = checkout.created_by.removeprefix("portal:").strip().lower() or None
    if address is None and payer_email and "@" in payer_email:
        address = payer_email.strip().lower()
    if address is None:
        return None
    user = session.execute(
        select(PortalUser).where(
            col(PortalUser.tenant_id) == checkout.tenant_id,
            col(PortalUser.receiver_id) == checkout.receiver_id,
            col(PortalUser.email) == address,
        )
    ).scalar_one_or_none()
    if user is not None:
        language = _language(user.language)
    seller = seller_name(session, checkout.tenant_id)
    lines = "\n".join(
        f"  {'Faktura' if language == 'nb' else 'Invoice'} {line.number}: "
        f"{money_text(line.amount, checkout.currency, language)}"
        for line in checkout_lines(checkout)
    )
    provider = (_PROVIDERS if language == "nb" else _PROVIDERS_EN).get(checkout.provider, checkout.provider)
    values = {
        "seller": seller,
        "total": money_text(Decimal(checkout.amount), checkout.currency, language),
        "provider": provider,
        "date": _date_text(checkout.completed_at or dt.datetime.now(dt.UTC), language),
        "lines": lines,
        "place": _receipt_place(settings, seller, language),
    }
    return NoticeMail(
        to=address, seller=seller, subject=_RECEIPT_SUBJECT[language].format(**values),
        body=_RECEIPT_BODY[language].format(**values), kind="receipt",
    )  # fmt: skip


def send_receipt(
    engine: Engine, settings: Settings, checkout_id: str, *, payer_email: str | None = None
) -> bool:
    """E-mail the receipt for the paid checkout (call it once: when the event that booked it is first
    kept). True when it went; never raises (the payment is booked whatever the mail server says: a failure
    is logged with the checkout's id and the reason)."""
    try:
        with session_scope(engine) as session:
            checkout = session.get(CardCheckout, checkout_id)
            if checkout is None or checkout.status != "paid":
                return False
            mail = _receipt_mail(session, settings, checkout, payer_email)
        if mail is None:
            log.info("no address for a receipt", extra={"checkout_id": checkout_id})
            return False
        send_notice_mail(settings, mail)
    except MailNotSent as error:
        log.warning("the receipt was not sent", extra={"checkout_id": checkout_id, "reason": str(error)})
        return False
    except Exception:  # the payment is booked; a receipt that fails must not make the webhook fail
        log.exception("sending the receipt failed", extra={"checkout_id": checkout_id})
        return False
    return True
