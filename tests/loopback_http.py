"""A raw HTTP/1.1 server on loopback for the tests of our HTTP clients: it counts connections,
can hold its answers until several requests have arrived, answer any bytes, or hang up."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

OK = b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"


class Server:
    def __init__(self) -> None:
        self.accepted = 0
        self.open = 0
        self.hold = 0
        """No answer before this many requests have arrived."""
        self.answer = OK
        self.hang_up = False
        """Close each connection after its first answer."""
        self.bodies: list[bytes] = []
        self.url = ""
        self._all_arrived = asyncio.Event()
        self._closed = asyncio.Condition()

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.accepted += 1
        self.open += 1
        try:
            while await self._request(reader):
                if len(self.bodies) >= self.hold:
                    self._all_arrived.set()
                await asyncio.wait_for(self._all_arrived.wait(), 5)
                writer.write(self.answer)
                await writer.drain()
                if self.hang_up:
                    return
        finally:
            writer.close()
            async with self._closed:
                self.open -= 1
                self._closed.notify_all()

    async def _request(self, reader: asyncio.StreamReader) -> bool:
        try:
            head = await reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, ConnectionError):
            return False
        length = 0
        for line in head.decode("latin-1").split("\r\n"):
            name, _, value = line.partition(":")
            if name.lower() == "content-length":
                length = int(value)
        self.bodies.append(await reader.readexactly(length))
        return True

    async def closed_down_to(self, count: int) -> None:
        async with asyncio.timeout(5), self._closed:
            await self._closed.wait_for(lambda: self.open <= count)


@asynccontextmanager
async def serving(tls: ssl.SSLContext | None = None) -> AsyncIterator[Server]:
    """The server on a free port; https with the `tls` server context."""
    server = Server()
    listener = await asyncio.start_server(server.handle, "127.0.0.1", 0, ssl=tls)
    port = listener.sockets[0].getsockname()[1]
    server.url = f"{'https' if tls else 'http'}://127.0.0.1:{port}/hook?x=1"
    async with listener:
        yield server
