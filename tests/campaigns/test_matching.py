"""The rule that tells an event of the attempt it names from one that contradicts it."""

from __future__ import annotations

import json

import pytest

from campaigns.matching import MATCHED, MatchStatus, match_event
from dialer.telecom.events import MttEvent, parse_body

NUMBER = "79101234567"
OTHER = "79107654321"
OPERATOR = "74997090111"
CALL_ID = "00035c7d92bb0971"
OTHER_CALL = "00035c7d92bb0aaa"


def event(text: str, call_id: str | None = CALL_ID, **extra: str) -> MttEvent:
    """One event as MTT sends it, naming attempt 7 by its messId."""
    record = {"date_time": "2026-11-25-12-01-00", "id": "7", "event": text, **extra}
    if call_id is not None:
        record["CallID"] = call_id
    (parsed,) = parse_body(json.dumps(record).encode(), "application/json", {}).events
    return parsed


@pytest.mark.parametrize(
    ("case", "received", "known", "reason"),
    [
        ("the attempt's own hangup", event(f"h_{NUMBER}_16_9"), CALL_ID, None),
        ("CallID in other letter case", event(f"o_{NUMBER}", CALL_ID.upper()), CALL_ID, None),
        ("no CallID known yet", event(f"h_{NUMBER}_17_0"), None, None),
        ("the number without its country digit", event(f"h_{NUMBER[1:]}_16_9"), CALL_ID, None),
        ("the number with a trunk 8", event(f"o_8{NUMBER[1:]}"), CALL_ID, None),
        ("no CallID in the event", event(f"n_{NUMBER}", None, dtmf="1"), CALL_ID, None),
        (
            "a transfer leg names the operator",
            event(f"h_{OPERATOR}_16_30", type="transfer", dtmf="3"),
            CALL_ID,
            None,
        ),
        (
            "another call's hangup",
            event(f"h_{OTHER}_17_0", OTHER_CALL),
            CALL_ID,
            f"CallID {OTHER_CALL} is not the attempt's {CALL_ID}",
        ),
        (
            "another CallID, the same number",
            event(f"h_{NUMBER}_17_0", OTHER_CALL),
            CALL_ID,
            f"CallID {OTHER_CALL} is not the attempt's {CALL_ID}",
        ),
        (
            "the same CallID, another number",
            event(f"o_{OTHER}"),
            CALL_ID,
            f"number {OTHER} is not the attempt's {NUMBER}",
        ),
        (
            "another number before sb-api's answer",
            event(f"h_{OTHER}_17_0", OTHER_CALL),
            None,
            f"number {OTHER} is not the attempt's {NUMBER}",
        ),
        (
            "another number, no CallID anywhere",
            event(f"n_{OTHER}", None, dtmf="null"),
            None,
            f"number {OTHER} is not the attempt's {NUMBER}",
        ),
        (
            "a transfer leg of another call",
            event(f"o_{OPERATOR}", OTHER_CALL, type="transfer", dtmf="3"),
            CALL_ID,
            f"CallID {OTHER_CALL} is not the attempt's {CALL_ID}",
        ),
    ],
)
def test_match_event(case: str, received: MttEvent, known: str | None, reason: str | None) -> None:
    verdict = match_event(received, call_id=known, number=NUMBER)
    if reason is None:
        assert verdict == MATCHED, case
    else:
        assert (verdict.status, verdict.reason) == (MatchStatus.CONFLICT, reason), case
