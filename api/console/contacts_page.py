"""A campaign's contacts, a page at a time, and one contact's whole history (issue 13).

Paging is `campaigns.contacts.list_contacts`' keyset (the REST list's): the next page starts
after the last key shown, so page 18,000 costs what page 1 costs.
"""

from __future__ import annotations

from typing import Annotated, Final
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Path, Query, Request, Response

from api.console.campaign_list import CampaignId
from api.console.guard import check_csrf, signed_in
from api.console.web import page, translator
from api.resources import ResourcesDep
from campaigns import contacts, launch
from campaigns.errors import Invalid
from campaigns.states import ContactStatus, Outcome
from dialer.telecom.causes import cause_text

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(signed_in), Depends(check_csrf)], include_in_schema=False)
PAGE_SIZE: Final = 50


@router.get("/campaigns/{campaign_id}/contacts")
async def contact_list(
    request: Request,
    resources: ResourcesDep,
    campaign_id: CampaignId,
    number: Annotated[str, Query(max_length=64)] = "",
    status: Annotated[ContactStatus | None, Query()] = None,
    outcome: Annotated[Outcome | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=40)] = None,
) -> Response:
    problem = None
    found = None
    async with resources.sessions() as session:
        campaign = await launch.get_campaign(session, campaign_id)
        try:
            found = await contacts.list_contacts(
                session,
                campaign_id,
                status=status.value if status else None,
                outcome=outcome.value if outcome else None,
                number=number.strip() or None,
                cursor=cursor,
                limit=PAGE_SIZE,
            )
        except Invalid as error:
            problem = error.message
    query = {
        "number": number,
        "status": status.value if status else "",
        "outcome": outcome.value if outcome else "",
    }
    context = {
        "campaign": campaign,
        "rows": found.items if found else [],
        "next_cursor": found.next_cursor if found else None,
        "first_page": cursor is None,
        "query": query,
        "kept": urlencode({key: value for key, value in query.items() if value}),
        "statuses": [s.value for s in ContactStatus],
        "outcomes": [o.value for o in Outcome],
        "problem": problem,
    }
    return page(request, "contacts.html", context, status=422 if problem else 200)


@router.get("/campaigns/{campaign_id}/contacts/{contact_id}")
async def contact_page(
    request: Request,
    resources: ResourcesDep,
    campaign_id: CampaignId,
    contact_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
) -> Response:
    async with resources.sessions() as session:
        campaign = await launch.get_campaign(session, campaign_id)
        history = await contacts.contact_history(session, campaign_id, contact_id)
    lang = translator(request).lang
    attempts = [
        {
            "attempt": attempt,
            "cause_text": None if attempt.cause is None else cause_text(attempt.cause, lang=lang),
            "events": history.events.get(attempt.id, []),
        }
        for attempt in history.attempts
    ]
    context = {"campaign": campaign, "contact": history.contact, "attempts": attempts}
    return page(request, "contact.html", context)
