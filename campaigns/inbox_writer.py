"""The group commit of one API process: a single writer in front of the webhook inbox.

Every request's body is queued; one writer task takes all that are waiting (up to
`max_batch`), stores and applies them with `campaigns.inbox.store` in one write transaction,
and answers each request after the commit. Writes are serial on SQLite anyway, and a
transaction costs as much as dozens of events in it: one transaction for many events is what
makes thousands a second possible. Leases of the calls a batch finished are freed after the
commit, in one Redis pipeline, without holding up the answers.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

from campaigns.apply import AppliedEvent
from campaigns.db import Transact
from campaigns.inbox import Batch, Receipt, WebhookDelivery, leases_of, read, store
from campaigns.jobs import JobQueue, after_commit
from dialer.telecom.limiters import ConcurrencyLimiter
from dialer.telecom.redial import RedialPolicy

__all__ = ["LINGER", "InboxWriter", "WriterStats"]

log = logging.getLogger(__name__)

LINGER = 0.003
"""Seconds the writer waits after the first body of a batch unless many are waiting already:
at a moderate rate a few ms of waiting buys much larger batches (and the CPU to keep up)."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass
class WriterStats:
    batches: int = 0
    deliveries: int = 0


_Pending = tuple[WebhookDelivery, "asyncio.Future[Receipt]"]


class InboxWriter:
    """The process's group commit: `receive` queues a body and answers after its commit."""

    def __init__(
        self,
        writes: Transact,
        *,
        base: RedialPolicy,
        concurrency: ConcurrencyLimiter | None,
        jobs: JobQueue | None = None,
        max_batch: int = 256,
        linger: float = LINGER,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        self._writes = writes
        self._base = base
        self._concurrency = concurrency
        self._jobs = jobs
        self._max_batch = max_batch
        self._linger = linger
        self._clock = clock
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._releasing: set[asyncio.Task[None]] = set()
        self.stats = WriterStats()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[InboxWriter]:
        self._writer = asyncio.create_task(self._write(), name="inbox-writer")
        try:
            yield self
        finally:
            self._writer.cancel()
            await asyncio.gather(self._writer, *self._releasing, return_exceptions=True)
            self._writer = None
            while not self._queue.empty():
                _, future = self._queue.get_nowait()
                if not future.done():
                    future.set_exception(RuntimeError("the inbox closed before storing"))

    async def receive(
        self, body: bytes, content_type: str | None, query: Mapping[str, str]
    ) -> Receipt:
        """Store and apply one request's body; answers after the commit, while the leases of the
        calls it finished are being freed (`settled` waits for that)."""
        if self._writer is None:
            raise RuntimeError("the inbox is not running")
        delivery = read(body, content_type, query, self._clock())
        future: asyncio.Future[Receipt] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((delivery, future))
        return await future

    async def settled(self) -> None:
        """Wait until the follow-ups of every batch so far (leases freed, callbacks queued) end."""
        await asyncio.gather(*self._releasing)

    async def _write(self) -> None:
        while True:
            batch = [await self._queue.get()]
            if self._queue.qsize() < self._max_batch // 4:
                await asyncio.sleep(self._linger)
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                stored = await store(
                    self._writes, [d for d, _ in batch], base=self._base, now=self._clock()
                )
                results = stored.receipts
            except Exception as error:  # a bug in store itself: fail the batch, keep writing
                log.exception("the inbox writer failed a batch")
                results = [error] * len(batch)
                stored = Batch(results, [])
            self.stats.batches += 1
            self.stats.deliveries += len(batch)
            applied = [item for r in results if isinstance(r, Receipt) for item in r.applied]
            self._after_commit(applied, stored.callbacks)
            for (_, future), result in zip(batch, results, strict=True):
                if future.done():  # the request went away; its body is stored all the same
                    continue
                if isinstance(result, Exception):
                    future.set_exception(result)
                else:
                    future.set_result(result)

    def _after_commit(self, applied: list[AppliedEvent], callback_ids: list[int]) -> None:
        """One task frees a batch's leases and queues its CRM callbacks while the writer goes on
        to the next batch; a callback not queued here is found by the worker's callback sweep."""
        leases = leases_of(applied)
        if not (leases and self._concurrency) and not (callback_ids and self._jobs):
            return
        task = asyncio.create_task(
            after_commit(self._concurrency, self._jobs, leases=leases, callbacks=callback_ids)
        )
        self._releasing.add(task)
        task.add_done_callback(self._releasing.discard)
