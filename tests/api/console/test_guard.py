"""The console's gate: sessions, cookie flags, CSRF, the sign-in limit, roles, and the line
between API keys (/v1) and console sessions (the pages)."""

from __future__ import annotations

import httpx
import pytest
import redis.asyncio as aioredis
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from api.console.guard import SESSION_COOKIE
from api.resources import app_resources
from campaigns import users
from campaigns.db import write_transaction
from campaigns.tables import ConsoleSession
from campaigns.users import Role
from dialer.settings import Settings
from tests.api.console.support import PASSWORD, add_user, csrf_of, sign_in, signed_in
from tests.api.support import AUTH, with_api_keys
from tests.factories import T0


def _sessions(app: FastAPI) -> async_sessionmaker[AsyncSession]:
    return app_resources(app).sessions


async def _session_rows(app: FastAPI) -> int:
    async with _sessions(app)() as session:
        return int(await session.scalar(select(func.count()).select_from(ConsoleSession)) or 0)


async def test_pages_send_a_stranger_to_sign_in(client: httpx.AsyncClient) -> None:
    answer = await client.get("/campaigns/new")

    assert answer.status_code == 303
    assert answer.headers["location"] == "/login?next=/campaigns/new"


async def test_sign_in_sets_a_strict_session_cookie(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))

    answer = await sign_in(client)

    assert answer.status_code == 303
    assert answer.headers["location"] == "/campaigns"
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    flags = {part.strip().lower() for part in cookie.split(";")}
    assert {"httponly", "samesite=lax", "path=/"} <= flags
    assert "secure" not in flags  # PUBLIC_URL is http here
    assert (await client.get("/campaigns")).status_code == 200


async def test_the_session_cookie_is_secure_behind_https(
    api_settings: Settings, redis_client: aioredis.Redis
) -> None:
    app = create_app(api_settings.model_copy(update={"public_url": "https://dialer.example"}))
    async with app.router.lifespan_context(app):
        await add_user(_sessions(app))
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="https://127.0.0.1") as client:
            answer = await sign_in(client)
    cookie = next(c for c in answer.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE))
    assert "secure" in {part.strip().lower() for part in cookie.split(";")}


async def test_wrong_password_is_refused_in_words(app: FastAPI, client: httpx.AsyncClient) -> None:
    await add_user(_sessions(app))

    answer = await sign_in(client, password="not the password")

    assert answer.status_code == 401
    assert "Неверный логин или пароль" in answer.text
    assert SESSION_COOKIE not in answer.cookies


async def test_logout_ends_the_session_on_the_server(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))
    csrf = await signed_in(client)
    stolen = client.cookies[SESSION_COOKIE]

    answer = await client.post("/logout", data={"csrf_token": csrf})

    assert answer.status_code == 303
    assert await _session_rows(app) == 0
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, stolen)  # a copy of the cookie no longer works
    assert (await client.get("/campaigns")).status_code == 303


async def test_a_password_change_ends_every_session(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))
    await signed_in(client)

    async with write_transaction(_sessions(app)) as session:
        await users.set_password(session, "anna", "another password", now=T0)

    assert (await client.get("/campaigns")).status_code == 303


@pytest.mark.parametrize("path", ["/logout", "/campaigns/1/pause", "/campaigns/new", "/lang"])
async def test_a_post_without_the_csrf_token_is_refused(
    app: FastAPI, client: httpx.AsyncClient, path: str
) -> None:
    await add_user(_sessions(app))
    await signed_in(client)

    answer = await client.post(path, data={"lang": "en"})

    assert answer.status_code == 403
    assert await _session_rows(app) == 1


async def test_a_wrong_csrf_header_is_refused_and_the_right_one_accepted(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))
    csrf = await signed_in(client)

    refused = await client.post("/logout", headers={"X-CSRF-Token": csrf[:-2] + "xx"})
    accepted = await client.post("/logout", headers={"X-CSRF-Token": csrf})

    assert (refused.status_code, accepted.status_code) == (403, 303)


async def test_the_sign_in_form_itself_needs_its_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))

    answer = await client.post("/login", data={"login": "anna", "password": PASSWORD})

    assert answer.status_code == 403


async def test_failed_sign_ins_are_limited_per_login(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))
    for _ in range(5):
        assert (await sign_in(client, password="wrong password")).status_code == 401

    blocked = await sign_in(client)  # even the right password, for the rest of the minute

    assert blocked.status_code == 429
    assert "Подождите минуту" in blocked.text
    assert SESSION_COOKIE not in blocked.cookies


async def test_failed_sign_ins_are_limited_per_address_across_logins(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app), "boris")
    for n in range(5):
        await sign_in(client, login=f"nobody{n}", password="wrong password")

    assert (await sign_in(client, login="boris")).status_code == 429


async def test_a_marketer_gets_403_on_admin_pages(app: FastAPI, client: httpx.AsyncClient) -> None:
    await add_user(_sessions(app), "anna", Role.MARKETER)
    await add_user(_sessions(app), "root", Role.ADMIN)
    await signed_in(client, "anna")
    assert (await client.get("/users")).status_code == 403

    client.cookies.clear()
    await signed_in(client, "root")
    page = await client.get("/users")
    assert page.status_code == 200
    assert "anna" in page.text


async def test_an_api_key_does_not_open_the_console(
    api_settings: Settings, redis_client: aioredis.Redis
) -> None:
    app = create_app(with_api_keys(api_settings))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            assert (await client.get("/v1/campaigns", headers=AUTH)).status_code == 200
            assert (await client.get("/campaigns", headers=AUTH)).status_code == 303


async def test_a_console_session_does_not_open_the_api(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(_sessions(app))
    await signed_in(client)

    answer = await client.get("/v1/campaigns")

    assert answer.status_code == 401
    assert answer.json()["error"]["code"] == "unauthorized"


async def test_redis_down_refuses_sign_in_in_words_not_500(
    app: FastAPI, client: httpx.AsyncClient, redis_client: aioredis.Redis
) -> None:
    await add_user(_sessions(app))
    form = await client.get("/login")
    await app_resources(app).redis.aclose()
    app_resources(app).redis.connection_pool.connection_kwargs["port"] = 1

    answer = await client.post(
        "/login", data={"login": "anna", "password": PASSWORD, "csrf_token": csrf_of(form)}
    )

    assert answer.status_code == 503
    assert "Вход временно недоступен" in answer.text


async def test_english_from_accept_language_and_the_switch(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    english = await client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9,ru;q=0.5"})
    assert '<html lang="en">' in english.text
    assert "Sign in" in english.text

    switched = await client.post("/lang", data={"lang": "ru", "csrf_token": csrf_of(english)})
    assert switched.status_code == 303
    again = await client.get("/login", headers={"Accept-Language": "en"})
    assert '<html lang="ru">' in again.text
