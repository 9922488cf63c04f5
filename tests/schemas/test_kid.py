"""KID check digits and the payee's agreement: MOD10 (Luhn), MOD11 with its '-' rule, length, generation."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from stdnum.no import kontonr

from schemas.kid import KidAgreement, KidError, is_valid_kid, mod10_check_digit, mod11_check_digit


@pytest.mark.parametrize("kid", ["0010017", "1234567897", "86011117947"])
def test_mod10_known_good(kid: str) -> None:
    assert is_valid_kid(kid, "mod10") == (mod10_check_digit(kid[:-1]) == kid[-1])


def test_mod10_matches_luhn_examples() -> None:
    # 79927398713 is the classic Luhn example; Nets' OCR manual KIDs are MOD10 the same way.
    assert is_valid_kid("79927398713", "mod10")
    assert not is_valid_kid("79927398710", "mod10")


def test_mod11_agrees_with_norwegian_account_numbers() -> None:
    # Norwegian account numbers carry a MOD11 check with weights 2..7 from the right, as KID MOD11 does.
    for account in ("86011117947", "12345678903", "15038366383"):
        assert kontonr.is_valid(account) == is_valid_kid(account, "mod11")
    assert mod11_check_digit("8601111794") == "7"


def test_mod11_dash_when_remainder_is_one() -> None:
    body = next(str(n).zfill(6) for n in range(1, 10_000) if mod11_check_digit(str(n).zfill(6)) == "-")
    assert is_valid_kid(body + "-", "mod11")
    strict = KidAgreement(algorithm="mod11", length=7)
    with pytest.raises(KidError, match="'-'"):
        strict.validate_kid(body + "-")
    KidAgreement(algorithm="mod11", length=7, mod11_dash=True).validate_kid(body + "-")


def test_agreement_checks_length_and_algorithm_not_either() -> None:
    agreement = KidAgreement(algorithm="mod10", length=7)
    agreement.validate_kid("0010017")
    with pytest.raises(KidError, match="7"):
        agreement.validate_kid("00100173")
    mod11_valid = "123456" + mod11_check_digit("123456")
    if mod11_valid[-1] != mod10_check_digit("123456"):
        with pytest.raises(KidError, match="MOD10"):
            agreement.validate_kid(mod11_valid)
    with pytest.raises(KidError, match="digits"):
        agreement.validate_kid("00A0017")


def test_generation_pads_prefixes_and_refuses_what_would_collide() -> None:
    agreement = KidAgreement(algorithm="mod10", length=10, prefix="9")
    kid = agreement.generate_for("INV-00123")
    assert kid[:-1] == "900000123" and kid[-1] == mod10_check_digit("900000123")
    agreement.validate_kid(kid)
    with pytest.raises(KidError, match="needs 9 digits; the agreement leaves 8"):
        agreement.generate_for("INV-2024-00123")
    assert agreement.generate_for("123") != agreement.generate_for("124")
    with pytest.raises(KidError, match="no digits"):
        agreement.generate_for("ABC")
    with pytest.raises(KidError, match="needs 12 digits"):
        agreement.generate_for("123456789012")


def test_mod11_generation_never_emits_a_dash_unless_allowed() -> None:
    agreement = KidAgreement(algorithm="mod11", length=8)
    made, refused = 0, 0
    for number in range(1, 400):
        try:
            kid = agreement.generate_for(str(number))
        except KidError as error:
            assert "'-'" in str(error)
            refused += 1
            continue
        assert "-" not in kid and is_valid_kid(kid, "mod11")
        made += 1
    assert made > 300 and refused > 0


def test_agreement_refuses_a_prefix_without_room() -> None:
    with pytest.raises(ValidationError):
        KidAgreement(length=5, prefix="1234")
