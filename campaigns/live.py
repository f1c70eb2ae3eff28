"""What the live campaign page shows, shared by its viewers and recounted in the background.

Counting a campaign's contacts is one pass over them: seconds for a million on SQLite, and a
page polled every two seconds by several people must not pay that per request. `LivePages`
keeps each campaign's last `LiveView` for `max_age` seconds; a request after that gets the
one it has at once and starts a single recount (stale while revalidating), so a viewer waits
only for the very first count of a campaign. A view is also kept for RECOUNT_SPACING times
as long as its count took, so that recounting a huge campaign takes at most that share of
the time, however many people watch it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import idle, insights
from campaigns.errors import NO_CAMPAIGN, NotFound
from campaigns.tables import Campaign

__all__ = ["LivePages", "LiveView", "live_view"]

log = logging.getLogger(__name__)

RECOUNT_SPACING: Final = 10
"""A view is kept at least this many times as long as counting it took."""


@dataclass(frozen=True)
class LiveView:
    campaign_id: int
    status: str
    at: datetime
    """When it was counted."""
    figures: insights.Figures
    timeline: list[insights.Point]
    idle: idle.Idle | None
    """Why it is not dialing; None while it dials."""
    took: float = 0.0
    """Seconds the count took."""


async def live_view(
    session: AsyncSession,
    campaign_id: int,
    *,
    now: datetime,
    span: timedelta,
    known: Sequence[insights.Point] = (),
    balance_low: bool = False,
) -> LiveView:
    """Count everything the page shows, now; the settled buckets of `known`, an earlier
    timeline of the same span, are reused (`insights.timeline`). `balance_low`: the balance
    gate is closed (campaigns.balance)."""
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(NO_CAMPAIGN.format(id=campaign_id))
    figures = await insights.figures(session, campaign_id, now=now)
    backlog = await idle.backlog(session, campaign_id, figures.stats, now=now)
    return LiveView(
        campaign_id=campaign_id,
        status=campaign.status,
        at=now,
        figures=figures,
        timeline=await insights.timeline(session, campaign_id, now=now, span=span, known=known),
        idle=idle.why_idle(campaign, backlog, now, balance_low=balance_low),
    )


class LivePages:
    """Per process: the last view of up to `capacity` campaigns, the least recently asked for
    forgotten first."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        max_age: float,
        span: timedelta = timedelta(hours=3),
        capacity: int = 256,
        timer: Callable[[], float] = time.perf_counter,
        balance_low: Callable[[datetime], Awaitable[bool]] | None = None,
    ) -> None:
        """`timer` measures how long counts take (seconds, any origin); `balance_low` tells
        whether the balance gate is closed at an instant (none: never)."""
        self._sessions = sessions
        self._timer = timer
        self._balance_low = balance_low
        self._max_age = timedelta(seconds=max_age)
        self._span = span
        self._capacity = capacity
        self._views: OrderedDict[int, LiveView] = OrderedDict()
        self._recounts: dict[int, asyncio.Task[None]] = {}

    async def view(self, campaign_id: int, *, now: datetime) -> LiveView:
        """The campaign's view: counted now if there is none, else the one held (recounted in
        the background when older than `max_age`). NotFound for an unknown campaign."""
        held = self._views.get(campaign_id)
        if held is None:
            return self._keep(await self._count(campaign_id, now))
        self._views.move_to_end(campaign_id)
        keep = max(self._max_age, timedelta(seconds=held.took * RECOUNT_SPACING))
        if now - held.at >= keep and campaign_id not in self._recounts:
            task = asyncio.create_task(self._recount(campaign_id, now))
            self._recounts[campaign_id] = task
        return held

    async def settled(self) -> None:
        """Wait for the recounts under way (tests, shutdown)."""
        await asyncio.gather(*self._recounts.values(), return_exceptions=True)

    async def _count(self, campaign_id: int, now: datetime) -> LiveView:
        started = self._timer()
        held = self._views.get(campaign_id)
        known = () if held is None else held.timeline
        low = self._balance_low is not None and await self._balance_low(now)
        async with self._sessions() as session:
            view = await live_view(
                session, campaign_id, now=now, span=self._span, known=known, balance_low=low
            )
        return replace(view, took=self._timer() - started)

    async def _recount(self, campaign_id: int, now: datetime) -> None:
        try:
            self._keep(await self._count(campaign_id, now))
        except NotFound:
            self._views.pop(campaign_id, None)
        except Exception:
            log.exception("recounting campaign %d's live figures failed", campaign_id)
        finally:
            del self._recounts[campaign_id]

    def _keep(self, view: LiveView) -> LiveView:
        self._views[view.campaign_id] = view
        self._views.move_to_end(view.campaign_id)
        while len(self._views) > self._capacity:
            self._views.popitem(last=False)
        return view
