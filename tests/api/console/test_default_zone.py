"""The new-campaign form starts in the service's zone (DIALER_DEFAULT_TIMEZONE)."""

from __future__ import annotations

import re

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from api.resources import app_resources
from campaigns.tables import Campaign
from dialer.settings import Settings
from tests.api.console.support import UPLOAD, add_user, form_body, signed_in, upload_file
from tests.campaigns.files import csv_bytes, rows


@pytest.fixture(params=["Asia/Novosibirsk", "Europe/Berlin"])
def api_settings(api_settings: Settings, request: pytest.FixtureRequest) -> Settings:
    return api_settings.model_copy(update={"default_timezone": request.param})


def _selected_zone(html: str) -> str:
    select_tag = re.search(r'<select id="timezone".*?</select>', html, re.DOTALL)
    assert select_tag is not None
    chosen: list[str] = re.findall(r'<option value="([^"]+)" selected>', select_tag.group(0))
    assert len(chosen) == 1, chosen
    return chosen[0]


async def test_the_form_starts_in_the_services_zone(
    app: FastAPI, client: httpx.AsyncClient, api_settings: Settings
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)

    page = await client.get("/campaigns/new")

    assert page.status_code == 200
    assert _selected_zone(page.text) == api_settings.default_timezone


async def test_a_form_that_names_no_zone_takes_the_services(
    app: FastAPI, client: httpx.AsyncClient, api_settings: Settings
) -> None:
    sessions = app_resources(app).sessions
    await add_user(sessions)
    csrf = await signed_in(client)
    upload = UPLOAD.search((await upload_file(client, csrf, "c.csv", csv_bytes(rows(2)))).text)
    assert upload is not None
    body = form_body(csrf, upload.group(1))
    del body["timezone"]

    created = await client.post("/campaigns/new", data=body)

    assert created.status_code == 303, created.text
    async with sessions() as session:
        zones = (await session.scalars(select(Campaign.timezone))).all()
    assert zones == [api_settings.default_timezone]
