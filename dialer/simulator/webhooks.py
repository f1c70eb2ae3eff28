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


IN_FLIGHT = 32
"""Webhook requests open at once; more wait their turn in order. Thousands in flight (100 calls
per second) spend the simulator's CPU in httpcore's connection pool rather than on the wire."""


def webhook_client(timeout: float, verify: ssl.SSLContext | bool) -> httpx.AsyncClient:
    """One connection per request in flight, all kept alive; waiting happens before the pool."""
    limits = httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT)
    return httpx.AsyncClient(
        timeout=httpx.Timeout(timeout), limits=limits, trust_env=False, verify=verify
    )


class Delivery:
    """The first try runs inline, so a healthy receiver sees events in the planned order;
    redeliveries run in the background so that one failing receiver delays nothing else."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        tasks: TaskSet,
        stats: Stats,
        *,
        retries: int,
        backoff: float,
        redact: Callable[[str], str],
    ) -> None:
        self._client = client
        self._tasks = tasks
        self._stats = stats
        self._retries = retries
        self._backoff = backoff
        self._redact = redact
        self._turns = asyncio.Semaphore(IN_FLIGHT)

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
            async with self._turns:
                response = await self._client.post(wire.url, content=wire.content, headers=headers)
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
