"""`POST /v1/sb` over real HTTP: auth, every refusal text, acceptance; raw and via SbApiClient."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import pytest_asyncio
from pydantic import SecretStr

from dialer.simulator import validation as v
from dialer.telecom.dtmf import SbDtmf
from dialer.telecom.sbapi import Accepted, CallRequest, Rejected, RejectReason, SbApiClient
from tests.dialer.simulator.harness import (
    A_NUMBER,
    IVR_METHOD,
    LOGIN,
    METHOD,
    PASSWORD,
    SIP_ID,
    Rig,
    http_client,
    ivr_body,
    menu_item,
    plain_body,
    start_rig,
)

CALL_ID = re.compile(r"[0-9a-f]{16}")
HTTPS = "https://crm.example/notify"


# One simulator for the module (starting and stopping uvicorn costs tenths of a second).
pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def shared_rig() -> AsyncIterator[Rig]:
    async with start_rig(allow_http_notify=False, rules={"last_digit": {"0": ["busy"]}}) as rig:
        yield rig


@pytest_asyncio.fixture(loop_scope="module")
async def rig(shared_rig: Rig) -> Rig:
    return await shared_rig.fresh()


async def test_a_valid_call_is_accepted_with_a_fresh_16_hex_call_id(rig: Rig) -> None:
    first = await rig.post(plain_body())
    second = await rig.post(plain_body(messId="1255491"))
    assert first.status_code == second.status_code == 200
    assert first.json()["result"] == {"success": 1}
    assert first.json()["id"] == "1255490"
    ids = [first.json()["CallID"], second.json()["CallID"]]
    assert all(CALL_ID.fullmatch(call_id) for call_id in ids)
    assert ids[0] != ids[1]
    assert [c["call_id"] for c in await rig.calls()] == ids


@pytest.mark.parametrize(
    "auth",
    [None, (LOGIN, "wrong"), ("other", PASSWORD)],
    ids=["none", "wrong password", "wrong login"],
)
async def test_wrong_credentials_get_401_and_place_nothing(
    rig: Rig, auth: tuple[str, str] | None
) -> None:
    async with http_client(base_url=rig.url) as anonymous:
        answer = await anonymous.post("/v1/sb", json=plain_body(), auth=auth)  # type: ignore[arg-type]
    assert answer.status_code == 401
    assert answer.headers["www-authenticate"].startswith("Basic")
    assert await rig.calls() == []
    assert (await rig.http.get("/_sim/stats")).json()["unauthorized"] == 1


async def test_a_wrong_method_is_access_forbidden_and_nothing_else(rig: Rig) -> None:
    answer = await rig.post(plain_body() | {"method": "metod"})
    assert (answer.status_code, answer.json()) == (200, {"message": "access forbidden"})


REFUSED: list[tuple[str, dict[str, Any], str]] = [
    ("b_number", plain_body(b_number="7910000000"), v.B_NUMBER_ERROR),
    ("a_number", plain_body(a_number="7958100000"), v.A_NUMBER_ERROR),
    ("ivr a_number", ivr_body([], a_number=None), v.A_NUMBER_ERROR),
    ("sip_id", plain_body(sip_id="7958000000"), v.SIP_ID_ERROR),
    ("notify http", ivr_body([menu_item(1, "notify", "http://crm.example/n")]), v.NOTIFY_ERROR),
    ("notify top-level", ivr_body([menu_item(2, "notify", "ftp://x")], top=True), v.NOTIFY_ERROR),
    ("transfer", ivr_body([menu_item(3, "transfer", "7499709011")]), v.TRANSFER_ERROR),
    ("messText", plain_body(messText=None), v.MESS_TEXT_ERROR),
    ("voice", plain_body(voice_name="robot"), '"voice_name" value is not allowed'),
]


@pytest.mark.parametrize(("body", "error"), [r[1:] for r in REFUSED], ids=[r[0] for r in REFUSED])
async def test_each_refusal_has_the_reference_shape_and_text(
    rig: Rig, body: dict[str, Any], error: str
) -> None:
    answer = await rig.post(body)
    doc = answer.json()
    assert answer.status_code == 200
    assert doc == {
        "result": {"success": 0, "error": error},
        "id": "1255490",
        "CallID": doc["CallID"],
    }
    assert CALL_ID.fullmatch(doc["CallID"])
    assert await rig.calls() == []


async def test_missing_mess_id_answers_a_call_id_as_id(rig: Rig) -> None:
    doc = (await rig.post(plain_body(messId=None))).json()
    assert doc["result"] == {"success": 0, "error": '"messId" not found in request body'}
    assert set(doc) == {"result", "id"}
    assert CALL_ID.fullmatch(doc["id"])


@pytest.mark.parametrize("top", [False, True], ids=["dtmf in data", "dtmf top-level"])
async def test_ivr_menu_is_taken_from_either_placement(rig: Rig, top: bool) -> None:
    menu = [menu_item(1, "notify", HTTPS), menu_item(3, "transfer", "74997090111")]
    answer = await rig.post(ivr_body(menu, top=top))
    assert answer.json()["result"] == {"success": 1}
    (call,) = await rig.calls()
    assert call["menu"] == [
        {"digit": 1, "type": "notify", "value": HTTPS},
        {"digit": 3, "type": "transfer", "value": "74997090111"},
    ]


@pytest.mark.parametrize(("allow", "accepted"), [(True, 1), (False, 0)])
async def test_http_notify_urls_are_accepted_only_with_the_knob(allow: bool, accepted: int) -> None:
    async with start_rig(allow_http_notify=allow) as rig:
        menu = [menu_item(1, "notify", f"{rig.receiver_url}/crm")]
        doc = (await rig.post(ivr_body(menu))).json()
    assert doc["result"]["success"] == accepted


def client(rig: Rig, http: httpx.AsyncClient, **overrides: Any) -> SbApiClient:
    values: dict[str, Any] = {
        "url": f"{rig.url}/v1/sb",
        "login": LOGIN,
        "password": SecretStr(PASSWORD),
        "method": METHOD,
        "ivr_method": IVR_METHOD,
        "sip_id": SIP_ID,
    }
    return SbApiClient(http, **(values | overrides))


def request(**overrides: Any) -> CallRequest:
    values: dict[str, Any] = {
        "mess_id": "501",
        "b_number": "79100000000",
        "text": "Ваш заказ готов",
    }
    return CallRequest(**(values | overrides))


NOTIFY_HTTP = SbDtmf(1, "notify", "http://crm.example/n")
THROUGH_CLIENT: list[tuple[str, dict[str, Any], dict[str, Any], RejectReason, str]] = [
    ("b_number", {}, {"b_number": "7910000000"}, RejectReason.INVALID_B_NUMBER, v.B_NUMBER_ERROR),
    ("a_number", {}, {"a_number": "749500000"}, RejectReason.INVALID_A_NUMBER, v.A_NUMBER_ERROR),
    ("sip_id", {"sip_id": "70000000000"}, {}, RejectReason.ACCOUNT, v.SIP_ID_ERROR),
    ("method", {"method": "metod"}, {}, RejectReason.ACCOUNT, "access forbidden"),
    ("password", {"password": SecretStr("x")}, {}, RejectReason.ACCOUNT, "HTTP 401"),
    (
        "notify",
        {},
        {"a_number": A_NUMBER, "dtmf": (NOTIFY_HTTP,)},
        RejectReason.BAD_REQUEST,
        v.NOTIFY_ERROR,
    ),
    (
        "transfer",
        {},
        {"a_number": A_NUMBER, "dtmf": (SbDtmf(3, "transfer", "8800"),)},
        RejectReason.BAD_REQUEST,
        v.TRANSFER_ERROR,
    ),
    ("messId", {}, {"mess_id": ""}, RejectReason.BAD_REQUEST, v.MESS_ID_ERROR),
    ("messText", {}, {"text": ""}, RejectReason.BAD_REQUEST, v.MESS_TEXT_ERROR),
    ("voice", {}, {"voice_name": "robot"}, RejectReason.BAD_REQUEST, "voice_name"),
]


@pytest.mark.parametrize(
    ("client_overrides", "req", "reason", "error"),
    [r[1:] for r in THROUGH_CLIENT],
    ids=[r[0] for r in THROUGH_CLIENT],
)
async def test_every_refusal_reaches_the_client_as_rejected(
    rig: Rig,
    client_overrides: dict[str, Any],
    req: dict[str, Any],
    reason: RejectReason,
    error: str,
) -> None:
    async with http_client() as http:
        answer = await client(rig, http, **client_overrides).place_call(request(**req))
    assert isinstance(answer, Rejected)
    assert answer.reason is reason
    assert error in answer.error
    assert await rig.calls() == []


@pytest.mark.parametrize("placement", ["data", "top"])
async def test_the_client_places_plain_and_ivr_calls(rig: Rig, placement: str) -> None:
    menu = (SbDtmf(1, "notify", HTTPS), SbDtmf(3, "transfer", "74997090111"))
    async with http_client() as http:
        sb = client(rig, http, dtmf_placement=placement)
        plain = await sb.place_call(request())
        ivr = await sb.place_call(request(mess_id="502", a_number=A_NUMBER, dtmf=menu))
    assert isinstance(plain, Accepted)
    assert isinstance(ivr, Accepted)
    calls = {c["call_id"]: c for c in await rig.calls()}
    assert calls[plain.call_id]["method"] == METHOD
    assert calls[ivr.call_id]["method"] == IVR_METHOD
    assert len(calls[ivr.call_id]["menu"]) == 2
