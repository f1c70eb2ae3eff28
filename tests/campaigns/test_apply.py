"""The call's state machine on real SQLite: every order of a call's events ends the same."""

from __future__ import annotations

import itertools
import json
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.apply import AppliedEvent, apply_event, load_call, load_calls
from campaigns.db import write_transaction
from campaigns.tables import Attempt, Contact, Dnc
from dialer.telecom.events import MttEvent, parse_body
from dialer.telecom.redial import RedialPolicy
from tests.factories import T0, insert_call, make_attempt

BASE = RedialPolicy()
NOW = T0 + timedelta(minutes=2)
PHONE = "79103880489"
OPERATOR = "74997090111"
CALL_ID = "00035c7d92bb0971"

Sessions = async_sessionmaker[AsyncSession]

pytestmark = pytest.mark.any_db


def mtt(
    event: str, attempt_id: int | None, *, call_id: str | None = CALL_ID, **extra: str
) -> MttEvent:
    """One event as MTT's IVR JSON delivers it."""
    record: dict[str, Any] = {"date_time": "2026-11-25-12-01-00", "event": event, **extra}
    if attempt_id is not None:
        record["id"] = str(attempt_id)
    if call_id is not None:
        record["CallID"] = call_id
    (parsed,) = parse_body(json.dumps(record).encode(), "application/json", {}).events
    return parsed


def ivr_example(attempt_id: int) -> list[MttEvent]:
    """The reference's full IVR example in its printed order: the callee's h comes last."""
    return [
        mtt(f"o_{PHONE}", attempt_id, date_time="2019-03-29-11-37-13"),
        mtt(f"o_{OPERATOR}", attempt_id, dtmf="3", type="transfer"),
        mtt(f"h_{OPERATOR}_16_30", attempt_id, dtmf="3", type="transfer"),
        mtt(f"h_{PHONE}_16_50", attempt_id, date_time="2019-03-29-11-37-20"),
    ]


async def apply(sessions: Sessions, event: MttEvent, *, now: Any = NOW) -> AppliedEvent:
    async with write_transaction(sessions) as session:
        (call,) = await session.run_sync(load_calls, [event])
        assert call is not None
        return await session.run_sync(apply_event, event, call, base=BASE, now=now)


async def load(sessions: Sessions, attempt_id: int) -> tuple[Attempt, Contact]:
    async with sessions() as session:
        attempt = await session.get_one(Attempt, attempt_id)
        return attempt, await session.get_one(Contact, attempt.contact_id)


async def call(
    sessions: Sessions, *, contact: dict[str, Any] | None = None, **fields: Any
) -> Attempt:
    return await insert_call(sessions, contact={"phone": PHONE} | (contact or {}), **fields)


async def test_originate_then_listened_hangup_finishes_and_settles(sessions: Sessions) -> None:
    attempt = await call(sessions, call_id=CALL_ID)
    await apply(sessions, mtt(f"o_{PHONE}", attempt.id), now=T0 + timedelta(seconds=5))
    done = await apply(sessions, mtt(f"h_{PHONE}_16_40", attempt.id))
    row, contact = await load(sessions, attempt.id)
    assert (row.state, row.cause, row.duration, row.category) == ("finished", 16, 40, "listened")
    assert (row.originated_at, row.finished_at) == (T0 + timedelta(seconds=5), NOW)
    assert (contact.status, contact.outcome, contact.listened_seconds) == ("done", "listened", 40)
    assert (contact.attempts, contact.history, contact.last_cause) == (1, "listened", 16)
    assert contact.first_call_at == contact.last_call_at == NOW
    assert done == AppliedEvent(attempt.id, attempt.campaign_id, contact.id, "listened", None, True)


async def test_hangup_before_originate_ends_in_the_same_state(sessions: Sessions) -> None:
    attempt = await call(sessions)
    await apply(sessions, mtt(f"h_{PHONE}_16_40", attempt.id))
    late = await apply(sessions, mtt(f"o_{PHONE}", attempt.id), now=NOW + timedelta(seconds=1))
    row, contact = await load(sessions, attempt.id)
    assert (row.state, row.cause, contact.outcome) == ("finished", 16, "listened")
    assert row.originated_at == NOW + timedelta(seconds=1)
    assert late.final_outcome is None
    assert late.release_lease is False


@pytest.mark.parametrize("state", ["sending", "accepted", "unknown"])
async def test_originate_moves_a_waiting_attempt_forward_and_fills_call_id(
    sessions: Sessions, state: str
) -> None:
    attempt = await call(sessions, state=state, call_id=None)
    await apply(sessions, mtt(f"o_{PHONE}", attempt.id))
    row, contact = await load(sessions, attempt.id)
    assert (row.state, row.call_id, row.originated_at) == ("originated", CALL_ID, NOW)
    assert contact.status == "dialing"


async def test_busy_hangup_schedules_a_redial_without_final_outcome(sessions: Sessions) -> None:
    attempt = await call(sessions, state="originated")
    applied = await apply(sessions, mtt(f"h_{PHONE}_17_0", attempt.id))
    row, contact = await load(sessions, attempt.id)
    assert (row.state, row.category) == ("finished", "busy")
    assert (contact.status, contact.outcome, contact.history) == ("scheduled", None, "busy")
    assert contact.next_attempt_at == NOW + timedelta(minutes=15)
    assert contact.listened_seconds == 0
    assert (applied.final_outcome, applied.release_lease) == (None, True)


@pytest.mark.parametrize("order", list(itertools.permutations(range(4))))
async def test_full_ivr_example_in_any_order_ends_the_same(
    sessions: Sessions, order: tuple[int, ...]
) -> None:
    attempt = await call(sessions)
    events = ivr_example(attempt.id)
    applied = [await apply(sessions, events[index]) for index in order]
    row, contact = await load(sessions, attempt.id)
    assert (row.state, row.cause, row.duration, row.category) == ("finished", 16, 50, "listened")
    assert (row.transfer_number, row.transfer_cause, row.transfer_seconds) == (OPERATOR, 16, 30)
    assert row.dtmf == contact.dtmf == "3"
    assert (contact.outcome, contact.listened_seconds) == ("listened", 50)
    assert (contact.transfer_number, contact.transfer_seconds) == (OPERATOR, 30)
    assert [a.final_outcome for a in applied].count("listened") == 1
    assert [a.dtmf_digit for a in applied].count(3) == 1


@pytest.mark.parametrize(
    ("digits", "expected"), [(["1"], "1"), (["null"], ""), (["1", "3"], "13"), (["null", "2"], "2")]
)
async def test_notify_digits_accumulate_and_null_adds_nothing(
    sessions: Sessions, digits: list[str], expected: str
) -> None:
    attempt = await call(sessions, state="finished")
    applied = [
        await apply(sessions, mtt(f"n_{PHONE}", attempt.id, dtmf=d, type="notify")) for d in digits
    ]
    row, contact = await load(sessions, attempt.id)
    assert row.dtmf == contact.dtmf == expected
    assert [a.dtmf_digit for a in applied] == [None if d == "null" else int(d) for d in digits]


async def test_opt_out_digit_adds_the_number_to_dnc_and_keeps_the_outcome(
    sessions: Sessions,
) -> None:
    menu = [{"digit": 1, "action": "notify"}, {"digit": 9, "action": "opt_out"}]
    attempt = await call(sessions, campaign={"dtmf": menu})
    await apply(sessions, mtt(f"h_{PHONE}_16_20", attempt.id))
    await apply(sessions, mtt(f"n_{PHONE}", attempt.id, dtmf="9", type="notify"))
    _, contact = await load(sessions, attempt.id)
    async with sessions() as session:
        entries = (await session.scalars(select(Dnc))).all()
    assert [(e.phone, e.source) for e in entries] == [(PHONE, "dtmf")]
    assert (contact.status, contact.outcome, contact.dtmf) == ("done", "listened", "9")


async def test_notify_digit_without_opt_out_leaves_dnc_empty(sessions: Sessions) -> None:
    attempt = await call(sessions, campaign={"dtmf": [{"digit": 9, "action": "opt_out"}]})
    await apply(sessions, mtt(f"n_{PHONE}", attempt.id, dtmf="1", type="notify"))
    async with sessions() as session:
        assert (await session.scalars(select(Dnc))).all() == []


async def lost_call(sessions: Sessions, earlier_cause: int | None) -> Attempt:
    """A contact whose second call was lost and is scheduled again from that loss."""
    history = "no_answer" if earlier_cause is None else "busy"
    first = await insert_call(
        sessions,
        state="finished" if earlier_cause else "lost",
        cause=earlier_cause,
        contact={
            "phone": PHONE,
            "status": "scheduled",
            "attempts": 2,
            "history": f"{history},no_answer",
            "last_cause": None,
            "next_attempt_at": NOW + timedelta(hours=2),
        },
    )
    async with write_transaction(sessions) as session:
        second = make_attempt(
            contact_id=first.contact_id, campaign_id=first.campaign_id, phone=PHONE, state="lost"
        )
        session.add(second)
        await session.flush()
        return second


async def test_late_hangup_of_a_lost_call_replaces_the_lost_decision(sessions: Sessions) -> None:
    attempt = await lost_call(sessions, earlier_cause=17)
    applied = await apply(sessions, mtt(f"h_{PHONE}_17_0", attempt.id))
    row, contact = await load(sessions, attempt.id)
    assert (row.state, row.cause, row.category) == ("lost", 17, "busy")
    assert (contact.status, contact.history, contact.attempts) == ("scheduled", "busy,busy", 2)
    assert contact.next_attempt_at == NOW + timedelta(hours=1)
    assert applied.release_lease is True


async def test_late_hangup_sees_the_cause_before_the_loss(sessions: Sessions) -> None:
    attempt = await lost_call(sessions, earlier_cause=18)
    await apply(sessions, mtt(f"h_{PHONE}_18_0", attempt.id))
    _, contact = await load(sessions, attempt.id)
    assert (contact.status, contact.outcome) == ("done", "invalid_number")


async def test_late_hangup_after_a_newer_attempt_changes_only_the_attempt(
    sessions: Sessions,
) -> None:
    lost = await lost_call(sessions, earlier_cause=None)
    async with write_transaction(sessions) as session:
        newer = make_attempt(contact_id=lost.contact_id, campaign_id=lost.campaign_id, phone=PHONE)
        session.add(newer)
    _, before = await load(sessions, lost.id)
    await apply(sessions, mtt(f"h_{PHONE}_16_30", lost.id))
    row, contact = await load(sessions, lost.id)
    assert (row.state, row.cause, row.duration, row.category) == ("lost", 16, 30, "listened")
    assert (contact.history, contact.attempts, contact.status) == (
        before.history,
        before.attempts,
        before.status,
    )


@pytest.mark.parametrize("state", ["claimed", "rejected"])
async def test_hangup_of_an_attempt_never_sent_changes_nothing(
    sessions: Sessions, state: str
) -> None:
    attempt = await call(sessions, state=state)
    applied = await apply(sessions, mtt(f"h_{PHONE}_16_30", attempt.id))
    row, contact = await load(sessions, attempt.id)
    assert (row.state, row.cause, contact.status) == (state, None, "dialing")
    assert applied.release_lease is False


async def test_a_second_different_hangup_changes_nothing(sessions: Sessions) -> None:
    attempt = await call(sessions)
    await apply(sessions, mtt(f"h_{PHONE}_17_0", attempt.id))
    _, first = await load(sessions, attempt.id)
    again = await apply(sessions, mtt(f"h_{PHONE}_16_30", attempt.id))
    row, contact = await load(sessions, attempt.id)
    assert (row.cause, contact.history, contact.next_attempt_at) == (
        17,
        "busy",
        first.next_attempt_at,
    )
    assert (again.final_outcome, again.release_lease) == (None, False)


async def test_hangup_when_the_contact_moved_on_only_records_the_call(sessions: Sessions) -> None:
    attempt = await call(sessions, state="unknown", contact={"status": "done", "outcome": "dnc"})
    applied = await apply(sessions, mtt(f"h_{PHONE}_16_9", attempt.id))
    row, contact = await load(sessions, attempt.id)
    assert (row.state, row.category) == ("finished", "listened")
    assert (contact.outcome, contact.attempts, contact.history) == ("dnc", 0, "")
    assert (applied.final_outcome, applied.release_lease) == (None, True)


async def test_events_find_their_call_by_mess_id_then_by_call_id(sessions: Sessions) -> None:
    by_id = await call(sessions, call_id="aaaa000000000001")
    other = await insert_call(sessions, contact={"phone": "79101112233"}, call_id="bbbb0001")
    events = [
        mtt(f"o_{PHONE}", by_id.id, call_id="bbbb0001"),
        mtt(f"o_{PHONE}", None, call_id="bbbb0001"),
        mtt(f"o_{PHONE}", 999_999, call_id="bbbb0001"),
        mtt(f"o_{PHONE}", 999_999, call_id="cccc"),
        mtt(f"o_{PHONE}", None, call_id="cccc"),
    ]
    async with sessions() as session:
        found = await session.run_sync(load_calls, events)
        single = await session.run_sync(load_call, other.id)
        missing = await session.run_sync(load_call, 999_999)
    assert [c.attempt.id if c else None for c in found] == [
        by_id.id,
        other.id,
        other.id,
        None,
        None,
    ]
    assert [c.contact.id if c else None for c in found][:2] == [by_id.contact_id, other.contact_id]
    assert single is not None
    assert (single.attempt.id, single.contact.id, single.campaign.id) == (
        other.id,
        other.contact_id,
        other.campaign_id,
    )
    assert missing is None
