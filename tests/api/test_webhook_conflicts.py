"""A webhook that names one attempt but carries another call's CallID and number, through the
webhook route, /metrics and the contact's history, on real SQLite and Redis (issue 15)."""

from __future__ import annotations

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from campaigns.tables import Attempt, Contact, Event
from dialer.settings import Settings
from tests.api.conftest import WEBHOOK_TOKEN
from tests.api.support import Sessions, authorize, with_api_keys
from tests.factories import insert_call

URL = f"/webhooks/mtt/{WEBHOOK_TOKEN}"
PHONE_A, CALL_A = "79103880489", "00035c7d92bb0971"
PHONE_B, CALL_B = "79105550011", "00035c7d92bb0b0b"

pytestmark = pytest.mark.any_db


@pytest.fixture
def api_settings(api_settings: Settings) -> Settings:
    return with_api_keys(api_settings)


async def post(client: httpx.AsyncClient, attempt_id: int, call_id: str, event: str) -> None:
    text = f"date_time=2026-11-25-12-01-00&id={attempt_id}&CallID={call_id}&event={event}"
    response = await client.post(URL, content=text)
    assert response.status_code == 200, response.text


async def attempt_and_contact(sessions: Sessions, attempt_id: int) -> tuple[Attempt, Contact]:
    async with sessions() as session:
        attempt = await session.get_one(Attempt, attempt_id)
        return attempt, await session.get_one(Contact, attempt.contact_id)


async def conflicts_counted(client: httpx.AsyncClient) -> float:
    response = await client.get("/metrics")
    assert response.status_code == 200
    (family,) = [
        f
        for f in text_string_to_metric_families(response.text)
        if f.name == "dialer_webhook_conflicts"
    ]
    (sample,) = [s for s in family.samples if s.name == "dialer_webhook_conflicts_total"]
    return sample.value


@pytest.mark.parametrize("a_knows_its_call_id", [True, False])
async def test_another_calls_event_is_a_conflict_and_the_genuine_one_still_applies(
    client: httpx.AsyncClient, sessions: Sessions, a_knows_its_call_id: bool
) -> None:
    a = await insert_call(
        sessions, contact={"phone": PHONE_A}, call_id=CALL_A if a_knows_its_call_id else None
    )
    b = await insert_call(sessions, contact={"phone": PHONE_B}, call_id=CALL_B)

    await post(client, a.id, CALL_B, f"h_{PHONE_B}_17_0")  # A's messId, B's call: busy

    attempt, contact = await attempt_and_contact(sessions, a.id)
    assert (attempt.state, attempt.cause, attempt.call_id) == (
        "accepted",
        None,
        CALL_A if a_knows_its_call_id else None,
    )
    assert (contact.status, contact.attempts, contact.history) == ("dialing", 0, "")
    assert (await attempt_and_contact(sessions, b.id))[0].state == "accepted"

    await post(client, a.id, CALL_A, f"h_{PHONE_A}_16_9")  # A's own final event

    attempt, contact = await attempt_and_contact(sessions, a.id)
    assert (attempt.state, attempt.cause, attempt.call_id) == ("finished", 16, CALL_A)
    assert (contact.status, contact.outcome, contact.listened_seconds) == ("done", "listened", 9)

    async with sessions() as session:
        rows = (await session.scalars(select(Event).order_by(Event.id))).all()
    assert [(r.attempt_id, r.call_id, r.match_status) for r in rows] == [
        (a.id, CALL_B, "conflict"),
        (a.id, CALL_A, "matched"),
    ]
    reason = (
        f"CallID {CALL_B} is not the attempt's {CALL_A}"
        if a_knows_its_call_id
        else f"number {PHONE_B} is not the attempt's {PHONE_A}"
    )
    assert rows[0].match_reason == reason

    assert await conflicts_counted(client) == 1

    api = authorize(client)
    response = await api.get(f"/v1/campaigns/{a.campaign_id}/contacts/{a.contact_id}")
    assert response.status_code == 200, response.text
    history = response.json()
    assert (history["outcome"], [call["id"] for call in history["calls"]]) == ("listened", [a.id])
    events = history["calls"][0]["events"]
    assert [(e["event"], e["call_id"], e["match_status"], e["match_reason"]) for e in events] == [
        (f"h_{PHONE_B}_17_0", CALL_B, "conflict", reason),
        (f"h_{PHONE_A}_16_9", CALL_A, "matched", None),
    ]


async def test_a_contact_of_another_campaign_has_no_history_here(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    a = await insert_call(sessions)
    b = await insert_call(sessions, contact={"phone": PHONE_B})
    response = await authorize(client).get(f"/v1/campaigns/{a.campaign_id}/contacts/{b.contact_id}")
    assert response.status_code == 404
    assert response.json()["error"]["message"] == (
        f"contact {b.contact_id} does not exist in campaign {a.campaign_id}"
    )
