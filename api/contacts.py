"""`/v1/campaigns/{id}/contacts` and `/waiting`: a campaign's contacts, each with why it waits
(docs/design.md §9). The campaign itself is `api.campaigns`'.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query

from api.auth import keyed_router
from api.resources import ApiResources, ResourcesDep
from api.schemas import (
    CampaignId,
    ContactHistoryOut,
    ContactId,
    ContactOut,
    ContactPage,
    Limit,
    WaitingOut,
    errors,
)
from campaigns import contacts, launch
from campaigns.balance import balance_low_now
from campaigns.paging import DEFAULT_LIMIT, ID_CURSOR, NUMBER_CURSOR
from campaigns.states import ContactStatus, Outcome
from campaigns.waiting import WaitingReasons, waiting_summary

__all__ = ["router"]

router = keyed_router("/v1/campaigns", "campaigns")

ContactCursor = Annotated[
    str | None,
    Query(
        pattern=f"{ID_CURSOR}|{NUMBER_CURSOR}",
        description="`next_cursor` of the previous page: an id, or `n` and a number when the "
        "page searches by number",
    ),
]
_campaign = launch.get_campaign


async def _at(resources: ApiResources) -> tuple[datetime, bool]:
    """Now, and whether the balance gate holds calls back now: what a waiting reason needs."""
    now = datetime.now(UTC)
    return now, await balance_low_now(resources.redis, resources.settings, now)


@router.get(
    "/{campaign_id}/contacts",
    response_model=ContactPage,
    responses=errors(404, 422),
    summary="Contacts in id order, filtered by status and outcome",
)
async def list_contacts(
    campaign_id: CampaignId,
    resources: ResourcesDep,
    status: ContactStatus | None = None,
    outcome: Outcome | None = None,
    number: Annotated[
        str | None,
        Query(
            min_length=1,
            max_length=64,
            description="digits anywhere in the number, or its start when typed as one "
            "(+7…, 7…, 8…); results then come in number order",
        ),
    ] = None,
    cursor: ContactCursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> ContactPage:
    now, low = await _at(resources)
    async with resources.sessions() as session:
        reasons = WaitingReasons(await _campaign(session, campaign_id), now, balance_low=low)
        page = await contacts.list_contacts(
            session,
            campaign_id,
            status=None if status is None else status.value,
            outcome=None if outcome is None else outcome.value,
            number=number,
            cursor=cursor,
            limit=limit,
        )
    items = [ContactOut.of(c, reasons.of_contact(c)) for c in page.items]
    return ContactPage(items=items, next_cursor=page.next_cursor)


@router.get(
    "/{campaign_id}/waiting",
    response_model=WaitingOut,
    responses=errors(404, 422),
    summary="Waiting contacts counted by why they are not being called, and until when",
)
async def campaign_waiting(campaign_id: CampaignId, resources: ResourcesDep) -> WaitingOut:
    now, low = await _at(resources)
    async with resources.sessions() as session:
        campaign = await _campaign(session, campaign_id)
        groups = await waiting_summary(session, campaign, now, balance_low=low)
    return WaitingOut.model_validate({"items": groups})


@router.get(
    "/{campaign_id}/contacts/{contact_id}",
    response_model=ContactHistoryOut,
    responses=errors(404, 422),
    summary="One contact with its calls and each call's webhook events (conflicts among them)",
)
async def read_contact(
    campaign_id: CampaignId, contact_id: ContactId, resources: ResourcesDep
) -> ContactHistoryOut:
    now, low = await _at(resources)
    async with resources.sessions() as session:
        reasons = WaitingReasons(await _campaign(session, campaign_id), now, balance_low=low)
        history = await contacts.contact_history(session, campaign_id, contact_id)
    return ContactHistoryOut.of_history(history, reasons.of_contact(history.contact))
