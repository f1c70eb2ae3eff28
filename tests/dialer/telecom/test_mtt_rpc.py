"""MTT JSON-RPC client: request shape, the reference's answers and errors, retries of reads."""

from __future__ import annotations

import base64
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from dialer.settings import Settings
from dialer.telecom.mtt_rpc import (
    Balance,
    CallRecord,
    MttRpcClient,
    RpcFault,
    RpcUnavailable,
    parse_history,
)
from dialer.telecom.sbapi import RetryPolicy
from tests.dialer.telecom.sbapi_server import LoopbackServer, Recorder, json_reply

LOGIN = "acme-login"
PASSWORD = "rpc-pa55-s3cret"
TOKEN = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
FAST = RetryPolicy(attempts=3, initial=0.01, max_wait=0.05)
MSK = timezone(timedelta(hours=3))


def history_row(**overrides: Any) -> dict[str, Any]:
    """A dialed row as the reference prints it (strings for numbers, "clid" for the callee)."""
    row: dict[str, Any] = {
        "cli": "79103880489",
        "clid": "79103880490",
        "customer_local_time": "2018-02-06 16:51:17",
        "connect_time": "2018-02-06 16:51:17",
        "charged_time": "0",
        "charged": 0,
        "destination": "RUSSIAN FEDERATION",
        "curr": "RUB",
        "disconnect_cause": "16",
        "used_quantity": "32",
        "h323_conf_id": "07A9B59A 05F65003 13B136EE D90263EE",
    }
    return row | overrides


def rpc_result(result: Any, request_id: Any = 1) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def rpc_error(code: int, message: str, data: Any = None) -> dict[str, Any]:
    error = {"code": code, "message": message} | ({"data": data} if data is not None else {})
    return {"jsonrpc": "2.0", "id": "3", "error": error}


@asynccontextmanager
async def mocked(
    *outcomes: httpx.Response | Exception,
) -> AsyncIterator[tuple[MttRpcClient, Recorder]]:
    recorder = Recorder(*outcomes)
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        client = MttRpcClient(
            http,
            url="https://rpc.example/index.php",
            login=LOGIN,
            password=SecretStr(PASSWORD),
            retry=FAST,
        )
        yield client, recorder


def sent(recorder: Recorder, index: int = 0) -> Any:
    return json.loads(recorder.requests[index].content)


async def test_call_history_request_sends_sip_id_and_utc_dates_in_the_reference_format() -> None:
    ok = httpx.Response(200, json=rpc_result({"incoming": [], "missed": [], "dialed": []}))
    async with mocked(ok) as (client, rec):
        await client.get_call_history(
            "74996480000",
            date_from=datetime(2019, 10, 30, 13, 23, 35, tzinfo=MSK),
            date_to=datetime(2019, 10, 30, 22, 23, 35, tzinfo=UTC),
        )
    body = sent(rec)
    assert rec.requests[0].headers["authorization"] == f"Basic {TOKEN}"
    assert (body["jsonrpc"], body["method"]) == ("2.0", "getCallHistory")
    assert body["params"] == {
        "sip_id": "74996480000",
        "date_from": "30.10.2019 10:23:35",
        "date_to": "30.10.2019 22:23:35",
    }


async def test_call_history_without_dates_sends_only_sip_id_and_fresh_ids() -> None:
    ok = httpx.Response(200, json=rpc_result({"dialed": []}))
    async with mocked(ok) as (client, rec):
        await client.get_call_history("74996480000")
        await client.get_call_history("74996480000")
    assert sent(rec)["params"] == {"sip_id": "74996480000"}
    assert sent(rec, 0)["id"] != sent(rec, 1)["id"]


async def test_call_history_refuses_naive_dates_before_sending() -> None:
    async with mocked(httpx.Response(200, json=rpc_result({}))) as (client, rec):
        with pytest.raises(ValueError, match=r"date_from=.* must be timezone-aware"):
            await client.get_call_history("74996480000", date_from=datetime(2019, 10, 30))
    assert rec.requests == []


async def test_call_history_parses_the_reference_answer() -> None:
    second = history_row(
        cli="79057979388", connect_time="2018-02-07 16:50:15", disconnect_cause="17"
    )
    del second["h323_conf_id"]
    result = {
        "incoming": [],
        "missed": [],
        "dialed": [history_row(), second],
        "callback": [],
        "success": 1,
    }
    async with mocked(httpx.Response(200, json=rpc_result(result, "3"))) as (client, _):
        history = await client.get_call_history("74996480000")
    assert history.incoming == history.missed == ()
    assert history.dialed == (
        CallRecord(
            conf_id="07A9B59A 05F65003 13B136EE D90263EE",
            call_id=None,
            mess_id=None,
            a_number="79103880489",
            b_number="79103880490",
            connect_time=datetime(2018, 2, 6, 16, 51, 17, tzinfo=UTC),
            duration=32,
            disconnect_cause=16,
        ),
        CallRecord(
            conf_id=None,
            call_id=None,
            mess_id=None,
            a_number="79057979388",
            b_number="79103880490",
            connect_time=datetime(2018, 2, 7, 16, 50, 15, tzinfo=UTC),
            duration=32,
            disconnect_cause=17,
        ),
    )


@pytest.mark.parametrize(
    ("overrides", "field", "expected"),
    [
        ({"cld": "74959333223"}, "b_number", "74959333223"),
        ({"disconnect_cause": 34}, "disconnect_cause", 34),
        ({"disconnect_cause": ""}, "disconnect_cause", None),
        ({"disconnect_cause": "NaN"}, "disconnect_cause", None),
        ({"used_quantity": "Infinity"}, "duration", 0),
        ({"used_quantity": 119}, "duration", 119),
        ({"used_quantity": None}, "duration", 0),
        ({"used_quantity": "9e999999999"}, "duration", 0),
        ({"used_quantity": "16.0"}, "duration", 16),
        ({"connect_time": "06.02.2018"}, "connect_time", None),
        ({"h323_conf_id": "  "}, "conf_id", None),
        ({"CallID": "00035c7d92bb0971"}, "call_id", "00035c7d92bb0971"),
        ({"id": 1255490}, "mess_id", "1255490"),
    ],
)
def test_history_row_fields_are_read_loosely(
    overrides: dict[str, Any], field: str, expected: object
) -> None:
    [record] = parse_history({"dialed": [history_row(**overrides)]}).dialed
    assert getattr(record, field) == expected


rows = st.lists(
    st.one_of(
        st.dictionaries(
            st.sampled_from(
                [
                    "cli",
                    "cld",
                    "clid",
                    "connect_time",
                    "used_quantity",
                    "disconnect_cause",
                    "h323_conf_id",
                ]
            ),
            st.one_of(st.none(), st.booleans(), st.integers(), st.floats(), st.text(max_size=20)),
        ),
        st.integers(),
        st.text(max_size=5),
    ),
    max_size=5,
)


@given(dialed=rows, missed=st.one_of(rows, st.none(), st.text(max_size=5)))
def test_history_of_any_shape_parses_without_error(dialed: list[object], missed: object) -> None:
    history = parse_history({"dialed": dialed, "missed": missed})
    assert len(history.dialed) == sum(isinstance(row, dict) for row in dialed)
    if not isinstance(missed, list):
        assert history.missed == ()


@pytest.mark.parametrize(
    ("answer", "code", "message", "data"),
    [
        (
            rpc_error(-32602, "Invalid params", "Invalid begin date"),
            -32602,
            "Invalid params",
            "Invalid begin date",
        ),
        (rpc_error(-32001, "Data not found"), -32001, "Data not found", None),
    ],
)
async def test_json_rpc_error_object_becomes_rpc_fault(
    answer: dict[str, Any], code: int, message: str, data: object
) -> None:
    async with mocked(httpx.Response(200, json=answer)) as (client, rec):
        with pytest.raises(
            RpcFault, match=f"getCallHistory: JSON-RPC error {code} {message}"
        ) as caught:
            await client.get_call_history("74996480000")
    assert (caught.value.code, caught.value.message, caught.value.data) == (code, message, data)
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    ("response", "message"),
    [
        (
            httpx.Response(200, text="<html>maintenance</html>"),
            "HTTP 200, not JSON: <html>maintenance",
        ),
        (httpx.Response(401, text="Unauthorized"), "HTTP 401, not JSON: Unauthorized"),
        (httpx.Response(200, json={"jsonrpc": "2.0", "id": 1}), "HTTP 200, no result"),
        (httpx.Response(404, json=rpc_result({})), "HTTP 404, no result"),
    ],
)
async def test_unusable_answer_is_rpc_unavailable(response: httpx.Response, message: str) -> None:
    async with mocked(response) as (client, _):
        with pytest.raises(RpcUnavailable, match=message):
            await client.get_balance("110000000")


@pytest.mark.parametrize(
    "failure",
    [
        httpx.Response(503),
        httpx.Response(500),
        httpx.Response(429, headers={"Retry-After": "0"}),
        httpx.ConnectError("refused"),
        httpx.ReadTimeout("slow"),
    ],
)
async def test_reads_are_retried_on_any_transient_failure(
    failure: httpx.Response | Exception,
) -> None:
    ok = httpx.Response(200, json=rpc_result({"balance": 1, "real_balance": 2}))
    async with mocked(failure, ok) as (client, rec):
        assert await client.get_balance("110000000") == Balance(Decimal(1), Decimal(2))
    assert len(rec.requests) == 2


async def test_retries_are_bounded() -> None:
    async with mocked(httpx.ReadTimeout("slow")) as (client, rec):
        with pytest.raises(RpcUnavailable, match="no answer after 3 tries: ReadTimeout: slow"):
            await client.get_balance("110000000")
    assert len(rec.requests) == FAST.attempts


async def test_balance_sends_the_account_by_position_and_reads_exact_decimals() -> None:
    ok = httpx.Response(
        200,
        text='{"jsonrpc": "2.0", "id": 1, "result": {"balance": 121.54, "real_balance": 711.54}}',
    )
    async with mocked(ok) as (client, rec):
        balance = await client.get_balance("110000000")
    assert balance == Balance(Decimal("121.54"), Decimal("711.54"))
    assert (sent(rec)["method"], sent(rec)["params"]) == ("getCustomerBalance", ["110000000"])


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        ({"balance": "-5.10"}, Balance(Decimal("-5.10"), None)),
        ({"balance": 0, "real_balance": "x"}, Balance(Decimal(0), None)),
    ],
)
async def test_balance_fields_are_read_loosely(result: dict[str, Any], expected: Balance) -> None:
    async with mocked(httpx.Response(200, json=rpc_result(result))) as (client, _):
        assert await client.get_balance("110000000") == expected


@pytest.mark.parametrize("result", [{}, {"balance": None}, {"balance": True}, {"balance": "NaN"}])
async def test_balance_without_a_number_is_rpc_unavailable(result: dict[str, Any]) -> None:
    async with mocked(httpx.Response(200, json=rpc_result(result))) as (client, _):
        with pytest.raises(RpcUnavailable, match="no numeric balance"):
            await client.get_balance("110000000")


async def test_secrets_echoed_by_the_server_never_reach_errors() -> None:
    echo = httpx.Response(400, text=f"Authorization: Basic {TOKEN} / {PASSWORD}")
    async with mocked(echo) as (client, _):
        with pytest.raises(RpcUnavailable) as caught:
            await client.get_balance("110000000")
    assert TOKEN not in str(caught.value)
    assert PASSWORD not in str(caught.value)


async def test_from_settings_needs_the_rpc_url() -> None:
    settings = Settings(_env_file=None, sb_login=LOGIN, mtt_rpc_url=None)
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError, match="DIALER_MTT_RPC_URL"):
            MttRpcClient.from_settings(settings, http)


async def test_loopback_balance_over_real_http() -> None:
    server = LoopbackServer([json_reply(rpc_result({"balance": 121.54, "real_balance": 711.54}))])
    settings = Settings(
        _env_file=None, sb_login=LOGIN, sb_password=SecretStr(PASSWORD), mtt_rpc_url=server.url
    )
    async with server, httpx.AsyncClient(timeout=2.0, trust_env=False) as http:
        balance = await MttRpcClient.from_settings(settings, http).get_balance("110000000")
    assert balance == Balance(Decimal("121.54"), Decimal("711.54"))
    [request] = server.requests
    assert request.headers["authorization"] == f"Basic {TOKEN}"
    assert request.json()["params"] == ["110000000"]
