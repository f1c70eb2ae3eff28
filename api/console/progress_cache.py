"""The campaign list's progress figures, kept for a moment per API process.

Counting a million-contact campaign's contacts by status and outcome scans its indexes (about
a second on SQLite under load): every list view would pay it. Figures up to `TTL` seconds old
are shown instead, the same freshness the live pages promise; an action on a campaign drops
its entry so the list right after it is exact.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import stats
from campaigns.stats import Progress

__all__ = ["ProgressCache"]

TTL: Final = 2.0
MAX_ENTRIES: Final = 10_000


class ProgressCache:
    def __init__(self, ttl: float = TTL, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._entries: dict[int, tuple[float, Progress]] = {}

    async def get(self, session: AsyncSession, campaign_ids: Sequence[int]) -> dict[int, Progress]:
        now = self._clock()
        stale = [
            i
            for i in campaign_ids
            if now - self._entries.get(i, (-self._ttl - 1, None))[0] > self._ttl
        ]
        if stale:
            if len(self._entries) > MAX_ENTRIES:
                self._entries.clear()
            for campaign_id, figures in (await stats.progress_for(session, stale)).items():
                self._entries[campaign_id] = (now, figures)
        return {i: self._entries[i][1] for i in campaign_ids}

    def forget(self, campaign_id: int) -> None:
        self._entries.pop(campaign_id, None)
