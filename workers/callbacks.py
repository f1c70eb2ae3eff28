"""CRM callback jobs: `deliver_callback` POSTs one callback, `sweep_callbacks` finds missed ones.

Deliveries share the worker with the dial jobs, so a slow or dead CRM must not take its job
slots: at most DELIVERY_SLOTS deliveries run at once per worker process, and a delivery that
finds them taken steps aside (deferred by arq, not counted as a try). Each try is bounded by
CALLBACK_TIMEOUT; the callback's row counts the tries, which arq's own try counter (raised by
those deferrals too) therefore must not limit.

Before each try the URL's host is resolved and every address judged (campaigns.callback_hosts);
a host that is not public fails the callback for good, and the POST goes to the address judged,
with the URL's Host and TLS server name, so DNS cannot answer differently for the connection
(rebinding). It closes after the try: a connection to an address verified for one name never
carries another name's callback.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import weakref
from datetime import timedelta
from ipaddress import ip_address
from typing import Any, Final

import httpx
from arq.worker import Retry

from campaigns import callbacks
from campaigns.callback_hosts import addresses_refusal
from campaigns.db import write_transaction
from campaigns.jobs import enqueue_callbacks
from campaigns.signing import SIGNATURE_HEADER, sign
from workers.resources import WorkerResources, from_ctx

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
        error, refused = await _try(res, delivery)
    async with write_transaction(res.sessions) as session:
        if error is None:
            await callbacks.mark_sent(session, callback_id, now=res.clock())
            return "sent"
        tries, final = await callbacks.mark_failed(session, callback_id, error, final=refused)
    if final:
        log.warning("CRM callback %d failed for good after %d tries: %s", callback_id, tries, error)
        return f"failed after {tries} tries: {error}"
    raise Retry(defer=callbacks.retry_delay(tries))


class _Refused(Exception):
    """The callback's host is not public: no try can succeed."""


async def _pinned(url: httpx.URL, allow_private: bool) -> httpx.URL:
    """`url` with its host replaced by the address it resolves to, once judged public."""
    host = url.raw_host.decode("ascii")
    async with asyncio.timeout(CALLBACK_TIMEOUT):
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, url.port, type=socket.SOCK_STREAM
        )
    addresses = [ip_address(str(info[4][0]).partition("%")[0]) for info in infos]
    refusal = None if allow_private else addresses_refusal(host, addresses)
    if refusal is not None:
        raise _Refused(f"{refusal} (DIALER_CALLBACK_ALLOW_PRIVATE allows it)")
    return url.copy_with(host=str(addresses[0]))


async def _try(
    res: WorkerResources, delivery: callbacks.CallbackDelivery
) -> tuple[str | None, bool]:
    """One try: (None when the CRM took it (any 2xx), else what went wrong; whether the
    callback was refused, which no later try can change)."""
    try:
        url = httpx.URL(delivery.url)
        target = await _pinned(url, res.settings.callback_allow_private)
    except (_Refused, httpx.InvalidURL) as refused:
        return f"refused: {refused}", True
    except OSError as error:  # the name did not resolve in time, or not at all
        return f"{type(error).__name__}: {error}", False
    headers = {
        "content-type": "application/json",
        "host": url.netloc.decode("ascii"),
        "connection": "close",
    }
    secret = delivery.secret or res.settings.crm_callback_secret.get_secret_value()
    if secret:
        timestamp = int(res.clock().timestamp())
        headers[SIGNATURE_HEADER] = sign(delivery.body, secret, timestamp=timestamp)
    try:
        response = await res.http.post(
            target,
            content=delivery.body,
            headers=headers,
            extensions={"sni_hostname": url.raw_host.decode("ascii")},
            timeout=CALLBACK_TIMEOUT,
            follow_redirects=False,
        )
    except httpx.HTTPError as error:
        return f"{type(error).__name__}: {error}", False
    if response.is_success:
        return None, False
    return f"HTTP {response.status_code}", False


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
    await enqueue_callbacks(res.redis, sorted({*recorded, *stale}))
    return {"recorded": len(recorded), "requeued": len(set(stale) - set(recorded))}
