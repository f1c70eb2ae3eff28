from __future__ import annotations

import asyncio
import ssl

import pytest

from dialer.simulator.webhooks import Senders, SendFailed
from tests.loopback_http import serving

JSON = {"content-type": "application/json"}


def senders(timeout: float = 5.0) -> Senders:
    return Senders(timeout, ssl.create_default_context())


async def test_posts_one_after_another_share_one_connection() -> None:
    async with serving() as server:
        sending = senders()
        statuses = [await sending.post(server.url, f"{i}".encode(), JSON) for i in range(4)]
        await sending.aclose()
    assert statuses == [200] * 4
    assert server.bodies == [b"0", b"1", b"2", b"3"]
    assert server.accepted == 1


async def test_a_connection_the_receiver_closed_is_replaced() -> None:
    async with serving() as server:
        server.hang_up = True
        sending = senders()
        assert await sending.post(server.url, b"a", JSON) == 200
        await server.closed_down_to(0)
        assert await sending.post(server.url, b"b", JSON) == 200
        await sending.aclose()
    assert server.accepted == 2


async def test_a_chunked_answer_is_read_whole_and_the_connection_kept() -> None:
    async with serving() as server:
        server.answer = (
            b"HTTP/1.1 503 Service Unavailable\r\nTransfer-Encoding: chunked\r\n\r\n"
            b"4\r\nbusy\r\n0\r\n\r\n"
        )
        sending = senders()
        assert [await sending.post(server.url, b"x", JSON) for _ in range(2)] == [503, 503]
        await sending.aclose()
    assert server.accepted == 1


async def test_concurrent_posts_use_connections_of_their_own() -> None:
    async with serving() as server:
        server.hold = 5
        sending = senders()
        posts = (sending.post(server.url, b"x", JSON) for _ in range(5))
        assert await asyncio.gather(*posts) == [200] * 5
        await sending.aclose()
    assert server.accepted == 5


@pytest.mark.parametrize(
    ("answer", "failure"),
    [
        (b"", "ReadTimeout"),
        (b"garbage\r\n\r\n", "RemoteProtocolError"),
    ],
)
async def test_no_http_answer_is_a_named_failure(answer: bytes, failure: str) -> None:
    async with serving() as server:
        server.answer = answer
        sending = senders(timeout=0.2)
        with pytest.raises(SendFailed, match=f"^{failure}:"):
            await sending.post(server.url, b"x", JSON)
        await sending.aclose()


async def test_an_unreachable_receiver_is_a_connect_error() -> None:
    async with serving() as gone:
        url = gone.url
    with pytest.raises(SendFailed, match=r"^ConnectError:"):
        await senders().post(url, b"x", JSON)
