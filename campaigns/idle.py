"""Why a campaign is not dialing right now, as a value the page words (issue 13).

`why_idle` is pure: the campaign row, its `Backlog` (what its waiting contacts wait for) and
`now` in, an `Idle` (a code and its parameters) or None (it is dialing, or may any moment)
out. The order of the checks is the order of what a person can do about it: the campaign's
status first, then its dates, then the contacts. Codes shared with the per-contact reasons of
`campaigns.waiting` carry the same names (`not_started`, `campaign_scheduled`, `window_closed`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.policy import window_of
from campaigns.spikes import REASON_PREFIX as NETWORK_SPIKE_PREFIX
from campaigns.spikes import summary_of
from campaigns.states import CampaignStatus, ContactStatus
from campaigns.stats import CampaignStats
from campaigns.tables import Campaign, Contact
from campaigns.windows import next_opening

__all__ = ["ACCOUNT_REFUSED_PREFIX", "Backlog", "Idle", "IdleCode", "backlog", "why_idle"]

S = CampaignStatus
ACCOUNT_REFUSED_PREFIX: Final = "sb-api refused the account"
"""How `campaigns.dial` begins the reason it pauses a campaign with when MTT refuses it."""
_WAITING: Final = (ContactStatus.PENDING, ContactStatus.SCHEDULED)


class IdleCode(StrEnum):
    NOT_STARTED = "not_started"
    CAMPAIGN_SCHEDULED = "campaign_scheduled"
    """`until` is start_at."""
    PAUSED_BY_USER = "paused_by_user"
    ACCOUNT_REFUSED = "account_refused"
    """The service paused it: MTT refused the account; `detail` is MTT's words."""
    NETWORK_SPIKE = "network_spike"
    """The service paused it: most recent calls failed in MTT's network (campaigns.spikes);
    `detail` is the counts and causes (campaigns.spikes.SUMMARY)."""
    PAUSED_BY_SERVICE = "paused_by_service"
    """The service paused it for another reason, in `detail`."""
    COMPLETED = "completed"
    CANCELLED = "cancelled"
    END_DATE_PASSED = "end_date_passed"
    """`until` is the end_at that passed."""
    NO_CONTACTS = "no_contacts"
    NO_CONTACTS_DUE = "no_contacts_due"
    """Every waiting contact waits for its redial time; `until` is the earliest."""
    WINDOW_CLOSED = "window_closed"
    """The due contacts' calling window is shut; `until` is its first opening, in `zone`."""
    BALANCE_LOW = "balance_low"
    """Contacts are due in an open window, but MTT's balance is at or below the service's
    minimum (campaigns.balance): no new calls until a poll finds money."""


@dataclass(frozen=True)
class Idle:
    code: IdleCode
    until: datetime | None = None
    zone: str | None = None
    detail: str | None = None


@dataclass(frozen=True)
class Backlog:
    """A campaign's waiting contacts (pending or scheduled) at one instant."""

    contacts: int
    """All its contacts, in any status."""
    dialing: int
    due_zones: Mapping[str, int] = field(default_factory=dict)
    """Time zone → contacts due now (no redial time ahead) there."""
    next_redial: datetime | None = None
    """The earliest redial time still ahead."""


def why_idle(
    campaign: Campaign, backlog: Backlog, now: datetime, *, balance_low: bool = False
) -> Idle | None:
    """What keeps the campaign from dialing at `now`; None when nothing does. `balance_low`:
    the balance gate is closed (campaigns.balance)."""
    status = CampaignStatus(campaign.status)
    if status is S.DRAFT:
        return Idle(IdleCode.NOT_STARTED)
    if status in (S.COMPLETED, S.CANCELLED):
        code = IdleCode.COMPLETED if status is S.COMPLETED else IdleCode.CANCELLED
        return Idle(code, detail=campaign.status_reason)
    if status is S.PAUSED:
        return _paused(campaign.status_reason)
    if campaign.end_at is not None and campaign.end_at <= now:
        return Idle(IdleCode.END_DATE_PASSED, until=campaign.end_at)
    if status is S.SCHEDULED or (campaign.start_at is not None and campaign.start_at > now):
        return Idle(IdleCode.CAMPAIGN_SCHEDULED, until=campaign.start_at)
    if backlog.contacts == 0:
        return Idle(IdleCode.NO_CONTACTS)
    if backlog.dialing:
        return None
    if not backlog.due_zones:
        if backlog.next_redial is None:
            return None  # nothing waits: the sweeper completes it
        return Idle(IdleCode.NO_CONTACTS_DUE, until=backlog.next_redial)
    shut = _window(campaign, backlog, now)
    return Idle(IdleCode.BALANCE_LOW) if shut is None and balance_low else shut


def _paused(reason: str | None) -> Idle:
    if reason is None:
        return Idle(IdleCode.PAUSED_BY_USER)
    if reason.startswith(ACCOUNT_REFUSED_PREFIX):
        detail = reason.removeprefix(ACCOUNT_REFUSED_PREFIX).lstrip(": ") or None
        return Idle(IdleCode.ACCOUNT_REFUSED, detail=detail)
    if reason.startswith(NETWORK_SPIKE_PREFIX):
        return Idle(IdleCode.NETWORK_SPIKE, detail=summary_of(reason))
    return Idle(IdleCode.PAUSED_BY_SERVICE, detail=reason)


def _window(campaign: Campaign, backlog: Backlog, now: datetime) -> Idle | None:
    """None when some due zone's window is open; else the zone that opens first."""
    window = window_of(campaign)
    openings: list[tuple[datetime, str]] = []
    for zone in sorted(backlog.due_zones):
        opening = next_opening(
            window, zone, now, start_at=campaign.start_at, end_at=campaign.end_at
        )
        if opening is not None and opening <= now:
            return None
        if opening is not None:
            openings.append((opening, zone))
    if not openings:
        return Idle(IdleCode.END_DATE_PASSED, until=campaign.end_at)
    until, zone = min(openings)
    return Idle(IdleCode.WINDOW_CLOSED, until=until, zone=zone)


async def backlog(
    session: AsyncSession, campaign_id: int, stats: CampaignStats, *, now: datetime
) -> Backlog:
    """The campaign's `Backlog`, given its statistics (`campaigns.insights.figures` has them):
    two reads of the pacer's own index, over the waiting contacts only."""
    waiting = (Contact.campaign_id == campaign_id, Contact.status.in_(_WAITING))
    due = or_(Contact.next_attempt_at.is_(None), Contact.next_attempt_at <= now)
    zones = await session.execute(
        select(Contact.timezone, func.count()).where(*waiting, due).group_by(Contact.timezone)
    )
    redial = await session.scalar(
        select(func.min(Contact.next_attempt_at)).where(*waiting, Contact.next_attempt_at > now)
    )
    return Backlog(
        contacts=stats.total,
        dialing=stats.by_status[ContactStatus.DIALING],
        due_zones=dict(zones.all()),
        next_redial=redial,
    )
