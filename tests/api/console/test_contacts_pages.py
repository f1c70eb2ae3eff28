"""A campaign's contacts page (keyset paging, number search, filters) and a contact's history
page (attempts with cause texts, events, conflicts), over the real app."""

from __future__ import annotations

import re

import httpx
from fastapi import FastAPI

from api.resources import app_resources
from campaigns.db import write_transaction
from campaigns.tables import Event
from tests.api.console.support import add_user, signed_in
from tests.db_fixtures import insert_campaign, insert_contacts, phone_of
from tests.factories import T0, make_attempt

_PHONES = re.compile(r'data-phone="(\d+)"')


async def test_pages_follow_the_keyset_and_filters_combine(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)
    sessions = app_resources(app).sessions
    campaign_id = await insert_campaign(sessions)
    await insert_contacts(sessions, campaign_id, range(1, 61), status="pending")
    await insert_contacts(sessions, campaign_id, [61, 62], status="done", outcome="busy")

    first = await client.get(f"/campaigns/{campaign_id}/contacts")
    cursor = re.search(r'data-testid="next-page" href="[^"]*cursor=(\d+)', first.text)
    assert cursor is not None
    second = await client.get(f"/campaigns/{campaign_id}/contacts?cursor={cursor.group(1)}")
    busy = await client.get(
        f"/campaigns/{campaign_id}/contacts", params={"status": "done", "outcome": "busy"}
    )
    found = await client.get(
        f"/campaigns/{campaign_id}/contacts", params={"number": "8 910 000-00-07"}
    )

    assert _PHONES.findall(first.text) == [phone_of(n) for n in range(1, 51)]
    assert _PHONES.findall(second.text) == [phone_of(n) for n in range(51, 63)]
    assert 'data-testid="next-page"' not in second.text
    assert _PHONES.findall(busy.text) == [phone_of(61), phone_of(62)]
    assert _PHONES.findall(found.text) == [phone_of(7)]


async def test_a_search_pages_on_with_its_number_kept(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)
    sessions = app_resources(app).sessions
    campaign_id = await insert_campaign(sessions)
    await insert_contacts(sessions, campaign_id, range(1, 61), status="pending")

    first = await client.get(f"/campaigns/{campaign_id}/contacts", params={"number": "+7 910"})
    link = re.search(r'data-testid="next-page" href="([^"]+)"', first.text)
    assert link is not None
    second = await client.get(link.group(1).replace("&amp;", "&"))

    assert "number=%2B7+910" in link.group(1)
    assert _PHONES.findall(first.text) + _PHONES.findall(second.text) == [
        phone_of(n) for n in range(1, 61)
    ]


async def test_a_search_without_digits_is_explained(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)
    campaign_id = await insert_campaign(app_resources(app).sessions)

    answer = await client.get(f"/campaigns/{campaign_id}/contacts", params={"number": "<abc>"})

    assert answer.status_code == 422
    assert "нет цифр для поиска" in answer.text
    assert "<abc>" not in answer.text


async def test_the_history_shows_attempts_causes_and_events_with_conflicts(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)
    sessions = app_resources(app).sessions
    campaign_id = await insert_campaign(sessions)
    [contact_id] = await insert_contacts(
        sessions, campaign_id, [1], status="done", outcome="busy", vars={"name": "<i>Анна</i>"}
    )
    async with write_transaction(sessions) as session:
        attempt = make_attempt(
            contact_id=contact_id,
            campaign_id=campaign_id,
            state="finished",
            call_id="CALL-42",
            cause=17,
            duration=0,
            category="busy",
        )
        session.add(attempt)
        await session.flush()
        session.add_all(
            [
                Event(received_at=T0, body='{"state":"busy"}', kind="final", attempt_id=attempt.id),
                Event(
                    received_at=T0,
                    body="<script>x</script>",
                    kind="final",
                    attempt_id=attempt.id,
                    match_status="conflict",
                    match_reason="CallID differs",
                ),
            ]
        )

    page = await client.get(f"/campaigns/{campaign_id}/contacts/{contact_id}")

    assert page.status_code == 200
    assert "CALL-42" in page.text
    assert "<b>17</b> занято" in page.text
    assert "Получено событий: 2" in page.text
    assert "конфликт, не применено:" in page.text
    assert "CallID differs" in page.text
    assert "<script>x</script>" not in page.text
    assert "&lt;i&gt;Анна&lt;/i&gt;" in page.text


async def test_a_contact_of_another_campaign_is_not_found(
    app: FastAPI, client: httpx.AsyncClient
) -> None:
    await add_user(app_resources(app).sessions)
    await signed_in(client)
    sessions = app_resources(app).sessions
    first, second = await insert_campaign(sessions), await insert_campaign(sessions)
    [contact_id] = await insert_contacts(sessions, first, [1])

    assert (await client.get(f"/campaigns/{first}/contacts/{contact_id}")).status_code == 200
    assert (await client.get(f"/campaigns/{second}/contacts/{contact_id}")).status_code == 404
