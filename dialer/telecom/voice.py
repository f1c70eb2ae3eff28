"""The TTS voice of an sb-api call: language, speaker, emotion and speed.

Values are matched case-insensitively and with surrounding blanks ignored, because they
come from hand-made CSV columns as often as from API clients; errors name the field, the
value and what is allowed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from enum import StrEnum
from typing import Final, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationInfo, field_validator

__all__ = [
    "CHOICE",
    "IVR_METHOD",
    "LANG_NOT_ON",
    "NOT_A_SETTING",
    "PLAIN_METHOD",
    "SPEED",
    "Emotion",
    "Lang",
    "Voice",
    "VoiceError",
    "VoiceName",
]

SPEED_MIN = 0.1
SPEED_MAX = 3.0

# The refusals, formatted from these templates (the console recognises them by them).
CHOICE: Final = "{field} {value} is not one of: {allowed}"
SPEED: Final = "speed {value} must be a number from {low} to {high}"
LANG_NOT_ON: Final = "lang {value} is not available on {method}: {allowed}"
PLAIN_METHOD: Final = "the plain informing method (no DTMF menu)"
IVR_METHOD: Final = "ivr-api"
NOT_A_SETTING: Final = "{value} is not a voice setting: {allowed}"


class VoiceError(ValueError):
    """A voice setting sb-api would refuse; the message names field, value and allowed values."""

    def __init__(self, field: str, value: object, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.value = value


class Lang(StrEnum):
    RU_RU = "ru-RU"
    EN_US = "en-US"
    TR_TR = "tr-TR"  # ivr-api only

    @classmethod
    def for_method(cls, *, ivr: bool) -> tuple[Lang, ...]:
        """The languages sb-api accepts on the plain method, or on ivr-api."""
        return tuple(cls) if ivr else (cls.RU_RU, cls.EN_US)


class VoiceName(StrEnum):
    ALYSS = "alyss"
    JANE = "jane"
    OKSANA = "oksana"
    OMAZH = "omazh"
    ZAHAR = "zahar"
    ERMIL = "ermil"
    ERKANYAVAS = "erkanyavas"


class Emotion(StrEnum):
    GOOD = "good"
    EVIL = "evil"
    NEUTRAL = "neutral"


_E = TypeVar("_E", bound=StrEnum)


def _choice(field: str, enum: type[_E], value: object) -> _E:
    if isinstance(value, enum):
        return value
    if isinstance(value, str):
        wanted = value.strip().casefold()
        for member in enum:
            if member.value.casefold() == wanted:
                return member
    allowed = ", ".join(member.value for member in enum)
    raise VoiceError(field, value, CHOICE.format(field=field, value=repr(value), allowed=allowed))


def _speed(value: object) -> float:
    """A speed from a number or a CSV cell ('1.5' or the Russian '1,5')."""
    problem = SPEED.format(value=repr(value), low=SPEED_MIN, high=SPEED_MAX)
    if isinstance(value, bool):
        raise VoiceError("speed", value, problem)
    if isinstance(value, str):
        try:
            number = float(value.strip().replace(",", "."))
        except ValueError:
            raise VoiceError("speed", value, problem) from None
    elif isinstance(value, int | float):
        number = float(value)
    else:
        raise VoiceError("speed", value, problem)
    if not math.isfinite(number) or not SPEED_MIN <= number <= SPEED_MAX:
        raise VoiceError("speed", value, problem)
    return number


def _is_blank(value: object) -> bool:
    """An empty CSV cell: no override."""
    if value is None:
        return True
    if isinstance(value, float):
        return math.isnan(value)
    return isinstance(value, str) and not value.strip()


_CHOICES: dict[str, type[StrEnum]] = {"lang": Lang, "voice_name": VoiceName, "emotion": Emotion}
# CSV column → field; `speed_speech` is sb-api's own name for the speed.
_OVERRIDABLE = {name: name for name in (*_CHOICES, "speed")} | {"speed_speech": "speed"}


def _field_value(field: str, value: object) -> object:
    return _speed(value) if field == "speed" else _choice(field, _CHOICES[field], value)


class Voice(BaseModel):
    """sb-api's TTS settings; the defaults are sb-api's own."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    lang: Lang = Lang.RU_RU
    voice_name: VoiceName = VoiceName.ERKANYAVAS
    emotion: Emotion = Emotion.NEUTRAL
    speed: float = 1.0

    @field_validator("lang", "voice_name", "emotion", "speed", mode="before")
    @classmethod
    def _check(cls, value: object, info: ValidationInfo) -> object:
        return _field_value(info.field_name or "", value)

    def check_for_method(self, *, ivr: bool) -> None:
        """Raise VoiceError when the language is not available on the method to be called."""
        allowed = Lang.for_method(ivr=ivr)
        if self.lang not in allowed:
            method = IVR_METHOD if ivr else PLAIN_METHOD
            names = ", ".join(lang.value for lang in allowed)
            problem = LANG_NOT_ON.format(value=repr(self.lang.value), method=method, allowed=names)
            raise VoiceError("lang", self.lang.value, problem)

    def merged(self, overrides: Mapping[str, object]) -> Voice:
        """This voice with a row's overrides applied; blank cells override nothing.

        Keys are CSV column names (`lang`, `voice_name`, `emotion`, `speed` or `speed_speech`);
        raises VoiceError for an unknown key or a bad value.
        """
        updates: dict[str, object] = {}
        for key, value in overrides.items():
            field = _OVERRIDABLE.get(key)
            if field is None:
                allowed = ", ".join(_OVERRIDABLE)
                problem = NOT_A_SETTING.format(value=repr(key), allowed=allowed)
                raise VoiceError(key, value, problem)
            if not _is_blank(value):
                updates[field] = _field_value(field, value)
        return self.model_copy(update=updates) if updates else self
