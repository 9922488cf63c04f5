"""One intake limit per route family, named in every 413; a per-tenant quota for refused remittance files.

Reproducer (issue 18, defect 7): `POST /remittances` took and kept bodies of any size up to 200 MB
(`max_remittance_bytes`) — a refused one too, for inspection, without bound — while every other route
stopped at 25 MB, and a 413 said "body exceeds the limit of N bytes" without saying which setting that is.
Now each family's limit is its own setting (README "Intake limits"), a 413 names the limit and the setting,
and once a tenant's refused files fill `GATEWAY_REFUSED_REMITTANCE_QUOTA_BYTES` a further refused file is
recorded (size, SHA-256, reason) without its body, and the answer says so.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine

from gateway.api.app import create_app
from gateway.settings import INTAKE_LIMITS, Settings
from tests.remittance_files import Tx, camt054

SMALL = 1000
#: route, content type, intake family
ROUTES = [
    ("/invoices", "application/json", "invoices"),
    ("/remittances", "application/xml", "remittances"),
    ("/pods", "application/pdf", "pods"),
    ("/responses", "application/xml", "responses"),
    ("/edi", "application/EDIFACT", "edi"),
    ("/bounces", "message/rfc822", "bounces"),
]


def _small_limits(settings: Settings, **more: Any) -> Settings:
    return settings.model_copy(update={name: SMALL for name in INTAKE_LIMITS.values()} | more)


@pytest.fixture
def limited(settings: Settings, engine: Engine) -> Iterator[TestClient]:
    with TestClient(create_app(_small_limits(settings), engine)) as client:
        yield client


@pytest.mark.parametrize(("path", "media_type", "family"), ROUTES)
def test_a_413_names_the_limit_and_its_setting(
    limited: TestClient, auth: dict[str, str], path: str, media_type: str, family: str
) -> None:
    answer = limited.post(path, content=b"x" * (SMALL + 1), headers={**auth, "Content-Type": media_type})
    assert answer.status_code == 413, answer.text
    reason = answer.json()["errors"][0]["reason"]
    setting = f"GATEWAY_{INTAKE_LIMITS[family].upper()}"
    assert f"the limit is {SMALL:,} bytes" in reason and setting in reason, reason


def test_the_inbound_door_names_the_limit_of_the_service_the_file_goes_to(
    settings: Settings, engine: Engine, auth: dict[str, str]
) -> None:
    """The door reads up to the largest limit, then holds the file to its own service's."""
    door_settings = _small_limits(settings, max_remittance_bytes=100_000, max_pod_bytes=200_000)
    bank_file = camt054([Tx(Decimal("100.00"))] * 10, message_id="CAMT-DOOR")
    assert SMALL < len(bank_file) < 100_000
    with TestClient(create_app(door_settings, engine)) as client:
        taken = client.post("/inbound", content=bank_file, headers=auth)
        assert taken.status_code == 201, taken.text
        door_settings.max_remittance_bytes = SMALL
        refused = client.post("/inbound", content=bank_file + b" ", headers=auth)
        assert refused.status_code == 413, refused.text
        assert f"at most {SMALL:,} for remittances (GATEWAY_MAX_REMITTANCE_BYTES)" in refused.text
        too_large = client.post("/inbound", content=b"x" * 200_001, headers=auth)
    assert too_large.status_code == 413, too_large.text
    assert "the limit is 200,000 bytes (GATEWAY_MAX_POD_BYTES)" in too_large.text


def _broken(number: int) -> bytes:
    """A camt.054 whose batch count is wrong: refused whole (each one different bytes)."""
    data = camt054([Tx(Decimal("100.00")), Tx(Decimal("10.00"))], message_id=f"CAMT-BROKEN-{number}")
    return data.replace(b"<NbOfTxs>2</NbOfTxs>", b"<NbOfTxs>3</NbOfTxs>")


def test_refused_files_past_the_tenant_quota_are_recorded_without_their_body(
    settings: Settings, engine: Engine, auth: dict[str, str], token_for: Any
) -> None:
    first, second = _broken(1), _broken(2)
    quota = len(first) + len(second) // 2  # room for one refused file
    with TestClient(
        create_app(settings.model_copy(update={"refused_remittance_quota_bytes": quota}), engine)
    ) as client:
        accepted = client.post(
            "/remittances", content=camt054([Tx(Decimal("5.00"))], message_id="OK"), headers=auth
        )
        assert accepted.status_code == 201, accepted.text  # accepted files do not count against the quota

        kept = client.post("/remittances?filename=first.xml", content=first, headers=auth)
        assert kept.status_code == 422, kept.text
        assert "kept" not in kept.json()
        kept_id = kept.json()["file_id"]

        over = client.post("/remittances?filename=second.xml", content=second, headers=auth)
        assert over.status_code == 422, over.text
        body = over.json()
        assert body["kept"] is False
        assert "GATEWAY_REFUSED_REMITTANCE_QUOTA_BYTES" in body["note"] and f"{quota:,}" in body["note"]
        assert body["errors"][0]["field"] == "Ntfctn[1]/Ntry[1]"  # the reason is recorded all the same
        over_id = body["file_id"]

        assert client.get(f"/remittances/{kept_id}/content", headers=auth).content == first
        gone = client.get(f"/remittances/{over_id}/content", headers=auth)
        assert gone.status_code == 410, gone.text
        assert f"{len(second):,} bytes" in gone.json()["errors"][0]["reason"]
        listed = {item["id"]: item for item in client.get("/remittances", headers=auth).json()["items"]}
        assert listed[kept_id]["kept"] is True and listed[over_id]["kept"] is False
        assert listed[over_id]["size"] == len(second)

        again = client.post("/remittances", content=second, headers=auth)  # the same bytes: the first receipt
        assert again.status_code == 422 and again.json()["kept"] is False

        other = client.post("/remittances", content=second, headers=token_for("globex"))
        assert other.status_code == 422 and "kept" not in other.json()  # another tenant has its own quota
