"""New drafts from an existing campaign: its settings alone ("duplicate"), or with the contacts
it did not reach ("new campaign from the unreached", issue 13).

The contacts are copied by one INSERT … SELECT inside the caller's transaction: a million
rows never pass through Python, and the new draft exists with all of them or not at all.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Final

from sqlalchemy import exists, func, insert, literal, select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import store
from campaigns.db import ensure_writing
from campaigns.settings_rows import settings_of
from campaigns.states import ContactStatus, Outcome
from campaigns.tables import Campaign, Contact, Dnc

__all__ = ["UNREACHED", "CopyContacts", "copy_campaign"]

UNREACHED: Final = frozenset(
    {
        Outcome.BUSY,
        Outcome.NO_ANSWER,
        Outcome.UNAVAILABLE,
        Outcome.REJECTED,
        Outcome.NETWORK_ERROR,
        Outcome.UNKNOWN,
        Outcome.EXPIRED,
    }
)
"""Final outcomes of contacts nobody answered: the calls went unanswered, busy, unreachable,
refused or lost in the network, or the campaign ran out of time before reaching them.
Not among them: those who answered, invalid numbers, route errors, the do-not-call list,
requests MTT failed, contacts cancelled with their campaign."""
NAME_SUFFIX: Final = {"none": " (копия)", "unreached": " (недозвон)"}
"""Appended to the copy's name (marketers read it), cut to the column's 200 characters."""
_NAME_MAX: Final = 200


class CopyContacts(StrEnum):
    NONE = "none"
    UNREACHED = "unreached"


async def copy_campaign(
    session: AsyncSession, campaign_id: int, contacts: CopyContacts, *, now: datetime
) -> tuple[Campaign, int]:
    """A new draft with `campaign_id`'s settings and, with UNREACHED, its contacts whose
    final outcome is in UNREACHED (those on the do-not-call list now left out), fresh:
    pending, never called. Returns the draft and how many contacts it got."""
    ensure_writing(session)
    source = await store.get(session, campaign_id)
    settings = settings_of(source)
    name = (settings.name + NAME_SUFFIX[contacts])[:_NAME_MAX]
    copy = await store.create(session, settings.model_copy(update={"name": name}), now=now)
    copy.var_columns = list(source.var_columns)
    if contacts is CopyContacts.NONE:
        await session.flush()
        return copy, 0
    listed = exists().where(Dnc.phone == Contact.phone)
    chosen = select(
        literal(copy.id),
        Contact.phone,
        Contact.line,
        Contact.vars,
        Contact.timezone,
        Contact.text,
        Contact.voice,
        literal(ContactStatus.PENDING.value),
        *(literal(0) for _ in range(4)),
        literal(""),
        literal(""),
    ).where(
        Contact.campaign_id == campaign_id,
        Contact.outcome.in_(sorted(outcome.value for outcome in UNREACHED)),
        ~listed,
    )
    columns = (
        "campaign_id",
        "phone",
        "line",
        "vars",
        "timezone",
        "text",
        "voice",
        "status",
        "attempts",
        "network_attempts",
        "listened_seconds",
        "transfer_seconds",
        "history",
        "dtmf",
    )
    await session.execute(insert(Contact).from_select(columns, chosen))
    copied = await session.scalar(select(func.count()).where(Contact.campaign_id == copy.id))
    return copy, copied or 0
