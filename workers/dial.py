"""The dial job (docs/design.md §5.2): one claimed attempt, at most one request to sb-api.

Every way out leaves the attempt in a definite state. Before the request is marked sent, a
crash leaves it for the sweeper to take back (nothing was sent); once marked, a crash or any
failure without an answer makes it `unknown`, which is never sent again, while a failure the
job sees before the request leaves makes it not sent. The mark is written `MARK_LEAD` before
the CPS slot, not after it: waiting for SQLite's lock there (p90 0.1 s at 100 calls/s) made
sends late, and a slot the rate limiter handed out cannot be made up later. The concurrency
lease is released on every path that ends without a call; a placed call keeps it until its
final event.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import timedelta
from functools import partial
from typing import Any

from campaigns import dial as dial_db
from campaigns.dial import OutgoingCall, Stopped
from dialer.telecom.sbapi import Accepted, NotSent, OutcomeUnknown
from workers.resources import WorkerResources, from_ctx

__all__ = ["MARK_LEAD", "dial"]

log = logging.getLogger(__name__)

MARK_LEAD = 0.5
"""Seconds before its CPS slot that a call is marked sent: more than the mark takes at p99.9
on SQLite at 100 calls/s (0.47 s), and all a crash can cost: a call marked but never sent is
settled like one that may have been."""


async def dial(ctx: dict[str, Any], attempt_id: int) -> str:
    """The arq job; its result says what became of the attempt."""
    res = from_ctx(ctx)
    begun = await res.writes.run(
        partial(
            dial_db.begin,
            attempt_id=attempt_id,
            now=res.clock(),
            cap=res.settings.daily_answered_cap,
            setup=res.setup,
        )
    )
    if begun is None:
        return "not claimed: another job owns it"
    if isinstance(begun, Stopped):
        await res.release_leases([(attempt_id, begun.campaign_id)])
        return f"rejected: {begun.reason}"
    return await _send(res, begun)


async def _send(res: WorkerResources, call: OutgoingCall) -> str:
    lease = [(call.attempt_id, call.campaign_id)]
    loop = asyncio.get_running_loop()
    try:
        try:
            to_slot = await res.cps.acquire(lead=MARK_LEAD)
        except Exception as error:  # Redis is down: nothing was sent
            return await _not_sent(res, call, f"rate limiter unavailable: {error!r}")
        slot = loop.time() + to_slot
        leaves = res.clock() + timedelta(seconds=to_slot)
        marked = partial(dial_db.mark_sent, attempt_id=call.attempt_id, now=leaves)
        if not await res.writes.run(marked):
            return "taken back by the sweeper before sending"
        await asyncio.sleep(slot - loop.time())
    except asyncio.CancelledError:
        await asyncio.shield(_not_sent(res, call, "the dial job was cancelled before sending"))
        raise
    try:
        answer = await res.sbapi.place_call(call.request)
    except NotSent as error:
        return await _not_sent(res, call, str(error))
    except OutcomeUnknown as error:
        return await _unknown(res, call, str(error))
    except asyncio.CancelledError:
        await asyncio.shield(_unknown(res, call, "the dial job was cancelled while sending"))
        raise
    except Exception as error:
        log.exception("placing the call of attempt %d failed", call.attempt_id)
        return await _unknown(res, call, f"{type(error).__name__}: {error}")
    if isinstance(answer, Accepted):
        await res.writes.run(
            partial(
                dial_db.accepted,
                attempt_id=call.attempt_id,
                call_id=answer.call_id,
                now=res.clock(),
            )
        )
        return f"accepted: {answer.call_id}"
    settled = await res.writes.run(
        partial(dial_db.rejected, attempt_id=call.attempt_id, answer=answer, now=res.clock())
    )
    await res.release_leases(lease)
    return f"rejected ({answer.reason}): {answer.error} → contact {settled}"


async def _not_sent(res: WorkerResources, call: OutgoingCall, error: str) -> str:
    await res.writes.run(
        partial(dial_db.not_sent, attempt_id=call.attempt_id, error=error, now=res.clock())
    )
    await res.release_leases([(call.attempt_id, call.campaign_id)])
    return f"not sent: {error}"


async def _unknown(res: WorkerResources, call: OutgoingCall, error: str) -> str:
    await res.writes.run(
        partial(dial_db.unknown, attempt_id=call.attempt_id, error=error, now=res.clock())
    )
    return f"unknown: {error}"
