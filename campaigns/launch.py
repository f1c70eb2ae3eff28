"""Creating a campaign with its contacts and running it: the rules both the REST API and the
console apply, kept here so neither has a second copy.

- A single call's id is not a campaign here (calls live under `/v1/calls`).
- A campaign created with contacts whose import is refused leaves nothing behind.
- A draft starts only with contacts, and a DTMF menu only with a caller id.
- An edit must leave a usable caller id and callback URL; a finished campaign takes no contacts.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Final

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import contacts, store
from campaigns.db import write_transaction
from campaigns.errors import Conflict, IllegalTransition, NotFound
from campaigns.importer import ImportReport
from campaigns.settings_rows import settings_of
from campaigns.spec import (
    CampaignPatch,
    CampaignSettings,
    check_a_number,
    check_callback_url,
)
from campaigns.states import CampaignKind, CampaignStatus
from campaigns.store import Action
from campaigns.tables import Campaign

__all__ = [
    "CANCELLED_BY",
    "IS_A_CALL",
    "NO_CONTACTS",
    "NO_MORE_CONTACTS",
    "PAUSED_BY",
    "act",
    "add_contacts",
    "create_filled",
    "get_campaign",
    "patch",
    "start",
]

# The refusals and reasons, formatted from these templates (the console recognises them).
IS_A_CALL: Final = "campaign {id} does not exist (it is a call: /v1/calls)"
NO_MORE_CONTACTS: Final = "campaign {id} is {status}: it takes no more contacts"
NO_CONTACTS: Final = "campaign {id} has no contacts: add some before starting"
PAUSED_BY: Final = "paused by {who}"
CANCELLED_BY: Final = "cancelled by {who}"

Fill = Callable[[int], Awaitable[ImportReport]]
"""Imports contacts into the new campaign of this id."""


async def get_campaign(session: AsyncSession, campaign_id: int) -> Campaign:
    """A campaign of kind campaign: a single call's id is not found here."""
    campaign = await store.get(session, campaign_id)
    if campaign.kind != CampaignKind.CAMPAIGN:
        raise NotFound(IS_A_CALL.format(id=campaign_id))
    return campaign


async def create_filled(
    sessions: async_sessionmaker[AsyncSession],
    settings: CampaignSettings,
    fill: Fill | None,
    *,
    now: datetime,
    default_a_number: str | None,
    allow_private_callbacks: bool,
) -> tuple[int, ImportReport | None]:
    """A draft campaign and the import report of `fill`; a refused import (any error) deletes
    the campaign again."""
    check_a_number(settings, default_a_number)
    check_callback_url(settings, allow_private_callbacks)
    async with write_transaction(sessions) as session:
        campaign_id = (await store.create(session, settings, now=now)).id
    if fill is None:
        return campaign_id, None
    try:
        report = await fill(campaign_id)
    except BaseException:
        async with write_transaction(sessions) as session:
            await store.discard(session, campaign_id)
        raise
    return campaign_id, report


async def patch(
    session: AsyncSession,
    campaign_id: int,
    changes: CampaignPatch,
    *,
    now: datetime,
    default_a_number: str | None,
    allow_private_callbacks: bool,
) -> Campaign:
    """Apply a merge patch, inside `write_transaction`: refused (and rolled back) when the
    result has no usable caller id or callback URL."""
    await get_campaign(session, campaign_id)
    campaign = await store.patch(session, campaign_id, changes, now=now)
    settings = settings_of(campaign)
    check_a_number(settings, default_a_number)
    check_callback_url(settings, allow_private_callbacks)
    return campaign


async def add_contacts(
    sessions: async_sessionmaker[AsyncSession], campaign_id: int, fill: Fill
) -> ImportReport:
    """Import more contacts with `fill`, unless the campaign is over."""
    async with sessions() as session:
        campaign = await get_campaign(session, campaign_id)
    if campaign.status in store.FINAL:
        raise IllegalTransition(
            NO_MORE_CONTACTS.format(id=campaign_id, status=campaign.status),
            details={"status": campaign.status},
        )
    return await fill(campaign_id)


async def start(
    session: AsyncSession, campaign_id: int, *, now: datetime, default_a_number: str | None
) -> Campaign:
    """Draft → running (or scheduled), inside `write_transaction`."""
    campaign = await get_campaign(session, campaign_id)
    if campaign.status == CampaignStatus.DRAFT and not await contacts.has_any(session, campaign_id):
        raise Conflict(NO_CONTACTS.format(id=campaign_id))
    check_a_number(settings_of(campaign), default_a_number)
    return await store.start(session, campaign_id, now=now)


async def act(
    session: AsyncSession,
    campaign_id: int,
    action: Action,
    *,
    now: datetime,
    default_a_number: str | None,
    by: str,
) -> Campaign:
    """A lifecycle action on a campaign; `by` names who paused or cancelled it, for people."""
    if action is Action.START:
        return await start(session, campaign_id, now=now, default_a_number=default_a_number)
    await get_campaign(session, campaign_id)
    if action is Action.PAUSE:
        return await store.pause(session, campaign_id, now=now, reason=PAUSED_BY.format(who=by))
    if action is Action.RESUME:
        return await store.resume(session, campaign_id, now=now)
    return await store.cancel(session, campaign_id, now=now, reason=CANCELLED_BY.format(who=by))
