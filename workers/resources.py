"""What a worker process builds once and every job shares: connections, clients, limiters.

`open_resources` is what the worker's on_startup runs; tests call it too, to run the jobs in
process with the very objects the worker would give them.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from arq.connections import ArqRedis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from campaigns.db import create_engine, session_factory
from campaigns.group_commit import GroupCommit
from campaigns.policy import base_policy
from campaigns.requests import CallSetup
from campaigns.windows import load_calendars
from dialer.settings import Settings
from dialer.telecom.dtmf import plain_http_allowed
from dialer.telecom.lending import lender_unless_proxied
from dialer.telecom.limiters import ConcurrencyLimiter, CpsLimiter, Scope
from dialer.telecom.mtt_rpc import MttRpcClient
from dialer.telecom.redial import RedialPolicy
from dialer.telecom.sbapi import SbApiClient

__all__ = [
    "RESOURCES",
    "WorkerResources",
    "call_setup",
    "close_resources",
    "from_ctx",
    "open_resources",
    "utc_now",
]

log = logging.getLogger(__name__)

RESOURCES = "resources"
"""The key of the `WorkerResources` in arq's ctx."""
KEEPALIVE = 200
"""Idle connections kept to sb-api and CRMs: enough for the highest rates worth configuring."""


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class WorkerResources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    writes: GroupCommit
    """The dial jobs' writes, committed together (campaigns/group_commit.py)."""
    redis: ArqRedis
    http: httpx.AsyncClient
    sbapi: SbApiClient
    rpc: MttRpcClient | None
    cps: CpsLimiter
    concurrency: ConcurrencyLimiter
    policy: RedialPolicy
    """The service-wide redial policy; campaigns add their overrides to it."""
    setup: CallSetup
    clock: Callable[[], datetime] = utc_now
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    """Background loops of the process (the pacer), cancelled on close."""

    def scopes(self, campaign_id: int, campaign_limit: int) -> list[Scope]:
        return [
            ConcurrencyLimiter.global_scope(self.settings.max_concurrent),
            ConcurrencyLimiter.campaign_scope(campaign_id, campaign_limit),
        ]

    async def release_leases(self, leases: Sequence[tuple[int, int]]) -> None:
        """Free the leases of (attempt id, campaign id); a Redis failure is only logged."""
        await self.concurrency.release_calls(leases)


def call_setup(settings: Settings) -> CallSetup:
    """Notify URLs point at our collector; plain http only on a host MTT cannot reach."""
    return CallSetup(
        a_number=settings.a_number,
        notify_url=settings.event_url,
        allow_http=plain_http_allowed(settings.event_url),
    )


def preload_http_stack() -> None:
    """httpcore imports its network backend (anyio, ~100 ms) at the first connection; a dial job
    would pay that after the CPS limiter admitted it, and arrive late among the calls after it."""
    for module in ("anyio._backends._asyncio", "httpcore._backends.anyio"):
        importlib.import_module(module)


async def open_resources(
    settings: Settings, redis: ArqRedis, *, clock: Callable[[], datetime] = utc_now
) -> WorkerResources:
    preload_http_stack()
    load_calendars(clock())
    engine = create_engine(settings.database)
    # no bound on connections: a request admitted by the CPS limiter must leave at once, not
    # queue for one (arq's max_jobs bounds how many are in flight)
    http = httpx.AsyncClient(
        timeout=httpx.Timeout(settings.sb_timeout),
        limits=httpx.Limits(max_connections=None, max_keepalive_connections=KEEPALIVE),
        transport=lender_unless_proxied(KEEPALIVE),
    )
    cps = CpsLimiter(redis, rate=settings.cps, jitter=settings.cps_jitter)
    try:
        sbapi = SbApiClient.from_settings(settings, http, admit=cps.admit)
        rpc = MttRpcClient.from_settings(settings, http) if settings.mtt_rpc_url else None
    except BaseException:
        await http.aclose()
        await engine.dispose()
        raise
    writes = GroupCommit(engine)
    writes.start()
    return WorkerResources(
        settings=settings,
        engine=engine,
        sessions=session_factory(engine),
        writes=writes,
        redis=redis,
        http=http,
        sbapi=sbapi,
        rpc=rpc,
        cps=cps,
        concurrency=ConcurrencyLimiter(
            redis, lease_seconds=settings.final_event_timeout + settings.claim_lease
        ),
        policy=base_policy(settings),
        setup=call_setup(settings),
        clock=clock,
    )


async def close_resources(resources: WorkerResources) -> None:
    """Stop the background loops, then close what was opened; safe to call twice."""
    tasks, resources.tasks = resources.tasks, []
    for task in tasks:
        task.cancel()
    for task in tasks:
        with suppress(asyncio.CancelledError):
            await task
    await resources.writes.close()
    await resources.http.aclose()
    await resources.engine.dispose()


def from_ctx(ctx: Mapping[str, Any]) -> WorkerResources:
    resources = ctx.get(RESOURCES)
    if not isinstance(resources, WorkerResources):
        raise RuntimeError("the worker's on_startup did not run: no resources in ctx")
    return resources
