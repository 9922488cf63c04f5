"""Every upload route reads its file in the app's parse pool, and answers as it does reading in place.

Reproducer (before): `/responses`, `/bounces`, `/edi`, `/pods`, UBL at `/invoices` and every file but a
remittance at `/inbound` read the body in a thread of the API process: lxml, pypdf and the EDI readers hold
the GIL, so one slow file stalled every other request (as a camt did at `/remittances`, issue 18).

Here one real pool (one spawned process, shared by the run: `parse_pool_for_tests`) records each reader
it ran. Each route is posted a shared sample through an app with that pool and through an app that reads
in place (`parse_workers=0`, on a second database of the same kind): the reader must have run in the pool,
and the two answers must be the same (status and body, generated ids and times aside). The readers
themselves are compared value by value, refusals included, in `test_a_reader_gives_in_the_pool_…`.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import make_engine, migrate
from gateway.api.app import create_app
from gateway.samples import sample_invoice_json
from gateway.services.inbound import pods
from gateway.services.inbound.responses import read_status_document
from gateway.services.outbound.intake import ubl_intake_data
from gateway.services.parsed import Parsed, ParseFailed, parse
from gateway.settings import Settings
from mappings.acks.received import examine as examine_edi
from mappings.invoice import ubl
from mappings.invoice.canonical_json import invoice_from_data
from mappings.print import returns
from mappings.status import dsn
from tests.conftest import SHARED, PostgresSchema, make_token
from tests.mappings.test_print_returns_format import RETURNED_XML
from tests.mappings.test_transport_status import sample_iftsta
from tests.parse_pools import RecordingPool, plain, reader_name
from tests.services.test_pods import make_pdf

SAMPLES = SHARED / "samples"
UC003 = (SAMPLES / "ehf/peppol_T111-uc003-Invoice_is_accepted.xml").read_bytes()
DSN = (SAMPLES / "email/postfix37_dsn_2_INV-1002_failed_5.2.2.eml").read_bytes()
FA997 = (SAMPLES / "edi/x12/997/bots_inbound_997_1.x12").read_bytes()
INVOIC = (SAMPLES / "edi/edifact/INVOIC/bots_invoic1_D96A_EAN008_generated.edi").read_bytes()
EHF = (SAMPLES / "ehf/dfo_Invoice_EHF3.0_forward-billing-nettleie-consumer_v2.0.xml").read_bytes()
NOT_A_DSN = (SAMPLES / "email/delivered_invoice_pdf_ubl_INV-1001.eml").read_bytes()
PDF = make_pdf("Received in good order")
OUR_UBL = ubl.render(invoice_from_data(sample_invoice_json(7))).content  # one the intake takes (a 201)
IFTSTA = sample_iftsta(order="PO-1")


def _name(function: Callable[..., Any]) -> str:
    return reader_name(function)


@dataclass(frozen=True)
class Upload:
    """One file posted to one route, and the reader that must have read it in the pool."""

    path: str
    data: bytes
    content_type: str
    reader: str
    params: tuple[tuple[str, str], ...] = ()


UPLOADS = [
    Upload("/responses", UC003, "application/xml", _name(read_status_document)),
    Upload("/bounces", DSN, "message/rfc822", _name(dsn.parse)),
    Upload("/bounces", NOT_A_DSN, "message/rfc822", _name(dsn.parse)),  # refused: the 422 crosses back
    Upload("/edi", FA997, "application/EDI-X12", _name(examine_edi)),
    Upload("/edi", INVOIC, "application/EDIFACT", _name(examine_edi)),
    Upload("/edi", INVOIC[: len(INVOIC) // 2], "application/EDIFACT", _name(examine_edi)),  # cut short
    Upload("/pods", PDF, "application/pdf", _name(pods.examine), (("filename", "pod.pdf"),)),
    Upload("/pods", IFTSTA, "application/EDIFACT", _name(pods.examine)),
    Upload("/pods", b"%PDF-1.7 not really", "application/pdf", _name(pods.examine)),  # refused (422)
    Upload("/invoices", OUR_UBL, "application/xml", _name(ubl_intake_data)),
    Upload("/invoices", EHF, "application/xml", _name(ubl_intake_data)),  # a rounding rule: the 422 crosses
    Upload("/invoices", EHF.replace(b"cbc:ID", b"cbc:Nope", 1), "application/xml", _name(ubl_intake_data)),
    Upload("/inbound", RETURNED_XML, "application/xml", _name(returns.parse)),
    Upload("/inbound", DSN + b"\n", "message/rfc822", _name(dsn.parse)),
    Upload("/inbound", UC003 + b"\n", "application/xml", _name(read_status_document)),
    Upload("/inbound", make_pdf("at the door"), "application/pdf", _name(pods.examine)),
    Upload("/inbound", INVOIC + b"\n", "application/EDIFACT", _name(examine_edi)),
]

_ID = re.compile(r"\b[0-9a-f]{32}\b|\b[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\b")
_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)?")


def _normalised(text: str) -> str:
    """An answer with its generated ids numbered by first appearance and its times blanked."""
    seen: dict[str, str] = {}
    text = _ID.sub(lambda found: seen.setdefault(found.group(), f"<id{len(seen)}>"), text)
    return _TIME.sub("<time>", text)


@pytest.fixture
def in_place_engine(database_url: str, tmp_path: Path) -> Iterator[Engine]:
    """A second outbox of the same kind, for the app that reads in place."""
    schema = None if database_url.startswith("sqlite") else PostgresSchema()
    url = f"sqlite:///{tmp_path / 'in-place.sqlite3'}" if schema is None else schema.url
    engine = make_engine(url)
    migrate(engine)
    yield engine
    engine.dispose()
    if schema is not None:
        schema.drop()


def test_every_upload_route_reads_in_the_pool_and_answers_as_in_place(
    settings: Settings,
    engine: Engine,
    in_place_engine: Engine,
    parse_pool_for_tests: RecordingPool,
    tmp_path: Path,
) -> None:
    pool = parse_pool_for_tests
    pooled_app = create_app(settings.model_copy(update={"parse_workers": 1}), engine)
    pooled_app.state.parse_pool = pool
    in_place_settings = settings.model_copy(
        update={"database_url": str(in_place_engine.url), "data_dir": tmp_path / "in-place"}
    )
    in_place_app = create_app(in_place_settings, in_place_engine)
    assert in_place_app.state.parse_pool.workers == 0
    pooled_auth = {"Authorization": f"Bearer {make_token(engine, 'acme')}"}
    in_place_auth = {"Authorization": f"Bearer {make_token(in_place_engine, 'acme')}"}
    with TestClient(pooled_app) as pooled, TestClient(in_place_app) as in_place:
        for upload in UPLOADS:
            ran = len(pool.readers)
            what = f"{upload.path} {upload.data[:40]!r}"
            headers = {"Content-Type": upload.content_type}
            params = dict(upload.params)
            answer = pooled.post(
                upload.path, content=upload.data, params=params, headers=headers | pooled_auth
            )
            assert pool.readers[ran:] == [upload.reader], what
            expected = in_place.post(
                upload.path, content=upload.data, params=params, headers=headers | in_place_auth
            )
            assert answer.status_code == expected.status_code, (what, answer.text, expected.text)
            assert answer.status_code < 500, (what, answer.text)
            assert _normalised(answer.text) == _normalised(expected.text), what
    assert pool.ran_in_a_process()
    assert not in_place_app.state.parse_pool.started  # the in-place app started no pool


@pytest.mark.parametrize(
    ("reader", "data"),
    [
        pytest.param(read_status_document, UC003, id="status-document"),
        pytest.param(read_status_document, b"<Invoice/>", id="status-document-refused"),
        pytest.param(dsn.parse, DSN, id="dsn"),
        pytest.param(dsn.parse, NOT_A_DSN, id="dsn-refused"),
        pytest.param(examine_edi, FA997, id="997"),
        pytest.param(examine_edi, INVOIC, id="invoic"),
        pytest.param(examine_edi, INVOIC[: len(INVOIC) // 2], id="invoic-cut-short"),
        pytest.param(examine_edi, b"UNB+nonsense", id="edi-refused"),
        pytest.param(returns.parse, RETURNED_XML, id="print-return"),
        pytest.param(returns.parse, b"<PrintReceipt/>", id="print-return-refused"),
        pytest.param(pods.examine, PDF, id="pod-pdf"),
        pytest.param(pods.examine, IFTSTA, id="pod-iftsta"),
        pytest.param(pods.examine, b"GIF89a", id="pod-refused"),
        pytest.param(ubl_intake_data, OUR_UBL, id="ubl"),
        pytest.param(ubl_intake_data, EHF, id="ubl-rule-broken"),
        pytest.param(ubl_intake_data, b"<Invoice", id="ubl-refused"),
    ],
)
def test_a_reader_gives_in_the_pool_what_it_gives_in_place(
    reader: Callable[[bytes], Any], data: bytes, parse_pool_for_tests: RecordingPool
) -> None:
    """The value — or the refusal, class, message and attributes — that crossed back is what reading in
    the request's thread gives."""
    in_pool = asyncio.run(parse_pool_for_tests.read(reader, data))
    in_place = parse(reader, data)
    assert plain(in_pool) == plain(in_place)
    assert parse_pool_for_tests.readers[-1] == _name(reader)


def _unpicklable() -> None:
    class Local(Exception):  # a class pickle cannot name: it would not unpickle in the API process
        pass

    raise Local("from a reader's bug")


def test_an_error_that_cannot_cross_back_is_named_and_the_pool_survives(
    parse_pool_for_tests: RecordingPool,
) -> None:
    """A reader's unexpected error that does not pickle would break a `ProcessPoolExecutor` for good:
    it comes back as a `ParseFailed` naming it, and the pool goes on reading."""
    outcome: Parsed[None] = asyncio.run(parse_pool_for_tests.read(_unpicklable))
    assert isinstance(outcome.error, ParseFailed) and "Local: from a reader's bug" in str(outcome.error)
    with pytest.raises(ParseFailed, match="Local"):
        asyncio.run(parse_pool_for_tests.run(_unpicklable))
    assert plain(asyncio.run(parse_pool_for_tests.read(dsn.parse, DSN))) == plain(parse(dsn.parse, DSN))
