"""Deliverer of webhooks to the receivers, with bounded redelivery after a failure."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import SplitResult, urlsplit

import h11

from dialer.simulator.state import DeliveryAttempt, Stats, WebhookRecord
from dialer.simulator.tasks import TaskSet
from dialer.simulator.wire import WireRequest

log = logging.getLogger(__name__)


IN_FLIGHT = 256
"""Webhook requests open at once; more wait their turn in order. MTT sets no such bound, but a
few hundred covers 100 calls/s even when the receiver takes a second to answer."""


_READ_SIZE = 65536
_Streams = tuple[asyncio.StreamReader, asyncio.StreamWriter]


class SendFailed(Exception):
    """A POST that got no HTTP answer; the text starts with the failure's name as httpx would
    give it (ConnectError, ConnectTimeout, ReadTimeout, ...)."""


class Senders:
    """`IN_FLIGHT` kept-alive connections, lent out one request at a time.

    Webhooks go out over h11 on asyncio's streams rather than httpx: at 100 calls/s, httpx's
    layers (its client, httpcore's pool, anyio's streams and cancel scopes) were half of the
    simulator's CPU (py-spy), and the simulator shares the machine with the dialer it
    measures."""

    def __init__(self, timeout: float, tls: ssl.SSLContext) -> None:
        # the last one given back goes out first: it is the likeliest to be connected
        self._idle: asyncio.LifoQueue[_Connection] = asyncio.LifoQueue()
        for _ in range(IN_FLIGHT):
            self._idle.put_nowait(_Connection(tls, timeout))

    async def post(self, url: str, content: bytes, headers: dict[str, str]) -> int:
        """The answer's status code."""
        connection = await self._idle.get()
        try:
            return await connection.post(urlsplit(url), content, headers)
        finally:
            self._idle.put_nowait(connection)

    async def aclose(self) -> None:
        while not self._idle.empty():
            self._idle.get_nowait().close()


class _Connection:
    """One kept-alive connection; a kept one the receiver has closed in the meantime (its
    keep-alive expired) is replaced by a new one for the same request, as browsers do."""

    def __init__(self, tls: ssl.SSLContext, timeout: float) -> None:
        self._tls = tls
        self._timeout = timeout
        self._origin: tuple[str, str, int] | None = None
        self._streams: _Streams | None = None
        self._h11 = h11.Connection(h11.CLIENT)

    async def post(self, url: SplitResult, content: bytes, headers: dict[str, str]) -> int:
        https = url.scheme == "https"
        origin = (url.scheme, url.hostname or "", url.port or (443 if https else 80))
        if self._streams is not None and (origin != self._origin or self._streams[0].at_eof()):
            self.close()
        target = url.path or "/"
        if url.query:
            target = f"{target}?{url.query}"
        fields = [("host", url.netloc), ("content-length", str(len(content))), *headers.items()]
        request = h11.Request(method="POST", target=target, headers=fields)
        if self._streams is not None:
            try:
                return await self._exchange(self._streams, request, content)
            except _Closed:
                pass
        streams = await self._connect(origin, https, url.netloc)
        try:
            return await self._exchange(streams, request, content)
        except _Closed as exc:
            raise SendFailed(f"RemoteProtocolError: {exc.__cause__!r}") from exc

    async def _connect(self, origin: tuple[str, str, int], https: bool, netloc: str) -> _Streams:
        _, host, port = origin
        try:
            async with asyncio.timeout(self._timeout):
                streams = await asyncio.open_connection(
                    host, port, ssl=self._tls if https else None
                )
        except TimeoutError:
            raise SendFailed(f"ConnectTimeout: no connection to {netloc}") from None
        except OSError as exc:
            raise SendFailed(f"ConnectError: {exc}") from exc
        self._streams, self._origin = streams, origin
        self._h11 = h11.Connection(h11.CLIENT)
        return streams

    async def _exchange(self, streams: _Streams, request: h11.Request, content: bytes) -> int:
        """The answer's status; `_Closed` if the receiver hung up before answering."""
        reader, writer = streams
        status = 0
        try:
            async with asyncio.timeout(self._timeout):
                writer.write(self._h11.send(request))
                writer.write(self._h11.send(h11.Data(data=content)))
                writer.write(self._h11.send(h11.EndOfMessage()))
                while not isinstance(event := self._h11.next_event(), h11.EndOfMessage):
                    if event is h11.NEED_DATA:
                        self._h11.receive_data(await reader.read(_READ_SIZE))
                    elif isinstance(event, h11.Response):
                        status = event.status_code
                    elif isinstance(event, h11.ConnectionClosed):
                        raise h11.RemoteProtocolError("the receiver closed the connection")
        except TimeoutError:
            self.close()
            raise SendFailed(f"ReadTimeout: no answer within {self._timeout} s") from None
        except (OSError, h11.ProtocolError) as exc:
            self.close()
            if not status:
                raise _Closed from exc
            raise SendFailed(f"RemoteProtocolError: {exc!r}") from exc
        if self._h11.our_state is h11.DONE and self._h11.their_state is h11.DONE:
            self._h11.start_next_cycle()
        else:
            self.close()
        return status

    def close(self) -> None:
        if self._streams is not None:
            self._streams[1].close()
        self._streams = self._origin = None


class _Closed(Exception):
    """The receiver hung up before it answered."""


class Deliverer:
    """The first try runs inline, so a healthy receiver sees events in the planned order;
    redeliveries run in the background so that one failing receiver delays nothing else."""

    def __init__(
        self,
        senders: Senders,
        tasks: TaskSet,
        stats: Stats,
        *,
        retries: int,
        backoff: float,
        redact: Callable[[str], str],
    ) -> None:
        self._senders = senders
        self._tasks = tasks
        self._stats = stats
        self._retries = retries
        self._backoff = backoff
        self._redact = redact

    async def send(self, record: WebhookRecord, wire: WireRequest) -> None:
        if await self._try(record, wire):
            return
        if self._retries:
            self._tasks.spawn(self._redeliver(record, wire))
        else:
            self._give_up(record)

    async def _redeliver(self, record: WebhookRecord, wire: WireRequest) -> None:
        for retry in range(self._retries):
            await asyncio.sleep(self._backoff * 2**retry)
            self._stats.webhook_retries += 1
            if await self._try(record, wire):
                return
        self._give_up(record)

    async def _try(self, record: WebhookRecord, wire: WireRequest) -> bool:
        headers = {"content-type": wire.content_type} if wire.content_type else {}
        try:
            status = await self._senders.post(wire.url, wire.content, headers)
        except SendFailed as exc:
            error = self._redact(str(exc))
            record.attempts.append(DeliveryAttempt(datetime.now(UTC), None, error))
            return False
        record.attempts.append(DeliveryAttempt(datetime.now(UTC), status))
        if not 200 <= status < 300:
            return False
        record.status = "delivered"
        self._stats.webhooks_sent += 1
        return True

    def _give_up(self, record: WebhookRecord) -> None:
        record.status = "failed"
        self._stats.webhooks_failed += 1
        log.warning(
            "webhook %s to %s failed %d times", record.event.leg, record.url, len(record.attempts)
        )
