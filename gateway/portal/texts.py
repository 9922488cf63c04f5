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
    "account": {"nb": "Konto", "en": "Account"},
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
}


def text(key: str, language: str, **values: Any) -> str:
    """The text for `key` in `language` (the other language, else the key, when missing), filled in."""
    entry = TEXTS.get(key, {})
    template = entry.get(language) or next(iter(entry.values()), key)
    return template.format(**values) if values else template
