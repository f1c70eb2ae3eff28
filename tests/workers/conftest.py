"""Worker jobs run in process against real parts: the migrated test database, the session's
redis-server and the sb-api simulator on loopback (its webhooks go to a bare receiver)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
import redis.asyncio as aioredis
from arq.connections import ArqRedis, RedisSettings, create_pool

from dialer.shell.redis_server import RedisServer
from tests.dialer.simulator.harness import Rig, start_rig
from tests.workers.support import Clock, settings_for, worker_ctx
from workers.resources import RESOURCES, close_resources


@pytest.fixture
async def arq_redis(
    redis_server: RedisServer, redis_client: aioredis.Redis
) -> AsyncIterator[ArqRedis]:
    """arq's pool on the session's server; `redis_client` has flushed it."""
    pool = await create_pool(RedisSettings.from_dsn(redis_server.url))
    yield pool
    await pool.aclose()


WorkerFactory = Callable[..., AbstractAsyncContextManager[tuple[dict[str, Any], Rig]]]


@pytest.fixture
def worker(db_url: str, redis_server: RedisServer, arq_redis: ArqRedis) -> WorkerFactory:
    """`async with worker(clock, settings={...}, rpc=False, **simulator_knobs) as (ctx, rig)`;
    `rpc` points DIALER_MTT_RPC_URL at the simulator's JSON-RPC route."""

    @asynccontextmanager
    async def start(
        clock: Clock, settings: dict[str, Any] | None = None, rpc: bool = False, **knobs: Any
    ) -> AsyncIterator[tuple[dict[str, Any], Rig]]:
        async with start_rig(**knobs) as rig:
            overrides = {"mtt_rpc_url": f"{rig.url}/rpc"} if rpc else {}
            config = settings_for(rig, db_url, redis_server.url, **(overrides | (settings or {})))
            ctx = await worker_ctx(config, arq_redis, clock)
            try:
                yield ctx, rig
            finally:
                await close_resources(ctx[RESOURCES])

    return start


PacerFactory = Callable[..., AbstractAsyncContextManager[dict[str, Any]]]


@pytest.fixture
def offline(db_url: str, redis_server: RedisServer, arq_redis: ArqRedis) -> PacerFactory:
    """`async with offline(clock, **settings) as ctx`: no sb-api at all (pacer, sweeper)."""

    @asynccontextmanager
    async def start(clock: Clock, **settings: Any) -> AsyncIterator[dict[str, Any]]:
        ctx = await worker_ctx(
            settings_for(None, db_url, redis_server.url, **settings), arq_redis, clock
        )
        try:
            yield ctx
        finally:
            await close_resources(ctx[RESOURCES])

    return start
