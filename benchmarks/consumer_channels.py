"""The consumer channels' own work next to the bare library call they wrap, side by side in one run.

    python benchmarks/consumer_channels.py [--claims 10000] [--messages 300] [--efaktura 30] [--repeat 5]
                                           [--rules-dir DIR] [--only avtalegiro,digipost,efaktura]

* **AvtaleGiro**: a claim file of `--claims` claims written by `AvtaleGiroChannel.send_batch` into a
  temporary drop folder (the staged entries' meta read back into claims, Nets' checks, the file built with
  `netsgiro`, ISO-8859-1, written under a temporary name with fsync and renamed) next to bare `netsgiro`
  building and serialising the same transmission (`Transmission.add_assignment`, `add_payment_request` per
  claim, `to_ocr()`). Claims per second each.
* **Digipost**: per invoice, the message XML from the canonical invoice
  (`mappings.consumer.digipost.message_for_invoice`, `.xml()`), the multipart body with the invoice PDF
  (`transports.digipost.multipart_message`) and the request's signature headers
  (`transports.digipost.signature_headers`: content hash, canonical request, RSA-SHA256 with a 2048-bit key)
  next to the bare RSA-SHA256 (PKCS#1 v1.5) signature of the same bodies with `cryptography` alone. The PDFs
  are rendered before the clock. Messages per second each (nothing is sent: the HTTP exchange is Digipost's
  time, not ours).
* **eFaktura**: per invoice, the invoice PDF rendered and embedded as a BG-24 attachment, the EHF rendered
  and validated with the official artefacts (UBL XSD, CEN, PEPPOL: `gateway.services.validation`) — what the
  worker does for an eFaktura delivery before the channel sends — next to the bare validation of the very
  same EHF files. Invoices per second each.

Each figure is the best of `--repeat` runs, channel and bare taken in turns. One process, one core. It
prints the core count and the versions, then one line per figure; the last lines are the ratios (channel /
bare: 1.00 means the channel adds nothing to the library's own cost).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import tempfile
import time
from collections.abc import Callable
from decimal import Decimal
from importlib.metadata import version
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import httpx
import netsgiro
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding

from benchmarks.validation import DEFAULT_RULES
from channels import create_channel
from channels.avtalegiro import AvtaleGiroChannel
from channels.base import BatchEntry, OutboundBatch, Sent
from channels.context import TransmissionNumbers
from gateway.samples import kid_for, sample_invoice
from gateway.services.validation import get_validator
from gateway.worker.documents import with_embedded_documents
from mappings import render
from mappings.base import RenderedDocument
from mappings.consumer.avtalegiro import Claim
from mappings.consumer.digipost import message_for_invoice
from schemas.canonical import Invoice
from tests.certificates import make_certificate
from transports.digipost import DocumentPart, SigningIdentity, multipart_message, signature_headers

ACCOUNT = "86011117947"
TRANSMITTER = "12345678"
NATIONAL_ID = "01019000083"  # valid, synthetic
DIGIPOST_MESSAGES = httpx.URL("https://api.digipost.no/messages")
NOTICE = "Kraft Nord AS\nFaktura INV-{n:06d} datert 02.11.2026\nBeløp NOK {amount}  Forfall {due:%d.%m.%Y}"


def best_seconds(
    channel: Callable[[], object], bare: Callable[[], object], repeat: int
) -> tuple[float, float]:
    """The fastest of `repeat` runs of each, taken in turns (channel, bare, channel, …) so that a busy
    moment on a shared machine slows both sides alike rather than one of them."""
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(repeat):
        for action, kept in zip((channel, bare), times, strict=True):
            started = time.perf_counter()
            action()
            kept.append(time.perf_counter() - started)
    return min(times[0]), min(times[1])


# --- AvtaleGiro ------------------------------------------------------------------------------------------


def claims(count: int) -> list[Claim]:
    """`count` claims due in 30 days, every other one with the bank's notice to the payer."""
    due = dt.date.today() + dt.timedelta(days=30)
    made = []
    for n in range(1, count + 1):
        amount = Decimal(100 + n % 9_000) + Decimal(n % 100) / 100
        made.append(
            Claim(
                kid=kid_for(n),
                due_date=due,
                amount=amount,
                reference=f"Faktura INV-{n:06d}",
                payer_name=f"Kunde {n % 1000}"[:10],
                bank_notification=NOTICE.format(n=n, amount=amount, due=due) if n % 2 else None,
            )
        )
    return made


def claim_batch(batch_id: str, made: list[Claim], cutoff: dt.datetime) -> OutboundBatch:
    """The closed batch as the worker hands it over: the staged meta, the numbers the gateway counted."""
    placeholder = RenderedDocument("avtalegiro-claims", b"", "text/plain", "txt")
    entries = tuple(
        BatchEntry(f"d{n}", f"i{n}", 1, n, placeholder, {"invoice_number": f"INV-{n:06d}", **claim.as_dict()})
        for n, claim in enumerate(made, start=1)
    )
    numbers = TransmissionNumbers(TRANSMITTER, "0000001", "0000001")
    return OutboundBatch(batch_id, "bench", "avtalegiro", "default", cutoff, 1, entries, (), numbers)


def bare_netsgiro(made: list[Claim]) -> str:
    transmission = netsgiro.Transmission(
        number="0000001", data_transmitter=TRANSMITTER, data_recipient="00008080"
    )
    assignment = transmission.add_assignment(
        service_code=netsgiro.ServiceCode.AVTALEGIRO,
        assignment_type=netsgiro.AssignmentType.TRANSACTIONS,
        agreement_id="123456789",
        number="0000001",
        account=ACCOUNT,
    )
    for claim in made:
        assignment.add_payment_request(
            kid=claim.kid,
            due_date=claim.due_date,
            amount=claim.amount,
            reference=claim.reference,
            payer_name=claim.payer_name,
            bank_notification=claim.bank_notification or False,
        )
    return str(transmission.to_ocr())


def avtalegiro(count: int, repeat: int) -> tuple[float, float]:
    made = claims(count)
    with tempfile.TemporaryDirectory(prefix="avtalegiro-bench-") as directory:
        channel = create_channel(
            "avtalegiro",
            {
                "directory": directory,
                "data_transmitter": TRANSMITTER,
                "agreements": {"default": {"assignment_account": ACCOUNT, "agreement_id": "123456789"}},
            },
        )
        assert isinstance(channel, AvtaleGiroChannel)
        cutoff = channel.next_cutoff("bench")
        runs = iter(range(repeat + 1))

        def through_channel() -> None:
            result = channel.send_batch(claim_batch(f"bench-{next(runs)}", made, cutoff))
            assert isinstance(result, Sent), result
            assert f"{count} claim(s)" in (result.detail or ""), result

        through_channel()  # imports and first calls, outside the clock
        bare_netsgiro(made[:10])
        channel_seconds, bare_seconds = best_seconds(through_channel, lambda: bare_netsgiro(made), repeat)
        written = sorted((Path(directory) / channel.config.outgoing).iterdir())
        file_size = written[-1].stat().st_size
        read = netsgiro.parse(written[-1].read_bytes().decode("iso-8859-1"))
        assert [t.kid for t in read.assignments[0].transactions] == [c.kid for c in made]
    channel_rate, bare_rate = count / channel_seconds, count / bare_seconds
    print(f"avtalegiro: claim file of {count} claims ({file_size / 1024:.0f} KiB, fsync on)")
    print(f"  channel send_batch (meta → claims → netsgiro → folder): {channel_rate:10,.0f} claims/s")
    print(f"  bare netsgiro (build + to_ocr):                          {bare_rate:10,.0f} claims/s")
    return channel_rate, bare_rate


# --- Digipost --------------------------------------------------------------------------------------------


def signing_identity() -> SigningIdentity:
    """A 2048-bit RSA key and a self-signed certificate, as an enterprise certificate would hold them."""
    key, certificate = make_certificate("benchmark broker")
    return SigningIdentity(key=key, certificate=certificate)


def digipost(count: int, repeat: int) -> tuple[float, float]:
    invoices = [sample_invoice(n) for n in range(1, count + 1)]
    pdfs = [render("pdf", invoice).content for invoice in invoices]
    identity = signing_identity()
    bodies: list[bytes] = []

    def through_transport() -> None:
        bodies.clear()
        now = dt.datetime.now(dt.UTC)
        for n, (invoice, pdf) in enumerate(zip(invoices, pdfs, strict=True)):
            uuid = f"00000000-0000-4000-8000-{n:012d}"
            message = message_for_invoice(
                invoice, national_id=NATIONAL_ID, sender_id=123456, message_id=uuid, primary_uuid=uuid
            )
            _content_type, body = multipart_message(
                message.xml(), [DocumentPart(uuid, "application/pdf", pdf)]
            )
            signature_headers("POST", DIGIPOST_MESSAGES, body, user_id="123456", identity=identity, now=now)
            bodies.append(body)

    def bare_signatures() -> None:
        for body in bodies:
            identity.key.sign(body, padding.PKCS1v15(), hashes.SHA256())

    through_transport()
    transport_seconds, bare_seconds = best_seconds(through_transport, bare_signatures, repeat)
    size = sum(len(body) for body in bodies) / len(bodies)
    transport_rate, bare_rate = count / transport_seconds, count / bare_seconds
    print(f"digipost: {count} invoices, multipart body ~{size / 1024:.1f} KiB (PDF included), RSA 2048")
    print(f"  message XML + multipart + signed headers: {transport_rate:10,.0f} messages/s")
    print(f"  bare RSA-SHA256 of the same bodies:       {bare_rate:10,.0f} messages/s")
    return transport_rate, bare_rate


# --- eFaktura --------------------------------------------------------------------------------------------


def efaktura(count: int, repeat: int, rules_dir: Path) -> tuple[float, float]:
    validator = get_validator(rules_dir if rules_dir.is_dir() else None)
    validator.warm_up()  # compiled once per process, outside both clocks
    invoices: list[Invoice] = [sample_invoice(n) for n in range(1, count + 1)]
    documents: list[bytes] = []

    def through_worker_steps() -> None:
        documents.clear()
        for invoice in invoices:
            pdf = render("pdf", invoice)
            ehf = render("ehf", with_embedded_documents(invoice, (pdf,)))
            report = validator.validate(ehf.content)
            assert report.ok, report.blocking[:3]
            documents.append(ehf.content)

    def bare_validation() -> None:
        for document in documents:
            validator.validate(document)

    through_worker_steps()
    steps_seconds, bare_seconds = best_seconds(through_worker_steps, bare_validation, repeat)
    size = sum(len(document) for document in documents) / len(documents)
    steps_rate, bare_rate = count / steps_seconds, count / bare_seconds
    print(f"efaktura: {count} invoices, EHF with the PDF embedded ~{size / 1024:.1f} KiB; XSD + CEN + PEPPOL")
    print(f"  PDF render + embed + EHF render + validation: {steps_rate:8.1f} invoices/s")
    print(f"  bare validation of the same EHF:              {bare_rate:8.1f} invoices/s")
    return steps_rate, bare_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--claims", type=int, default=10_000, help="claims in the AvtaleGiro claim file")
    parser.add_argument("--messages", type=int, default=300, help="Digipost messages")
    parser.add_argument("--efaktura", type=int, default=30, help="eFaktura invoices")
    parser.add_argument("--repeat", type=int, default=5, help="runs per figure, in turns; the best counts")
    parser.add_argument("--rules-dir", type=Path, default=DEFAULT_RULES)
    parser.add_argument("--only", default="avtalegiro,digipost,efaktura")
    args = parser.parse_args()
    chosen = set(args.only.split(","))
    libraries = ", ".join(
        f"{name} {version(name)}" for name in ("netsgiro", "cryptography", "lxml", "reportlab", "httpx")
    )
    print(f"cores: {os.cpu_count()}; {platform.processor() or platform.machine()}; "
          f"Python {platform.python_version()}; {libraries}")  # fmt: skip
    ratios: list[str] = []
    if "avtalegiro" in chosen:
        channel_rate, bare_rate = avtalegiro(args.claims, args.repeat)
        ratios.append(f"avtalegiro ratio {channel_rate / bare_rate:.2f}")
    if "digipost" in chosen:
        transport_rate, bare_rate = digipost(args.messages, args.repeat)
        ratios.append(f"digipost ratio {transport_rate / bare_rate:.2f}")
    if "efaktura" in chosen:
        steps_rate, bare_rate = efaktura(args.efaktura, args.repeat, args.rules_dir)
        ratios.append(f"efaktura ratio {steps_rate / bare_rate:.2f}")
    for line in ratios:
        print(line)


if __name__ == "__main__":
    main()
