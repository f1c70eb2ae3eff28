"""Helpers of the worker tests: a settable clock, settings pointed at the test's real parts,
arq's ctx as the worker's on_startup fills it, row readers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from arq.connections import ArqRedis
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.tables import Attempt, Campaign, Contact
from dialer.settings import Settings
from dialer.telecom.sbapi import RetryPolicy, SbApiClient
from tests.dialer.simulator.harness import Rig, make_settings
from workers.resources import RESOURCES, WorkerResources, open_resources

NOW = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
"""A Wednesday, 12:00 in Moscow."""
FAST_RETRY = RetryPolicy(attempts=2, initial=0.01, max_wait=0.02)


@dataclass
class Clock:
    now: datetime

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


NOWHERE = "http://127.0.0.1:9"
"""A loopback URL nothing listens on, for tests that never reach sb-api."""


def settings_for(rig: Rig | None, db_url: str, redis_url: str, **overrides: Any) -> Settings:
    """The simulator's own settings (login, sip_id, method) pointed at the test's parts."""
    values: dict[str, Any] = {
        "sb_api_url": f"{rig.url if rig else NOWHERE}/v1/sb",
        "database_url": db_url,
        "redis_url": redis_url,
        "cps": 100.0,
        "a_number": "74950000000",
    }
    return make_settings(rig.receiver_url if rig else NOWHERE, **(values | overrides))


async def worker_ctx(settings: Settings, redis: ArqRedis, clock: Clock) -> dict[str, Any]:
    """arq's ctx as on_startup fills it, with sb-api retries shortened for the tests."""
    resources = await open_resources(settings, redis, clock=clock)
    resources.sbapi = SbApiClient(
        resources.http,
        url=settings.sb_api_url,
        login=settings.sb_login or "",
        password=settings.sb_password,
        method=settings.sb_method,
        ivr_method=settings.sb_ivr_method,
        sip_id=settings.sip_id,
        retry=FAST_RETRY,
    )
    return {"redis": redis, RESOURCES: resources}


def resources_of(ctx: dict[str, Any]) -> WorkerResources:
    resources: WorkerResources = ctx[RESOURCES]
    return resources


Sessions = async_sessionmaker[AsyncSession]


async def attempts(sessions: Sessions) -> list[Attempt]:
    async with sessions() as session:
        return list((await session.scalars(select(Attempt).order_by(Attempt.id))).all())


async def contact(sessions: Sessions, contact_id: int) -> Contact:
    async with sessions() as session:
        return await session.get_one(Contact, contact_id)


async def campaign(sessions: Sessions, campaign_id: int) -> Campaign:
    async with sessions() as session:
        return await session.get_one(Campaign, campaign_id)
