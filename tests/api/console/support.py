"""Helpers of the console tests: users, signing in through the form, CSRF tokens of a page."""

from __future__ import annotations

import re

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import users
from campaigns.db import write_transaction
from campaigns.users import Role
from tests.factories import T0

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def add_user(
    sessions: async_sessionmaker[AsyncSession],
    login: str = "anna",
    role: Role = Role.MARKETER,
    password: str = PASSWORD,
) -> None:
    async with write_transaction(sessions) as session:
        await users.create(session, login, password, role, now=T0)


def csrf_of(page: httpx.Response) -> str:
    found = _CSRF.search(page.text)
    assert found is not None, page.text
    return found.group(1)


async def sign_in(
    client: httpx.AsyncClient, login: str = "anna", password: str = PASSWORD
) -> httpx.Response:
    form = await client.get("/login")
    body = {"login": login, "password": password, "csrf_token": csrf_of(form)}
    return await client.post("/login", data=body)


async def signed_in(client: httpx.AsyncClient, login: str = "anna") -> str:
    """Sign in; the session's CSRF token."""
    answer = await sign_in(client, login)
    assert answer.status_code == 303, answer.text
    return csrf_of(await client.get("/campaigns"))
