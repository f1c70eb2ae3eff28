from __future__ import annotations

import math
from enum import StrEnum

import pytest
from pydantic import ValidationError

from dialer.telecom.voice import Emotion, Lang, Voice, VoiceError, VoiceName


def make_voice(**fields: object) -> Voice:
    return Voice.model_validate(fields)


def test_defaults_are_sb_api_defaults() -> None:
    assert make_voice() == Voice(
        lang=Lang.RU_RU, voice_name=VoiceName.ERKANYAVAS, emotion=Emotion.NEUTRAL, speed=1.0
    )


def test_design_campaign_voice_round_trips_as_json() -> None:
    body = {"lang": "ru-RU", "voice_name": "oksana", "emotion": "neutral", "speed": 1.0}
    voice = make_voice(**body)
    assert voice.voice_name is VoiceName.OKSANA
    assert voice.model_dump(mode="json") == body
    assert Voice.model_validate_json(voice.model_dump_json()) == voice


@pytest.mark.parametrize(
    ("values", "enum"),
    [
        (["ru-RU", "en-US", "tr-TR"], Lang),
        (["alyss", "jane", "oksana", "omazh", "zahar", "ermil", "erkanyavas"], VoiceName),
        (["good", "evil", "neutral"], Emotion),
    ],
)
def test_enums_hold_exactly_the_reference_values(values: list[str], enum: type[StrEnum]) -> None:
    assert [member.value for member in enum] == values


@pytest.mark.parametrize(
    ("field", "raw", "expected"),
    [
        ("lang", " RU-ru ", Lang.RU_RU),
        ("lang", "en-us", Lang.EN_US),
        ("voice_name", "Oksana", VoiceName.OKSANA),
        ("voice_name", "ZAHAR ", VoiceName.ZAHAR),
        ("emotion", "Good", Emotion.GOOD),
        ("speed", "1.5", 1.5),
        ("speed", "1,5", 1.5),
        ("speed", 2, 2.0),
        ("speed", 0.1, 0.1),
        ("speed", "3", 3.0),
    ],
)
def test_values_are_read_leniently(field: str, raw: object, expected: object) -> None:
    assert getattr(make_voice(**{field: raw}), field) == expected


@pytest.mark.parametrize(
    ("field", "raw", "message"),
    [
        ("lang", "de-DE", "lang 'de-DE' is not one of: ru-RU, en-US, tr-TR"),
        (
            "voice_name",
            "bob",
            "voice_name 'bob' is not one of: alyss, jane, oksana, omazh, zahar, ermil, erkanyavas",
        ),
        ("emotion", "sad", "emotion 'sad' is not one of: good, evil, neutral"),
        ("emotion", 3, "emotion 3 is not one of: good, evil, neutral"),
        ("speed", 3.01, "speed 3.01 must be a number from 0.1 to 3.0"),
        ("speed", 0.0, "speed 0.0 must be a number from 0.1 to 3.0"),
        ("speed", "fast", "speed 'fast' must be a number from 0.1 to 3.0"),
        ("speed", True, "speed True must be a number from 0.1 to 3.0"),
        ("speed", math.nan, "speed nan must be a number from 0.1 to 3.0"),
        ("speed", None, "speed None must be a number from 0.1 to 3.0"),
    ],
)
def test_bad_values_name_field_value_and_allowed(field: str, raw: object, message: str) -> None:
    with pytest.raises(ValidationError) as caught:
        make_voice(**{field: raw})
    [error] = caught.value.errors()
    assert error["loc"] == (field,)
    assert message in error["msg"]


def test_unknown_fields_and_mutation_are_refused() -> None:
    with pytest.raises(ValidationError, match="extra"):
        make_voice(pitch=2)
    with pytest.raises(ValidationError, match="frozen"):
        make_voice().speed = 2.0  # type: ignore[misc]


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({}, make_voice()),
        ({"voice_name": "jane"}, make_voice(voice_name="jane")),
        ({"emotion": "evil", "speed": "0,8"}, make_voice(emotion="evil", speed=0.8)),
        ({"speed_speech": "2"}, make_voice(speed=2.0)),
        ({"lang": "en-US"}, make_voice(lang="en-US")),
        ({"voice_name": "", "emotion": None, "speed": math.nan}, make_voice()),
        ({"voice_name": "  "}, make_voice()),
    ],
)
def test_merged_applies_row_overrides(overrides: dict[str, object], expected: Voice) -> None:
    assert make_voice().merged(overrides) == expected


def test_merged_keeps_unoverridden_fields_of_the_base() -> None:
    base = make_voice(voice_name="oksana", emotion="good", speed=1.2)
    assert base.merged({"speed": "1"}) == make_voice(voice_name="oksana", emotion="good", speed=1)


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        (
            {"voice_name": "Алиса"},
            "voice_name",
            "voice_name 'Алиса' is not one of: alyss, jane, oksana, omazh, zahar, ermil, "
            "erkanyavas",
        ),
        ({"emotion": "happy"}, "emotion", "emotion 'happy' is not one of: good, evil, neutral"),
        ({"speed_speech": "4"}, "speed", "speed '4' must be a number from 0.1 to 3.0"),
        (
            {"pitch": "2"},
            "pitch",
            "'pitch' is not a voice setting: lang, voice_name, emotion, speed, speed_speech",
        ),
    ],
)
def test_merged_rejects_with_the_model_messages(
    overrides: dict[str, object], field: str, message: str
) -> None:
    with pytest.raises(VoiceError) as caught:
        make_voice().merged(overrides)
    assert str(caught.value) == message
    assert caught.value.field == field
    assert caught.value.value == next(iter(overrides.values()))


@pytest.mark.parametrize(
    ("lang", "ivr", "allowed"),
    [
        ("ru-RU", False, True),
        ("en-US", False, True),
        ("tr-TR", False, False),
        ("ru-RU", True, True),
        ("tr-TR", True, True),
    ],
)
def test_turkish_needs_ivr_api(lang: str, ivr: bool, allowed: bool) -> None:
    voice = make_voice(lang=lang)
    if allowed:
        voice.check_for_method(ivr=ivr)
        return
    with pytest.raises(VoiceError) as caught:
        voice.check_for_method(ivr=ivr)
    assert str(caught.value) == (
        "lang 'tr-TR' is not available on the plain informing method (no DTMF menu): ru-RU, en-US"
    )
    assert caught.value.field == "lang"


def test_languages_per_method() -> None:
    assert Lang.for_method(ivr=False) == (Lang.RU_RU, Lang.EN_US)
    assert Lang.for_method(ivr=True) == (Lang.RU_RU, Lang.EN_US, Lang.TR_TR)
