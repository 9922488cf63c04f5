"""Norwegian national identity numbers (fødselsnummer and D-number): checked, and never shown in full.

A consumer receiver is recognised by one; the consumer channels (eFaktura, Digipost) address by it. It is
personal data of the strictest kind here: every view shows `mask_national_id`, and the log formatter masks
any valid one that slips into a message (`gateway.logging_setup`).
"""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator
from pydantic_core import PydanticCustomError
from stdnum.exceptions import ValidationError as StdnumError
from stdnum.no import fodselsnummer

#: How many leading digits a masked number hides: what is left (the last four) tells two numbers apart
#: for a person who has the full one, and gives away neither the birth date nor the individual number.
MASKED_DIGITS = 7


def checked_national_id(value: str) -> str:
    """`value` as 11 digits when it is a valid fødselsnummer or D-number (spaces and a dash allowed in the
    input); a pydantic error naming the reason otherwise — without echoing the number."""
    try:
        return str(fodselsnummer.validate(value))
    except StdnumError as error:
        raise PydanticCustomError(
            "national_id",
            "not a valid Norwegian national identity number ({reason})",
            {"reason": str(error)},
        ) from None


def is_national_id(value: str) -> bool:
    return bool(fodselsnummer.is_valid(value))


def mask_national_id(value: str | None) -> str | None:
    """The number as every view shows it: `*******` and the last four digits."""
    if value is None:
        return None
    digits = "".join(ch for ch in value if ch.isdigit())
    return "*" * MASKED_DIGITS + digits[-4:]


#: Eleven digits, perhaps as `ddmmyy nnnnn`, not inside a longer run of digits: a candidate number.
_ELEVEN_DIGITS = re.compile(r"(?<!\d)(\d{6})[ ]?(\d{5})(?!\d)")


def mask_national_ids(text: str) -> str:
    """`text` with every valid national identity number in it masked (`mask_national_id`): for free text
    that people see and that may name one by mistake (a channel's reason for a failure)."""
    if len(text) < 11:
        return text

    def masked(match: re.Match[str]) -> str:
        number = match.group(1) + match.group(2)
        return str(mask_national_id(number)) if is_national_id(number) else match.group(0)

    return _ELEVEN_DIGITS.sub(masked, text)


NationalId = Annotated[str, AfterValidator(checked_national_id)]

__all__ = [
    "MASKED_DIGITS",
    "NationalId",
    "checked_national_id",
    "is_national_id",
    "mask_national_id",
    "mask_national_ids",
]
