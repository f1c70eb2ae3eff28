""" "Call me": one test call of the campaign being written, to a number the user types.

It is a single call placed by `campaigns.single_calls.create_call`, the function behind
`POST /v1/calls`, so it takes the campaign path (pacing, sb-api client, collector). Only the
calling window is opened all day and one attempt made: the user is waiting by the phone. The
status fragment polls itself every second until the call has its outcome; its URL is signed
with the session's CSRF token, so only the session that placed the call can watch it.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import ValidationError

from api.console.campaign_form import read_form
from api.console.guard import Signed, check_csrf, signed_in
from api.console.new_campaign import uploads
from api.console.web import page
from api.resources import ResourcesDep
from campaigns.db import write_transaction
from campaigns.errors import CampaignError
from campaigns.jobs import enqueue_callbacks
from campaigns.preview import preview_file
from campaigns.sessions import Identity
from campaigns.single_calls import CallSpec, create_call, get_call
from campaigns.states import ContactStatus
from campaigns.tables import Attempt

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(signed_in), Depends(check_csrf)], include_in_schema=False)
ALL_DAY = ("00:00", "24:00")


def _signature(identity: Identity, call_id: int) -> str:
    key = identity.csrf_token.encode()
    return hmac.new(key, f"test-call:{call_id}".encode(), hashlib.sha256).hexdigest()[:32]


def _spec(body: dict[str, Any], phone: str, variables: dict[str, str]) -> CallSpec:
    schedule = {**body["schedule"], "workdays": ALL_DAY, "weekends": ALL_DAY}
    schedule |= {"start_at": None, "end_at": None}
    values = {**body, "schedule": schedule, "max_attempts": 1, "redial": {}}
    values["name"] = f"test: {body['name']}"[:200]
    return CallSpec.model_validate({**values, "phone": phone, "vars": variables})


@router.post("/calls/test")
async def place(request: Request, identity: Signed, resources: ResourcesDep) -> Response:
    form = await request.form()
    phone = str(form.get("test_phone") or "").strip()
    service = resources.settings
    shown, settings = read_form(form, service.default_timezone, service.min_listen_seconds)
    if settings is None:
        return page(
            request, "_test_call.html", {"problem": "test.fix_form", "errors": shown.errors}
        )
    if not phone:
        return page(request, "_test_call.html", {"problem": "test.no_phone"})
    variables: dict[str, str] = {}
    token = str(form.get("upload") or "")
    try:
        if token:
            upload = uploads(resources).get(identity.user_id, token)
            column = str(form.get("phone_column") or "") or None
            preview = preview_file(upload.path, phone_column=column)
            if preview.rows:
                variables = preview.variables_of(preview.rows[0][1])
        spec = _spec(settings.model_dump(mode="json"), phone, variables)
        async with write_transaction(resources.sessions) as session:
            made = await create_call(
                session,
                spec,
                key=None,
                now=datetime.now(UTC),
                default_a_number=resources.settings.a_number,
            )
    except ValidationError as error:
        return page(
            request,
            "_test_call.html",
            {"problem": "test.refused", "detail": error.errors()[0]},
        )
    except CampaignError as error:
        return page(
            request, "_test_call.html", {"problem": "test.refused", "detail": error.message}
        )
    await enqueue_callbacks(resources.arq, made.callbacks)
    return await _status(request, resources, identity, made.campaign.id)


@router.get("/calls/test/{call_id}")
async def status(
    request: Request,
    identity: Signed,
    resources: ResourcesDep,
    call_id: Annotated[int, Path(ge=1, le=2**63 - 1)],
    sig: Annotated[str, Query(max_length=64)],
) -> Response:
    if not hmac.compare_digest(sig, _signature(identity, call_id)):
        raise CampaignError("this test call belongs to another session")
    return await _status(request, resources, identity, call_id)


async def _status(
    request: Request, resources: ResourcesDep, identity: Identity, call_id: int
) -> Response:
    async with resources.sessions() as session:
        view = await get_call(session, call_id, now=datetime.now(UTC))
    last: Attempt | None = view.attempts[-1] if view.attempts else None
    done = view.contact.status == ContactStatus.DONE
    context = {
        "call": view,
        "contact": view.contact,
        "attempt_state": last.state if last else None,
        "done": done,
        "poll": f"/calls/test/{call_id}?sig={_signature(identity, call_id)}",
    }
    return page(request, "_test_call.html", context)
