"""Helpers of the console tests: users, signing in through the form, CSRF tokens of a page,
uploading a file and filling the new-campaign form."""

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
UPLOAD = re.compile(r'name="upload" value="([^"]+)"')


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


async def upload_file(
    client: httpx.AsyncClient, csrf: str, name: str, data: bytes
) -> httpx.Response:
    """The new-campaign page's file preview of `data`."""
    return await client.post(
        "/campaigns/new/file",
        data={"csrf_token": csrf},
        files={"file": (name, data, "text/csv")},
        headers={"HX-Request": "true"},
    )


def form_body(csrf: str, upload: str, **fields: str | list[str]) -> dict[str, str | list[str]]:
    """A valid new-campaign form for the uploaded file; fields override."""
    body: dict[str, str | list[str]] = {
        "csrf_token": csrf,
        "upload": upload,
        "name": "Заказы",
        "message": "Здравствуйте, {name}! Заказ {order} готов.",
        "voice_lang": "ru-RU",
        "voice_name": "oksana",
        "voice_emotion": "neutral",
        "voice_speed": "1",
        "a_number": "74950000000",
        "dtmf_digit": ["1", "9", ""],
        "dtmf_action": ["notify", "opt_out", ""],
        "dtmf_number": ["", "", ""],
        "timezone": "Europe/Moscow",
        "workdays_from": "08:00",
        "workdays_to": "22:00",
        "weekends_from": "09:00",
        "weekends_to": "20:00",
        "holidays": "on",
        "max_attempts": "3",
        "redial_busy": "15, 60",
        "redial_no_answer": "120, 1440",
        "redial_unavailable": "180, 1440",
        "redial_hung_up": "180",
        "redial_rejected": "1440",
        "redial_network": "5, 15, 60",
    }
    body.update(fields)
    return body
