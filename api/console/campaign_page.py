"""The live campaign page (issue 13): figures, charts, why it is not dialing, actions, files.

The page embeds a fragment that htmx fetches again every `POLL_SECONDS` until the campaign
is over; without JavaScript the page is the same, read once. Figures come from
`campaigns.live.LivePages` (shared by every viewer, recounted in the background), calls in
progress and per minute from `campaigns.insights.pulse` at each rendering, the status and the
actions from the campaign row itself, so an action shows at once. Files are the
REST export's own bytes (`campaigns.exporter`), copies are `campaigns.copies`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Final, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse

from api.console import charts
from api.console.campaign_list import ACTIONS_SHOWN, CampaignId, progress_of
from api.console.guard import Signed, check_csrf, signed_in
from api.console.i18n import Translator
from api.console.upload_store import RejectedRows
from api.console.web import page, translator
from api.resources import ApiResources, ResourcesDep
from campaigns import copies, exporter, insights, launch
from campaigns.balance import balance_low_now
from campaigns.copies import CopyContacts
from campaigns.db import write_transaction
from campaigns.errors import NotFound
from campaigns.idle import Idle
from campaigns.live import LivePages, LiveView
from campaigns.states import CampaignStatus
from campaigns.store import ALLOWED
from campaigns.tables import Campaign

__all__ = ["idle_words", "router"]

router = APIRouter(dependencies=[Depends(signed_in), Depends(check_csrf)], include_in_schema=False)
POLL_SECONDS: Final = 2
MAX_FRAGMENTS: Final = 512
_TOKEN_SLOT: Final = "csrf-token-slot-7f3a"  # noqa: S105 - a placeholder, no secret
"""Stands for the viewer's CSRF token in a shared rendered fragment."""
FINAL: Final = frozenset({CampaignStatus.COMPLETED.value, CampaignStatus.CANCELLED.value})
MEDIA_TYPES: Final = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
OUTCOME_ORDER: Final = (
    "listened",
    "hung_up",
    "no_answer",
    "busy",
    "unavailable",
    "rejected",
    "network_error",
    "invalid_number",
    "route_error",
    "dnc",
    "failed",
    "unknown",
    "expired",
    "cancelled",
)


def live_pages(request: Request, resources: ApiResources) -> LivePages:
    """The app's shared views (one per app: tests run several apps in one process)."""
    pages = getattr(request.app.state, "console_live", None)
    if pages is None:
        max_age = resources.settings.live_figures_max_age

        async def balance_low(now: datetime) -> bool:
            return await balance_low_now(resources.redis, resources.settings, now)

        pages = request.app.state.console_live = LivePages(
            resources.sessions, max_age=max_age, balance_low=balance_low
        )
    return pages


def idle_words(t: Translator, idle: Idle | None, campaign_zone: str) -> str | None:
    """Why the campaign is not dialing, in the page's language; None while it dials."""
    if idle is None:
        return None
    zone = idle.zone or campaign_zone
    fields: dict[str, str] = {"zone": zone}
    if idle.until is not None:
        local = idle.until.astimezone(ZoneInfo(zone))
        fields |= {"time": local.strftime("%H:%M"), "date": local.strftime("%d.%m.%Y")}
    return t(f"idle.{idle.code.value}", **fields)


def _chart_context(t: Translator, view: LiveView, zone: str) -> dict[str, Any]:
    figures = view.figures
    outcomes = [
        (t(f"outcome.{name}"), figures.stats.by_outcome[name])
        for name in OUTCOME_ORDER
        if figures.stats.by_outcome.get(name)
    ]
    bounds = [bound for bound, _ in figures.histogram]
    histogram = [
        (
            f"{bound}–{bounds[i + 1]}" if i + 1 < len(bounds) else f"{bound}+",
            count,
        )
        for i, (bound, count) in enumerate(figures.histogram)
    ]
    digits = [(digit, figures.stats.dtmf.get(digit, 0)) for digit in sorted(figures.stats.dtmf)]
    tz = ZoneInfo(zone)
    labels = [point.at.astimezone(tz).strftime("%H:%M") for point in view.timeline]
    series = [
        (t("campaign.calls"), [point.calls for point in view.timeline]),
        (t("campaign.answers"), [point.answers for point in view.timeline]),
    ]
    return {
        "timeline": charts.lines(labels, series),
        "timeline_rows": list(zip(labels, series[0][1], series[1][1], strict=True)),
        "outcome_chart": charts.bars(outcomes),
        "histogram": charts.bars(histogram),
        "dtmf_chart": charts.bars(digits),
    }


async def _live_context(
    request: Request, resources: ApiResources, campaign: Campaign
) -> dict[str, Any]:
    t = translator(request)
    now = datetime.now(UTC)
    view = await live_pages(request, resources).view(campaign.id, now=now)
    async with resources.sessions() as session:
        pulse = await insights.pulse(session, campaign.id, now=now)
    figures = view.figures
    current = CampaignStatus(campaign.status)
    settled = campaign.status in FINAL and view.status == campaign.status
    return {
        "campaign": campaign,
        "view": view,
        "figures": figures,
        "pulse": pulse,
        "pct": 100 * figures.done / figures.total if figures.total else 0.0,
        "idle": idle_words(t, view.idle, campaign.timezone) if view.status == current else None,
        "idle_detail": view.idle.detail if view.idle is not None else None,
        "actions": [a.value for a in ACTIONS_SHOWN if current in ALLOWED[a]],
        "poll": None if settled else POLL_SECONDS,
        "version": _version(view),
        "counted_at": view.at.strftime("%H:%M:%S"),
        **_chart_context(t, view, campaign.timezone),
    }


def _version(view: LiveView) -> str:
    """Which count of the campaign a fragment shows."""
    return f"{view.at.timestamp():.6f}-{view.status}"


async def _campaign(resources: ApiResources, campaign_id: int) -> Campaign:
    async with resources.sessions() as session:
        return await launch.get_campaign(session, campaign_id)


@router.get("/campaigns/{campaign_id}")
async def campaign_page(
    request: Request,
    resources: ResourcesDep,
    campaign_id: CampaignId,
    problem: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    campaign = await _campaign(resources, campaign_id)
    context = await _live_context(request, resources, campaign)
    rejected = RejectedRows(resources.settings.data_dir).of(campaign_id)
    extra = {"problem": problem, "rejected_rows": None if rejected is None else len(rejected)}
    return page(request, "campaign.html", context | extra)


@router.get("/campaigns/{campaign_id}/live")
async def live_fragment(
    request: Request,
    identity: Signed,
    resources: ResourcesDep,
    campaign_id: CampaignId,
    seen: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """The part of the page that changes, for htmx to swap in; 204 (htmx keeps what it has)
    when the browser shows this version already: most polls, as views are recounted less
    often than pages poll, render nothing and read no more than the session."""
    view = await live_pages(request, resources).view(campaign_id, now=datetime.now(UTC))
    if seen and seen == _version(view):
        return Response(status_code=204, headers={"Cache-Control": "no-store"})
    campaign = await _campaign(resources, campaign_id)
    key = (campaign.id, _version(view), campaign.status, translator(request).lang)
    shared = _fragments(request)
    body = shared.get(key)
    if body is None:
        context = await _live_context(request, resources, campaign)
        rendered = page(request, "_campaign_live.html", context | {"csrf_token": _TOKEN_SLOT})
        body = shared[key] = bytes(rendered.body)
    html = body.replace(_TOKEN_SLOT.encode(), identity.csrf_token.encode())
    return HTMLResponse(html, headers={"Cache-Control": "no-store"})


def _fragments(request: Request) -> dict[tuple[int, str, str, str], bytes]:
    """Rendered fragments by campaign, version, status and language, shared by every viewer
    (their CSRF token goes in on the way out): twenty people watching one campaign cost one
    rendering per count, not twenty."""
    shared: dict[tuple[int, str, str, str], bytes] | None = getattr(
        request.app.state, "console_fragments", None
    )
    if shared is None or len(shared) > MAX_FRAGMENTS:
        shared = request.app.state.console_fragments = {}
    return shared


@router.get("/campaigns/{campaign_id}/export")
async def export(
    request: Request,
    resources: ResourcesDep,
    campaign_id: CampaignId,
    fmt: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
    level: Literal["contacts", "attempts"] = "contacts",
    lang: Literal["en", "ru"] | None = None,
) -> Response:
    """The results file of the download buttons: the bytes `GET /v1/campaigns/{id}/export`
    sends for the same format, level and language (the page's, unless given)."""
    await _campaign(resources, campaign_id)
    language = lang or translator(request).lang
    if level == "contacts":
        now = datetime.now(UTC)
        low = await balance_low_now(resources.redis, resources.settings, now)
        chunks = exporter.export_contacts(
            resources.sessions,
            campaign_id,
            fmt=fmt,
            delimiter=";",
            lang=language,
            now=now,
            balance_low=low,
        )
    else:
        chunks = exporter.export_attempts(
            resources.sessions, campaign_id, fmt=fmt, delimiter=";", lang=language
        )
    first = await anext(chunks)

    async def body() -> Any:
        yield first
        async for chunk in chunks:
            yield chunk

    filename = f"campaign-{campaign_id}-{level}.{fmt}"
    headers = {"Content-Disposition": f'attachment; filename="{filename}"'}
    return StreamingResponse(body(), media_type=MEDIA_TYPES[fmt], headers=headers)


@router.get("/campaigns/{campaign_id}/rejected-rows.csv")
async def rejected_rows(resources: ResourcesDep, campaign_id: CampaignId) -> Response:
    """The rejected rows of the campaign's console import, as the import report gave them."""
    await _campaign(resources, campaign_id)
    rows = RejectedRows(resources.settings.data_dir).of(campaign_id)
    if rows is None:
        raise NotFound(f"campaign {campaign_id} has no rejected rows kept")
    body = exporter.rejected_csv(rows)
    headers = {"Content-Disposition": f'attachment; filename="campaign-{campaign_id}-rejected.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)


@router.post("/campaigns/{campaign_id}/copy")
async def copy(
    request: Request,
    resources: ResourcesDep,
    campaign_id: CampaignId,
    contacts: Annotated[CopyContacts, Form()] = CopyContacts.NONE,
) -> Response:
    """A new draft from this campaign (settings only, or with its unreached contacts); the
    user lands on it."""
    async with write_transaction(resources.sessions) as session:
        await launch.get_campaign(session, campaign_id)
        made, _ = await copies.copy_campaign(session, campaign_id, contacts, now=datetime.now(UTC))
        made_id = made.id
    progress_of(request).forget(made_id)
    return RedirectResponse(f"/campaigns/{made_id}", status_code=303)
