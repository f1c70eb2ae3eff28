"""Compliance presets: what a campaign is for, and the limits that follow from it.

- `informing` (the default): the service's own windows and redial policy.
- `transactional`: a CRM's event-driven call (an order is ready, a delivery is due). Calling
  windows still apply; redials come sooner (`TRANSACTIONAL_REDIAL`), because the news goes stale.
- `debt_collection`: Federal Law of 03.07.2016 No. 230-FZ, article 7, in the debtor's local time.
  A campaign's windows may not be wider than the law's, nor its caps higher; stricter is allowed.

The law's numbers are from its text as last known to the authors (parts 3 and 5 of article 7);
they could not be checked against the current official text while this was written, so they are
named constants here and every campaign may set stricter values.

What counts as an interaction: an answered call (the callee picked up and the message began to
play: categories listened and hung_up). An informing robot call is both a telephone conversation
(part 3) and a voice message sent by automated dialing (part 5), so an answered call counts under
both headings and both caps must hold. Calls not answered are no interaction and do not count.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import StrEnum
from types import MappingProxyType
from typing import Annotated, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from campaigns.windows import DailySpan
from dialer.telecom.causes import Category

__all__ = [
    "ABOVE_CAP",
    "CAPS_FOR_DEBT_ONLY",
    "HOLIDAYS_AS_WEEKENDS",
    "LAW_CONVERSATIONS",
    "LAW_DAYS_OFF",
    "LAW_PART_3",
    "LAW_PART_5",
    "LAW_VOICE_MESSAGES",
    "LAW_WORKDAYS",
    "TRANSACTIONAL_REDIAL",
    "WIDER_THAN_LAW",
    "Caps",
    "Conversations",
    "Purpose",
    "VoiceMessages",
    "check_window",
    "redial_overrides",
]

# The refusals, formatted from these templates (the console recognises them by them).
ABOVE_CAP: Final = "at most {limit} under {source}, got {value}"
WIDER_THAN_LAW: Final = (
    "{field}: {span} is wider than 230-FZ art. 7 allows for debt collection "
    "({allowed}, callee local time)"
)
HOLIDAYS_AS_WEEKENDS: Final = (
    "schedule.holidays: debt collection must keep public holidays to the weekend "
    "window (230-FZ art. 7)"
)
CAPS_FOR_DEBT_ONLY: Final = "caps apply to purpose debt_collection only, not {purpose}"

_MINUTE = 60
_HOUR = 60 * _MINUTE


class Purpose(StrEnum):
    INFORMING = "informing"
    TRANSACTIONAL = "transactional"
    DEBT_COLLECTION = "debt_collection"


TRANSACTIONAL_REDIAL = MappingProxyType(
    {
        Category.BUSY.value: (3 * _MINUTE, 10 * _MINUTE),
        Category.NO_ANSWER.value: (15 * _MINUTE, 1 * _HOUR),
        Category.UNAVAILABLE.value: (30 * _MINUTE, 2 * _HOUR),
        Category.HUNG_UP.value: (30 * _MINUTE,),
        Category.REJECTED.value: (2 * _HOUR,),
    }
)
"""Redial delays in seconds of `transactional` campaigns where the campaign sets none: minutes
rather than the informing default's hours (dialer.telecom.redial.DEFAULT_RULES)."""

# 230-FZ art. 7 part 3 p. 1 and part 5 p. 1: no interaction on working days from 22:00 to 08:00,
# on weekends and public holidays from 20:00 to 09:00, in the debtor's local time.
LAW_WORKDAYS = DailySpan(8 * 60, 22 * 60)
LAW_DAYS_OFF = DailySpan(9 * 60, 20 * 60)

# 230-FZ art. 7 part 3 p. 3 a-c: telephone conversations at most once a day, twice a week,
# eight times a month.
LAW_CONVERSATIONS = (1, 2, 8)
# 230-FZ art. 7 part 5 p. 2-4: voice (text and other) messages over telecom networks at most
# twice a day, four times a week, sixteen times a month.
LAW_VOICE_MESSAGES = (2, 4, 16)


def _at_most(limit: int, source: str) -> AfterValidator:
    def check(value: int) -> int:
        if value > limit:
            raise ValueError(ABOVE_CAP.format(limit=limit, source=source, value=value))
        return value

    return AfterValidator(check)


LAW_PART_3: Final = "230-FZ art. 7 part 3 p. 3"
LAW_PART_5: Final = "230-FZ art. 7 part 5"


_TALKS, _MESSAGES = LAW_CONVERSATIONS, LAW_VOICE_MESSAGES


class Conversations(BaseModel):
    """Answered calls per number per calendar day, week (Monday to Sunday) and month, in the
    callee's local time; at most the law's."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    day: Annotated[int, Field(ge=1), _at_most(_TALKS[0], LAW_PART_3)] = _TALKS[0]
    week: Annotated[int, Field(ge=1), _at_most(_TALKS[1], LAW_PART_3)] = _TALKS[1]
    month: Annotated[int, Field(ge=1), _at_most(_TALKS[2], LAW_PART_3)] = _TALKS[2]


class VoiceMessages(BaseModel):
    """As `Conversations`, under the law's caps on voice messages."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    day: Annotated[int, Field(ge=1), _at_most(_MESSAGES[0], LAW_PART_5)] = _MESSAGES[0]
    week: Annotated[int, Field(ge=1), _at_most(_MESSAGES[1], LAW_PART_5)] = _MESSAGES[1]
    month: Annotated[int, Field(ge=1), _at_most(_MESSAGES[2], LAW_PART_5)] = _MESSAGES[2]


class Caps(BaseModel):
    """A debt_collection campaign's caps on answered calls per number, counted across every
    debt_collection campaign; the law's values by default, lower ones allowed."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    conversations: Conversations = Conversations()
    voice_messages: VoiceMessages = VoiceMessages()

    def per_period(self) -> tuple[int, int, int]:
        """The binding cap of each period (day, week, month): both headings must hold."""
        first, second = self.conversations, self.voice_messages
        return (
            min(first.day, second.day),
            min(first.week, second.week),
            min(first.month, second.month),
        )


def check_window(workdays: DailySpan, weekends: DailySpan, holidays: bool) -> None:
    """ValueError naming the field when a debt_collection window is wider than the law's."""
    for field, span, law in (
        ("schedule.workdays", workdays, LAW_WORKDAYS),
        ("schedule.weekends", weekends, LAW_DAYS_OFF),
    ):
        if not span.empty and (span.start < law.start or span.end > law.end):
            allowed = "–".join(law.as_strings())
            wider = {"field": field, "span": "–".join(span.as_strings()), "allowed": allowed}
            raise ValueError(WIDER_THAN_LAW.format(**wider))
    if not holidays:
        raise ValueError(HOLIDAYS_AS_WEEKENDS)


def redial_overrides(purpose: str, redial: Mapping[str, Sequence[int]]) -> dict[str, list[int]]:
    """The campaign's redial overrides over its purpose's defaults."""
    defaults = TRANSACTIONAL_REDIAL if purpose == Purpose.TRANSACTIONAL else {}
    return {key: list(delays) for key, delays in {**defaults, **redial}.items()}
