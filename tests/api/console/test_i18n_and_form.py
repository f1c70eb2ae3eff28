"""Pure parts of the console: choosing the language, the catalogues, reading the form."""

from __future__ import annotations

import json
from pathlib import Path
from string import Formatter

import pytest
from starlette.datastructures import FormData, UploadFile

from api.console.campaign_form import defaults, read_form
from api.console.i18n import Translator, pick_language

LOCALES = Path(__file__).resolve().parents[3] / "api" / "console" / "locales"


@pytest.mark.parametrize(
    ("cookie", "header", "chosen"),
    [
        (None, None, "ru"),
        (None, "en-US,en;q=0.9", "en"),
        (None, "de-DE,en;q=0.5,ru;q=0.8", "ru"),
        (None, "de-DE", "ru"),
        (None, "en;q=0", "ru"),
        ("en", "ru-RU", "en"),
        ("fr", "en", "en"),
    ],
)
def test_language(cookie: str | None, header: str | None, chosen: str) -> None:
    assert pick_language(cookie, header) == chosen


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in Formatter().parse(text) if name is not None}


def test_both_catalogues_have_the_same_keys_and_fields() -> None:
    ru = json.loads((LOCALES / "ru.json").read_text(encoding="utf-8"))
    en = json.loads((LOCALES / "en.json").read_text(encoding="utf-8"))
    assert set(ru) == set(en)
    for key in ru:
        if key.startswith("domain."):  # Russian may leave out a domain text's technical path
            assert _fields(ru[key]) <= _fields(en[key]), key
        else:
            assert _fields(ru[key]) == _fields(en[key]), key
    assert Translator("en")("list.done_of", done=3, total=10) == "3 of 10"


def _form(**fields: str | list[str]) -> FormData:
    values: dict[str, str | list[str]] = {
        k: v for k, v in defaults().values.items() if isinstance(v, str)
    }
    values |= {"name": "Заказы", "message": "Привет, {name}!", "holidays": "on"}
    values |= fields
    items: list[tuple[str, str | UploadFile]] = []
    for name, value in values.items():
        items += [(name, item) for item in value] if isinstance(value, list) else [(name, value)]
    return FormData(items)


def test_the_defaults_make_valid_settings_without_overrides() -> None:
    shown, settings = read_form(_form())

    assert shown.errors == {}
    assert settings is not None
    assert settings.redial == {}
    assert settings.schedule.holidays is True
    assert len(settings.dtmf) == 0


def test_minutes_become_seconds_and_dtmf_rows_the_menu() -> None:
    _, settings = read_form(
        _form(
            redial_busy="5, 30",
            dtmf_digit=["1", "3", ""],
            dtmf_action=["notify", "transfer", ""],
            dtmf_number=["", "8 499 709-01-11", ""],
            start_at="2026-12-07T10:00",
        )
    )

    assert settings is not None
    assert settings.redial == {"busy": [300, 1800]}
    assert [(a.digit, a.action.value, a.number) for a in settings.dtmf] == [
        (1, "notify", None),
        (3, "transfer", "74997090111"),
    ]
    assert settings.schedule.start_at is not None
    assert settings.schedule.start_at.isoformat() == "2026-12-07T10:00:00+03:00"


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"name": ""}, "name"),
        ({"message": "Привет {"}, "message"),
        ({"voice_speed": "9"}, "voice_speed"),
        ({"redial_no_answer": "скоро"}, "redial_no_answer"),
        ({"dtmf_digit": ["3"], "dtmf_action": ["transfer"], "dtmf_number": [""]}, "dtmf"),
        ({"workdays_from": "25:00"}, "workdays_from"),
        ({"start_at": "вчера"}, "start_at"),
        ({"start_at": "2026-12-07T10:00", "end_at": "2026-12-07T09:00"}, "end_at"),
        ({"max_attempts": "0"}, "max_attempts"),
    ],
)
def test_each_bad_field_is_named(fields: dict[str, str | list[str]], field: str) -> None:
    shown, settings = read_form(_form(**fields))

    assert settings is None
    assert field in shown.errors
