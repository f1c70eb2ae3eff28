"""Sign-in, sign-out and the language switch: the console pages open to everyone."""

from __future__ import annotations

from contextlib import suppress
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from redis.exceptions import RedisError

from api.console.guard import (
    SESSION_COOKIE,
    SignInLimit,
    check_csrf,
    identity_of,
    secure_cookies,
)
from api.console.i18n import LANGUAGES
from api.console.web import LANG_COOKIE, page
from api.resources import ResourcesDep
from campaigns import sessions, users
from campaigns.db import write_transaction

__all__ = ["router"]

router = APIRouter(dependencies=[Depends(check_csrf)], include_in_schema=False)
LANG_COOKIE_DAYS = 365


def _next(target: str | None) -> str:
    """Only a path of this site: never an open redirect."""
    if target and target.startswith("/") and not target.startswith("//") and "\\" not in target:
        return target
    return "/campaigns"


@router.get("/login")
async def login_form(request: Request, next: str | None = None) -> Response:
    if await identity_of(request) is not None:
        return RedirectResponse(_next(next), status_code=303)
    return page(request, "login.html", {"next": _next(next)})


@router.post("/login")
async def login(
    request: Request,
    resources: ResourcesDep,
    login: Annotated[str, Form(max_length=200)] = "",
    password: Annotated[str, Form(max_length=1024)] = "",
    next: Annotated[str, Form(max_length=2000)] = "/campaigns",
) -> Response:
    address = request.client.host if request.client else "unknown"
    limit = SignInLimit(resources.redis, resources.settings.console_signin_limit)
    context = {"next": _next(next), "login": login}
    try:
        if await limit.blocked(login, address):
            return page(request, "login.html", context | {"problem": "signin.limited"}, status=429)
    except RedisError:
        return page(request, "login.html", context | {"problem": "signin.unavailable"}, status=503)
    async with resources.sessions() as session:
        user = await users.verify(session, login, password)
    if user is None:
        with suppress(RedisError):  # the answer is a refusal anyway
            await limit.failed(login, address)
        return page(request, "login.html", context | {"problem": "signin.wrong"}, status=401)
    now = datetime.now(UTC)
    idle = timedelta(minutes=resources.settings.console_idle_minutes)
    async with write_transaction(resources.sessions) as session:
        await sessions.end_idle(session, now=now, idle=idle)
        token = await sessions.create(session, user.id, now=now)
    response = RedirectResponse(_next(next), status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=secure_cookies(request),
        path="/",
    )
    return response


@router.post("/logout")
async def logout(request: Request, resources: ResourcesDep) -> Response:
    token = request.cookies.get(SESSION_COOKIE)
    if token:
        async with write_transaction(resources.sessions) as session:
            await sessions.end(session, token)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    return response


@router.post("/lang")
async def switch_language(
    request: Request,
    lang: Annotated[str, Form(max_length=8)],
    next: Annotated[str, Form(max_length=2000)] = "/campaigns",
) -> Response:
    response = RedirectResponse(_next(next), status_code=303)
    if lang in LANGUAGES:
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=LANG_COOKIE_DAYS * 86400,
            samesite="lax",
            secure=secure_cookies(request),
        )
    return response
