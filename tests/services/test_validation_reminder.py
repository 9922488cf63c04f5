"""The validator picks EHF Reminder 3.0's own three rule sets by the specification identifier, and the
billing rules stay with billing invoices."""

from __future__ import annotations

from gateway.services.validation import INVOICE, RuleSource, get_validator
from schemas.invoice_profiles import EHF_REMINDER_CUSTOMIZATION, PEPPOL_BILLING_CUSTOMIZATION
from tests.conftest import SHARED

VALIDATION = SHARED / "validation"


def test_a_reminder_takes_its_three_rule_sets_and_a_billing_invoice_the_billing_ones() -> None:
    source = RuleSource.from_rules_dir(VALIDATION)
    reminder = [rule_set.name for rule_set in source.rule_sets_for(INVOICE, EHF_REMINDER_CUSTOMIZATION)]
    assert reminder == [
        "EHF-P06-3.0-REMINDER",
        "REMINDER-CEN-EN16931-UBL-1.3.8",
        "REMINDER-PEPPOL-EN16931-UBL (EHF Reminder 3.0)",
    ]
    assert all(
        "ehf-reminder-3.0" in str(r.xslt) for r in source.rule_sets_for(INVOICE, EHF_REMINDER_CUSTOMIZATION)
    )
    billing = [rule_set.name for rule_set in source.rule_sets_for(INVOICE, PEPPOL_BILLING_CUSTOMIZATION)]
    assert billing == ["CEN-EN16931-UBL-1.3.16", "PEPPOL-EN16931-UBL-3.0.21"]


def test_the_official_reminder_samples_fail_the_billing_rules_but_pass_their_own() -> None:
    data = (SHARED / "samples" / "ehf" / "dfo_Reminder-Example-with-REM.xml").read_bytes()
    assert get_validator(VALIDATION).validate(data).findings == []
    as_billing = data.replace(b"#conformant#urn:fdc:anskaffelser.no:2019:ehf:reminder:3.0", b"")
    report = get_validator(VALIDATION).validate(as_billing)
    assert "BR-04" in report.rule_ids({"fatal"})  # no invoice type code: a reminder is no billing invoice
