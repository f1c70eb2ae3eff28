"""The campaign list: status, progress and outcomes of each campaign, and its actions.

Actions run `campaigns.launch.act`, the lifecycle the REST API runs; cancelling asks first on
a page of its own, so it works without JavaScript.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.console.guard import Signed, check_csrf, signed_in
from api.console.progress_cache import ProgressCache
from api.console.web import page
from api.resources import ResourcesDep
from campaigns import launch, store
from campaigns.db import write_transaction
from campaigns.errors import CampaignError
from campaigns.states import CampaignStatus
from campaigns.store import ALLOWED, Action

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(signed_in), Depends(check_csrf)], include_in_schema=False)
PAGE_SIZE: Final = 20
CampaignId = Annotated[int, Path(ge=1, le=2**63 - 1)]
ACTIONS_SHOWN: Final = (Action.START, Action.PAUSE, Action.RESUME, Action.CANCEL)


def progress_of(request: Request) -> ProgressCache:
    """The app's cache (one per app: tests run several apps in one process)."""
    cache = getattr(request.app.state, "console_progress", None)
    if cache is None:
        cache = request.app.state.console_progress = ProgressCache()
    return cache


@router.get("/")
async def home() -> Response:
    return RedirectResponse("/campaigns", status_code=303)


@router.get("/campaigns")
async def campaign_list(
    request: Request,
    resources: ResourcesDep,
    status: Annotated[CampaignStatus | None, Query()] = None,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
    problem: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    async with resources.sessions() as session:
        found = await store.campaign_page(session, status=status, cursor=cursor, limit=PAGE_SIZE)
        progress = await progress_of(request).get(session, [c.id for c in found.items])
    rows = []
    for campaign in found.items:
        figures = progress[campaign.id]
        current = CampaignStatus(campaign.status)
        rows.append(
            {
                "campaign": campaign,
                "done": figures.done,
                "total": figures.total,
                "outcomes": sorted(figures.by_outcome.items(), key=lambda item: -item[1]),
                "actions": [a.value for a in ACTIONS_SHOWN if current in ALLOWED[a]],
            }
        )
    context = {
        "rows": rows,
        "status": status.value if status else "",
        "statuses": [s.value for s in CampaignStatus],
        "next_cursor": found.next_cursor,
        "first_page": cursor is None,
        "problem": problem,
    }
    return page(request, "campaigns.html", context)


@router.get("/campaigns/{campaign_id}/cancel")
async def confirm_cancel(
    request: Request, resources: ResourcesDep, campaign_id: CampaignId
) -> Response:
    async with resources.sessions() as session:
        campaign = await launch.get_campaign(session, campaign_id)
    return page(request, "cancel.html", {"campaign": campaign})


@router.post("/campaigns/{campaign_id}/{action}")
async def run_action(
    request: Request,
    identity: Signed,
    resources: ResourcesDep,
    campaign_id: CampaignId,
    action: Action,
    back: Annotated[str, Form(max_length=2000)] = "/campaigns",
) -> Response:
    target = back if back.startswith("/campaigns") else "/campaigns"
    progress_of(request).forget(campaign_id)
    try:
        async with write_transaction(resources.sessions) as session:
            await launch.act(
                session,
                campaign_id,
                action,
                now=datetime.now(UTC),
                default_a_number=resources.settings.a_number,
                by=identity.login,
            )
    except CampaignError as error:
        joiner = "&" if "?" in target else "?"
        return RedirectResponse(f"{target}{joiner}problem={quote(error.message)}", status_code=303)
    return RedirectResponse(target, status_code=303)
