"""The new-campaign page: the file and its preview, the message and its preview, voice, DTMF
menu, schedule and redial, then create (import report) and launch.

The page is one form that works without JavaScript; htmx swaps in the previews as the user
types. The file is kept on disk under an upload token between the steps. Creating goes
through `campaigns.launch.create_filled` and the importer, as `POST /v1/campaigns` does.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Query, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData, UploadFile

from api.console.campaign_form import (
    CHOICES,
    REDIAL_SHOWN,
    TIMEZONES,
    FormValues,
    defaults,
    read_form,
)
from api.console.guard import Signed, check_csrf, signed_in
from api.console.upload_store import RejectedRows, Upload, UploadStore
from api.console.web import page
from api.resources import ApiResources, ResourcesDep
from campaigns import exporter, importer, launch
from campaigns.errors import CampaignError, Invalid
from campaigns.filereader import Limits
from campaigns.preview import FilePreview, preview_file, preview_message

__all__ = ["router", "uploads"]

router = APIRouter(dependencies=[Depends(signed_in), Depends(check_csrf)], include_in_schema=False)
Token = Annotated[str, Form(max_length=64)]


def uploads(resources: ApiResources) -> UploadStore:
    return UploadStore(resources.settings.data_dir)


def _limits(resources: ApiResources) -> Limits:
    settings = resources.settings
    return Limits(max_bytes=settings.max_upload_bytes, max_rows=settings.max_import_rows)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


async def _preview(upload: Upload, phone_column: str) -> FilePreview:
    return await asyncio.to_thread(preview_file, upload.path, phone_column=phone_column or None)


def _context(form: FormValues, **extra: Any) -> dict[str, Any]:
    zone = form.values["timezone"]
    return {
        "form": form,
        "choices": CHOICES,
        "timezones": TIMEZONES if zone in TIMEZONES else (zone, *TIMEZONES),
        "redial_shown": [c.value for c in REDIAL_SHOWN],
        **extra,
    }


@router.get("/campaigns/new")
async def new_campaign(request: Request, resources: ResourcesDep) -> Response:
    settings = resources.settings
    shown = defaults(settings.default_timezone, settings.min_listen_seconds)
    return page(request, "new_campaign.html", _context(shown))


async def _file_context(
    identity_id: int, resources: ApiResources, form: FormData
) -> dict[str, Any]:
    """The file section: a new upload or the one of the token, previewed; errors by field."""
    store = uploads(resources)
    phone_column = _text(form, "phone_column")
    file = form.get("file")
    try:
        if isinstance(file, UploadFile) and file.filename:
            upload = await asyncio.to_thread(store.save, identity_id, file.filename, file.file)
            phone_column = ""
        elif _text(form, "upload"):
            upload = store.get(identity_id, _text(form, "upload"))
        else:
            return {"file_error": "new.file_missing"}
        preview = await _preview(upload, phone_column)
    except CampaignError as error:
        return {"file_error": "new.file_refused", "file_detail": error.message}
    return {"upload": upload, "preview": preview}


@router.post("/campaigns/new/file")
async def file_preview(request: Request, identity: Signed, resources: ResourcesDep) -> Response:
    """The file's preview: a fragment for htmx, the whole page without JavaScript."""
    async with request.form(max_files=1, max_fields=200) as form:
        context = await _file_context(identity.user_id, resources, form)
    if request.headers.get("HX-Request"):
        return page(request, "_file_preview.html", context | {"oob": True})
    settings = resources.settings
    shown = defaults(settings.default_timezone, settings.min_listen_seconds)
    return page(request, "new_campaign.html", _context(shown, **context))


@router.post("/campaigns/new/message")
async def message_preview(request: Request, identity: Signed, resources: ResourcesDep) -> Response:
    form = await request.form()
    preview = None
    token = _text(form, "upload")
    if token:
        try:
            upload = uploads(resources).get(identity.user_id, token)
            preview = await _preview(upload, _text(form, "phone_column"))
        except CampaignError:
            preview = None
    try:
        speed = float(_text(form, "voice_speed").replace(",", ".") or 1)
    except ValueError:
        speed = 1.0
    shown = preview_message(_text(form, "message"), preview, speed=max(speed, 0.1))
    return page(request, "_message_preview.html", {"message": shown, "preview": preview})


@router.post("/campaigns/new")
async def create(request: Request, identity: Signed, resources: ResourcesDep) -> Response:
    form = await request.form()
    service = resources.settings
    shown, settings = read_form(form, service.default_timezone, service.min_listen_seconds)
    file_context = await _file_context(identity.user_id, resources, form)
    context = _context(shown, **file_context)
    upload: Upload | None = file_context.get("upload")
    if settings is None or upload is None:
        return page(request, "new_campaign.html", context, status=422)
    phone_column = _text(form, "phone_column") or None
    path = upload.path

    async def fill(campaign_id: int) -> importer.ImportReport:
        return await importer.import_file(
            resources.sessions,
            campaign_id,
            path,
            filename=upload.filename,
            phone_column=phone_column,
            limits=_limits(resources),
            zoning=resources.zoning,
        )

    try:
        campaign_id, report = await launch.create_filled(
            resources.sessions,
            settings,
            fill,
            now=datetime.now(UTC),
            default_a_number=resources.settings.a_number,
            allow_private_callbacks=resources.settings.callback_allow_private,
        )
    except Invalid as error:
        shown.errors[error.field if error.field in shown.values else "name"] = error.message
        return page(request, "new_campaign.html", context, status=422)
    except CampaignError as error:
        context |= {"file_error": "new.file_refused", "file_detail": error.message}
        return page(request, "new_campaign.html", context, status=422)
    assert report is not None  # noqa: S101 - fill was given
    await asyncio.to_thread(upload.keep_report, campaign_id, report.to_dict())
    if report.rejected:
        rejected = RejectedRows(resources.settings.data_dir)
        await asyncio.to_thread(rejected.keep, campaign_id, report.to_dict()["rejected"])
    return RedirectResponse(
        f"/campaigns/{campaign_id}/report?upload={upload.token}", status_code=303
    )


def _kept_report(
    identity_id: int, resources: ApiResources, campaign_id: int, token: str
) -> dict[str, Any]:
    report = uploads(resources).get(identity_id, token).report()
    if report is None or report.get("campaign_id") != campaign_id:
        raise CampaignError("this import report is not kept any more")
    return report


@router.get("/campaigns/{campaign_id}/report")
async def import_report(
    request: Request,
    identity: Signed,
    resources: ResourcesDep,
    campaign_id: Annotated[int, Path(ge=1)],
    upload: Annotated[str, Query(max_length=64)],
) -> Response:
    report = _kept_report(identity.user_id, resources, campaign_id, upload)
    async with resources.sessions() as session:
        campaign = await launch.get_campaign(session, campaign_id)
    scheduled = campaign.start_at is not None and campaign.start_at > datetime.now(UTC)
    context = {"report": report, "campaign": campaign, "upload": upload, "scheduled": scheduled}
    return page(request, "report.html", context)


@router.get("/campaigns/{campaign_id}/rejected.csv")
async def rejected_rows(
    identity: Signed,
    resources: ResourcesDep,
    campaign_id: Annotated[int, Path(ge=1)],
    upload: Annotated[str, Query(max_length=64)],
) -> Response:
    report = _kept_report(identity.user_id, resources, campaign_id, upload)
    body = exporter.rejected_csv(report["rejected"])
    headers = {"Content-Disposition": f'attachment; filename="campaign-{campaign_id}-rejected.csv"'}
    return Response(body, media_type="text/csv; charset=utf-8", headers=headers)
