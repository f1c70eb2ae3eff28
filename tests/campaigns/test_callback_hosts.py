"""Which hosts CRM callbacks may go to: public addresses only, in every spelling."""

from __future__ import annotations

from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

import pytest
from hypothesis import given
from hypothesis import strategies as st

from campaigns.callback_hosts import (
    addresses_refusal,
    host_refusal,
    is_public,
    literal_address,
)

NOT_PUBLIC = [
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.0.2.0/24",
    "192.168.0.0/16",
    "198.18.0.0/15",
    "224.0.0.0/4",
    "240.0.0.0/4",
    "::/128",
    "::1/128",
    "::ffff:127.0.0.0/104",
    "::ffff:10.0.0.0/104",
    "::ffff:169.254.0.0/112",
    "2002:7f00::/24",
    "2002:a00::/24",
    "64:ff9b::/96",
    "fc00::/7",
    "fe80::/10",
    "fec0::/10",
    "ff00::/8",
    "2001:db8::/32",
]
NETWORKS = [ip_network(network) for network in NOT_PUBLIC]


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("8.8.8.8", True),
        ("93.184.215.14", True),
        ("2a00:1450:4010:c05::8a", True),
        ("::ffff:8.8.8.8", True),
        ("2002:808:808::1", True),
        ("169.254.169.254", False),
        ("127.0.0.1", False),
        ("10.1.2.3", False),
        ("172.31.255.255", False),
        ("192.168.0.1", False),
        ("100.64.0.1", False),
        ("0.0.0.0", False),  # noqa: S104 - an address judged, nothing bound
        ("255.255.255.255", False),
        ("224.0.0.1", False),
        ("::1", False),
        ("::", False),
        ("::ffff:127.0.0.1", False),
        ("::ffff:169.254.169.254", False),
        ("2002:a9fe:a9fe::1", False),
        ("fd00:ec2::254", False),
        ("fe80::1", False),
        ("ff02::1", False),
    ],
)
def test_is_public(address: str, public: bool) -> None:
    assert is_public(ip_address(address)) is public


@given(st.sampled_from(NOT_PUBLIC).flatmap(lambda net: st.ip_addresses(network=net)))
def test_no_address_of_a_non_public_network_is_public(
    address: IPv4Address | IPv6Address,
) -> None:
    assert not is_public(address)


@given(st.ip_addresses(v=4))
def test_an_ipv4_address_and_its_ipv6_forms_are_judged_alike(address: IPv4Address) -> None:
    mapped = IPv6Address(f"::ffff:{address}")
    assert is_public(mapped) is is_public(address)
    if not is_public(address):
        assert not is_public(IPv6Address((0x2002 << 112) | (int(address) << 80) | 1))


@given(st.ip_addresses())
def test_a_public_address_is_in_no_non_public_network(address: IPv4Address | IPv6Address) -> None:
    if is_public(address):
        assert address.is_global
        assert not any(address in net for net in NETWORKS if net.version == address.version)


@pytest.mark.parametrize(
    ("host", "address"),
    [
        ("crm.example", None),
        ("127.0.0.1", "127.0.0.1"),
        ("2130706433", "127.0.0.1"),
        ("0x7f000001", "127.0.0.1"),
        ("0x7f.1", "127.0.0.1"),
        ("127.1", "127.0.0.1"),
        ("0177.0.0.1", "127.0.0.1"),
        ("0251.0376.0251.0376", "169.254.169.254"),
        ("169.254.43518", "169.254.169.254"),
        ("8.8.8.8.", "8.8.8.8"),
        ("::1", "::1"),
        ("::ffff:7f00:1", "::ffff:7f00:1"),
    ],
)
def test_literal_addresses_in_every_numeric_form(host: str, address: str | None) -> None:
    assert literal_address(host) == (None if address is None else ip_address(address))


@pytest.mark.parametrize(
    "host", ["1.2.3.256", "256.1", "4294967296", "1.2.3.4.5", "08.1.1.1", "crm.123", "1..2"]
)
def test_numeric_hosts_that_are_no_address_are_invalid(host: str) -> None:
    with pytest.raises(ValueError, match="not a valid IPv4 address"):
        literal_address(host)


@given(st.integers(0, 2**32 - 1))
def test_a_decimal_host_is_the_address_of_that_number(number: int) -> None:
    assert literal_address(str(number)) == IPv4Address(number)


@pytest.mark.parametrize(
    ("host", "reason"),
    [
        ("crm.example", None),
        ("8.8.8.8", None),
        ("2a00:1450:4010:c05::8a", None),
        ("localhost", "localhost is a local host name"),
        ("LOCALHOST.", "LOCALHOST. is a local host name"),
        ("api.localhost", "api.localhost is a local host name"),
        ("169.254.169.254", "169.254.169.254 is not a public address"),
        ("2130706433", "2130706433 (127.0.0.1) is not a public address"),
        ("0x7f.1", "0x7f.1 (127.0.0.1) is not a public address"),
        ("10.0.0.1", "10.0.0.1 is not a public address"),
        (
            "::ffff:169.254.169.254",
            "::ffff:169.254.169.254 (::ffff:a9fe:a9fe) is not a public address",
        ),
        ("fe80::1", "fe80::1 is not a public address"),
        ("1.2.3.256", "'1.2.3.256' is not a valid IPv4 address"),
    ],
)
def test_host_refusal(host: str, reason: str | None) -> None:
    assert host_refusal(host) == reason


@pytest.mark.parametrize(
    ("addresses", "reason"),
    [
        (["93.184.215.14"], None),
        (["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"], None),
        (["127.0.0.1"], "crm.example resolves to 127.0.0.1: not a public address"),
        (
            ["93.184.215.14", "10.0.0.7", "::1"],
            "crm.example resolves to 10.0.0.7, ::1: not a public address",
        ),
        ([], "crm.example resolved to no address"),
    ],
)
def test_any_resolved_address_that_is_not_public_refuses_the_host(
    addresses: list[str], reason: str | None
) -> None:
    assert addresses_refusal("crm.example", [ip_address(a) for a in addresses]) == reason
