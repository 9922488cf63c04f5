"""Norwegian national identity numbers (fødselsnummer and D-number): checked, and never shown in full.

A consumer receiver is recognised by one; the consumer channels (eFaktura, Digipost) address by it. It is
personal data of the strictest kind here: every view shows `mask_national_id`, and the log formatter masks
any valid one that slips into a message (`gateway.logging_setup`).
"""

from __future__ import annotations

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


NationalId = Annotated[str, AfterValidator(checked_national_id)]

__all__ = ["MASKED_DIGITS", "NationalId", "checked_national_id", "is_national_id", "mask_national_id"]
