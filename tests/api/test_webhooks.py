"""The webhook collector through the ASGI app, with real SQLite and Redis (docs/design.md §10)."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from typing import Any, get_args
from urllib.parse import parse_qsl

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from api.app import create_app, uvicorn_log_config
from api.resources import app_resources
from api.webhooks import MAX_BODY_BYTES, MaskWebhookToken, mask_token
from campaigns import inbox as inbox_module
from campaigns.apply import AppliedEvent, CallRows
from campaigns.tables import Attempt, Contact, Dnc, Event
from dialer.settings import Settings
from dialer.telecom.events import BodyFormat, MttEvent
from dialer.telecom.limiters import ConcurrencyLimiter
from tests.api.conftest import WEBHOOK_TOKEN
from tests.factories import insert_call

URL = f"/webhooks/mtt/{WEBHOOK_TOKEN}"
PHONE = "79103880489"
OPERATOR = "74997090111"
CALL_ID = "00035c7d92bb0971"

Sessions = async_sessionmaker[AsyncSession]

pytestmark = pytest.mark.any_db


def kv(attempt_id: int | str, event: str, **extra: str) -> str:
    fields = {"date_time": "2026-11-25-12-01-00", "id": str(attempt_id), "CallID": CALL_ID}
    return "&".join(f"{k}={v}" for k, v in (fields | extra | {"event": event}).items())


def wire(fmt: str, attempt_id: int) -> dict[str, Any]:
    """The listened hangup in one of the reference's formats, as httpx request arguments."""
    text = kv(attempt_id, f"h_{PHONE}_16_9")
    record = dict(parse_qsl(text))
    as_json = {"headers": {"content-type": "application/json"}}
    formats: dict[str, dict[str, Any]] = {
        "json": {"content": json.dumps(record), **as_json},
        "json_list": {"content": json.dumps([record]), **as_json},
        "data_object": {"content": json.dumps({"data": record}), **as_json},
        "data_string": {"content": json.dumps({"data": text}), **as_json},
        "braced_string": {"content": '{"' + text + '"}'},
        "data_braced": {"content": '{"data": {"' + text + '"}}', **as_json},
        "kv": {"content": text, "headers": {"content-type": "text/plain"}},
        "form": {"data": record},
        "query": {"params": record},
    }
    return formats[fmt]


async def stored_events(sessions: Sessions) -> list[Event]:
    async with sessions() as session:
        return list((await session.scalars(select(Event).order_by(Event.id))).all())


async def contact_of(sessions: Sessions, attempt: Attempt) -> Contact:
    async with sessions() as session:
        return await session.get_one(Contact, attempt.contact_id)


async def post(client: httpx.AsyncClient, attempt_id: int | str, event: str, **extra: str) -> Any:
    response = await client.post(URL, content=kv(attempt_id, event, **extra))
    assert response.status_code == 200, response.text
    return response.json()


FORMATS: tuple[BodyFormat, ...] = get_args(BodyFormat)


@pytest.mark.parametrize("fmt", FORMATS)
async def test_every_reference_format_is_stored_and_applied(
    client: httpx.AsyncClient, sessions: Sessions, fmt: str
) -> None:
    attempt = await insert_call(sessions, contact={"phone": PHONE})
    response = await client.post(URL, **wire(fmt, attempt.id))
    assert response.status_code == 200, response.text
    assert response.json() == {"stored": 1, "duplicates": 0, "unmatched": 0}
    (row,) = await stored_events(sessions)
    assert (row.format, row.attempt_id, row.kind) == (fmt, attempt.id, "hangup")
    assert (await contact_of(sessions, attempt)).outcome == "listened"


async def test_a_get_with_query_parameters_is_an_event_too(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    attempt = await insert_call(sessions, contact={"phone": PHONE})
    response = await client.get(URL, params=dict(parse_qsl(kv(attempt.id, f"o_{PHONE}"))))
    (row,) = await stored_events(sessions)
    assert response.status_code == 200
    assert (row.format, row.attempt_id, row.kind) == ("query", attempt.id, "originate")


async def test_the_same_event_three_times_changes_nothing_after_the_first(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    attempt = await insert_call(sessions, contact={"phone": PHONE})
    answers = [await post(client, attempt.id, f"h_{PHONE}_17_0") for _ in range(3)]
    assert [a["stored"] for a in answers] == [1, 0, 0]
    assert [a["duplicates"] for a in answers] == [0, 1, 1]
    contact = await contact_of(sessions, attempt)
    assert (contact.attempts, contact.history, contact.status) == (1, "busy", "scheduled")
    assert len(await stored_events(sessions)) == 1


async def test_hangup_before_originate(client: httpx.AsyncClient, sessions: Sessions) -> None:
    attempt = await insert_call(sessions, contact={"phone": PHONE})
    await post(client, attempt.id, f"h_{PHONE}_16_20")
    await post(client, attempt.id, f"o_{PHONE}")
    async with sessions() as session:
        row = await session.get_one(Attempt, attempt.id)
    assert (row.state, row.cause, row.duration) == ("finished", 16, 20)
    assert row.originated_at is not None
    assert (await contact_of(sessions, attempt)).outcome == "listened"


async def test_full_ivr_example_in_printed_order(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    attempt = await insert_call(sessions, contact={"phone": PHONE})
    events = [
        {"date_time": "2019-03-29-11-37-13", "event": f"o_{PHONE}"},
        {
            "date_time": "2019-03-29-11-37-55",
            "dtmf": "3",
            "type": "transfer",
            "event": f"o_{OPERATOR}",
        },
        {
            "date_time": "2019-03-29-11-38-45",
            "dtmf": "3",
            "type": "transfer",
            "event": f"h_{OPERATOR}_16_30",
        },
        {"date_time": "2019-03-29-11-37-20", "event": f"h_{PHONE}_16_50"},
    ]
    for event in events:
        record = {"id": str(attempt.id), "CallID": CALL_ID} | event
        assert (await client.post(URL, json=record)).status_code == 200
    async with sessions() as session:
        row = await session.get_one(Attempt, attempt.id)
    contact = await contact_of(sessions, attempt)
    assert (row.state, row.cause, row.duration) == ("finished", 16, 50)
    assert (row.transfer_number, row.transfer_cause, row.transfer_seconds) == (OPERATOR, 16, 30)
    assert (contact.outcome, contact.listened_seconds, contact.transfer_seconds) == (
        "listened",
        50,
        30,
    )
    assert contact.dtmf == "3"


async def test_unknown_ids_are_stored_unmatched(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    answer = await post(client, 123456, f"o_{PHONE}")
    (row,) = await stored_events(sessions)
    assert answer == {"stored": 1, "duplicates": 0, "unmatched": 1}
    assert (row.attempt_id, row.mess_id, row.call_id) == (None, "123456", CALL_ID)


@pytest.mark.parametrize(
    "token", ["wrong", WEBHOOK_TOKEN + "x", WEBHOOK_TOKEN[:-1], WEBHOOK_TOKEN.upper(), "ключ"]
)
async def test_a_wrong_token_is_not_found_and_stores_nothing(
    client: httpx.AsyncClient, sessions: Sessions, token: str
) -> None:
    attempt = await insert_call(sessions, contact={"phone": PHONE})
    response = await client.post(f"/webhooks/mtt/{token}", content=kv(attempt.id, f"o_{PHONE}"))
    unknown_route = await client.post("/webhooks/no/such/route", content=b"x")
    assert response.status_code == 404
    assert (
        response.json()
        == unknown_route.json()
        == {"error": {"code": "not_found", "message": "Not Found", "details": None}}
    )
    assert await stored_events(sessions) == []
    assert (await contact_of(sessions, attempt)).status == "dialing"


async def test_no_token_configured_refuses_every_token(
    api_settings: Settings, sessions: Sessions
) -> None:
    app = create_app(api_settings.model_copy(update={"webhook_token": SecretStr("")}))
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            for token in ("", "x", WEBHOOK_TOKEN):
                response = await client.post(f"/webhooks/mtt/{token}", content=b"event=o_1&id=1")
                assert response.status_code == 404
    assert await stored_events(sessions) == []


async def test_garbage_is_stored_with_its_parse_error_and_answered_400(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    response = await client.post(URL, content=b"not an event")
    (row,) = await stored_events(sessions)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "unparseable_event"
    assert row.parse_error == response.json()["error"]["message"]
    assert row.body == "not an event"


async def test_a_body_over_the_limit_is_refused_413(
    client: httpx.AsyncClient, sessions: Sessions
) -> None:
    big = kv(1, f"o_{PHONE}") + "&pad=" + "x" * MAX_BODY_BYTES
    response = await client.post(URL, content=big)

    async def unsized() -> AsyncIterator[bytes]:
        yield big.encode()

    chunked = await client.post(URL, content=unsized())
    assert (response.status_code, chunked.status_code) == (413, 413)
    assert response.json()["error"]["code"] == "payload_too_large"
    assert await stored_events(sessions) == []


async def test_opt_out_lands_in_dnc(client: httpx.AsyncClient, sessions: Sessions) -> None:
    attempt = await insert_call(
        sessions, contact={"phone": PHONE}, campaign={"dtmf": [{"digit": 9, "action": "opt_out"}]}
    )
    await post(client, attempt.id, f"n_{PHONE}", dtmf="9", type="notify")
    async with sessions() as session:
        entry = await session.get_one(Dnc, PHONE)
    assert entry.source == "dtmf"
    assert (await contact_of(sessions, attempt)).dtmf == "9"


async def test_the_final_event_releases_the_concurrency_lease(
    app: FastAPI, client: httpx.AsyncClient, sessions: Sessions
) -> None:
    attempt = await insert_call(sessions, contact={"phone": PHONE})
    resources = app_resources(app)
    limiter = resources.concurrency
    scopes = [
        ConcurrencyLimiter.global_scope(5),
        ConcurrencyLimiter.campaign_scope(attempt.campaign_id, 5),
    ]
    assert await limiter.acquire(str(attempt.id), scopes)
    await post(client, attempt.id, f"o_{PHONE}")
    await resources.inbox.settled()
    assert [await limiter.holders(s) for s in scopes] == [[str(attempt.id)]] * 2
    await post(client, attempt.id, f"h_{PHONE}_16_9")
    await resources.inbox.settled()
    assert [await limiter.holders(s) for s in scopes] == [[], []]


async def test_a_crash_in_apply_answers_500_and_keeps_the_event(
    client: httpx.AsyncClient, sessions: Sessions, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempt = await insert_call(sessions, contact={"phone": PHONE})

    def crash(session: Session, event: MttEvent, call: CallRows, **_: Any) -> AppliedEvent:
        raise RuntimeError("apply crashed")

    monkeypatch.setattr(inbox_module, "apply_event", crash)
    response = await client.post(URL, content=kv(attempt.id, f"h_{PHONE}_16_9"))
    (row,) = await stored_events(sessions)
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "apply_failed"
    assert row.apply_error == "RuntimeError: apply crashed"
    assert (await contact_of(sessions, attempt)).status == "dialing"


FIRST_ATTEMPT_ID = 1
"""The id of the one attempt `hypothesis_call` stores in a fresh database."""

numbers = st.sampled_from([PHONE, OPERATOR, "7", "123456789012345"])
valid_events = st.one_of(
    st.builds("o_{}".format, numbers),
    st.builds("n_{}".format, numbers),
    st.builds(
        "h_{}_{}_{}".format,
        numbers,
        st.integers(0, 127),
        st.integers(0, 86_400),
    ),
)
records = st.fixed_dictionaries(
    {
        "event": valid_events | st.text(max_size=12),
        "id": st.sampled_from([str(FIRST_ATTEMPT_ID), "999", "null", "-1", "9" * 30]),
    },
    optional={
        "CallID": st.sampled_from([CALL_ID, "", "x" * 40]) | st.text(max_size=40),
        "dtmf": st.sampled_from(["1", "9", "null", "0", "12"]),
        "type": st.sampled_from(["transfer", "notify", "x"]),
        "date_time": st.sampled_from(["2019-03-29-11-37-13", "1553848633", "2019-02-30-00-00-00"]),
    },
)
bodies = st.one_of(
    records.map(lambda r: json.dumps(r).encode()),
    records.map(lambda r: "&".join(f"{k}={v}" for k, v in r.items()).encode()),
    st.lists(records, max_size=3).map(lambda rs: json.dumps(rs).encode()),
    records.map(lambda r: json.dumps({"data": r}).encode()),
    st.binary(max_size=200),
    st.text(max_size=200).map(str.encode),
)
content_types = st.sampled_from(
    [None, "application/json", "application/x-www-form-urlencoded", "text/plain; charset=utf-8"]
)


@pytest.fixture
async def hypothesis_call(sessions: Sessions) -> Attempt:
    attempt = await insert_call(
        sessions, contact={"phone": PHONE}, campaign={"dtmf": [{"digit": 9, "action": "opt_out"}]}
    )
    assert attempt.id == FIRST_ATTEMPT_ID
    return attempt


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    body=bodies,
    content_type=content_types,
    query=st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=2),
)
async def test_any_body_is_stored_or_refused_never_a_server_error(
    client: httpx.AsyncClient,
    sessions: Sessions,
    hypothesis_call: Attempt,
    body: bytes,
    content_type: str | None,
    query: dict[str, str],
) -> None:
    headers = {} if content_type is None else {"content-type": content_type}
    before = len(await stored_events(sessions))
    response = await client.post(URL, content=body, headers=headers, params=query)
    rows = await stored_events(sessions)
    assert response.status_code in (200, 400), response.text
    if response.status_code == 400:
        assert rows[-1].parse_error == response.json()["error"]["message"]
        assert len(rows) == before + 1
    else:
        answer = response.json()
        assert answer["stored"] + answer["duplicates"] >= 1
        assert len(rows) == before + answer["stored"]


def test_mask_token_hides_the_path_token() -> None:
    assert mask_token(f'1.2.3.4 - "POST {URL}?a=1 HTTP/1.1" 200') == (
        '1.2.3.4 - "POST /webhooks/mtt/***?a=1 HTTP/1.1" 200'
    )


def test_the_filter_masks_urls_logged_as_objects() -> None:
    """httpx logs each request's URL as an `httpx.URL` argument."""
    url = httpx.URL(f"https://dialer.example{URL}")
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "HTTP Request: %s %s %d", ("POST", url, 200), None
    )
    assert MaskWebhookToken().filter(record)
    assert record.getMessage() == "HTTP Request: POST https://dialer.example/webhooks/mtt/*** 200"


async def test_uvicorn_access_log_never_prints_the_token(
    api_settings: Settings, capfd: pytest.CaptureFixture[str]
) -> None:
    config = uvicorn.Config(
        create_app(api_settings),
        host="127.0.0.1",
        port=0,
        log_config=uvicorn_log_config(),
        access_log=True,
        ws="none",
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        assert not task.done()
        await asyncio.sleep(0.01)
    port = server.servers[0].sockets[0].getsockname()[1]
    async with httpx.AsyncClient() as http:
        response = await http.post(f"http://127.0.0.1:{port}{URL}?x=1", content=b"garbage")
    server.should_exit = True
    await task
    out, err = capfd.readouterr()
    assert response.status_code == 400
    assert WEBHOOK_TOKEN not in out + err
    assert '"POST /webhooks/mtt/***?x=1 HTTP/1.1" 400' in out + err
