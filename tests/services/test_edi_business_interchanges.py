"""Several interchanges in one file for the EDI business messages (issue 17) on a real outbox (SQLite and
PostgreSQL), through `POST /remittances`, `POST /pods` and the one door `POST /inbound`: a REMADV / 820 file
is ONE remittance file whose payments come from every interchange that reads, a broken interchange named
in the receipt's warnings; an IFTSTA / 214 file becomes the PODs of every interchange's delivered
shipments, a broken interchange named likewise; a file none of whose interchanges reads is refused naming
the first.

The files are built by hand (tests/mappings/test_edi_business_interchanges.py says what each stands for):
a bank's concatenated daily REMADV file (one interchange hard-wrapped at 80 columns), a VAN's day of 820s,
a carrier's IFTSTA batch and 214 batch.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from typer.testing import CliRunner

from db.engine import session_scope
from db.models import PaymentRecord, ProofOfDelivery, RemittanceFile
from gateway.cli import app as cli_app
from mappings.syntax import x12
from tests.mappings.test_edi_business_interchanges import bad_unt, wrapped, x12_numbered
from tests.mappings.test_edi_interchanges import INVOIC, _edifact_copy, _unz_count
from tests.mappings.test_edifact_remadv import BERG_D96A, KID_D01B
from tests.mappings.test_transport_status import S, build_214, build_iftsta, sample_iftsta
from tests.mappings.test_x12_820 import _full_820, build_820
from tests.services.test_pods import _accept

G = x12.Segment.of


def _post(
    client: TestClient,
    auth: dict[str, Any],
    path: str,
    data: bytes,
    name: str,
    content_type: str = "application/octet-stream",
) -> Any:
    return client.post(
        path, params={"filename": name}, content=data, headers={**auth, "Content-Type": content_type}
    )  # fmt: skip


def _count(engine: Engine, table: Any) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(table)).scalar_one())


def _daily_remadv() -> bytes:
    """Berg's advice; KID advices with a miscounted UNT (refused); the KID advices again, hard-wrapped,
    under the next control reference."""
    return BERG_D96A + b"\r\n" + bad_unt(KID_D01B) + wrapped(KID_D01B.replace(b"+77'", b"+78'"))


def test_a_daily_remadv_file_books_the_payments_of_each_good_interchange(
    client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    daily = _daily_remadv()
    response = _post(client, auth, "/remittances", daily, "remadv-20261124.edi")
    assert response.status_code == 201, response.text
    body = response.json()
    assert (body["outcome"], body["status"], body["format"]) == ("accepted", "accepted", "remadv")
    assert [(p["position"], p["amount"]) for p in body["payments"]] == [
        ("interchange 1: message '1' (UNH at segment 3)", "22965.50"),
        ("interchange 3: message 'M1' (UNH at segment 3)", "1649.90"),
        ("interchange 3: message 'M2' (UNH at segment 19)", "980.00"),
    ]
    refused, hard_wrapped = body["warnings"]  # in file order
    offset = len(BERG_D96A) + 2  # the CRLF after the first interchange
    assert refused.startswith(f"interchange 2 of 3 (byte {offset}) refused, its payments not read: ")
    assert "(UNT)" in refused and "segment count says 17, message has 16 segments" in refused
    assert hard_wrapped.startswith("interchange 3: ") and "hard-wrapped" in hard_wrapped
    listed = client.get(f"/remittances/{body['file_id']}", headers=auth).json()
    assert listed["warnings"] == body["warnings"] and listed["message_id"] == "RA2611240001, 78"
    assert (listed["payments"], len(listed["payment_items"])) == (3, 3)
    again = _post(client, auth, "/remittances", daily, "remadv-20261124.edi")
    assert again.status_code == 200 and again.json()["warnings"] == body["warnings"]
    assert _count(engine, PaymentRecord) == 3

    # the bank resends the refused interchange on its own: its payments are booked now, nothing twice
    resent = _post(client, auth, "/remittances", KID_D01B, "remadv-20261124-resent.edi")
    assert resent.status_code == 201, resent.text
    assert (resent.json()["duplicate_payments"], _count(engine, PaymentRecord)) == (2, 5)
    assert _count(engine, RemittanceFile) == 2


def test_a_remadv_file_whose_every_interchange_is_broken_is_refused_naming_the_first(
    client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    broken = bad_unt(BERG_D96A) + bad_unt(KID_D01B)
    for path in ("/remittances", "/inbound"):
        response = _post(client, auth, path, broken, f"broken{path.replace('/', '-')}.edi")
        assert response.status_code == 422, response.text
        [error] = response.json()["errors"]
        assert error["field"] == "segment 35 (UNT): element 1"  # UNA is segment 1
        assert error["reason"].startswith("interchange 1 of 2 (byte 0): segment count says 34")
    assert _count(engine, PaymentRecord) == 0


def test_the_inbound_door_takes_a_day_of_820s_as_one_remittance_file(
    client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    first = build_820(_full_820())
    broken = x12_numbered(first, 43).replace(b"IEA*1*", b"IEA*2*")
    third = x12_numbered(first, 44).replace(b"TRACE-9001", b"TRACE-9003")
    response = _post(client, auth, "/inbound", first + broken + b"\n" + third, "van-820.x12")
    assert response.status_code == 201, response.text
    answer = response.json()
    assert (answer["service"], answer["format"]) == ("remittances", "x12-820")
    result = answer["result"]
    assert [p["position"].split(":")[0] for p in result["payments"]] == ["interchange 1", "interchange 3"]
    assert [p["amount"] for p in result["payments"]] == ["1600.00", "1600.00"]
    [warning] = result["warnings"]
    assert warning.startswith(f"interchange 2 of 3 (byte {len(first)}) refused, its payments not read: ")
    assert "(IEA)" in warning
    at_remittances = _post(client, auth, "/remittances", first + b"\n" + x12_numbered(first, 45), "two.x12")
    assert at_remittances.status_code == 201, at_remittances.text
    assert at_remittances.json()["duplicate_payments"] == 2  # TRACE-9001 twice, booked before
    assert _count(engine, PaymentRecord) == 4


def _carrier_batch() -> bytes:
    """The carrier's tracking runs of the day: delivered PO-4711 (and in transit), a run with a miscounted
    UNT (refused), a hard-wrapped run delivering INV-000002."""
    later = build_iftsta(
        [S("CNI", "1", "CONS-104"), S("STS", "1", "21"), S("RFF", ("IV", "INV-000002"))], control_ref="3"
    )
    broken = bad_unt(sample_iftsta(order="PO-9999", control_ref="2"))
    return sample_iftsta(order="PO-4711", invoice="INV-000009") + b"\r\n" + broken + wrapped(later)


def test_a_carriers_iftsta_batch_becomes_the_pods_of_each_good_interchange(
    client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    by_order, by_invoice = _accept(engine, {"order_reference": "PO-4711"}, {})
    batch = _carrier_batch()
    response = client.post(
        "/pods", content=batch, headers={**auth, "Content-Type": "application/EDIFACT"},
        params={"filename": "tracking-20261124.edi"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    body = response.json()
    pods = body["pods"]
    assert [p["status"] for p in pods] == ["delivered"] * 3  # CONS-001, CONS-003, CONS-104
    linked = [{link["invoice_id"] for link in pod["links"]} for pod in pods]
    assert linked == [{by_order}, {by_order}, {by_invoice}]
    refused, hard_wrapped = body["warnings"]  # in file order
    offset = len(sample_iftsta(order="PO-4711", invoice="INV-000009")) + 2
    assert refused.startswith(f"interchange 2 of 3 (byte {offset}) refused, its shipments not read: ")
    assert hard_wrapped.startswith("interchange 3: ") and "hard-wrapped" in hard_wrapped
    again = client.post("/pods", content=batch, headers={**auth, "Content-Type": "application/EDIFACT"})
    assert again.status_code == 200 and again.json()["warnings"] == body["warnings"]
    assert _count(engine, ProofOfDelivery) == 3


def test_the_inbound_door_takes_a_carriers_214_batch(
    client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    [by_shipment] = _accept(engine, {"despatch_advice_reference": "SHIP-124"})
    delivered = build_214([G("LX", "1"), G("AT7", "D1", "NS", "", "", "20261124", "1030", "LT")])
    in_transit = build_214([G("LX", "1"), G("AT7", "X6", "NS", "", "", "20261123")])
    second = x12_numbered(delivered, 8).replace(b"SHIP-123", b"SHIP-124")
    broken = x12_numbered(in_transit, 9).replace(b"SE*", b"SE*9", 1)
    response = _post(client, auth, "/inbound", delivered + broken + second, "carrier-214.x12")
    assert response.status_code == 201, response.text
    answer = response.json()
    assert (answer["service"], answer["format"]) == ("pods", "x12-214")
    pods = answer["result"]["pods"]
    assert [p["references"]["shipment_ids"][0] for p in pods] == ["SHIP-123", "SHIP-124"]
    assert {link["invoice_id"] for link in pods[1]["links"]} == {by_shipment}
    [warning] = answer["result"]["warnings"]
    assert warning.startswith(f"interchange 2 of 3 (byte {len(delivered)}) refused, its shipments not read: ")

    # nothing delivered in the interchanges that read, and one broken: refused, both said
    refused = _post(client, auth, "/inbound", in_transit + broken, "carrier-214-b.x12")
    assert refused.status_code == 422, refused.text
    reason = refused.json()["errors"][0]["reason"]
    assert "reports no delivered shipment" in reason and "interchange 2 of 2 (byte" in reason
    only_broken = _post(client, auth, "/pods", broken + broken, "carrier-214-c.x12", "application/EDI-X12")
    assert only_broken.status_code == 422
    assert only_broken.json()["errors"][0]["reason"].startswith("x12-214: segment ")
    assert "interchange 1 of 2 (byte 0)" in only_broken.json()["errors"][0]["reason"]
    assert _count(engine, ProofOfDelivery) == 2


def test_an_invoic_batch_with_a_broken_interchange_stays_refused_whole(
    client: TestClient, auth: dict[str, Any], tmp_path: Path
) -> None:
    """Decided: an invoice file is not taken in part. `POST /invoices` and `gateway send` take canonical
    JSON, UBL and CII (a partner's INVOIC / 810 comes in at `POST /edi`, interchange by interchange); the
    dry runs that read INVOIC / 810 files (`gateway render`, `gateway validate`) answer with the file's
    invoices and have no place to say one interchange was left out, so the file is refused naming it."""
    batch = _edifact_copy(INVOIC, "1") + b"\r\n" + _unz_count(_edifact_copy(INVOIC, "2"), 2)
    posted = client.post("/invoices", content=batch, headers={**auth, "Content-Type": "application/EDIFACT"})
    assert posted.status_code == 415 and "application/json or application/xml" in posted.text
    path = tmp_path / "erp-batch.edi"
    path.write_bytes(batch)
    rendered = CliRunner().invoke(cli_app, ["render", str(path), "--to", "ehf", "-o", str(tmp_path / "out")])
    assert rendered.exit_code == 2, rendered.output
    assert "segment 27 (UNZ): element 1: interchange 2 of 2 (byte" in rendered.output
    assert not (tmp_path / "out").exists()  # nothing rendered from the good interchange
