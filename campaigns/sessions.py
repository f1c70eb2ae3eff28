"""Console sessions kept server-side (issue 12): sign-out and a password change end them.

The browser's cookie holds a random token; the table holds only its SHA-256, so a copy of the
database signs nobody in. Each session carries its own CSRF token. A session unused for the
idle timeout is over; `last_seen_at` is written at most once a minute (`TOUCH_EVERY`), so
browsing does not take the database's write lock on every page.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Final

from sqlalchemy import delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.db import ensure_writing
from campaigns.tables import ConsoleSession, ConsoleUser

__all__ = ["TOUCH_EVERY", "Identity", "create", "end", "end_all", "look_up", "needs_touch", "touch"]

TOUCH_EVERY: Final = timedelta(minutes=1)


@dataclass(frozen=True, slots=True)
class Identity:
    """Who a session belongs to, as a request needs it."""

    user_id: int
    login: str
    role: str
    csrf_token: str
    token_hash: str
    last_seen_at: datetime


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def create(session: AsyncSession, user_id: int, *, now: datetime) -> str:
    """A new session of the user; its token, for the cookie (shown nowhere else)."""
    ensure_writing(session)
    token = secrets.token_urlsafe(32)
    session.add(
        ConsoleSession(
            token_hash=token_hash(token),
            user_id=user_id,
            csrf_token=secrets.token_urlsafe(32),
            created_at=now,
            last_seen_at=now,
        )
    )
    await session.flush()
    return token


async def look_up(
    session: AsyncSession, token: str, *, now: datetime, idle: timedelta
) -> Identity | None:
    """The session's identity; None when unknown, idle too long or its user is disabled."""
    row = (
        await session.execute(
            select(ConsoleSession, ConsoleUser)
            .join(ConsoleUser, ConsoleUser.id == ConsoleSession.user_id)
            .where(ConsoleSession.token_hash == token_hash(token))
        )
    ).one_or_none()
    if row is None:
        return None
    found, user = row
    if user.disabled or found.last_seen_at + idle <= now:
        return None
    return Identity(
        user.id, user.login, user.role, found.csrf_token, found.token_hash, found.last_seen_at
    )


def needs_touch(identity: Identity, now: datetime) -> bool:
    return now - identity.last_seen_at >= TOUCH_EVERY


async def touch(session: AsyncSession, identity: Identity, *, now: datetime) -> None:
    ensure_writing(session)
    await session.execute(
        update(ConsoleSession)
        .where(ConsoleSession.token_hash == identity.token_hash)
        .values(last_seen_at=now)
    )


async def end(session: AsyncSession, token: str) -> None:
    ensure_writing(session)
    await session.execute(
        delete(ConsoleSession).where(ConsoleSession.token_hash == token_hash(token))
    )


async def end_all(session: AsyncSession, user_id: int) -> None:
    ensure_writing(session)
    await session.execute(delete(ConsoleSession).where(ConsoleSession.user_id == user_id))


async def end_idle(session: AsyncSession, *, now: datetime, idle: timedelta) -> None:
    """Forget sessions past the idle timeout (run at each sign-in: the table stays small)."""
    ensure_writing(session)
    await session.execute(delete(ConsoleSession).where(ConsoleSession.last_seen_at <= now - idle))
