"""The pacer (docs/design.md §5.1, §6): claims due contacts and enqueues their dial jobs.

Every worker process runs the loop; a Redis lock lets one of them pace at a time. The leader
renews it each tick, so a leader that dies (even SIGKILLed) is replaced once the lock lapses,
within `LOCK_SECONDS`. Were two to pace at once for a moment, the claim's compare-and-set and
the concurrency leases keep them from dialing a contact twice or exceeding a limit.

A tick claims no more than the free concurrency (global and per campaign) allows, shares that
between campaigns by priority, and keeps the backlog of unsent claims within what the CPS
limit sends in `BACKLOG_SECONDS`, so claims never wait long for their turn to be sent.
While MTT's balance is at or below DIALER_MIN_BALANCE (campaigns.balance) a tick claims
nothing: one Redis read per tick, and the calls in flight finish.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import pace as pace_db
from campaigns import store
from campaigns.balance import BalanceGate, read_balance
from campaigns.db import write_transaction
from campaigns.fairshare import Demand, FairShare
from campaigns.jobs import DIAL, dial_job_id
from campaigns.pace import Claim, Due
from dialer.telecom.limiters import ConcurrencyLimiter, cps_backlog
from workers.enqueue import NewJob, enqueue_many
from workers.resources import WorkerResources

__all__ = [
    "BACKLOG_SECONDS",
    "DIAL_LEAD",
    "LOCK_KEY",
    "LOCK_SECONDS",
    "Leadership",
    "Pacer",
    "start_delays",
]

log = logging.getLogger(__name__)

LOCK_KEY = "pacer:leader"
LOCK_SECONDS = 2.0
"""Lifetime of the leader's lock without renewal: how long a dead leader goes unreplaced."""
BACKLOG_SECONDS = 2.0
"""Seconds of CPS worth of claims allowed to wait unsent."""
DIAL_LEAD = 0.4
"""Seconds a dial job starts before its send slot: arq's poll delay, the claimed → sending write
(which may wait for SQLite's lock) and some slack. Too little only costs a late send."""
ZONES_SECONDS = 30.0
"""How long the pacer trusts its list of a campaign's contact time zones."""

_RENEW = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0
"""
_RESIGN = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


def start_delays(count: int, *, first: float, spacing: float, lead: float) -> list[float]:
    """Seconds from now to start each of `count` jobs whose sends follow one another `spacing`
    apart from `first` seconds on: each starts `lead` before its send, none in the past."""
    return [max(0.0, first + i * spacing - lead) for i in range(count)]


class Leadership:
    """The pacer lock: SET NX PX to take it, renewed only by its owner's token."""

    def __init__(self, redis: Redis, *, seconds: float = LOCK_SECONDS, key: str = LOCK_KEY):
        self._redis = redis
        self._key = key
        self._ms = round(seconds * 1000)
        self.token = uuid.uuid4().hex
        self._renew = redis.register_script(_RENEW)
        self._resign = redis.register_script(_RESIGN)

    async def hold(self) -> bool:
        """Take or keep the lock; whether this process leads now."""
        if await self._renew(keys=[self._key], args=[self.token, self._ms]):
            return True
        return bool(await self._redis.set(self._key, self.token, nx=True, px=self._ms))

    async def resign(self) -> None:
        await self._resign(keys=[self._key], args=[self.token])


@dataclass
class Pacer:
    resources: WorkerResources
    fair: FairShare = field(default_factory=FairShare)
    _zones: dict[int, tuple[float, list[str]]] = field(default_factory=dict)
    _next_send: float = 0.0
    """Monotonic time of the first send slot after the jobs this pacer has deferred."""
    _gate: BalanceGate | None = field(init=False, default=None)
    _gated: bool = False
    """Whether the last tick found the balance gate closed (logged when that changes)."""

    def __post_init__(self) -> None:
        self._gate = BalanceGate.from_settings(self.resources.settings)

    async def run(self) -> None:
        """The loop: one tick per pace_interval while leading; errors are logged, never fatal."""
        res = self.resources
        leadership = Leadership(res.redis)
        interval = res.settings.pace_interval
        last_error = ""
        try:
            while True:
                started = time.monotonic()
                try:
                    if await leadership.hold():
                        await self.tick(res.clock())
                    last_error = ""
                except Exception as error:
                    if repr(error) != last_error:  # once per outage, not five times a second
                        log.exception("pacer tick failed")
                    last_error = repr(error)
                await asyncio.sleep(max(0.0, interval - (time.monotonic() - started)))
        finally:
            try:
                async with asyncio.timeout(1.0):
                    await leadership.resign()
            except Exception as error:
                log.warning("pacer could not resign its lock: %r", error)

    async def tick(self, now: datetime) -> list[int]:
        """One round: start due scheduled campaigns, claim, lease, enqueue; the attempt ids."""
        res = self.resources
        async with res.sessions() as session:
            starting = await store.any_due_to_start(session, now=now)
        if starting:
            async with write_transaction(res.sessions) as session:
                await store.activate_due(session, now=now)
        if await self._balance_low(now):
            return []
        chosen, limits = await self._choose(now)
        if not chosen:
            return []
        return await self._claim(chosen, limits, now)

    async def _balance_low(self, now: datetime) -> bool:
        """Whether MTT's money is out, by the poller's last figure (never without a poller)."""
        gate = self._gate
        if gate is None:
            return False
        reading = await read_balance(self.resources.redis)
        closed = gate.closed(reading, now)
        if closed != self._gated:
            if closed:
                log.warning(
                    "MTT balance %s is at or below %s: no new calls",
                    reading.balance,
                    gate.threshold,
                )
            else:
                log.info("MTT balance %s: dialing resumes", reading.balance)
            self._gated = closed
        return closed

    async def _choose(self, now: datetime) -> tuple[list[Due], dict[int, int]]:
        res = self.resources
        settings = res.settings
        async with res.sessions() as session:
            campaigns = await pace_db.pacing_campaigns(session, now)
            self._zones = {c.id: self._zones[c.id] for c in campaigns if c.id in self._zones}
            if not campaigns:
                return [], {}
            backlog = math.ceil(settings.cps * BACKLOG_SECONDS) - await pace_db.unsent(session)
            free = await res.concurrency.free(
                ConcurrencyLimiter.global_scope(settings.max_concurrent)
            )
            slots = min(backlog, free)
            if slots <= 0:
                return [], {}
            candidates: dict[int, list[Due]] = {}
            for campaign in campaigns:
                scope = ConcurrencyLimiter.campaign_scope(campaign.id, campaign.max_concurrent)
                want = min(await res.concurrency.free(scope), slots)
                if want <= 0:
                    continue
                zones = await self._zones_of(session, campaign.id)
                zones = pace_db.open_zones(campaign, zones, now)
                candidates[campaign.id] = await pace_db.due_contacts(
                    session, campaign.id, zones, now, want
                )
        demands = [Demand(c.id, c.priority, len(candidates.get(c.id, []))) for c in campaigns]
        grants = self.fair.share(slots, demands)
        chosen = [due for cid, n in grants.items() for due in candidates[cid][:n]]
        return chosen, {c.id: c.max_concurrent for c in campaigns}

    async def _zones_of(self, session: AsyncSession, campaign_id: int) -> list[str]:
        """The time zones of a campaign's waiting contacts, read again every ZONES_SECONDS (at
        once while it has none: the query is then an empty index range)."""
        cached = self._zones.get(campaign_id)
        if cached is not None and cached[0] > time.monotonic():
            return cached[1]
        zones = await pace_db.contact_zones(session, campaign_id)
        if zones:
            self._zones[campaign_id] = (time.monotonic() + ZONES_SECONDS, zones)
        return zones

    async def _claim(
        self, chosen: Sequence[Due], limits: Mapping[int, int], now: datetime
    ) -> list[int]:
        """Claim in one transaction, each claim with its lease; a claim that gets no lease is
        given back in the same transaction. Dial jobs are enqueued after the commit."""
        res = self.resources
        statuses = {due.contact_id: due.status for due in chosen}
        leased: list[Claim] = []
        try:
            async with write_transaction(res.sessions) as session:
                claimed = await pace_db.claim(session, chosen, now)
                granted = await res.concurrency.acquire_many(
                    [
                        (str(c.attempt_id), res.scopes(c.campaign_id, limits[c.campaign_id]))
                        for c in claimed
                    ]
                )
                leased = [c for c, ok in zip(claimed, granted, strict=True) if ok]
                refused = [c for c, ok in zip(claimed, granted, strict=True) if not ok]
                await pace_db.release_claims(session, refused, statuses)
        except BaseException:
            await res.release_leases([(c.attempt_id, c.campaign_id) for c in leased])
            raise
        delays = await self._send_delays(len(leased))
        await enqueue_many(
            res.redis,
            DIAL,
            [
                NewJob(dial_job_id(item.attempt_id), (item.attempt_id,), delay)
                for item, delay in zip(leased, delays, strict=True)
            ],
        )
        return [item.attempt_id for item in leased]

    async def _send_delays(self, count: int) -> list[float]:
        """When to start each new dial job: shortly before its turn at the CPS limiter, after
        the slots already reserved and the jobs this pacer deferred before. A job started
        early would sit in arq's queue as running, and every worker's every poll (ten a
        second) re-checks each of those: most of the service's CPU at 20 calls/s."""
        res = self.resources
        now = time.monotonic()
        first = max(await cps_backlog(res.redis), self._next_send - now)
        delays = start_delays(count, first=first, spacing=res.cps.spacing, lead=DIAL_LEAD)
        self._next_send = now + first + count * res.cps.spacing
        return delays
