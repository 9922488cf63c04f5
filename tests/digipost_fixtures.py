"""The stand-in Digipost as fixtures, for every test that talks to it (the HTTP client, the channel, the
consumer waterfall): the broker's keys and one stand-in per test module, reset around each test.

A pytest plugin (`pytest_plugins` in tests/conftest.py), so the fixtures are found by name. The stand-in
(tests/digipost_server.py) is imported only when a test asks for it: it loads the v8 schemas and starts a
server, which the rest of the suite does not need.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from tests.digipost_server import BrokerKeys, DigipostStandIn

#: The broker (sender) id the stand-in expects in every request.
BROKER_ID = "998877"
#: A valid, synthetic fødselsnummer.
NATIONAL_ID = "01019000083"


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> BrokerKeys:
    """The broker's enterprise certificate (PKCS#12 with its password), made for the test module."""
    from tests.digipost_server import broker_keys

    return broker_keys(tmp_path_factory.mktemp("digipost-keys"))


@pytest.fixture(scope="module")
def stand_in_server(keys: BrokerKeys) -> Iterator[DigipostStandIn]:
    """The stand-in, serving on a loopback port for the whole test module."""
    from tests.digipost_server import DigipostStandIn, run_stand_in

    yield from run_stand_in(DigipostStandIn(keys.certificate, BROKER_ID))


@pytest.fixture
def stand_in(stand_in_server: DigipostStandIn) -> Iterator[DigipostStandIn]:
    """The module's stand-in, emptied before the test; after it, every XML it was sent must have been valid
    against the v8 schemas."""
    stand_in_server.reset()
    yield stand_in_server
    assert not stand_in_server.invalid_requests(), stand_in_server.invalid_requests()
    stand_in_server.reset()


def digipost_settings(stand_in: DigipostStandIn, keys: BrokerKeys, **overrides: Any) -> dict[str, Any]:
    """The digipost channel's settings for the stand-in and the broker's keys, with `overrides`."""
    settings: dict[str, Any] = {
        "base_url": stand_in.url,
        "broker_id": BROKER_ID,
        "pkcs12": str(keys.pkcs12),
        "pkcs12_password": keys.password,
        "timeout_seconds": 30,  # a busy CI machine must not turn a slow answer into a deviation
    }
    settings.update(overrides)
    return settings
