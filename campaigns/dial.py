"""The dial side of the call's state machine (docs/design.md §5.2): claimed → sending → an answer.

Every step is a compare-and-set on the attempt's state, so two dial jobs for one attempt (a
retried arq job, a second worker) send at most one request, and a step that lost the race
changes nothing. The job runs each as one step of the worker's group commit
(campaigns/group_commit.py), inside a write transaction it may share with other jobs' steps:

    begin        claimed → sending, then the checks right before the call: the campaign still
                 running, the number not on the do-not-call list, the daily answered cap,
                 a debt_collection campaign's caps (campaigns.frequency)
    mark_sent    sending (sent_at unset) → sent_at set, just before the CPS slot: the point of
                 no return for the sweeper, which takes an attempt back only while sent_at is
                 unset, by the same CAS
    accepted / rejected / not_sent / unknown
                 the answer of sb-api, or the lack of one
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any, cast

from sqlalchemy import Table, Update, bindparam, func, select, update
from sqlalchemy.orm import Session

from campaigns import dnc
from campaigns.contact_status import back_to_waiting, finish, reschedule
from campaigns.db import ensure_writing
from campaigns.frequency import (
    answered_today,
    debt_capped_until,
    debt_interactions,
    next_day_opening,
)
from campaigns.policy import opening_for, window_of
from campaigns.purposes import Caps, Purpose
from campaigns.requests import CallSetup, call_request
from campaigns.states import AttemptState, CampaignStatus, ContactStatus, Outcome, WaitingReason
from campaigns.tables import Attempt, Campaign, Contact
from dialer.telecom.sbapi import CallRequest, Rejected, RejectReason

__all__ = [
    "NOT_SENT_RETRY",
    "OutgoingCall",
    "Stopped",
    "accepted",
    "begin",
    "mark_sent",
    "not_sent",
    "rejected",
    "unknown",
]

NOT_SENT_RETRY = timedelta(seconds=30)
"""When a contact whose request certainly did not reach MTT is tried again."""
_ERROR_CHARS = 1000

# The steps' statements are built once, on the tables rather than the mapped classes: three of
# them run per call, and building an ORM update and its cache key each time cost more CPU than
# SQLite took to run it.
_ATTEMPT = cast(Table, Attempt.__table__)
_MARK_SENT = (
    update(_ATTEMPT)
    .where(
        _ATTEMPT.c.id == bindparam("attempt_id"),
        _ATTEMPT.c.state == AttemptState.SENDING,
        _ATTEMPT.c.sent_at.is_(None),
    )
    .values(sent_at=bindparam("now", type_=_ATTEMPT.c.sent_at.type))
    .returning(_ATTEMPT.c.id)
)
_FILL_ANSWER = (
    update(_ATTEMPT)
    .where(_ATTEMPT.c.id == bindparam("attempt_id"))
    .values(
        call_id=func.coalesce(
            _ATTEMPT.c.call_id, bindparam("answer_call_id", type_=_ATTEMPT.c.call_id.type)
        ),
        responded_at=func.coalesce(
            _ATTEMPT.c.responded_at, bindparam("now", type_=_ATTEMPT.c.responded_at.type)
        ),
    )
)


@dataclass(frozen=True)
class OutgoingCall:
    """An attempt now `sending`, with the request to send."""

    attempt_id: int
    campaign_id: int
    campaign_limit: int
    request: CallRequest


@dataclass(frozen=True)
class Stopped:
    """A check stopped the call before it was sent; the attempt is rejected."""

    attempt_id: int
    campaign_id: int
    reason: str


def begin(
    session: Session, attempt_id: int, *, now: datetime, cap: int, setup: CallSetup
) -> OutgoingCall | Stopped | None:
    """Take the attempt (None if it is not `claimed`: someone else owns it) and check it."""
    ensure_writing(session)
    taken = _move(session, attempt_id, AttemptState.CLAIMED, AttemptState.SENDING)
    if not taken:
        return None
    attempt, contact, campaign = _rows(session, attempt_id)

    def stop(reason: str) -> Stopped:
        attempt.state = AttemptState.REJECTED
        attempt.error = reason
        return Stopped(attempt_id, campaign.id, reason)

    if campaign.status != CampaignStatus.RUNNING:
        back_to_waiting(contact, campaign)
        return stop(f"campaign {campaign.status}")
    if contact.status != ContactStatus.DIALING:
        return stop(f"contact {contact.status}")
    if dnc.listed(session, contact.phone):  # stored numbers are normalised
        finish(contact, Outcome.DNC)
        return stop("do-not-call")
    if cap > 0 and answered_today(session, contact.phone, now) >= cap:
        at = next_day_opening(campaign, contact.timezone, now)
        reschedule(contact, campaign, at, WaitingReason.DAILY_CAP)
        return stop("frequency cap")
    if campaign.purpose == Purpose.DEBT_COLLECTION:
        answered, in_flight = debt_interactions(session, contact.phone, attempt_id, now)
        caps = Caps.model_validate(campaign.caps or {})
        until = debt_capped_until(answered, in_flight, caps, contact.timezone, now)
        if until is not None:
            at = opening_for(campaign, window_of(campaign), contact.timezone)(until)
            reschedule(contact, campaign, at, WaitingReason.FREQUENCY_CAP)
            return stop("debt collection cap (230-FZ art. 7)")
    try:
        request = call_request(str(attempt_id), contact, campaign, setup)
    except ValueError as error:
        finish(contact, Outcome.FAILED)
        return stop(_clip(f"request: {error}"))
    return OutgoingCall(attempt_id, campaign.id, campaign.max_concurrent, request)


def mark_sent(session: Session, attempt_id: int, now: datetime) -> bool:
    """Record that the request goes out at `now` (its CPS slot, moments away); False if the
    sweeper took it back first."""
    ensure_writing(session)
    return session.execute(_MARK_SENT, {"attempt_id": attempt_id, "now": now}).first() is not None


def accepted(session: Session, attempt_id: int, call_id: str, now: datetime) -> None:
    """sending → accepted; an attempt an event already moved on only gets the CallID and the
    response time it lacks."""
    ensure_writing(session)
    if _move(
        session,
        attempt_id,
        AttemptState.SENDING,
        AttemptState.ACCEPTED,
        call_id=call_id,
        responded_at=now,
    ):
        return
    session.execute(_FILL_ANSWER, {"attempt_id": attempt_id, "answer_call_id": call_id, "now": now})


def rejected(session: Session, attempt_id: int, answer: Rejected, now: datetime) -> str | None:
    """sending → rejected, and what it means for the contact (and the campaign, for an
    account error); the contact's new state as text, None if the attempt was not `sending`."""
    ensure_writing(session)
    error = _clip(answer.error)
    if not _move(
        session,
        attempt_id,
        AttemptState.SENDING,
        AttemptState.REJECTED,
        error=error,
        call_id=answer.call_id,
        responded_at=now,
    ):
        return None
    _, contact, campaign = _rows(session, attempt_id)
    if answer.reason is RejectReason.INVALID_B_NUMBER:
        finish(contact, Outcome.INVALID_NUMBER)
    elif answer.reason is RejectReason.ACCOUNT:
        _pause(session, campaign, f"sb-api refused the account: {error}", now)
        back_to_waiting(contact, campaign)
    else:
        finish(contact, Outcome.FAILED)
    return contact.status if contact.outcome is None else contact.outcome


def not_sent(session: Session, attempt_id: int, error: str, now: datetime) -> bool:
    """Nothing reached MTT: the attempt is rejected, the contact tried again soon and this
    does not count as an attempt. False if the attempt was not `sending`."""
    ensure_writing(session)
    if not _move(
        session,
        attempt_id,
        AttemptState.SENDING,
        AttemptState.REJECTED,
        error=_clip(f"not sent: {error}"),
        sent_at=None,  # marked just before its slot, maybe, but it never left
    ):
        return False
    _, contact, campaign = _rows(session, attempt_id)
    reschedule(contact, campaign, now + NOT_SENT_RETRY, WaitingReason.SEND_RETRY)
    return True


def unknown(session: Session, attempt_id: int, error: str, now: datetime) -> bool:
    """The request may have been processed: never sent again; webhooks or the sweeper decide."""
    ensure_writing(session)
    return _move(
        session,
        attempt_id,
        AttemptState.SENDING,
        AttemptState.UNKNOWN,
        error=_clip(error),
        responded_at=now,
    )


def _rows(session: Session, attempt_id: int) -> tuple[Attempt, Contact, Campaign]:
    """The attempt, its contact and campaign in one query, read afresh: the compare-and-set
    before it changed the attempt behind the session's back."""
    attempt, contact, campaign = session.execute(
        select(Attempt, Contact, Campaign)
        .join(Contact, Contact.id == Attempt.contact_id)
        .join(Campaign, Campaign.id == Attempt.campaign_id)
        .where(Attempt.id == attempt_id)
        .execution_options(populate_existing=True)
    ).one()
    return attempt, contact, campaign


def _move(session: Session, attempt_id: int, source: str, target: str, **values: Any) -> bool:
    params = {f"new_{column}": value for column, value in values.items()}
    moved = session.execute(
        _move_statement(tuple(values)),
        {"attempt_id": attempt_id, "source": source, "new_state": target, **params},
    )
    return moved.first() is not None


@cache
def _move_statement(columns: tuple[str, ...]) -> Update:
    """attempt `source` → `new_state`, setting each of `columns` to `new_<column>`."""
    return (
        update(_ATTEMPT)
        .where(_ATTEMPT.c.id == bindparam("attempt_id"), _ATTEMPT.c.state == bindparam("source"))
        .values({c: bindparam(f"new_{c}", type_=_ATTEMPT.c[c].type) for c in ("state", *columns)})
        .returning(_ATTEMPT.c.id)
    )


def _pause(session: Session, campaign: Campaign, reason: str, now: datetime) -> None:
    session.execute(
        update(Campaign)
        .where(Campaign.id == campaign.id, Campaign.status == CampaignStatus.RUNNING)
        .values(status=CampaignStatus.PAUSED, status_reason=reason, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    session.refresh(campaign)


def _clip(text: str) -> str:
    return text[:_ERROR_CHARS]
