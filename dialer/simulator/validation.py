"""Checks of an sb-api call request, with the reference's error texts (pure).

Texts marked "ours" are not in MTT's document (it gives none for these cases); they follow its
`"<field>" ...` pattern so that the client sees a refusal of the same shape.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

B_NUMBER_ERROR = '"b_number" should be in e164 format'
A_NUMBER_ERROR = '"a_number" should be in e164 format'
MESS_ID_ERROR = '"messId" not found in request body'
NOTIFY_ERROR = '"notify" value is not allowed'
SIP_ID_ERROR = "Forbidden"
MESS_TEXT_ERROR = '"messText" not found in request body'  # ours
TRANSFER_ERROR = '"transfer" value is not allowed'  # ours
DTMF_ERROR = '"dtmf" value is not allowed'  # ours

LANGUAGES = frozenset({"ru-RU", "en-US"})
IVR_LANGUAGES = LANGUAGES | {"tr-TR"}
VOICES = frozenset({"alyss", "jane", "oksana", "omazh", "zahar", "ermil", "erkanyavas"})
EMOTIONS = frozenset({"good", "evil", "neutral"})
MAX_MENU = 9

_E164 = re.compile(r"[0-9]{11}")
_DIGIT = re.compile(r"[1-9]")

MessId = str | int | float


@dataclass(frozen=True)
class MenuAction:
    digit: int
    type: Literal["notify", "transfer"]
    value: str


@dataclass(frozen=True)
class AcceptedCall:
    """An accepted request: everything the call plan needs."""

    mess_id: MessId
    method: str
    ivr: bool
    sip_id: str
    b_number: str
    a_number: str
    text: str
    lang: str
    voice: str
    emotion: str
    speed: float
    menu: tuple[MenuAction, ...] = ()


@dataclass(frozen=True)
class AccessForbidden:
    """Wrong method: MTT answers `{"message": "access forbidden"}`, nothing else."""


@dataclass(frozen=True)
class Declined:
    """`success: 0`; `mess_id` is None when the request had none (the id is then a CallID)."""

    error: str
    mess_id: MessId | None


class _Invalid(Exception):
    def __init__(self, error: str) -> None:
        super().__init__(error)
        self.error = error


def validate_call(
    body: object, *, method: str, ivr_method: str, sip_id: str, allow_http_notify: bool
) -> AcceptedCall | AccessForbidden | Declined:
    """Checks in the order MTT evidently applies them: method, messId, account, fields."""
    if not isinstance(body, dict) or body.get("method") not in (method, ivr_method):
        return AccessForbidden()
    ivr = body["method"] == ivr_method
    data = body.get("data")
    mess_id = _mess_id(data)
    if not isinstance(data, dict) or mess_id is None:
        return Declined(MESS_ID_ERROR, None)
    try:
        spec = _spec(body, data, mess_id, ivr, sip_id, allow_http_notify)
    except _Invalid as refused:
        return Declined(refused.error, mess_id)
    return spec


def _spec(
    body: dict[str, object],
    data: dict[str, object],
    mess_id: MessId,
    ivr: bool,
    sip_id: str,
    allow_http_notify: bool,
) -> AcceptedCall:
    if str(data.get("sip_id")) != sip_id:
        raise _Invalid(SIP_ID_ERROR)
    b_number = data.get("b_number")
    if not _is_e164(b_number):
        raise _Invalid(B_NUMBER_ERROR)
    a_number = data.get("a_number")
    if a_number is None and not ivr:
        a_number = sip_id
    if not _is_e164(a_number):
        raise _Invalid(A_NUMBER_ERROR)
    text = data.get("messText")
    if not isinstance(text, str) or not text.strip():
        raise _Invalid(MESS_TEXT_ERROR)
    lang = data.get("langCode", data.get("lang_code", "ru-RU"))
    voice = data.get("voice_name", "erkanyavas")
    emotion = data.get("emotion", "neutral")
    _allowed("langCode", lang, IVR_LANGUAGES if ivr else LANGUAGES)
    _allowed("voice_name", voice, VOICES)
    _allowed("emotion", emotion, EMOTIONS)
    speed = _speed(data.get("speed_speech", 1.0))
    menu = _menu(data.get("dtmf", body.get("dtmf")), allow_http_notify) if ivr else ()
    return AcceptedCall(
        mess_id=mess_id,
        method=str(body["method"]),
        ivr=ivr,
        sip_id=sip_id,
        b_number=str(b_number),
        a_number=str(a_number),
        text=text,
        lang=str(lang),
        voice=str(voice),
        emotion=str(emotion),
        speed=speed,
        menu=menu,
    )


def _mess_id(data: object) -> MessId | None:
    value = data.get("messId") if isinstance(data, dict) else None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return value if str(value).strip() else None


def _is_e164(value: object) -> bool:
    return isinstance(value, str) and _E164.fullmatch(value) is not None


def _allowed(field: str, value: object, allowed: frozenset[str]) -> None:
    if value not in allowed:
        raise _Invalid(f'"{field}" value is not allowed')  # ours


def _speed(value: object) -> float:
    speed = -1.0
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            speed = float(value)
        except ValueError:
            speed = -1.0
    if not 0.1 <= speed <= 3.0:
        raise _Invalid('"speed_speech" value is not allowed')  # ours
    return speed


def _menu(value: object, allow_http_notify: bool) -> tuple[MenuAction, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_MENU:
        raise _Invalid(DTMF_ERROR)
    actions = tuple(_action(item, allow_http_notify) for item in value)
    if len({action.digit for action in actions}) != len(actions):
        raise _Invalid(DTMF_ERROR)
    return actions


def _action(item: object, allow_http_notify: bool) -> MenuAction:
    if not isinstance(item, dict):
        raise _Invalid(DTMF_ERROR)
    digit, kind, value = item.get("dtmf_id"), item.get("type"), item.get("value")
    if isinstance(digit, bool) or _DIGIT.fullmatch(str(digit)) is None:
        raise _Invalid(DTMF_ERROR)
    if kind == "notify":
        if not _notify_url_ok(value, allow_http_notify):
            raise _Invalid(NOTIFY_ERROR)
        return MenuAction(int(str(digit)), "notify", str(value))
    if kind == "transfer":
        if not _is_e164(value):
            raise _Invalid(TRANSFER_ERROR)
        return MenuAction(int(str(digit)), "transfer", str(value))
    raise _Invalid(DTMF_ERROR)


def _notify_url_ok(value: object, allow_http: bool) -> bool:
    if not isinstance(value, str):
        return False
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    schemes = {"https", "http"} if allow_http else {"https"}
    return parts.scheme in schemes and bool(parts.hostname)
