"""Official validation (`gateway.services.validation`): the official examples pass, the official unit tests
agree.

The unit tests are the rule authors' own `testSet` files (OpenPeppol billing and Norwegian rules,
CEN EN 16931, PEPPOL Invoice Response). Each `<test>` holds a document and the rule ids it must not trigger
(`<success>`), must trigger as fatal/error (`<error>`) or as a warning (`<warning>`), optionally exactly
`number` times. (SVRL reports only failures, so a `<success number="n">` is checked as "never fails"; the
count of passing evaluations is not visible.)
"""

from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from lxml import etree
from typer.testing import CliRunner

from gateway.cli import app
from gateway.services.validation import INVOICE_RESPONSE, ValidationReport, Validator, get_validator
from tests.conftest import SHARED

RULES = SHARED / "validation"
UNIT_TESTS = RULES / "unit-tests"
VEFA = "http://difi.no/xsd/vefa/validator/1.0"
BILLING_EXAMPLES = sorted((RULES / "examples" / "billing").glob("*.xml"))
RESPONSE_EXAMPLES = sorted((RULES / "examples" / "invoice-response").rglob("*.xml"))
MLS_EXAMPLES = sorted((RULES / "mls-1.0.1" / "example").glob("MessageLevelStatus_Example_*.xml"))
UNIT_TEST_FILES = sorted(
    path
    for folder in ("peppol", "no", "cen/Invoice-unit-UBL", "cen/CreditNote-unit-UBL", "invoice-response")
    for path in (UNIT_TESTS / folder).glob("*.xml")
)
# the test-set configurations whose documents need an explicit kind (snippets carry no CustomizationID)
CONFIGURATION_KIND = {"peppolbis-t111-base-3.0": INVOICE_RESPONSE}

#: unit-test expectations that cannot agree with the rules we run, keyed "folder/file.xml#test": reason.
#: Empty: every expectation of every official unit test agrees with CEN 1.3.16 / PEPPOL 3.0.21.
EXPECTED_DISAGREEMENTS: dict[str, str] = {}

pytestmark = pytest.mark.skipif(not RULES.is_dir(), reason=f"official validation artefacts not at {RULES}")


@pytest.fixture(scope="module")
def validator() -> Validator:
    return get_validator(RULES)


def _owner(rule_id: str) -> str:
    """The rule set a unit-tested rule id belongs to (its dynamic error would make a `success` vacuous)."""
    if rule_id.startswith("PEPPOL-T111"):
        return "PEPPOLBIS-T111"
    if rule_id.startswith(("PEPPOL-", "NO-")):
        return "PEPPOL-EN16931-UBL"
    return "CEN-EN16931-UBL"


@dataclass(frozen=True)
class Expectation:
    outcome: str  # success | error | warning
    rule_id: str
    number: int | None

    def check(self, report: ValidationReport) -> str | None:
        """None when the report agrees, else what went wrong."""
        hits = [f for f in report.findings if f.rule_id == self.rule_id]
        crashed = [
            f
            for f in report.findings
            if f.rule_id.startswith("SAXON-") and f.location.startswith(_owner(self.rule_id))
        ]
        if crashed:
            return f"{_owner(self.rule_id)} did not run to the end: {crashed[0].text}"
        flags = {"error": {"fatal", "error"}, "warning": {"warning"}}
        if self.outcome == "success":
            return f"{self.rule_id} fired: {[h.text for h in hits]}" if hits else None
        if not hits:
            return f"{self.rule_id} did not fire"
        wrong = [h.flag for h in hits if h.flag not in flags[self.outcome]]
        if wrong:
            return f"{self.rule_id} fired as {wrong}, expected {self.outcome}"
        if self.number is not None and len(hits) != self.number:
            return f"{self.rule_id} fired {len(hits)} times, expected {self.number}"
        return None


@dataclass(frozen=True)
class UnitTest:
    key: str
    document: bytes
    kind: str | None
    expectations: tuple[Expectation, ...]


def unit_tests(path: Path) -> Iterator[UnitTest]:
    test_set = etree.parse(str(path)).getroot()
    kind = CONFIGURATION_KIND.get(test_set.get("configuration", ""))
    for number, test in enumerate(test_set.iterfind(f"{{{VEFA}}}test"), start=1):
        documents = [c for c in test if isinstance(c.tag, str) and etree.QName(c).namespace != VEFA]
        assert len(documents) == 1, f"{path.name} test {number}: {len(documents)} documents"
        expectations = tuple(
            Expectation(etree.QName(e).localname, (e.text or "").strip(), int(e.get("number") or 0) or None)
            for e in test.iterfind(f"{{{VEFA}}}assert/*")
            if etree.QName(e).localname in {"success", "error", "warning"}
        )
        key = f"{path.relative_to(UNIT_TESTS).as_posix()}#{test.get('id') or number}"
        yield UnitTest(key, etree.tostring(documents[0]), kind, expectations)


# -- official examples ---------------------------------------------------------------------------------


@pytest.mark.parametrize("path", BILLING_EXAMPLES, ids=lambda p: p.name)
def test_official_billing_examples_pass(validator: Validator, path: Path) -> None:
    report = validator.validate(path.read_bytes())
    assert report.ok, report.blocking
    assert report.document_kind in {"invoice", "credit-note"}
    assert report.rule_sets == ["UBL-2.1-XSD", "CEN-EN16931-UBL-1.3.16", "PEPPOL-EN16931-UBL-3.0.21"]


@pytest.mark.parametrize("path", RESPONSE_EXAMPLES, ids=lambda p: p.name)
def test_official_invoice_response_examples_pass(validator: Validator, path: Path) -> None:
    report = validator.validate(path.read_bytes())
    assert report.ok, report.blocking
    expected = "PEPPOLBIS-T71-3.0.21" if "MessageLevelResponse" in path.name else "PEPPOLBIS-T111-3.0.21"
    assert report.rule_sets == ["UBL-2.1-XSD", expected]


@pytest.mark.parametrize("path", MLS_EXAMPLES, ids=lambda p: p.name)
def test_official_mls_examples_pass(validator: Validator, path: Path) -> None:
    # RE3 pads every value with spaces: valid by the XSD (whiteSpace collapse), which libxml2 alone rejects
    report = validator.validate(path.read_bytes())
    assert report.ok, report.blocking
    assert report.rule_sets == ["UBL-2.1-XSD", "PEPPOL-MLS-1.0.1"]


def test_examples_are_all_there() -> None:
    assert len(BILLING_EXAMPLES) >= 7
    assert len(RESPONSE_EXAMPLES) >= 15
    assert any("use cases" in str(p) for p in RESPONSE_EXAMPLES)


# -- official unit tests -------------------------------------------------------------------------------


@pytest.mark.parametrize("path", UNIT_TEST_FILES, ids=lambda p: p.relative_to(UNIT_TESTS).as_posix())
def test_official_unit_tests_agree(validator: Validator, path: Path) -> None:
    disagreements: list[str] = []
    for case in unit_tests(path):
        assert case.expectations, f"{case.key}: no expectations"
        report = validator.validate(case.document, kind=case.kind)
        for expectation in case.expectations:
            problem = expectation.check(report)
            if problem and case.key not in EXPECTED_DISAGREEMENTS:
                disagreements.append(f"{case.key} {expectation.outcome} {expectation.rule_id}: {problem}")
    assert not disagreements, "\n".join(disagreements)


def test_unit_test_inventory(validator: Validator) -> None:
    """The counts the report quotes; and no listed disagreement is stale."""
    cases = [case for path in UNIT_TEST_FILES for case in unit_tests(path)]
    expectations = sum(len(case.expectations) for case in cases)
    assert len(UNIT_TEST_FILES) == 337
    assert len(cases) == 1379
    assert expectations == 1381
    stale = set(EXPECTED_DISAGREEMENTS) - {case.key for case in cases}
    assert not stale, stale


# -- constructed documents -----------------------------------------------------------------------------


def _example(name: str = "base-example.xml") -> str:
    return (RULES / "examples" / "billing" / name).read_text(encoding="utf-8")


def _replace_once(text: str, pattern: str, replacement: str) -> str:
    changed, count = re.subn(pattern, replacement, text, count=1)
    assert count == 1, pattern
    return changed


def test_empty_amount_is_a_fatal_finding_not_a_crash(validator: Validator) -> None:
    xml = _replace_once(_example(), r'(<cbc:PriceAmount currencyID="EUR">)[^<]*', r"\1")
    report = validator.validate(xml.encode())
    saxon = [f for f in report.findings if f.rule_id == "SAXON-FORG0001"]
    assert saxon, report.findings
    assert all(f.flag == "fatal" for f in saxon)
    assert not report.ok
    assert "UBL-XSD" in report.rule_ids()  # the XSD says so too


def test_wrong_total_gives_br_co_15(validator: Validator) -> None:
    xml = _replace_once(
        _example(),
        r'<cbc:TaxInclusiveAmount currencyID="EUR">1656.25<',
        '<cbc:TaxInclusiveAmount currencyID="EUR">1656.26<',
    )
    report = validator.validate(xml.encode())
    assert "BR-CO-15" in report.rule_ids({"fatal"})
    assert not report.ok


def test_bad_norwegian_vat_id_gives_no_r_001(validator: Validator) -> None:
    good = _replace_once(_example(), r"<cbc:CompanyID>GB1232434<", "<cbc:CompanyID>NO991825827MVA<")
    assert "NO-R-001" not in validator.validate(good.encode()).rule_ids()
    bad = _replace_once(_example(), r"<cbc:CompanyID>GB1232434<", "<cbc:CompanyID>NO991825828MVA<")
    report = validator.validate(bad.encode())
    assert "NO-R-001" in report.rule_ids({"fatal"})
    assert not report.ok


@pytest.mark.parametrize(
    ("data", "rule_id"),
    [
        (b"not xml at all", "XML-WELLFORMED"),
        (b"<Invoice><unclosed></Invoice>", "XML-WELLFORMED"),
        (b'<!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]><x>&e;</x>', "XML-WELLFORMED"),
        (b"<Order xmlns='urn:example'/>", "GATEWAY-DOCUMENT-KIND"),
    ],
)
def test_unreadable_or_unknown_documents_are_fatal_findings(
    validator: Validator, data: bytes, rule_id: str
) -> None:
    report = validator.validate(data)
    assert [f.rule_id for f in report.findings] == [rule_id]
    assert report.blocking and not report.ok


def test_xsd_errors_name_the_line(validator: Validator) -> None:
    xml = _replace_once(_example(), r"<cbc:IssueDate>2017-11-13<", "<cbc:IssueDate>13.11.2017<")
    report = validator.validate(xml.encode())
    xsd = [f for f in report.findings if f.rule_id == "UBL-XSD"]
    assert xsd and xsd[0].flag == "fatal" and xsd[0].location.startswith("line ")


def test_report_as_dict(validator: Validator) -> None:
    report = validator.validate(BILLING_EXAMPLES[0].read_bytes())
    data = json.loads(json.dumps(report.as_dict()))
    assert data["ok"] is True and data["findings"] == [] and data["rule_sets"] == report.rule_sets


def test_validator_is_built_once_per_rules_dir() -> None:
    assert get_validator(RULES) is get_validator(str(RULES))
    assert get_validator(None) is get_validator(None)
    started = time.perf_counter()
    get_validator(RULES).validate(BILLING_EXAMPLES[0].read_bytes())
    assert time.perf_counter() - started < 2  # compiled already: no second compile


# -- the fallback: no rules directory --------------------------------------------------------------------


def test_fallback_runs_bundled_xsd_and_cen() -> None:
    fallback = get_validator(None)
    report = fallback.validate(BILLING_EXAMPLES[0].read_bytes())
    assert report.ok, report.blocking
    assert report.rule_sets == ["UBL-2.1-XSD", "CEN-EN16931-UBL-1.3.16"]
    wrong = _replace_once(
        _example(),
        r'<cbc:TaxInclusiveAmount currencyID="EUR">1656.25<',
        '<cbc:TaxInclusiveAmount currencyID="EUR">1656.26<',
    )
    assert "BR-CO-15" in fallback.validate(wrong.encode()).rule_ids()
    # an invoice response has no rules without a rules directory: said, not silently passed
    response = fallback.validate(RESPONSE_EXAMPLES[0].read_bytes())
    assert [f.rule_id for f in response.findings] == ["GATEWAY-NO-RULES"]
    assert response.rule_sets == [] and not response.ok


# -- CLI -------------------------------------------------------------------------------------------------


def test_cli_validate_good_and_bad_file(tmp_path: Path) -> None:
    runner = CliRunner()
    good = runner.invoke(app, ["validate", str(BILLING_EXAMPLES[0]), "--rules-dir", str(RULES)])
    assert good.exit_code == 0, good.output
    assert "PEPPOL-EN16931-UBL-3.0.21" in good.output

    bad_file = tmp_path / "bad.xml"
    bad_file.write_text(
        _replace_once(
            _example(),
            r'<cbc:TaxInclusiveAmount currencyID="EUR">1656.25<',
            '<cbc:TaxInclusiveAmount currencyID="EUR">1656.26<',
        ),
        encoding="utf-8",
    )
    bad = runner.invoke(app, ["validate", str(bad_file), "--rules-dir", str(RULES)])
    assert bad.exit_code == 1, bad.output
    assert "BR-CO-15" in bad.output

    as_json = runner.invoke(app, ["validate", str(bad_file), "--json", "--rules-dir", str(RULES)])
    assert as_json.exit_code == 1
    data = json.loads(as_json.stdout)
    assert data["ok"] is False and "BR-CO-15" in {f["rule_id"] for f in data["findings"]}

    missing = runner.invoke(app, ["validate", str(tmp_path / "missing.xml")])
    assert missing.exit_code == 2  # a file that is not there: usage
