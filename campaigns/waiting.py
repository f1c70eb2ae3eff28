"""Why a waiting contact is not being called now, and when it will be (`waiting_reason`).

Only a contact that is `pending` or `scheduled` waits. Its reason is decided in this order:

1. The campaign: a draft has `not_started`, a paused one `campaign_paused` (no time: a person
   resumes it), one completed, cancelled or past its `end_at` `campaign_ended`.
2. A `next_attempt_at` still ahead: the reason stored when it was set, because only the writer
   knows it: a redial (`redial_delay`, written with the settlement), the service's daily
   answered cap (`daily_cap`) or a debt_collection cap (`frequency_cap`, both at dial time), a
   request that never reached MTT (`send_retry`, seconds away). Redial and cap times are
   already window openings (the redial policy and the caps push them there), so stored times
   are reported as they are, with no window arithmetic per contact.
3. Otherwise it is due, and its calling window decides, in its own zone: the first opening is
   computed (campaigns.windows, the pacer's own rule) and is `campaign_scheduled` while the
   campaign waits for its `start_at`, `window_closed` when it lies ahead, `campaign_ended` when
   the window never opens before the end; with the window open, the contact waits for a free
   line (`concurrency`), which the pacer hands out within a tick or as calls end, unless MTT's
   balance is out (`balance_low`, campaigns.balance): the pacer then claims nothing.

Nothing of rule 3 is stored: it changes with the clock, and storing it would mean writing every
waiting contact each time a window opens or closes. It is cheap on read instead: for one
campaign at one instant it depends only on the contact's zone, so `WaitingReasons` computes each
zone once, and a page, or a million-row export, costs a dict lookup per contact.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import NamedTuple

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.contact_status import WAITING
from campaigns.policy import window_of
from campaigns.states import CampaignStatus, WaitingReason
from campaigns.tables import Campaign, Contact
from campaigns.windows import next_opening

__all__ = ["Waiting", "WaitingGroup", "WaitingReasons", "waiting_reason", "waiting_summary"]

R = WaitingReason
_WAITING_TEXTS = frozenset(status.value for status in WAITING)
_NO_TEXTS: tuple[str | None, str | None] = (None, None)
_REDIAL = WaitingReason.REDIAL_DELAY.value
_ENDED = frozenset({CampaignStatus.COMPLETED, CampaignStatus.CANCELLED})
_ISO = "%Y-%m-%dT%H:%M:%SZ"
"""The exports' time format (campaigns.exporter)."""


class Waiting(NamedTuple):
    reason: WaitingReason | None
    """None: the contact does not wait (it is being dialed, or done)."""
    next_attempt_at: datetime | None
    """UTC; None when unknown (paused, waiting for a line) or never."""


NOT_WAITING = Waiting(None, None)


class WaitingReasons:
    """The reasons of one campaign's contacts at one instant `now`."""

    def __init__(self, campaign: Campaign, now: datetime, *, balance_low: bool = False) -> None:
        """`balance_low`: the balance gate is closed at `now` (campaigns.balance)."""
        self._campaign = campaign
        self._now = now
        self._balance_low = balance_low
        self._now_iso = now.astimezone(UTC).strftime(_ISO)
        self._whole = _campaign_wide(campaign, now)
        self._whole_texts = None if self._whole is None else _text(self._whole)
        self._zones: dict[str, Waiting] = {}
        self._zone_texts: dict[str, tuple[str | None, str | None]] = {}

    def of(
        self,
        status: str,
        next_attempt_at: datetime | None,
        stored: str | None,
        timezone: str,
    ) -> Waiting:
        """A contact's reason from its columns."""
        ahead = next_attempt_at is not None and next_attempt_at > self._now
        found = self._decided(status, ahead, timezone)
        return Waiting(_stored(stored), next_attempt_at) if found is None else found

    def of_contact(self, contact: Contact) -> Waiting:
        return self.of(
            contact.status, contact.next_attempt_at, contact.waiting_reason, contact.timezone
        )

    def columns(
        self,
        statuses: Sequence[str],
        next_isos: Sequence[str | None],
        stored: Sequence[str | None],
        timezones: Sequence[str],
    ) -> tuple[list[str | None], list[str | None]]:
        """`of` for a chunk of an export, column by column, times as its ISO text
        (`2024-05-01T07:30:00Z`): one loop of plain strings and dict lookups, for a million
        rows."""
        reasons: list[str | None] = []
        times: list[str | None] = []
        whole, now, zones = self._whole_texts, self._now_iso, self._zone_texts
        for status, at, why, zone in zip(statuses, next_isos, stored, timezones, strict=True):
            if status not in _WAITING_TEXTS:
                found = _NO_TEXTS
            elif whole is not None:
                found = whole
            elif at is not None and at > now:
                found = (why or _REDIAL, at)
            else:
                found = zones.get(zone) or self._zone_texts_of(zone)
            reasons.append(found[0])
            times.append(found[1])
        return reasons, times

    def _zone_texts_of(self, zone: str) -> tuple[str | None, str | None]:
        texts = self._zone_texts[zone] = _text(self._by_zone(zone))
        return texts

    def _by_zone(self, zone: str) -> Waiting:
        found = self._zones.get(zone)
        if found is None:
            found = _by_window(self._campaign, zone, self._now)
            if found.reason is R.CONCURRENCY and self._balance_low:
                found = Waiting(R.BALANCE_LOW, None)
            self._zones[zone] = found
        return found

    def _decided(self, status: str, ahead: bool, timezone: str) -> Waiting | None:
        """The reason, or None when the stored one applies (a `next_attempt_at` ahead)."""
        if status not in WAITING:
            return NOT_WAITING
        if self._whole is not None:
            return self._whole
        return None if ahead else self._by_zone(timezone)


def waiting_reason(
    contact: Contact, campaign: Campaign, now: datetime, *, balance_low: bool = False
) -> Waiting:
    """Why `contact` of `campaign` is not being called at `now`, and when it will be."""
    return WaitingReasons(campaign, now, balance_low=balance_low).of_contact(contact)


@dataclass(frozen=True)
class WaitingGroup:
    reason: WaitingReason
    contacts: int
    next_attempt_at: datetime | None
    """The earliest of the group, when known."""


async def waiting_summary(
    session: AsyncSession, campaign: Campaign, now: datetime, *, balance_low: bool = False
) -> list[WaitingGroup]:
    """The campaign's waiting contacts counted by reason, most first: one grouped read (by
    status, zone, stored reason and whether the stored time is ahead), each group's reason
    decided as a contact's would be."""
    ahead = func.coalesce(Contact.next_attempt_at > now, False)
    rows = await session.execute(
        select(
            Contact.status,
            Contact.timezone,
            Contact.waiting_reason,
            ahead,
            func.count(),
            func.min(Contact.next_attempt_at),
        )
        .where(Contact.campaign_id == campaign.id, Contact.status.in_(WAITING))
        .group_by(Contact.status, Contact.timezone, Contact.waiting_reason, ahead)
    )
    reasons = WaitingReasons(campaign, now, balance_low=balance_low)
    counts: dict[WaitingReason, tuple[int, datetime | None]] = {}
    for status, zone, stored, later, count, earliest in rows.all():
        reason, at = reasons.of(status, earliest if later else None, stored, zone)
        if reason is None:
            continue
        total, first = counts.get(reason, (0, None))
        known = [time for time in (first, at) if time is not None]
        counts[reason] = (total + count, min(known) if known else None)
    groups = [WaitingGroup(reason, n, at) for reason, (n, at) in counts.items()]
    return sorted(groups, key=lambda group: (-group.contacts, group.reason))


def _campaign_wide(campaign: Campaign, now: datetime) -> Waiting | None:
    """The reason every waiting contact of the campaign shares, if its status decides."""
    status = campaign.status
    if status == CampaignStatus.DRAFT:
        return Waiting(R.NOT_STARTED, None)
    if status == CampaignStatus.PAUSED:
        return Waiting(R.CAMPAIGN_PAUSED, None)
    if status in _ENDED or (campaign.end_at is not None and campaign.end_at <= now):
        return Waiting(R.CAMPAIGN_ENDED, None)
    return None


def _by_window(campaign: Campaign, timezone: str, now: datetime) -> Waiting:
    """A due contact in `timezone`: its window's next opening decides."""
    opening = next_opening(
        window_of(campaign), timezone, now, start_at=campaign.start_at, end_at=campaign.end_at
    )
    if opening is None:
        return Waiting(R.CAMPAIGN_ENDED, None)
    if campaign.status == CampaignStatus.SCHEDULED:
        return Waiting(R.CAMPAIGN_SCHEDULED, opening)
    if opening > now:
        return Waiting(R.WINDOW_CLOSED, opening)
    return Waiting(R.CONCURRENCY, None)


def _stored(reason: str | None) -> WaitingReason:
    """A time ahead written without a reason (before reasons were stored) is a redial."""
    return R.REDIAL_DELAY if reason is None else WaitingReason(reason)


def _text(waiting: Waiting) -> tuple[str | None, str | None]:
    at = waiting.next_attempt_at
    reason = None if waiting.reason is None else waiting.reason.value
    return reason, None if at is None else at.astimezone(UTC).strftime(_ISO)
