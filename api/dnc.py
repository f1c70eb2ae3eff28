"""`/v1/dnc`: the do-not-call list (docs/design.md §7, §9): numbers never called by any campaign."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Query, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from api.auth import keyed_router
from api.resources import ResourcesDep
from api.schemas import DncEntryOut, DncPage, errors
from campaigns import dnc, dnc_files
from campaigns.db import write_transaction
from campaigns.errors import NotFound
from campaigns.paging import DEFAULT_LIMIT, MAX_LIMIT, NUMBER_CURSOR
from campaigns.states import DncSource
from campaigns.tables import Dnc
from dialer.telecom.numbers import PHONE_PATTERN

__all__ = ["DncIn", "router"]

router = keyed_router("/v1/dnc", "do-not-call")

Phone = Annotated[
    str, Query(max_length=64, pattern=PHONE_PATTERN, description="any common notation")
]


class DncIn(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    phone: str = Field(max_length=64, pattern=PHONE_PATTERN, description="any common notation")
    reason: str | None = Field(default=None, max_length=500)


@router.get("", response_model=DncPage, responses=errors(422), summary="Listed numbers, by number")
async def list_dnc(
    resources: ResourcesDep,
    phone: Annotated[
        str | None,
        Query(max_length=64, pattern=PHONE_PATTERN, description="only this number's entry"),
    ] = None,
    cursor: Annotated[
        str | None, Query(pattern=NUMBER_CURSOR, description="`next_cursor` of the previous page")
    ] = None,
    prefix: Annotated[
        str | None,
        Query(
            max_length=16,
            pattern=r"^\+?[0-9]{1,15}$",
            description="numbers starting so (8… reads as 7…)",
        ),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT)] = DEFAULT_LIMIT,
) -> DncPage:
    async with resources.sessions() as session:
        if phone is not None:
            entry = await dnc.check(session, phone)
            return DncPage(items=[] if entry is None else [DncEntryOut.of(entry)], next_cursor=None)
        page = await dnc.list_entries(session, prefix=prefix, cursor=cursor, limit=limit)
    return DncPage(items=[DncEntryOut.of(e) for e in page.items], next_cursor=page.next_cursor)


@router.get(
    ".csv",
    response_class=StreamingResponse,
    responses={200: {"content": {"text/csv": {}}, "description": "phone,source,reason,added_at"}},
    summary="The whole list as CSV, by number",
)
async def export_dnc(resources: ResourcesDep) -> StreamingResponse:
    return StreamingResponse(
        dnc_files.csv_chunks(resources.sessions),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="do-not-call.csv"'},
    )


@router.post(
    "",
    status_code=201,
    response_model=DncEntryOut,
    responses={
        200: {"model": DncEntryOut, "description": "the number was listed already"},
        **errors(413, 422),
    },
    summary="Add a number (201; 200 with the existing entry when listed already)",
)
async def add_dnc(body: DncIn, resources: ResourcesDep, response: Response) -> DncEntryOut:
    async with write_transaction(resources.sessions) as session:
        added = await session.run_sync(
            dnc.add, body.phone, source=DncSource.API, now=datetime.now(UTC), reason=body.reason
        )
        entry = await session.get_one(Dnc, dnc.phone(body.phone))
    if not added:
        response.status_code = 200
    return DncEntryOut.of(entry)


@router.delete(
    "",
    status_code=204,
    responses=errors(404, 422),
    summary="Take a number off the list",
)
async def remove_dnc(phone: Phone, resources: ResourcesDep) -> Response:
    async with write_transaction(resources.sessions) as session:
        removed = await dnc.remove(session, phone)
    if not removed:
        raise NotFound(f"{phone} is not on the do-not-call list")
    return Response(status_code=204)
