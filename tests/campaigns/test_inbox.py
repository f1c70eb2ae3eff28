"""The inbox on real SQLite and Redis: stored before applied, deduplicated, group-committed."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import redis.asyncio as aioredis
from sqlalchemy import Engine, func, select
from sqlalchemy import event as sa_event
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from campaigns import inbox as inbox_module
from campaigns.apply import AppliedEvent, CallRows, apply_event
from campaigns.db import Writes, write_transaction
from campaigns.inbox import (
    MAX_EVENTS,
    Receipt,
    WebhookDelivery,
    leases_of,
    read,
    retry_failed,
    store,
)
from campaigns.inbox_writer import InboxWriter
from campaigns.jobs import after_commit
from campaigns.tables import Attempt, Contact, Event
from dialer.shell.redis_server import free_port
from dialer.telecom.events import MttEvent
from dialer.telecom.limiters import ConcurrencyLimiter, Scope
from dialer.telecom.redial import RedialPolicy
from tests.factories import T0, insert_call

BASE = RedialPolicy()
NOW = T0 + timedelta(minutes=2)
PHONE = "79101234567"

Sessions = async_sessionmaker[AsyncSession]

pytestmark = pytest.mark.any_db


def body(event: str, attempt: Attempt | int, **extra: str) -> bytes:
    attempt_id = attempt if isinstance(attempt, int) else attempt.id
    record = {"date_time": "2026-11-25-12-01-00", "id": str(attempt_id), "CallID": "c1"}
    return json.dumps(record | {"event": event} | extra).encode()


def delivery(raw: bytes, content_type: str | None = "application/json") -> WebhookDelivery:
    return read(raw, content_type, {}, T0)


async def stored(sessions: Sessions, deliveries: list[WebhookDelivery]) -> list[Receipt]:
    """`store` through a `Writes` of the sessions' engine, as the API's inbox runs it."""
    writes = Writes(sessions.kw["bind"])
    try:
        receipts = (await store(writes.run, deliveries, base=BASE, now=NOW)).receipts
    finally:
        writes.close()
    assert all(isinstance(r, Receipt) for r in receipts)
    return [r for r in receipts if isinstance(r, Receipt)]


async def events(sessions: Sessions) -> list[Event]:
    async with sessions() as session:
        return list((await session.scalars(select(Event).order_by(Event.id))).all())


async def contact_of(sessions: Sessions, attempt: Attempt) -> Contact:
    async with sessions() as session:
        return await session.get_one(Contact, attempt.contact_id)


@pytest.fixture
def crash_on(monkeypatch: pytest.MonkeyPatch) -> set[int]:
    """Attempt ids whose events make applying raise, as a bug in apply would."""
    ids: set[int] = set()
    original = apply_event

    def crashing(session: Session, event: MttEvent, call: CallRows, **kwargs: Any) -> AppliedEvent:
        if call.attempt.id in ids:
            raise RuntimeError(f"boom on attempt {call.attempt.id}")
        return original(session, event, call, **kwargs)

    monkeypatch.setattr(inbox_module, "apply_event", crashing)
    return ids


async def test_one_event_three_times_is_stored_and_applied_once(sessions: Sessions) -> None:
    attempt = await insert_call(sessions)
    raw = body(f"h_{PHONE}_17_0", attempt)
    first = await stored(sessions, [delivery(raw), delivery(raw)])
    again = await stored(sessions, [delivery(raw)])
    as_kv = await stored(
        sessions,
        [delivery(b"id=%d&CallID=c1&event=h_%s_17_0" % (attempt.id, PHONE.encode()), None)],
    )
    assert [(r.stored, r.duplicates) for r in first + again + as_kv] == [
        (1, 0),
        (0, 1),
        (0, 1),
        (0, 1),
    ]
    assert [len(r.applied) for r in first + again + as_kv] == [1, 0, 0, 0]
    contact = await contact_of(sessions, attempt)
    assert (contact.attempts, contact.history) == (1, "busy")
    assert len(await events(sessions)) == 1


async def test_event_of_an_unknown_call_is_stored_unmatched(sessions: Sessions) -> None:
    (receipt,) = await stored(sessions, [delivery(body(f"o_{PHONE}", 4242))])
    (row,) = await events(sessions)
    assert (receipt.stored, receipt.unmatched, receipt.applied) == (1, 1, ())
    assert (row.attempt_id, row.mess_id, row.kind, row.format, row.match_status) == (
        None,
        "4242",
        "originate",
        "json",
        "unmatched",
    )


async def test_matched_event_row_keeps_body_fields_and_attempt(sessions: Sessions) -> None:
    attempt = await insert_call(sessions)
    raw = body(f"o_{PHONE}", attempt)
    await stored(sessions, [read(raw, "application/json", {"x": "1"}, T0)])
    (row,) = await events(sessions)
    assert (row.attempt_id, row.body, row.query, row.received_at) == (
        attempt.id,
        raw.decode(),
        "x=1",
        T0,
    )
    assert row.parsed is not None
    assert row.parsed["event"] == f"o_{PHONE}"


async def test_unparseable_body_is_stored_with_its_parse_error(sessions: Sessions) -> None:
    (receipt,) = await stored(sessions, [delivery(b"\x00garbage{", "text/plain")])
    (row,) = await events(sessions)
    assert receipt.parse_error is not None
    assert row.parse_error == receipt.parse_error
    assert (row.body, row.dedup_key, row.parsed) == ("\\x00garbage{", None, None)


def test_a_body_with_too_many_events_is_a_parse_error() -> None:
    record = {"id": "1", "event": f"o_{PHONE}"}
    many = [record | {"event": f"o_{n}"} for n in range(MAX_EVENTS + 1)]
    assert read(json.dumps(many).encode(), None, {}, T0).parse_error == (
        f"{MAX_EVENTS + 1} events in one body; at most {MAX_EVENTS} are accepted"
    )


async def test_a_list_body_stores_each_event(sessions: Sessions) -> None:
    attempt = await insert_call(sessions)
    both = [json.loads(body(f"o_{PHONE}", attempt)), json.loads(body(f"h_{PHONE}_16_9", attempt))]
    (receipt,) = await stored(sessions, [delivery(json.dumps(both).encode())])
    assert (receipt.stored, [a.final_outcome for a in receipt.applied]) == (2, [None, "listened"])
    assert [row.kind for row in await events(sessions)] == ["originate", "hangup"]


async def test_a_crash_in_apply_stores_the_event_with_apply_error_and_spares_the_batch(
    sessions: Sessions, crash_on: set[int]
) -> None:
    good, bad = (
        await insert_call(sessions),
        await insert_call(sessions, contact={"phone": "79102223344"}),
    )
    crash_on.add(bad.id)
    batch = [delivery(body(f"h_{PHONE}_16_9", good)), delivery(body("h_79102223344_16_9", bad))]
    ok, failed = await stored(sessions, batch)
    assert (ok.stored, ok.apply_error, len(ok.applied)) == (1, None, 1)
    assert (failed.stored, failed.applied) == (1, ())
    assert failed.apply_error == f"RuntimeError: boom on attempt {bad.id}"
    rows = {row.mess_id: row for row in await events(sessions)}
    assert rows[str(bad.id)].apply_error == failed.apply_error
    assert rows[str(good.id)].apply_error is None
    assert (await contact_of(sessions, bad)).status == "dialing"
    assert (await contact_of(sessions, good)).outcome == "listened"


async def test_redelivery_of_a_failed_event_applies_it(
    sessions: Sessions, crash_on: set[int]
) -> None:
    attempt = await insert_call(sessions)
    crash_on.add(attempt.id)
    raw = body(f"h_{PHONE}_16_9", attempt)
    (failed,) = await stored(sessions, [delivery(raw)])
    crash_on.clear()
    (retried,) = await stored(sessions, [delivery(raw)])
    (row,) = await events(sessions)
    assert failed.apply_error is not None
    assert (retried.apply_error, retried.duplicates, len(retried.applied)) == (None, 0, 1)
    assert (row.apply_error, row.attempt_id) == (None, attempt.id)
    assert (await contact_of(sessions, attempt)).outcome == "listened"


async def test_retry_failed_reapplies_and_keeps_what_fails_again(
    sessions: Sessions, writes: Writes, crash_on: set[int]
) -> None:
    first, second = (
        await insert_call(sessions),
        await insert_call(sessions, contact={"phone": "79102223344"}),
    )
    crash_on.update({first.id, second.id})
    await stored(sessions, [delivery(body(f"h_{PHONE}_16_9", first))])
    await stored(sessions, [delivery(body("h_79102223344_16_9", second))])
    crash_on.discard(first.id)
    applied = await retry_failed(sessions, writes.run, base=BASE, now=NOW)
    assert [(a.attempt_id, a.final_outcome) for a in applied] == [(first.id, "listened")]
    rows = {row.mess_id: row for row in await events(sessions)}
    assert rows[str(first.id)].apply_error is None
    assert rows[str(second.id)].apply_error == f"RuntimeError: boom on attempt {second.id}"
    assert await retry_failed(sessions, writes.run, base=BASE, now=NOW) == []


async def test_a_conflicting_event_is_stored_unapplied_and_its_call_id_not_adopted(
    sessions: Sessions,
) -> None:
    attempt = await insert_call(sessions)  # no CallID yet: sb-api has not answered
    conflicting = body("h_79107654321_17_0", attempt, CallID="other")
    (receipt,) = await stored(sessions, [delivery(conflicting)])
    assert (receipt.stored, receipt.conflicts, receipt.applied) == (1, 1, ())
    (row,) = await events(sessions)
    assert (row.attempt_id, row.match_status, row.match_reason) == (
        attempt.id,
        "conflict",
        f"number 79107654321 is not the attempt's {PHONE}",
    )
    async with sessions() as session:
        assert (await session.get_one(Attempt, attempt.id)).call_id is None
    assert (await contact_of(sessions, attempt)).status == "dialing"


async def test_a_batch_judges_each_event_by_the_call_id_its_earlier_events_taught(
    sessions: Sessions,
) -> None:
    attempt = await insert_call(sessions)
    genuine = delivery(body(f"o_{PHONE}", attempt))  # CallID c1, learnt by the attempt
    replayed = delivery(body(f"h_{PHONE}_17_0", attempt, CallID="c2"))
    first, second = await stored(sessions, [genuine, replayed])
    assert (len(first.applied), first.conflicts, len(second.applied), second.conflicts) == (
        1,
        0,
        0,
        1,
    )
    assert [(row.match_status, row.match_reason) for row in await events(sessions)] == [
        ("matched", None),
        ("conflict", "CallID c2 is not the attempt's c1"),
    ]
    async with sessions() as session:
        row = await session.get_one(Attempt, attempt.id)
        assert (row.state, row.call_id) == ("originated", "c1")


async def test_retry_failed_does_not_apply_an_event_that_now_conflicts(
    sessions: Sessions, writes: Writes, crash_on: set[int]
) -> None:
    attempt = await insert_call(sessions)
    crash_on.add(attempt.id)
    await stored(sessions, [delivery(body(f"h_{PHONE}_17_0", attempt))])
    async with write_transaction(sessions) as session:  # sb-api's answer came meanwhile
        (await session.get_one(Attempt, attempt.id)).call_id = "c9"
    crash_on.clear()
    assert await retry_failed(sessions, writes.run, base=BASE, now=NOW) == []
    (row,) = await events(sessions)
    assert (row.apply_error, row.match_status, row.match_reason) == (
        None,
        "conflict",
        "CallID c1 is not the attempt's c9",
    )
    assert (await contact_of(sessions, attempt)).status == "dialing"


async def test_a_mixed_batch_writes_each_table_in_one_update(
    sessions: Sessions,
) -> None:
    phones = [f"7910555000{n}" for n in range(4)]
    calls = [await insert_call(sessions, contact={"phone": phone}) for phone in phones]
    called_before = await insert_call(
        sessions, contact={"phone": "79105550009", "first_call_at": T0}
    )
    updates: list[str] = []

    def record(*args: Any) -> None:
        if args[2].startswith("UPDATE"):
            updates.append(args[2].split()[1])

    batch = [
        delivery(body(f"o_{phones[0]}", calls[0])),
        delivery(body(f"n_{phones[1]}", calls[1], dtmf="1")),
        delivery(body(f"h_{phones[2]}_16_9", calls[2])),
        delivery(body(f"h_{phones[3]}_17_0", calls[3])),
        delivery(body("h_79105550009_16_9", called_before)),
    ]
    # every engine: on SQLite the batch runs on the thread's own (`Writes`)
    sa_event.listen(Engine, "before_cursor_execute", record)
    try:
        await stored(sessions, batch)
    finally:
        sa_event.remove(Engine, "before_cursor_execute", record)
    assert sorted(updates) == ["attempt", "contact"]
    async with sessions() as session:
        rows = [await session.get_one(Attempt, call.id) for call in [*calls, called_before]]
        people = [await session.get_one(Contact, row.contact_id) for row in rows]
    assert [(row.state, row.dtmf, row.category) for row in rows] == [
        ("originated", "", None),
        ("accepted", "1", None),
        ("finished", "", "listened"),
        ("finished", "", "busy"),
        ("finished", "", "listened"),
    ]
    assert [(p.status, p.outcome, p.dtmf, p.first_call_at) for p in people] == [
        ("dialing", None, "", None),
        ("dialing", None, "1", None),
        ("done", "listened", "", NOW),
        ("scheduled", None, "", NOW),
        ("done", "listened", "", T0),
    ]


@pytest.fixture
async def limiter(redis_client: aioredis.Redis) -> ConcurrencyLimiter:
    return ConcurrencyLimiter(redis_client, lease_seconds=60)


@pytest.fixture
async def inbox(writes: Writes, limiter: ConcurrencyLimiter) -> AsyncIterator[InboxWriter]:
    running = InboxWriter(writes.run, base=BASE, concurrency=limiter, clock=lambda: NOW).running()
    async with running as started:
        yield started


def scopes(attempt: Attempt) -> list[Scope]:
    return [
        ConcurrencyLimiter.global_scope(10),
        ConcurrencyLimiter.campaign_scope(attempt.campaign_id, 10),
    ]


async def holders(limiter: ConcurrencyLimiter, attempt: Attempt) -> list[list[str]]:
    return [await limiter.holders(scope) for scope in scopes(attempt)]


async def test_concurrent_bodies_are_committed_together(
    sessions: Sessions, inbox: InboxWriter
) -> None:
    attempts = [
        await insert_call(sessions, contact={"phone": f"7910000{n:04d}"}) for n in range(40)
    ]
    receipts = await asyncio.gather(
        *(inbox.receive(body(f"o_{a.phone}", a), "application/json", {}) for a in attempts)
    )
    assert [r.stored for r in receipts] == [1] * 40
    assert inbox.stats.deliveries == 40
    assert inbox.stats.batches < 40
    async with sessions() as session:
        originated = await session.scalar(
            select(func.count()).select_from(Attempt).where(Attempt.state == "originated")
        )
    assert originated == 40


async def test_final_events_release_their_leases_and_originate_keeps_them(
    sessions: Sessions, inbox: InboxWriter, limiter: ConcurrencyLimiter
) -> None:
    first = await insert_call(sessions)
    second = await insert_call(sessions, contact={"phone": "79102223344"})
    for attempt in (first, second):
        assert await limiter.acquire(str(attempt.id), scopes(attempt))
    await inbox.receive(body(f"o_{PHONE}", first), "application/json", {})
    await inbox.settled()
    held = await holders(limiter, first)
    await asyncio.gather(
        inbox.receive(body(f"h_{PHONE}_16_9", first), "application/json", {}),
        inbox.receive(body("h_79102223344_17_0", second), "application/json", {}),
    )
    await inbox.settled()
    assert held == [[str(first.id), str(second.id)], [str(first.id)]]
    assert await holders(limiter, first) == [[], []]
    assert await holders(limiter, second) == [[], []]


async def test_release_leases_frees_each_finished_call(
    sessions: Sessions, limiter: ConcurrencyLimiter
) -> None:
    attempt = await insert_call(sessions)
    assert await limiter.acquire(str(attempt.id), scopes(attempt))
    kept = AppliedEvent(attempt.id, attempt.campaign_id, attempt.contact_id, None, None, False)
    await after_commit(limiter, None, leases=leases_of([kept]))
    before = await holders(limiter, attempt)
    await after_commit(limiter, None, leases=leases_of([kept, replace(kept, release_lease=True)]))
    assert before == [[str(attempt.id)], [str(attempt.id)]]
    assert await holders(limiter, attempt) == [[], []]


async def test_redis_down_does_not_fail_a_final_event(
    sessions: Sessions, writes: Writes, caplog: pytest.LogCaptureFixture
) -> None:
    attempt = await insert_call(sessions)
    dead = aioredis.Redis(host="127.0.0.1", port=free_port())
    try:
        leases = ConcurrencyLimiter(dead, lease_seconds=60)
        async with InboxWriter(writes.run, base=BASE, concurrency=leases).running() as inbox:
            with caplog.at_level(logging.WARNING, logger="dialer.telecom.limiters"):
                receipt = await inbox.receive(body(f"h_{PHONE}_16_9", attempt), None, {})
                await inbox.settled()
    finally:
        await dead.aclose()
    assert receipt.applied[0].final_outcome == "listened"
    assert "releasing the leases of 1 calls failed" in caplog.text


async def test_receive_outside_running_is_refused(writes: Writes) -> None:
    closed = InboxWriter(writes.run, base=BASE, concurrency=None)
    with pytest.raises(RuntimeError, match="not running"):
        await closed.receive(b"event=o_1&id=1", None, {})


@pytest.mark.parametrize(
    "fields",
    [
        {"id": "7", "CallID": "AbC-1", "event": "h_79160000001_16_12", "source": "getCallHistory"},
        {"id": "7", "event": "h_79160000001_34_0"},
        {"id": "7", "event": "h_79160000001_500_0"},
        {"event": "h_79160000001_16_1"},
    ],
)
def test_a_reconciled_event_is_what_its_json_body_would_read_as(fields: dict[str, str]) -> None:
    """Built from its fields, not parsed back from JSON, yet the same delivery (and dedup key,
    so the real event arriving later is a duplicate), bad values refused alike."""
    built = inbox_module.reconciled(fields, T0)
    assert built == inbox_module.read(json.dumps(fields).encode(), "application/json", {}, T0)
