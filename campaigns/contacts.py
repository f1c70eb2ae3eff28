"""Reading contacts: one by id, a campaign's by status and outcome a page at a time, the one
contact of a single CRM call."""

from __future__ import annotations

from enum import StrEnum
from typing import TypeVar

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns.errors import Invalid, NotFound
from campaigns.paging import DEFAULT_LIMIT, Page, check_limit, decode_cursor, make_page
from campaigns.states import CampaignKind, ContactStatus, Outcome
from campaigns.tables import Campaign, Contact

__all__ = ["call_contact", "get_contact", "list_contacts"]

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
