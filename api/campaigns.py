"""`/v1/campaigns`: create, list, read, edit, fill with contacts, run and export (docs/design.md
§9); the contacts' own routes are `api.contacts`.

Routers only translate HTTP to the campaign layer and back: every rule (legal transitions,
editable states, import checks) lives in `campaigns`, every error becomes a response in
`api.errors`. Single calls are campaigns of kind `call` and live under `/v1/calls` only.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.ext.asyncio import AsyncSession

from api.auth import keyed_router
from api.resources import ApiResources, ResourcesDep
from api.schemas import (
    CampaignCreated,
    CampaignId,
    CampaignOut,
    CampaignPage,
    ImportReportOut,
    Limit,
    errors,
)
from api.uploads import UPLOAD_BODY, ContactsFile, read_contacts
from campaigns import copies, exporter, importer, launch, store
from campaigns.balance import balance_low_now
from campaigns.copies import CopyContacts
from campaigns.db import write_transaction
from campaigns.filereader import Limits
from campaigns.paging import DEFAULT_LIMIT, ID_CURSOR
from campaigns.spec import CampaignPatch, CampaignSpec, in_zone
from campaigns.states import CampaignStatus
from campaigns.stats import campaign_stats
from campaigns.tables import Campaign

__all__ = ["router"]

router = keyed_router("/v1/campaigns", "campaigns")

Cursor = Annotated[
    str | None, Query(pattern=ID_CURSOR, description="`next_cursor` of the previous page")
]
MEDIA_TYPES = {
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


def _now() -> datetime:
    return datetime.now(UTC)


def limits_of(resources: ApiResources) -> Limits:
    settings = resources.settings
    return Limits(
        max_bytes=settings.max_upload_bytes,
        max_rows=settings.max_import_rows,
        max_columns=settings.max_import_columns,
    )


_campaign = launch.get_campaign


async def _out(session: AsyncSession, campaign: Campaign) -> CampaignOut:
    return CampaignOut.of(campaign, await campaign_stats(session, campaign.id))


async def _read(resources: ApiResources, campaign_id: int) -> CampaignOut:
    async with resources.sessions() as session:
        return await _out(session, await _campaign(session, campaign_id))


@router.post(
    "",
    status_code=201,
    response_model=CampaignCreated,
    responses=errors(413, 422),
    summary="Create a draft campaign, optionally with inline contacts",
)
async def create_campaign(
    spec: CampaignSpec, resources: ResourcesDep, response: Response
) -> CampaignCreated:
    spec = in_zone(spec, resources.settings.default_timezone)

    async def fill(campaign_id: int) -> importer.ImportReport:
        rows = spec.contact_rows()
        return await importer.import_contacts(
            resources.sessions,
            campaign_id,
            rows,
            limits=limits_of(resources),
            zoning=resources.zoning,
        )

    campaign_id, report = await launch.create_filled(
        resources.sessions,
        spec,
        None if spec.contacts is None else fill,
        now=_now(),
        default_a_number=resources.settings.a_number,
        allow_private_callbacks=resources.settings.callback_allow_private,
    )
    response.headers["Location"] = f"/v1/campaigns/{campaign_id}"
    async with resources.sessions() as session:
        out = await _out(session, await _campaign(session, campaign_id))
    return CampaignCreated(
        **out.model_dump(), import_report=None if report is None else ImportReportOut.of(report)
    )


@router.get(
    "", response_model=CampaignPage, responses=errors(422), summary="Campaigns, newest first"
)
async def list_campaigns(
    resources: ResourcesDep,
    status: CampaignStatus | None = None,
    cursor: Cursor = None,
    limit: Limit = DEFAULT_LIMIT,
) -> CampaignPage:
    async with resources.sessions() as session:
        page = await store.list_campaigns(session, status=status, cursor=cursor, limit=limit)
    items = [CampaignOut.of(summary.campaign, summary.stats) for summary in page.items]
    return CampaignPage(items=items, next_cursor=page.next_cursor)


@router.get(
    "/{campaign_id}",
    response_model=CampaignOut,
    responses=errors(404, 422),
    summary="Settings, status and live statistics",
)
async def get_campaign(campaign_id: CampaignId, resources: ResourcesDep) -> CampaignOut:
    return await _read(resources, campaign_id)


@router.patch(
    "/{campaign_id}",
    response_model=CampaignOut,
    responses=errors(404, 409, 413, 422),
    summary="Edit settings (draft or paused only); JSON merge patch",
)
async def patch_campaign(
    campaign_id: CampaignId, changes: CampaignPatch, resources: ResourcesDep
) -> CampaignOut:
    async with write_transaction(resources.sessions) as session:
        campaign = await launch.patch(
            session,
            campaign_id,
            changes,
            now=_now(),
            default_a_number=resources.settings.a_number,
            allow_private_callbacks=resources.settings.callback_allow_private,
        )
        return await _out(session, campaign)


@router.post(
    "/{campaign_id}/contacts",
    response_model=ImportReportOut,
    responses=errors(400, 404, 409, 413, 415, 422),
    openapi_extra=UPLOAD_BODY,
    summary="Add contacts: a CSV/XLSX file (multipart) or a JSON list; the import report",
)
async def add_contacts(
    campaign_id: CampaignId, request: Request, resources: ResourcesDep
) -> ImportReportOut:
    async def fill(campaign_id: int) -> importer.ImportReport:
        upload = await read_contacts(request)
        limits = limits_of(resources)
        if isinstance(upload, ContactsFile):
            return await importer.import_file(
                resources.sessions,
                campaign_id,
                upload.data,
                filename=upload.filename,
                phone_column=upload.phone_column,
                delimiter=upload.delimiter,
                encoding=upload.encoding,
                limits=limits,
                zoning=resources.zoning,
            )
        return await importer.import_contacts(
            resources.sessions, campaign_id, upload.rows, limits=limits, zoning=resources.zoning
        )

    report = await launch.add_contacts(resources.sessions, campaign_id, fill)
    return ImportReportOut.of(report)


class DuplicateIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    contacts: CopyContacts = Field(
        default=CopyContacts.NONE,
        description="none: the settings only; unreached: also the contacts nobody answered",
    )


@router.post(
    "/{campaign_id}/duplicate",
    status_code=201,
    response_model=CampaignOut,
    responses=errors(404, 422),
    summary="A new draft with this campaign's settings, and optionally its unreached contacts",
)
async def duplicate_campaign(
    campaign_id: CampaignId, body: DuplicateIn, resources: ResourcesDep, response: Response
) -> CampaignOut:
    async with write_transaction(resources.sessions) as session:
        await _campaign(session, campaign_id)
        copy, _ = await copies.copy_campaign(session, campaign_id, body.contacts, now=_now())
        out = await _out(session, copy)
    response.headers["Location"] = f"/v1/campaigns/{copy.id}"
    return out


_LIFECYCLE = errors(404, 409, 422)


@router.post(
    "/{campaign_id}/start",
    response_model=CampaignOut,
    responses=_LIFECYCLE,
    summary="Start a draft (scheduled when schedule.start_at is ahead)",
)
async def start_campaign(campaign_id: CampaignId, resources: ResourcesDep) -> CampaignOut:
    async with write_transaction(resources.sessions) as session:
        campaign = await launch.start(
            session, campaign_id, now=_now(), default_a_number=resources.settings.a_number
        )
        return await _out(session, campaign)


@router.post(
    "/{campaign_id}/pause",
    response_model=CampaignOut,
    responses=_LIFECYCLE,
    summary="Stop dialing new contacts; calls in progress finish",
)
async def pause_campaign(campaign_id: CampaignId, resources: ResourcesDep) -> CampaignOut:
    return await _change(resources, campaign_id, store.pause, reason="paused by API")


@router.post(
    "/{campaign_id}/resume",
    response_model=CampaignOut,
    responses=_LIFECYCLE,
    summary="Resume a paused campaign",
)
async def resume_campaign(campaign_id: CampaignId, resources: ResourcesDep) -> CampaignOut:
    return await _change(resources, campaign_id, store.resume)


@router.post(
    "/{campaign_id}/cancel",
    response_model=CampaignOut,
    responses=_LIFECYCLE,
    summary="End for good: contacts not being dialed end as cancelled",
)
async def cancel_campaign(campaign_id: CampaignId, resources: ResourcesDep) -> CampaignOut:
    return await _change(resources, campaign_id, store.cancel, reason="cancelled by API")


async def _change(
    resources: ApiResources,
    campaign_id: int,
    action: Callable[..., Awaitable[Campaign]],
    **reason: str,
) -> CampaignOut:
    """A lifecycle action of `campaigns.store` on an existing campaign, answered as its state."""
    async with write_transaction(resources.sessions) as session:
        await _campaign(session, campaign_id)
        return await _out(session, await action(session, campaign_id, now=_now(), **reason))


@router.get(
    "/{campaign_id}/export",
    responses={
        200: {
            "description": "the results file, streamed",
            "content": {media: {"schema": {"type": "string"}} for media in MEDIA_TYPES.values()},
        },
        **errors(404, 422),
    },
    response_class=StreamingResponse,
    summary="Results as CSV or XLSX: one row per contact, or per attempt",
)
async def export_campaign(
    campaign_id: CampaignId,
    resources: ResourcesDep,
    fmt: Annotated[Literal["csv", "xlsx"], Query(alias="format")] = "csv",
    level: Literal["contacts", "attempts"] = "contacts",
    delimiter: Annotated[Literal[";", ","], Query(description="CSV only")] = ";",
    lang: Annotated[Literal["en", "ru"], Query(description="of the cause texts")] = "en",
) -> StreamingResponse:
    async with resources.sessions() as session:
        await _campaign(session, campaign_id)
    if level == "contacts":
        now = _now()
        low = await balance_low_now(resources.redis, resources.settings, now)
        chunks = exporter.export_contacts(
            resources.sessions,
            campaign_id,
            fmt=fmt,
            delimiter=delimiter,
            lang=lang,
            now=now,
            balance_low=low,
        )
    else:
        chunks = exporter.export_attempts(
            resources.sessions, campaign_id, fmt=fmt, delimiter=delimiter, lang=lang
        )
    first = await anext(chunks)  # errors surface here, before the answer starts

    async def body() -> AsyncIterator[bytes]:
        yield first
        async for chunk in chunks:
            yield chunk

    filename = f"campaign-{campaign_id}-{level}.{fmt}"
    return StreamingResponse(
        body(),
        media_type=MEDIA_TYPES[fmt],
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
