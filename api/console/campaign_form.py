"""The new-campaign form: its fields, their defaults, and turning them into the campaign body
of the REST API (`CampaignSettings`), errors named by form field.

Validation is the contract's own (`campaigns.spec`): this module only maps form names to body
fields and back. Redial delays are shown and typed in minutes, stored in seconds; only
categories that differ from the defaults become overrides. Likewise the listening threshold:
the form shows the service's, and only another value becomes the campaign's own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError
from pydantic_core import ErrorDetails
from starlette.datastructures import FormData

from campaigns.spec import DEFAULT_TIMEZONE, CampaignSettings
from dialer.telecom.causes import Category
from dialer.telecom.dtmf import DtmfActionType
from dialer.telecom.redial import DEFAULT_RULES, MAX_DELAY_SECONDS, RedialPolicy
from dialer.telecom.voice import Emotion, Lang, Voice, VoiceName

__all__ = [
    "MINUTES",
    "MIN_LISTEN",
    "NOT_A_MOMENT",
    "REDIAL_SHOWN",
    "TIMEZONES",
    "FormValues",
    "defaults",
    "read_form",
]

REDIAL_SHOWN: Final = (
    Category.BUSY,
    Category.NO_ANSWER,
    Category.UNAVAILABLE,
    Category.HUNG_UP,
    Category.REJECTED,
    Category.NETWORK,
)
TIMEZONES: Final = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Novosibirsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
)
DTMF_ROWS: Final = 3
MIN_LISTEN: Final = RedialPolicy().min_listen_seconds
"""The service's threshold when the caller names none (DIALER_MIN_LISTEN_SECONDS' default)."""
NOT_A_MOMENT: Final = "{value} is not a date and time"
MINUTES: Final = "minutes, separated by commas"
MINUTES_RANGE: Final = "a delay is from 0 to {most} minutes, got {value}"
CHOICES: Final = {
    "langs": [lang.value for lang in Lang],
    "voices": [name.value for name in VoiceName],
    "emotions": [emotion.value for emotion in Emotion],
    "dtmf_actions": [action.value for action in DtmfActionType],
}


def _minutes(seconds: tuple[int, ...]) -> str:
    return ", ".join(f"{delay / 60:g}" for delay in seconds)


@dataclass
class FormValues:
    """What the form shows: the user's input, or the defaults."""

    values: dict[str, Any]
    dtmf: list[dict[str, str]]
    errors: dict[str, str | ErrorDetails] = field(default_factory=dict)
    """Form field → the form's own text, or pydantic's details (the page words them)."""


def defaults(zone: str = DEFAULT_TIMEZONE, min_listen: int = MIN_LISTEN) -> FormValues:
    """`zone`, `min_listen`: the service's DIALER_DEFAULT_TIMEZONE, DIALER_MIN_LISTEN_SECONDS."""
    voice = Voice()
    values: dict[str, Any] = {
        "name": "",
        "message": "",
        "voice_lang": voice.lang.value,
        "voice_name": voice.voice_name.value,
        "voice_emotion": voice.emotion.value,
        "voice_speed": f"{voice.speed:g}",
        "a_number": "",
        "timezone": zone,
        "start_at": "",
        "end_at": "",
        "workdays_from": "08:00",
        "workdays_to": "22:00",
        "weekends_from": "09:00",
        "weekends_to": "20:00",
        "holidays": True,
        "max_attempts": "3",
        "min_listen_seconds": str(min_listen),
        **{f"redial_{c.value}": _minutes(DEFAULT_RULES[c].delays) for c in REDIAL_SHOWN},
    }
    return FormValues(values, [{"digit": "", "action": "", "number": ""}] * DTMF_ROWS)


def _text(form: FormData, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


def read_form(
    form: FormData, zone: str = DEFAULT_TIMEZONE, min_listen: int = MIN_LISTEN
) -> tuple[FormValues, CampaignSettings | None]:
    """The form as shown back, and the settings when every field is valid; `zone` for a form
    that names none, `min_listen` the service's threshold (kept as the campaign's none)."""
    shown = defaults(zone, min_listen)
    for name in shown.values:
        shown.values[name] = _text(form, name)
    shown.values["timezone"] = shown.values["timezone"] or zone
    shown.values["holidays"] = form.get("holidays") is not None
    digits, actions, numbers = (
        form.getlist(f"dtmf_{part}") for part in ("digit", "action", "number")
    )
    rows = [
        {"digit": str(d).strip(), "action": str(a).strip(), "number": str(n).strip()}
        for d, a, n in zip(digits, actions, numbers, strict=False)
    ]
    shown.dtmf = rows or shown.dtmf
    errors = shown.errors
    body: dict[str, Any] = {
        "name": shown.values["name"],
        "message": shown.values["message"],
        "voice": {
            "lang": shown.values["voice_lang"],
            "voice_name": shown.values["voice_name"],
            "emotion": shown.values["voice_emotion"],
            "speed": shown.values["voice_speed"].replace(",", ".") or "1",
        },
        "a_number": shown.values["a_number"] or None,
        "dtmf": [
            {
                "digit": r["digit"],
                "action": r["action"],
                **({"number": r["number"]} if r["number"] else {}),
            }
            for r in rows
            if r["digit"] or r["action"] or r["number"]
        ],
        "schedule": {
            "timezone": shown.values["timezone"],
            "workdays": [shown.values["workdays_from"], shown.values["workdays_to"]],
            "weekends": [shown.values["weekends_from"], shown.values["weekends_to"]],
            "holidays": shown.values["holidays"],
            "start_at": _moment(shown.values, "start_at", errors),
            "end_at": _moment(shown.values, "end_at", errors),
        },
        "max_attempts": shown.values["max_attempts"] or "3",
        "redial": _redial(shown.values, errors),
        "min_listen_seconds": _own(shown.values["min_listen_seconds"], str(min_listen)),
    }
    try:
        settings = CampaignSettings.model_validate(body)
    except ValidationError as error:
        for problem in error.errors():
            errors.setdefault(_field(problem["loc"]), problem)
        return shown, None
    return shown, None if errors else settings


def _own(text: str, service: str) -> str | None:
    """The campaign's own value of a field the service defaults: None when left as the service's."""
    return None if text in ("", service) else text


def _moment(values: dict[str, Any], name: str, errors: dict[str, str | ErrorDetails]) -> str | None:
    """A `datetime-local` value read in the campaign's time zone, as ISO 8601 with offset."""
    text = values[name]
    if not text:
        return None
    try:
        zone = ZoneInfo(values["timezone"])
        return datetime.fromisoformat(text).replace(tzinfo=zone).isoformat()
    except (ValueError, ZoneInfoNotFoundError):
        errors[name] = NOT_A_MOMENT.format(value=repr(text))
        return None


_MOST: Final = MAX_DELAY_SECONDS // 60


def _redial(values: dict[str, Any], errors: dict[str, str | ErrorDetails]) -> dict[str, list[int]]:
    """Delays as the form asks for them, in minutes; checked in minutes too, so the page never
    quotes the API's seconds back to someone who typed minutes."""
    overrides: dict[str, list[int]] = {}
    for category in REDIAL_SHOWN:
        name = f"redial_{category.value}"
        parts = [part.strip() for part in values[name].replace(";", ",").split(",") if part.strip()]
        try:
            minutes = [float(part.replace(" ", "")) for part in parts]
        except ValueError:
            errors[name] = MINUTES
            continue
        wrong = [part for part, m in zip(parts, minutes, strict=True) if not 0 <= m <= _MOST]
        if wrong:
            errors[name] = MINUTES_RANGE.format(most=_MOST, value=wrong[0])
            continue
        delays = [round(m * 60) for m in minutes]
        if tuple(delays) != DEFAULT_RULES[category].delays:
            overrides[category.value] = delays
    return overrides


_FIELDS: Final = {
    ("voice", "lang"): "voice_lang",
    ("voice", "voice_name"): "voice_name",
    ("voice", "emotion"): "voice_emotion",
    ("voice", "speed"): "voice_speed",
    ("schedule", "timezone"): "timezone",
    ("schedule", "workdays"): "workdays_from",
    ("schedule", "weekends"): "weekends_from",
    ("schedule", "start_at"): "start_at",
    ("schedule", "end_at"): "end_at",
}


def _field(loc: tuple[int | str, ...]) -> str:
    """The form field a validation error's location points at."""
    head = tuple(str(part) for part in loc[:2])
    if head in _FIELDS:
        return _FIELDS[head]
    if loc and loc[0] == "voice":
        return "voice_lang"
    if loc and loc[0] == "schedule":
        return "end_at"
    if loc and loc[0] == "redial":
        return f"redial_{loc[1]}" if len(loc) > 1 else "redial_busy"
    return str(loc[0]) if loc else "name"
