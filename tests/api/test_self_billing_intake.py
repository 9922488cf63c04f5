"""Self-billed UBL through the door and out through PEPPOL, in its own profile.

Stands for a buyer's ERP posting the PEPPOL BIS Self-Billing 3.0 invoice it issued in its supplier's name
(the official example `validation/examples/self-billing/SB-Vat-category-S.xml`): intake takes it, keeps the
profile, validates it with the self-billing rules and sends it on PEPPOL with the self-billing document type
and process, from the buyer's endpoint to the seller's.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from lxml import etree
from sqlalchemy import Engine

from db.engine import session_scope
from db.models import Participant
from gateway.api.app import create_app
from gateway.services.outbound import deliveries as service
from gateway.settings import Settings
from gateway.worker import Worker
from mappings.sbdh import SELF_BILLING_INVOICE_DOCUMENT_TYPE, unwrap_sbdh
from schemas.invoice_profiles import SELF_BILLING_CUSTOMIZATION, SELF_BILLING_PROCESS
from tests.conftest import SHARED

VALIDATION = SHARED / "validation"
EXAMPLE = VALIDATION / "examples" / "self-billing" / "SB-Vat-category-S.xml"
SELLER = "0088:7300010000001"  # AccountingSupplierParty/EndpointID: receives a self-billed invoice
BUYER = "0002:FR23342"  # AccountingCustomerParty/EndpointID: issues and sends it
XML = {"Content-Type": "application/xml"}
CBC = "urn:oasis:names:specification:ubl:schema:xsd:CommonBasicComponents-2"


@pytest.fixture
def peppol_settings(settings: Settings) -> Settings:
    """The official rules, and PEPPOL as the tenant's channel when the invoice names none."""
    return settings.model_copy(update={"rules_dir": VALIDATION, "default_channel": "peppol"})


@pytest.fixture
def peppol_client(peppol_settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(peppol_settings, engine)) as test_client:
        yield test_client


def test_self_billed_ubl_is_taken_and_sent_as_self_billing(
    peppol_client: TestClient, auth: dict[str, str], engine: Engine, peppol_settings: Settings
) -> None:
    with session_scope(engine) as session:  # the seller takes self-billed invoices, not billing ones
        session.add(Participant(participant_id=SELLER, document_types=[SELF_BILLING_INVOICE_DOCUMENT_TYPE]))
    created = peppol_client.post("/invoices", content=EXAMPLE.read_bytes(), headers={**auth, **XML})
    assert created.status_code == 201, created.text
    invoice_id = created.json()["invoice_id"]

    Worker(engine, peppol_settings, worker_id="w").run(once=True)
    with session_scope(engine) as session:
        [delivery] = service.invoice_view(session, "acme", invoice_id)["deliveries"]
    assert (delivery["channel"], delivery["status"]) == ("peppol", "sent"), delivery
    [path] = sorted(Path(peppol_settings.data_dir / "peppol-outbound").rglob("*.xml"))
    header, document = unwrap_sbdh(path.read_bytes())
    assert header["document_type_id"] == SELF_BILLING_INVOICE_DOCUMENT_TYPE
    assert header["process_id"] == SELF_BILLING_PROCESS
    assert (header["sender"], header["receiver"], header["country_c1"]) == (BUYER, SELLER, "SE")
    root = etree.fromstring(document)
    assert root.findtext(f"{{{CBC}}}CustomizationID") == SELF_BILLING_CUSTOMIZATION
    assert root.findtext(f"{{{CBC}}}InvoiceTypeCode") == "389"


def test_a_seller_that_takes_only_billing_is_not_sent_a_self_billed_invoice(
    peppol_client: TestClient, auth: dict[str, str], engine: Engine, peppol_settings: Settings
) -> None:
    with session_scope(engine) as session:  # "invoice" is the short name of billing invoices only
        session.add(Participant(participant_id=SELLER, document_types=["invoice"]))
    created = peppol_client.post("/invoices", content=EXAMPLE.read_bytes(), headers={**auth, **XML})
    assert created.status_code == 201, created.text
    Worker(engine, peppol_settings, worker_id="w").run(once=True)
    with session_scope(engine) as session:
        [delivery] = service.invoice_view(session, "acme", created.json()["invoice_id"])["deliveries"]
    assert (delivery["channel"], delivery["status"]) == ("peppol", "failed")
    assert "self_billing_invoice" in delivery["last_error"]


def test_a_self_billed_invoice_with_a_billing_type_code_is_refused_at_intake(
    peppol_client: TestClient, auth: dict[str, str]
) -> None:
    body = EXAMPLE.read_bytes().replace(b"<cbc:InvoiceTypeCode>389<", b"<cbc:InvoiceTypeCode>380<")
    refused = peppol_client.post("/invoices", content=body, headers={**auth, **XML})
    assert refused.status_code == 422, refused.text
    assert "self-billed invoice" in refused.text and "389" in refused.text
