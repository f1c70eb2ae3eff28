"""The call's state machine: one MTT event applied to its attempt and contact (docs/design.md §5.3).

Events of one call arrive in any order, and the same set of events must end in the same rows
whatever the order:

- states only move forward: the callee's `o` moves sending/accepted/unknown to originated, the
  callee's `h` moves any of those or originated to finished, so an `h` before its `o` finishes
  the call and the late `o` only fills `originated_at`;
- the contact is settled once, by the callee's `h`; transfer legs and DTMF digits accumulate;
  a transfer leg's `dtmf` (the digit that chose the transfer) is recorded by whichever of its
  events comes first, so a callee who pressed 3 to reach an operator has "3" like a notify;
- a late `h` for a lost attempt replaces the lost decision while the contact still waits on it.

Duplicates never get here: the inbox drops them by their dedup key; nor do events that
contradict their attempt's CallID or number (`campaigns.matching`), stored as conflicts. Runs
inside the inbox's write transaction; what must happen after the commit (releasing the
concurrency lease, CRM callbacks) is returned as data.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session, defer
from sqlalchemy.orm.attributes import flag_modified, instance_state

from campaigns import dnc
from campaigns.contact_status import write_settlement
from campaigns.db import ensure_writing
from campaigns.outcomes import history_of, settle_finished
from campaigns.policy import policy_of
from campaigns.states import AttemptState, ContactStatus, DncSource
from campaigns.tables import Attempt, Campaign, Contact
from dialer.telecom.causes import Category, classify
from dialer.telecom.events import EventKind, Leg, MttEvent
from dialer.telecom.redial import RedialPolicy

__all__ = [
    "ANSWERED",
    "OPT_OUT",
    "AppliedEvent",
    "CallRows",
    "apply_event",
    "attempt_id_of",
    "load_call",
    "load_calls",
    "uniform_updates",
]

log = logging.getLogger(__name__)

ANSWERED = frozenset({Category.LISTENED, Category.HUNG_UP})
"""Categories of a call the callee picked up: its duration is what they listened to."""
OPT_OUT: Final = "DTMF {digit} opt-out in campaign {id}"
"""The do-not-call reason of a callee who pressed the menu's opt-out digit."""
MAX_DIGITS = 32
"""Size of the `dtmf` columns; digits past it are dropped (no menu has that many choices)."""
NUMBER_DIGITS = 11
CALL_ID_CHARS = 32
_ORIGINATING = frozenset({AttemptState.SENDING, AttemptState.ACCEPTED, AttemptState.UNKNOWN})
_LIVE = _ORIGINATING | {AttemptState.ORIGINATED}
_MAX_ID = 2**63 - 1


@dataclass(frozen=True)
class AppliedEvent:
    """What the caller does after the commit: release the lease, tell the CRM."""

    attempt_id: int
    campaign_id: int
    contact_id: int
    final_outcome: str | None
    """The contact's outcome when this event settled it for good."""
    dtmf_digit: int | None
    """The digit the callee chose, when this event recorded one."""
    release_lease: bool


@dataclass(frozen=True)
class CallRows:
    """An attempt with its contact and campaign: the rows an event of that call changes."""

    attempt: Attempt
    contact: Contact
    campaign: Campaign


def attempt_id_of(event: MttEvent) -> int | None:
    """The attempt id an event's messId names (our messIds are attempt ids in decimal)."""
    text = event.mess_id
    if text is None or not text.isascii() or not text.isdigit():
        return None
    number = int(text)
    return number if 0 < number <= _MAX_ID else None


def load_calls(session: Session, events: Sequence[MttEvent]) -> list[CallRows | None]:
    """The call of each event: its attempt by messId, else by CallID (the newest attempt with
    it); None when neither is known. One query, a second only for events matched by CallID."""
    ids = {number for event in events if (number := attempt_id_of(event)) is not None}
    by_id = _calls(session, Attempt.id.in_(ids)) if ids else {}
    call_ids = {
        event.call_id
        for event in events
        if event.call_id is not None and attempt_id_of(event) not in by_id
    }
    by_call: dict[str, CallRows] = {}
    if call_ids:
        found = _calls(session, Attempt.call_id.in_(call_ids))
        by_call = {
            call.attempt.call_id: call for _, call in sorted(found.items()) if call.attempt.call_id
        }
    return [
        by_id.get(attempt_id_of(event) or 0)
        or (by_call.get(event.call_id) if event.call_id else None)
        for event in events
    ]


def _calls(session: Session, condition: ColumnElement[bool]) -> dict[int, CallRows]:
    """Attempts and contacts are locked on PostgreSQL (in id order, against deadlocks), so
    that nothing changes them between this read and the commit; SQLite's write transaction
    holds the whole database already."""
    rows = session.execute(
        select(Attempt, Contact)
        .join(Contact, Contact.id == Attempt.contact_id)
        .options(*_UNUSED)
        .where(condition)
        .order_by(Attempt.id)
        .with_for_update(of=[Attempt, Contact])
    ).all()
    campaigns = _campaigns(session, {attempt.campaign_id for attempt, _ in rows})
    return {
        attempt.id: CallRows(attempt, contact, campaigns[attempt.campaign_id])
        for attempt, contact in rows
        if attempt.campaign_id in campaigns
    }


def _campaigns(session: Session, ids: set[int]) -> dict[int, Campaign]:
    """Read apart from the attempts: joined, the campaign's columns (JSON among them) would be
    converted again on every row, and a batch's events are mostly of one campaign."""
    if not ids:
        return {}
    found = session.scalars(select(Campaign).where(Campaign.id.in_(ids)))
    return {campaign.id: campaign for campaign in found}


def load_call(session: Session, attempt_id: int) -> CallRows | None:
    return (_calls(session, Attempt.id == attempt_id)).get(attempt_id)


_UNUSED = (defer(Contact.vars, raiseload=True),)
"""A contact's template variables (a whole CSV row, maybe long): no event reads them."""


def uniform_updates(calls: Iterable[CallRows | None]) -> None:
    """Give the changed attempts, and the changed contacts, of a batch one set of changed columns
    (those changed on any of them), so the flush sends one executemany UPDATE per table, not one
    per distinct set (each a round trip to SQLite's thread). The rows are locked (`load_calls`):
    rewriting an unchanged column overwrites nothing."""
    rows = {id(row): row for call in calls if call for row in (call.attempt, call.contact)}
    changed = [state for row in rows.values() if (state := instance_state(row)).modified]
    for table in (Attempt, Contact):
        states = [state for state in changed if state.class_ is table]
        names = set[str]().union(*(state.committed_state for state in states))
        for state in states:
            committed, values = state.committed_state, state.dict
            for name in names:
                # what the flush would leave out: unchanged, or set to the value it had
                if name not in committed or committed[name] == values[name]:
                    flag_modified(state.obj(), name)


def apply_event(
    session: Session,
    event: MttEvent,
    call: CallRows,
    *,
    base: RedialPolicy,
    now: datetime,
) -> AppliedEvent:
    """Apply a new (not duplicate) event to its call's rows and the DNC list."""
    ensure_writing(session)
    attempt, contact = call.attempt, call.contact
    if attempt.call_id is None and event.call_id and len(event.call_id) <= CALL_ID_CHARS:
        attempt.call_id = event.call_id
    outcome: str | None = None
    digit: int | None = None
    release = False
    if event.leg is Leg.TRANSFER:
        digit = _transfer(event, attempt, contact)
    elif event.kind is EventKind.ORIGINATE:
        _originate(attempt, now)
    elif event.kind is EventKind.HANGUP:
        outcome, release = _hang_up(session, event, call, base, now)
    else:
        digit = _notify(session, event, call, now)
    return AppliedEvent(
        attempt_id=attempt.id,
        campaign_id=attempt.campaign_id,
        contact_id=attempt.contact_id,
        final_outcome=outcome,
        dtmf_digit=digit,
        release_lease=release,
    )


def _originate(attempt: Attempt, now: datetime) -> None:
    if attempt.state in _ORIGINATING:
        attempt.state = AttemptState.ORIGINATED
    if attempt.state in (AttemptState.ORIGINATED, AttemptState.FINISHED, AttemptState.LOST):
        attempt.originated_at = attempt.originated_at or now


def _hang_up(
    session: Session, event: MttEvent, call: CallRows, base: RedialPolicy, now: datetime
) -> tuple[str | None, bool]:
    """The callee's leg ended: (the contact's final outcome if settled so, release the lease)."""
    attempt, contact, campaign = call.attempt, call.contact, call.campaign
    cause, duration = _cause_and_duration(event)
    if attempt.state in _LIVE:
        attempt.state = AttemptState.FINISHED
        waiting = contact.status == ContactStatus.DIALING
    elif attempt.state == AttemptState.LOST and attempt.cause is None:
        waiting = _waits_on_loss(session, attempt, contact)
        if waiting:
            _undo_loss(session, attempt, contact, campaign, base)
    else:
        if attempt.state != AttemptState.FINISHED:
            log.warning("hangup for attempt %d in state %s ignored", attempt.id, attempt.state)
        return None, False
    attempt.cause, attempt.duration, attempt.finished_at = cause, duration, now
    if not waiting:
        policy = policy_of(campaign, base)
        attempt.category = classify(
            cause, duration, min_listen_seconds=policy.min_listen_seconds, mapping=policy.categories
        ).value
        return None, True
    settlement = settle_finished(
        contact, campaign, cause=cause, duration=duration, base=base, now=now
    )
    write_settlement(contact, settlement, now=now)
    attempt.category = settlement.category.value
    if settlement.category in ANSWERED:
        contact.listened_seconds = duration
    contact.first_call_at = contact.first_call_at or now
    return settlement.outcome, True


def _cause_and_duration(event: MttEvent) -> tuple[int, int]:
    if event.cause is None or event.duration is None:
        raise ValueError(f"hangup event of {event.number} has no cause or duration")
    return event.cause, event.duration


def _waits_on_loss(session: Session, attempt: Attempt, contact: Contact) -> bool:
    """Whether the contact is still scheduled from this attempt's loss (nothing dialed since)."""
    history = history_of(contact)
    if (
        contact.status != ContactStatus.SCHEDULED
        or not history
        or history[-1] is not Category.NO_ANSWER
    ):
        return False
    latest = session.scalar(select(func.max(Attempt.id)).where(Attempt.contact_id == contact.id))
    return latest == attempt.id


def _undo_loss(
    session: Session,
    attempt: Attempt,
    contact: Contact,
    campaign: Campaign,
    base: RedialPolicy,
) -> None:
    """Take back what `settle_lost` wrote, so the real cause can be settled in its place."""
    contact.history = ",".join(category.value for category in history_of(contact)[:-1])
    contact.attempts -= 1
    if not policy_of(campaign, base).counts(Category.NO_ANSWER):
        contact.network_attempts -= 1
    contact.last_cause = session.scalar(
        select(Attempt.cause)
        .where(
            Attempt.contact_id == contact.id,
            Attempt.id < attempt.id,
            Attempt.state.in_((AttemptState.FINISHED, AttemptState.LOST)),
        )
        .order_by(Attempt.id.desc())
        .limit(1)
    )


def _transfer(event: MttEvent, attempt: Attempt, contact: Contact) -> int | None:
    """A transfer leg; its `dtmf` is the callee's choice, recorded by the first of its events."""
    first = attempt.transfer_number is None and attempt.transfer_cause is None
    if attempt.transfer_number is None and len(event.number) <= NUMBER_DIGITS:
        attempt.transfer_number = contact.transfer_number = event.number
    if event.kind is EventKind.HANGUP:
        cause, duration = _cause_and_duration(event)
        attempt.transfer_cause = cause
        attempt.transfer_seconds += duration
        contact.transfer_seconds += duration
    if first and event.digit is not None:
        _append_digit(attempt, contact, event.digit)
        return event.digit
    return None


def _notify(session: Session, event: MttEvent, call: CallRows, now: datetime) -> int | None:
    """The callee chose a notify action (MTT's "null": no choice); opt-out lands in DNC."""
    digit, attempt, campaign = event.digit, call.attempt, call.campaign
    if digit is None:
        return None
    _append_digit(attempt, call.contact, digit)
    if _menu_action(campaign, digit) == "opt_out":
        dnc.add(
            session,
            attempt.phone,
            source=DncSource.DTMF,
            now=now,
            reason=OPT_OUT.format(digit=digit, id=campaign.id),
        )
    return digit


def _menu_action(campaign: Campaign, digit: int) -> str | None:
    for item in campaign.dtmf:
        if isinstance(item, dict) and str(item.get("digit")) == str(digit):
            action = item.get("action")
            return action if isinstance(action, str) else None
    return None


def _append_digit(attempt: Attempt, contact: Contact, digit: int) -> None:
    if len(attempt.dtmf) < MAX_DIGITS:
        attempt.dtmf += str(digit)
    if len(contact.dtmf) < MAX_DIGITS:
        contact.dtmf += str(digit)
