"""Single CRM calls (`POST /v1/calls`): a one-contact campaign of kind `call`, started at once.

The contact goes through the importer's row checks (number, template variables, timezone),
so a call is refused for exactly the reasons a file row would be. An `Idempotency-Key` is
stored as the campaign's `idempotency_key`: the same key answers the call it made the first
time, and never creates a second one; the key with another request is a Conflict.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import pandas as pd
from pydantic import Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from campaigns import callbacks, dnc, store
from campaigns.contact_status import finish
from campaigns.contacts import call_contact
from campaigns.errors import Conflict, Invalid
from campaigns.importer import ImportRefused, Zoning, check_rows, contacts_frame
from campaigns.places import place_ids
from campaigns.rowchecks import Checked
from campaigns.spec import CampaignSettings, Name, PhoneIn, check_a_number
from campaigns.states import CampaignKind, ContactStatus, Outcome
from campaigns.tables import Attempt, Campaign, Contact
from campaigns.waiting import Waiting, waiting_reason

__all__ = ["CallCreated", "CallSpec", "CallView", "check_key", "create_call", "get_call"]

MAX_KEY_CHARS = 200


class CallSpec(CampaignSettings):
    """The body of `POST /v1/calls`: the campaign fields (a name is optional) and one contact."""

    name: Name = "single call"
    phone: PhoneIn
    vars: dict[str, str | int | float | bool | None] = Field(default_factory=dict)
    """Template variables of the message."""
    timezone: str | None = None
    """The callee's IANA zone for the calling window; derived from the number when unset."""

    def settings(self) -> CampaignSettings:
        return CampaignSettings.model_validate(
            {name: getattr(self, name) for name in CampaignSettings.model_fields}
        )


@dataclass(frozen=True)
class CallCreated:
    campaign: Campaign
    contact: Contact
    created: bool
    """False: the Idempotency-Key named a call made before."""
    callbacks: list[int]
    """CRM callbacks recorded (a number on the do-not-call list is settled at once)."""


@dataclass(frozen=True)
class CallView:
    campaign: Campaign
    contact: Contact
    attempts: list[Attempt]
    waiting: Waiting
    """Why it is not being called at the time of reading, and when it will be."""


def _row(spec: CallSpec, zoning: Zoning | None) -> tuple[dict[str, Any], Checked]:
    """The contact as the importer checks it, and the check; Invalid naming the field at fault."""
    given: dict[str, Any] = {"phone": spec.phone, "vars": spec.vars}
    if spec.timezone is not None:
        given["timezone"] = spec.timezone
    try:
        checked = check_rows(
            contacts_frame([given]),
            message=spec.message,
            default_timezone=spec.schedule.timezone,
            phone_column="phone",
            zoning=zoning,
        )
    except ImportRefused as refused:
        raise Invalid("vars", refused.message) from None
    if checked.rejected:
        problem = checked.rejected[0]
        field = problem.column if problem.column in ("phone", "timezone") else "vars"
        if field == "vars":
            field = f"vars.{problem.column}"
        raise Invalid(field, f"{problem.value!r}: {problem.reason}")
    row = checked.contacts.iloc[0]
    return {
        "phone": row["phone"],
        "line": 1,
        "vars": json.loads(row["vars"]),
        "timezone": row["timezone"],
    }, checked


def check_key(key: str | None) -> str | None:
    if key is not None and not 1 <= len(key) <= MAX_KEY_CHARS:
        raise Invalid("Idempotency-Key", f"must be 1 to {MAX_KEY_CHARS} characters")
    return key


async def create_call(
    session: AsyncSession,
    spec: CallSpec,
    *,
    key: str | None,
    now: datetime,
    default_a_number: str | None,
    zoning: Zoning | None = None,
) -> CallCreated:
    """Create and start the call (inside `write_transaction`), or find the one `key` made."""
    settings = spec.settings()
    check_a_number(settings, default_a_number)
    row, checked = _row(spec, zoning)
    if check_key(key) is None:
        campaign = await store.create(session, settings, now=now, kind=CampaignKind.CALL)
        created = True
    else:
        campaign, created = await store.create_once(
            session, settings, key=str(key), now=now, kind=CampaignKind.CALL
        )
    if not created:
        contact = await call_contact(session, campaign.id)
        if (contact.phone, contact.vars) != (row["phone"], row["vars"]):
            raise Conflict(
                f"Idempotency-Key {key!r} was used for another request",
                details={"id": campaign.id},
            )
        return CallCreated(campaign, contact, created=False, callbacks=[])
    codes = checked.contacts["place"].to_numpy()
    place = (await place_ids(await session.connection(), codes, checked.places))[0]
    row["place_id"] = None if place is pd.NA else int(place)
    contact = Contact(campaign_id=campaign.id, status=ContactStatus.PENDING, **row)
    session.add(contact)
    await session.flush()
    recorded: list[int] = []
    if await dnc.check(session, contact.phone) is not None:
        finish(contact, Outcome.DNC)
        await session.flush()
        recorded = await session.run_sync(callbacks.record_outcomes, [contact.id], now=now)
    await store.start(session, campaign.id, now=now)
    return CallCreated(campaign, contact, created=True, callbacks=recorded)


async def get_call(
    session: AsyncSession, call_id: int, *, now: datetime, balance_low: bool = False
) -> CallView:
    contact = await call_contact(session, call_id)
    campaign = await store.get(session, call_id)
    found = await session.scalars(
        select(Attempt).where(Attempt.contact_id == contact.id).order_by(Attempt.id)
    )
    waiting = waiting_reason(contact, campaign, now, balance_low=balance_low)
    return CallView(campaign, contact, list(found.all()), waiting)
