"""getCallHistory and getCustomerBalance reflect what was simulated; raw and via MttRpcClient."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import pytest_asyncio
from pydantic import SecretStr

from dialer.telecom.mtt_rpc import Balance, MttRpcClient, RpcFault
from tests.dialer.simulator.harness import (
    A_NUMBER,
    LOGIN,
    PASSWORD,
    SIP_ID,
    Rig,
    http_client,
    plain_body,
    start_rig,
)

RULES = {"last_digit": {"1": ["listened"], "2": ["busy"]}}
LISTENER, BUSY = "79100000001", "79100000002"


# One simulator for the module (starting and stopping uvicorn costs tenths of a second).
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared_rig() -> AsyncIterator[Rig]:
    async with start_rig(
        rules=RULES, start_balance=100.0, call_price=2.5, credit_limit=500.0, customer_name="110"
    ) as rig:
        yield rig


@pytest_asyncio.fixture(loop_scope="module")
async def rig(shared_rig: Rig) -> Rig:
    return await shared_rig.fresh()


async def place_two_calls(rig: Rig) -> dict[str, dict[str, Any]]:
    await rig.post(plain_body(messId="1", b_number=LISTENER, a_number=A_NUMBER))
    await rig.post(plain_body(messId="2", b_number=BUSY))
    return {call["b_number"]: call for call in await rig.calls()}


async def test_call_history_lists_every_finished_call(rig: Rig) -> None:
    calls = await place_two_calls(rig)
    answer = await rig.rpc("getCallHistory", {"sip_id": SIP_ID})
    assert (answer["jsonrpc"], answer["id"]) == ("2.0", "7")
    result = answer["result"]
    assert (result["incoming"], result["missed"], result["success"]) == ([], [], 1)
    rows = {row["cld"]: row for row in result["dialed"]}
    listened, busy = rows[LISTENER], rows[BUSY]
    assert (listened["cli"], busy["cli"]) == (A_NUMBER, SIP_ID)
    assert (listened["disconnect_cause"], busy["disconnect_cause"]) == ("16", "17")
    assert listened["used_quantity"] == str(calls[LISTENER]["duration"])
    assert busy["used_quantity"] == "0"
    assert (listened["CallID"], busy["CallID"]) == (
        calls[LISTENER]["call_id"],
        calls[BUSY]["call_id"],
    )
    assert (listened["charged"], busy["charged"]) == (2.5, 0.0)
    connected = datetime.strptime(listened["connect_time"], "%Y-%m-%d %H:%M:%S")
    received = datetime.fromisoformat(calls[LISTENER]["received_at"])
    assert timedelta(0) <= connected.replace(tzinfo=UTC) - received.replace(microsecond=0)
    assert connected.replace(tzinfo=UTC) - received <= timedelta(seconds=3)


async def test_balance_drops_by_the_price_of_each_answered_call(rig: Rig) -> None:
    before = await rig.rpc("getCustomerBalance", ["110"])
    await place_two_calls(rig)
    after = await rig.rpc("getCustomerBalance", {"customer_name": "110"})
    assert before["result"] == {"balance": 100.0, "real_balance": 600.0}
    assert after["result"] == {"balance": 97.5, "real_balance": 597.5}


@pytest.mark.parametrize(
    ("method", "params", "code", "message", "data"),
    [
        (
            "getCallHistory",
            {"sip_id": SIP_ID, "date_from": "2019-10-30"},
            -32602,
            "Invalid params",
            "Invalid begin date",
        ),
        (
            "getCallHistory",
            {"sip_id": SIP_ID, "date_to": "31.02.2019 10:00:00"},
            -32602,
            "Invalid params",
            "Invalid end date",
        ),
        ("getCallHistory", {}, -32602, "Invalid params", "Missing sip_id"),
        ("getCallHistory", {"sip_id": "70000000000"}, -32001, "Data not found", "No data found"),
        ("getCustomerBalance", [], -32602, "Invalid params", "Missing customer_name"),
        ("getCustomerBalance", ["999"], -32001, "Data not found", "This account does not exist"),
        ("getTariffs", {}, -32601, "Method not found", "no method 'getTariffs'"),
    ],
)
async def test_rpc_errors(
    rig: Rig, method: str, params: object, code: int, message: str, data: str
) -> None:
    answer = await rig.rpc(method, params)
    assert answer == {
        "jsonrpc": "2.0",
        "id": "7",
        "error": {"code": code, "message": message, "data": data},
    }


async def test_unparseable_and_malformed_requests(rig: Rig) -> None:
    parse = (await rig.http.post("/rpc", content=b"{")).json()
    invalid = (await rig.http.post("/rpc", json={"id": 3, "method": "getCallHistory"})).json()
    assert parse["error"]["code"] == -32700
    assert invalid == {
        "jsonrpc": "2.0",
        "id": 3,
        "error": {"code": -32600, "message": "Invalid Request"},
    }


async def test_rpc_needs_the_account_credentials(rig: Rig) -> None:
    async with http_client(base_url=rig.url) as anonymous:
        answer = await anonymous.post("/rpc", json={"jsonrpc": "2.0", "id": 1}, auth=("x", "y"))
    assert answer.status_code == 401


async def test_the_rpc_client_reads_history_period_and_balance(rig: Rig) -> None:
    calls = await place_two_calls(rig)
    now = datetime.now(UTC)
    async with http_client() as http:
        client = MttRpcClient(http, url=f"{rig.url}/rpc", login=LOGIN, password=SecretStr(PASSWORD))
        # Timestamps follow the simulated timeline, which runs ahead of the clock by up to
        # the dial delay (2 s) when time_factor < 1.
        history = await client.get_call_history(
            SIP_ID, now - timedelta(minutes=5), now + timedelta(minutes=1)
        )
        future = await client.get_call_history(SIP_ID, now + timedelta(hours=1))
        balance = await client.get_balance("110")
        with pytest.raises(RpcFault, match="-32001"):
            await client.get_call_history("70000000000")
    by_number = {record.b_number: record for record in history.dialed}
    assert by_number[LISTENER].disconnect_cause == 16
    assert by_number[LISTENER].duration == calls[LISTENER]["duration"]
    assert by_number[BUSY].disconnect_cause == 17
    assert by_number[BUSY].a_number == SIP_ID
    assert future.dialed == ()
    assert balance == Balance(Decimal("97.5"), Decimal("597.5"))


async def test_history_includes_calls_whose_final_event_was_dropped() -> None:
    async with start_rig(rules=RULES, drop_final_rate=1.0) as rig:
        await rig.post(plain_body(b_number=BUSY))
        await rig.sim.idle()
        rows = (await rig.rpc("getCallHistory", {"sip_id": SIP_ID}))["result"]["dialed"]
    assert rig.receiver.events() == [f"o_{BUSY}"]
    assert [(row["cld"], row["disconnect_cause"]) for row in rows] == [(BUSY, "17")]
