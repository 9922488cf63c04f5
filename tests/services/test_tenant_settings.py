"""Sending windows and hold-for-review: invoices leave at a set time, after a person has looked."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError
from sqlalchemy import Engine, update

from db.engine import session_scope
from db.models import Delivery, utcnow
from gateway.samples import sample_invoice_json
from gateway.settings import Settings
from gateway.worker import Worker
from schemas.tenant import SendWindow, TenantSettings

OSLO = ZoneInfo("Europe/Oslo")


def test_window_next_open() -> None:
    window = SendWindow(start=dt.time(8), end=dt.time(16), timezone="Europe/Oslo")
    tuesday_noon = dt.datetime(2026, 11, 24, 12, 0, tzinfo=OSLO)
    assert window.next_open(tuesday_noon) == tuesday_noon
    tuesday_evening = dt.datetime(2026, 11, 24, 17, 0, tzinfo=OSLO)
    assert window.next_open(tuesday_evening) == dt.datetime(2026, 11, 25, 7, 0, tzinfo=dt.UTC)
    friday_evening = dt.datetime(2026, 11, 27, 18, 0, tzinfo=OSLO)
    assert window.next_open(friday_evening) == dt.datetime(2026, 11, 30, 7, 0, tzinfo=dt.UTC)  # Monday 08:00
    early = dt.datetime(2026, 11, 24, 6, 30, tzinfo=OSLO)
    assert window.next_open(early) == dt.datetime(2026, 11, 24, 7, 0, tzinfo=dt.UTC)


def test_window_across_daylight_saving() -> None:
    window = SendWindow(
        start=dt.time(8), end=dt.time(9), timezone="Europe/Oslo", weekdays=[0, 1, 2, 3, 4, 5, 6]
    )
    summer = dt.datetime(2026, 6, 1, 5, 0, tzinfo=dt.UTC)
    assert window.next_open(summer) == dt.datetime(2026, 6, 1, 6, 0, tzinfo=dt.UTC)  # CEST = UTC+2


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValidationError):
        SendWindow(start=dt.time(16), end=dt.time(8))
    with pytest.raises(ValidationError):
        SendWindow(start=dt.time(8), end=dt.time(16), timezone="Mars/Olympus")
    with pytest.raises(ValidationError):
        SendWindow(start=dt.time(8), end=dt.time(16), weekdays=[])


def _view(client: TestClient, auth: dict[str, Any], invoice_id: str) -> dict[str, Any]:
    view: dict[str, Any] = client.get(f"/invoices/{invoice_id}", headers=auth).json()
    return view


def test_hold_for_review_then_release(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    assert client.put("/settings", json={"hold_for_review": True}, headers=auth).status_code == 200
    created = client.post("/invoices", json=sample_invoice_json(1), headers=auth).json()
    assert Worker(engine, settings).run(once=True).claimed == 0  # held: nothing leaves
    [delivery] = _view(client, auth, created["invoice_id"])["deliveries"]
    assert delivery["status"] == "held" and "held for review" in delivery["events"][0]["reason"]
    released = client.post(
        f"/deliveries/{delivery['id']}/release", json={"reason": "checked by Kari"}, headers=auth
    )
    assert released.status_code == 200 and released.json()["status"] == "queued"
    Worker(engine, settings).run(once=True)
    [delivery] = _view(client, auth, created["invoice_id"])["deliveries"]
    assert delivery["status"] == "delivered"
    assert [e["to"] for e in delivery["events"]] == ["held", "queued", "rendering", "sending", "delivered"]
    assert delivery["events"][1]["reason"] == "checked by Kari"
    again = client.post(f"/deliveries/{delivery['id']}/release", headers=auth)
    assert again.status_code == 409


def test_sending_window_delays_until_it_opens(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    now_oslo = utcnow().astimezone(OSLO)
    # a one-hour window that is closed now: it opens in two hours (never wrapping past midnight)
    opens = (now_oslo + dt.timedelta(hours=2)).time().replace(second=0, microsecond=0)
    if opens.hour >= 22 or opens.hour < 2:
        opens = dt.time(10, 0) if now_oslo.hour < 8 or now_oslo.hour >= 12 else dt.time(4, 0)
    closes = (dt.datetime.combine(dt.date.today(), opens) + dt.timedelta(hours=1)).time()
    window = {
        "start": opens.isoformat(),
        "end": closes.isoformat(),
        "timezone": "Europe/Oslo",
        "weekdays": list(range(7)),
    }
    body = TenantSettings.model_validate({"send_window": window}).model_dump(mode="json")
    assert client.put("/settings", json=body, headers=auth).status_code == 200
    created = client.post("/invoices", json=sample_invoice_json(1), headers=auth).json()
    [delivery] = _view(client, auth, created["invoice_id"])["deliveries"]
    due = dt.datetime.fromisoformat(delivery["next_attempt_at"])
    assert due > utcnow() and "sending window opens" in delivery["events"][0]["reason"]
    assert due.astimezone(OSLO).time() == opens
    assert Worker(engine, settings).run(once=True).claimed == 0
    with session_scope(engine) as session:  # the clock reaches the window
        session.execute(update(Delivery).values(next_attempt_at=utcnow()))
    assert Worker(engine, settings).run(once=True).outcomes == {"delivered": 1}


def test_window_can_apply_to_some_channels_only(client: TestClient, auth: dict[str, Any]) -> None:
    window = {"start": "00:00", "end": "00:01", "timezone": "UTC", "weekdays": [0]}
    body = {"send_window": window, "window_channels": ["email"]}
    assert client.put("/settings", json=body, headers=auth).status_code == 200
    created = client.post("/invoices", json=sample_invoice_json(1), headers=auth).json()
    [delivery] = _view(client, auth, created["invoice_id"])["deliveries"]
    assert dt.datetime.fromisoformat(delivery["next_attempt_at"]) <= utcnow()  # folder is not windowed
    assert client.get("/settings", headers=auth).json()["window_channels"] == ["email"]
    assert client.put("/settings", json={"send_window": {"start": "9"}}, headers=auth).status_code == 422


def test_tenant_pdf_template_brands_its_invoices(
    client: TestClient, auth: dict[str, Any], engine: Engine, settings: Settings
) -> None:
    from io import BytesIO
    from pathlib import Path

    from pypdf import PdfReader

    body = {
        "pdf_template": {
            "company_display_name": "Nordlys Brand",
            "footer_text": "Takk for handelen!",
            "accent_color": "#AA3300",
        }
    }
    assert client.put("/settings", json=body, headers=auth).status_code == 200
    bad = {"pdf_template": {"accent_color": "red"}}
    assert client.put("/settings", json=bad, headers=auth).status_code == 422
    invoice = sample_invoice_json(1)
    invoice["routing"] = {"format": "pdf"}
    created = client.post("/invoices", json=invoice, headers=auth).json()
    Worker(engine, settings).run(once=True)
    [delivery] = _view(client, auth, created["invoice_id"])["deliveries"]
    assert delivery["status"] == "delivered", delivery["last_error"]
    text = "".join(
        page.extract_text()
        for page in PdfReader(BytesIO(Path(delivery["channel_message_id"]).read_bytes())).pages
    )
    assert "Nordlys Brand" in text and "Takk for handelen!" in text
