"""The campaign body of the HTTP contract (docs/design.md §9): field names are part of the contract.

`CampaignSettings` is what a campaign row stores; `CampaignSpec` adds the optional inline
contacts, which are only checked for shape here (the importer checks their values and
reports rejected rows by line, as for a file); `CampaignPatch` edits settings as a JSON merge
patch (RFC 7396). Errors name the field: pydantic's `loc` and messages that repeat it.
"""

from __future__ import annotations

from typing import Annotated, Any, TypeVar
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    SecretStr,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)

from campaigns.callback_hosts import host_refusal
from campaigns.errors import Invalid
from campaigns.purposes import CAPS_FOR_DEBT_ONLY, Caps, Purpose, check_window
from campaigns.templates import TemplateError, parse
from campaigns.windows import CallingWindow, DailySpan
from dialer.telecom.dtmf import DtmfMenu
from dialer.telecom.numbers import PHONE_INT_RANGES, PHONE_PATTERN, InvalidNumber, normalize
from dialer.telecom.redial import RedialPolicy
from dialer.telecom.voice import Voice

__all__ = [
    "END_BEFORE_START",
    "HTTP_URL",
    "NEEDS_A_NUMBER",
    "NOT_A_BOOL",
    "TIMESTAMP",
    "CampaignPatch",
    "CampaignSettings",
    "CampaignSpec",
    "ContactSpec",
    "ContactVoice",
    "PhoneIn",
    "Schedule",
    "check_a_number",
    "check_callback_url",
    "in_zone",
    "invalid",
    "merge",
]

DEFAULT_TIMEZONE = "Europe/Moscow"
# Validator texts, public so a translation recognises them.
END_BEFORE_START = "end_at must be after start_at"
HTTP_URL = "must be an absolute http(s) URL"
TIMESTAMP = "expected an ISO 8601 date-time with its offset, not a number"
NOT_A_BOOL = "expected a whole number, not true or false"
NEEDS_A_NUMBER = (
    "a DTMF menu needs a caller id (sb-api's ivr-api requires a_number): "
    "set a_number or DIALER_A_NUMBER"
)


def _template(message: str) -> str:
    try:
        parse(message)
    except TemplateError as error:
        raise ValueError(str(error)) from None
    return message


def _a_number(value: str | None) -> str | None:
    if value is None:
        return None
    try:
        return normalize(value)
    except InvalidNumber as error:
        raise ValueError(error.reason) from None


def _redial(overrides: dict[str, list[int]]) -> dict[str, list[int]]:
    RedialPolicy().with_overrides(overrides)
    return overrides


def _http_url(url: str | None) -> str | None:
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(HTTP_URL)
    return url


def _no_timestamp(value: object) -> object:
    if isinstance(value, int | float):
        raise ValueError(TIMESTAMP)
    return value


def _not_bool(value: object) -> object:
    """JSON's true and false are not the numbers 1 and 0 (pydantic's lax mode would take them)."""
    if isinstance(value, bool):
        raise ValueError(NOT_A_BOOL)
    return value


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
Message = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_template)
]
PHONE_TEXT: dict[str, Any] = {"type": "string", "pattern": PHONE_PATTERN}
PhoneIn = Annotated[
    str | int,
    WithJsonSchema(
        {
            "anyOf": [
                PHONE_TEXT,
                *(
                    {"type": "integer", "minimum": low, "maximum": high}
                    for low, high in PHONE_INT_RANGES
                ),
            ],
            "description": "any common notation; the schema states exactly what is accepted",
        }
    ),
]
"""A number where a wrong one is refused (422): its schema is exactly what `normalize` takes."""
ANumber = Annotated[
    str | None,
    BeforeValidator(_strip),
    AfterValidator(_a_number),
    WithJsonSchema({"anyOf": [PHONE_TEXT, {"type": "null"}]}),
]
# Field first: after a BeforeValidator its bounds would reach the JSON schema as ge/le, not
# minimum/maximum.
MaxAttempts = Annotated[int, Field(ge=1, le=20), BeforeValidator(_not_bool)]
MaxConcurrent = Annotated[int, Field(ge=1, le=10_000), BeforeValidator(_not_bool)]
Priority = Annotated[int, Field(ge=1, le=100), BeforeValidator(_not_bool)]
MinListen = Annotated[int, Field(ge=0, le=3600), BeforeValidator(_not_bool)]
Redial = Annotated[dict[str, list[StrictInt]], AfterValidator(_redial)]
CallbackUrl = Annotated[str | None, AfterValidator(_http_url)]
When = Annotated[AwareDatetime | None, BeforeValidator(_no_timestamp)]


class Schedule(BaseModel):
    """When contacts may be called, in each callee's local time; `timezone` is the campaign's
    (for contacts whose own zone is unknown)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = DEFAULT_TIMEZONE
    workdays: tuple[str, str] = ("08:00", "22:00")
    weekends: tuple[str, str] = ("09:00", "20:00")
    holidays: bool = True
    """Russian public holidays take the weekend window (and moved working days the workday)."""
    start_at: When = None
    end_at: When = None

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        CallingWindow(timezone=value)
        return value

    @field_validator("workdays", "weekends", mode="before")
    @classmethod
    def _span(cls, value: object, info: ValidationInfo) -> tuple[str, str]:
        start, end = DailySpan.parse(value, info.field_name or "").as_strings()
        return start, end

    @model_validator(mode="after")
    def _dates(self) -> Schedule:
        if self.start_at is not None and self.end_at is not None and self.end_at <= self.start_at:
            raise ValueError(END_BEFORE_START)
        return self


class CampaignSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name
    message: Message
    """The TTS text, a template: `{name}` takes the contact's variable `name`."""
    purpose: Purpose = Purpose.INFORMING
    """The compliance preset (campaigns.purposes); declared before the fields it limits."""
    dtmf: DtmfMenu = DtmfMenu()
    """Declared before `voice`, whose languages depend on it (ivr-api has more)."""
    voice: Voice = Voice()
    a_number: ANumber = None
    """Caller id; sb-api's ivr-api (any DTMF menu) requires one: see `check_a_number`."""
    schedule: Schedule = Schedule()
    max_attempts: MaxAttempts = 3
    max_concurrent: MaxConcurrent = 10
    priority: Priority = 1
    """Weight in the fair share of the global call limits."""
    redial: Redial = {}
    """Policy category → delays in seconds of its successive redials (docs/causes.md)."""
    min_listen_seconds: MinListen | None = None
    """An answered call shorter than this is hung_up (redialed by `redial.hung_up`), not
    listened; null: the service's DIALER_MIN_LISTEN_SECONDS."""
    crm_callback_url: CallbackUrl = None
    crm_callback_secret: SecretStr | None = None
    """HMAC key of this campaign's CRM callbacks (the global one when unset)."""
    caps: Caps | None = None
    """debt_collection only: answered calls per number across debt_collection campaigns;
    the law's values (230-FZ art. 7) when unset."""

    @field_validator("schedule")
    @classmethod
    def _lawful_window(cls, schedule: Schedule, info: ValidationInfo) -> Schedule:
        if info.data.get("purpose") is Purpose.DEBT_COLLECTION:
            check_window(
                DailySpan.parse(schedule.workdays, "schedule.workdays"),
                DailySpan.parse(schedule.weekends, "schedule.weekends"),
                schedule.holidays,
            )
        return schedule

    @field_validator("caps")
    @classmethod
    def _caps_for_debt(cls, caps: Caps | None, info: ValidationInfo) -> Caps | None:
        purpose = info.data.get("purpose")
        if caps is not None and purpose is not None and purpose is not Purpose.DEBT_COLLECTION:
            raise ValueError(CAPS_FOR_DEBT_ONLY.format(purpose=purpose))
        return caps

    @field_validator("voice")
    @classmethod
    def _voice_on_method(cls, voice: Voice, info: ValidationInfo) -> Voice:
        menu = info.data.get("dtmf")
        if menu is not None:  # else the menu is invalid, and reported as such
            voice.check_for_method(ivr=len(menu) > 0)
        return voice


class ContactVoice(BaseModel):
    """Per-contact voice overrides (checked by the importer, like a file's columns)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    voice_name: str | None = None
    emotion: str | None = None
    speed: StrictFloat | StrictInt | str | None = None


class ContactSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    phone: str | StrictInt
    vars: dict[str, str | int | float | bool | None] = {}
    """Template variables."""
    timezone: str | None = None
    text: str | None = None
    """This contact's own message template."""
    voice: ContactVoice | None = None


SpecT = TypeVar("SpecT", bound=CampaignSettings)


class CampaignSpec(CampaignSettings):
    """The body of `POST /v1/campaigns`."""

    contacts: list[ContactSpec] | None = None

    def contact_rows(self) -> list[dict[str, Any]]:
        """The inline contacts as the importer's JSON rows."""
        return [contact.model_dump(exclude_none=True) for contact in self.contacts or []]


class CampaignPatch(BaseModel):
    """`PATCH /v1/campaigns/{id}`: fields left out stay, objects merge key by key, null resets
    a field to its default (RFC 7396)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Name | None = None
    message: Message | None = None
    purpose: Purpose | None = None
    voice: Voice | None = None
    a_number: ANumber = None
    dtmf: DtmfMenu | None = None
    schedule: Schedule | None = None
    max_attempts: MaxAttempts | None = None
    max_concurrent: MaxConcurrent | None = None
    priority: Priority | None = None
    redial: dict[str, list[StrictInt] | None] | None = None
    min_listen_seconds: MinListen | None = None
    crm_callback_url: CallbackUrl = None
    crm_callback_secret: SecretStr | None = None
    caps: Caps | None = None


def in_zone(spec: SpecT, zone: str) -> SpecT:
    """`spec` with `zone` (the service's DIALER_DEFAULT_TIMEZONE) as its schedule's time zone
    when the caller named none."""
    if "timezone" in spec.schedule.model_fields_set:
        return spec
    schedule = spec.schedule.model_copy(update={"timezone": zone})
    return spec.model_copy(update={"schedule": schedule})


def _merged(target: dict[str, Any], patch: dict[str, Any]) -> dict[str, Any]:
    result = dict(target)
    for key, value in patch.items():
        if value is None:
            result.pop(key, None)
        elif isinstance(value, dict) and isinstance(result.get(key), dict):
            result[key] = _merged(result[key], value)
        else:
            result[key] = value
    return result


def merge(current: CampaignSettings, changes: CampaignPatch) -> CampaignSettings:
    """`current` with `changes` applied; raises ValidationError when the result is invalid."""
    return CampaignSettings.model_validate(
        _merged(current.model_dump(), changes.model_dump(exclude_unset=True))
    )


def invalid(error: ValidationError) -> Invalid:
    """The business error for a failed validation, naming the first failing field."""
    problems = error.errors()
    fields = [".".join(str(part) for part in problem["loc"]) or "body" for problem in problems]
    message = problems[0]["msg"].removeprefix("Value error, ")
    if len(fields) > 1:
        message += f" (also invalid: {', '.join(fields[1:])})"
    return Invalid(fields[0], message)


def check_a_number(settings: CampaignSettings, default_a_number: str | None) -> None:
    """A DTMF menu goes through ivr-api, which requires a caller id: the campaign's or the
    service's DIALER_A_NUMBER. Raises Invalid("a_number") when neither is set."""
    if len(settings.dtmf) and settings.a_number is None and default_a_number is None:
        raise Invalid(
            "a_number",
            NEEDS_A_NUMBER,
        )


def check_callback_url(settings: CampaignSettings, allow_private: bool) -> None:
    """Callbacks go to public hosts only, unless DIALER_CALLBACK_ALLOW_PRIVATE: raises
    Invalid("crm_callback_url") for a local name or an address that is not public. Names are
    resolved, and checked again, at each delivery."""
    url = settings.crm_callback_url
    if url is None or allow_private:
        return
    refusal = host_refusal(urlsplit(url).hostname or "")
    if refusal is not None:
        raise Invalid(
            "crm_callback_url",
            f"{refusal}: callbacks go only to public hosts "
            "(DIALER_CALLBACK_ALLOW_PRIVATE allows others)",
        )
