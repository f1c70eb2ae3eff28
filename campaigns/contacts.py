"""Reading contacts: one by id, a campaign's by status and outcome a page at a time, the one
contact of a single CRM call, and one contact's history (its attempts and their webhook
events, conflicts among them)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final, TypeVar

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from campaigns.errors import NO_CAMPAIGN, Invalid, NotFound
from campaigns.paging import DEFAULT_LIMIT, Page, check_limit, decode_cursor, make_page
from campaigns.states import CampaignKind, ContactStatus, Outcome
from campaigns.tables import Attempt, Campaign, Contact, Event

__all__ = [
    "NO_CONTACT",
    "NO_DIGITS",
    "ContactHistory",
    "after_prefix",
    "call_contact",
    "contact_history",
    "get_contact",
    "list_contacts",
    "number_condition",
    "number_digits",
    "number_prefix",
]

NATIONAL_DIGITS = 10
# The refusals, formatted from these templates (the console recognises them by them).
NO_CONTACT: Final = "contact {id} does not exist"
NO_DIGITS: Final = "no digits to search for in {value}"
"""Digits of a Russian number without its country code."""
PREFIX_DIGITS = 4
"""Digits from which a search typed as a whole number's start is a prefix search."""

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
        raise NotFound(NO_CONTACT.format(id=contact_id))
    return contact


async def list_contacts(
    session: AsyncSession,
    campaign_id: int,
    *,
    status: str | None = None,
    outcome: str | None = None,
    number: str | None = None,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page[Contact]:
    """The campaign's contacts in id order, optionally only those of a status and/or outcome.

    With `number`, only those `number_condition` matches, in phone order: the search walks
    the (campaign_id, phone) index, a range of it for the start of a number."""
    query = select(Contact).where(Contact.campaign_id == campaign_id).limit(check_limit(limit) + 1)
    if number is not None:
        query = query.where(number_condition(Contact.phone, number))
        query = query.order_by(Contact.phone)
        after_phone = decode_cursor(cursor, str)
        if after_phone is not None:
            query = query.where(Contact.phone > after_phone)
    else:
        query = query.order_by(Contact.id)
        after = decode_cursor(cursor, int)
        if after is not None:
            query = query.where(Contact.id > after)
    if status is not None:
        query = query.where(Contact.status == _member(ContactStatus, "status", status))
    if outcome is not None:
        query = query.where(Contact.outcome == _member(Outcome, "outcome", outcome))
    if await session.get(Campaign, campaign_id) is None:
        raise NotFound(NO_CAMPAIGN.format(id=campaign_id))
    rows = (await session.execute(query)).scalars().all()
    if number is not None:
        return make_page(rows, limit, lambda contact: contact.phone)
    return make_page(rows, limit, lambda contact: contact.id)


def number_condition(
    column: InstrumentedAttribute[str], query: str, *, field: str = "number"
) -> ColumnElement[bool]:
    """What a number search means for a column of stored 11-digit phones. Typed as the start
    of a whole number (+7…, 7… or 8…, four digits or more) it is a prefix (`number_prefix`),
    an index range; otherwise the digits anywhere in it (`number_digits`), a scan."""
    digits = _digits(query, field)
    if len(digits) >= PREFIX_DIGITS and query.lstrip()[:1] in ("+", "7", "8"):
        start = number_prefix(query, field=field)
        beyond = after_prefix(start)
        condition = column >= start
        return condition if beyond is None else and_(condition, column < beyond)
    return column.contains(number_digits(query, field=field), autoescape=True)


def after_prefix(digits: str) -> str | None:
    """The least digit string above every string starting with `digits` (None for 9…9): a
    range bound any collation orders like the digits, unlike LIKE, which SQLite's index
    does not serve."""
    kept = digits.rstrip("9")
    return kept[:-1] + str(int(kept[-1]) + 1) if kept else None


def number_digits(query: str, *, field: str = "number") -> str:
    """The digits a number search looks for in the stored 11-digit phones: any notation's
    separators dropped, and a whole number written with the trunk prefix 8 (or 10 digits
    without it) in its stored 7… form. Invalid(field) when no digit is left."""
    digits = _digits(query, field)
    if len(digits) == NATIONAL_DIGITS + 1 and digits.startswith("8"):
        return "7" + digits[1:]
    if len(digits) == NATIONAL_DIGITS and digits.startswith("9"):
        return "7" + digits
    return digits


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


def number_prefix(query: str, *, field: str = "prefix") -> str:
    """The start of the stored 11-digit phones a prefix search means: the digits typed, the
    trunk prefix 8 read as the country code 7, and a national start (9…, 4…) given it."""
    digits = _digits(query, field)
    if digits.startswith("7"):
        return digits
    return "7" + (digits[1:] if digits.startswith("8") else digits)


def _digits(query: str, field: str) -> str:
    digits = "".join(char for char in query if char.isascii() and char.isdigit())
    if not digits:
        raise Invalid(field, NO_DIGITS.format(value=repr(query)))
    return digits
