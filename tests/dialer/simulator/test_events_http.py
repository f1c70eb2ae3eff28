"""Forced outcomes arrive at a real receiver as the right events, in MTT's formats and order."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

import pytest

from dialer.simulator.options import PlainFormat
from dialer.simulator.wire import MOSCOW
from tests.dialer.simulator.harness import (
    TOKEN,
    Hit,
    Rig,
    ivr_body,
    menu_item,
    plain_body,
    start_rig,
)

NUMBER = "79100000001"
TARGET = "74997090111"
HOOK_PATH = f"/webhooks/mtt/{TOKEN}"
DATE_TIME = re.compile(r"[0-9]{4}(-[0-9]{2}){5}")


def scripted(*causes: Any, dtmf: Any = None, number: str = NUMBER) -> dict[str, Any]:
    return {"numbers": {number: {"causes": list(causes), "dtmf": dtmf}}}


def by_call(hits: list[Hit]) -> dict[str, list[dict[str, str]]]:
    grouped: dict[str, list[dict[str, str]]] = {}
    for hit in hits:
        fields = hit.fields()
        grouped.setdefault(fields["CallID"], []).append(fields)
    return grouped


CONTENT_TYPES = {
    PlainFormat.FORM: "application/x-www-form-urlencoded",
    PlainFormat.TEXT: "text/plain; charset=utf-8",
    PlainFormat.DATA: "application/json",
    PlainFormat.QUERY: None,
}


@pytest.mark.parametrize("plain_format", list(PlainFormat))
async def test_busy_then_listened_as_key_value_events(plain_format: PlainFormat) -> None:
    rules = scripted("busy", "listened")
    async with start_rig(rules=rules, plain_format=plain_format) as rig:
        first = (await rig.post(plain_body(messId="11", b_number=NUMBER))).json()
        await rig.sim.idle()
        second = (await rig.post(plain_body(messId="12", b_number=NUMBER))).json()
        calls = await rig.calls()
    hits = rig.receiver.hits
    assert {hit.path for hit in hits} == {HOOK_PATH}
    assert {hit.content_type for hit in hits} == {CONTENT_TYPES[plain_format]}
    tts = calls[1]["tts_seconds"]
    assert [(h.fields()["id"], h.fields()["CallID"], h.event) for h in hits] == [
        ("11", first["CallID"], f"o_{NUMBER}"),
        ("11", first["CallID"], f"h_{NUMBER}_17_0"),
        ("12", second["CallID"], f"o_{NUMBER}"),
        ("12", second["CallID"], f"h_{NUMBER}_16_{tts}"),
    ]
    assert [list(h.fields()) for h in hits] == [["date_time", "id", "CallID", "event"]] * 4
    assert [(c["attempt"], c["outcome"], c["forced"]) for c in calls] == [
        (0, "busy", True),
        (1, "listened", True),
    ]


async def test_date_time_is_moscow_time_of_the_simulated_timeline() -> None:
    async with start_rig(rules=scripted("listened")) as rig:
        await rig.post(plain_body(b_number=NUMBER))
        (call,) = await rig.calls()
    o, h = (hit.fields()["date_time"] for hit in rig.receiver.hits)
    assert DATE_TIME.fullmatch(o)
    assert DATE_TIME.fullmatch(h)
    received = datetime.fromisoformat(call["received_at"])
    opened = datetime.strptime(o, "%Y-%m-%d-%H-%M-%S").replace(tzinfo=MOSCOW)
    closed = datetime.strptime(h, "%Y-%m-%d-%H-%M-%S").replace(tzinfo=MOSCOW)
    assert 0 <= (opened - received.replace(microsecond=0)).total_seconds() <= 3
    assert (closed - opened).total_seconds() >= 3 + call["tts_seconds"] - 1


@pytest.mark.parametrize(
    ("step", "cause"),
    [("no_answer", 19), ("unavailable", 20), ("rejected", 21), ("invalid", 1), (102, 102)],
)
async def test_unanswered_outcomes_end_with_their_cause_and_zero_seconds(
    step: Any, cause: int
) -> None:
    async with start_rig(rules={"last_digit": {"1": [step]}}) as rig:
        await rig.post(plain_body(b_number=NUMBER))
        await rig.sim.idle()
    assert rig.receiver.events() == [f"o_{NUMBER}", f"h_{NUMBER}_{cause}_0"]


async def ivr_rig_call(rig: Rig, *, top: bool = False) -> tuple[str, dict[str, Any]]:
    menu = [
        menu_item(1, "notify", f"{rig.receiver_url}/crm/choice-1"),
        menu_item(2, "notify", f"{rig.receiver_url}/crm/choice-2"),
        menu_item(3, "transfer", TARGET),
    ]
    answer = (await rig.post(ivr_body(menu, top=top, b_number=NUMBER))).json()
    (call,) = await rig.calls()
    return answer["CallID"], call


async def test_ivr_notify_choice_posts_n_to_the_chosen_url() -> None:
    async with start_rig(rules=scripted("listened", dtmf=2)) as rig:
        call_id, call = await ivr_rig_call(rig)
    hits = rig.receiver.hits
    assert {hit.content_type for hit in hits} == {"application/json"}
    assert [(hit.path, hit.fields()) for hit in hits] == [
        (HOOK_PATH, {**base(hits[0], call_id), "event": f"o_{NUMBER}"}),
        (
            "/crm/choice-2",
            {**base(hits[1], call_id), "dtmf": "2", "type": "notify", "event": f"n_{NUMBER}"},
        ),
        (HOOK_PATH, {**base(hits[2], call_id), "event": f"h_{NUMBER}_16_{call['duration']}"}),
    ]
    assert call["duration"] >= call["tts_seconds"]
    assert (call["dtmf"], call["action"]) == (2, "notify")


def base(hit: Hit, call_id: str) -> dict[str, str]:
    return {"date_time": hit.fields()["date_time"], "id": "1255490", "CallID": call_id}


async def test_ivr_transfer_sends_both_legs_then_the_callee_h_dated_earlier() -> None:
    async with start_rig(rules=scripted(16, dtmf=3)) as rig:
        call_id, call = await ivr_rig_call(rig, top=True)
    talk = call["transfer"]["talk"]
    assert call["transfer"] == {"number": TARGET, "cause": 16, "talk": talk}
    fields = by_call(rig.receiver.hits)[call_id]
    assert [f["event"] for f in fields] == [
        f"o_{NUMBER}",
        f"o_{TARGET}",
        f"h_{TARGET}_16_{talk}",
        f"h_{NUMBER}_16_{call['duration']}",
    ]
    assert [(f.get("dtmf"), f.get("type")) for f in fields] == [
        (None, None),
        ("3", "transfer"),
        ("3", "transfer"),
        (None, None),
    ]
    assert fields[3]["date_time"] < fields[2]["date_time"]
    assert call["duration"] >= call["tts_seconds"] + talk


@pytest.mark.parametrize("step", ["listened", "hung_up"])
async def test_an_answered_ivr_call_without_a_choice_notifies_null(step: str) -> None:
    async with start_rig(rules=scripted(step, dtmf="none")) as rig:
        _, call = await ivr_rig_call(rig)
    assert [(hit.path, hit.event) for hit in rig.receiver.hits] == [
        (HOOK_PATH, f"o_{NUMBER}"),
        ("/crm/choice-1", f"n_{NUMBER}"),
        (HOOK_PATH, f"h_{NUMBER}_16_{call['duration']}"),
    ]
    assert rig.receiver.hits[1].fields()["dtmf"] == "null"


async def test_last_digit_rules_and_the_seeded_draw_for_the_rest() -> None:
    rules = {"last_digit": {"3": ["unavailable"]}}
    numbers = [f"7910000000{d}" for d in range(10)]

    async def run(seed: int) -> list[tuple[str, str, bool]]:
        async with start_rig(rules=rules, seed=seed) as rig:
            for index, number in enumerate(numbers):
                await rig.post(plain_body(messId=str(index), b_number=number))
            return [(c["b_number"], c["outcome"], c["forced"]) for c in await rig.calls()]

    first, again = await run(5), await run(5)
    assert first == again
    assert first[3] == ("79100000003", "unavailable", True)
    assert all(not forced for number, _, forced in first if number != "79100000003")
