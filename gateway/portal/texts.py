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
}


def text(key: str, language: str, **values: Any) -> str:
    """The text for `key` in `language` (the other language, else the key, when missing), filled in."""
    entry = TEXTS.get(key, {})
    template = entry.get(language) or next(iter(entry.values()), key)
    return template.format(**values) if values else template
