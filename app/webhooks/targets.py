"""Where a webhook may be sent: SSRF checks on the target's addresses, and pinning to them.

A target URL is resolved when it is registered and again at every delivery; every address it
resolves to must be public, and the delivery connects to one of the addresses that was checked
(not to the name, which could resolve somewhere else a moment later: DNS rebinding). Private,
loopback, link-local, CGNAT, multicast, reserved and unspecified addresses, cloud metadata
addresses, and IPv6 forms that embed an IPv4 address of those kinds are refused unless the
`webhook_allow_private` setting is on.
"""

from __future__ import annotations

import asyncio
import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
METADATA_ADDRESSES = frozenset(
    {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
)
# Not `is_private` in Python 3.11, yet no one's public address: carrier-grade NAT.
SHARED_ADDRESS_SPACE = ipaddress.ip_network("100.64.0.0/10")
# IPv6 prefixes whose addresses carry an IPv4 address a router may reach: NAT64.
NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UnsafeTarget(ValueError):
    """A URL that webhooks may not be sent to; the message says why, for the caller."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked URL: its parts, and the addresses it resolved to (all of them allowed)."""

    url: str
    scheme: str
    host: str
    # What the Host header says: the host (bracketed if IPv6) and the port if the URL gives one.
    netloc: str
    port: int
    addresses: tuple[IPAddress, ...]


def parse(url: str) -> SplitResult:
    """The URL's parts, if webhooks may be sent to its shape (http or https, a host, no
    credentials); UnsafeTarget otherwise."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as error:
        raise UnsafeTarget(f"Not a valid URL ({error}).") from None
    if parts.scheme not in SCHEMES:
        raise UnsafeTarget("Must be an http or https URL.")
    if not parts.hostname:
        raise UnsafeTarget("Must name a host.")
    if parts.username is not None or parts.password is not None:
        raise UnsafeTarget("Must not hold credentials (user:password@).")
    if port == 0:
        raise UnsafeTarget("Port 0 cannot be connected to.")
    if parts.fragment:
        raise UnsafeTarget("Must not have a #fragment.")
    return parts


def refusal(address: IPAddress) -> str | None:
    """Why webhooks may not go to `address`, or None when it is a public address."""
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address.teredo is not None:
            embedded = address.teredo[1]
        if embedded is None and (
            address in NAT64 or (int(address) >> 32 == 0 and int(address) > 1)
        ):
            # NAT64, or IPv4-compatible (::a.b.c.d, deprecated but still parsed by stacks);
            # `::` and `::1` are themselves, below.
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            reason = refusal(embedded)
            return None if reason is None else f"an IPv6 form of {embedded}, {reason}"
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        (address in SHARED_ADDRESS_SPACE, "a carrier-grade NAT address"),
        (not address.is_global, "not a public address"),
    )
    return next((reason for refused, reason in checks if refused), None)


def _is_address(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


async def resolve(host: str, port: int) -> tuple[IPAddress, ...]:
    """Every address `host` resolves to (itself, when it is an address)."""
    if _is_address(host):
        return (ipaddress.ip_address(host),)
    loop = asyncio.get_running_loop()
    try:
        answers = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as error:
        raise UnsafeTarget(f"The host {host} does not resolve ({error}).") from None
    # An IPv6 answer may carry a zone (`fe80::1%eth0`); the address is what is checked.
    found = {ipaddress.ip_address(str(answer[4][0]).split("%")[0]) for answer in answers}
    return tuple(sorted(found, key=lambda a: (a.version, int(a))))


async def check(url: str, *, allow_private: bool) -> Target:
    """Resolve `url`'s host and check each address; UnsafeTarget says what is wrong."""
    parts = parse(url)
    host = parts.hostname or ""
    port = parts.port or DEFAULT_PORTS[parts.scheme]
    addresses = await resolve(host, port)
    if not addresses:
        raise UnsafeTarget(f"The host {host} has no address.")
    if not allow_private:
        for address in addresses:
            reason = refusal(address)
            if reason is not None:
                subject = f"{host} is" if _is_address(host) else f"{host} resolves to {address},"
                raise UnsafeTarget(f"{subject} {reason}; webhooks go only to public addresses.")
    return Target(
        url=url,
        scheme=parts.scheme,
        host=host,
        netloc=parts.netloc,
        port=port,
        addresses=addresses,
    )
