"""`GET /documents/{id}`: the document exactly as it was sent, the tenant's own only, with its media type and
a `Content-Disposition` that stays safe whatever the stored file name holds."""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Any
from urllib.parse import unquote

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from db.engine import session_scope
from gateway.samples import sample_invoice_json
from gateway.services.downloads import content_disposition, safe_filename, safe_media_type
from gateway.services.outbound.documents import document_store, store_document
from gateway.settings import Settings
from gateway.worker import Worker
from tests.remittance_files import Tx, camt054
from tests.services.test_pods import make_png

Auth = dict[str, str]
_PLAIN = re.compile(r'filename="([ -~]*)"')


def sent_document_id(view: dict[str, Any]) -> str:
    """The `document_id` the delivered event of an invoice's first delivery names."""
    [event] = [e for e in view["deliveries"][0]["events"] if e["to"] == "delivered"]
    return str(event["details"]["document_id"])


def disposition_names(header: str) -> tuple[str, str]:
    """The ASCII `filename` and the decoded `filename*` of a Content-Disposition header."""
    assert header.startswith("attachment; ")
    plain = _PLAIN.search(header)
    assert plain is not None, header
    encoded = header.split("filename*=UTF-8''", 1)[1]
    assert re.fullmatch(r"[A-Za-z0-9!#$&+\-.^_`|~%]+", encoded), encoded
    return plain.group(1), unquote(encoded)


def test_the_document_as_sent_with_its_media_type(
    client: TestClient, auth: Auth, token_for: Any, engine: Engine, settings: Settings
) -> None:
    created = client.post("/invoices", json=sample_invoice_json(1), headers=auth).json()
    Worker(engine, settings).run(once=True)
    view = client.get(f"/invoices/{created['invoice_id']}", headers=auth).json()
    document_id = sent_document_id(view)
    [sent_file] = (settings.data_dir / "outbound").rglob("INV-000001__*-1.json")  # not its sidecar
    answer = client.get(f"/documents/{document_id}", headers=auth)
    assert answer.status_code == 200
    assert answer.content == sent_file.read_bytes()
    assert answer.headers["content-type"].startswith("application/json")
    assert answer.headers["x-content-type-options"] == "nosniff"
    plain, full = disposition_names(answer.headers["content-disposition"])
    assert plain == full and full.startswith("INV-000001")
    assert client.get(f"/documents/{document_id}", headers=token_for("globex")).status_code == 404
    assert client.get("/documents/" + "0" * 32, headers=auth).status_code == 404
    assert client.get(f"/documents/{document_id}").status_code == 401


HOSTILE_NAMES = [
    ("../../etc/passwd", "passwd"),
    ("..\\..\\boot.ini", "boot.ini"),
    ('a"b\r\nX-Injected: yes;.xml', "a_bX-Injected_ yes;.xml"),
    ("Faktura ÆØÅ 1003.pdf", "Faktura ÆØÅ 1003.pdf"),
    ("invoice\u202efdp.exe", "invoicefdp.exe"),
    ("CON.xml", "_CON.xml"),
    ("...", "document-fallback"),
    ("", "document-fallback"),
    ("%0d%0a.pdf", "%0d%0a.pdf"),
    ("x" * 300 + ".pdf", "x" * 146 + ".pdf"),
]


@pytest.mark.parametrize(("stored", "expected"), HOSTILE_NAMES)
def test_hostile_file_names_give_a_safe_header(stored: str, expected: str) -> None:
    assert safe_filename(stored, "document-fallback") == expected
    plain, full = disposition_names(content_disposition(stored, fallback="document-fallback"))
    assert full == expected
    assert all(c not in plain for c in '"\\/\r\n') and plain.isascii() and plain


def test_hostile_file_names_through_the_api(
    client: TestClient, auth: Auth, engine: Engine, settings: Settings
) -> None:
    assert client.get("/invoices", headers=auth).status_code == 200  # the tenant exists
    store = document_store(settings)
    for number, (stored, expected) in enumerate(HOSTILE_NAMES):
        with session_scope(engine) as session:
            document = store_document(
                session,
                store,
                tenant_id="acme",
                data=f"document {number}".encode(),
                media_type="text/html; charset=utf-8" if number % 2 else "application/pdf\r\nX-Evil: 1",
                filename=stored,
                kind="invoice-as-sent",
            )
            document_id = document.id
        answer = client.get(f"/documents/{document_id}", headers=auth)
        assert answer.status_code == 200
        assert answer.content == f"document {number}".encode()
        assert "x-injected" not in answer.headers and "x-evil" not in answer.headers
        _, full = disposition_names(answer.headers["content-disposition"])
        assert full == (expected if expected != "document-fallback" else f"document-{document_id}")
        assert answer.headers["content-type"].split(";")[0] == (
            "text/html" if number % 2 else "application/octet-stream"
        )


def test_media_types_are_kept_only_when_they_are_one() -> None:
    assert safe_media_type("application/xml") == "application/xml"
    assert safe_media_type("Application/PDF; name=x") == "application/pdf"
    assert safe_media_type("text/html\r\nSet-Cookie: a=b") == "application/octet-stream"
    assert safe_media_type(None) == "application/octet-stream"


def test_pod_and_remittance_downloads_use_the_same_safe_header(client: TestClient, auth: Auth) -> None:
    pod = client.post(
        "/pods",
        params={"filename": "Kvittering Tromsø.png"},
        content=make_png(),
        headers={**auth, "Content-Type": "image/png"},
    )
    assert pod.status_code == 201, pod.text
    content = client.get(f"/pods/{pod.json()['pods'][0]['id']}/content", headers=auth)
    assert content.status_code == 200 and content.headers["content-type"] == "image/png"
    assert disposition_names(content.headers["content-disposition"]) == (
        "Kvittering Tromso.png",
        "Kvittering Tromsø.png",
    )
    remittance = client.post(
        "/remittances",
        params={"filename": 'bank "file"; name=x €.xml'},
        content=camt054([Tx(Decimal("10.00"), reference="x")]),
        headers={**auth, "Content-Type": "application/xml"},
    )
    assert remittance.status_code == 201, remittance.text
    answer = client.get(f"/remittances/{remittance.json()['file_id']}/content", headers=auth)
    header = answer.headers["content-disposition"]
    assert header.count("filename=") == 1 and header.count("filename*=") == 1  # no parameter injected
    assert disposition_names(header) == ("bank _file__ name_x _.xml", "bank _file_; name=x €.xml")


@pytest.mark.parametrize(
    "name",
    ["../bank.xml", "bank\\x.xml", "bank\r\n.xml", "bank\x00.xml", "..", "c:bank.xml", "bank\u202e.xml"],
)
def test_a_remittance_file_name_is_checked_like_a_pod_name(client: TestClient, auth: Auth, name: str) -> None:
    """Reproducer (issue 18, defect 4): `POST /remittances?filename=bank%0d%0a.xml` was kept as given, and
    its `GET /remittances/{id}/content` dropped the connection (a CR/LF in a header). Now a remittance
    name is refused at upload as a POD's is (no separators, `..`, `:`, control or format characters), with
    a 422 on `filename`, before anything is stored."""
    answer = client.post(
        "/remittances",
        params={"filename": name},
        content=camt054([Tx(Decimal("10.00"), reference="x")]),
        headers={**auth, "Content-Type": "application/xml"},
    )
    assert answer.status_code == 422, answer.text
    [error] = answer.json()["errors"]
    assert error["field"] in ("filename", "query.filename"), error  # a NUL is refused at the edge
    assert client.get("/remittances", headers=auth).json()["items"] == []


def test_names_as_long_as_their_columns_are_kept_and_handed_back(client: TestClient, auth: Auth) -> None:
    """The longest names the columns hold, with `€` and `"` in them, on both databases: kept whole and
    answered in a header that stays ASCII; one character more is a 422 naming the field."""
    pod_name = ('Kvittering "€" ' + "x" * 200)[: 200 - 4] + ".png"
    pod = client.post(
        "/pods",
        params={"filename": pod_name},
        content=make_png(),
        headers={**auth, "Content-Type": "image/png"},
    )
    assert pod.status_code == 201, pod.text
    content = client.get(f"/pods/{pod.json()['pods'][0]['id']}/content", headers=auth)
    plain, full = disposition_names(content.headers["content-disposition"])
    assert full == safe_filename(pod_name, "x") and plain.isascii() and '"' not in plain
    too_long = client.post(
        "/pods",
        params={"filename": "y" + pod_name},
        content=make_png(),
        headers={**auth, "Content-Type": "image/png"},
    )
    assert too_long.status_code == 422 and too_long.json()["errors"][0]["field"] == "filename"

    name = ('Remittance "€" ' + "z" * 255)[: 255 - 4] + ".xml"
    remittance = client.post(
        "/remittances",
        params={"filename": name},
        content=camt054([Tx(Decimal("11.00"), reference="y")]),
        headers={**auth, "Content-Type": "application/xml"},
    )
    assert remittance.status_code == 201, remittance.text
    file_id = remittance.json()["file_id"]
    assert client.get(f"/remittances/{file_id}", headers=auth).json()["filename"] == name
    answer = client.get(f"/remittances/{file_id}/content", headers=auth)
    plain, full = disposition_names(answer.headers["content-disposition"])
    assert full == safe_filename(name, "x") and plain.isascii()
    longer = client.post(
        "/remittances",
        params={"filename": "a" + name},
        content=camt054([Tx(Decimal("12.00"), reference="z")]),
        headers={**auth, "Content-Type": "application/xml"},
    )
    assert longer.status_code == 422 and longer.json()["errors"][0]["field"].endswith("filename")
