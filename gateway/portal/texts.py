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
    # --- the customer's pages (overview, invoices, documents, statements, reminders) ---
    "overview": {"nb": "Oversikt", "en": "Overview"},
    "inquiries": {"nb": "Henvendelser", "en": "Inquiries"},
    "statements": {"nb": "Kontoutskrifter", "en": "Statements"},
    "reminders": {"nb": "Purringer", "en": "Reminders"},
    "account": {"nb": "Konto", "en": "Account"},
    "you_owe": {"nb": "Du skylder", "en": "You owe"},
    "of_which_overdue": {"nb": "Herav forfalt: {amount}", "en": "Of which overdue: {amount}"},
    "next_due": {"nb": "Neste forfall: {date}", "en": "Next due: {date}"},
    "nothing_owed": {"nb": "Du skylder ingenting nå", "en": "You owe nothing now"},
    "open_invoices": {"nb": "Åpne fakturaer", "en": "Open invoices"},
    "no_open_invoices": {"nb": "Ingen åpne fakturaer.", "en": "No open invoices."},
    "recently_paid": {"nb": "Nylig betalt", "en": "Recently paid"},
    "all_invoices": {"nb": "Alle fakturaer", "en": "All invoices"},
    "download_all": {"nb": "Last ned alt (zip)", "en": "Download everything (zip)"},
    "show": {"nb": "Vis", "en": "Show"},
    "show_open": {"nb": "Åpne", "en": "Open"},
    "show_paid": {"nb": "Betalte", "en": "Paid"},
    "show_all": {"nb": "Alle", "en": "All"},
    "no_invoices": {"nb": "Ingen fakturaer her.", "en": "No invoices here."},
    "number": {"nb": "Nummer", "en": "Number"},
    "issued": {"nb": "Fakturadato", "en": "Issued"},
    "due": {"nb": "Forfall", "en": "Due"},
    "amount": {"nb": "Beløp", "en": "Amount"},
    "left_to_pay": {"nb": "Å betale", "en": "Left to pay"},
    "status": {"nb": "Status", "en": "Status"},
    "invoice": {"nb": "Faktura", "en": "Invoice"},
    "credit_note": {"nb": "Kreditnota", "en": "Credit note"},
    "status_open": {"nb": "Åpen", "en": "Open"},
    "status_overdue": {"nb": "Forfalt", "en": "Overdue"},
    "status_partially_paid": {"nb": "Delvis betalt", "en": "Partially paid"},
    "status_paid": {"nb": "Betalt", "en": "Paid"},
    "status_credited": {"nb": "Kreditert", "en": "Credited"},
    "status_disputed": {"nb": "Under behandling", "en": "Under review"},
    "status_credit_note": {"nb": "Kreditnota", "en": "Credit note"},
    "pay_pick": {"nb": "Velg for betaling", "en": "Select to pay"},
    "pay_selected": {"nb": "Betal de valgte fakturaene:", "en": "Pay the selected invoices:"},
    "pay_this": {"nb": "Betal denne fakturaen:", "en": "Pay this invoice:"},
    "kid": {"nb": "KID", "en": "KID (payment reference)"},
    "account_number": {"nb": "Kontonummer", "en": "Account number"},
    "your_reference": {"nb": "Deres referanse", "en": "Your reference"},
    "order": {"nb": "Ordre", "en": "Order"},
    "being_looked_at": {
        "nb": "Vi ser på en henvendelse om denne fakturaen; purringer er stanset så lenge.",
        "en": "We are looking into a question about this invoice; reminders are paused meanwhile.",
    },
    "ask_question": {"nb": "Spørsmål om fakturaen?", "en": "A question about this invoice?"},
    "documents": {"nb": "Dokumenter", "en": "Documents"},
    "no_documents": {"nb": "Ingen dokumenter ennå.", "en": "No documents yet."},
    "file_pdf": {"nb": "PDF", "en": "PDF"},
    "file_xml": {"nb": "E-faktura (XML)", "en": "E-invoice (XML)"},
    "file_other": {"nb": "Fil", "en": "File"},
    "pod": {"nb": "Leveringsbevis", "en": "Proof of delivery"},
    "signed_by": {"nb": "signert av {name}", "en": "signed by {name}"},
    "lines": {"nb": "Linjer", "en": "Lines"},
    "item": {"nb": "Vare", "en": "Item"},
    "quantity": {"nb": "Antall", "en": "Quantity"},
    "price": {"nb": "Pris", "en": "Price"},
    "vat": {"nb": "MVA", "en": "VAT"},
    "net": {"nb": "Netto", "en": "Net"},
    "total": {"nb": "Totalt", "en": "Total"},
    "payments": {"nb": "Innbetalinger", "en": "Payments"},
    "no_payments": {"nb": "Ingen innbetalinger registrert.", "en": "No payments recorded."},
    "date": {"nb": "Dato", "en": "Date"},
    "what": {"nb": "Hva", "en": "What"},
    "document": {"nb": "Dokument", "en": "Document"},
    "open_document": {"nb": "Vis dokumentet", "en": "View the document"},
    "notices_about": {"nb": "Purringer og kontoutskrifter", "en": "Reminders and statements"},
    "pay_by": {"nb": "betal innen {date}", "en": "pay by {date}"},
    "pay_by_heading": {"nb": "Betal innen", "en": "Pay by"},
    "notice_statement": {"nb": "Kontoutskrift", "en": "Statement"},
    "notice_nudge": {"nb": "Påminnelse", "en": "Friendly reminder"},
    "notice_reminder": {"nb": "Purring", "en": "Reminder"},
    "notice_collection_warning": {"nb": "Inkassovarsel", "en": "Debt collection warning"},
    "notice_payment_demand": {"nb": "Betalingsoppfordring", "en": "Payment demand"},
    "no_statements": {"nb": "Ingen kontoutskrifter sendt.", "en": "No statements sent."},
    "no_reminders": {"nb": "Ingen purringer sendt.", "en": "No reminders sent."},
    "sign_in_for_more": {
        "nb": "Logg inn for å se alle fakturaene dine.",
        "en": "Sign in to see all your invoices.",
    },
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
