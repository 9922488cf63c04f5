"""How names, identifiers and amounts are written for searching: one definition shared by the intake (which
stores them), the invoice search (which writes a query the same way) and the migration that fills them in for
invoices accepted before they existed.

A person types "tromso" for "Tromsø", "fjordbyen bygg" for "FJORDBYEN  BYGG AS" and "923 609 016" for an
organisation number; each key below turns both sides into the same text, so a plain index lookup (or a
substring test) finds what they meant.
"""

from __future__ import annotations

import unicodedata
from decimal import Decimal
from typing import TypedDict

#: Letters Unicode does not decompose into a base letter and a mark, written as a reader would without them.
_UNDECOMPOSED = str.maketrans(
    {"ø": "o", "æ": "ae", "œ": "oe", "ð": "d", "đ": "d", "ł": "l", "þ": "th", "ı": "i", "ß": "ss"}
    | {"Ø": "O", "Æ": "AE", "Œ": "OE", "Ð": "D", "Đ": "D", "Ł": "L", "Þ": "TH"}
)


def without_accents(text: str) -> str:
    """`text` in base letters: "Tromsø Båt" → "Tromso Bat" (and "Æ" → "AE", "ß" → "ss")."""
    decomposed = unicodedata.normalize("NFKD", text)
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return bare.translate(_UNDECOMPOSED)


def folded(text: str) -> str:
    """`text` without case, accents or repeated spaces: "Fjørd  Bygg AS" → "fjord bygg as"."""
    return " ".join(without_accents(text.casefold()).split())


def identifier_key(value: str) -> str:
    """An organisation number, VAT id, endpoint or KID as compared: no spaces, upper case."""
    return "".join(value.split()).upper()


def amount_cents(amount: Decimal) -> int:
    """An amount in hundredths, exactly (invoice amounts have at most two decimals): indexable and exact on
    SQLite too, which has no exact decimal type. `ValueError` for an amount with finer decimals."""
    cents = amount * 100
    if cents != cents.to_integral_value():
        raise ValueError(f"{amount} has more than two decimals")
    return int(cents)


class SearchColumns(TypedDict):
    """The invoice columns a search compares with (`db.models.InvoiceRecord`), as stored."""

    buyer_search: str
    payable_cents: int
    buyer_legal_id: str | None
    buyer_vat_id: str | None
    buyer_endpoint: str | None


def search_columns(
    buyer_name: str,
    payable: Decimal,
    *,
    legal_id: str | None,
    vat_id: str | None,
    endpoint: str | None,
) -> SearchColumns:
    """An invoice's search columns from its buyer (BT-44, BT-47, BT-48, BT-49 value) and BT-115."""
    return SearchColumns(
        buyer_search=folded(buyer_name)[:200],
        payable_cents=amount_cents(payable),
        buyer_legal_id=identifier_key(legal_id)[:100] if legal_id else None,
        buyer_vat_id=identifier_key(vat_id)[:100] if vat_id else None,
        buyer_endpoint=identifier_key(endpoint)[:100] if endpoint else None,
    )
