"""Delivery of webhooks to the receivers, with bounded redelivery after a failure."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable
from datetime import UTC, datetime

import httpx

from dialer.simulator.state import DeliveryAttempt, Stats, WebhookRecord
from dialer.simulator.tasks import TaskSet
from dialer.simulator.wire import WireRequest

log = logging.getLogger(__name__)


IN_FLIGHT = 256
"""Webhook requests open at once; more wait their turn in order. MTT sets no such bound, but a
few hundred covers 100 calls/s even when the receiver takes a second to answer."""


class Senders:
    """`IN_FLIGHT` HTTP clients of one kept-alive connection each, lent out one request at a
    time. One client with many connections would not do: httpcore's pool checks every one of
    its connections for every request, most of the simulator's CPU at 100 calls per second."""

    def __init__(self, timeout: float, verify: ssl.SSLContext | bool) -> None:
        limits = httpx.Limits(max_connections=1, max_keepalive_connections=1)
        self._clients = [
            httpx.AsyncClient(
                timeout=httpx.Timeout(timeout), limits=limits, trust_env=False, verify=verify
            )
            for _ in range(IN_FLIGHT)
        ]
        self._idle: asyncio.Queue[httpx.AsyncClient] = asyncio.Queue()
        for client in self._clients:
            self._idle.put_nowait(client)

    async def post(self, url: str, content: bytes, headers: dict[str, str]) -> httpx.Response:
        client = await self._idle.get()
        try:
            return await client.post(url, content=content, headers=headers)
        finally:
            self._idle.put_nowait(client)

    async def aclose(self) -> None:
        for client in self._clients:
            await client.aclose()


class Delivery:
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
            response = await self._senders.post(wire.url, wire.content, headers)
        except httpx.HTTPError as exc:
            error = self._redact(f"{type(exc).__name__}: {exc}")
            record.attempts.append(DeliveryAttempt(datetime.now(UTC), None, error))
            return False
        record.attempts.append(DeliveryAttempt(datetime.now(UTC), response.status_code))
        if not response.is_success:
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
