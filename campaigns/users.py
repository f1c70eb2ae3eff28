"""Console users (issue 12): a login, an argon2 password hash, a role and a disabled flag.

Logins are case-insensitive (kept lower-case). Hashing is slow on purpose, so it runs in a
worker thread. A password change ends every session of the user (`campaigns.sessions`).
"""

from __future__ import annotations

import asyncio
import re
from datetime import datetime
from enum import StrEnum
from typing import Final

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import sessions
from campaigns.db import ensure_writing
from campaigns.errors import Conflict, Invalid, NotFound
from campaigns.tables import ConsoleUser

__all__ = [
    "BAD_LOGIN",
    "LAST_ADMIN",
    "MIN_PASSWORD_CHARS",
    "NO_USER",
    "TOO_SHORT_OR_LONG",
    "USER_EXISTS",
    "Role",
    "any_user",
    "create",
    "list_users",
    "remove",
    "set_disabled",
    "set_password",
    "set_role",
    "verify",
]

MIN_PASSWORD_CHARS: Final = 8
MAX_PASSWORD_CHARS: Final = 1024

# The refusals, formatted from these templates (the console recognises them by them); the
# first two follow their field's name (campaigns.errors.Invalid).
BAD_LOGIN: Final = "1 to 64 characters: latin letters, digits and . _ @ -, starting with one"
TOO_SHORT_OR_LONG: Final = "must be {low} to {high} characters long"
USER_EXISTS: Final = "user {login} exists already"
NO_USER: Final = "user {login} does not exist"
LAST_ADMIN: Final = "{login} is the last enabled admin"
_LOGIN: Final = re.compile(r"[a-z0-9][a-z0-9._@-]{0,63}")
_hasher: Final = PasswordHasher()
_DUMMY_HASH: Final = _hasher.hash("a password nobody has")
"""Verified against when the login is unknown, so the answer takes as long either way."""


class Role(StrEnum):
    ADMIN = "admin"
    """Campaigns, and the users and the do-not-call list."""
    MARKETER = "marketer"
    """Campaigns."""


def normal_login(login: str) -> str:
    """The stored form of a login; Invalid("login") for one that cannot be."""
    folded = login.strip().lower()
    if not _LOGIN.fullmatch(folded):
        raise Invalid("login", BAD_LOGIN)
    return folded


def _check_password(password: str) -> str:
    if not MIN_PASSWORD_CHARS <= len(password) <= MAX_PASSWORD_CHARS:
        raise Invalid(
            "password", TOO_SHORT_OR_LONG.format(low=MIN_PASSWORD_CHARS, high=MAX_PASSWORD_CHARS)
        )
    return password


async def _hash(password: str) -> str:
    return await asyncio.to_thread(_hasher.hash, _check_password(password))


async def create(
    session: AsyncSession, login: str, password: str, role: Role, *, now: datetime
) -> ConsoleUser:
    ensure_writing(session)
    user = ConsoleUser(
        login=normal_login(login),
        password_hash=await _hash(password),
        role=Role(role).value,
        disabled=False,
        created_at=now,
        password_changed_at=now,
    )
    try:
        async with session.begin_nested():
            session.add(user)
    except IntegrityError:
        exists = USER_EXISTS.format(login=repr(user.login))
        raise Conflict(exists, details={"field": "login"}) from None
    return user


async def get(session: AsyncSession, login: str) -> ConsoleUser:
    found = await session.scalar(select(ConsoleUser).where(ConsoleUser.login == login.lower()))
    if found is None:
        raise NotFound(NO_USER.format(login=repr(login)))
    return found


async def list_users(session: AsyncSession) -> list[ConsoleUser]:
    return list((await session.scalars(select(ConsoleUser).order_by(ConsoleUser.login))).all())


async def any_user(session: AsyncSession) -> bool:
    return await session.scalar(select(ConsoleUser.id).limit(1)) is not None


async def set_password(
    session: AsyncSession, login: str, password: str, *, now: datetime
) -> ConsoleUser:
    """A new password; every session of the user ends."""
    ensure_writing(session)
    user = await get(session, login)
    user.password_hash = await _hash(password)
    user.password_changed_at = now
    await sessions.end_all(session, user.id)
    await session.flush()
    return user


async def set_role(session: AsyncSession, login: str, role: Role) -> ConsoleUser:
    """A new role; the sessions stay (the role is read at each request). Conflict when it
    would leave no enabled admin."""
    ensure_writing(session)
    user = await get(session, login)
    if Role(role) is not Role.ADMIN:
        await _keep_an_admin(session, user)
    user.role = Role(role).value
    await session.flush()
    return user


async def set_disabled(session: AsyncSession, login: str, disabled: bool) -> ConsoleUser:
    """Disable (every session ends; sign-in refused) or enable a user. Conflict when it would
    leave no enabled admin."""
    ensure_writing(session)
    user = await get(session, login)
    if disabled:
        await _keep_an_admin(session, user)
        await sessions.end_all(session, user.id)
    user.disabled = disabled
    await session.flush()
    return user


async def _keep_an_admin(session: AsyncSession, losing: ConsoleUser) -> None:
    """Refuse to take the last enabled admin's rights away: nobody could manage users."""
    others = select(ConsoleUser.id).where(
        ConsoleUser.role == Role.ADMIN.value,
        ConsoleUser.disabled.is_(False),
        ConsoleUser.id != losing.id,
    )
    losing_one = losing.role == Role.ADMIN.value and not losing.disabled
    if losing_one and await session.scalar(others.limit(1)) is None:
        last = LAST_ADMIN.format(login=repr(losing.login))
        raise Conflict(last, details={"field": "login"})


async def remove(session: AsyncSession, login: str) -> None:
    """The user and (by cascade) their sessions."""
    ensure_writing(session)
    user = await get(session, login)
    await sessions.end_all(session, user.id)
    await session.execute(delete(ConsoleUser).where(ConsoleUser.id == user.id))


async def verify(session: AsyncSession, login: str, password: str) -> ConsoleUser | None:
    """The user when the password is theirs and they are not disabled; None otherwise."""
    found = await session.scalar(
        select(ConsoleUser).where(ConsoleUser.login == login.strip().lower())
    )
    stored = _DUMMY_HASH if found is None else found.password_hash
    try:
        await asyncio.to_thread(_hasher.verify, stored, password[:MAX_PASSWORD_CHARS])
    except (VerificationError, InvalidHashError):
        return None
    if found is None or found.disabled:
        return None
    return found
