"""The console's home (issue 13): active campaigns, the operator limits in use, today's calls."""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, Depends, Request, Response

from api.console.campaign_list import progress_of
from api.console.guard import check_csrf, signed_in
from api.console.web import page
from api.resources import ResourcesDep
from campaigns import dashboard

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(signed_in), Depends(check_csrf)], include_in_schema=False)


@router.get("/dashboard")
async def home(request: Request, resources: ResourcesDep) -> Response:
    settings = resources.settings
    async with resources.sessions() as session:
        found = await dashboard.dashboard(
            session,
            resources.redis,
            now=datetime.now(UTC),
            zone=settings.default_timezone,
            max_concurrent=settings.max_concurrent,
            cps=settings.cps,
        )
        progress = await progress_of(request).get(session, [c.id for c in found.active])
    context = {"board": found, "progress": progress, "zone": settings.default_timezone}
    return page(request, "dashboard.html", context)
