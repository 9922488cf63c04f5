"""A stored canonical payload is read back without checking again what intake checked, while it is unchanged.

`canonical_json.stored_invoice` trusts the payload only when its SHA-256 is the one recorded with it: then
the business rules, amount, code and e-mail checks are not run again (types and decimals still are);
anything else is checked in full, exactly as `parse` does.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.samples import sample_invoice_json
from gateway.services.outbound.intake import payload_digest
from mappings.invoice import canonical_json
from mappings.invoice.canonical_json import InvoiceValidationError, payload_sha256, stored_invoice
from schemas.canonical import Invoice


def _stored(**extra: Any) -> str:
    """A payload as intake stores it: the validated model dumped (with a contact e-mail, an attachment)."""
    data = sample_invoice_json(3, lines=4) | extra
    data["buyer"]["contact"] = {"name": "Kari", "email": "Kari.Nordmann@Example.NO"}
    data["attachments"] = [
        {"id": "A1", "filename": "a.pdf", "mime_type": "application/pdf", "content_base64": "JVBERi0xLjQK"}
    ]
    return Invoice.model_validate(data).model_dump_json(exclude_none=True)


def _broken_total(payload: str) -> str:
    data = json.loads(payload)
    data["totals"]["payable"] = "1.00"  # BR-CO-16: the amount due no longer adds up
    return json.dumps(data)


def test_intake_records_the_checksum_stored_invoice_checks() -> None:
    payload = _stored()
    assert payload_sha256(payload) == payload_digest(Invoice.model_validate_json(payload))


def test_an_unchanged_payload_reads_back_as_the_same_invoice() -> None:
    payload = _stored()
    trusted = stored_invoice(payload, payload_sha256(payload))
    assert trusted == canonical_json.parse(payload)
    assert trusted.model_dump_json(exclude_none=True) == payload
    assert trusted.buyer.contact is not None and trusted.buyer.contact.email == "Kari.Nordmann@example.no"


def test_a_matching_checksum_skips_the_rules_intake_ran() -> None:
    # only a payload whose checksum matches is spared the rules: shown with one that would fail them
    broken = _broken_total(_stored())
    assert stored_invoice(broken, payload_sha256(broken)).totals.payable == 1
    with pytest.raises(InvoiceValidationError, match="BR-CO-16"):
        canonical_json.parse(broken)


@pytest.mark.parametrize("recorded", ["edited", "none", "other"])
def test_a_payload_that_does_not_match_its_checksum_is_checked_in_full(recorded: str) -> None:
    payload = _stored()
    broken = _broken_total(payload)
    checksum = {"edited": payload_sha256(payload), "none": None, "other": "0" * 64}[recorded]
    with pytest.raises(InvoiceValidationError) as refused:
        stored_invoice(broken, checksum)
    assert any(entry.get("rule") == "BR-CO-16" for entry in refused.value.errors)


def test_types_are_still_checked_when_the_checksum_matches() -> None:
    data = json.loads(_stored())
    data["issue_date"] = "not a date"
    payload = json.dumps(data)
    with pytest.raises(InvoiceValidationError) as refused:
        stored_invoice(payload, payload_sha256(payload))
    assert refused.value.where == "issue_date"
