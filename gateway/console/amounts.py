"""Amounts typed into a console form, read exactly as `Decimal` or refused with a 422 naming the field.

Accepted: digits with an optional decimal point ("1234.50"), grouped by spaces as the console prints them
("12 345.50"). Refused: commas (is "1,234" a thousand or one point two?), exponents, NaN and infinity,
signs where none is allowed, and more decimals than the currency has (NOK 2, JPY 0, KWD 3).
"""

from __future__ import annotations

import re
from decimal import Decimal

from fastapi import HTTPException

from schemas.canonical import currency_minor_units

_AMOUNT = re.compile(r"(?P<sign>-)?(?P<digits>\d+)(?:\.(?P<decimals>\d+))?")
_SPACES = ("\u202f", "\u00a0", "\u2009", " ")
MAX_LENGTH = 30


def form_amount(
    text: str | None,
    *,
    field: str,
    currency: str,
    required: bool = True,
    allow_zero: bool = False,
    allow_negative: bool = False,
) -> Decimal | None:
    """`text` as an exact amount in `currency`; None when empty and not `required`; else a 422 whose
    message starts with the field's name."""
    value = (text or "").strip()
    for space in _SPACES:
        value = value.replace(space, "")
    if not value:
        if required:
            raise HTTPException(422, f"{field}: an amount is required")
        return None
    if "," in value:
        raise HTTPException(
            422, f"{field}: {text!r} has a comma; write the amount with a decimal point, like 1234.50"
        )
    found = _AMOUNT.fullmatch(value) if len(value) <= MAX_LENGTH else None
    if found is None:
        raise HTTPException(422, f"{field}: {text!r} is not an amount; write it like 1234.50")
    if found["sign"] and not allow_negative:
        raise HTTPException(422, f"{field}: must not be negative")
    places = currency_minor_units(currency)
    if found["decimals"] and len(found["decimals"]) > places:
        raise HTTPException(422, f"{field}: {currency} has {places} decimals at most, not {text!r}")
    amount = Decimal(value)
    if amount == 0 and not allow_zero:
        raise HTTPException(422, f"{field}: must be more than zero")
    return amount
