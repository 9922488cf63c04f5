"""E-mails sent per second by the e-mail channel to a local SMTP server (aiosmtpd on loopback).

    python benchmarks/email_send.py [--messages 300] [--lines 3]

Sequential `EmailChannel.deliver` calls, one SMTP connection per message, as the worker sends them (EHLO,
MAIL FROM with DSN parameters, RCPT TO, DATA, QUIT, in `asyncio.run`). The documents are rendered before
the clock starts. Three runs on the same invoices:

- `pdf+ehf, plain`: the real PDF (when the "pdf" format is registered) and the EHF XML as attachments;
- `pdf+ehf, starttls`: the same over STARTTLS, verified against a private CA (trustme): a TLS handshake
  per message;
- `stub, plain`: a 20-byte stand-in PDF and no EHF: the cost of SMTP and MIME alone.

Needs the test extras (aiosmtpd, trustme). Prints the core count, the sizes and one line per run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import ssl
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from channels import create_channel
from channels.base import OutboundDelivery, Sent
from gateway.samples import sample_invoice
from mappings import FORMATS, render
from mappings.base import RenderedDocument
from tests.channels.test_email import DsnController, Recorder, free_port

STUB = RenderedDocument(
    format="pdf", content=b"%PDF-1.4 stub\n%%EOF\n", media_type="application/pdf", extension="pdf"
)


def deliveries(count: int, lines: int, *, real_pdf: bool, ehf: bool) -> list[OutboundDelivery]:
    out = []
    for n in range(1, count + 1):
        invoice = sample_invoice(n, lines=lines)
        document = render("pdf", invoice) if real_pdf else STUB
        attachments = (render("ehf", invoice),) if ehf else ()
        out.append(
            OutboundDelivery(
                delivery_id=f"bench{n:06d}",
                invoice_id=f"i{n}",
                tenant_id="bench",
                attempt=1,
                address="kunde@ok.test",
                document=document,
                invoice=invoice,
                attachments=attachments,
            )
        )
    return out


def run(items: list[OutboundDelivery], settings: dict[str, Any], server_kwargs: dict[str, Any]) -> float:
    recorder = Recorder()
    port = free_port()
    controller = DsnController(
        recorder, hostname="127.0.0.1", port=port, server_hostname="mx.ok.test", **server_kwargs
    )
    controller.start()
    try:
        channel = create_channel("email", {**settings, "port": port})
        channel.deliver(dataclasses.replace(items[0], delivery_id="warmup"))  # imports, TLS context
        started = time.perf_counter()
        for item in items:
            result = channel.deliver(item)
            assert isinstance(result, Sent), result
        elapsed = time.perf_counter() - started
    finally:
        controller.stop()
    assert len(recorder.messages) == len(items) + 1
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=300)
    parser.add_argument("--lines", type=int, default=3)
    args = parser.parse_args()
    real_pdf = "pdf" in FORMATS and FORMATS["pdf"].render is not None
    if not real_pdf:
        print("note: no 'pdf' format registered; the pdf+ehf runs use the stub PDF")
    full = deliveries(args.messages, args.lines, real_pdf=real_pdf, ehf=True)
    stub = deliveries(args.messages, args.lines, real_pdf=False, ehf=False)
    pdf_size = statistics.mean(len(d.document.content) for d in full)
    ehf_size = statistics.mean(len(a.content) for d in full for a in d.attachments)
    base = {
        "host": "127.0.0.1",
        "security": "none",
        "from_address": "faktura@acme.test",
        "from_name": "Faktura ACME AS",
        "bounce_domain": "hub.test",
        "local_hostname": "erp.hub.test",
    }

    import trustme

    ca = trustme.CA()
    server_context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert("localhost", "127.0.0.1").configure_cert(server_context)
    with tempfile.TemporaryDirectory(prefix="email-bench-") as temporary:
        ca_file = Path(temporary) / "ca.pem"
        ca.cert_pem.write_to_path(str(ca_file))
        runs = [
            ("pdf+ehf, plain", full, base, {}),
            (
                "pdf+ehf, starttls",
                full,
                {**base, "host": "localhost", "security": "starttls", "ca_file": str(ca_file)},
                {"tls_context": server_context, "require_starttls": True},
            ),
            ("stub, plain", stub, base, {}),
        ]
        print(
            f"cores: {os.cpu_count()}; messages per run: {args.messages} "
            f"(sequential, one connection each); invoices with {args.lines} lines"
        )
        print(
            f"PDF ~{pdf_size / 1024:.1f} KiB ({'real renderer' if real_pdf else 'stub'}), "
            f"EHF ~{ehf_size / 1024:.1f} KiB per message"
        )
        for label, items, settings, server_kwargs in runs:
            elapsed = run(items, settings, server_kwargs)
            rate = len(items) / elapsed
            print(
                f"{label:18} {rate:8.1f} e-mails/s  ({1000 * elapsed / len(items):6.2f} ms each, "
                f"{elapsed:.2f} s)"
            )


if __name__ == "__main__":
    main()
