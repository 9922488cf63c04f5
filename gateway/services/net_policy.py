"""Which addresses the gateway may open an HTTP connection to when a tenant chose the URL (SSRF policy).

A tenant's user decides a webhook URL. Left alone, a URL such as `http://127.0.0.1:5432/`,
`http://169.254.169.254/…` (a cloud's metadata service), `http://[::1]/`, `http://0x7f000001/` or a name
that resolves to a private address would make the gateway send requests into its own network on that
user's behalf. So every such URL is resolved and each address it resolves to is judged here:

* loopback, link-local, private, shared (carrier NAT), multicast, unspecified and reserved addresses are
  refused, as is anything Python's `ipaddress` does not call global; IPv6 forms that carry an IPv4
  address (`::ffff:127.0.0.1`, 6to4, NAT64) are judged by that IPv4 address;
* unless the operator allows them: `GATEWAY_WEBHOOK_ALLOW_PRIVATE=true` (everything; a closed network
  where the ERP sits next to the gateway) or `GATEWAY_WEBHOOK_ALLOWED_NETWORKS` (those CIDRs only).

The check runs when the URL is saved (a clear 422 at once) and again at every send, because a name can
resolve elsewhere by then. At send time `PinnedTransport` connects to the very address it checked (with
the name in the `Host` header and as the TLS server name, so certificates are still checked against the
name): a DNS answer that changes between the check and the connect (DNS rebinding) cannot slip through.
Redirects are never followed by the callers: a `Location` could point anywhere.

TLS: the certificate is verified against the name, not the address connected to; the trust store is the
default one (certifi's, or `SSL_CERT_FILE` / `SSL_CERT_DIR` as httpx reads them) plus the operator's
`GATEWAY_WEBHOOK_CA_BUNDLE` (an ERP behind a private CA), never less.

Numeric host forms (`0x7f000001`, `2130706433`, `0177.0.0.1`) need no special parsing: the system
resolver reads them exactly as the connection would, and its answer is what is judged.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import httpx

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class AddressRefused(ValueError):
    """A URL whose host is, or resolves to, an address the policy refuses; `reason` says which and why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class RefusedConnection(httpx.ConnectError):
    """Raised by `PinnedTransport` instead of connecting: the host resolved to a refused address."""


@dataclass(frozen=True)
class AddressPolicy:
    """What may be connected to: public addresses always; others only as the operator allows."""

    allow_private: bool = False
    allowed_networks: tuple[IPNetwork, ...] = ()

    @classmethod
    def of(cls, allow_private: bool, allowed_networks: Iterable[str]) -> AddressPolicy:
        """From the settings' values (`webhook_allow_private`, `webhook_allowed_networks`)."""
        networks = tuple(ipaddress.ip_network(n.strip(), strict=False) for n in allowed_networks if n.strip())
        return cls(allow_private=allow_private, allowed_networks=networks)

    def refusal(self, address: IPAddress) -> str | None:
        """Why `address` may not be connected to ("a loopback address"), or None when it may."""
        if self.allow_private or any(address in network for network in self.allowed_networks):
            return None
        kind = address_kind(address)
        return None if kind is None else f"{'an' if kind[0] in 'aeiou' else 'a'} {kind} address"

    def check(self, host: str, addresses: Sequence[IPAddress]) -> IPAddress:
        """The first of `addresses` (what `host` resolved to), when every one of them is allowed: a name
        with one public and one private address is refused (the client could be made to pick either)."""
        for address in addresses:
            reason = self.refusal(address)
            if reason is not None:
                if _is_literal(host):
                    raise AddressRefused(f"{host} is {reason}")
                raise AddressRefused(f"{host} resolves to {address}, {reason}")
        if not addresses:
            raise AddressRefused(f"{host} does not resolve to any address")
        return addresses[0]


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_kind(address: IPAddress) -> str | None:
    """The kind of a non-public address ("loopback", "link-local", "private", …); None for a public one."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_kind(embedded)
        if address.teredo is not None:
            return "Teredo tunnel"
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("non-public", not address.is_global),
    )
    return next((name for name, applies in checks if applies), None)


def _is_literal(host: str) -> bool:
    try:
        ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        return False
    return True


def resolve(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to (the system resolver, as a connection would use it), in its
    order; `AddressRefused` when it does not resolve. Tests may replace this function."""
    try:
        found = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise AddressRefused(
            f"{host} does not resolve ({getattr(error, 'strerror', None) or error})"
        ) from None
    addresses: list[IPAddress] = []
    for _family, _type, _proto, _name, sockaddr in found:
        address = ipaddress.ip_address(str(sockaddr[0]).split("%", 1)[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


def _port(url: httpx.URL) -> int:
    return url.port or (443 if url.scheme == "https" else 80)


def check_url(url: str, policy: AddressPolicy) -> IPAddress | None:
    """Resolve `url`'s host and judge every address; the one to connect to, or None when the policy
    allows everything (then nothing is resolved: a closed network's names may not resolve from here).
    `AddressRefused` says why not."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as error:
        # httpx refuses some numeric forms (`0177.0.0.1`) other clients read as an address: say what
        # the address would have been when that is the better reason
        host = urlsplit(url).hostname
        if host and not policy.allow_private:
            policy.check(host, resolve(host, 80))
        raise AddressRefused(f"not a valid URL: {error}") from None
    if parsed.scheme not in {"http", "https"} or not parsed.host:
        raise AddressRefused("an absolute http(s) URL is needed")
    if policy.allow_private:
        return None
    return policy.check(parsed.host, resolve(parsed.host, _port(parsed)))


def tls_context(ca_bundle: Path | None = None) -> ssl.SSLContext:
    """The client TLS context for URLs a tenant chose: hostname and chain verified, against the default
    trust store plus `ca_bundle`'s certificates. Added, not instead: one tenant's ERP behind a private CA
    must not cut every other tenant's publicly certified ERP off. `OSError` / `ssl.SSLError` for a bundle
    that cannot be read (the settings check it at start)."""
    context = httpx.create_ssl_context()
    if ca_bundle is not None:
        context.load_verify_locations(cafile=ca_bundle)
    return context


class PinnedTransport(httpx.BaseTransport):
    """An HTTP transport that checks each request's host under `policy` and connects to the checked
    address itself: the URL's host is replaced by that address, the name stays in `Host` and is the TLS
    server name (SNI, certificate check). A refused host raises `RefusedConnection` before any socket to
    it is opened. `tls` is the TLS context of every connection (`tls_context()` when not given)."""

    def __init__(self, policy: AddressPolicy, tls: ssl.SSLContext | None = None) -> None:
        self.policy = policy
        # one context for every pool: loading the trust store costs milliseconds, a send round has many
        self.tls = tls or tls_context()
        # one connection pool per name: a connection whose TLS was checked for one name is never reused
        # for another name that happens to resolve to the same address
        self._pools: dict[str, httpx.HTTPTransport] = {}

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        host = request.url.host
        try:
            address = check_url(str(request.url), self.policy)
        except AddressRefused as error:
            raise RefusedConnection(f"refused: {error.reason}", request=request) from None
        if address is not None and not _is_literal(host):
            request.url = request.url.copy_with(host=str(address))
            request.headers.setdefault("Host", _host_header(host, request.url))
            if request.url.scheme == "https":
                request.extensions = {**request.extensions, "sni_hostname": host}
        pool = self._pools.get(host)
        if pool is None:
            pool = self._pools[host] = httpx.HTTPTransport(verify=self.tls)
        return pool.handle_request(request)

    def close(self) -> None:
        for pool in self._pools.values():
            pool.close()
        self._pools.clear()


def _host_header(host: str, url: httpx.URL) -> str:
    return host if url.port is None else f"{host}:{url.port}"


def pinned_client(policy: AddressPolicy, *, timeout: float, ca_bundle: Path | None = None) -> httpx.Client:
    """An `httpx.Client` for URLs a tenant chose: pinned to checked addresses, redirects not followed,
    certificates checked against the default trust store plus `ca_bundle`."""
    transport = PinnedTransport(policy, tls_context(ca_bundle))
    return httpx.Client(transport=transport, timeout=timeout, follow_redirects=False)
