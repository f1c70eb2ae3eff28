from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr, ValidationError

from campaigns.errors import Invalid
from campaigns.settings_rows import row_values, settings_of
from campaigns.spec import (
    CampaignPatch,
    CampaignSettings,
    CampaignSpec,
    Schedule,
    check_a_number,
    invalid,
    merge,
)
from campaigns.tables import Campaign
from dialer.telecom.dtmf import DtmfActionType
from dialer.telecom.voice import Emotion, Lang, VoiceName
from tests.factories import campaign_body

START = datetime(2026, 3, 2, 6, 0, tzinfo=UTC)


def body(**overrides: Any) -> dict[str, Any]:
    """The campaign body of docs/design.md §9, with its inline contact."""
    contact = {"phone": "+7 910 123-45-67", "vars": {"name": "Анна", "order": "A-17"}}
    return campaign_body(**({"contacts": [contact]} | overrides))


def settings(**overrides: Any) -> CampaignSettings:
    values = body(**overrides)
    del values["contacts"]
    return CampaignSettings.model_validate(values)


def stored(value: CampaignSettings) -> Campaign:
    """The row `value` would be stored as (not in a database)."""
    return Campaign(**row_values(value))


def error_locs(error: ValidationError) -> list[tuple[str | int, ...]]:
    return [tuple(problem["loc"]) for problem in error.errors()]


def test_the_design_example_body() -> None:
    spec = CampaignSpec.model_validate(body())

    assert spec.voice.voice_name is VoiceName.OKSANA
    assert [(a.digit, a.action, a.number) for a in spec.dtmf] == [
        (1, DtmfActionType.NOTIFY, None),
        (3, DtmfActionType.TRANSFER, "74997090111"),
        (9, DtmfActionType.OPT_OUT, None),
    ]
    assert spec.schedule == Schedule()
    assert spec.redial == {"busy": [900, 3600], "no_answer": [7200, 86400]}
    assert spec.contact_rows() == [
        {"phone": "+7 910 123-45-67", "vars": {"name": "Анна", "order": "A-17"}}
    ]


def test_defaults_of_a_minimal_body() -> None:
    value = CampaignSettings.model_validate({"name": "n", "message": "m"})

    assert (value.voice.lang, value.voice.voice_name, value.voice.emotion, value.voice.speed) == (
        Lang.RU_RU,
        VoiceName.ERKANYAVAS,
        Emotion.NEUTRAL,
        1.0,
    )
    assert (value.a_number, len(value.dtmf), value.redial) == (None, 0, {})
    assert value.schedule.model_dump() == {
        "timezone": "Europe/Moscow",
        "workdays": ("08:00", "22:00"),
        "weekends": ("09:00", "20:00"),
        "holidays": True,
        "start_at": None,
        "end_at": None,
    }
    assert (value.max_attempts, value.max_concurrent, value.priority) == (3, 10, 1)


@pytest.mark.parametrize(
    ("overrides", "loc"),
    [
        ({"name": "  "}, ("name",)),
        ({"message": ""}, ("message",)),
        ({"message": "Hello {name"}, ("message",)),
        ({"a_number": "12345"}, ("a_number",)),
        (
            {"dtmf": [{"digit": 1, "action": "notify"}, {"digit": 1, "action": "opt_out"}]},
            ("dtmf",),
        ),
        ({"dtmf": [{"digit": 3, "action": "transfer"}]}, ("dtmf", 0)),
        ({"voice": {"speed": 9}}, ("voice", "speed")),
        ({"voice": {"lang": "tr-TR"}, "dtmf": []}, ("voice",)),
        ({"schedule": {"workdays": ["22:00", "08:00"]}}, ("schedule", "workdays")),
        ({"schedule": {"weekends": ["09:00"]}}, ("schedule", "weekends")),
        ({"schedule": {"timezone": "Mars/Olympus"}}, ("schedule", "timezone")),
        ({"schedule": {"start_at": "2026-03-02T09:00:00"}}, ("schedule", "start_at")),
        (
            {"schedule": {"start_at": START.isoformat(), "end_at": START.isoformat()}},
            ("schedule",),
        ),
        ({"schedule": {"holiday": False}}, ("schedule", "holiday")),
        ({"max_attempts": 0}, ("max_attempts",)),
        ({"max_concurrent": 0}, ("max_concurrent",)),
        ({"priority": 101}, ("priority",)),
        ({"max_attempts": True}, ("max_attempts",)),
        ({"max_concurrent": True}, ("max_concurrent",)),
        ({"priority": True}, ("priority",)),
        ({"min_listen_seconds": False}, ("min_listen_seconds",)),
        ({"redial": {"bogus": [60]}}, ("redial",)),
        ({"redial": {"listened": [60]}}, ("redial",)),
        ({"redial": {"busy": [-1]}}, ("redial",)),
        ({"crm_callback_url": "ftp://crm.example/x"}, ("crm_callback_url",)),
        ({"max_atempts": 5}, ("max_atempts",)),
        ({"contacts": [{"phone": "79101234567", "name": "x"}]}, ("contacts", 0, "name")),
        ({"contacts": [{"vars": {}}]}, ("contacts", 0, "phone")),
        (
            {"contacts": [{"phone": "79101234567", "voice": {"lang": "en-US"}}]},
            ("contacts", 0, "voice", "lang"),
        ),
    ],
)
def test_errors_name_the_field(overrides: dict[str, Any], loc: tuple[str | int, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        CampaignSpec.model_validate(body(**overrides))
    assert error_locs(caught.value)[0] == loc


@pytest.mark.parametrize(
    ("given_", "expected"),
    [("8 (495) 000-00-00", "74950000000"), (" +7 495 000 00 01 ", "74950000001"), (None, None)],
)
def test_a_number_is_normalised(given_: str | None, expected: str | None) -> None:
    assert settings(a_number=given_, dtmf=[]).a_number == expected


def test_spans_are_normalised() -> None:
    value = settings(schedule={"workdays": ["8:00", "24:00"], "weekends": [" 9:05", "20:00"]})
    assert (value.schedule.workdays, value.schedule.weekends) == (
        ("08:00", "24:00"),
        ("09:05", "20:00"),
    )


def test_turkish_needs_the_ivr_method() -> None:
    assert settings(voice={"lang": "tr-TR"}).voice.lang is Lang.TR_TR


@pytest.mark.parametrize(
    ("dtmf", "a_number", "default", "refused"),
    [
        ([], None, None, False),
        ([{"digit": 1, "action": "notify"}], "74950000000", None, False),
        ([{"digit": 1, "action": "notify"}], None, "74950000009", False),
        ([{"digit": 1, "action": "notify"}], None, None, True),
    ],
)
def test_check_a_number(
    dtmf: list[dict[str, Any]], a_number: str | None, default: str | None, refused: bool
) -> None:
    value = settings(dtmf=dtmf, a_number=a_number)
    if refused:
        with pytest.raises(Invalid) as caught:
            check_a_number(value, default)
        assert caught.value.field == "a_number"
    else:
        check_a_number(value, default)


def test_row_round_trip() -> None:
    value = settings(
        schedule={"start_at": START, "end_at": START + timedelta(days=3), "holidays": False},
        crm_callback_url="https://crm.example/hook",
        crm_callback_secret="s3cret",
    )

    row = stored(value)

    assert row.window == {
        "workdays": ["08:00", "22:00"],
        "weekends": ["09:00", "20:00"],
        "holidays": False,
    }
    assert (row.timezone, row.start_at, row.crm_callback_secret) == (
        "Europe/Moscow",
        START,
        "s3cret",
    )
    assert row.dtmf[1] == {"digit": 3, "action": "transfer", "number": "74997090111"}
    assert settings_of(row) == value


def test_secret_never_shows() -> None:
    value = settings(crm_callback_secret="s3cret")
    assert "s3cret" not in repr(value)
    assert "s3cret" not in value.model_dump_json()


@pytest.mark.parametrize(
    ("changes", "check"),
    [
        ({"name": "Renamed"}, lambda s: s.name == "Renamed" and s.max_attempts == 3),
        (
            {"voice": {"speed": 1.5}},
            lambda s: (s.voice.speed, s.voice.voice_name) == (1.5, "oksana"),
        ),
        (
            {"schedule": {"end_at": START}},
            lambda s: (s.schedule.end_at, s.schedule.workdays) == (START, ("08:00", "22:00")),
        ),
        ({"redial": {"busy": None}}, lambda s: s.redial == {"no_answer": [7200, 86400]}),
        (
            {"redial": {"hung_up": [60]}},
            lambda s: set(s.redial) == {"busy", "no_answer", "hung_up"},
        ),
        ({"dtmf": [{"digit": 5, "action": "opt_out"}]}, lambda s: [a.digit for a in s.dtmf] == [5]),
        ({"dtmf": None}, lambda s: len(s.dtmf) == 0),
        ({"voice": None}, lambda s: s.voice.voice_name == "erkanyavas"),
        ({"a_number": None, "dtmf": []}, lambda s: s.a_number is None),
        ({"crm_callback_secret": "k"}, lambda s: s.crm_callback_secret == SecretStr("k")),
        ({}, lambda s: s == settings(crm_callback_secret="old")),
    ],
)
def test_merge_patch(changes: dict[str, Any], check: Any) -> None:
    current = settings(crm_callback_secret="old")
    assert check(merge(current, CampaignPatch.model_validate(changes)))


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"name": None}, "name"),
        ({"schedule": {"start_at": (START + timedelta(days=9)).isoformat()}}, "schedule"),
        ({"dtmf": [], "voice": {"lang": "tr-TR"}}, "voice"),
    ],
)
def test_merge_patch_checks_the_result(changes: dict[str, Any], field: str) -> None:
    current = settings(schedule={"end_at": START + timedelta(days=1)}, voice={"lang": "tr-TR"})
    with pytest.raises(ValidationError) as caught:
        merge(current, CampaignPatch.model_validate(changes))
    assert invalid(caught.value).field == field


@pytest.mark.parametrize(
    ("changes", "loc"),
    [
        ({"contacts": []}, ("contacts",)),
        ({"max_attempts": 0}, ("max_attempts",)),
        ({"a_number": "1"}, ("a_number",)),
    ],
)
def test_patch_body_errors_name_the_field(changes: dict[str, Any], loc: tuple[str, ...]) -> None:
    with pytest.raises(ValidationError) as caught:
        CampaignPatch.model_validate(changes)
    assert error_locs(caught.value) == [loc]


def test_invalid_names_the_first_field_and_the_rest() -> None:
    with pytest.raises(ValidationError) as caught:
        CampaignSettings.model_validate(body(max_attempts=0, priority=0, contacts=None))
    error = invalid(caught.value)
    assert error.field == "max_attempts"
    assert error.message == (
        "max_attempts: Input should be greater than or equal to 1"
        " (also invalid: priority, contacts)"
    )
    assert (error.status, error.code, error.details) == (422, "invalid", {"field": "max_attempts"})


def a_number_or_error(raw: str) -> str | list[tuple[str | int, ...]] | None:
    try:
        return settings(a_number=raw, dtmf=[]).a_number
    except ValidationError as error:
        return error_locs(error)


@given(st.text(max_size=20))
def test_a_number_is_eleven_digits_or_refused_by_name(raw: str) -> None:
    result = a_number_or_error(raw)
    if isinstance(result, list):
        assert result == [("a_number",)]
    else:
        assert result is not None
        assert result.isdigit()
        assert len(result) == 11


def workdays_or_error(span: list[str]) -> tuple[str, str] | list[tuple[str | int, ...]]:
    try:
        return Schedule.model_validate({"workdays": span}).workdays
    except ValidationError as error:
        return error_locs(error)


@given(st.integers(0, 24 * 60), st.integers(0, 24 * 60))
def test_any_span_within_a_day_is_accepted_in_order(start: int, end: int) -> None:
    span = [f"{start // 60:02d}:{start % 60:02d}", f"{end // 60:02d}:{end % 60:02d}"]
    expected = [("workdays",)] if start > end else (span[0], span[1])
    assert workdays_or_error(span) == expected
