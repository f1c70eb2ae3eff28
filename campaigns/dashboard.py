"""The console's home: active campaigns, the operator limits in use, and today's calls.

Limits in use come from Redis, where the workers keep them (`dialer.limits`): the concurrency
leases held and the requests admitted in the last second. "Today" is the calendar day of the
service's default zone.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo

from redis.asyncio import Redis
from sqlalchemy import case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.apply import ANSWERED
from campaigns.states import CampaignKind, CampaignStatus
from campaigns.tables import Attempt, Campaign
from dialer.limits import ConcurrencyLimiter, cps_in_use

__all__ = ["ACTIVE", "Dashboard", "dashboard", "day_bounds"]

ACTIVE: Final = (CampaignStatus.RUNNING, CampaignStatus.SCHEDULED, CampaignStatus.PAUSED)
_ANSWERED: Final = sorted(category.value for category in ANSWERED)


@dataclass(frozen=True)
class Dashboard:
    active: list[Campaign]
    """Running, scheduled and paused campaigns, newest first."""
    calls_in_progress: int
    concurrency_limit: int
    cps_in_use: int
    """Call requests sent within the last second."""
    cps_limit: float
    calls_today: int
    answers_today: int


def day_bounds(now: datetime, zone: str) -> tuple[datetime, datetime]:
    """The UTC start and end of `now`'s calendar day in `zone`."""
    tz = ZoneInfo(zone)
    day = now.astimezone(tz).date()
    start = datetime.combine(day, time(), tz)
    end = datetime.combine(day + timedelta(days=1), time(), tz)
    return start.astimezone(UTC), end.astimezone(UTC)


async def dashboard(
    session: AsyncSession,
    redis: Redis,
    *,
    now: datetime,
    zone: str,
    max_concurrent: int,
    cps: float,
) -> Dashboard:
    """`max_concurrent`, `cps` and `zone` are the service's settings of the same names
    (`default_timezone` for the zone)."""
    active = await session.scalars(
        select(Campaign)
        .where(Campaign.kind == CampaignKind.CAMPAIGN, Campaign.status.in_(ACTIVE))
        .order_by(Campaign.id.desc())
    )
    start, end = day_bounds(now, zone)
    answered = case((Attempt.category.in_(_ANSWERED), 1), else_=0)
    calls, answers = (
        await session.execute(
            select(func.count(), func.coalesce(func.sum(answered), 0)).where(
                Attempt.claimed_at >= start, Attempt.claimed_at < end
            )
        )
    ).one()
    scope = ConcurrencyLimiter.global_scope(max_concurrent)
    free = await ConcurrencyLimiter(redis, lease_seconds=1).free(scope)
    return Dashboard(
        active=list(active),
        calls_in_progress=max_concurrent - free,
        concurrency_limit=max_concurrent,
        cps_in_use=await cps_in_use(redis),
        cps_limit=cps,
        calls_today=calls,
        answers_today=int(answers),
    )
