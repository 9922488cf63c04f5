"""Per-invoice CPU of the worker's validated EHF steps: the work it does and the re-work it no longer does.

    python benchmarks/ehf_steps.py [--lines 3] [--rules-dir DIR] [--repeat 7] [--number 300]

One sample EHF invoice (as `benchmarks/ehf.py` sends), each step timed alone (the best of `--repeat` runs of
`--number` calls, in ms per invoice). Each pair is measured in the same run: the canonical payload read with
all checks (`canonical_json.parse`, what the worker did) or trusted by its checksum
(`canonical_json.stored_invoice`); the EHF bytes parsed again and re-serialised for Saxon, or the renderer's
tree and the bytes as they are; the SVRL parsed in full, or only when it holds a finding. The last line is
the sum of what the worker no longer spends per invoice.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

from lxml import etree

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.validation import DEFAULT_RULES
from gateway.samples import sample_invoice_json
from gateway.services import validation
from mappings.invoice import canonical_json, ubl
from mappings.xml import parse_xml
from schemas.canonical import Invoice


def _full_svrl_parse(svrl: str) -> int:
    """What the validator did with every SVRL before: parse it, then look for findings."""
    root = etree.fromstring(svrl.encode())
    wanted = (f"{{{validation.NS_SVRL}}}failed-assert", f"{{{validation.NS_SVRL}}}successful-report")
    return sum(1 for _ in root.iter(*wanted))


def get_validator_resolved(rules_dir: Path) -> validation.Validator:
    """How the worker found its validator for every document before: the path resolved each time."""
    return validation._cached_validator(rules_dir.resolve())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=3)
    parser.add_argument("--rules-dir", type=Path, default=DEFAULT_RULES)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--number", type=int, default=300)
    args = parser.parse_args()

    def ms(name: str, step: Callable[[], object], number: int = args.number) -> float:
        best = min(timeit.repeat(step, number=number, repeat=args.repeat)) / number * 1000
        print(f"  {name:60s} {best:8.3f} ms")
        return best

    validator = validation.get_validator(args.rules_dir)
    validator.warm_up()
    data = sample_invoice_json(1, lines=args.lines, number_prefix="EHF") | {"routing": {"format": "ehf"}}
    payload = Invoice.model_validate(data).model_dump_json(exclude_none=True)
    checksum = hashlib.sha256(payload.encode()).hexdigest()
    invoice = canonical_json.stored_invoice(payload, checksum)
    document = ubl.render(invoice)
    tree = document.tree
    assert tree is not None
    parsed = parse_xml(document.content)
    loaded = validator._schema(validation.INVOICE)
    assert loaded is not None
    schema = loaded[0]
    node = validation._Saxon.processor().parse_xml(xml_text=document.content.decode())
    rule_sets = validator.source.rule_sets_for(validation.INVOICE, ubl.CUSTOMIZATION_ID)
    svrls = [validator._executable(rule_set).transform_to_string(xdm_node=node) for rule_set in rule_sets]
    assert all(validator.validate(document.content, tree=tree).ok for _ in range(2))

    print(
        f"cores: {os.cpu_count()}; one EHF invoice, {args.lines} lines: payload {len(payload)} B, EHF "
        f"{len(document.content)} B, SVRL {' + '.join(str(len(s)) for s in svrls)} chars; "
        f"rules: {', '.join(r.name for r in rule_sets)}"
    )
    print("what the worker still does:")
    ms("render EHF (ubl.render)", lambda: ubl.render(invoice))
    ms(
        "Saxon: parse the bytes",
        lambda: validation._Saxon.processor().parse_xml(xml_text=document.content.decode()),
    )
    for rule_set in rule_sets:
        executable = validator._executable(rule_set)
        ms(f"Saxon: {rule_set.name}", lambda e=executable: e.transform_to_string(xdm_node=node), number=20)
    ms("validate, bytes only (Validator.validate(content))", lambda: validator.validate(document.content), 20)
    ms(
        "validate, tree (Validator.validate(content, tree=...))",
        lambda: validator.validate(document.content, tree=tree),
        20,
    )
    print("before → after, same run:")
    named = args.rules_dir
    resolved = ms("validator found by resolving its path [before]", lambda: get_validator_resolved(named))
    by_name = ms(
        "validator found by the name given (get_validator) [after]", lambda: validation.get_validator(named)
    )
    full = ms("canonical payload, every check (canonical_json.parse)", lambda: canonical_json.parse(payload))
    trusted = ms(
        "canonical payload, checksum matches (stored_invoice)",
        lambda: canonical_json.stored_invoice(payload, checksum),
    )
    reparse = ms("EHF bytes parsed again (parse_xml) [gone]", lambda: parse_xml(document.content))
    reserialise = ms(
        "re-serialised for Saxon (etree.tostring) [gone]", lambda: etree.tostring(parsed, encoding="unicode")
    )
    decode = ms("bytes decoded for Saxon (bytes.decode) [instead]", lambda: document.content.decode("utf-8"))
    xsd_parsed = ms("XSD on the parsed tree", lambda: schema.validate(parsed))
    xsd_tree = ms("XSD on the renderer's tree", lambda: schema.validate(tree))
    svrl_full = ms(
        "SVRL parsed in full (both rule sets) [before]", lambda: [_full_svrl_parse(s) for s in svrls]
    )
    svrl_now = ms(
        "SVRL read only when it holds a finding [after]",
        lambda: [validation._svrl_findings(s) for s in svrls],
    )
    saved = (
        (resolved - by_name)
        + (full - trusted)
        + reparse
        + (reserialise - decode)
        + (xsd_parsed - xsd_tree)
        + (svrl_full - svrl_now)
    )
    print(f"saved per invoice: {saved:.3f} ms")


if __name__ == "__main__":
    main()
