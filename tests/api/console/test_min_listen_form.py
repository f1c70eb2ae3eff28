"""The new-campaign form's listening threshold: shown with the service's value, saved as the
campaign's own only when it differs, refused beside the field in Russian."""

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

SERVICE = 7
FIELD = re.compile(r'<input id="min_listen_seconds" name="min_listen_seconds"[^>]*>')


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return api_settings.model_copy(update={"min_listen_seconds": SERVICE})


def field_of(html: str) -> str:
    found = FIELD.search(html)
    assert found is not None, html
    return found.group(0)


async def filled(app: FastAPI, client: httpx.AsyncClient, **fields: str) -> httpx.Response:
    """The new-campaign form posted with `fields` over a valid one."""
    await add_user(app_resources(app).sessions)
    csrf = await signed_in(client)
    upload = UPLOAD.search((await upload_file(client, csrf, "c.csv", csv_bytes(rows(2)))).text)
    assert upload is not None
    return await client.post("/campaigns/new", data=form_body(csrf, upload.group(1), **fields))


async def stored(app: FastAPI) -> list[int | None]:
    async with app_resources(app).sessions() as session:
        return list((await session.scalars(select(Campaign.min_listen_seconds))).all())


async def test_the_field_is_labelled_and_shows_the_services_value(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)

    page = await client.get("/campaigns/new")

    assert page.status_code == 200
    assert f'value="{SERVICE}"' in field_of(page.text)
    assert (
        '<label for="min_listen_seconds">Считать прослушанным, если слушали не меньше (с)</label>'
        in page.text
    )
    assert "перезванивается по этому правилу" in page.text


@pytest.mark.parametrize(
    ("typed", "saved"),
    [("15", 15), ("1", 1), ("0", 0), (str(SERVICE), None), ("", None)],
)
async def test_a_value_is_saved_as_the_campaigns_own_unless_it_is_the_services(
    app: FastAPI, client: httpx.AsyncClient, typed: str, saved: int | None
) -> None:
    created = await filled(app, client, min_listen_seconds=typed)

    assert created.status_code == 303, created.text
    assert await stored(app) == [saved]


@pytest.mark.parametrize(
    ("typed", "error"),
    [("-1", "не меньше 0"), ("3601", "не больше 3600"), ("долго", "нужно целое число")],
)
async def test_a_bad_value_is_shown_beside_the_field_in_russian(
    app: FastAPI, client: httpx.AsyncClient, typed: str, error: str
) -> None:
    refused = await filled(app, client, min_listen_seconds=typed)

    assert refused.status_code == 422
    field = field_of(refused.text)
    assert f'value="{typed}"' in field
    assert 'aria-describedby="min_listen_seconds-error"' in field
    assert f'id="min_listen_seconds-error" role="alert">{error}<' in refused.text
    assert await stored(app) == []
