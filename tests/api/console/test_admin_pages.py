"""The admin pages over the real app: the do-not-call list (add, remove, upload with its
report, download, sources shown), users (add, role, disable, password) and the roles that may
open them; and the home page's figures."""

from __future__ import annotations

import httpx
import pytest
from fastapi import FastAPI

from api.resources import app_resources
from campaigns import dnc, users
from campaigns.db import write_transaction
from campaigns.states import DncSource
from campaigns.users import Role
from dialer.settings import Settings
from tests.api.console.support import PASSWORD, add_user, sign_in, signed_in
from tests.api.support import AUTH, with_api_keys
from tests.db_fixtures import insert_campaign, insert_contacts
from tests.factories import T0


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return with_api_keys(api_settings)


async def _admin(app: FastAPI, client: httpx.AsyncClient) -> str:
    await add_user(app_resources(app).sessions, "root", Role.ADMIN)
    return await signed_in(client, "root")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/dnc"),
        ("GET", "/dnc.csv"),
        ("POST", "/dnc/add"),
        ("POST", "/dnc/upload"),
        ("GET", "/users"),
        ("POST", "/users/add"),
        ("POST", "/users/anna/disable"),
    ],
)
async def test_a_marketer_gets_403_on_the_admin_pages(
    app: FastAPI, client: httpx.AsyncClient, method: str, path: str
) -> None:
    await add_user(app_resources(app).sessions)
    csrf = await signed_in(client)

    answer = await client.request(method, path, data={"csrf_token": csrf, "phone": "79101234567"})

    assert answer.status_code == 403
    assert "Недостаточно прав" in answer.text
    async with app_resources(app).sessions() as session:
        assert await dnc.check(session, "79101234567") is None


async def test_numbers_are_added_shown_with_their_source_and_removed(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    csrf = await _admin(app, client)
    async with write_transaction(app_resources(app).sessions) as session:
        await session.run_sync(dnc.add, "79105550001", source=DncSource.DTMF, now=T0)

    added = await client.post(
        "/dnc/add",
        data={"csrf_token": csrf, "phone": "8 (910) 555-00-02", "reason": "<b>жалоба</b>"},
    )
    listing = await client.get(added.headers["location"].split("?")[0])

    assert added.status_code == 303
    assert 'data-source="dtmf">отписка (DTMF)' in listing.text
    assert 'data-source="manual">вручную' in listing.text
    assert "&lt;b&gt;жалоба&lt;/b&gt;" in listing.text
    async with app_resources(app).sessions() as session:
        entry = await dnc.check(session, "79105550002")
    assert entry is not None
    assert entry.source == "manual"
    assert entry.reason == "<b>жалоба</b>"
    searched = await client.get("/dnc", params={"number": "+7 910 555-00-01"})
    assert "79105550001" in searched.text
    assert "79105550002" not in searched.text

    removed = await client.post("/dnc/remove", data={"csrf_token": csrf, "phone": "79105550002"})
    shown = await client.get(removed.headers["location"])
    assert "Номер убран из списка." in shown.text
    async with app_resources(app).sessions() as session:
        assert await dnc.check(session, "79105550002") is None


async def test_a_bad_number_is_named_not_a_500(app: FastAPI, client: httpx.AsyncClient) -> None:
    csrf = await _admin(app, client)

    answer = await client.post("/dnc/add", data={"csrf_token": csrf, "phone": "12"})
    shown = await client.get(answer.headers["location"])

    assert answer.status_code == 303
    assert 'role="alert">12:' in shown.text


async def test_an_upload_lists_the_good_numbers_and_reports_the_bad_lines(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    csrf = await _admin(app, client)
    body = b"phone\n79105550001\nnot a phone\n+7 910 555-00-03\n79105550001\n"

    answer = await client.post(
        "/dnc/upload",
        data={"csrf_token": csrf, "reason": "список юристов"},
        files={"file": ("numbers.csv", body, "text/csv")},
    )

    assert answer.status_code == 200
    assert '<dd data-testid="added">2</dd>' in answer.text
    assert '<dd data-testid="rejected-count">1</dd>' in answer.text
    assert "<td>3</td>" in answer.text
    async with app_resources(app).sessions() as session:
        entry = await dnc.check(session, "79105550003")
    assert entry is not None
    assert entry.source == "import"
    assert entry.reason == "список юристов"


async def test_the_download_is_the_rest_lists_bytes(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await _admin(app, client)
    async with write_transaction(app_resources(app).sessions) as session:
        for n in range(3):
            await session.run_sync(dnc.add, f"7910555000{n}", source=DncSource.API, now=T0)

    console = await client.get("/dnc.csv")
    rest = await client.get("/v1/dnc.csv", headers=AUTH)

    assert console.status_code == rest.status_code == 200
    assert console.content == rest.content
    assert console.content.count(b"\r\n") == 4


async def test_users_are_added_changed_disabled_and_reset(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    csrf = await _admin(app, client)
    sessions = app_resources(app).sessions

    added = await client.post(
        "/users/add",
        data={"csrf_token": csrf, "login": "Boris", "password": PASSWORD, "role": "marketer"},
    )
    role = await client.post("/users/boris/role", data={"csrf_token": csrf, "role": "admin"})
    other = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with other:
        assert (await sign_in(other, "boris")).status_code == 303
        disabled = await client.post("/users/boris/disable", data={"csrf_token": csrf})
        assert (await other.get("/campaigns")).status_code == 303  # its session ended
    reset = await client.post(
        "/users/boris/password", data={"csrf_token": csrf, "password": "another secret"}
    )

    assert [a.status_code for a in (added, role, disabled, reset)] == [303] * 4
    async with sessions() as session:
        boris = await users.get(session, "boris")
        assert (boris.role, boris.disabled) == ("admin", True)
        assert await users.verify(session, "boris", "another secret") is None  # disabled
    enabled = await client.post("/users/boris/enable", data={"csrf_token": csrf})
    page = await client.get(enabled.headers["location"])
    assert "Пользователь включён." in page.text
    async with sessions() as session:
        assert await users.verify(session, "boris", "another secret") is not None


async def test_the_last_admin_cannot_lock_everyone_out(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    csrf = await _admin(app, client)

    answer = await client.post("/users/root/role", data={"csrf_token": csrf, "role": "marketer"})
    page = await client.get(answer.headers["location"])

    assert "последний действующий администратор" in page.text
    async with app_resources(app).sessions() as session:
        assert (await users.get(session, "root")).role == "admin"


async def test_a_short_password_is_refused_in_words(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    csrf = await _admin(app, client)

    answer = await client.post(
        "/users/add", data={"csrf_token": csrf, "login": "c", "password": "short", "role": "admin"}
    )

    assert "пароль: от 8 до 1024 символов" in (await client.get(answer.headers["location"])).text


async def test_the_home_page_shows_active_campaigns_and_limits(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)
    sessions = app_resources(app).sessions
    running = await insert_campaign(sessions, name="<b>Идёт</b>", status="running")
    await insert_contacts(sessions, running, [1, 2], status="pending")
    await insert_campaign(sessions, name="Готово", status="completed")

    page = await client.get("/dashboard")

    assert page.status_code == 200
    assert "&lt;b&gt;Идёт&lt;/b&gt;" in page.text
    assert "Готово" not in page.text
    limit = app_resources(app).settings.max_concurrent
    assert f'<dd data-testid="calls-now">0 <span class="of">/ {limit}</span>' in page.text
    assert '<dd data-testid="calls-today">0</dd>' in page.text
