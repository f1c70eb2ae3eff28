"""CRM callback jobs: `deliver_callback` POSTs one callback, `sweep_callbacks` finds missed ones.

Deliveries share the worker with the dial jobs, so a slow or dead CRM must not take its job
slots: at most DELIVERY_SLOTS deliveries run at once per worker process, and a delivery that
finds them taken steps aside (deferred by arq, not counted as a try). Each try is bounded by
CALLBACK_TIMEOUT; the callback's row counts the tries, which arq's own try counter (raised by
those deferrals too) therefore must not limit.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from datetime import timedelta
from typing import Any, Final

import httpx
from arq.worker import Retry

from campaigns import callbacks
from campaigns.db import write_transaction
from workers.resources import Resources, from_ctx

__all__ = [
    "ARQ_MAX_TRIES",
    "CALLBACK_TIMEOUT",
    "DELIVERY_SLOTS",
    "deliver_callback",
    "sweep_callbacks",
]

log = logging.getLogger(__name__)

CALLBACK_TIMEOUT: Final = 10.0
DELIVERY_SLOTS: Final = 4
BUSY_DEFER: Final = 2.0
"""Seconds a delivery waits, out of its job slot, when all delivery slots are taken."""
ARQ_MAX_TRIES: Final = 10_000
"""arq's limit for `deliver_callback`: far above MAX_TRIES, which the database enforces."""
SWEEP_LIMIT: Final = 500
STALE_AFTER: Final = timedelta(minutes=5)
"""Seconds after which a pending callback's job is enqueued again, in case it was lost."""

_slots: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


def _delivery_slots() -> asyncio.Semaphore:
    loop = asyncio.get_running_loop()
    slots = _slots.get(loop)
    if slots is None:
        slots = _slots[loop] = asyncio.Semaphore(DELIVERY_SLOTS)
    return slots


async def deliver_callback(ctx: dict[str, Any], callback_id: int) -> str:
    """The arq job; raises arq's Retry to try again later, returns what became of it."""
    res = from_ctx(ctx)
    slots = _delivery_slots()
    if slots.locked():
        raise Retry(defer=BUSY_DEFER)
    async with slots:
        async with res.sessions() as session:
            delivery = await callbacks.load(session, callback_id)
        if delivery is None:
            return "not pending"
        error = await _post(res, delivery)
    async with write_transaction(res.sessions) as session:
        if error is None:
            await callbacks.mark_sent(session, callback_id, now=res.clock())
            return "sent"
        tries, final = await callbacks.mark_failed(session, callback_id, error)
    if final:
        log.warning("CRM callback %d failed for good after %d tries: %s", callback_id, tries, error)
        return f"failed after {tries} tries: {error}"
    raise Retry(defer=callbacks.retry_delay(tries))


async def _post(res: Resources, delivery: callbacks.Delivery) -> str | None:
    """One try; None when the CRM took it (any 2xx), else what went wrong."""
    headers = {"content-type": "application/json"}
    secret = delivery.secret or res.settings.crm_callback_secret.get_secret_value()
    if secret:
        headers[callbacks.SIGNATURE_HEADER] = callbacks.sign(delivery.body, secret)
    try:
        response = await res.http.post(
            delivery.url,
            content=delivery.body,
            headers=headers,
            timeout=CALLBACK_TIMEOUT,
            follow_redirects=False,
        )
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}"
    if response.is_success:
        return None
    return f"HTTP {response.status_code}"


async def sweep_callbacks(ctx: dict[str, Any]) -> dict[str, int]:
    """The cron: outcome callbacks for contacts settled outside the collector (dial job,
    sweeper, cancel), and new jobs for pending callbacks whose job may be lost."""
    res = from_ctx(ctx)
    now = res.clock()
    async with res.sessions() as session:
        unreported = await callbacks.unreported_outcomes(session, now=now, limit=SWEEP_LIMIT)
    recorded: list[int] = []
    if unreported:
        async with write_transaction(res.sessions) as session:
            recorded = await session.run_sync(callbacks.record_outcomes, unreported, now=now)
    async with res.sessions() as session:
        stale = await callbacks.stale_pending(session, before=now - STALE_AFTER, limit=SWEEP_LIMIT)
    await callbacks.enqueue(res.redis, sorted({*recorded, *stale}))
    return {"recorded": len(recorded), "requeued": len(set(stale) - set(recorded))}
