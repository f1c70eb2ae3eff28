"""An httpx transport that lends each request a kept-alive connection of its own.

httpcore's pool looks at every one of its connections for every request it places (is it idle,
has it expired, which asks the socket). A worker sending hundreds of calls a second keeps
hundreds open, and that search was 79 % of the CPU of its sb-api requests with no CPS limit
(py-spy, `bench.pacing`'s no-limit run). Here each connection sits in a pool of one; a request
borrows an idle one for its origin, or opens a new one, and gives it back when its response is
closed. No request ever waits for a connection:
a call the CPS limiter admitted leaves at once.
"""

from __future__ import annotations

import ssl
import urllib.request
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import cast

import httpx

__all__ = ["ConnectionLender", "lender_unless_proxied"]

_Origin = tuple[str, str, int | None]


def lender_unless_proxied(keepalive: int) -> ConnectionLender | None:
    """The lender, unless the environment names a proxy (HTTP(S)_PROXY, ALL_PROXY): httpx
    honours those only when it is given no transport, so then its own pool stays."""
    return None if urllib.request.getproxies() else ConnectionLender(keepalive=keepalive)


class ConnectionLender(httpx.AsyncBaseTransport):
    """At most `keepalive` idle connections are kept, across origins; the rest are closed."""

    def __init__(self, *, keepalive: int, verify: ssl.SSLContext | None = None) -> None:
        self._keepalive = keepalive
        # one context for every connection, httpx's own (certifi, SSL_CERT_FILE): building one
        # loads the CA bundle, tens of ms
        self._verify = verify or httpx.create_ssl_context()
        self._idle: dict[_Origin, list[httpx.AsyncHTTPTransport]] = {}
        self._closed = False

    @property
    def idle(self) -> int:
        """Connections kept open for the next requests."""
        return sum(len(transports) for transports in self._idle.values())

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if self._closed:
            raise RuntimeError("the connection lender is closed")
        origin = (request.url.scheme, request.url.host, request.url.port)
        transport = self._borrow(origin)
        try:
            response = await transport.handle_async_request(request)
        except BaseException:
            # httpcore has closed a connection that failed; the empty pool is still of use
            self._give_back(origin, transport)
            raise
        stream = cast(httpx.AsyncByteStream, response.stream)  # an async transport's answer
        response.stream = _Lent(stream, lambda: self._return(origin, transport))
        return response

    async def aclose(self) -> None:
        self._closed = True
        idle = [transport for transports in self._idle.values() for transport in transports]
        self._idle.clear()
        for transport in idle:
            await transport.aclose()

    def _borrow(self, origin: _Origin) -> httpx.AsyncHTTPTransport:
        idle = self._idle.get(origin)
        if idle:
            return idle.pop()
        return httpx.AsyncHTTPTransport(
            verify=self._verify,
            limits=httpx.Limits(max_connections=1, max_keepalive_connections=1),
        )

    def _give_back(self, origin: _Origin, transport: httpx.AsyncHTTPTransport) -> bool:
        """Keep the connection for the next request; False if there is no room for it."""
        if self._closed or self.idle >= self._keepalive:
            return False
        self._idle.setdefault(origin, []).append(transport)
        return True

    async def _return(self, origin: _Origin, transport: httpx.AsyncHTTPTransport) -> None:
        if not self._give_back(origin, transport):
            await transport.aclose()


class _Lent(httpx.AsyncByteStream):
    """A response's body; closing it gives the connection back (once)."""

    def __init__(self, stream: httpx.AsyncByteStream, done: Callable[[], Awaitable[None]]) -> None:
        self._stream = stream
        self._done: Callable[[], Awaitable[None]] | None = done

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        done, self._done = self._done, None
        try:
            await self._stream.aclose()
        finally:
            if done is not None:
                await done()
