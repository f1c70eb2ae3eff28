"""Campaigns: create, read, edit and the lifecycle (docs/design.md §4).

Every function takes the caller's session, so an action composes with others in one
transaction; those that write must run inside `campaigns.db.write_transaction`. Time is
passed in as `now`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType
from typing import Final

from pydantic import ValidationError
from sqlalchemy import delete, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.contact_status import close_waiting
from campaigns.db import ensure_writing
from campaigns.errors import NO_CAMPAIGN, Conflict, IllegalTransition, NotFound
from campaigns.paging import DEFAULT_LIMIT, Page, check_limit, decode_cursor, make_page
from campaigns.settings_rows import row_values, settings_of
from campaigns.spec import CampaignPatch, CampaignSettings, invalid, merge
from campaigns.states import CampaignKind, CampaignStatus, Outcome
from campaigns.stats import CampaignStats, stats_for
from campaigns.tables import Campaign, Contact

__all__ = [
    "ALLOWED",
    "CANNOT",
    "EDITABLE",
    "ENDED",
    "FINAL",
    "PAUSE_TO_EDIT",
    "Action",
    "CampaignSummary",
    "activate_due",
    "campaign_page",
    "cancel",
    "create",
    "create_once",
    "get",
    "list_campaigns",
    "patch",
    "pause",
    "resume",
    "start",
    "status_on_start",
]

S = CampaignStatus

# The refusals, formatted from these templates (the console recognises them by them).
CANNOT: Final = "campaign {id} is {status}: cannot {action} it"
PAUSE_TO_EDIT: Final = "campaign {id} is {status}: pause it to edit"
ENDED: Final = "campaign {id} ended at {end}: move schedule.end_at to start it"


class Action(StrEnum):
    START = "start"
    PAUSE = "pause"
    RESUME = "resume"
    CANCEL = "cancel"


FINAL = frozenset({S.COMPLETED, S.CANCELLED})
ALLOWED: Mapping[Action, frozenset[CampaignStatus]] = MappingProxyType(
    {
        Action.START: frozenset({S.DRAFT}),
        Action.PAUSE: frozenset({S.RUNNING, S.SCHEDULED}),
        Action.RESUME: frozenset({S.PAUSED}),
        Action.CANCEL: frozenset(set(S) - FINAL),
    }
)
"""The statuses each action is legal from. Start and resume lead to running, or scheduled while
start_at is ahead; a scheduled campaign may be paused (to be edited before it starts). The
workers move scheduled campaigns to running when start_at comes (`activate_due`) and running
ones to completed (`campaigns.sweep`)."""
EDITABLE = frozenset({S.DRAFT, S.PAUSED})


@dataclass(frozen=True)
class CampaignSummary:
    campaign: Campaign
    stats: CampaignStats


def status_on_start(start_at: datetime | None, now: datetime) -> CampaignStatus:
    """Running, or scheduled while `start_at` is still ahead."""
    return S.SCHEDULED if start_at is not None and start_at > now else S.RUNNING


async def create(
    session: AsyncSession,
    settings: CampaignSettings,
    *,
    now: datetime,
    kind: CampaignKind = CampaignKind.CAMPAIGN,
) -> Campaign:
    """A draft campaign (inline contacts of a `CampaignSpec` go through the importer)."""
    ensure_writing(session)
    campaign = Campaign(
        kind=kind, status=S.DRAFT, created_at=now, updated_at=now, **row_values(settings)
    )
    session.add(campaign)
    await session.flush()
    return campaign


async def create_once(
    session: AsyncSession,
    settings: CampaignSettings,
    *,
    key: str,
    now: datetime,
    kind: CampaignKind = CampaignKind.CAMPAIGN,
) -> tuple[Campaign, bool]:
    """Create under an idempotency key, or find what the same key created before: (campaign,
    created). The key reused with other settings is a Conflict."""
    ensure_writing(session)
    try:
        async with session.begin_nested():
            campaign = await create(session, settings, now=now, kind=kind)
            campaign.idempotency_key = key
        return campaign, True
    except IntegrityError:
        existing = await session.execute(select(Campaign).where(Campaign.idempotency_key == key))
        campaign = existing.scalar_one()
    if campaign.kind != kind or row_values(settings_of(campaign)) != row_values(settings):
        raise Conflict(
            f"Idempotency-Key {key!r} was used for another request",
            details={"id": campaign.id},
        )
    return campaign, False


async def get(session: AsyncSession, campaign_id: int) -> Campaign:
    campaign = await session.get(Campaign, campaign_id)
    if campaign is None:
        raise NotFound(NO_CAMPAIGN.format(id=campaign_id))
    return campaign


async def list_campaigns(
    session: AsyncSession,
    *,
    kind: CampaignKind = CampaignKind.CAMPAIGN,
    status: CampaignStatus | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[CampaignSummary]:
    """Newest first, each with its statistics."""
    page = await campaign_page(session, kind=kind, status=status, cursor=cursor, limit=limit)
    stats = await stats_for(session, [campaign.id for campaign in page.items])
    return Page([CampaignSummary(c, stats[c.id]) for c in page.items], page.next_cursor)


async def campaign_page(
    session: AsyncSession,
    *,
    kind: CampaignKind = CampaignKind.CAMPAIGN,
    status: CampaignStatus | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Campaign]:
    """Newest first, without statistics (the console counts only its progress figures)."""
    query = (
        select(Campaign)
        .where(Campaign.kind == kind)
        .order_by(Campaign.id.desc())
        .limit(check_limit(limit) + 1)
    )
    if status is not None:
        query = query.where(Campaign.status == status)
    before = decode_cursor(cursor, int)
    if before is not None:
        query = query.where(Campaign.id < before)
    return make_page((await session.execute(query)).scalars().all(), limit, lambda c: c.id)


async def patch(
    session: AsyncSession, campaign_id: int, changes: CampaignPatch, *, now: datetime
) -> Campaign:
    """Edit a draft or paused campaign's settings (JSON merge patch: objects merge, null
    resets a field to its default)."""
    ensure_writing(session)
    campaign = await _locked(session, campaign_id)
    if campaign.status not in EDITABLE:
        raise IllegalTransition(
            PAUSE_TO_EDIT.format(id=campaign_id, status=campaign.status),
            details={"status": campaign.status},
        )
    try:
        settings = merge(settings_of(campaign), changes)
    except ValidationError as error:
        raise invalid(error) from None
    for column, value in row_values(settings).items():
        setattr(campaign, column, value)
    campaign.updated_at = now
    await session.flush()
    return campaign


async def start(session: AsyncSession, campaign_id: int, *, now: datetime) -> Campaign:
    """Draft → running, or scheduled when its start_at is ahead."""
    return await _move(session, campaign_id, Action.START, now, lambda c: _on_start(c, now))


async def pause(
    session: AsyncSession, campaign_id: int, *, now: datetime, reason: str | None = None
) -> Campaign:
    """Stop dialing new contacts (calls in progress finish); `reason` is shown to people."""
    return await _move(session, campaign_id, Action.PAUSE, now, lambda _: S.PAUSED, reason)


async def resume(session: AsyncSession, campaign_id: int, *, now: datetime) -> Campaign:
    return await _move(session, campaign_id, Action.RESUME, now, lambda c: _on_start(c, now))


async def cancel(
    session: AsyncSession, campaign_id: int, *, now: datetime, reason: str | None = None
) -> Campaign:
    """Final: contacts not being dialed end with outcome cancelled."""
    campaign = await _move(session, campaign_id, Action.CANCEL, now, lambda _: S.CANCELLED, reason)
    await session.execute(close_waiting(Contact.campaign_id == campaign_id, Outcome.CANCELLED))
    return campaign


async def discard(session: AsyncSession, campaign_id: int) -> None:
    """Delete a campaign whose creation could not be completed (its contacts go with it)."""
    ensure_writing(session)
    await session.execute(delete(Campaign).where(Campaign.id == campaign_id))


async def any_due_to_start(session: AsyncSession, *, now: datetime) -> bool:
    """Whether `activate_due` would start a campaign now: a read, before taking the write lock."""
    due = select(Campaign.id).where(Campaign.status == S.SCHEDULED, Campaign.start_at <= now)
    return await session.scalar(due.limit(1)) is not None


async def activate_due(session: AsyncSession, *, now: datetime) -> list[int]:
    """Scheduled campaigns whose start_at has come start running; their ids."""
    ensure_writing(session)
    due = await session.execute(
        update(Campaign)
        .where(Campaign.status == S.SCHEDULED, Campaign.start_at <= now)
        .values(status=S.RUNNING, status_reason=None, updated_at=now)
        .returning(Campaign.id)
    )
    ids = sorted(due.scalars())
    if ids:
        await session.execute(
            update(Campaign)
            .where(Campaign.id.in_(ids), Campaign.started_at.is_(None))
            .values(started_at=now)
        )
    return ids


def _on_start(campaign: Campaign, now: datetime) -> CampaignStatus:
    if campaign.end_at is not None and campaign.end_at <= now:
        raise Conflict(
            ENDED.format(id=campaign.id, end=campaign.end_at.isoformat()),
            details={"field": "schedule.end_at"},
        )
    return status_on_start(campaign.start_at, now)


async def _locked(session: AsyncSession, campaign_id: int) -> Campaign:
    """The campaign, row-locked until commit on PostgreSQL (SQLite's IMMEDIATE locks it all)."""
    found = await session.execute(
        select(Campaign).where(Campaign.id == campaign_id).with_for_update()
    )
    campaign = found.scalar_one_or_none()
    if campaign is None:
        raise NotFound(NO_CAMPAIGN.format(id=campaign_id))
    return campaign


async def _move(
    session: AsyncSession,
    campaign_id: int,
    action: Action,
    now: datetime,
    target: Callable[[Campaign], CampaignStatus],
    reason: str | None = None,
) -> Campaign:
    ensure_writing(session)
    campaign = await _locked(session, campaign_id)
    current = CampaignStatus(campaign.status)
    if current not in ALLOWED[action]:
        raise IllegalTransition(
            CANNOT.format(id=campaign_id, status=current, action=action),
            details={"status": current.value, "action": action.value},
        )
    new = target(campaign)
    campaign.status = new
    campaign.status_reason = reason
    campaign.updated_at = now
    if new is S.RUNNING and campaign.started_at is None:
        campaign.started_at = now
    if new in FINAL:
        campaign.finished_at = now
    await session.flush()
    return campaign
