"""The portal's words in Norwegian (bokmål) and English: one table, looked up by key.

A page says `t("invoices")`; the language is the signed-in user's, else the browser's choice (cookie
`gw_portal_lang`, set by the language switch), else the tenant's PDF language. A key missing in one language
falls back to the other, and a key missing in both is the key itself (a test lists every key used).
"""

from __future__ import annotations

from typing import Any

LANGUAGES = ("nb", "en")

TEXTS: dict[str, dict[str, str]] = {
    "portal": {"nb": "Fakturaportal", "en": "Invoice portal"},
    "sign_in": {"nb": "Logg inn", "en": "Sign in"},
    "sign_out": {"nb": "Logg ut", "en": "Sign out"},
    "signed_out": {"nb": "Du er logget ut.", "en": "You are signed out."},
    "invoices": {"nb": "Fakturaer", "en": "Invoices"},
    "language": {"nb": "Språk", "en": "Language"},
    "skip": {"nb": "Gå til innholdet", "en": "Skip to content"},
    "not_found": {"nb": "Ikke funnet", "en": "Not found"},
    "not_found_text": {
        "nb": "Siden finnes ikke, eller den er ikke din.",
        "en": "There is no such page here.",
    },
    "not_allowed": {"nb": "Ikke tillatt", "en": "Not allowed"},
    "bad_request": {"nb": "Feil i forespørselen", "en": "Bad request"},
    "check_form": {"nb": "Sjekk skjemaet", "en": "Check the form"},
    "too_many": {"nb": "For mange forsøk", "en": "Too many attempts"},
    "error": {"nb": "Noe gikk galt", "en": "Something went wrong"},
    "error_text": {
        "nb": "Vi fikk ikke fullført dette. Oppgi forespørsels-ID-en under hvis du tar kontakt.",
        "en": "We could not finish this. Quote the request id below if you get in touch.",
    },
    "request_id": {"nb": "Forespørsels-ID", "en": "Request id"},
    "back": {"nb": "Tilbake til oversikten", "en": "Back to the overview"},
    # -- pay by link (helper PAY): the pay form's words and the page back from the provider --
    "pay": {"nb": "Betal", "en": "Pay"},
    "pay_with_stripe": {"nb": "Betal med kort", "en": "Pay by card"},
    "pay_with_vipps": {"nb": "Betal med Vipps / MobilePay", "en": "Pay with Vipps / MobilePay"},
    "pay_provider_stripe": {"nb": "Kortbetaling via Stripe", "en": "Card payment by Stripe"},
    "pay_provider_vipps": {"nb": "Betaling med Vipps MobilePay", "en": "Payment by Vipps MobilePay"},
    "pay_invoice": {"nb": "Faktura", "en": "Invoice"},
    "pay_amount": {"nb": "Beløp", "en": "Amount"},
    "pay_total": {"nb": "Totalt", "en": "Total"},
    "pay_state_confirming": {"nb": "Betaling mottatt, bekreftes", "en": "Payment received, being confirmed"},
    "pay_state_confirming_text": {
        "nb": "Takk! Vi venter på bekreftelsen fra betalingsleverandøren. Siden oppdateres av seg selv.",
        "en": "Thank you! We are waiting for the payment provider's confirmation. This page updates itself.",
    },
    "pay_state_paid": {"nb": "Betalt", "en": "Paid"},
    "pay_state_paid_text": {
        "nb": "Betalingen er bekreftet og ført på fakturaene.",
        "en": "The payment is confirmed and recorded against the invoices.",
    },
    "pay_state_cancelled": {"nb": "Betalingen ble avbrutt", "en": "Payment cancelled"},
    "pay_state_cancelled_text": {
        "nb": "Ingenting er trukket. Du kan prøve igjen fra fakturaen.",
        "en": "Nothing was charged. You can try again from the invoice.",
    },
    "pay_state_expired": {"nb": "Betalingen ble ikke fullført", "en": "Payment not completed"},
    "pay_state_expired_text": {
        "nb": "Betalingen gikk ut på tid, og ingenting er trukket. Du kan prøve igjen.",
        "en": "The payment timed out and nothing was charged. You can try again.",
    },
    "pay_state_declined": {"nb": "Betalingen ble avvist", "en": "Payment declined"},
    "pay_state_declined_text": {
        "nb": "Betalingen ble avvist eller avbrutt, og ingenting er trukket. Prøv igjen.",
        "en": "The payment was declined or cancelled and nothing was charged. Try again or pay another way.",
    },
    "pay_state_failed": {"nb": "Betalingen kunne ikke startes", "en": "The payment could not start"},
    "pay_state_failed_text": {
        "nb": "Betalingsleverandøren svarte ikke. Prøv igjen om litt.",
        "en": "The payment provider did not answer. Try again in a moment.",
    },
}


def text(key: str, language: str, **values: Any) -> str:
    """The text for `key` in `language` (the other language, else the key, when missing), filled in."""
    entry = TEXTS.get(key, {})
    template = entry.get(language) or next(iter(entry.values()), key)
    return template.format(**values) if values else template
