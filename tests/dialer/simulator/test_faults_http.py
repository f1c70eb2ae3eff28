"""Each fault knob has the effect it claims, seen over real HTTP and through SbApiClient."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from dialer.telecom.sbapi import (
    Accepted,
    CallRequest,
    NotSent,
    OutcomeUnknown,
    RetryPolicy,
    SbApiClient,
)
from tests.dialer.simulator.harness import (
    IVR_METHOD,
    LOGIN,
    METHOD,
    PASSWORD,
    SIP_ID,
    TOKEN,
    Rig,
    http_client,
    plain_body,
    start_rig,
)

NUMBER = "79100000001"
BUSY = {"last_digit": {"1": ["busy"]}}


def sb_client(rig: Rig, http: httpx.AsyncClient, retry: RetryPolicy) -> SbApiClient:
    return SbApiClient(
        http,
        url=f"{rig.url}/v1/sb",
        login=LOGIN,
        password=SecretStr(PASSWORD),
        method=METHOD,
        ivr_method=IVR_METHOD,
        sip_id=SIP_ID,
        retry=retry,
    )


def call(mess_id: str = "900") -> CallRequest:
    return CallRequest(mess_id=mess_id, b_number=NUMBER, text="Ваш заказ готов")


async def stats(rig: Rig) -> dict[str, Any]:
    doc: dict[str, Any] = (await rig.http.get("/_sim/stats")).json()
    return doc


async def test_latency_delays_every_answer() -> None:
    async with start_rig(latency=0.3) as rig:
        started = time.monotonic()
        answer = await rig.post(plain_body())
        elapsed = time.monotonic() - started
        refused = await rig.post(plain_body(b_number="1"))
    assert answer.json()["result"] == {"success": 1}
    assert refused.json()["result"]["success"] == 0
    assert 0.3 <= elapsed < 2.0


async def test_error_rate_answers_503_without_processing() -> None:
    async with start_rig(error_rate=1.0) as rig:
        answer = await rig.post(plain_body())
        async with http_client() as http:
            client = sb_client(rig, http, RetryPolicy(attempts=3, initial=0.01, max_wait=0.02))
            with pytest.raises(NotSent):
                await client.place_call(call())
        calls, counts = await rig.calls(), await stats(rig)
    assert (answer.status_code, answer.json()) == (503, {"message": "service unavailable"})
    assert calls == []
    assert (counts["requests"], counts["errors_5xx"], counts["accepted"]) == (4, 4, 0)


async def test_a_partial_error_rate_fails_some_requests_only() -> None:
    async with start_rig(error_rate=0.5, seed=3) as rig:
        codes = [(await rig.post(plain_body(messId=str(i)))).status_code for i in range(40)]
    assert set(codes) == {200, 503}
    assert 8 <= codes.count(503) <= 32


async def test_a_held_answer_times_the_client_out_but_the_call_goes_ahead() -> None:
    started = time.monotonic()
    async with start_rig(timeout_rate=1.0, timeout_delay=30.0, rules=BUSY) as rig:
        async with http_client(base_url=rig.url, auth=(LOGIN, PASSWORD), timeout=0.3) as raw:
            with pytest.raises(httpx.ReadTimeout):
                await raw.post("/v1/sb", json=plain_body(messId="901", b_number=NUMBER))
        async with http_client(timeout=0.3) as http:
            client = sb_client(rig, http, RetryPolicy(attempts=3, initial=0.01))
            with pytest.raises(OutcomeUnknown):
                await client.place_call(call("902"))
        calls = await rig.calls()
        counts = await stats(rig)
    assert time.monotonic() - started < 10, "a held answer must not keep the server from stopping"
    assert [(c["mess_id"], c["answer_held"]) for c in calls] == [("901", True), ("902", True)]
    assert counts["answers_held"] == 2
    assert sorted(h.fields()["id"] for h in rig.receiver.hits) == ["901", "901", "902", "902"]


async def test_a_client_that_waits_longer_gets_the_held_answer() -> None:
    async with start_rig(timeout_rate=1.0, timeout_delay=0.3) as rig:
        started = time.monotonic()
        answer = await rig.post(plain_body())
    assert answer.json()["result"] == {"success": 1}
    assert time.monotonic() - started >= 0.3


async def test_cps_limit_answers_429_beyond_the_limit_in_any_second() -> None:
    async with start_rig(cps_limit=3) as rig:
        burst = await asyncio.gather(*(rig.post(plain_body(messId=str(i))) for i in range(8)))
        await asyncio.sleep(1.05)
        later = await rig.post(plain_body(messId="later"))
        counts = await stats(rig)
    throttled = [r for r in burst if r.status_code == 429]
    assert [r.status_code for r in burst].count(200) == 3
    assert len(throttled) == 5
    assert {r.headers["retry-after"] for r in throttled} == {"1"}
    assert throttled[0].json() == {"message": "too many requests"}
    assert later.json()["result"] == {"success": 1}
    assert (counts["throttled"], counts["max_admitted_per_second"]) == (5, 3)
    assert (counts["max_requests_per_second"], counts["max_calls_per_second"]) == (8, 3)


async def test_the_client_gets_through_the_cps_limit_by_its_retries() -> None:
    async with start_rig(cps_limit=2) as rig:
        async with http_client() as http:
            client = sb_client(rig, http, RetryPolicy(attempts=6, initial=0.05, max_wait=1.2))
            answers = await asyncio.gather(*(client.place_call(call(str(i))) for i in range(4)))
        counts = await stats(rig)
    assert all(isinstance(answer, Accepted) for answer in answers)
    assert counts["throttled"] >= 2
    assert counts["max_calls_per_second"] == 2


async def test_duplicate_rate_sends_every_webhook_twice() -> None:
    async with start_rig(duplicate_rate=1.0, rules=BUSY) as rig:
        await rig.post(plain_body(b_number=NUMBER))
        (record,) = await rig.calls()
    bodies = [hit.body for hit in rig.receiver.hits]
    assert rig.receiver.events() == [f"o_{NUMBER}"] * 2 + [f"h_{NUMBER}_17_0"] * 2
    assert bodies[0] == bodies[1]
    assert bodies[2] == bodies[3]
    assert [w["duplicate"] for w in record["webhooks"]] == [False, True, False, True]


async def test_reorder_rate_sends_the_final_before_the_originate() -> None:
    async with start_rig(reorder_rate=1.0, rules=BUSY) as rig:
        await rig.post(plain_body(b_number=NUMBER))
        await rig.sim.idle()
    assert rig.receiver.events() == [f"h_{NUMBER}_17_0", f"o_{NUMBER}"]


async def test_drop_final_rate_never_sends_the_h_but_records_it() -> None:
    async with start_rig(drop_final_rate=1.0, rules=BUSY) as rig:
        await rig.post(plain_body(b_number=NUMBER))
        (record,) = await rig.calls()
    assert rig.receiver.events() == [f"o_{NUMBER}"]
    assert [(w["leg"], w["status"], w["attempts"]) for w in record["webhooks"]][1] == (
        "h",
        "dropped",
        [],
    )
    assert record["finished"] is True


async def test_a_failing_receiver_gets_the_event_again_with_backoff() -> None:
    async with start_rig(webhook_retries=3, rules=BUSY) as rig:
        rig.receiver.fail["o"] = 2
        await rig.post(plain_body(b_number=NUMBER))
        (record,) = await rig.calls()
        counts = await stats(rig)
    assert sorted(rig.receiver.events()) == [f"h_{NUMBER}_17_0", f"o_{NUMBER}"]
    assert [hit.event for hit in rig.receiver.refused] == [f"o_{NUMBER}"] * 2
    o_record = record["webhooks"][0]
    assert [a["status"] for a in o_record["attempts"]] == [500, 500, 200]
    assert o_record["status"] == "delivered"
    assert (counts["webhook_retries"], counts["webhooks_sent"], counts["webhooks_failed"]) == (
        2,
        2,
        0,
    )


async def test_redelivery_is_bounded() -> None:
    async with start_rig(webhook_retries=1, rules=BUSY) as rig:
        rig.receiver.fail["o"] = 5
        await rig.post(plain_body(b_number=NUMBER))
        (record,) = await rig.calls()
    assert [a["status"] for a in record["webhooks"][0]["attempts"]] == [500, 500]
    assert record["webhooks"][0]["status"] == "failed"
    assert rig.receiver.events() == [f"h_{NUMBER}_17_0"]


async def test_unreachable_receiver_is_retried_and_the_token_never_shown() -> None:
    unused = httpx.URL("http://127.0.0.1:9/webhooks/mtt/" + TOKEN)
    async with start_rig(webhook_retries=2, event_url=str(unused), rules=BUSY) as rig:
        await rig.post(plain_body(b_number=NUMBER))
        await rig.sim.idle()
        text = (await rig.http.get("/_sim/calls")).text
        (record,) = (await rig.http.get("/_sim/calls")).json()["calls"]
    assert TOKEN not in text
    webhook = record["webhooks"][0]
    assert webhook["url"] == "http://127.0.0.1:9/webhooks/mtt/***"
    assert webhook["status"] == "failed"
    assert [a["error"].split(":")[0] for a in webhook["attempts"]] == ["ConnectError"] * 3


async def test_a_receiver_slower_than_webhook_timeout_counts_as_failed() -> None:
    async with start_rig(webhook_timeout=0.1, webhook_retries=0, rules=BUSY) as rig:
        rig.receiver.delay = 0.3
        await rig.post(plain_body(b_number=NUMBER))
        (record,) = await rig.calls()
    errors = [w["attempts"][0]["error"].split(":")[0] for w in record["webhooks"]]
    assert errors == ["ReadTimeout", "ReadTimeout"]
    assert [w["status"] for w in record["webhooks"]] == ["failed", "failed"]
