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
    # -- access (sign-in by link or password, the link's page, the account) --
    "sign_in_title": {"nb": "Logg inn i fakturaportalen", "en": "Sign in to the invoice portal"},
    "sign_in_intro": {
        "nb": "Skriv e-postadressen din, så sender vi deg en lenke som logger deg inn.",
        "en": "Enter your e-mail address and we will send you a link that signs you in.",
    },
    "email": {"nb": "E-postadresse", "en": "E-mail address"},
    "send_link": {"nb": "Send meg en innloggingslenke", "en": "Send me a sign-in link"},
    "or_password": {"nb": "Eller logg inn med passord", "en": "Or sign in with a password"},
    "password": {"nb": "Passord", "en": "Password"},
    "sign_in_password": {"nb": "Logg inn med passord", "en": "Sign in with password"},
    "no_seller_title": {"nb": "Bruk lenken fra fakturaen", "en": "Use the link from your invoice"},
    "no_seller_text": {
        "nb": "Du kommer inn via lenken i en faktura-e-post fra leverandøren din. Kjenner du leverandørens "
        "portal-ID, kan du skrive den her.",
        "en": "You get in through the link in an invoice e-mail from your supplier. If you know your "
        "supplier's portal id, enter it here.",
    },
    "seller_id": {"nb": "Leverandørens portal-ID", "en": "Supplier's portal id"},
    "continue": {"nb": "Fortsett", "en": "Continue"},
    "check_email_title": {"nb": "Sjekk e-posten din", "en": "Check your e-mail"},
    "check_email_text": {
        "nb": "Hvis adressen er registrert hos oss, har vi sendt en innloggingslenke til den. Lenken virker "
        "i {minutes} minutter, én gang, og bare i denne nettleseren.",
        "en": "If the address is registered with us, we have sent a sign-in link to it. The link works for "
        "{minutes} minutes, once, and only in this browser.",
    },
    "check_email_spam": {
        "nb": "Finner du ikke e-posten, se i søppelpostmappen, eller be om en ny lenke.",
        "en": "If you cannot find the e-mail, look in your spam folder, or ask for a new link.",
    },
    "new_link": {"nb": "Be om en ny lenke", "en": "Ask for a new link"},
    "continue_title": {"nb": "Logg inn", "en": "Sign in"},
    "continue_text": {
        "nb": "Trykk på knappen for å logge inn i fakturaportalen.",
        "en": "Press the button to sign in to the invoice portal.",
    },
    "link_refused_title": {"nb": "Lenken virker ikke", "en": "The link does not work"},
    "link_expired": {"nb": "Lenken er utløpt.", "en": "The link has expired."},
    "link_used": {"nb": "Lenken er allerede brukt.", "en": "The link has already been used."},
    "link_browser": {
        "nb": "Lenken må åpnes i den samme nettleseren som ba om den.",
        "en": "The link must be opened in the same browser that asked for it.",
    },
    "link_unknown": {"nb": "Lenken er ikke gyldig.", "en": "The link is not valid."},
    "link_ask_again": {
        "nb": "Be om en ny innloggingslenke, og åpne den i denne nettleseren.",
        "en": "Ask for a new sign-in link, and open it in this browser.",
    },
    "too_many_links": {
        "nb": "For mange forsøk på kort tid. Vent et kvarter og prøv igjen.",
        "en": "Too many attempts in a short time. Wait a quarter of an hour and try again.",
    },
    "login_stale": {
        "nb": "Skjemaets sikkerhetsnøkkel mangler eller er for gammel. Last siden på nytt og prøv igjen.",
        "en": "The form's security token is missing or stale: reload the page and try again.",
    },
    "wrong_password": {"nb": "Feil e-postadresse eller passord.", "en": "Wrong e-mail address or password."},
    "account_title": {"nb": "Din konto", "en": "Your account"},
    "signed_in_as": {"nb": "Logget inn som", "en": "Signed in as"},
    "password_title": {"nb": "Passord", "en": "Password"},
    "password_none": {
        "nb": "Du logger inn med en lenke på e-post. Vil du heller bruke passord, kan du velge et her "
        "(minst 12 tegn).",
        "en": "You sign in with a link by e-mail. To use a password instead, choose one here (at least 12 "
        "characters).",
    },
    "password_set": {
        "nb": "Du har et passord. Du kan bytte det her (minst 12 tegn). Lenke på e-post virker fortsatt.",
        "en": "You have a password. You can change it here (at least 12 characters). E-mail links still "
        "work.",
    },
    "new_password": {"nb": "Nytt passord", "en": "New password"},
    "repeat_password": {"nb": "Gjenta passordet", "en": "Repeat the password"},
    "save_password": {"nb": "Lagre passord", "en": "Save password"},
    "password_saved": {"nb": "Passordet er lagret.", "en": "The password is saved."},
    "passwords_differ": {"nb": "Passordene er ikke like.", "en": "The passwords differ."},
    "password_too_short": {
        "nb": "Passordet må ha minst 12 tegn.",
        "en": "The password needs at least 12 characters.",
    },
    "language_title": {"nb": "Språk", "en": "Language"},
    "language_text": {
        "nb": "Språket på sidene og i e-postene vi sender deg.",
        "en": "The language of the pages and of the e-mails we send you.",
    },
    "save_language": {"nb": "Lagre språk", "en": "Save language"},
    "language_saved": {"nb": "Språket er lagret.", "en": "The language is saved."},
    "norwegian": {"nb": "Norsk", "en": "Norwegian"},
    "english": {"nb": "Engelsk", "en": "English"},
    # --- inquiries and promises to pay (gateway/portal/pages/inquiries.py) ---
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
    # -- paging (portal at a big customer's size: lists a page at a time) --
    "show_more": {"nb": "Vis flere", "en": "Show more"},
    "first_page": {"nb": "Til de nyeste", "en": "Back to the newest"},
    "all_open_invoices": {"nb": "Se alle {count} åpne fakturaer", "en": "See all {count} open invoices"},
    # --- end of paging ---
}


def text(key: str, language: str, **values: Any) -> str:
    """The text for `key` in `language` (the other language, else the key, when missing), filled in."""
    entry = TEXTS.get(key, {})
    template = entry.get(language) or next(iter(entry.values()), key)
    return template.format(**values) if values else template
