"""The console's home (issue 13): active campaigns, the operator limits in use, today's calls,
and MTT's balance as the workers' poller last read it (when the poller is configured)."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Request, Response

from api.console.campaign_list import progress_of
from api.console.guard import check_csrf, signed_in
from api.console.web import page
from api.resources import ApiResources, ResourcesDep
from campaigns import dashboard
from campaigns.balance import BalanceGate, read_balance

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(signed_in), Depends(check_csrf)], include_in_schema=False)


@router.get("/dashboard")
async def home(request: Request, resources: ResourcesDep) -> Response:
    settings = resources.settings
    now = datetime.now(UTC)
    async with resources.sessions() as session:
        found = await dashboard.dashboard(
            session,
            resources.redis,
            now=now,
            zone=settings.default_timezone,
            max_concurrent=settings.max_concurrent,
            cps=settings.cps,
        )
        progress = await progress_of(request).get(session, [c.id for c in found.active])
    context = {"board": found, "progress": progress, "zone": settings.default_timezone}
    return page(request, "dashboard.html", context | await _balance(resources, now))


async def _balance(resources: ApiResources, now: datetime) -> dict[str, object]:
    """The figure, its read and failure times in the service's zone, and whether it gates."""
    gate = BalanceGate.from_settings(resources.settings)
    if gate is None:
        return {}
    reading = await read_balance(resources.redis)
    zone = ZoneInfo(resources.settings.default_timezone)
    return {
        "balance": reading,
        "balance_low": gate.closed(reading, now),
        "balance_min": gate.threshold,
        "balance_read": _shown(reading.read_at, zone),
        "balance_failed": _shown(reading.failed_at, zone),
    }


def _shown(moment: datetime | None, zone: ZoneInfo) -> str | None:
    return None if moment is None else moment.astimezone(zone).strftime("%d.%m %H:%M:%S")
