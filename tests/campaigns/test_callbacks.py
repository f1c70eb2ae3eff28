"""The database side of CRM callbacks: one row per outcome and choice, tries, final failure;
the timestamped signature, and the receiver of docs/callbacks.md checking it."""

from __future__ import annotations

import json
import re
import runpy
from collections.abc import AsyncIterator, Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns import callbacks
from campaigns.apply import AppliedEvent
from campaigns.db import write_transaction
from campaigns.jobs import DELIVER_CALLBACK, after_commit, callback_job_id
from campaigns.signing import TOLERANCE, sign, verify
from campaigns.stats import campaign_stats
from campaigns.tables import Attempt, Callback, Campaign, Contact
from dialer.shell.redis_server import RedisServer
from tests.factories import T0, insert_call

Sessions = async_sessionmaker[AsyncSession]
URL = "https://crm.example/hook"
MENU = [{"digit": 1, "action": "notify"}, {"digit": 9, "action": "opt_out"}]


async def settled_call(sessions: Sessions, *, url: str | None = URL, **contact: Any) -> Attempt:
    """A call whose contact ended listened (what a final `h` leaves behind)."""
    fields = {"status": "done", "outcome": "listened", "attempts": 1, "dtmf": "1"} | contact
    return await insert_call(
        sessions,
        campaign={"crm_callback_url": url, "dtmf": MENU},
        contact=fields,
        state="finished",
    )


def applied(
    attempt: Attempt, *, outcome: str | None = None, digit: int | None = None
) -> AppliedEvent:
    return AppliedEvent(
        attempt_id=attempt.id,
        campaign_id=attempt.campaign_id,
        contact_id=attempt.contact_id,
        final_outcome=outcome,
        dtmf_digit=digit,
        release_lease=outcome is not None,
    )


async def rows(sessions: Sessions) -> list[Callback]:
    async with sessions() as session:
        return list((await session.scalars(select(Callback).order_by(Callback.id))).all())


async def record(sessions: Sessions, events: list[AppliedEvent]) -> list[int]:
    async with write_transaction(sessions) as session:
        return await session.run_sync(callbacks.record_applied, events, now=T0)


async def test_an_outcome_and_a_choice_make_one_row_each(sessions: Sessions) -> None:
    call = await settled_call(sessions)
    ids = await record(sessions, [applied(call, digit=9), applied(call, outcome="listened")])
    choice, outcome = await rows(sessions)
    assert [choice.id, outcome.id] == ids
    assert (choice.dedup_key, outcome.dedup_key) == (
        f"dtmf:{call.id}:9",
        f"outcome:{call.contact_id}",
    )
    assert (choice.url, choice.status, choice.tries) == (URL, "pending", 0)
    assert choice.payload["type"] == "dtmf"
    assert (choice.payload["digit"], choice.payload["action"]) == (9, "opt_out")
    assert outcome.payload | {"at": None} == outcome.payload | {
        "type": "outcome",
        "key": f"outcome:{call.contact_id}",
        "at": None,
        "campaign_id": call.campaign_id,
        "campaign_kind": "campaign",
        "contact_id": call.contact_id,
        "phone": "79101234567",
        "vars": {"name": "Анна"},
        "status": "done",
        "outcome": "listened",
        "attempts": 1,
        "dtmf": "1",
    }
    assert outcome.payload["at"] == "2026-11-25T09:00:00Z"


async def test_the_same_events_again_add_nothing(sessions: Sessions) -> None:
    call = await settled_call(sessions)
    events = [applied(call, digit=1), applied(call, outcome="listened")]
    assert len(await record(sessions, events)) == 2
    assert await record(sessions, events) == []
    assert await record(sessions, [events[1], events[1]]) == []
    assert len(await rows(sessions)) == 2


async def test_campaigns_without_a_url_get_no_callbacks(sessions: Sessions) -> None:
    call = await settled_call(sessions, url=None)
    assert await record(sessions, [applied(call, outcome="listened", digit=1)]) == []
    assert await rows(sessions) == []


async def test_events_without_outcome_or_digit_get_no_callbacks(sessions: Sessions) -> None:
    call = await settled_call(sessions)
    assert await record(sessions, [applied(call)]) == []


async def test_record_outcomes_takes_only_settled_contacts(sessions: Sessions) -> None:
    done = await settled_call(sessions)
    waiting = await settled_call(sessions, phone="79100000001", status="scheduled", outcome=None)
    async with write_transaction(sessions) as session:
        ids = await session.run_sync(
            callbacks.record_outcomes, [done.contact_id, waiting.contact_id], now=T0
        )
    assert [row.dedup_key for row in await rows(sessions)] == [f"outcome:{done.contact_id}"]
    assert len(ids) == 1


async def test_unreported_outcomes_finds_settlements_made_elsewhere(sessions: Sessions) -> None:
    reported = await settled_call(sessions)
    unreported = await settled_call(sessions, phone="79100000001", outcome="dnc")
    await settled_call(sessions, phone="79100000002", url=None)
    await settled_call(sessions, phone="79100000003", status="pending", outcome=None)
    old = await settled_call(sessions, phone="79100000004")
    async with write_transaction(sessions) as session:
        await session.execute(
            update(Campaign)
            .where(Campaign.id == old.campaign_id)
            .values(status="completed", finished_at=T0 - timedelta(days=2))
        )
    await record(sessions, [applied(reported, outcome="listened")])
    async with sessions() as session:
        found = await callbacks.unreported_outcomes(session, now=T0, limit=10)
    assert found == [unreported.contact_id]


async def test_stale_pending_lists_old_pending_callbacks(sessions: Sessions) -> None:
    call = await settled_call(sessions)
    (callback_id,) = await record(sessions, [applied(call, outcome="listened")])
    async with sessions() as session:
        assert await callbacks.stale_pending(session, before=T0, limit=5) == []
        later = T0 + timedelta(seconds=1)
        assert await callbacks.stale_pending(session, before=later, limit=5) == [callback_id]


async def test_tries_end_in_failed_and_show_in_stats(sessions: Sessions) -> None:
    call = await settled_call(sessions)
    (callback_id,) = await record(sessions, [applied(call, outcome="listened")])
    results = []
    for n in range(callbacks.MAX_TRIES):
        async with write_transaction(sessions) as session:
            results.append(await callbacks.mark_failed(session, callback_id, f"HTTP 50{n}"))
    assert results == [(n, False) for n in range(1, callbacks.MAX_TRIES)] + [
        (callbacks.MAX_TRIES, True)
    ]
    (row,) = await rows(sessions)
    assert (row.status, row.last_error) == ("failed", f"HTTP 50{callbacks.MAX_TRIES - 1}")
    async with sessions() as session:
        assert (await campaign_stats(session, call.campaign_id)).callbacks_failed == 1
        assert await callbacks.load(session, callback_id) is None
    async with write_transaction(sessions) as session:
        assert await callbacks.mark_failed(session, callback_id, "late") == (0, True)
        assert not await callbacks.mark_sent(session, callback_id, now=T0)


async def test_a_final_failure_ends_the_callback_at_its_first_try(sessions: Sessions) -> None:
    """A refused host: no later try could succeed, so none is made."""
    call = await settled_call(sessions)
    (callback_id,) = await record(sessions, [applied(call, outcome="listened")])
    async with write_transaction(sessions) as session:
        assert await callbacks.mark_failed(session, callback_id, "refused", final=True) == (1, True)
    (row,) = await rows(sessions)
    assert (row.status, row.tries, row.last_error) == ("failed", 1, "refused")
    async with sessions() as session:
        assert (await campaign_stats(session, call.campaign_id)).callbacks_failed == 1


async def test_sent_once(sessions: Sessions) -> None:
    call = await settled_call(sessions)
    (callback_id,) = await record(sessions, [applied(call, outcome="listened")])
    async with write_transaction(sessions) as session:
        assert await callbacks.mark_sent(session, callback_id, now=T0)
        assert not await callbacks.mark_sent(session, callback_id, now=T0)
    (row,) = await rows(sessions)
    assert (row.status, row.tries, row.sent_at) == ("sent", 1, T0)


async def test_load_gives_the_exact_body_and_the_campaign_secret(sessions: Sessions) -> None:
    call = await settled_call(sessions)
    async with write_transaction(sessions) as session:
        await session.execute(
            update(Campaign).where(Campaign.id == call.campaign_id).values(crm_callback_secret="k")
        )
    (callback_id,) = await record(sessions, [applied(call, outcome="listened")])
    async with sessions() as session:
        delivery = await callbacks.load(session, callback_id)
    assert delivery is not None
    assert (delivery.url, delivery.secret, delivery.tries) == (URL, "k", 0)
    (row,) = await rows(sessions)
    assert json.loads(delivery.body) == row.payload
    assert delivery.body == callbacks.body_of(row.payload)


@pytest.mark.parametrize(
    ("tries", "delay"),
    [(1, callbacks.BACKOFF[0]), (2, callbacks.BACKOFF[1]), (99, callbacks.BACKOFF[-1])],
)
def test_retry_delay_grows_and_is_bounded(tries: int, delay: float) -> None:
    assert callbacks.retry_delay(tries) == delay


def test_backoff_never_shrinks() -> None:
    assert list(callbacks.BACKOFF) == sorted(callbacks.BACKOFF)


SIGNED_AT = 1_764_979_200
"""2025-12-06 00:00:00 UTC."""
FOX = b"The quick brown fox jumps over the lazy dog"


def test_the_signature_is_a_timestamp_and_the_hmac_of_it_with_the_body() -> None:
    """`t=<unix seconds>,v1=<hex HMAC-SHA256 of "t.body">`; the vector is openssl's:
    printf '1764979200.The quick…' | openssl dgst -sha256 -hmac key"""
    assert sign(FOX, "key", timestamp=SIGNED_AT) == (
        "t=1764979200,v1=cf7cc4981a330cf20db706a6ccede2ad8dfc655c3dba998781ef82e25cf337ae"
    )


GOOD = sign(b"{}", "k", timestamp=SIGNED_AT)
OLD_FORMAT = "sha256=add853b103fbcc936a194f9eb15e29c4ff08af6e47d5d1bca4f20218e31e4fff"
"""What main signed `{}` with `k`: no timestamp, so it could be replayed for ever."""


@pytest.mark.parametrize(
    ("body", "secret", "header", "now", "valid"),
    [
        (b"{}", "k", GOOD, SIGNED_AT, True),
        (b"{}", "k", GOOD, SIGNED_AT + TOLERANCE, True),
        (b"{}", "k", f"v1=00,{GOOD}", SIGNED_AT + 1, True),
        (b"{} ", "k", GOOD, SIGNED_AT, False),
        (b'{"a":1}', "k", GOOD, SIGNED_AT, False),
        (b"{}", "other", GOOD, SIGNED_AT, False),
        (b"{}", "k", GOOD, SIGNED_AT + TOLERANCE + 1, False),
        (b"{}", "k", GOOD, SIGNED_AT - TOLERANCE - 1, False),
        (b"{}", "k", GOOD.replace(f"t={SIGNED_AT}", f"t={SIGNED_AT + 60}"), SIGNED_AT, False),
        (b"{}", "k", GOOD.replace("t=", "t=x"), SIGNED_AT, False),
        (b"{}", "k", GOOD.split(",")[1], SIGNED_AT, False),
        (b"{}", "k", f"t={SIGNED_AT}", SIGNED_AT, False),
        (b"{}", "k", f"t={SIGNED_AT},t={SIGNED_AT},{GOOD.split(',')[1]}", SIGNED_AT, False),
        (b"{}", "k", OLD_FORMAT, SIGNED_AT, False),
        (b"{}", "k", "", SIGNED_AT, False),
        (b"{}", "k", "t=\u00b2,v1=\u00e9", SIGNED_AT, False),
    ],
    ids=[
        "good",
        "at-the-tolerance",
        "one-of-several-v1",
        "tampered-body",
        "other-body",
        "wrong-secret",
        "too-old",
        "too-far-ahead",
        "timestamp-changed",
        "timestamp-not-a-number",
        "no-timestamp",
        "no-v1",
        "two-timestamps",
        "old-format",
        "empty",
        "not-ascii",
    ],
)
def test_verify(body: bytes, secret: str, header: str, now: int, valid: bool) -> None:
    assert verify(body, secret, header, now=now) is valid


@given(body=st.binary(), secret=st.text(min_size=1), age=st.integers(0, 10 * TOLERANCE))
def test_a_signature_verifies_until_it_is_too_old(body: bytes, secret: str, age: int) -> None:
    header = sign(body, secret, timestamp=SIGNED_AT)
    assert verify(body, secret, header, now=SIGNED_AT + age) is (age <= TOLERANCE)
    assert not verify(body + b" ", secret, header, now=SIGNED_AT)


def documented_verify(folder: Path) -> Callable[..., bool]:
    """The receiver's `verify` of docs/callbacks.md, run from a file as a receiver copies it."""
    text = (Path(__file__).parents[2] / "docs" / "callbacks.md").read_text()
    (snippet,) = re.findall(r"```python\n(.*?)```", text, re.DOTALL)
    receiver = folder / "receiver.py"
    receiver.write_text(snippet)
    found: Callable[..., bool] = runpy.run_path(str(receiver), run_name="receiver")["verify"]
    return found


@pytest.mark.parametrize(
    ("body", "secret", "age", "valid"),
    [
        (b"{}", "k", 0, True),
        (b"{}", "k", TOLERANCE, True),
        (b"{} ", "k", 0, False),
        (b"{}", "other", 0, False),
        (b"{}", "k", TOLERANCE + 1, False),
    ],
)
def test_the_documented_receiver_checks_as_the_dialer_signs(
    tmp_path: Path, body: bytes, secret: str, age: int, valid: bool
) -> None:
    header = sign(b"{}", "k", timestamp=SIGNED_AT)
    assert documented_verify(tmp_path)(body, secret, header, now=SIGNED_AT + age) is valid


@pytest.fixture
async def arq_pool(redis_server: RedisServer, redis_client: Any) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(redis_server.url))
    yield pool
    await pool.aclose()


async def test_notify_applied_records_and_enqueues_one_job_each(
    sessions: Sessions, arq_pool: ArqRedis
) -> None:
    call = await settled_call(sessions)
    events = [applied(call, outcome="listened", digit=1)]
    ids = await callbacks.notify_applied(sessions, events, now=T0)
    await after_commit(None, arq_pool, callbacks=ids)
    again = await callbacks.notify_applied(sessions, events, now=T0)
    assert (len(ids), again) == (2, [])
    queued = await arq_pool.queued_jobs()
    assert {job.job_id for job in queued} == {callback_job_id(i) for i in ids}
    assert {job.function for job in queued} == {DELIVER_CALLBACK}


class _BrokenQueue:
    async def enqueue_job(self, function: str, *args: Any, **kwargs: Any) -> Any:
        raise ConnectionError("redis is down")


async def test_notify_applied_never_raises(sessions: Sessions) -> None:
    call = await settled_call(sessions)
    events = [applied(call, outcome="listened")]
    ids = await callbacks.notify_applied(sessions, events, now=T0)
    await after_commit(None, _BrokenQueue(), callbacks=ids)
    async with sessions() as session:
        contact = await session.get_one(Contact, call.contact_id)
    assert contact.outcome == "listened"
    assert len(await rows(sessions)) == 1
