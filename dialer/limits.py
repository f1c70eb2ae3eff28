"""Operator limits shared by every worker process through Redis (DESIGN §6).

- `CpsLimiter`: calls per second on Redis server time, in two steps. `acquire` *reserves* the
  next free send slot by GCRA and sleeps until it: slots are spaced evenly at the admission log's
  pace whichever process takes them, which paces the workers without polling. But a worker can
  wake late (a stalled event loop, a database write waiting for its lock) and late requests
  bunch up with punctual ones. So `admit`, called right before each request leaves (every retry
  too), is the hard limit: a sliding log of the requests admitted, never more than the limit in
  any window of one second plus the jitter allowed (`SEND_JITTER` by default). Clocks of the
  workers never matter.
- `ConcurrencyLimiter`: concurrent calls as a sorted set per scope (global, per campaign) whose
  members are attempt ids scored by their lease expiry. A crashed process cannot leak a slot: its
  leases expire, and every acquire drops expired members first.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis

log = logging.getLogger(__name__)

RELEASE_TIMEOUT = 2.0
"""Seconds a batch of releases may take; a lease left behind expires by itself."""

SEND_JITTER = 0.05
"""Default seconds a request may take from its admission to MTT's ingress, beyond the others
(`DIALER_CPS_JITTER`): no more than the limit is admitted in any window of one second plus this,
so that much jitter cannot put more than the limit into any second there. It costs that share
of the rate: 0.952 of the limit at 0.05."""

_RESERVE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local interval = tonumber(ARGV[1])
local horizon = tonumber(ARGV[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local wait = tat - now
if wait > horizon then return -wait end
redis.call('SET', KEYS[1], tat + interval, 'PX', math.floor((wait + interval) / 1000) + 1000)
return wait
"""

_ADMIT = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local window = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[2]) then
  redis.call('ZADD', KEYS[1], now, ARGV[3])
  redis.call('PEXPIRE', KEYS[1], math.floor(window / 1000) + 1000)
  return 0
end
local oldest = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
return math.max(tonumber(oldest[2]) + window - now, 1)
"""

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS
for i = 1, n do
  redis.call('ZREMRANGEBYSCORE', KEYS[i], '-inf', now)
  if redis.call('ZSCORE', KEYS[i], ARGV[1]) == false
     and redis.call('ZCARD', KEYS[i]) >= tonumber(ARGV[2 + i]) then
    return 0
  end
end
for i = 1, n do
  redis.call('ZADD', KEYS[i], now + tonumber(ARGV[2]), ARGV[1])
end
return 1
"""

_FREE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return tonumber(ARGV[1]) - redis.call('ZCARD', KEYS[1])
"""


CPS_KEY = "limit:cps"
"""The GCRA's next free slot (theoretical arrival time), in microseconds of Redis time."""

_BACKLOG = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
return math.max(tat - now, 0)
"""


async def cps_backlog(redis: Redis, key: str = CPS_KEY) -> float:
    """Seconds until the next free send slot: how long a call reserving one now would wait."""
    micros: int = await redis.register_script(_BACKLOG)(keys=[key])
    return micros / 1_000_000


_IN_USE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
return redis.call('ZCOUNT', KEYS[1], now - 1000000, '+inf')
"""


async def cps_in_use(redis: Redis, key: str = CPS_KEY) -> int:
    """Requests `CpsLimiter.admit` let leave within the last second of Redis time."""
    count: int = await redis.register_script(_IN_USE)(keys=[f"{key}:sent"])
    return count


class CpsLimiter:
    """Global calls-per-second limit; `await limiter.acquire()` returns when a call may be sent."""

    def __init__(
        self,
        redis: Redis,
        *,
        rate: float,
        jitter: float = SEND_JITTER,
        key: str = CPS_KEY,
        horizon: float = 5.0,
    ) -> None:
        if rate <= 0:
            raise ValueError(f"rate must be positive, got {rate}")
        self._redis = redis
        self._key = key
        count, window = admission(rate, jitter)
        # slots at the admission log's own pace: faster, calls would pile up in `admit`
        self._interval_us = round(window / count * 1_000_000)
        self._horizon_us = round(horizon * 1_000_000)
        self._script = redis.register_script(_RESERVE)
        self._admit_key = f"{key}:sent"
        self._admit_count, self._admit_window_us = count, round(window * 1_000_000)
        self._admit = redis.register_script(_ADMIT)
        self._admitted = itertools.count()
        self._me = os.urandom(6).hex()

    @property
    def spacing(self) -> float:
        """Seconds between two reserved slots."""
        return self._interval_us / 1_000_000

    async def reserve(self) -> float:
        """Reserve the next slot: seconds to wait before sending, or negative if it is further
        away than the horizon (nothing reserved; try again after about that long)."""
        result: int = await self._script(
            keys=[self._key], args=[self._interval_us, self._horizon_us]
        )
        return result / 1_000_000

    async def acquire(self, lead: float = 0.0) -> float:
        """Reserve the next slot and return `lead` seconds before it (at once if it is nearer);
        the seconds still to go until it. A caller with something to do before sending does
        it in the lead, not after the slot has come."""
        while True:
            wait = await self.reserve()
            if wait >= 0:
                early = max(wait - lead, 0.0)
                await asyncio.sleep(early)
                return wait - early
            await asyncio.sleep(-wait / 2)

    async def admit(self) -> float:
        """Return when one more request may leave now; how long it waited (normally nothing)."""
        member = f"{self._me}:{next(self._admitted)}"
        waited = 0.0
        while True:
            wait_us: int = await self._admit(
                keys=[self._admit_key],
                args=[self._admit_window_us, self._admit_count, member],
            )
            if wait_us == 0:
                return waited
            await asyncio.sleep(wait_us / 1_000_000)
            waited += wait_us / 1_000_000


def admission(rate: float, jitter: float = SEND_JITTER) -> tuple[int, float]:
    """The sliding log's (requests, window seconds) for a limit of `rate` per second: `rate`
    rounded down per second, or one per 1/rate seconds under 1/s; the window padded by the
    jitter a request may see on its way."""
    count = max(1, math.floor(rate))
    return count, max(1.0, count / rate) + jitter


@dataclass(frozen=True)
class Scope:
    """One concurrency limit: a Redis key and how many leases it admits."""

    key: str
    limit: int


class ConcurrencyLimiter:
    """Leases on concurrent calls; a lease is held from claim to the call's final event."""

    def __init__(self, redis: Redis, *, lease_seconds: float) -> None:
        self._redis = redis
        self._lease_ms = round(lease_seconds * 1000)
        self._acquire = redis.register_script(_ACQUIRE)
        self._free = redis.register_script(_FREE)

    @staticmethod
    def global_scope(limit: int) -> Scope:
        return Scope("limit:conc:global", limit)

    @staticmethod
    def campaign_scope(campaign_id: int, limit: int) -> Scope:
        return Scope(f"limit:conc:campaign:{campaign_id}", limit)

    async def acquire(self, member: str, scopes: Sequence[Scope]) -> bool:
        """Take a lease in every scope at once, or in none. Re-acquiring renews the lease."""
        (granted,) = await self.acquire_many([(member, scopes)])
        return granted

    async def acquire_many(self, leases: Sequence[tuple[str, Sequence[Scope]]]) -> list[bool]:
        """`acquire` for each (member, scopes) in turn, in one round trip: the pacer takes a
        tick's leases while it holds the database's write lock."""
        if not leases:
            return []
        async with self._redis.pipeline(transaction=False) as pipe:
            for member, scopes in leases:
                args: list[Any] = [member, self._lease_ms, *(s.limit for s in scopes)]
                await self._acquire(keys=[s.key for s in scopes], args=args, client=pipe)
            return [bool(granted) for granted in await pipe.execute()]

    async def release(self, member: str, scopes: Sequence[Scope]) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for scope in scopes:
                pipe.zrem(scope.key, member)
            await pipe.execute()

    async def release_calls(self, calls: Iterable[tuple[int, int]]) -> None:
        """Free the leases of finished calls, (attempt id, campaign id) pairs, in one round trip.

        Never raises: the caller has already committed the call's end, and a lease that Redis
        did not drop expires by itself."""
        calls = list(calls)
        by_key: dict[str, list[str]] = {}
        for attempt_id, campaign_id in calls:
            for scope in (self.global_scope(0), self.campaign_scope(campaign_id, 0)):
                by_key.setdefault(scope.key, []).append(str(attempt_id))
        if not by_key:
            return
        try:
            async with asyncio.timeout(RELEASE_TIMEOUT):
                async with self._redis.pipeline(transaction=False) as pipe:
                    for key, members in by_key.items():
                        pipe.zrem(key, *members)
                    await pipe.execute()
        except Exception as error:
            log.warning("releasing the leases of %d calls failed: %r", len(calls), error)

    async def free(self, scope: Scope) -> int:
        """Leases still available in a scope (expired ones do not count)."""
        result: int = await self._free(keys=[scope.key], args=[scope.limit])
        return max(result, 0)

    async def holders(self, scope: Scope) -> list[str]:
        members: list[bytes] = await self._redis.zrange(scope.key, 0, -1)
        return [m.decode() for m in members]
