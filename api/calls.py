"""`/v1/calls`: one informing call now, for a CRM (docs/design.md §9).

`Idempotency-Key` makes retries safe: the same key answers the call it made the first time
(200, `Idempotent-Replayed: true`) and places no second one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import Header, Response

from api.auth import keyed_router
from api.resources import ApiResources, ResourcesDep
from api.schemas import CallId, CallOut, errors
from campaigns.balance import balance_low_now
from campaigns.db import write_transaction
from campaigns.jobs import enqueue_callbacks
from campaigns.single_calls import CallSpec, create_call, get_call
from campaigns.spec import check_callback_url, in_zone

__all__ = ["router"]

router = keyed_router("/v1/calls", "calls")

IdempotencyKey = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        description="the same key answers the same call again; at most 200 characters",
    ),
]


@router.post(
    "",
    status_code=201,
    response_model=CallOut,
    responses={
        200: {"model": CallOut, "description": "the call this Idempotency-Key made before"},
        **errors(409, 413, 422),
    },
    summary="Place one informing call (a one-contact campaign started at once)",
)
async def place_call(
    spec: CallSpec,
    resources: ResourcesDep,
    response: Response,
    idempotency_key: IdempotencyKey = None,
) -> CallOut:
    check_callback_url(spec, resources.settings.callback_allow_private)
    spec = in_zone(spec, resources.settings.default_timezone)
    async with write_transaction(resources.sessions) as session:
        made = await create_call(
            session,
            spec,
            key=idempotency_key,
            now=datetime.now(UTC),
            default_a_number=resources.settings.a_number,
            zoning=resources.zoning,
        )
    await enqueue_callbacks(resources.arq, made.callbacks)
    if not made.created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    response.headers["Location"] = f"/v1/calls/{made.campaign.id}"
    return await _call_out(resources, made.campaign.id)


@router.get(
    "/{call_id}",
    response_model=CallOut,
    responses=errors(404, 422),
    summary="The call's state, outcome and attempts",
)
async def read_call(call_id: CallId, resources: ResourcesDep) -> CallOut:
    return await _call_out(resources, call_id)


async def _call_out(resources: ApiResources, call_id: int) -> CallOut:
    """The call as it stands now, its waiting reason with the balance gate."""
    now = datetime.now(UTC)
    low = await balance_low_now(resources.redis, resources.settings, now)
    async with resources.sessions() as session:
        view = await get_call(session, call_id, now=now, balance_low=low)
    return CallOut.of(view.campaign, view.contact, view.attempts, view.waiting)
