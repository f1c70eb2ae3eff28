"""Which hosts a CRM callback may go to: public ones only, so that a campaign's
`crm_callback_url` cannot make the worker POST into our own network (cloud metadata at
169.254.169.254, Redis on loopback, the office LAN).

The URL's host is judged twice: when the campaign is written (`host_refusal`: names like
`localhost` and literal addresses, in every numeric form a resolver accepts) and at delivery,
after DNS resolution (`addresses_refusal`), where the worker then connects to the address it
judged. DIALER_CALLBACK_ALLOW_PRIVATE turns both checks off (local demos, tests).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from ipaddress import IPv4Address, IPv6Address, ip_address
from typing import Final

__all__ = ["Address", "addresses_refusal", "host_refusal", "is_public", "literal_address"]

Address = IPv4Address | IPv6Address
_NUMERIC_PART: Final = re.compile(r"(0x[0-9a-f]*|[0-9]+)", re.IGNORECASE)
_LOCAL_NAMES: Final = ("localhost", "localhost.localdomain")


def is_public(address: Address) -> bool:
    """Whether `address` is a host on the public internet: not loopback, private, shared
    (100.64/10), link-local, site-local, multicast, reserved, documentation or unspecified.
    An IPv4-mapped IPv6 address is judged by its IPv4 address, a 6to4 one by both."""
    if isinstance(address, IPv6Address):
        if address.ipv4_mapped is not None:
            return is_public(address.ipv4_mapped)
        if address.is_site_local:
            return False
        if address.sixtofour is not None and not is_public(address.sixtofour):
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_reserved
        or address.is_unspecified
    )


def _number(part: str) -> int:
    """One part of a numeric IPv4 host: decimal, 0x-hexadecimal or 0-octal."""
    if part[:2].lower() == "0x":
        return int(part[2:] or "0", 16)
    if len(part) > 1 and part.startswith("0"):
        return int(part, 8)
    return int(part)


def _numeric_ipv4(host: str) -> IPv4Address:
    """`127.0.0.1`, `2130706433`, `0x7f.1`, `0177.0.0.1`: the forms inet_aton (and so
    getaddrinfo) accepts; the last part fills the bytes the others leave."""
    parts = host.split(".")
    if len(parts) > 4 or not all(_NUMERIC_PART.fullmatch(part) for part in parts):
        raise ValueError(f"{host!r} is not a valid IPv4 address")
    try:
        numbers = [_number(part) for part in parts]
    except ValueError:
        raise ValueError(f"{host!r} is not a valid IPv4 address") from None
    *leading, last = numbers
    if any(n > 255 for n in leading) or last >= 256 ** (5 - len(parts)):
        raise ValueError(f"{host!r} is not a valid IPv4 address")
    value = last
    for index, number in enumerate(leading):
        value += number << (8 * (3 - index))
    return IPv4Address(value)


def literal_address(host: str) -> Address | None:
    """The address a URL's host (as `urlsplit().hostname` gives it) names by itself, None for a
    domain name. A host whose last label is numeric is an IPv4 address or invalid (ValueError),
    as URL parsers and resolvers take it."""
    host = host.removesuffix(".")
    if ":" in host:
        return ip_address(host)
    if _NUMERIC_PART.fullmatch(host.rsplit(".", 1)[-1]):
        return _numeric_ipv4(host)
    return None


def host_refusal(host: str) -> str | None:
    """Why a callback may not go to `host` before any DNS lookup, or None: a local name, an
    address that is not public, or a numeric host that is no address."""
    name = host.lower().removesuffix(".")
    if name in _LOCAL_NAMES or name.endswith(".localhost"):
        return f"{host} is a local host name"
    try:
        address = literal_address(name)
    except ValueError as error:
        return str(error)
    if address is None or is_public(address):
        return None
    named = host if str(address) == name else f"{host} ({address})"
    return f"{named} is not a public address"


def addresses_refusal(host: str, addresses: Iterable[Address]) -> str | None:
    """Why a callback may not go to `host` resolved to `addresses`, or None: any address that
    is not public refuses the host (a name may resolve differently next time)."""
    found = list(addresses)
    if not found:
        return f"{host} resolved to no address"
    private = [str(address) for address in found if not is_public(address)]
    if private:
        return f"{host} resolves to {', '.join(private)}: not a public address"
    return None
