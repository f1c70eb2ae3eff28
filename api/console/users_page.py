"""The users page (admins only): who may sign in, with which role. Editing comes in part 2;
until then `dialer user …` manages them."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response

from api.console.guard import Admin, check_csrf
from api.console.web import page
from api.resources import ResourcesDep
from campaigns import users

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)


@router.get("/users")
async def user_list(request: Request, identity: Admin, resources: ResourcesDep) -> Response:
    async with resources.sessions() as session:
        found = await users.list_users(session)
    return page(request, "users.html", {"users": found})
