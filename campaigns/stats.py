"""Live campaign statistics (docs/design.md §9), counted from the contact rows in one grouped query.

`attempts` sums the contacts' attempt counters rather than counting attempt rows: the contact
rows are read anyway, and the attempt table has no campaign index to count by.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence

from pydantic import BaseModel, ConfigDict
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.states import ContactStatus
from campaigns.tables import Callback, Contact

__all__ = [
    "CALLBACK_FAILED",
    "CampaignStats",
    "Progress",
    "campaign_stats",
    "progress_for",
    "stats_for",
]

CALLBACK_FAILED = "failed"
"""Status of a CRM callback that ran out of retries."""


class CampaignStats(BaseModel):
    model_config = ConfigDict(frozen=True)

    total: int
    by_status: dict[str, int]
    """Every contact status, zero included."""
    by_outcome: dict[str, int]
    """Only the outcomes some contact has."""
    attempts: int
    listened_seconds: int
    dtmf: dict[str, int]
    """Digit → how many contacts chose it."""
    callbacks_failed: int


async def campaign_stats(session: AsyncSession, campaign_id: int) -> CampaignStats:
    return (await stats_for(session, [campaign_id]))[campaign_id]


async def stats_for(session: AsyncSession, campaign_ids: Sequence[int]) -> dict[int, CampaignStats]:
    """Statistics of each of the campaigns (all zero for one without contacts)."""
    ids = list(dict.fromkeys(campaign_ids))
    if not ids:
        return {}
    groups = await session.execute(
        select(
            Contact.campaign_id,
            Contact.status,
            Contact.outcome,
            Contact.dtmf,
            func.count(),
            func.coalesce(func.sum(Contact.attempts), 0),
            func.coalesce(func.sum(Contact.listened_seconds), 0),
        )
        .where(Contact.campaign_id.in_(ids))
        .group_by(Contact.campaign_id, Contact.status, Contact.outcome, Contact.dtmf)
    )
    failed = await session.execute(
        select(Callback.campaign_id, func.count())
        .where(Callback.campaign_id.in_(ids), Callback.status == CALLBACK_FAILED)
        .group_by(Callback.campaign_id)
    )
    totals = {campaign_id: _Totals() for campaign_id in ids}
    for campaign_id, status, outcome, digits, count, attempts, listened in groups:
        totals[campaign_id].add(status, outcome, digits, count, attempts, listened)
    for campaign_id, count in failed:
        totals[campaign_id].callbacks_failed = count
    return {campaign_id: total.stats() for campaign_id, total in totals.items()}


class _Totals:
    def __init__(self) -> None:
        self.by_status: Counter[str] = Counter(dict.fromkeys(ContactStatus, 0))
        self.by_outcome: Counter[str] = Counter()
        self.dtmf: Counter[str] = Counter()
        self.attempts = 0
        self.listened_seconds = 0
        self.callbacks_failed = 0

    def add(
        self, status: str, outcome: str | None, digits: str, count: int, attempts: int, seconds: int
    ) -> None:
        self.by_status[status] += count
        if outcome is not None:
            self.by_outcome[outcome] += count
        for digit in set(digits):
            self.dtmf[digit] += count
        self.attempts += attempts
        self.listened_seconds += seconds

    def stats(self) -> CampaignStats:
        return CampaignStats(
            total=self.by_status.total(),
            by_status={str(status): count for status, count in self.by_status.items()},
            by_outcome=dict(sorted(self.by_outcome.items())),
            attempts=self.attempts,
            listened_seconds=self.listened_seconds,
            dtmf=dict(sorted(self.dtmf.items())),
            callbacks_failed=self.callbacks_failed,
        )


class Progress(BaseModel):
    """A list's figures of a campaign: counted from two indexes only, no contact row read."""

    model_config = ConfigDict(frozen=True)

    total: int
    done: int
    by_outcome: dict[str, int]


async def progress_for(session: AsyncSession, campaign_ids: Sequence[int]) -> dict[int, Progress]:
    """Contacts, finished contacts and outcomes of each campaign: index-only scans of
    (campaign_id, status, id) and of the finished contacts' (campaign_id, outcome, id)."""
    ids = list(dict.fromkeys(campaign_ids))
    if not ids:
        return {}
    statuses = await session.execute(
        select(Contact.campaign_id, Contact.status, func.count())
        .where(Contact.campaign_id.in_(ids))
        .group_by(Contact.campaign_id, Contact.status)
    )
    outcomes = await session.execute(
        select(Contact.campaign_id, Contact.outcome, func.count())
        .where(Contact.campaign_id.in_(ids), Contact.outcome.is_not(None))
        .group_by(Contact.campaign_id, Contact.outcome)
    )
    total: Counter[int] = Counter()
    done: Counter[int] = Counter()
    by_outcome: dict[int, dict[str, int]] = {campaign_id: {} for campaign_id in ids}
    for campaign_id, status, count in statuses:
        total[campaign_id] += count
        if status == ContactStatus.DONE:
            done[campaign_id] += count
    for campaign_id, outcome, count in outcomes:
        by_outcome[campaign_id][str(outcome)] = count
    return {i: Progress(total=total[i], done=done[i], by_outcome=by_outcome[i]) for i in ids}
