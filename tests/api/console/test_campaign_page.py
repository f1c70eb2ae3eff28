"""The live campaign page over the real app: figures and charts from real rows, the fragment
htmx polls, why it is not dialing, the result files (the REST export's bytes) and copies."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import httpx
import pytest
from fastapi import FastAPI

from api.resources import app_resources
from campaigns.db import write_transaction
from campaigns.live import LivePages
from dialer.settings import Settings
from tests.api.console.support import add_user, signed_in
from tests.api.support import AUTH, with_api_keys
from tests.db_fixtures import insert_campaign, insert_contacts
from tests.factories import make_attempt


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    """API keys for the REST export; live figures recounted at every view after the first."""
    keyed = with_api_keys(api_settings)
    return keyed.model_copy(update={"live_figures_max_age": 0.001})


async def _played(app: FastAPI, name: str = "Заказы") -> int:
    """A running campaign with answered, busy and pending contacts and attempts a minute ago."""
    sessions = app_resources(app).sessions
    now = datetime.now(UTC)
    campaign_id = await insert_campaign(
        sessions, name=name, status="running", started_at=now - timedelta(minutes=10)
    )
    done = {"status": "done"}
    heard = await insert_contacts(
        sessions, campaign_id, [1, 2, 3], outcome="listened", listened_seconds=35, dtmf="1", **done
    )
    await insert_contacts(sessions, campaign_id, [4], outcome="hung_up", listened_seconds=3, **done)
    await insert_contacts(sessions, campaign_id, [5, 6], outcome="busy", **done)
    await insert_contacts(sessions, campaign_id, [7, 8], status="pending")
    async with write_transaction(sessions) as session:
        session.add_all(
            make_attempt(
                contact_id=contact_id,
                campaign_id=campaign_id,
                claimed_at=now - timedelta(seconds=20),
                category="listened",
                state="finished",
            )
            for contact_id in heard
        )
    return campaign_id


def _testid(page: httpx.Response, name: str) -> str:
    found = re.search(rf'data-testid="{name}">([^<]*)<', page.text)
    assert found is not None, name
    return found.group(1).strip()


def _marks(page: httpx.Response, chart: str) -> dict[str, int]:
    """The (label, value) marks a bar chart's SVG encodes."""
    start = page.text.index(f'id="{chart}"')
    end = page.text.index("</figure>", start)
    marks = re.findall(r'data-label="([^"]*)" data-value="(\d+)"', page.text[start:end])
    return {label: int(value) for label, value in marks}


async def test_the_page_shows_figures_and_charts_drawn_from_the_rows(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)
    campaign_id = await _played(app)

    page = await client.get(f"/campaigns/{campaign_id}")

    assert page.status_code == 200
    assert (_testid(page, "done"), _testid(page, "total")) == ("6", "8")
    assert _testid(page, "answer-rate") == "66.7%"
    assert _testid(page, "avg-listened") == "27.0 с"
    assert _testid(page, "per-minute") == "3"
    assert _marks(page, "chart-outcomes") == {"Прослушали": 3, "Сбросили": 1, "Занято": 2}
    assert _marks(page, "chart-dtmf") == {"1": 3}
    listened = _marks(page, "chart-listened")
    assert (listened["0–5"], listened["30–45"], sum(listened.values())) == (1, 3, 4)
    calls = re.search(r'data-name="Звонки" data-values="([\d,]+)"', page.text)
    assert calls is not None
    assert sum(map(int, calls.group(1).split(","))) == 3
    assert 'hx-trigger="every 2s"' in page.text


async def test_the_fragment_polls_until_the_campaign_is_over(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(app_resources(app).sessions)
    csrf = await signed_in(client)
    campaign_id = await _played(app)

    live = await client.get(f"/campaigns/{campaign_id}/live")
    assert live.status_code == 200
    assert live.text.lstrip().startswith('<div id="live"')
    assert "<html" not in live.text
    await client.post(f"/campaigns/{campaign_id}/cancel", data={"csrf_token": csrf})

    for _ in range(100):  # the shared view is recounted in the background, a moment later
        over = await client.get(f"/campaigns/{campaign_id}/live")
        if 'data-status="cancelled"' in over.text:
            break
        await asyncio.sleep(0.05)

    assert 'data-status="cancelled"' in over.text
    assert "hx-trigger" not in over.text
    assert "кампания отменена" in over.text


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({"status": "draft"}, "кампания ещё не запущена"),
        ({"status": "paused", "status_reason": None}, "приостановили вручную"),
        (
            {"status": "paused", "status_reason": "sb-api refused the account: 401 bad login"},
            "МТТ отказал в доступе к аккаунту",
        ),
    ],
)
async def test_why_it_is_not_dialing_is_said_in_words(
    app: FastAPI, client: httpx.AsyncClient, fields: dict[str, object], words: str
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)
    sessions = app_resources(app).sessions
    campaign_id = await insert_campaign(sessions, **fields)
    await insert_contacts(sessions, campaign_id, [1], status="pending")

    page = await client.get(f"/campaigns/{campaign_id}")

    assert words in page.text
    assert 'data-testid="why"' in page.text


async def test_window_closed_names_the_callee_time_in_english(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)
    client.cookies.set("dialer_lang", "en")
    sessions = app_resources(app).sessions
    local = datetime.now(ZoneInfo("Asia/Vladivostok"))
    opens = f"{local.hour + 2:02d}:00" if local.hour < 20 else "01:00"
    hours = [opens, f"{int(opens[:2]) + 1:02d}:00"]
    window = {"workdays": hours, "weekends": hours, "holidays": False}
    campaign_id = await insert_campaign(sessions, status="running", window=window)
    await insert_contacts(sessions, campaign_id, [1], timezone="Asia/Vladivostok", status="pending")

    page = await client.get(f"/campaigns/{campaign_id}")
    assert (
        f"Why it is not dialing:</b> the calling window is closed until {opens} callee time "
        "(Asia/Vladivostok)." in page.text
    )


@pytest.mark.parametrize("fmt", ["csv", "xlsx"])
@pytest.mark.parametrize("level", ["contacts", "attempts"])
async def test_downloads_are_the_rest_exports_bytes(
    app: FastAPI, client: httpx.AsyncClient, fmt: str, level: str
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)
    campaign_id = await _played(app)
    page = await client.get(f"/campaigns/{campaign_id}")
    assert f'href="/campaigns/{campaign_id}/export?format={fmt}&amp;level={level}"' in page.text

    console = await client.get(f"/campaigns/{campaign_id}/export?format={fmt}&level={level}")
    rest = await client.get(
        f"/v1/campaigns/{campaign_id}/export",
        params={"format": fmt, "level": level, "lang": "ru"},
        headers=AUTH,
    )

    assert console.status_code == rest.status_code == 200
    assert console.content == rest.content
    assert console.headers["content-disposition"] == rest.headers["content-disposition"]


@pytest.mark.parametrize(("kind", "expected"), [("unreached", 2), ("none", 0)])
async def test_copies_land_on_a_new_draft(
    app: FastAPI, client: httpx.AsyncClient, kind: str, expected: int
) -> None:
    await add_user(app_resources(app).sessions)
    csrf = await signed_in(client)
    campaign_id = await _played(app, name="<b>Июль</b>")

    made = await client.post(
        f"/campaigns/{campaign_id}/copy", data={"csrf_token": csrf, "contacts": kind}
    )

    assert made.status_code == 303
    target = made.headers["location"]
    assert target != f"/campaigns/{campaign_id}"
    draft = await client.get(target)
    assert "Черновик" in draft.text
    assert "&lt;b&gt;Июль&lt;/b&gt;" in draft.text
    assert "<b>Июль</b>" not in draft.text
    assert _testid(draft, "total") == str(expected)


async def test_a_copy_without_the_csrf_token_is_refused(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)
    campaign_id = await _played(app)

    refused = await client.post(f"/campaigns/{campaign_id}/copy", data={"contacts": "none"})

    assert refused.status_code == 403
    listed = await client.get("/campaigns")
    assert listed.text.count("/copy") == 0
    assert listed.text.count('href="/campaigns/') >= 1


async def test_an_unknown_campaign_is_a_404_page(app: FastAPI, client: httpx.AsyncClient) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)

    assert (await client.get("/campaigns/999")).status_code == 404
    assert (await client.get("/campaigns/999/live")).status_code == 404


async def test_a_poll_of_the_version_shown_is_204_and_each_viewer_gets_their_token(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    sessions = app_resources(app).sessions
    await add_user(sessions)
    await add_user(sessions, "boris")
    mine = await signed_in(client)
    campaign_id = await _played(app)
    app.state.console_live = LivePages(sessions, max_age=3600)  # no recount in between
    page = await client.get(f"/campaigns/{campaign_id}")
    poll = re.search(r'id="live" hx-get="([^"]+)"', page.text)
    assert poll is not None
    other = httpx.AsyncClient(transport=client._transport, base_url=str(client.base_url))
    async with other:
        theirs = await signed_in(other, "boris")
        their_fragment = await other.get(f"/campaigns/{campaign_id}/live")

    again = await client.get(poll.group(1).replace("&amp;", "&"))
    fresh = await client.get(f"/campaigns/{campaign_id}/live")

    assert again.status_code == 204
    assert again.content == b""
    assert fresh.status_code == 200
    assert f'value="{mine}"' in fresh.text
    assert f'value="{theirs}"' in their_fragment.text
    assert mine not in their_fragment.text
