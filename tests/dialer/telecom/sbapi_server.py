"""A real HTTP/1.1 server on 127.0.0.1 that answers from a script and records every request.

Its socket is bound at construction but accepts nothing until `listen()`/`start()`, so a test
can make the first connection attempts fail with "connection refused" and then let one in.
`Recorder` does the same scripting in-process, for unit tests over httpx.MockTransport.
"""

from __future__ import annotations

import asyncio
import json
import socket
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from http import HTTPStatus
from types import TracebackType
from typing import Any

import httpx


@dataclass(frozen=True)
class Reply:
    status: int = 200
    body: bytes = b""
    headers: Mapping[str, str] = field(default_factory=dict)
    delay: float = 0.0
    """Seconds to wait after reading the request, before answering."""
    drop: bool = False
    """Close the connection after reading the request, answering nothing."""


def json_reply(doc: Any, status: int = 200, **headers: str) -> Reply:
    return Reply(status, json.dumps(doc).encode(), {"Content-Type": "application/json", **headers})


@dataclass(frozen=True)
class Received:
    method: str
    path: str
    headers: Mapping[str, str]
    """Lower-cased names."""
    body: bytes
    at: float
    """time.monotonic() when the request was fully read."""

    def json(self) -> Any:
        return json.loads(self.body)


class LoopbackServer:
    """Answers requests with `replies` in order, then with `default` for ever."""

    def __init__(self, replies: Iterable[Reply] = (), default: Reply | None = None) -> None:
        self._replies = list(replies)
        self._default = default or Reply(200, b"{}")
        self.requests: list[Received] = []
        self._sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._sock.bind(("127.0.0.1", 0))
        self.port: int = self._sock.getsockname()[1]
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._closing = asyncio.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1/sb"

    def listen(self) -> None:
        """From now on the kernel completes connections; they are answered once started."""
        self._sock.listen(16)

    async def start(self) -> None:
        self.listen()
        self._server = await asyncio.start_server(self._handle, sock=self._sock)

    async def stop(self) -> None:
        if self._server is not None:
            self._server.close()
        self._closing.set()
        await asyncio.gather(*self._handlers)
        if self._server is not None:
            await self._server.wait_closed()
        self._sock.close()

    async def __aenter__(self) -> LoopbackServer:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            received = await self._read(reader)
            self.requests.append(received)
            reply = self._replies.pop(0) if self._replies else self._default
            if await _set_within(self._closing, reply.delay):
                return
            if not reply.drop:
                writer.write(_response(reply))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @staticmethod
    async def _read(reader: asyncio.StreamReader) -> Received:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        request_line, *lines = head.strip().split("\r\n")
        method, path, _ = request_line.split(" ", 2)
        headers = {}
        for line in lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        body = await reader.readexactly(int(headers.get("content-length", "0")))
        return Received(method, path, headers, body, time.monotonic())


async def _set_within(event: asyncio.Event, seconds: float) -> bool:
    try:
        await asyncio.wait_for(event.wait(), seconds)
    except TimeoutError:
        return False
    return True


def _response(reply: Reply) -> bytes:
    phrase = HTTPStatus(reply.status).phrase
    headers = {"Content-Length": str(len(reply.body)), "Connection": "close", **reply.headers}
    head = f"HTTP/1.1 {reply.status} {phrase}\r\n"
    head += "".join(f"{name}: {value}\r\n" for name, value in headers.items())
    return head.encode("latin-1") + b"\r\n" + reply.body


class Recorder:
    """The in-process twin for httpx.MockTransport: answers from a list (the last one repeats)."""

    def __init__(self, *outcomes: httpx.Response | Exception) -> None:
        self.outcomes = list(outcomes)
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        outcome = self.outcomes.pop(0) if len(self.outcomes) > 1 else self.outcomes[0]
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
