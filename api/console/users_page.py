"""The users page (admins only): who may sign in, with which role; add a user, disable or
enable one, reset a password, change a role. Every change is a `campaigns.users` function,
the ones `dialer user …` runs."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Query, Request, Response
from fastapi.responses import RedirectResponse

from api.console.guard import Admin, admin, check_csrf
from api.console.web import page
from api.resources import ResourcesDep
from campaigns import users
from campaigns.db import write_transaction
from campaigns.errors import CampaignError
from campaigns.users import Role

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(admin), Depends(check_csrf)], include_in_schema=False)
Login = Annotated[str, Form(max_length=64)]
Password = Annotated[str, Form(max_length=1024)]


@router.get("/users")
async def user_list(
    request: Request,
    identity: Admin,
    resources: ResourcesDep,
    done: Annotated[str | None, Query(max_length=100)] = None,
    problem: Annotated[str | None, Query(max_length=500)] = None,
) -> Response:
    async with resources.sessions() as session:
        found = await users.list_users(session)
    context = {"users": found, "roles": [r.value for r in Role], "done": done, "problem": problem}
    return page(request, "users.html", context)


def _back(login: str, *, done: str | None = None, problem: str | None = None) -> Response:
    query = f"done={quote(done)}" if done else f"problem={quote(f'{login}: {problem}')}"
    return RedirectResponse(f"/users?{query}", status_code=303)


@router.post("/users/add")
async def add(
    identity: Admin,
    resources: ResourcesDep,
    login: Login,
    password: Password,
    role: Annotated[Role, Form()],
) -> Response:
    try:
        async with write_transaction(resources.sessions) as session:
            await users.create(session, login, password, role, now=datetime.now(UTC))
    except CampaignError as error:
        return _back(login, problem=error.message)
    return _back(login, done="added")


@router.post("/users/{login}/password")
async def reset_password(
    identity: Admin, resources: ResourcesDep, login: str, password: Password
) -> Response:
    try:
        async with write_transaction(resources.sessions) as session:
            await users.set_password(session, login, password, now=datetime.now(UTC))
    except CampaignError as error:
        return _back(login, problem=error.message)
    return _back(login, done="password")


@router.post("/users/{login}/role")
async def change_role(
    identity: Admin, resources: ResourcesDep, login: str, role: Annotated[Role, Form()]
) -> Response:
    try:
        async with write_transaction(resources.sessions) as session:
            await users.set_role(session, login, role)
    except CampaignError as error:
        return _back(login, problem=error.message)
    return _back(login, done="role")


@router.post("/users/{login}/{state}")
async def set_state(
    identity: Admin,
    resources: ResourcesDep,
    login: str,
    state: Literal["disable", "enable"],
) -> Response:
    try:
        async with write_transaction(resources.sessions) as session:
            await users.set_disabled(session, login, state == "disable")
    except CampaignError as error:
        return _back(login, problem=error.message)
    return _back(login, done=state + "d")
