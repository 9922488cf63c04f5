"""`gateway render | inspect | validate | schema`: dry runs on files; none of them opens the outbox."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer

from gateway.cli.common import (
    USAGE,
    JsonFlag,
    console,
    errors,
    fail,
    fails_on,
    print_json,
    print_lines,
    print_table,
    read_input,
    summary_lines,
)
from gateway.cli.context import cli_context


def render(
    file: Path,
    to: Annotated[str, typer.Option("--to", help="wire format")] = "canonical-json",
    output: Annotated[
        Path | None,
        typer.Option("-o", "--output", help="write here, not to stdout (a folder for a file of several)"),
    ] = None,
    on: Annotated[
        str | None,
        typer.Option(
            "--date",
            help="notice date for a notice format (ehf-reminder, reminder-pdf, statement-pdf): YYYY-MM-DD, "
            "default today in Europe/Oslo",
        ),
    ] = None,
) -> None:
    """Dry run: print the wire document the gateway would send for an invoice file.

    The file may be any invoice format intake takes: canonical JSON, EHF / UBL, EDIFACT INVOIC or X12 810.
    A notice format (--to ehf-reminder, reminder-pdf, statement-pdf) prints the first-level notice the
    gateway would send on --date for each invoice (the default follow-up rules: the statutory fee from 14 days
    after the due date, late-payment interest, a 14-day deadline, the invoice's KID).
    Exit 1 when the invoice breaks a rule, 2 for an unknown --to format or a file that cannot be read."""
    from mappings import FORMATS, UnknownFormat, read_invoices
    from mappings import render as render_document
    from mappings.base import FormatError
    from mappings.invoice.canonical_json import InvoiceValidationError
    from transports.files import safe_name

    content = read_input(file)
    options = _notice_options(on) if to in FORMATS and FORMATS[to].kind == "notice" else None
    try:
        _, invoices = read_invoices(content)
        documents = [render_document(to, invoice, options) for invoice in invoices]
    except InvoiceValidationError as error:
        fail("; ".join(f"{e['field']}: {e['reason']}" for e in error.errors))
    except UnknownFormat as error:
        fail(str(error).strip("'\""), USAGE)
    except FormatError as error:
        fail(str(error), USAGE)
    except ValueError as error:  # a notice the format cannot carry (a credit note, no EHF endpoint…)
        fail(str(error))
    if len(documents) == 1 and not (output and output.is_dir()):
        if output:
            output.write_bytes(documents[0].content)
            errors.print(f"wrote {len(documents[0].content)} bytes ({documents[0].media_type}) to {output}")
        else:
            sys.stdout.buffer.write(documents[0].content)
            sys.stdout.buffer.write(b"\n")
        return
    if output is None or output.suffix:
        fail(f"{file.name} holds {len(documents)} invoices: name a folder with -o for one file each", USAGE)
    output.mkdir(parents=True, exist_ok=True)
    for invoice, document in zip(invoices, documents, strict=True):
        target = output / f"{safe_name(invoice.number)}.{document.extension}"
        target.write_bytes(document.content)
        errors.print(f"wrote {len(document.content)} bytes ({document.media_type}) to {target}")


def _notice_options(on: str | None) -> object:
    """What a notice format's render needs: the notice date (given, else today in Oslo) and the default
    follow-up settings."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from mappings.reminder.notice import NoticeOptions

    try:
        day = dt.date.fromisoformat(on) if on else dt.datetime.now(ZoneInfo("Europe/Oslo")).date()
    except ValueError:
        fail(f"--date: {on!r} is not a date (YYYY-MM-DD)", USAGE)
    return NoticeOptions(on=day)


def inspect(file: Path, as_json: JsonFlag = False) -> None:
    """Detect what a file is and show what the gateway reads from it (a summary; --json for the data).

    Exit 2 for a file the gateway does not understand."""
    from mappings import inspect_file
    from mappings.base import FormatError

    content = read_input(file)
    with fails_on(FormatError, code=USAGE):
        result = inspect_file(content)
    if as_json:
        print_json(result)
    else:
        print_lines(summary_lines(result))


def validate(
    ctx: typer.Context,
    file: Path,
    as_json: JsonFlag = False,
    rules_dir: Annotated[
        Path | None,
        typer.Option(help="official validation artefacts (default: GATEWAY_RULES_DIR, else bundled XSD+CEN)"),
    ] = None,
) -> None:
    """Validate with the official XSD and schematron rules; exit 1 on a fatal or error.

    A UBL document (invoice, credit note, status document) is validated as it is; an invoice in another
    format intake takes (canonical JSON, EDIFACT INVOIC, X12 810) is validated as the EHF the gateway would
    send for it."""
    from gateway.services.validation import get_validator

    data = _as_ubl(read_input(file))
    try:
        validator = get_validator(rules_dir or cli_context(ctx).settings.rules_dir)
    except OSError as error:  # a rules directory that is not there
        fail(str(error), USAGE)
    report = validator.validate(data)
    if as_json:
        print_json(report.as_dict())
    else:
        if report.findings:
            print_table(
                ("rule", "flag", "location", "text"),
                ((f.rule_id, f.flag, f.location, f.text) for f in report.findings),
                keys=("rule",),
                title=f"{file.name}: {report.document_kind}",
            )
        verdict = "valid" if report.ok else f"{len(report.blocking)} blocking"
        rule_sets = ", ".join(report.rule_sets) or "none"
        print_lines([f"{verdict}, {len(report.warnings)} warning(s); rule sets: {rule_sets}"])
    if not report.ok:
        raise typer.Exit(1)


def _as_ubl(data: bytes) -> bytes:
    """`data` itself when it is XML, else the EHF the gateway would render for the one invoice it holds."""
    from mappings import read_invoices
    from mappings import render as render_document
    from mappings.base import FormatError
    from mappings.invoice.canonical_json import InvoiceValidationError

    if data.lstrip()[:1] == b"<":
        return data
    try:
        name, invoices = read_invoices(data)
    except InvoiceValidationError as error:
        fail("; ".join(f"{e['field']}: {e['reason']}" for e in error.errors))
    except FormatError as error:
        fail(str(error), USAGE)
    if len(invoices) != 1:
        fail(f"the {name} file holds {len(invoices)} invoices: validate them one by one", USAGE)
    return render_document("ehf", invoices[0]).content


def schema(directory: Annotated[Path, typer.Argument()] = Path("schemas")) -> None:
    """Write the canonical model's JSON Schemas (invoice, receiver profile)."""
    from schemas.canonical import invoice_json_schema, receiver_json_schema

    directory.mkdir(parents=True, exist_ok=True)
    (directory / "invoice.schema.json").write_text(json.dumps(invoice_json_schema(), indent=2) + "\n")
    (directory / "receiver.schema.json").write_text(json.dumps(receiver_json_schema(), indent=2) + "\n")
    console.print(f"wrote {directory}/invoice.schema.json and receiver.schema.json")
