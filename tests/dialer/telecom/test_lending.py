from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest

from dialer.telecom.lending import ConnectionLender, lender_unless_proxied
from tests.loopback_http import serving


@asynccontextmanager
async def client(keepalive: int = 10) -> AsyncIterator[tuple[httpx.AsyncClient, ConnectionLender]]:
    lender = ConnectionLender(keepalive=keepalive)
    async with httpx.AsyncClient(transport=lender, timeout=5) as http:
        yield http, lender


async def test_requests_one_after_another_share_one_connection() -> None:
    async with serving() as server, client() as (http, lender):
        for _ in range(5):
            assert (await http.post(server.url, content=b"x")).text == "ok"
        assert server.accepted == 1
        assert lender.idle == 1


async def test_concurrent_requests_each_get_a_connection_and_keepalive_of_them_stay() -> None:
    async with serving() as server, client(keepalive=3) as (http, lender):
        server.hold = 8
        answers = await asyncio.gather(*(http.get(server.url) for _ in range(8)))
        assert [answer.text for answer in answers] == ["ok"] * 8
        assert server.accepted == 8
        assert lender.idle == 3
        await server.closed_down_to(3)
        await asyncio.gather(*(http.get(server.url) for _ in range(3)))
        assert server.accepted == 8  # the three kept were used again


async def test_each_origin_keeps_its_own_connection() -> None:
    async with serving() as one, serving() as other, client() as (http, lender):
        for _ in range(3):
            await http.get(one.url)
            await http.get(other.url)
        assert (one.accepted, other.accepted) == (1, 1)
        assert lender.idle == 2


async def test_a_refused_connection_raises_and_the_lender_goes_on() -> None:
    async with serving() as server, client() as (http, _):
        async with serving() as gone:
            unused = gone.url
        with pytest.raises(httpx.ConnectError):
            await http.get(unused)
        assert (await http.get(server.url)).text == "ok"


async def test_closing_closes_the_idle_connections_and_refuses_requests() -> None:
    async with serving() as server, client() as (http, lender):
        await http.get(server.url)
        await lender.aclose()
        await server.closed_down_to(0)
        with pytest.raises(RuntimeError, match="closed"):
            await http.get(server.url)


PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


@pytest.mark.parametrize("variable", PROXY_VARIABLES)
def test_a_proxy_in_the_environment_keeps_httpx_pool(
    monkeypatch: pytest.MonkeyPatch, variable: str
) -> None:
    for name in PROXY_VARIABLES:
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    assert isinstance(lender_unless_proxied(5), ConnectionLender)
    monkeypatch.setenv(variable.upper(), "http://127.0.0.1:3128")
    assert lender_unless_proxied(5) is None
