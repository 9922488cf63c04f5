"""Statement zips and tolerant camt through the real doors: `POST /remittances`, `POST /inbound`, the drop
folder (the worker's). SQLite and PostgreSQL (the `client` / `engine` fixtures), the real camt reader and
matching engine.

The zips stand for a Norwegian bank's daily delivery (several camt.054.001.08 notifications in one .zip,
`tests/remittance_files.py`); the hostile ones for the classes of attack a zip reader must refuse.
"""

from __future__ import annotations

import io
import zipfile
from decimal import Decimal
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, func, select
from sqlmodel import col

import mappings
from db.engine import session_scope
from db.models import PaymentRecord, RemittanceFile
from gateway.settings import Settings
from gateway.worker import Worker
from tests.payment_scenarios import invoice, payment_status
from tests.remittance_files import Tx, camt054


def build_zip(members: list[tuple[str, bytes]]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        for name, data in members:
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 20, 6, 0, 0))
            archive.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def post(client: TestClient, auth: dict[str, Any], data: bytes, name: str, path: str = "/remittances") -> Any:
    """`POST /remittances?wait=true` (matched before the answer, as `POST /inbound` always is), or `path`."""
    params = {"filename": name, "wait": "true"} if path == "/remittances" else {"filename": name}
    return client.post(
        path, params=params, content=data, headers={**auth, "Content-Type": "application/octet-stream"}
    )


def three_invoices_and_their_bank_zip(client: TestClient, auth: dict[str, Any]) -> tuple[list[str], bytes]:
    invoices = [invoice(client, auth, n) for n in (1, 2, 3)]
    files = [
        (
            f"camt054-{n}.xml",
            camt054(
                [Tx(Decimal(inv["payable_amount"]), kid=inv["payment_reference"], reference=f"ZIP-{n}")],
                message_id=f"MSG-ZIP-{n}",
            ),
        )
        for n, inv in enumerate(invoices, 1)
    ]
    return [inv["id"] for inv in invoices], build_zip(files)


def booked(engine: Engine) -> int:
    with session_scope(engine) as session:
        return int(session.execute(select(func.count()).select_from(PaymentRecord)).scalar_one())


def test_a_zip_of_three_camt_files_gives_three_receipts_each_matched(
    client: TestClient, auth: dict[str, Any], engine: Engine
) -> None:
    ids, data = three_invoices_and_their_bank_zip(client, auth)
    answer = post(client, auth, data, "2026-11-20.zip")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["archive"], body["members"]) == ("2026-11-20.zip", 3)
    assert [f["member"] for f in body["files"]] == ["camt054-1.xml", "camt054-2.xml", "camt054-3.xml"]
    assert {(f["outcome"], f["format"]) for f in body["files"]} == {("accepted", "camt")}
    assert [f["payments"][0]["status"] for f in body["files"]] == ["applied"] * 3
    assert len({f["file_id"] for f in body["files"]}) == 3
    assert [payment_status(client, auth, i)["payment_status"] for i in ids] == ["paid"] * 3
    kept = client.get(f"/remittances/{body['files'][1]['file_id']}", headers=auth).json()
    assert kept["filename"] == "2026-11-20.zip#camt054-2.xml" and kept["payments"] == 1
    content = client.get(f"/remittances/{body['files'][1]['file_id']}/content", headers=auth)
    assert content.content.startswith(b"<?xml") and b"MSG-ZIP-2" in content.content

    again = post(client, auth, data, "2026-11-20.zip")
    assert again.status_code == 200
    assert {f["outcome"] for f in again.json()["files"]} == {"duplicate"}
    assert booked(engine) == 3


def test_the_inbound_door_takes_a_statement_zip(client: TestClient, auth: dict[str, Any]) -> None:
    ids, data = three_invoices_and_their_bank_zip(client, auth)
    stored = io.BytesIO()  # members stored, not deflated: their camt namespace shows in the first bytes
    with zipfile.ZipFile(stored, "w") as archive:
        archive.writestr("first.xml", camt054([Tx(Decimal("1.00"))], message_id="STORED"))
    assert mappings.detect_format(stored.getvalue()) == "statement-zip"
    answer = post(client, auth, data, "bank.zip", path="/inbound")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert (body["format"], body["service"], body["kind"]) == ("statement-zip", "remittances", "remittance")
    assert len(body["result"]["files"]) == 3
    assert [payment_status(client, auth, i)["payment_status"] for i in ids] == ["paid"] * 3


def test_hostile_zips_are_refused_naming_the_reason_and_nothing_is_booked(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    good = camt054([Tx(Decimal("100.00"), kid="0010017")])
    inner = build_zip([("camt.xml", good)])
    settings.remittance_zip_max_members = 3
    cases = [
        ("bomb.zip", build_zip([("a.xml", good), ("b.xml", b"\0" * 20_000_000)]), "zip member 'b.xml'",
         "refused: compression ratio over 100:1"),
        ("traversal.zip", build_zip([("a.xml", good), ("../../etc/cron.d/x.xml", good)]),
         "zip member '../../etc/cron.d/x.xml'", "refused: '..' in the path (outside the archive)"),
        ("absolute.zip", build_zip([("/tmp/x.xml", good)]), "zip member '/tmp/x.xml'",
         "refused: an absolute path"),
        ("drive.zip", build_zip([("C:\\x.xml", good)]), "zip member 'C:\\\\x.xml'",
         "refused: a drive letter in the name"),
        ("nested.zip", build_zip([("a.xml", good), ("inner.zip", inner)]), "zip member 'inner.zip'",
         "refused: a nested archive (an archive inside the zip)"),
        ("many.zip", build_zip([(f"{n}.xml", good) for n in range(4)]), "zip",
         "refused: 4 members, at most 3"),
    ]  # fmt: skip
    for name, data, where, reason in cases:
        for path in ("/remittances", "/inbound"):
            answer = post(client, auth, data, name, path=path)
            assert answer.status_code == 422, (name, path, answer.text)
            [error] = answer.json()["errors"]
            assert error["field"] == where, (name, error)
            assert error["reason"].startswith(reason), (name, error)
    assert booked(engine) == 0
    listed = client.get("/remittances", params={"status": "rejected"}, headers=auth).json()["items"]
    assert sorted(item["filename"] for item in listed) == sorted(name for name, *_ in cases)
    assert {item["format"] for item in listed} == {"statement-zip"}


def test_a_zip_with_a_member_that_is_no_bank_file_books_the_others(
    client: TestClient, auth: dict[str, Any]
) -> None:
    inv = invoice(client, auth, 1)
    good = camt054([Tx(Decimal(inv["payable_amount"]), kid=inv["payment_reference"])])
    answer = post(client, auth, build_zip([("readme.txt", b"hello"), ("camt.xml", good)]), "mixed.zip")
    assert answer.status_code == 201, answer.text
    readme, camt = answer.json()["files"]
    assert readme["status"] == "rejected" and readme["error"]["field"] == "file"
    assert camt["outcome"] == "accepted" and camt["payments"][0]["status"] == "applied"
    only_junk = post(client, auth, build_zip([("readme.txt", b"hello again")]), "junk.zip")
    assert only_junk.status_code == 422
    assert only_junk.json()["errors"][0]["field"] == "readme.txt: file"


def test_the_drop_folder_reads_each_member_and_refuses_a_bomb(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    ids, data = three_invoices_and_their_bank_zip(client, auth)
    drop = settings.remittance_dir / "acme"
    drop.mkdir(parents=True)
    (drop / "statements.zip").write_bytes(data)
    (drop / "bomb.zip").write_bytes(build_zip([("b.xml", b"\0" * 20_000_000)]))
    Worker(engine, settings).run(once=True)
    assert sorted(p.name for p in (drop / "done").iterdir()) == ["statements.zip"]
    assert sorted(p.name for p in (drop / "rejected").iterdir()) == ["bomb.zip", "bomb.zip.reason.txt"]
    reason = (drop / "rejected" / "bomb.zip.reason.txt").read_text()
    assert reason.startswith("zip member 'b.xml': refused: compression ratio over 100:1")
    assert [payment_status(client, auth, i)["payment_status"] for i in ids] == ["paid"] * 3
    with session_scope(engine) as session:
        names = session.execute(
            select(col(RemittanceFile.filename)).order_by(col(RemittanceFile.filename))
        ).scalars()
        assert list(names) == [
            "bomb.zip",
            "statements.zip#camt054-1.xml",
            "statements.zip#camt054-2.xml",
            "statements.zip#camt054-3.xml",
        ]


def test_a_text_status_file_is_booked_with_a_warning_and_an_unknown_status_is_not(
    client: TestClient, auth: dict[str, Any]
) -> None:
    # stands for the Lithuanian bank's camt.054.001.10 with <Sts>BOOK</Sts>, one entry's status garbled
    inv = invoice(client, auth, 1)
    good = camt054([Tx(Decimal(inv["payable_amount"]), kid=inv["payment_reference"])], message_id="LT-1")
    good = good.replace(b"camt.054.001.08", b"camt.054.001.10").replace(
        b"<Sts><Cd>BOOK</Cd></Sts>", b"<Sts>BOOK</Sts>"
    )
    answer = post(client, auth, good, "lt.xml")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    assert body["payments"][0]["status"] == "applied"
    [warning] = body["warnings"]
    assert "as text (the .02-.06 shape), where camt.054.001.10 has Sts/Cd" in warning
    kept = client.get(f"/remittances/{body['file_id']}", headers=auth).json()
    assert kept["warnings"] == [warning]
    assert post(client, auth, good, "lt.xml").json()["warnings"] == [warning]  # the repeat says it too

    unknown = camt054([Tx(Decimal("500.00"), kid="0010017")], message_id="LT-2").replace(
        b"<Sts><Cd>BOOK</Cd></Sts>", b"<Sts>BOKD</Sts>"
    )
    answer = post(client, auth, unknown, "lt-2.xml")
    assert answer.status_code == 201, answer.text
    body = answer.json()
    [payment] = body["payments"]
    assert payment["kind"] == "camt054-pending" and payment["status"] == "ignored"
    assert "'BOKD' is not a status code" in body["warnings"][0]
