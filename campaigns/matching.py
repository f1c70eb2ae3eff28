"""Whether a webhook event really belongs to the attempt it names.

An event names its attempt by `id` (our messId), but an `id` can be wrong (a bug or a replay
at MTT, a forged body): applied as is, another call's hangup would close the attempt, and the
attempt's own final event would then be ignored. The event's CallID and callee number can be
checked against the attempt's. A mismatch makes the event a conflict: stored, shown in the
contact's history and counted, never applied.

- A CallID differs from the one the attempt knows (sb-api's answer, or an earlier event).
  CallIDs are compared case-insensitively, as the inbox's deduplication does.
- The callee's number differs from the one dialled, whether the attempt knows its CallID or
  not yet (an event may come before sb-api's answer). Transfer legs name the operator's number
  and are not compared. Numbers are compared by their last ten digits: MTT's own examples echo
  numbers without the country digit, and a `7`/`8` prefix says nothing about the callee.

An event without a CallID is judged by its number alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from dialer.telecom.events import Leg, MttEvent

__all__ = ["MATCHED", "OTHER_CALL_ID", "OTHER_NUMBER", "MatchStatus", "Verdict", "match_event"]

# A conflict's reason, formatted from these templates (the console recognises them by them).
OTHER_CALL_ID: Final = "CallID {heard} is not the attempt's {dialled}"
OTHER_NUMBER: Final = "number {heard} is not the attempt's {dialled}"


class MatchStatus(StrEnum):
    """What became of a stored event's lookup of its attempt."""

    MATCHED = "matched"
    UNMATCHED = "unmatched"
    """No attempt has its messId or CallID."""
    CONFLICT = "conflict"
    """It names an attempt whose CallID or number it contradicts: not applied."""


@dataclass(frozen=True)
class Verdict:
    status: MatchStatus
    reason: str | None = None


MATCHED = Verdict(MatchStatus.MATCHED)


def match_event(event: MttEvent, *, call_id: str | None, number: str) -> Verdict:
    """The verdict on `event` for an attempt that dialled `number` and knows `call_id`."""
    if call_id and event.call_id and event.call_id.lower() != call_id.lower():
        reason = OTHER_CALL_ID.format(heard=event.call_id, dialled=call_id)
        return Verdict(MatchStatus.CONFLICT, reason)
    if event.leg is Leg.CALLEE and not _same_subscriber(event.number, number):
        reason = OTHER_NUMBER.format(heard=event.number, dialled=number)
        return Verdict(MatchStatus.CONFLICT, reason)
    return MATCHED


_NATIONAL_DIGITS = 10


def _same_subscriber(heard: str, dialled: str) -> bool:
    return heard[-_NATIONAL_DIGITS:] == dialled[-_NATIONAL_DIGITS:]
