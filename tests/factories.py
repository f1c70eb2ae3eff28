"""Small factories for the rows tests need; each test states only what matters to it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.db import write_transaction
from campaigns.tables import Attempt, Campaign, Contact

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
"""A Wednesday, 12:00 in Moscow: inside the default calling window."""


def make_campaign(**fields: Any) -> Campaign:
    values: dict[str, Any] = {
        "name": "Order ready",
        "kind": "campaign",
        "status": "running",
        "message": "Здравствуйте, {name}! Ваш заказ готов.",
        "voice": {},
        "dtmf": [],
        "window": {"workdays": ["00:00", "24:00"], "weekends": ["00:00", "24:00"]},
        "timezone": "Europe/Moscow",
        "max_attempts": 3,
        "max_concurrent": 10,
        "priority": 1,
        "redial": {},
        "created_at": T0,
        "updated_at": T0,
    }
    values.update(fields)
    return Campaign(**values)


def make_contact(**fields: Any) -> Contact:
    values: dict[str, Any] = {
        "phone": "79101234567",
        "vars": {"name": "Анна"},
        "timezone": "Europe/Moscow",
        "status": "dialing",
        "attempts": 0,
        "network_attempts": 0,
        "history": "",
        "listened_seconds": 0,
        "dtmf": "",
        "transfer_seconds": 0,
    }
    values.update(fields)
    return Contact(**values)


def make_attempt(**fields: Any) -> Attempt:
    """An attempt MTT accepted (so its events are awaited); give contact_id and campaign_id."""
    values: dict[str, Any] = {
        "phone": "79101234567",
        "state": "accepted",
        "call_id": None,
        "claimed_at": T0,
        "sent_at": T0,
        "responded_at": T0,
        "dtmf": "",
        "transfer_seconds": 0,
    }
    values.update(fields)
    return Attempt(**values)


async def insert_call(
    sessions: async_sessionmaker[AsyncSession],
    *,
    campaign: dict[str, Any] | None = None,
    contact: dict[str, Any] | None = None,
    **attempt: Any,
) -> Attempt:
    """A campaign, one contact dialing and its attempt, stored; the attempt (ids filled)."""
    async with write_transaction(sessions) as session:
        row = make_campaign(**(campaign or {}))
        session.add(row)
        await session.flush()
        person = make_contact(campaign_id=row.id, **(contact or {}))
        session.add(person)
        await session.flush()
        call = make_attempt(contact_id=person.id, campaign_id=row.id, phone=person.phone, **attempt)
        session.add(call)
        await session.flush()
        return call


def campaign_body(**fields: Any) -> dict[str, Any]:
    """A valid `POST /v1/campaigns` body (docs/design.md §9's example); fields override."""
    body: dict[str, Any] = {
        "name": "Order ready",
        "message": "Здравствуйте, {name}! Ваш заказ {order} готов к выдаче.",
        "voice": {"lang": "ru-RU", "voice_name": "oksana", "emotion": "neutral", "speed": 1.0},
        "a_number": "74950000000",
        "dtmf": [
            {"digit": 1, "action": "notify"},
            {"digit": 3, "action": "transfer", "number": "74997090111"},
            {"digit": 9, "action": "opt_out"},
        ],
        "schedule": {
            "timezone": "Europe/Moscow",
            "workdays": ["08:00", "22:00"],
            "weekends": ["09:00", "20:00"],
            "holidays": True,
            "start_at": None,
            "end_at": None,
        },
        "max_attempts": 3,
        "max_concurrent": 10,
        "priority": 1,
        "redial": {"busy": [900, 3600], "no_answer": [7200, 86400]},
        "crm_callback_url": None,
    }
    return body | fields
