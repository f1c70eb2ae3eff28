"""The webhook inbox: every authenticated body stored, deduplicated and applied (docs/design.md
§10).

A batch of bodies is stored and applied in one write transaction, the raw events inserted
first: when the commit returns, each event is both durable and applied, or neither. If applying
raises, the batch is rolled back and retried body by body; the body that fails again is stored
alone with its `apply_error` and reported failed, so MTT may send it again (its retry re-applies
the stored event) and `retry_failed` re-applies it meanwhile.

An event that contradicts the attempt it names (`campaigns.matching`) is stored as a conflict,
linked to that attempt, and not applied.

The API process feeds it through `campaigns.inbox_writer` (group commit); the sweeper calls
`store` and `retry_failed` directly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from campaigns import callbacks
from campaigns.apply import AppliedEvent, CallRows, apply_event, load_calls, uniform_updates
from campaigns.db import Transact
from campaigns.jobs import Lease
from campaigns.matching import MatchStatus, match_event
from campaigns.tables import Event
from dialer.telecom.events import EventParseError, MttEvent, event_of, parse_body
from dialer.telecom.redial import RedialPolicy

__all__ = [
    "MAX_EVENTS",
    "Batch",
    "Receipt",
    "WebhookDelivery",
    "leases_of",
    "read",
    "reconciled",
    "retry_failed",
    "store",
]

log = logging.getLogger(__name__)

MAX_EVENTS = 50
"""Events one body may hold; MTT sends one. Each is stored with the raw body."""
_ERROR_CHARS = 1000
_JSON = "application/json"


@dataclass(frozen=True)
class WebhookDelivery:
    """One webhook request, parsed (or not) on arrival."""

    body: bytes
    content_type: str | None
    query: Mapping[str, str]
    received_at: datetime
    format: str | None = None
    events: tuple[MttEvent, ...] = ()
    parse_error: str | None = None


@dataclass(frozen=True)
class Receipt:
    """What became of one delivery; `apply_error` set means stored but not applied."""

    parse_error: str | None = None
    stored: int = 0
    duplicates: int = 0
    unmatched: int = 0
    apply_error: str | None = None
    applied: tuple[AppliedEvent, ...] = ()
    conflicts: int = 0
    """Events stored but not applied: they contradict the attempt they name."""


@dataclass(frozen=True)
class Batch:
    """What became of each delivery of a batch, and the CRM callbacks its events recorded
    (in the same transaction: an outcome and its callback are committed together)."""

    receipts: list[Receipt | Exception]
    callbacks: list[int]


@dataclass
class _Tally:
    stored: int = 0
    duplicates: int = 0
    unmatched: int = 0
    conflicts: int = 0
    applied: list[AppliedEvent] = field(default_factory=list)


def reconciled(fields: Mapping[str, str], received_at: datetime) -> WebhookDelivery:
    """An event rebuilt from MTT's call history (workers.sweep), checked as a webhook's would
    be and stored with the JSON body MTT would have sent."""
    body = json.dumps(dict(fields)).encode()
    try:
        event = event_of(fields)
    except EventParseError as error:
        return WebhookDelivery(body, _JSON, {}, received_at, parse_error=str(error))
    return WebhookDelivery(body, _JSON, {}, received_at, "json", (event,))


def read(
    body: bytes, content_type: str | None, query: Mapping[str, str], received_at: datetime
) -> WebhookDelivery:
    """Parse a request's body; a body that cannot be parsed is kept with the reason."""
    try:
        parsed = parse_body(body, content_type, query)
    except EventParseError as error:
        return WebhookDelivery(body, content_type, query, received_at, parse_error=str(error))
    if len(parsed.events) > MAX_EVENTS:
        too_many = f"{len(parsed.events)} events in one body; at most {MAX_EVENTS} are accepted"
        return WebhookDelivery(
            body, content_type, query, received_at, parsed.format, parse_error=too_many
        )
    return WebhookDelivery(body, content_type, query, received_at, parsed.format, parsed.events)


async def store(
    writes: Transact,
    deliveries: Sequence[WebhookDelivery],
    *,
    base: RedialPolicy,
    now: datetime,
) -> Batch:
    """Store and apply deliveries in one transaction; after a failure, each on its own.

    An Exception among the receipts means not even the raw body could be stored.
    """
    try:
        return await writes(partial(_store, deliveries=deliveries, base=base, now=now))
    except Exception as error:
        if len(deliveries) == 1:
            return Batch([await _keep_failed(writes, deliveries[0], error)], [])
        log.warning("batch of %d deliveries failed, storing each alone: %r", len(deliveries), error)
    receipts: list[Receipt | Exception] = []
    reported: list[int] = []
    for delivery in deliveries:
        try:
            alone = await writes(partial(_store, deliveries=[delivery], base=base, now=now))
            receipts.extend(alone.receipts)
            reported.extend(alone.callbacks)
        except Exception as error:
            receipts.append(await _keep_failed(writes, delivery, error))
    return Batch(receipts, reported)


async def _keep_failed(
    writes: Transact, delivery: WebhookDelivery, error: Exception
) -> Receipt | Exception:
    """The body's events stored alone, unapplied, with the error: the second transaction."""
    log.error("applying a webhook failed: %s", _describe(error), exc_info=error)
    text = _describe(error)
    rows = [_row(delivery, event, None, apply_error=text) for event in delivery.events]
    if delivery.parse_error is not None:
        rows = [_row(delivery, None, None)]
    try:
        stored = await writes(partial(_insert, rows=rows))
    except Exception as second:
        log.error("storing a failed webhook failed too: %s", _describe(second))
        return second
    duplicates = len(delivery.events) - len(stored)
    return Receipt(stored=len(stored), duplicates=duplicates, apply_error=text)


def _store(
    session: Session, deliveries: Sequence[WebhookDelivery], *, base: RedialPolicy, now: datetime
) -> Batch:
    tallies = [_Tally() for _ in deliveries]
    pairs = [(index, event) for index, d in enumerate(deliveries) for event in d.events]
    calls = load_calls(session, [event for _, event in pairs])
    rows: list[dict[str, Any]] = []
    todo: list[tuple[int, MttEvent, str, CallRows | None]] = []
    seen: set[str] = set()
    for (index, event), call in zip(pairs, calls, strict=True):
        key = event.dedup_key
        if key in seen:
            tallies[index].duplicates += 1
            continue
        seen.add(key)
        todo.append((index, event, key, call))
        rows.append(_row(deliveries[index], event, call, key=key))
    rows.extend(_row(d, None, None) for d in deliveries if d.parse_error is not None)
    inserted = _insert(session, rows)
    claimed = _claim_failed(session, [key for _, _, key, _ in todo if key not in inserted])
    for index, event, key, call in todo:
        tally = tallies[index]
        if key in inserted:
            tally.stored += 1
        elif key in claimed:
            _link(session, key, call)
        else:
            tally.duplicates += 1
            continue
        if call is None:
            tally.unmatched += 1
        elif _conflicts(session, key, event, call):
            tally.conflicts += 1
        else:
            tally.applied.append(apply_event(session, event, call, base=base, now=now))
    uniform_updates(calls)
    applied = [item for tally in tallies for item in tally.applied]
    receipts: list[Receipt | Exception] = [
        Receipt(
            d.parse_error,
            t.stored,
            t.duplicates,
            t.unmatched,
            applied=tuple(t.applied),
            conflicts=t.conflicts,
        )
        for d, t in zip(deliveries, tallies, strict=True)
    ]
    reported = callbacks.record_applied(session, _reported(applied, calls), now=now)
    return Batch(receipts, reported)


def _reported(applied: list[AppliedEvent], calls: list[CallRows | None]) -> list[AppliedEvent]:
    """The events of campaigns with a CRM callback URL: `record_applied` would look the others
    up only to skip them, a query per batch for nothing."""
    reporting = {
        call.campaign.id for call in calls if call and call.campaign.crm_callback_url is not None
    }
    return [item for item in applied if item.campaign_id in reporting]


def _insert(session: Session, rows: list[dict[str, Any]]) -> set[str | None]:
    """Insert event rows, skipping keys already stored; the keys inserted.

    One cached statement run over the rows (multi-row VALUES under the hood): compiling a
    VALUES list per batch would cost more than the insert."""
    if not rows:
        return set()
    table = Event.__table__
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(table)
        .on_conflict_do_nothing(index_elements=[table.c.dedup_key])
        .returning(table.c.dedup_key)
    )
    return set(session.connection().execute(statement, rows).scalars().all())


def _claim_failed(session: Session, keys: Sequence[str]) -> set[str | None]:
    """Of stored events with these keys, take those whose applying failed, to apply them now
    (a conditional update: two processes never both take one)."""
    if not keys:
        return set()
    claimed = session.scalars(
        update(Event)
        .where(Event.dedup_key.in_(keys), Event.apply_error.is_not(None))
        .values(apply_error=None)
        .returning(Event.dedup_key)
        .execution_options(synchronize_session=False)
    )
    return set(claimed)


def _link(session: Session, key: str, call: CallRows | None) -> None:
    """Match a claimed event to its call, which may exist only now."""
    session.execute(
        update(Event)
        .where(Event.dedup_key == key)
        .values(attempt_id=None if call is None else call.attempt.id, match_status=_status(call))
        .execution_options(synchronize_session=False)
    )


def _conflicts(session: Session, key: str, event: MttEvent, call: CallRows) -> bool:
    """Whether the event contradicts its call's attempt; if so its row says why. Judged when
    applying, so an earlier event of the batch may have taught the attempt its CallID."""
    attempt = call.attempt
    verdict = match_event(event, call_id=attempt.call_id, number=attempt.phone)
    if verdict.status is not MatchStatus.CONFLICT:
        return False
    log.warning("webhook event for attempt %d not applied: %s", attempt.id, verdict.reason)
    session.execute(
        update(Event)
        .where(Event.dedup_key == key)
        .values(match_status=verdict.status.value, match_reason=verdict.reason)
        .execution_options(synchronize_session=False)
    )
    return True


def _status(call: CallRows | None) -> str:
    return (MatchStatus.UNMATCHED if call is None else MatchStatus.MATCHED).value


def _row(
    delivery: WebhookDelivery,
    event: MttEvent | None,
    call: CallRows | None,
    *,
    key: str | None = None,
    apply_error: str | None = None,
) -> dict[str, Any]:
    """An event row; `event` None for a body that could not be parsed."""
    return {
        "received_at": delivery.received_at,
        # PostgreSQL text holds no NUL; any byte survives as an escape.
        "body": delivery.body.decode("utf-8", "backslashreplace").replace("\x00", "\\x00"),
        "content_type": None if delivery.content_type is None else delivery.content_type[:200],
        "query": urlencode(list(delivery.query.items())) or None,
        "format": delivery.format,
        "kind": None if event is None else event.kind.value,
        "dedup_key": key if key is not None or event is None else event.dedup_key,
        "mess_id": None if event is None or event.mess_id is None else event.mess_id[:64],
        "call_id": None if event is None or event.call_id is None else event.call_id[:32],
        "parsed": None if event is None else dict(event.fields),
        "parse_error": delivery.parse_error,
        "apply_error": apply_error,
        "attempt_id": None if call is None else call.attempt.id,
        # not known for bodies not parsed, nor for events stored only after applying failed
        "match_status": None if event is None or apply_error is not None else _status(call),
        "match_reason": None,
    }


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"[:_ERROR_CHARS]


async def retry_failed(
    sessions: async_sessionmaker[AsyncSession],
    writes: Transact,
    *,
    base: RedialPolicy,
    now: datetime,
    limit: int = 100,
) -> list[AppliedEvent]:
    """Re-apply stored events whose applying failed (the sweeper's job), oldest first, each
    in its own transaction; one that fails again keeps its (updated) `apply_error`."""
    async with sessions() as session:
        found = await session.execute(
            select(Event.id, Event.parsed)
            .where(Event.apply_error.is_not(None))
            .order_by(Event.id)
            .limit(limit)
        )
        rows = found.all()
    applied: list[AppliedEvent] = []
    for event_id, parsed in rows:
        fields = dict(parsed) if isinstance(parsed, dict) else {}
        try:
            applied.extend(await writes(partial(_reapply, fields=fields, base=base, now=now)))
        except Exception as error:
            log.error("re-applying event %d failed: %s", event_id, _describe(error))
            await writes(partial(_note_failure, event_id=event_id, error=_describe(error)))
    return applied


def _note_failure(session: Session, *, event_id: int, error: str) -> None:
    session.execute(
        update(Event)
        .where(Event.id == event_id)
        .values(apply_error=error)
        .execution_options(synchronize_session=False)
    )


def _reapply(
    session: Session, *, fields: dict[str, Any], base: RedialPolicy, now: datetime
) -> list[AppliedEvent]:
    """The stored fields are one event's record: read back as a JSON object, that event."""
    events = parse_body(json.dumps(fields).encode(), "application/json", {}).events
    if len(events) != 1:
        raise ValueError(f"stored fields {sorted(fields)} hold {len(events)} events, not 1")
    (call,) = load_calls(session, events)
    key = events[0].dedup_key
    if key not in _claim_failed(session, [key]):
        return []
    _link(session, key, call)
    if call is None or _conflicts(session, key, events[0], call):
        return []
    return [apply_event(session, events[0], call, base=base, now=now)]


def leases_of(applied: Iterable[AppliedEvent]) -> list[Lease]:
    """The concurrency leases of the calls these events finished, to free after the commit."""
    return [(item.attempt_id, item.campaign_id) for item in applied if item.release_lease]
