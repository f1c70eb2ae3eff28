"""Small factories for the rows tests need; each test states only what matters to it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from campaigns.tables import Campaign, Contact

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
