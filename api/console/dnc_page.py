"""The do-not-call list (admins only, issue 13): search, add and remove a number with a
reason, upload a file of numbers (the contacts' reader and report), download the list.

Every change goes through `campaigns.dnc` / `campaigns.dnc_files`, as `/v1/dnc` does; entries
added here have the source `manual`.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Annotated, Any, Final
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.datastructures import UploadFile

from api.console.guard import Admin, admin, check_csrf
from api.console.new_campaign import uploads
from api.console.web import page
from api.resources import ResourcesDep
from campaigns import dnc, dnc_files
from campaigns.db import write_transaction
from campaigns.errors import CampaignError
from campaigns.filereader import Limits
from campaigns.states import DncSource

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(admin), Depends(check_csrf)], include_in_schema=False)
PAGE_SIZE: Final = 50
Text = Annotated[str, Form(max_length=500)]


async def _listing(
    resources: ResourcesDep, number: str, cursor: str | None
) -> tuple[dict[str, Any], str | None]:
    try:
        async with resources.sessions() as session:
            found = await dnc.list_entries(
                session, prefix=number.strip() or None, cursor=cursor, limit=PAGE_SIZE
            )
    except CampaignError as error:
        return {"entries": [], "next_cursor": None}, error.message
    return {"entries": found.items, "next_cursor": found.next_cursor}, None


async def _page(
    request: Request,
    resources: ResourcesDep,
    *,
    number: str = "",
    cursor: str | None = None,
    status: int = 200,
    **extra: Any,
) -> Response:
    listing, problem = await _listing(resources, number, cursor)
    context = {
        "number": number,
        "first_page": cursor is None,
        "problem": extra.pop("problem", None) or problem,
        "sources": [s.value for s in DncSource],
        **listing,
        **extra,
    }
    return page(request, "dnc.html", context, status=422 if problem and status == 200 else status)


@router.get("/dnc")
async def dnc_list(
    request: Request,
    identity: Admin,
    resources: ResourcesDep,
    number: Annotated[str, Query(max_length=64)] = "",
    cursor: Annotated[str | None, Query(max_length=40)] = None,
    done: Annotated[str | None, Query(max_length=100)] = None,
    problem: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    return await _page(request, resources, number=number, cursor=cursor, done=done, problem=problem)


def _back(**fields: str) -> RedirectResponse:
    query = "&".join(f"{key}={quote(value)}" for key, value in fields.items())
    return RedirectResponse(f"/dnc?{query}", status_code=303)


@router.post("/dnc/add")
async def add(
    identity: Admin,
    resources: ResourcesDep,
    phone: Annotated[str, Form(max_length=64)],
    reason: Text = "",
) -> Response:
    try:
        async with write_transaction(resources.sessions) as session:
            added = await session.run_sync(
                dnc.add,
                phone,
                source=DncSource.MANUAL,
                now=datetime.now(UTC),
                reason=reason.strip() or None,
            )
    except CampaignError as error:
        return _back(problem=f"{phone}: {error.message}")
    shown = dnc.phone(phone)
    return _back(number=shown, done="added" if added else "listed")


@router.post("/dnc/remove")
async def remove(
    identity: Admin, resources: ResourcesDep, phone: Annotated[str, Form(max_length=64)]
) -> Response:
    try:
        async with write_transaction(resources.sessions) as session:
            removed = await dnc.remove(session, phone)
    except CampaignError as error:
        return _back(problem=f"{phone}: {error.message}")
    return _back(done="removed" if removed else "absent")


@router.post("/dnc/upload")
async def upload(request: Request, identity: Admin, resources: ResourcesDep) -> Response:
    """A file of numbers: every valid one listed (source `import`), the rest reported by line."""
    settings = resources.settings
    limits = Limits(max_bytes=settings.max_upload_bytes, max_rows=settings.max_import_rows)
    async with request.form(max_files=1, max_fields=10) as form:
        file, reason = form.get("file"), form.get("reason")
        if not isinstance(file, UploadFile) or not file.filename:
            return await _page(request, resources, status=422, upload_error="dnc.file_missing")
        saved = await asyncio.to_thread(
            uploads(resources).save, identity.user_id, file.filename, file.file
        )
    try:
        report = await dnc_files.upload(
            resources.sessions,
            saved.path,
            now=datetime.now(UTC),
            reason=reason.strip() or None if isinstance(reason, str) else None,
            filename=saved.filename,
            limits=limits,
        )
    except CampaignError as error:
        return await _page(
            request, resources, status=422, upload_error="dnc.file_refused", detail=error.message
        )
    return await _page(request, resources, report=report)


@router.get("/dnc.csv")
async def download(identity: Admin, resources: ResourcesDep) -> StreamingResponse:
    """The whole list, the bytes `GET /v1/dnc.csv` sends."""
    return StreamingResponse(
        dnc_files.csv_chunks(resources.sessions),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="do-not-call.csv"'},
    )
