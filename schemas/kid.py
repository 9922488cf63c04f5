"""Norwegian KID (customer identification number): check digits and the payee's agreement.

A KID is digits ending in a check digit: MOD10 (Luhn, weights 2,1,2,1… from the right) or MOD11 (weights
2,3,4,5,6,7,2,3… from the right; 11 - sum % 11, where 11 becomes 0 and 10 becomes "-"). Which algorithm
and how long are fixed by the payee's agreement with Nets / the bank: a KID is valid by the agreement, not
by "either algorithm". MOD11's "-" is allowed by Nets but refused by some banks, so generation defaults to
MOD10 and a MOD11 agreement may forbid the dash (`mod11_dash=False` skips numbers whose check would be 10).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from stdnum import luhn

KidAlgorithm = Literal["mod10", "mod11"]


class KidError(ValueError):
    """A KID that the agreement does not accept, with the reason."""


def mod10_check_digit(digits: str) -> str:
    return luhn.calc_check_digit(digits)


def mod11_check_digit(digits: str) -> str:
    """The MOD11 check character of `digits`: "0"…"9", or "-" when the remainder leaves 10."""
    total = sum(int(d) * (2 + i % 6) for i, d in enumerate(reversed(digits)))
    check = 11 - total % 11
    return "0" if check == 11 else "-" if check == 10 else str(check)


def check_digit(digits: str, algorithm: KidAlgorithm) -> str:
    if not digits.isdigit():
        raise KidError(f"a KID body is digits only, not {digits!r}")
    return mod10_check_digit(digits) if algorithm == "mod10" else mod11_check_digit(digits)


def is_valid_kid(kid: str, algorithm: KidAlgorithm) -> bool:
    return len(kid) >= 2 and kid[:-1].isdigit() and check_digit(kid[:-1], algorithm) == kid[-1]


class KidAgreement(BaseModel):
    """The payee's KID agreement: algorithm, length, and how the gateway builds KIDs for invoices.

    A generated KID is `prefix` + the invoice number's digits, left-padded with zeros to fill `length`
    (check digit included), + the check digit. `generate` asks intake to add one to invoices that carry
    none; a KID an invoice already carries is checked against the agreement.
    """

    model_config = ConfigDict(extra="forbid")

    algorithm: KidAlgorithm = "mod10"
    length: int = Field(10, ge=2, le=25, description="total length including the check digit")
    prefix: str = Field("", pattern=r"^\d*$", description="fixed leading digits, e.g. a customer group")
    generate: bool = Field(False, description="add a KID to invoices that have none")
    mod11_dash: bool = Field(
        False, description="MOD11 only: a '-' check is acceptable (some banks refuse it)"
    )

    @model_validator(mode="after")
    def _fits(self) -> KidAgreement:
        if len(self.prefix) >= self.length - 1:
            raise ValueError("the prefix leaves no room for the invoice number and check digit")
        return self

    def validate_kid(self, kid: str) -> None:
        """Raise `KidError` naming why `kid` is not a KID under this agreement."""
        if len(kid) != self.length:
            raise KidError(f"KID {kid!r} has {len(kid)} characters; the agreement says {self.length}")
        if not kid[:-1].isdigit():
            raise KidError(f"KID {kid!r} must be digits before the check digit")
        expected = check_digit(kid[:-1], self.algorithm)
        if expected == "-" and not self.mod11_dash:
            raise KidError(f"KID {kid!r}: its MOD11 check would be '-', which this agreement does not allow")
        if kid[-1] != expected:
            raise KidError(
                f"KID {kid!r} fails its {self.algorithm.upper()} check digit (expected {expected!r})"
            )

    def is_valid(self, kid: str) -> bool:
        try:
            self.validate_kid(kid)
        except KidError:
            return False
        return True

    def generate_for(self, invoice_number: str) -> str:
        """The KID for an invoice number: prefix + its digits zero-padded + check digit.

        Refuses a number without digits or too long for the agreement (silently cutting digits off would
        give two invoices the same KID). Under MOD11 without dash, a number whose check would be "-"
        cannot get a KID by this rule: that is refused too, naming the number.
        """
        digits = "".join(ch for ch in invoice_number if ch.isdigit())
        room = self.length - 1 - len(self.prefix)
        if not digits:
            raise KidError(f"invoice number {invoice_number!r} has no digits to build a KID from")
        digits = digits.lstrip("0") or "0"
        if len(digits) > room:
            raise KidError(
                f"invoice number {invoice_number!r} needs {len(digits)} digits; the agreement leaves {room}"
            )
        body = self.prefix + digits.rjust(room, "0")
        check = check_digit(body, self.algorithm)
        if check == "-" and not self.mod11_dash:
            raise KidError(
                f"invoice number {invoice_number!r} gives a MOD11 check of '-', which the agreement forbids"
            )
        return body + check
