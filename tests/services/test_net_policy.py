"""The address policy for URLs a tenant chose (`gateway.services.net_policy`): which addresses are refused
and why, the operator's allowances, and the settings that carry them."""

from __future__ import annotations

import ipaddress

import pytest
from pydantic import ValidationError

from gateway.services import net_policy
from gateway.services.net_policy import AddressPolicy, AddressRefused, address_kind, check_url
from gateway.settings import Settings


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("93.184.216.34", None),
        ("2606:2800:220:1:248:1893:25c8:1946", None),
        ("127.0.0.1", "loopback"),
        ("::1", "loopback"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped: judged as the IPv4 address
        ("::ffff:93.184.216.34", None),
        ("2002:7f00:1::1", "loopback"),  # 6to4 of 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("169.254.169.254", "link-local"),
        ("fe80::1", "link-local"),
        ("10.0.0.1", "private"),
        ("172.16.5.4", "private"),
        ("192.168.1.1", "private"),
        ("fd12:3456::1", "private"),
        ("100.64.0.1", "non-public"),  # carrier-grade NAT
        ("224.0.0.251", "multicast"),
        ("ff02::1", "multicast"),
        ("0.0.0.0", "unspecified"),
        ("::", "unspecified"),
        ("240.0.0.1", "reserved"),
        ("255.255.255.255", "reserved"),
    ],
)
def test_address_kinds(address: str, kind: str | None) -> None:
    assert address_kind(ipaddress.ip_address(address)) == kind


def test_a_name_with_one_public_and_one_private_address_is_refused() -> None:
    both = [ipaddress.ip_address("93.184.216.34"), ipaddress.ip_address("10.0.0.7")]
    with pytest.raises(AddressRefused, match=r"erp\.test resolves to 10\.0\.0\.7, a private address"):
        AddressPolicy().check("erp.test", both)
    assert AddressPolicy().check("erp.test", both[:1]) == both[0]


def test_allowed_networks_open_only_themselves() -> None:
    policy = AddressPolicy.of(False, ["10.20.0.0/16", " fd00:1::/64 "])
    assert policy.refusal(ipaddress.ip_address("10.20.3.4")) is None
    assert policy.refusal(ipaddress.ip_address("fd00:1::5")) is None
    assert policy.refusal(ipaddress.ip_address("10.21.0.1")) == "a private address"
    assert policy.refusal(ipaddress.ip_address("127.0.0.1")) == "a loopback address"
    assert AddressPolicy(allow_private=True).refusal(ipaddress.ip_address("127.0.0.1")) is None


def test_check_url_refuses_what_is_not_an_http_url_and_resolves_names(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for url in ("ftp://x/y", "/relative", "http://"):
        with pytest.raises(AddressRefused):
            check_url(url, AddressPolicy())
    monkeypatch.setattr(net_policy, "resolve", lambda host, port: [ipaddress.ip_address("93.184.216.34")])
    assert check_url("https://erp.test/hooks", AddressPolicy()) == ipaddress.ip_address("93.184.216.34")
    # allowing everything resolves nothing (a closed network's names may not resolve from here)
    assert check_url("https://erp.invalid/hooks", AddressPolicy(allow_private=True)) is None


def test_the_settings_take_a_list_of_networks_and_refuse_a_bad_one(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("GATEWAY_WEBHOOK_ALLOWED_NETWORKS", "10.0.0.0/8, fd00::/8")
    monkeypatch.setenv("GATEWAY_WEBHOOK_ALLOW_PRIVATE", "false")
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    assert settings.webhook_allowed_networks == ["10.0.0.0/8", "fd00::/8"]
    monkeypatch.setenv("GATEWAY_WEBHOOK_ALLOWED_NETWORKS", '["192.168.0.0/16"]')
    assert Settings(_env_file=None).webhook_allowed_networks == ["192.168.0.0/16"]  # type: ignore[call-arg]
    monkeypatch.setenv("GATEWAY_WEBHOOK_ALLOWED_NETWORKS", "10.0.0.0/8,not-a-network")
    with pytest.raises(ValidationError, match="webhook_allowed_networks"):
        Settings(_env_file=None)  # type: ignore[call-arg]
