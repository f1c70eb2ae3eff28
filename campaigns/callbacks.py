"""CRM callbacks (docs/design.md §9): one signed JSON POST per final contact outcome and per DTMF
choice.

A callback is first a row whose unique `dedup_key` names what it reports (`outcome:<contact>`,
`dtmf:<attempt>:<digit>`), so a duplicated webhook, a retried job or a second sweep can never
make a second one; the worker's `deliver_callback` job then POSTs it, retrying with a bounded
backoff, and marks it `sent` or, after MAX_TRIES, `failed` (counted in the campaign's stats).
The body is fixed when the row is written; each try signs it with its own timestamp
(`campaigns.signing`), keyed by the campaign's secret or the service's
`DIALER_CRM_CALLBACK_SECRET`. A URL whose host is not public is refused, not retried
(`campaigns.callback_hosts`).

Outcomes settled by webhooks are recorded right after the collector's commit
(`notify_applied`); outcomes settled elsewhere (the dial job, the sweeper, cancelling) are
found by `unreported_outcomes`, which the worker's callback sweep runs.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Final

from sqlalchemy import String, cast, exists, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session

from campaigns.apply import AppliedEvent
from campaigns.db import ensure_writing, write_transaction
from campaigns.states import ContactStatus
from campaigns.stats import CALLBACK_FAILED
from campaigns.tables import Callback, Campaign, Contact

__all__ = [
    "BACKOFF",
    "MAX_TRIES",
    "CallbackDelivery",
    "body_of",
    "load",
    "mark_failed",
    "mark_sent",
    "notify_applied",
    "record_applied",
    "record_outcomes",
    "retry_delay",
    "stale_pending",
    "unreported_outcomes",
]

log = logging.getLogger(__name__)

PENDING: Final = "pending"
SENT: Final = "sent"
FAILED: Final = CALLBACK_FAILED
BACKOFF: tuple[float, ...] = (10, 30, 120, 600, 1800, 3600)
"""Seconds before each retry; a callback is tried once more than there are delays."""
MAX_TRIES: Final = len(BACKOFF) + 1
REPORTED_FOR: Final = timedelta(days=1)
"""How long after a campaign ends its unreported outcomes are still looked for."""
_ERROR_CHARS: Final = 500


def retry_delay(tries: int) -> float:
    """Seconds to wait after `tries` failed tries (1-based) before the next one."""
    return BACKOFF[min(tries, len(BACKOFF)) - 1]


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _payload(
    kind: str, key: str, contact: Contact, campaign: Campaign, now: datetime
) -> dict[str, Any]:
    return {
        "type": kind,
        "key": key,
        "at": _iso(now),
        "campaign_id": campaign.id,
        "campaign_kind": campaign.kind,
        "contact_id": contact.id,
        "phone": contact.phone,
        "vars": contact.vars,
        "status": contact.status,
        "outcome": contact.outcome,
        "attempts": contact.attempts,
        "last_cause": contact.last_cause,
        "listened_seconds": contact.listened_seconds,
        "dtmf": contact.dtmf,
        "transfer_number": contact.transfer_number,
        "transfer_seconds": contact.transfer_seconds,
        "first_call_at": _iso(contact.first_call_at),
        "last_call_at": _iso(contact.last_call_at),
    }


def _action(campaign: Campaign, digit: int) -> str | None:
    for item in campaign.dtmf:
        if isinstance(item, dict) and str(item.get("digit")) == str(digit):
            action = item.get("action")
            return action if isinstance(action, str) else None
    return None


def _outcome_row(contact: Contact, campaign: Campaign, now: datetime) -> dict[str, Any]:
    key = f"outcome:{contact.id}"
    return _row(key, contact, campaign, _payload("outcome", key, contact, campaign, now), now)


def _choice_row(
    contact: Contact, campaign: Campaign, attempt_id: int, digit: int, now: datetime
) -> dict[str, Any]:
    key = f"dtmf:{attempt_id}:{digit}"
    payload = _payload("dtmf", key, contact, campaign, now) | {
        "attempt_id": attempt_id,
        "digit": digit,
        "action": _action(campaign, digit),
    }
    return _row(key, contact, campaign, payload, now)


def _row(
    key: str, contact: Contact, campaign: Campaign, payload: dict[str, Any], now: datetime
) -> dict[str, Any]:
    return {
        "campaign_id": campaign.id,
        "contact_id": contact.id,
        "dedup_key": key,
        "url": campaign.crm_callback_url,
        "payload": payload,
        "status": PENDING,
        "tries": 0,
        "created_at": now,
    }


def _insert(session: Session, rows: list[dict[str, Any]]) -> list[int]:
    """Insert callback rows, skipping keys already recorded; the new ids."""
    if not rows:
        return []
    dialect = sqlite if session.get_bind().dialect.name == "sqlite" else postgresql
    statement = (
        dialect.insert(Callback)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[Callback.dedup_key])
        .returning(Callback.id)
    )
    return sorted(session.scalars(statement).all())


def _with_callback_url(
    session: Session, contact_ids: Iterable[int]
) -> dict[int, tuple[Contact, Campaign]]:
    ids = set(contact_ids)
    if not ids:
        return {}
    found = session.execute(
        select(Contact, Campaign)
        .join(Campaign, Campaign.id == Contact.campaign_id)
        .where(Contact.id.in_(ids), Campaign.crm_callback_url.is_not(None))
    )
    return {contact.id: (contact, campaign) for contact, campaign in found}


def record_applied(
    session: Session, applied: Sequence[AppliedEvent], *, now: datetime
) -> list[int]:
    """Callback rows for the final outcomes and DTMF choices of applied webhook events (of
    campaigns with a `crm_callback_url`); the ids of the rows new now."""
    ensure_writing(session)
    wanted = [a for a in applied if a.final_outcome is not None or a.dtmf_digit is not None]
    found = _with_callback_url(session, (a.contact_id for a in wanted))
    rows: list[dict[str, Any]] = []
    for item in wanted:
        if item.contact_id not in found:
            continue
        contact, campaign = found[item.contact_id]
        if item.dtmf_digit is not None:
            rows.append(_choice_row(contact, campaign, item.attempt_id, item.dtmf_digit, now))
        if item.final_outcome is not None:
            rows.append(_outcome_row(contact, campaign, now))
    return _insert(session, rows)


def record_outcomes(session: Session, contact_ids: Iterable[int], *, now: datetime) -> list[int]:
    """Outcome callback rows for settled (`done`) contacts, in any transaction that settles
    them; contacts not done or without a callback URL are skipped. The new rows' ids."""
    ensure_writing(session)
    found = _with_callback_url(session, contact_ids)
    rows = [
        _outcome_row(contact, campaign, now)
        for contact, campaign in found.values()
        if contact.status == ContactStatus.DONE
    ]
    return _insert(session, rows)


async def unreported_outcomes(session: AsyncSession, *, now: datetime, limit: int) -> list[int]:
    """Done contacts of campaigns with a callback URL (live, or ended within REPORTED_FOR)
    that have no outcome callback yet; a read, so it holds no write lock."""
    key = literal("outcome:", String) + cast(Contact.id, String)
    query = (
        select(Contact.id)
        .join(Campaign, Campaign.id == Contact.campaign_id)
        .where(
            Campaign.crm_callback_url.is_not(None),
            or_(Campaign.finished_at.is_(None), Campaign.finished_at > now - REPORTED_FOR),
            Contact.status == ContactStatus.DONE,
            ~exists().where(Callback.dedup_key == key),
        )
        .order_by(Contact.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def stale_pending(session: AsyncSession, *, before: datetime, limit: int) -> list[int]:
    """Pending callbacks created before `before`: their job may be lost (Redis flushed)."""
    query = (
        select(Callback.id)
        .where(Callback.status == PENDING, Callback.created_at < before)
        .order_by(Callback.id)
        .limit(limit)
    )
    return list((await session.scalars(query)).all())


async def notify_applied(
    sessions: async_sessionmaker[AsyncSession],
    applied: Sequence[AppliedEvent],
    *,
    now: datetime,
) -> list[int]:
    """The collector's hook, after its commit: record the callbacks of applied events, in a
    transaction of their own; the ids, for `campaigns.jobs.after_commit` to queue. Failures
    are logged, never raised: the webhook is stored and applied already, and the callback sweep
    records missed outcomes."""
    if not any(a.final_outcome is not None or a.dtmf_digit is not None for a in applied):
        return []
    try:
        async with write_transaction(sessions) as session:
            ids = await session.run_sync(record_applied, applied, now=now)
    except Exception:
        log.exception("recording CRM callbacks of %d applied events failed", len(applied))
        return []
    return ids


@dataclass(frozen=True)
class CallbackDelivery:
    """A pending callback, ready to send."""

    id: int
    url: str
    body: bytes
    secret: str | None
    """The campaign's own key; None: use the service's."""
    tries: int


def body_of(payload: Any) -> bytes:
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()


async def load(session: AsyncSession, callback_id: int) -> CallbackDelivery | None:
    """The callback if it is still pending."""
    found = await session.execute(
        select(Callback, Campaign.crm_callback_secret)
        .join(Campaign, Campaign.id == Callback.campaign_id)
        .where(Callback.id == callback_id, Callback.status == PENDING)
    )
    row = found.one_or_none()
    if row is None:
        return None
    callback, secret = row
    return CallbackDelivery(
        callback.id, callback.url, body_of(callback.payload), secret, callback.tries
    )


async def mark_sent(session: AsyncSession, callback_id: int, *, now: datetime) -> bool:
    """pending → sent; False if it was no longer pending."""
    ensure_writing(session)
    moved = await session.execute(
        update(Callback)
        .where(Callback.id == callback_id, Callback.status == PENDING)
        .values(status=SENT, tries=Callback.tries + 1, sent_at=now, last_error=None)
        .returning(Callback.id)
        .execution_options(synchronize_session=False)
    )
    return moved.scalar_one_or_none() is not None


async def mark_failed(
    session: AsyncSession, callback_id: int, error: str, *, final: bool = False
) -> tuple[int, bool]:
    """Count a failed try: (tries so far, whether it is now `failed` for good: after MAX_TRIES,
    or at once when `final`, for a try that can never succeed). (0, True) if it was no longer
    pending."""
    ensure_writing(session)
    tries = await session.scalar(
        update(Callback)
        .where(Callback.id == callback_id, Callback.status == PENDING)
        .values(tries=Callback.tries + 1, last_error=error[:_ERROR_CHARS])
        .returning(Callback.tries)
        .execution_options(synchronize_session=False)
    )
    if tries is None:
        return 0, True
    if final or tries >= MAX_TRIES:
        await session.execute(
            update(Callback)
            .where(Callback.id == callback_id)
            .values(status=FAILED)
            .execution_options(synchronize_session=False)
        )
        return tries, True
    return tries, False
