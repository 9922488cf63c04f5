"""`gateway render | inspect | validate | schema`: dry runs on files; none of them opens the outbox."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from gateway.cli.common import JsonFlag, console, errors, fail
from gateway.cli.context import cli_context


def render(
    file: Path,
    to: Annotated[str, typer.Option("--to", help="wire format")] = "canonical-json",
    output: Annotated[
        Path | None, typer.Option("-o", "--output", help="write here instead of stdout")
    ] = None,
) -> None:
    """Dry run: print the wire document the gateway would send for a canonical invoice file."""
    from mappings import UnknownFormat
    from mappings import render as render_document
    from mappings.base import FormatError
    from mappings.invoice import canonical_json
    from mappings.invoice.canonical_json import InvoiceValidationError

    try:
        invoice = canonical_json.parse(file.read_bytes())
        document = render_document(to, invoice)
    except InvoiceValidationError as error:
        fail("; ".join(f"{e['field']}: {e['reason']}" for e in error.errors))
    except (FormatError, UnknownFormat) as error:
        fail(str(error))
    except OSError as error:
        fail(f"{file}: {error.strerror}")
    if output:
        output.write_bytes(document.content)
        errors.print(f"wrote {len(document.content)} bytes ({document.media_type}) to {output}")
    else:
        sys.stdout.buffer.write(document.content)
        sys.stdout.buffer.write(b"\n")


def inspect(file: Path, as_json: JsonFlag = False) -> None:
    """Detect what a file is and show what the gateway reads from it."""
    from mappings import inspect_file
    from mappings.base import FormatError

    try:
        result = inspect_file(file.read_bytes())
    except FormatError as error:
        fail(str(error))
    except OSError as error:
        fail(f"{file}: {error.strerror}")
    if as_json:
        console.print_json(json.dumps(result, default=str))
    else:
        console.print(result)


def validate(
    ctx: typer.Context,
    file: Path,
    as_json: JsonFlag = False,
    rules_dir: Annotated[
        Path | None,
        typer.Option(help="official validation artefacts (default: GATEWAY_RULES_DIR, else bundled XSD+CEN)"),
    ] = None,
) -> None:
    """Validate a UBL document with the official XSD and schematron rules; exit 1 on a fatal or error."""
    from gateway.services.validation import get_validator

    try:
        data = file.read_bytes()
    except OSError as error:
        fail(f"{file}: {error.strerror}")
    try:
        validator = get_validator(rules_dir or cli_context(ctx).settings.rules_dir)
    except OSError as error:  # a rules directory that is not there
        fail(str(error))
    report = validator.validate(data)
    if as_json:
        console.print_json(json.dumps(report.as_dict()))
    else:
        table = Table("rule", "flag", "location", "text", title=f"{file.name}: {report.document_kind}")
        colours = {"fatal": "red", "error": "red", "warning": "yellow"}
        for finding in report.findings:
            colour = colours.get(finding.flag, "blue")
            table.add_row(
                finding.rule_id, f"[{colour}]{finding.flag}[/{colour}]", finding.location, finding.text
            )
        if report.findings:
            console.print(table)
        verdict = "[green]valid[/green]" if report.ok else f"[red]{len(report.blocking)} blocking[/red]"
        rule_sets = ", ".join(report.rule_sets) or "none"
        console.print(f"{verdict}, {len(report.warnings)} warning(s); rule sets: {rule_sets}")
    if not report.ok:
        raise typer.Exit(1)


def schema(directory: Annotated[Path, typer.Argument()] = Path("schemas")) -> None:
    """Write the canonical model's JSON Schemas (invoice, receiver profile)."""
    from schemas.canonical import invoice_json_schema, receiver_json_schema

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "invoice.schema.json").write_text(json.dumps(invoice_json_schema(), indent=2) + "\n")
    (directory / "receiver.schema.json").write_text(json.dumps(receiver_json_schema(), indent=2) + "\n")
    console.print(f"wrote {directory}/invoice.schema.json and receiver.schema.json")
