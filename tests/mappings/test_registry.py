"""The format registry walked as a whole: every entry's targets import and take their fixed options, every
mapping module with a format is registered, every module speaks only the standard verbs, and junk bytes are
refused by every parser with a `FormatError` (python-stdnum's robustness test, for wire formats)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import random
import re
from types import ModuleType
from typing import Any, get_args

import pytest

import mappings
from gateway.samples import sample_invoice
from mappings import FORMATS, FormatError, UnknownFormat
from mappings.registry import VERBS, FormatKind
from mappings.remittance import payment_hints
from mappings.syntax import edifact, x12
from tests.conftest import SHARED

#: The registry itself (`mappings`, `mappings.registry`) has module-level `render` / `parse` that take a
#: format name: it is no format.
REGISTRY_MODULES = {"mappings", "mappings.registry"}
VERB_WITH_SUFFIX = re.compile(rf"^({'|'.join(VERBS)})_\w+$")
#: Helpers that are no format and say what they do on XML itself (hardened parsing).
NOT_A_FORMAT = {"mappings.xml.parse_xml"}
#: A protocol's module: one API's several documents, each rendered / read by its own named function
#: (`render_message`, `render_entry_point`, …) next to the registry verbs of the one format it registers.
PROTOCOL_MODULES = {"mappings.consumer.digipost"}
#: A notice format's module: its verbs take an invoice (its first notice); the notice renderer every follow-up
#: service calls takes a `ReminderDocument` and is named for what it writes.
PROTOCOL_MODULES |= {"mappings.reminder.ehf_reminder", "mappings.reminder.reminder_pdf"}

JUNK: list[bytes] = [
    b"",
    b" \r\n",
    b"\x00\x01 not anything",
    b"hello",
    b"\xff\xfe\x00\xd8",
    b"<x/>",
    b"<?xml version='1.0'?><Invoice xmlns='urn:oasis:names:specification:ubl:schema:xsd:Invoice-2'/>",
    b"{}",
    b"[]",
    b"[1, 2]",
    b'"lines" "seller"',
    b"UNA:+.? '",
    b"UNB+UNOC:3+A+B+261124:1200+1'",
    b"ISA*00*",
    b"%PDF-1.4 not really",
    b"\x89PNG\r\n\x1a\n",
    b"\xff\xd8\xff\xe0",
    b"PK\x03\x04",
    b"From: a@b.test\r\nContent-Type: multipart/report\r\n\r\nhi",
    b"a;b;c\r\n1;2;3\r\n",
    bytes(range(256)),
    random.Random(13).randbytes(2000),
]


def _target(target: str) -> Any:
    module_name, _, attribute = target.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def _all_targets() -> list[tuple[str, str, str]]:
    """(format, verb or "read_as <kind>", "module:function") for every target the registry names."""
    found: list[tuple[str, str, str]] = []
    for name, entry in FORMATS.items():
        for verb in VERBS:
            target = entry.target(verb)
            if target is not None:
                found.append((name, verb, target))
        found += [(name, f"read_as {kind}", target) for kind, target in entry.read_as.items()]
    return found


def _mapping_modules() -> list[ModuleType]:
    return [
        importlib.import_module(info.name)
        for info in pkgutil.walk_packages(mappings.__path__, prefix="mappings.")
        if info.name not in REGISTRY_MODULES
    ]


def _own_functions(module: ModuleType) -> dict[str, Any]:
    return {
        name: value
        for name, value in vars(module).items()
        if inspect.isfunction(value) and value.__module__ == module.__name__ and not name.startswith("_")
    }


@pytest.mark.parametrize(("name", "verb", "target"), _all_targets(), ids=lambda v: str(v))
def test_every_target_imports_and_is_a_function(name: str, verb: str, target: str) -> None:
    function = _target(target)
    assert callable(function), f"{name} {verb}: {target} is not callable"
    attribute = target.partition(":")[2]
    if not verb.startswith("read_as"):
        assert attribute == verb, f"{name}: {target} — the {verb} of a format module is named {verb!r}"


@pytest.mark.parametrize("name", list(FORMATS))
def test_fixed_options_are_options_the_function_takes(name: str) -> None:
    entry = FORMATS[name]
    for verb, target, options in (
        ("render", entry.render, entry.render_options),
        ("parse", entry.parse, entry.parse_options),
    ):
        if options:
            assert target is not None, f"{name}: {verb} options without a {verb}"
            signature = inspect.signature(_target(target))
            for option in options:
                assert signature.parameters[option].kind is inspect.Parameter.KEYWORD_ONLY, (name, option)


def test_every_entry_has_a_known_kind_and_says_what_it_is() -> None:
    kinds = set(get_args(FormatKind))
    for name, entry in FORMATS.items():
        assert entry.kind in kinds, name
        assert entry.description and entry.description == entry.description.strip(), name
        assert entry.sniff or entry.render, f"{name}: neither found in files nor rendered"
        assert set(entry.read_as) <= kinds - {entry.kind}, name
    assert {entry.kind for entry in FORMATS.values()} == kinds, "a family without any format"


def test_every_mapping_module_with_a_format_is_registered() -> None:
    registered = {target.partition(":")[0] for _, _, target in _all_targets()}
    unregistered = [
        module.__name__
        for module in _mapping_modules()
        if {"parse", "sniff", "inspect"} & set(_own_functions(module)) and module.__name__ not in registered
    ]
    assert unregistered == []
    assert {"mappings.status.pod_files", "mappings.acks.edifact_acks", "mappings.acks.x12_acks"} <= registered


def test_every_mapping_module_exposes_only_the_standard_verb_names() -> None:
    offenders = [
        f"{module.__name__}.{name}"
        for module in _mapping_modules()
        for name in _own_functions(module)
        if VERB_WITH_SUFFIX.match(name)
        and f"{module.__name__}.{name}" not in NOT_A_FORMAT
        and module.__name__ not in PROTOCOL_MODULES
    ]
    assert offenders == []


@pytest.mark.parametrize(("name", "verb", "target"), [t for t in _all_targets() if t[1] != "render"],
                         ids=lambda v: str(v))  # fmt: skip
def test_junk_is_refused_by_every_parser_with_a_format_error(name: str, verb: str, target: str) -> None:
    """Parsers refuse junk with a `FormatError` naming where; inspectors either say what they read or raise
    one; sniffers answer True or False and never raise. Nothing else escapes."""
    function = _target(target)
    if verb == "parse":
        function = mappings.parser(name)
    for data in JUNK:
        if verb == "sniff":
            assert function(data) in (True, False), (name, data[:20])
            continue
        try:
            result = function(data)
        except FormatError as error:
            assert error.where and error.reason, (name, verb, data[:20])
            continue
        assert verb == "inspect" and isinstance(result, dict), f"{name} {verb} accepted junk {data[:20]!r}"


def test_no_sniffer_claims_plain_junk() -> None:
    for name in mappings.formats(can="sniff"):
        sniff = mappings.sniffer(name)
        for data in (b"", b"\x00\x01 not anything", b"hello", b"{}", b"<x/>", b"PK\x03\x04"):
            assert not sniff(data), (name, data)


def test_sniffing_order_envelope_first_specific_edi_before_generic_pod_last() -> None:
    names = mappings.formats()
    assert names[0] == "sbdh" and names[-1] == "pod"
    for specific in ("invoic", "edifact-ack", "remadv", "iftsta"):
        assert names.index(specific) < names.index("edifact"), specific
    for specific in ("x12-ack", "x12-810", "x12-820", "x12-214"):
        assert names.index(specific) < names.index("x12"), specific
    for transport_status in ("pdf", "iftsta", "x12-214"):
        assert names.index(transport_status) < names.index("pod")


def test_detection_over_the_real_samples() -> None:
    samples = SHARED / "samples"
    expected = {
        "edi/edifact/APERAK/pydifact_aperak_v3.edi": "edifact-ack",
        "edi/edifact/INVOIC/pydifact_invoice1_D97A.edi": "invoic",
        "edi/edifact/DESADV/bots_desadv1_D96A_EAN005_generated.edi": "edifact",
        "edi/x12/997/bots_inbound_997_1.x12": "x12-ack",
        "edi/x12/810/bots_810-004010-01.x12": "x12-810",
        "edi/x12/820/bots_820-004010-01_safeway.x12": "x12-820",
        "edi/x12/214/edinet_214-MGCTLYST-SAMPLE.EDI": "x12-214",
        "edi/x12/856/bots_inbound_856_1.x12": "x12",
        "camt/genkgo_camt053.v8.xml": "camt",
        "ocr/netsgiro_ocr_giro_transactions.txt": "ocr-giro",
        "ehf/peppol_T111-uc007-Payment_has_been_initiated.xml": "invoice-response",
        "ehf/dfo_Reminder-Example.xml": "ehf-reminder",
        "email/postfix37_dsn_2_INV-1002_failed_5.2.2.eml": "dsn",
        "print/digipost_a4-full-page.pdf": "pdf",
    }
    for path, name in expected.items():
        assert mappings.detect_format((samples / path).read_bytes()) == name, path


def test_unknown_names_say_what_was_meant() -> None:
    with pytest.raises(UnknownFormat, match=r"Did you mean 'edifact-d96a'\?"):
        mappings.render("edifact-d69a", sample_invoice(1))
    known = r"Known formats: avtalegiro-claims, canonical-json"
    with pytest.raises(UnknownFormat, match=rf"unknown format 'camt'.*{known}"):
        mappings.renderer("camt")  # known, but not rendered
    with pytest.raises(UnknownFormat, match=r"Did you mean 'ocr-giro'\?"):
        mappings.parser("ocr-gyro")
    with pytest.raises(UnknownFormat, match=r"Did you mean 'x12-214'\?"):
        mappings.format_entry("x12-241")


def test_variants_are_one_function_with_a_fixed_option() -> None:
    invoice = sample_invoice(2)
    d96a, d01b = (mappings.render(name, invoice) for name in ("edifact-d96a", "edifact-d01b"))
    versions = [
        (m.version, m.release) for data in (d96a, d01b) for m in edifact.parse(data.content).all_messages
    ]
    assert versions == [("D", "96A"), ("D", "01B")]
    four, five = (mappings.render(name, invoice) for name in ("x12-810", "x12-810-5010"))
    assert [x12.parse(d.content).groups[0].version for d in (four, five)] == ["004010", "005010"]
    assert FORMATS["edifact-d96a"].render == FORMATS["edifact-d01b"].render
    assert FORMATS["x12-810"].render == FORMATS["x12-810-5010"].render


def test_the_edi_channel_formats_are_the_formats_that_carry_an_edi_message() -> None:
    edi = [name for name in mappings.formats(can="render") if FORMATS[name].message_type]
    assert edi == ["edifact-d96a", "edifact-d01b", "x12-810", "x12-810-5010"]
    assert [FORMATS[name].message_type for name in edi] == ["INVOIC", "INVOIC", "810", "810"]


def test_families_are_looked_up_in_the_registry() -> None:
    assert mappings.formats("remittance") == [
        "card-advice",
        "statement-zip",
        "camt",
        "ocr-giro",
        "remadv",
        "x12-820",
        "invoice-response",
    ]
    assert mappings.formats("acknowledgement") == ["edifact-ack", "x12-ack"]
    assert mappings.formats("ledger", can="render") == ["gbat10", "journal-csv", "journal-json"]
    assert mappings.formats("transport-status") == ["iftsta", "x12-214"]
    assert mappings.formats("invoice", can="parse") == [
        "canonical-json",
        "peppol-self-billing",
        "ehf",
        "cii",
        "factur-x",
        "invoic",
        "x12-810",
    ]
    assert mappings.parser("invoice-response", kind="remittance") is payment_hints.parse
    with pytest.raises(UnknownFormat):
        mappings.parser("dsn", kind="remittance")  # a DSN carries no payments


def test_remittance_intake_reads_an_820_with_unbalanced_lines_as_the_registry_says() -> None:
    data = (SHARED / "samples" / "edi" / "x12" / "820" / "bots_820-004010-01_safeway.x12").read_bytes()
    from mappings.remittance import x12_820

    with pytest.raises(FormatError):
        x12_820.parse(data)  # the module's default: a set that does not add up is refused
    document = mappings.parser("x12-820", kind="remittance")(data)
    assert document.payments and any("adds up to" in note for note in document.notes)


def test_a_pod_photo_is_found_by_the_registry_last() -> None:
    from tests.services.test_pods import make_png

    assert mappings.detect_format(make_png(4, 3)) == "pod"
    assert mappings.inspect_file(make_png(4, 3)) == {
        "format": "pod", "kind": "png", "media_type": "image/png", "extension": "png",
        "width": 4, "height": 3,
    }  # fmt: skip
