"""What the API process builds once at startup and closes at shutdown.

Routers reach it through the `ResourcesDep` dependency; nothing in a request builds an engine,
a Redis client or a pool of its own.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass
from typing import Annotated

from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from fastapi import Depends, FastAPI, Request
from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from campaigns.db import Writes, create_engine, session_factory
from campaigns.inbox_writer import InboxWriter
from campaigns.policy import base_policy
from campaigns.zoning import Zoning
from dialer.settings import Settings
from dialer.telecom.limiters import ConcurrencyLimiter
from dialer.telecom.numbering import current
from dialer.telecom.redial import RedialPolicy

__all__ = [
    "ApiResources",
    "ResourcesDep",
    "app_resources",
    "open_resources",
    "resources_of",
]


@dataclass(frozen=True)
class ApiResources:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    redis: Redis
    concurrency: ConcurrencyLimiter
    arq: ArqRedis
    policy: RedialPolicy
    """The service-wide redial policy; campaigns add their overrides to it."""
    inbox: InboxWriter
    zoning: Zoning
    """The numbering plan (DATA_DIR's update when newer) and the unknown-zone policy."""


@asynccontextmanager
async def open_resources(settings: Settings) -> AsyncIterator[ApiResources]:
    """Build everything in order; close it in reverse, also when building fails halfway."""
    async with AsyncExitStack() as stack:
        engine = create_engine(settings.database)
        stack.push_async_callback(engine.dispose)
        redis = Redis.from_url(settings.redis_url)
        stack.push_async_callback(redis.aclose)
        arq = await create_pool(RedisSettings.from_dsn(settings.redis_url))
        stack.push_async_callback(arq.aclose)
        sessions = session_factory(engine)
        writes = Writes(engine)
        stack.callback(writes.close)
        concurrency = ConcurrencyLimiter(
            redis, lease_seconds=settings.final_event_timeout + settings.claim_lease
        )
        policy = base_policy(settings)
        inbox = InboxWriter(writes.run, base=policy, concurrency=concurrency, jobs=arq)
        await stack.enter_async_context(inbox.running())
        zoning = Zoning(current(settings.data_dir), settings.unknown_zone)
        yield ApiResources(
            settings, engine, sessions, redis, concurrency, arq, policy, inbox, zoning
        )


def app_resources(app: FastAPI) -> ApiResources:
    resources = getattr(app.state, "resources", None)
    if not isinstance(resources, ApiResources):
        raise RuntimeError("the app's lifespan has not run: no resources")
    return resources


async def resources_of(request: Request) -> ApiResources:
    """Async on purpose: FastAPI runs a plain function dependency in a worker thread."""
    return app_resources(request.app)


ResourcesDep = Annotated[ApiResources, Depends(resources_of)]
