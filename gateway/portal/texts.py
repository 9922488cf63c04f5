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
    # --- inquiries and promises to pay (gateway/portal/pages/inquiries.py) ---
    "inquiries": {"nb": "Henvendelser", "en": "Inquiries"},
    "inq_title": {"nb": "Spørsmål om faktura {number}", "en": "A question about invoice {number}"},
    "inq_thread_title": {"nb": "Henvendelse om faktura {number}", "en": "Inquiry about invoice {number}"},
    "inq_intro": {
        "nb": "Er noe galt med fakturaen, eller har du et spørsmål? Skriv til oss her. Vi stopper purringer "
        "på fakturaen mens vi ser på saken.",
        "en": "Is something wrong with the invoice, or do you have a question? Write to us here. We stop "
        "reminders on the invoice while we look into it.",
    },
    "inq_invoice": {"nb": "Faktura", "en": "Invoice"},
    "inq_due": {"nb": "Forfall", "en": "Due"},
    "inq_open_amount": {"nb": "Gjenstår å betale", "en": "Left to pay"},
    "inq_view_invoice": {"nb": "Se fakturaen", "en": "View the invoice"},
    "inq_ask": {"nb": "Still et spørsmål", "en": "Ask a question"},
    "inq_category": {"nb": "Hva gjelder det?", "en": "What is it about?"},
    "inq_category_wrong_amount": {"nb": "Feil beløp", "en": "Wrong amount"},
    "inq_category_not_received": {"nb": "Ikke mottatt", "en": "Not received"},
    "inq_category_already_paid": {"nb": "Allerede betalt", "en": "Already paid"},
    "inq_category_goods": {"nb": "Varer mangler eller er skadet", "en": "Goods missing or damaged"},
    "inq_category_other": {"nb": "Annet", "en": "Other"},
    "inq_choose": {"nb": "Velg …", "en": "Choose …"},
    "inq_text": {"nb": "Din melding", "en": "Your message"},
    "inq_text_help": {"nb": "Høyst {limit} tegn.", "en": "At most {limit} characters."},
    "inq_attachment": {"nb": "Vedlegg", "en": "Attachment"},
    "inq_attachment_help": {
        "nb": "Valgfritt: én PDF, JPEG eller PNG, høyst {mb} MB.",
        "en": "Optional: one PDF, JPEG or PNG, at most {mb} MB.",
    },
    "inq_send": {"nb": "Send henvendelsen", "en": "Send the inquiry"},
    "inq_open_note": {
        "nb": "Du har allerede en åpen henvendelse om denne fakturaen. Det du skriver nå, legges til i den.",
        "en": "You already have an open inquiry about this invoice. What you write now is added to it.",
    },
    "inq_see_open": {"nb": "Se den åpne henvendelsen", "en": "See the open inquiry"},
    "inq_opened": {
        "nb": "Takk! Henvendelsen er sendt. Vi stopper purringer på fakturaen mens vi ser på den.",
        "en": "Thank you! Your inquiry is sent. We stop reminders on the invoice while we look into it.",
    },
    "inq_added": {
        "nb": "Du hadde allerede en åpen henvendelse om denne fakturaen: meldingen din er lagt til i den.",
        "en": "You already had an open inquiry about this invoice: your message was added to it.",
    },
    "inq_credit_note": {
        "nb": "Dette er en kreditnota: det er ingenting å betale på den.",
        "en": "This is a credit note: nothing is owed on it.",
    },
    "inq_promise_heading": {"nb": "Jeg betaler innen en bestemt dato", "en": "I will pay by a date"},
    "inq_promise_intro": {
        "nb": "Trenger du litt mer tid? Si når du betaler, så venter vi med purringer til da.",
        "en": "Need a little more time? Tell us when you will pay and we hold reminders until then.",
    },
    "inq_promise_date": {"nb": "Jeg betaler innen", "en": "I will pay by"},
    "inq_promise_date_help": {
        "nb": "Senest {latest} ({days} dager fra i dag).",
        "en": "At the latest {latest} ({days} days from today).",
    },
    "inq_promise_amount": {"nb": "Beløp ({currency})", "en": "Amount ({currency})"},
    "inq_promise_amount_help": {
        "nb": "Tomt: hele beløpet som gjenstår ({open}).",
        "en": "Empty: all that is left to pay ({open}).",
    },
    "inq_promise_send": {"nb": "Lagre betalingsløftet", "en": "Save my promise"},
    "inq_promise_saved": {
        "nb": "Takk! Vi har notert at du betaler {amount} innen {date}.",
        "en": "Thank you! We have noted that you will pay {amount} by {date}.",
    },
    "inq_promise_current": {
        "nb": "Du har lovet å betale {amount} innen {date}. Et nytt løfte erstatter dette.",
        "en": "You promised to pay {amount} by {date}. A new promise replaces it.",
    },
    "inq_none": {
        "nb": "Du har ingen henvendelser. Vil du spørre om en faktura, åpne fakturaen og velg «Still et "
        "spørsmål».",
        "en": "You have no inquiries. To ask about an invoice, open it and choose “Ask a question”.",
    },
    "inq_about": {"nb": "Gjelder", "en": "About"},
    "inq_status": {"nb": "Status", "en": "Status"},
    "inq_opened_at": {"nb": "Sendt", "en": "Sent"},
    "inq_last": {"nb": "Siste melding", "en": "Last message"},
    "inq_answered": {"nb": "Besvart", "en": "Answered"},
    "inq_state_open": {"nb": "Under behandling", "en": "Being looked into"},
    "inq_state_rejected": {"nb": "Avsluttet", "en": "Closed"},
    "inq_state_withdrawn": {"nb": "Avsluttet", "en": "Closed"},
    "inq_state_credited": {"nb": "Kreditert", "en": "Credited"},
    "inq_outcome_open": {
        "nb": "Vi ser på saken. Purringer på fakturaen er stoppet så lenge.",
        "en": "We are looking into it. Reminders on the invoice are stopped meanwhile.",
    },
    "inq_outcome_rejected": {
        "nb": "Saken er avsluttet: fakturaen gjelder som før. Gjenstår å betale: {open}.",
        "en": "The inquiry is closed: the invoice stands as it is. Left to pay: {open}.",
    },
    "inq_outcome_withdrawn": {
        "nb": "Saken er avsluttet uten endringer på fakturaen. Gjenstår å betale: {open}.",
        "en": "The inquiry is closed with no change to the invoice. Left to pay: {open}.",
    },
    "inq_outcome_credited": {
        "nb": "Vi har kreditert {amount} (kreditnota {number}). Gjenstår å betale: {open}.",
        "en": "We credited {amount} (credit note {number}). Left to pay: {open}.",
    },
    "inq_you": {"nb": "Du", "en": "You"},
    "inq_thread": {"nb": "Meldinger", "en": "Messages"},
    "inq_reply": {"nb": "Svar", "en": "Reply"},
    "inq_reply_send": {"nb": "Send svaret", "en": "Send the reply"},
    "inq_reply_sent": {"nb": "Svaret ditt er sendt.", "en": "Your reply is sent."},
    "inq_closed_note": {
        "nb": "Henvendelsen er avsluttet. Har du flere spørsmål om fakturaen, send en ny henvendelse.",
        "en": "The inquiry is closed. If you have more questions about the invoice, send a new inquiry.",
    },
    "inq_error_choose": {"nb": "Velg hva det gjelder.", "en": "Choose what it is about."},
    "inq_error_text_required": {"nb": "Skriv en melding.", "en": "Write a message."},
    "inq_error_text_too_long": {
        "nb": "Meldingen er for lang: høyst {limit} tegn.",
        "en": "The message is too long: at most {limit} characters.",
    },
    "inq_error_text_control": {
        "nb": "Meldingen inneholder tegn som ikke kan brukes.",
        "en": "The message contains characters that cannot be used.",
    },
    "inq_error_attachment_refused": {
        "nb": "Vedlegget ble ikke godtatt (bare PDF, JPEG eller PNG): {reason}",
        "en": "The attachment was not accepted (only PDF, JPEG or PNG): {reason}",
    },
    "inq_error_credit_note_no_inquiry": {
        "nb": "Dette er en kreditnota: det er ingenting å betale eller bestride på den.",
        "en": "This is a credit note: there is nothing to pay or dispute on it.",
    },
    "inq_error_inquiry_closed": {
        "nb": "Henvendelsen er avsluttet. Send en ny henvendelse om fakturaen.",
        "en": "The inquiry is closed. Send a new inquiry about the invoice.",
    },
    "inq_error_date_invalid": {"nb": "Velg en dato.", "en": "Choose a date."},
    "inq_error_date_past": {"nb": "Datoen har allerede vært.", "en": "The date has already passed."},
    "inq_error_date_too_late": {
        "nb": "Datoen kan være høyst {days} dager fram i tid, senest {latest}.",
        "en": "The date can be at most {days} days ahead, {latest} at the latest.",
    },
    "inq_error_nothing_owed": {
        "nb": "Fakturaen er betalt: det er ingenting å love.",
        "en": "The invoice is paid: there is nothing to promise.",
    },
    "inq_error_amount_too_high": {
        "nb": "Beløpet kan ikke være mer enn det som gjenstår: {open}.",
        "en": "The amount cannot be more than what is left to pay: {open}.",
    },
    "inq_error_amount_invalid": {
        "nb": "Skriv et beløp, for eksempel 1250,00.",
        "en": "Write an amount, for example 1250.00.",
    },
    "inq_error_other": {"nb": "Dette ble ikke godtatt: {reason}", "en": "This was not accepted: {reason}"},
    # --- end of inquiries ---
}


def text(key: str, language: str, **values: Any) -> str:
    """The text for `key` in `language` (the other language, else the key, when missing), filled in."""
    entry = TEXTS.get(key, {})
    template = entry.get(language) or next(iter(entry.values()), key)
    return template.format(**values) if values else template
