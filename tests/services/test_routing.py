"""Routing: which chain an invoice takes — explicit channel, receiver profile, the tenant's consumer
waterfall, the default channel — and which route each step of it is."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from gateway.samples import sample_invoice
from gateway.services.outbound.routing import (
    CONSUMER_DEFAULT,
    DEFAULT,
    EXPLICIT,
    PROFILE,
    WATERFALL,
    RoutingError,
    chain_for,
    chain_of,
    route_for,
    waterfall_problems,
)
from mappings.registry import render
from schemas.canonical import DeliveryPreference, Invoice, ReceiverProfile
from schemas.tenant import TenantSettings

#: Valid numbers (check digits and date) made for these tests: a fødselsnummer and a D-number.
FNR = "15038541800"
D_NUMBER = "55038526099"
WATERFALL_CHANNELS = ["email", "folder", "print"]


def _invoice(**routing: Any) -> Invoice:
    return sample_invoice(1).model_copy(
        update={"routing": DeliveryPreference(**routing) if routing else None}
    )


def _consumer(**fields: Any) -> ReceiverProfile:
    return ReceiverProfile.model_validate({"receiver_id": "K-1", "national_id": FNR, **fields})


def _channels(invoice: Invoice, profile: ReceiverProfile | None, waterfall: list[str]) -> list[str]:
    routes = []
    for position in range(10):
        route = route_for(invoice, profile, "folder", position, waterfall)
        if route is None:
            break
        routes.append(route.channel)
    return routes


def test_a_consumer_profile_without_a_channel_takes_the_tenant_waterfall() -> None:
    invoice = _invoice(receiver_id="K-1")
    profile = _consumer(addresses={"email": "kari@example.com"})
    assert _channels(invoice, profile, WATERFALL_CHANNELS) == WATERFALL_CHANNELS
    second = route_for(invoice, profile, "folder", 1, WATERFALL_CHANNELS)
    assert second is not None
    assert (second.channel, second.chain_position, second.chain_length, second.source) == (
        "folder", 1, 3, WATERFALL
    )  # fmt: skip
    assert second.describe() == "step 2 of 3 of the tenant's consumer waterfall"
    first = route_for(invoice, profile, "folder", 0, WATERFALL_CHANNELS)
    assert first is not None and first.address == "kari@example.com"  # the profile's address per channel


def test_segment_private_makes_a_consumer_without_a_national_id() -> None:
    profile = ReceiverProfile(receiver_id="K-2", segment="private")
    assert profile.is_consumer
    assert _channels(_invoice(receiver_id="K-2"), profile, ["print"]) == ["print"]


def test_a_consumer_profile_that_names_its_chain_keeps_it() -> None:
    profile = _consumer(preferred_channel="print", fallback_channels=["email"])
    invoice = _invoice(receiver_id="K-1")
    assert _channels(invoice, profile, WATERFALL_CHANNELS) == ["print", "email"]
    assert chain_for(invoice, profile, "folder", WATERFALL_CHANNELS).source == PROFILE


def test_an_explicit_channel_wins_over_the_waterfall() -> None:
    invoice = _invoice(receiver_id="K-1", channel="print", address="box-7")
    assert _channels(invoice, _consumer(), WATERFALL_CHANNELS) == ["print"]
    route = route_for(invoice, _consumer(), "folder", 0, WATERFALL_CHANNELS)
    assert route is not None and route.source == EXPLICIT and route.address == "box-7"


def test_without_a_waterfall_a_consumer_takes_the_default_channel() -> None:
    invoice = _invoice(receiver_id="K-1")
    assert _channels(invoice, _consumer(), []) == ["folder"]
    assert chain_for(invoice, _consumer(), "folder", []).source == CONSUMER_DEFAULT


def test_an_invoice_naming_the_buyers_national_id_takes_the_waterfall_without_a_profile() -> None:
    invoice = _invoice(national_id=D_NUMBER, address="first-step-only")
    assert _channels(invoice, None, WATERFALL_CHANNELS) == WATERFALL_CHANNELS
    first, second = (route_for(invoice, None, "folder", n, WATERFALL_CHANNELS) for n in (0, 1))
    assert first is not None and first.address == "first-step-only"
    assert second is not None and second.address is None


def test_a_business_invoice_ignores_the_consumer_waterfall() -> None:
    assert _channels(_invoice(), None, WATERFALL_CHANNELS) == ["folder"]
    assert chain_for(_invoice(), None, "folder", WATERFALL_CHANNELS).source == DEFAULT
    business = ReceiverProfile(receiver_id="B-1", preferred_channel="email", segment="business")
    assert _channels(_invoice(receiver_id="B-1"), business, WATERFALL_CHANNELS) == ["email"]


def test_a_segment_other_than_private_is_no_consumer_even_with_a_national_id() -> None:
    """A sole proprietor filed as `business` (with a national id for Digipost) is routed as a business."""
    with pytest.raises(
        ValidationError, match="preferred_channel: required unless the receiver is a consumer"
    ):
        _consumer(segment="business")
    assert not _consumer(segment="business", preferred_channel="email").is_consumer


def test_a_receiver_id_without_its_profile_is_refused() -> None:
    with pytest.raises(RoutingError) as raised:
        route_for(_invoice(receiver_id="nobody"), None, "folder", 0, WATERFALL_CHANNELS)
    assert raised.value.field == "routing.receiver_id"


def test_an_unknown_channel_in_the_waterfall_names_the_setting() -> None:
    with pytest.raises(RoutingError) as raised:
        route_for(_invoice(receiver_id="K-1"), _consumer(), "folder", 0, ["efaktur"])
    assert raised.value.field == "consumer_waterfall"
    assert waterfall_problems(["email", "efaktur"]) == [
        {"field": "consumer_waterfall.1", "reason": raised.value.reason}
    ]
    assert "unknown channel 'efaktur'" in raised.value.reason


def test_a_profile_without_a_channel_must_be_a_consumer_and_name_no_fallbacks() -> None:
    with pytest.raises(ValidationError, match="preferred_channel: required"):
        ReceiverProfile(receiver_id="B-2")
    with pytest.raises(ValidationError, match="fallback_channels: a chain needs its preferred_channel"):
        _consumer(fallback_channels=["print"])
    assert chain_of(_consumer(), ["email"]) == ["email"]
    assert chain_of(ReceiverProfile(receiver_id="B-3", preferred_channel="peppol")) == ["peppol"]


def test_a_national_id_is_never_an_address() -> None:
    with pytest.raises(
        ValidationError, match=r"addresses\.print: a national identity number is not an address"
    ):
        _consumer(addresses={"print": FNR})
    invoice = sample_invoice(1).model_dump(mode="json", exclude_none=True)
    with pytest.raises(ValidationError, match=r"not an address; give it as routing\.national_id") as raised:
        Invoice.model_validate({**invoice, "routing": {"address": FNR}})
    assert FNR not in str(raised.value.errors(include_input=False))


def test_the_tenant_waterfall_refuses_repeats() -> None:
    with pytest.raises(ValidationError, match="a channel appears more than once: email"):
        TenantSettings(consumer_waterfall=["email", "print", "email"])
    assert TenantSettings().consumer_waterfall == []


@pytest.mark.parametrize("format_name", ["canonical-json", "ehf"])
def test_no_rendered_document_carries_the_buyers_national_id(format_name: str) -> None:
    """The number rides in `routing`, which no wire format renders (BR-CL-10 leaves BT-46 no scheme for a
    person, and an EHF travels the PEPPOL network)."""
    invoice = _invoice(national_id=FNR)
    content = render(format_name, invoice).content.decode()
    assert FNR not in content
    assert invoice.number in content and invoice.buyer.name in content  # the document was rendered
