"""Reading contacts: one by id, a campaign's by status and outcome a page at a time, the one
contact of a single CRM call, and one contact's history (its attempts and their webhook
events, conflicts among them)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.errors import Invalid, NotFound
from campaigns.paging import DEFAULT_LIMIT, Page, check_limit, decode_cursor, make_page
from campaigns.states import CampaignKind, ContactStatus, Outcome
from campaigns.tables import Attempt, Campaign, Contact, Event

__all__ = ["ContactHistory", "call_contact", "contact_history", "get_contact", "list_contacts"]

E = TypeVar("E", bound=StrEnum)


def _member(enum: type[E], field: str, value: str) -> E:
    try:
        return enum(value)
    except ValueError:
        choices = ", ".join(member.value for member in enum)
        raise Invalid(field, f"unknown value {value!r}; one of {choices}") from None


async def has_any(session: AsyncSession, campaign_id: int) -> bool:
    first = select(Contact.id).where(Contact.campaign_id == campaign_id).limit(1)
    return await session.scalar(first) is not None


async def get_contact(session: AsyncSession, contact_id: int) -> Contact:
    contact = await session.get(Contact, contact_id)
    if contact is None:
        raise NotFound(f"contact {contact_id} does not exist")
    return contact


async def list_contacts(
    session: AsyncSession,
    campaign_id: int,
    *,
    status: str | None = None,
    outcome: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Contact]:
    """The campaign's contacts in id order, optionally only those of a status and/or outcome."""
    query = (
        select(Contact)
        .where(Contact.campaign_id == campaign_id)
        .order_by(Contact.id)
        .limit(check_limit(limit) + 1)
    )
    if status is not None:
        query = query.where(Contact.status == _member(ContactStatus, "status", status))
    if outcome is not None:
        query = query.where(Contact.outcome == _member(Outcome, "outcome", outcome))
    after = decode_cursor(cursor, int)
    if after is not None:
        query = query.where(Contact.id > after)
    if await session.get(Campaign, campaign_id) is None:
        raise NotFound(f"campaign {campaign_id} does not exist")
    rows = (await session.execute(query)).scalars().all()
    return make_page(rows, limit, lambda contact: contact.id)


async def call_contact(session: AsyncSession, call_id: int) -> Contact:
    """The contact of a single call (`POST /v1/calls`: a one-contact campaign of kind call)."""
    query = (
        select(Contact)
        .join(Campaign, Campaign.id == Contact.campaign_id)
        .where(Campaign.id == call_id, Campaign.kind == CampaignKind.CALL)
        .order_by(Contact.id)
        .limit(1)
    )
    contact = (await session.execute(query)).scalar_one_or_none()
    if contact is None:
        raise NotFound(f"call {call_id} does not exist")
    return contact


@dataclass(frozen=True)
class ContactHistory:
    contact: Contact
    attempts: list[Attempt]
    """Oldest first."""
    events: dict[int, list[Event]]
    """Each attempt's webhook events in arrival order, by attempt id (also those not applied)."""


async def contact_history(
    session: AsyncSession, campaign_id: int, contact_id: int
) -> ContactHistory:
    """A campaign's contact with every attempt and every webhook event stored for them."""
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.campaign_id != campaign_id:
        raise NotFound(f"contact {contact_id} does not exist in campaign {campaign_id}")
    attempts = list(
        (
            await session.scalars(
                select(Attempt).where(Attempt.contact_id == contact_id).order_by(Attempt.id)
            )
        ).all()
    )
    events: dict[int, list[Event]] = {attempt.id: [] for attempt in attempts}
    if attempts:
        stored = await session.scalars(
            select(Event).where(Event.attempt_id.in_(list(events))).order_by(Event.id)
        )
        for event in stored:
            if event.attempt_id is not None:
                events[event.attempt_id].append(event)
    return ContactHistory(contact, attempts, events)
