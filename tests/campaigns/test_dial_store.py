from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar

import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from campaigns import dial as dial_db
from campaigns import dnc
from campaigns import pace as pace_db
from campaigns.db import write_transaction
from campaigns.dial import OutgoingCall, Stopped
from campaigns.frequency import IN_FLIGHT_RETRY
from campaigns.pace import Claim, Due
from campaigns.requests import CallSetup
from campaigns.states import DncSource, WaitingReason
from campaigns.tables import Attempt, Campaign, Contact
from campaigns.waiting import waiting_reason
from dialer.telecom.dtmf import SbDtmf
from dialer.telecom.sbapi import Rejected, RejectReason
from tests.db_fixtures import insert_campaign, insert_contacts, phone_of
from tests.factories import make_attempt

pytestmark = pytest.mark.any_db

NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
"""Wednesday 16:00 in Moscow."""
HOUR = timedelta(hours=1)
SETUP = CallSetup(
    a_number="74950000000", notify_url="http://127.0.0.1:8000/webhooks/mtt/t", allow_http=True
)

Sessions = async_sessionmaker[AsyncSession]
T = TypeVar("T")


async def claimed(
    sessions: Sessions, *, campaign: dict[str, Any] | None = None, **contact: Any
) -> Claim:
    """One contact of a fresh campaign, claimed by the pacer's own code."""
    campaign_id = await insert_campaign(sessions, **(campaign or {}))
    (contact_id,) = await insert_contacts(sessions, campaign_id, [1], status="pending", **contact)
    async with write_transaction(sessions) as session:
        (claim,) = await pace_db.claim(
            session, [Due(contact_id, campaign_id, phone_of(1), "pending")], NOW
        )
    return claim


async def write(sessions: Sessions, step: Callable[[Session], T]) -> T:
    """Run a step of the dial job in a write transaction of its own."""
    async with write_transaction(sessions) as session:
        return await session.run_sync(step)


async def begin(sessions: Sessions, attempt_id: int, cap: int = 0) -> OutgoingCall | Stopped | None:
    return await write(
        sessions, lambda s: dial_db.begin(s, attempt_id, now=NOW, cap=cap, setup=SETUP)
    )


async def rows(sessions: Sessions, claim: Claim) -> tuple[Attempt, Contact, Campaign]:
    async with sessions() as session:
        return (
            await session.get_one(Attempt, claim.attempt_id),
            await session.get_one(Contact, claim.contact_id),
            await session.get_one(Campaign, claim.campaign_id),
        )


async def set_attempt(sessions: Sessions, attempt_id: int, **values: Any) -> None:
    async with write_transaction(sessions) as session:
        await session.execute(update(Attempt).where(Attempt.id == attempt_id).values(**values))


async def test_begin_takes_the_attempt_once_and_builds_the_request(sessions: Sessions) -> None:
    claim = await claimed(sessions, campaign={"dtmf": [{"digit": 9, "action": "opt_out"}]})
    call = await begin(sessions, claim.attempt_id)
    assert isinstance(call, OutgoingCall)
    assert call.request.mess_id == str(claim.attempt_id)
    assert call.request.b_number == phone_of(1)
    assert call.request.text == "Здравствуйте, Анна! Ваш заказ готов."
    assert call.request.a_number == SETUP.a_number
    assert list(call.request.dtmf) == [SbDtmf(9, "notify", SETUP.notify_url)]
    assert await begin(sessions, claim.attempt_id) is None  # a second job: not claimed any more
    attempt, contact, _ = await rows(sessions, claim)
    assert (attempt.state, contact.status) == ("sending", "dialing")


async def test_contact_text_and_voice_override_the_campaign(sessions: Sessions) -> None:
    claim = await claimed(
        sessions,
        campaign={"voice": {"voice_name": "oksana", "speed": 1.2}, "a_number": "74951111111"},
        text="{name}, до свидания",
        voice={"voice_name": "zahar"},
    )
    call = await begin(sessions, claim.attempt_id)
    assert isinstance(call, OutgoingCall)
    request = call.request
    assert (request.text, request.voice_name, request.speed) == ("Анна, до свидания", "zahar", 1.2)
    assert (request.a_number, request.dtmf) == ("74951111111", [])


@pytest.mark.parametrize(
    ("status", "contact_status", "outcome"),
    [
        ("paused", "pending", None),
        ("scheduled", "pending", None),
        ("cancelled", "done", "cancelled"),
        ("completed", "done", "expired"),
    ],
)
async def test_a_campaign_no_longer_running_sends_nothing(
    sessions: Sessions, status: str, contact_status: str, outcome: str | None
) -> None:
    claim = await claimed(sessions)
    async with write_transaction(sessions) as session:
        await session.execute(
            update(Campaign).where(Campaign.id == claim.campaign_id).values(status=status)
        )
    stopped = await begin(sessions, claim.attempt_id)
    assert stopped == Stopped(claim.attempt_id, claim.campaign_id, f"campaign {status}")
    attempt, contact, _ = await rows(sessions, claim)
    assert (attempt.state, attempt.error) == ("rejected", f"campaign {status}")
    assert (contact.status, contact.outcome, contact.attempts) == (contact_status, outcome, 0)


async def test_a_number_put_on_dnc_after_the_claim_is_not_called(sessions: Sessions) -> None:
    claim = await claimed(sessions)
    async with write_transaction(sessions) as session:
        await session.run_sync(dnc.add, phone_of(1), source=DncSource.API, now=NOW)
    assert isinstance(await begin(sessions, claim.attempt_id), Stopped)
    attempt, contact, _ = await rows(sessions, claim)
    assert (attempt.state, attempt.error) == ("rejected", "do-not-call")
    assert (contact.status, contact.outcome) == ("done", "dnc")


async def answered(sessions: Sessions, campaign_id: int, contact_id: int, **fields: Any) -> None:
    async with write_transaction(sessions) as session:
        session.add(
            make_attempt(
                contact_id=contact_id,
                campaign_id=campaign_id,
                phone=phone_of(1),
                **(
                    {"state": "finished", "category": "listened", "finished_at": NOW - HOUR}
                    | fields
                ),
            )
        )


async def test_the_daily_answered_cap_moves_the_call_to_tomorrow(sessions: Sessions) -> None:
    other = await insert_campaign(sessions, name="another campaign")
    (other_contact,) = await insert_contacts(sessions, other, [1], status="done")
    await answered(sessions, other, other_contact)
    await answered(sessions, other, other_contact, category="hung_up")
    await answered(sessions, other, other_contact, finished_at=NOW - timedelta(days=1))
    await answered(sessions, other, other_contact, category="busy")
    claim = await claimed(sessions, campaign={"window": {}})
    assert isinstance(await begin(sessions, claim.attempt_id, cap=3), OutgoingCall)  # two today < 3
    claim = await claimed(sessions, campaign={"window": {}, "name": "third"})
    assert await begin(sessions, claim.attempt_id, cap=2) == Stopped(
        claim.attempt_id, claim.campaign_id, "frequency cap"
    )
    attempt, contact, _ = await rows(sessions, claim)
    assert (attempt.state, contact.status, contact.attempts) == ("rejected", "scheduled", 0)
    assert contact.next_attempt_at == datetime(2026, 11, 26, 5, 0, tzinfo=UTC)  # 08:00 Moscow
    assert contact.waiting_reason == "daily_cap"


async def test_the_cap_past_the_campaign_end_expires_the_contact(sessions: Sessions) -> None:
    other = await insert_campaign(sessions, name="another campaign")
    (other_contact,) = await insert_contacts(sessions, other, [1], status="done")
    await answered(sessions, other, other_contact)
    claim = await claimed(sessions, campaign={"end_at": NOW + timedelta(hours=2)})
    assert isinstance(await begin(sessions, claim.attempt_id, cap=1), Stopped)
    _, contact, _ = await rows(sessions, claim)
    assert (contact.status, contact.outcome) == ("done", "expired")


@pytest.mark.parametrize(
    ("campaign", "contact", "error"),
    [
        ({}, {"text": "Hi {surname}"}, "request: no value for placeholder {surname}"),
        ({"voice": {"voice_name": "bob"}}, {}, "request: voice: voice_name: Value error, "),
        ({"dtmf": [{"digit": 0, "action": "notify"}]}, {}, "request: dtmf: 0.digit: Value"),
        (
            {"voice": {"lang": "tr-TR"}},
            {},
            "request: lang 'tr-TR' is not available on the plain informing method",
        ),
    ],
)
async def test_a_request_sb_api_would_refuse_is_never_sent(
    sessions: Sessions, campaign: dict[str, Any], contact: dict[str, Any], error: str
) -> None:
    claim = await claimed(sessions, campaign=campaign, **contact)
    assert isinstance(await begin(sessions, claim.attempt_id), Stopped)
    attempt, row, _ = await rows(sessions, claim)
    assert attempt.state == "rejected"
    assert attempt.error is not None
    assert attempt.error.startswith(error)
    assert (row.status, row.outcome) == ("done", "failed")


async def test_marking_sent_is_a_compare_and_set(sessions: Sessions) -> None:
    claim = await claimed(sessions)
    await begin(sessions, claim.attempt_id)
    assert await write(sessions, lambda s: dial_db.mark_sent(s, claim.attempt_id, NOW))
    assert not await write(sessions, lambda s: dial_db.mark_sent(s, claim.attempt_id, NOW))
    attempt, _, _ = await rows(sessions, claim)
    assert attempt.sent_at == NOW


async def test_accepted_records_the_call_id(sessions: Sessions) -> None:
    claim = await claimed(sessions)
    await begin(sessions, claim.attempt_id)
    await write(sessions, lambda s: dial_db.accepted(s, claim.attempt_id, "00035c7d92bb061e", NOW))
    attempt, contact, _ = await rows(sessions, claim)
    assert (attempt.state, attempt.call_id, attempt.responded_at) == (
        "accepted",
        "00035c7d92bb061e",
        NOW,
    )
    assert contact.status == "dialing"


async def test_accepted_after_an_early_event_never_moves_back(sessions: Sessions) -> None:
    claim = await claimed(sessions)
    await begin(sessions, claim.attempt_id)
    await set_attempt(sessions, claim.attempt_id, state="originated", call_id="aaaa")
    await write(sessions, lambda s: dial_db.accepted(s, claim.attempt_id, "bbbb", NOW))
    attempt, _, _ = await rows(sessions, claim)
    assert (attempt.state, attempt.call_id, attempt.responded_at) == ("originated", "aaaa", NOW)


@pytest.mark.parametrize(
    ("reason", "contact_status", "outcome", "campaign_status"),
    [
        (RejectReason.INVALID_B_NUMBER, "done", "invalid_number", "running"),
        (RejectReason.INVALID_A_NUMBER, "done", "failed", "running"),
        (RejectReason.BAD_REQUEST, "done", "failed", "running"),
        (RejectReason.ACCOUNT, "pending", None, "paused"),
    ],
)
async def test_a_refusal_settles_the_contact_by_its_reason(
    sessions: Sessions,
    reason: RejectReason,
    contact_status: str,
    outcome: str | None,
    campaign_status: str,
) -> None:
    claim = await claimed(sessions)
    await begin(sessions, claim.attempt_id)
    answer = Rejected(str(claim.attempt_id), reason, "the error text", "00035c7d92bb0000")
    settled = await write(sessions, lambda s: dial_db.rejected(s, claim.attempt_id, answer, NOW))
    assert settled == (outcome or contact_status)
    attempt, contact, campaign = await rows(sessions, claim)
    assert (attempt.state, attempt.error, attempt.call_id) == (
        "rejected",
        "the error text",
        "00035c7d92bb0000",
    )
    assert (contact.status, contact.outcome, contact.attempts) == (contact_status, outcome, 0)
    assert campaign.status == campaign_status
    if reason is RejectReason.ACCOUNT:
        assert campaign.status_reason == "sb-api refused the account: the error text"


async def test_not_sent_tries_again_soon_without_counting(sessions: Sessions) -> None:
    claim = await claimed(sessions)
    await begin(sessions, claim.attempt_id)
    assert await write(sessions, lambda s: dial_db.not_sent(s, claim.attempt_id, "HTTP 503", NOW))
    attempt, contact, _ = await rows(sessions, claim)
    assert (attempt.state, attempt.error) == ("rejected", "not sent: HTTP 503")
    assert (contact.status, contact.next_attempt_at, contact.attempts) == (
        "scheduled",
        NOW + dial_db.NOT_SENT_RETRY,
        0,
    )
    assert contact.waiting_reason == "send_retry"


async def test_unknown_keeps_the_contact_waiting_for_events(sessions: Sessions) -> None:
    claim = await claimed(sessions)
    await begin(sessions, claim.attempt_id)

    def unknown_then_not_sent(session: Session) -> tuple[bool, bool]:
        return (
            dial_db.unknown(session, claim.attempt_id, "ReadTimeout", NOW),
            dial_db.not_sent(session, claim.attempt_id, "late", NOW),
        )

    assert await write(sessions, unknown_then_not_sent) == (True, False)
    attempt, contact, _ = await rows(sessions, claim)
    assert (attempt.state, attempt.error, contact.status) == ("unknown", "ReadTimeout", "dialing")


DEBT = {"purpose": "debt_collection", "window": {}}
ANSWERED = ("debt_collection", "listened", NOW - 2 * HOUR)
THURSDAY_8_MSK = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
MONDAY_8_MSK = datetime(2026, 11, 30, 5, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("others", "capped_until"),
    [
        ([ANSWERED], THURSDAY_8_MSK),
        ([("debt_collection", "hung_up", NOW - 2 * HOUR)], THURSDAY_8_MSK),
        (
            [("debt_collection", "listened", NOW - days * 24 * HOUR) for days in (1, 2)],
            MONDAY_8_MSK,
        ),
        ([("debt_collection", "no_answer", NOW - 2 * HOUR)], None),
        ([("informing", "listened", NOW - 2 * HOUR)], None),
        ([("debt_collection", None, None)], NOW + IN_FLIGHT_RETRY),
    ],
    ids=["day", "hung up", "week", "unanswered", "informing", "a call in progress"],
)
async def test_debt_collection_caps_hold_across_campaigns_sharing_a_number(
    sessions: Sessions,
    others: list[tuple[str, str | None, datetime | None]],
    capped_until: datetime | None,
) -> None:
    """Another debt_collection campaign's answered calls to the number stop this one's: the
    contact waits, reason frequency_cap, for its window in the next free period."""
    for n, (purpose, category, finished_at) in enumerate(others):
        other = await insert_campaign(sessions, name=f"other {n}", purpose=purpose)
        (other_contact,) = await insert_contacts(sessions, other, [1], status="done")
        state = "finished" if finished_at else "accepted"
        await answered(
            sessions, other, other_contact, state=state, category=category, finished_at=finished_at
        )
    claim = await claimed(sessions, campaign=DEBT)
    begun = await begin(sessions, claim.attempt_id)
    _, contact, campaign = await rows(sessions, claim)
    if capped_until is None:
        assert isinstance(begun, OutgoingCall)
        return
    assert begun == Stopped(
        claim.attempt_id, claim.campaign_id, "debt collection cap (230-FZ art. 7)"
    )
    assert (contact.status, contact.next_attempt_at) == ("scheduled", capped_until)
    assert waiting_reason(contact, campaign, NOW) == (WaitingReason.FREQUENCY_CAP, capped_until)
