"""The pacer's database work (docs/design.md §5.1): which contacts are due, and claiming them.

A claim moves a contact to `dialing` and inserts its attempt `claimed` in one transaction; the
contact update is a compare-and-set on its waiting status, so a contact cancelled or claimed by
another pacer in the meantime is skipped rather than dialed twice. Reads go through
`ix_contact_due` (campaign, status, next attempt) with a LIMIT: a tick never reads a campaign's
whole contact list.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, delete, func, insert, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.contact_status import WAITING, claim_waiting, unclaim
from campaigns.db import ensure_writing
from campaigns.policy import window_of
from campaigns.states import AttemptState, CampaignStatus, ContactStatus
from campaigns.tables import Attempt, Campaign, Contact
from campaigns.windows import is_open

__all__ = [
    "Claim",
    "Due",
    "claim",
    "contact_zones",
    "due_contacts",
    "open_zones",
    "pacing_campaigns",
    "release_claims",
    "unsent",
]


@dataclass(frozen=True)
class Due:
    contact_id: int
    campaign_id: int
    phone: str
    status: str
    """The waiting status it was read in, restored if the claim is given back."""


@dataclass(frozen=True)
class Claim:
    attempt_id: int
    contact_id: int
    campaign_id: int


async def pacing_campaigns(session: AsyncSession, now: datetime) -> list[Campaign]:
    """Running campaigns that have not reached their end."""
    rows = await session.execute(
        select(Campaign)
        .where(
            Campaign.status == CampaignStatus.RUNNING,
            or_(Campaign.end_at.is_(None), Campaign.end_at > now),
        )
        .order_by(Campaign.id)
    )
    return list(rows.scalars())


async def contact_zones(session: AsyncSession, campaign_id: int) -> list[str]:
    """The time zones of the campaign's waiting contacts."""
    rows = await session.execute(
        select(Contact.timezone)
        .where(Contact.campaign_id == campaign_id, Contact.status.in_(WAITING))
        .distinct()
    )
    return sorted(rows.scalars())


def open_zones(campaign: Campaign, zones: Collection[str], now: datetime) -> list[str]:
    """Those of `zones` where the campaign's calling window is open at `now`."""
    window = window_of(campaign)
    return sorted(zone for zone in zones if is_open(window, zone, now))


async def unsent(session: AsyncSession) -> int:
    """Attempts claimed but not yet sent: the backlog waiting for the CPS limiter."""
    count = await session.execute(
        select(func.count())
        .select_from(Attempt)
        .where(
            or_(
                Attempt.state == AttemptState.CLAIMED,
                and_(Attempt.state == AttemptState.SENDING, Attempt.sent_at.is_(None)),
            )
        )
    )
    return int(count.scalar_one())


async def due_contacts(
    session: AsyncSession, campaign_id: int, zones: Sequence[str], now: datetime, limit: int
) -> list[Due]:
    """Up to `limit` contacts to call now: redials whose time has come first (oldest first),
    then contacts never tried; only those in `zones`."""
    if limit <= 0 or not zones:
        return []
    found: list[Due] = []
    for status in (ContactStatus.SCHEDULED, ContactStatus.PENDING):
        rows = await session.execute(
            select(Contact.id, Contact.phone)
            .where(
                Contact.campaign_id == campaign_id,
                Contact.status == status,
                _due(now),
                Contact.timezone.in_(zones),
            )
            .order_by(Contact.next_attempt_at)
            .limit(limit - len(found))
        )
        found.extend(Due(cid, campaign_id, phone, status.value) for cid, phone in rows.all())
        if len(found) >= limit:
            break
    return found


def _due(now: datetime) -> ColumnElement[bool]:
    return or_(Contact.next_attempt_at.is_(None), Contact.next_attempt_at <= now)


async def claim(session: AsyncSession, due: Sequence[Due], now: datetime) -> list[Claim]:
    """Contacts → dialing and one `claimed` attempt each, for those still waiting; the rest
    (claimed, cancelled or rescheduled meanwhile) are skipped."""
    ensure_writing(session)
    if not due:
        return []
    by_id = {d.contact_id: d for d in due}
    taken = await session.execute(claim_waiting(list(by_id), _due(now)))
    ids = sorted(taken.scalars())
    if not ids:
        return []
    rows = [
        {
            "contact_id": cid,
            "campaign_id": by_id[cid].campaign_id,
            "phone": by_id[cid].phone,
            "state": AttemptState.CLAIMED.value,
            "claimed_at": now,
        }
        for cid in ids
    ]
    inserted = await session.execute(
        insert(Attempt).returning(
            Attempt.id, Attempt.contact_id, Attempt.campaign_id, sort_by_parameter_order=True
        ),
        rows,
    )
    return [Claim(aid, cid, camp) for aid, cid, camp in inserted.all()]


async def release_claims(
    session: AsyncSession, claims: Sequence[Claim], statuses: Mapping[int, str]
) -> None:
    """Give back claims that got no concurrency lease: nothing was sent, so the attempts are
    deleted and the contacts return to the status they were claimed from."""
    ensure_writing(session)
    if not claims:
        return
    await session.execute(
        delete(Attempt).where(
            Attempt.id.in_([c.attempt_id for c in claims]),
            Attempt.state == AttemptState.CLAIMED,
        )
    )
    for status in {statuses[c.contact_id] for c in claims}:
        ids = [c.contact_id for c in claims if statuses[c.contact_id] == status]
        await session.execute(unclaim(ids, status))
