"""Who may use the console: the session cookie, CSRF tokens, roles and the sign-in limit.

A console session authorises the console only (API keys stay the key to `/v1`). Every request
that changes state carries a CSRF token, in the form field `csrf_token` or the `X-CSRF-Token`
header: the session's own once signed in, before that a random one kept in a cookie (the
sign-in form is protected too). Failed sign-ins are counted in Redis per login and per client
address; at the limit a sign-in is refused for the rest of the minute, whatever the password.
"""

from __future__ import annotations

import hmac
import secrets
from datetime import UTC, datetime, timedelta
from typing import Annotated, Final

from fastapi import Depends, Request, Response
from redis.asyncio import Redis

from api.resources import app_resources
from campaigns import sessions
from campaigns.db import write_transaction
from campaigns.sessions import Identity
from campaigns.users import Role

__all__ = [
    "CSRF_COOKIE",
    "SESSION_COOKIE",
    "Admin",
    "CsrfRefused",
    "Forbidden",
    "NotSignedIn",
    "Refusal",
    "SignInLimit",
    "Signed",
    "check_csrf",
    "csrf_token",
    "identity_of",
]

SESSION_COOKIE: Final = "dialer_session"
CSRF_COOKIE: Final = "dialer_csrf"
CSRF_FIELD: Final = "csrf_token"
CSRF_HEADER: Final = "X-CSRF-Token"
_SAFE: Final = frozenset({"GET", "HEAD", "OPTIONS"})
LIMIT_WINDOW: Final = 60


class Refusal(Exception):
    """The console refuses the request; `api.console.web.error_page` answers it."""


class NotSignedIn(Refusal):
    """No valid session: pages send the browser to the sign-in page."""


class Forbidden(Refusal):
    """Signed in, but the role does not allow the page."""


class CsrfRefused(Refusal):
    """A state-changing request without the right CSRF token."""


def _now() -> datetime:
    return datetime.now(UTC)


def secure_cookies(request: Request) -> bool:
    return app_resources(request.app).settings.public_url.lower().startswith("https://")


async def identity_of(request: Request) -> Identity | None:
    """The request's session (looked up once per request), touched at most once a minute."""
    if hasattr(request.state, "identity"):
        found: Identity | None = request.state.identity
        return found
    token = request.cookies.get(SESSION_COOKIE)
    identity = None
    if token:
        resources = app_resources(request.app)
        idle = timedelta(minutes=resources.settings.console_idle_minutes)
        now = _now()
        async with resources.sessions() as session:
            identity = await sessions.look_up(session, token, now=now, idle=idle)
        if identity is not None and sessions.needs_touch(identity, now):
            async with write_transaction(resources.sessions) as session:
                await sessions.touch(session, identity, now=now)
    request.state.identity = identity
    return identity


async def signed_in(request: Request) -> Identity:
    identity = await identity_of(request)
    if identity is None:
        raise NotSignedIn
    return identity


async def admin(identity: Annotated[Identity, Depends(signed_in)]) -> Identity:
    if identity.role != Role.ADMIN:
        raise Forbidden
    return identity


Signed = Annotated[Identity, Depends(signed_in)]
Admin = Annotated[Identity, Depends(admin)]


def csrf_token(request: Request, identity: Identity | None) -> str:
    """The token forms of this page carry; before sign-in a new one goes to the cookie
    (`remember_csrf` sets it on the response)."""
    if identity is not None:
        return identity.csrf_token
    token = request.cookies.get(CSRF_COOKIE) or getattr(request.state, "new_csrf", None)
    if token is None:
        token = secrets.token_urlsafe(32)
        request.state.new_csrf = token
    return str(token)


def remember_csrf(request: Request, response: Response) -> None:
    token = getattr(request.state, "new_csrf", None)
    if token is not None:
        response.set_cookie(
            CSRF_COOKIE, token, httponly=True, samesite="lax", secure=secure_cookies(request)
        )


async def check_csrf(request: Request) -> None:
    """Router dependency: a state-changing request must carry the expected token."""
    if request.method in _SAFE:
        return
    identity = await identity_of(request)
    expected = identity.csrf_token if identity is not None else request.cookies.get(CSRF_COOKIE)
    given = request.headers.get(CSRF_HEADER)
    if given is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        given = value if isinstance(value, str) else None
    if not expected or not given or not hmac.compare_digest(given.encode(), expected.encode()):
        raise CsrfRefused


class SignInLimit:
    """Failed sign-ins per login and per client address, a fixed one-minute window each."""

    def __init__(self, redis: Redis, limit: int) -> None:
        self._redis = redis
        self._limit = limit

    @staticmethod
    def _keys(login: str, address: str) -> tuple[str, str]:
        return f"console:signin:login:{login.strip().lower()}", f"console:signin:addr:{address}"

    async def blocked(self, login: str, address: str) -> bool:
        counts = await self._redis.mget(self._keys(login, address))
        return any(count is not None and int(count) >= self._limit for count in counts)

    async def failed(self, login: str, address: str) -> None:
        async with self._redis.pipeline(transaction=True) as pipe:
            for key in self._keys(login, address):
                pipe.set(key, 0, ex=LIMIT_WINDOW, nx=True)  # the window starts at the first
                pipe.incr(key)
            await pipe.execute()
