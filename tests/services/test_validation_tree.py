"""The rendered tree is validated as it is (no parse of the bytes), with the report the bytes alone give.

The worker hands `Validator.validate` the tree the EHF renderer built (`RenderedDocument.tree`): the XSD
judges that tree and Saxon reads the bytes. Each document here is validated both ways and the two reports
must be equal: valid, refused by the CEN / PEPPOL rules, refused by the XSD as well (whose findings must
still name the lines of the bytes), and with text outside ASCII. The SVRL is read without parsing it when
it holds no finding: the findings must be those a full parse of the same SVRL gives.
"""

from __future__ import annotations

import pickle
from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from gateway.samples import sample_invoice_json
from gateway.services import validation
from gateway.services.validation import Finding, Validator, get_validator
from mappings.base import RenderedDocument
from mappings.invoice import ubl
from schemas.canonical import Invoice
from tests.conftest import SHARED

RULES = SHARED / "validation"
NS = {"cbc": ubl.CBC, "cac": ubl.CAC}

pytestmark = pytest.mark.skipif(not RULES.is_dir(), reason=f"official validation artefacts not at {RULES}")


@pytest.fixture(scope="module")
def validator() -> Validator:
    return get_validator(RULES)


def _rendered(**changes: object) -> RenderedDocument:
    data = sample_invoice_json(7, lines=3)
    for path, value in changes.items():
        *parents, last = path.split("__")
        holder = data
        for name in parents:
            holder = holder[name]
        holder[last] = value
    return ubl.render(Invoice.model_validate(data))


def _both_ways(validator: Validator, content: bytes, tree: etree._Element) -> validation.ValidationReport:
    from_bytes = validator.validate(content)
    from_tree = validator.validate(content, tree=tree)
    assert from_tree == from_bytes
    assert from_tree.as_dict() == from_bytes.as_dict()
    return from_tree


def _mutated(document: RenderedDocument, texts: dict[str, str]) -> tuple[bytes, etree._Element]:
    """The renderer's tree with some element texts changed, and its bytes as the renderer writes them."""
    tree = document.tree
    assert tree is not None
    for path, text in texts.items():
        element = tree.find(path, NS)
        assert element is not None, path
        element.text = text
    return etree.tostring(tree, xml_declaration=True, encoding="UTF-8", pretty_print=True), tree


def test_the_renderer_hands_over_the_tree_of_its_bytes() -> None:
    document = _rendered()
    assert document.tree is not None
    assert etree.tostring(document.tree, xml_declaration=True, encoding="UTF-8", pretty_print=True) == (
        document.content
    )


def test_a_valid_invoice_gives_the_same_report_from_its_tree(validator: Validator) -> None:
    document = _rendered()
    assert document.tree is not None
    report = _both_ways(validator, document.content, document.tree)
    assert report.ok and report.findings == []
    assert report.rule_sets == ["UBL-2.1-XSD", "CEN-EN16931-UBL-1.3.16", "PEPPOL-EN16931-UBL-3.0.21"]


def test_a_rule_the_renderer_cannot_know_gives_the_same_findings(validator: Validator) -> None:
    # a Norwegian VAT id that fails the mod 11 check: the model takes it, EHF's NO-R-001 refuses it
    document = _rendered(seller__vat_id="NO987654321MVA", seller__name="Bjørn Ærlig & Søn «AS»")
    assert document.tree is not None
    report = _both_ways(validator, document.content, document.tree)
    assert "NO-R-001" in report.rule_ids({"error", "fatal"})


def test_xsd_and_cen_failures_give_the_same_findings_with_the_lines_of_the_bytes(
    validator: Validator,
) -> None:
    content, tree = _mutated(
        _rendered(),
        {
            "cbc:IssueDate": "2025-13-45",  # not a date: the XSD refuses it
            "cac:LegalMonetaryTotal/cbc:PayableAmount": "1.00",  # BR-CO-16
        },
    )
    report = _both_ways(validator, content, tree)
    xsd = [f for f in report.findings if f.rule_id == "UBL-XSD"]
    assert xsd and all(f.location.startswith("line ") and f.location != "line 0" for f in xsd)
    issue_line = next(n for n, line in enumerate(content.splitlines(), 1) if b"<cbc:IssueDate>" in line)
    assert xsd[0].location == f"line {issue_line}"
    assert "BR-CO-16" in report.rule_ids()


def test_a_tree_passed_with_a_kind_gives_the_same_report(validator: Validator) -> None:
    document = _rendered()
    assert document.tree is not None
    assert validator.validate(document.content, kind="credit-note", tree=document.tree) == (
        validator.validate(document.content, kind="credit-note")
    )


def test_new_bytes_never_travel_with_the_old_tree() -> None:
    document = _rendered()
    assert document.tree is not None
    changed = replace(document, content=b"<other/>")
    assert changed.tree is None
    assert changed == RenderedDocument(document.format, b"<other/>", document.media_type, document.extension)
    assert document == RenderedDocument(document.format, document.content, document.media_type, "xml")


def test_a_document_pickles_without_its_tree() -> None:
    document = _rendered()
    copied = pickle.loads(pickle.dumps(document))
    assert copied == document and copied.tree is None


def _svrl_findings_by_full_parse(svrl: str) -> list[Finding]:
    """What the SVRL says, read the way the validator read it before it learnt to skip a clean one."""
    svrl_ns = validation.NS_SVRL
    root = etree.fromstring(svrl.encode())
    found = []
    for element in root.iter(f"{{{svrl_ns}}}failed-assert", f"{{{svrl_ns}}}successful-report"):
        flag = (element.get("flag") or element.get("role") or "error").lower()
        if flag not in {"fatal", "error", "warning", "information"}:
            flag = "information" if flag in {"info", "note"} else "error"
        text = " ".join((element.findtext(f"{{{svrl_ns}}}text") or "").split())
        found.append(Finding(element.get("id") or "UNKNOWN-RULE", flag, element.get("location") or "", text))
    return found


@pytest.mark.parametrize("broken", [False, True], ids=["clean", "findings"])
def test_svrl_findings_are_those_of_a_full_parse(validator: Validator, broken: bool) -> None:
    document = _rendered(seller__vat_id="NO987654321MVA") if broken else _rendered()
    processor = validation._Saxon.processor()
    node = processor.parse_xml(xml_text=document.content.decode())
    rule_sets = validator.source.rule_sets_for(validation.INVOICE, ubl.CUSTOMIZATION_ID)
    svrls = [validator._executable(rule_set).transform_to_string(xdm_node=node) for rule_set in rule_sets]
    assert all("fired-rule" in svrl for svrl in svrls)  # real SVRL, not an empty answer
    found = [validation._svrl_findings(svrl) for svrl in svrls]
    assert found == [_svrl_findings_by_full_parse(svrl) for svrl in svrls]
    assert any(found) == broken


def test_a_valid_tree_is_not_parsed_from_its_bytes(
    validator: Validator, monkeypatch: pytest.MonkeyPatch
) -> None:
    document = _rendered()
    assert document.tree is not None

    def no_parse(data: bytes) -> etree._Element:
        raise AssertionError("the bytes were parsed again")

    monkeypatch.setattr(validation, "parse_xml", no_parse)
    assert validator.validate(document.content, tree=document.tree).ok
    with pytest.raises(AssertionError, match="parsed again"):
        validator.validate(document.content)


def test_the_validator_is_found_by_the_name_given_and_is_one_per_directory(tmp_path: Path) -> None:
    link = tmp_path / "rules"
    link.symlink_to(RULES, target_is_directory=True)
    validator = get_validator(RULES)
    assert get_validator(str(RULES)) is validator
    assert get_validator(RULES.parent / ".." / RULES.parent.name / RULES.name) is validator
    assert get_validator(link) is validator  # resolved once, on the first lookup of this name


def test_bytes_that_are_not_utf8_are_judged_as_bytes(validator: Validator) -> None:
    document = _rendered(seller__name="Bjørn Ærlig AS")
    assert document.tree is not None
    latin1 = etree.tostring(document.tree, xml_declaration=True, encoding="ISO-8859-1", pretty_print=True)
    with pytest.raises(UnicodeDecodeError):
        latin1.decode("utf-8")
    assert validator.validate(latin1, tree=document.tree) == validator.validate(latin1)
    assert validator.validate(latin1).ok
