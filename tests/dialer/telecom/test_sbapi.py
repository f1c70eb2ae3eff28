"""sb-api client: request shape and every answer of the reference (MockTransport), then the
retry/no-resend rules over real HTTP on loopback."""

from __future__ import annotations

import asyncio
import base64
import json
import logging
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from typing import Any

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st
from pydantic import SecretStr

from dialer.settings import DtmfPlacement, Settings
from dialer.telecom.dtmf import SbDtmf
from dialer.telecom.sbapi import (
    Accepted,
    CallRequest,
    NotSent,
    OutcomeUnknown,
    Rejected,
    RejectReason,
    RetryPolicy,
    SbApiClient,
    parse_response,
    redactor,
    retry_after_seconds,
)
from tests.dialer.telecom.sbapi_server import LoopbackServer, Recorder, Reply, json_reply

LOGIN = "acme-login"
PASSWORD = "pa55-w0rd-s3cret"
TOKEN = base64.b64encode(f"{LOGIN}:{PASSWORD}".encode()).decode()
FAST = RetryPolicy(attempts=3, initial=0.01, max_wait=0.05)
MESS_ID = "1255490"
CALL_ID = "00035c7d92bb061e"


def call_request(**overrides: Any) -> CallRequest:
    fields: dict[str, Any] = {"mess_id": MESS_ID, "b_number": "79100000000", "text": "Привет"}
    return CallRequest(**(fields | overrides))


def dtmf_menu() -> tuple[SbDtmf, ...]:
    return (
        SbDtmf(1, "notify", "https://example.org/mtt/event"),
        SbDtmf(3, "transfer", "74997090111"),
    )


def make_client(http: httpx.AsyncClient, **overrides: Any) -> SbApiClient:
    options: dict[str, Any] = {
        "url": "https://sb-api.example/v1/sb",
        "login": LOGIN,
        "password": SecretStr(PASSWORD),
        "method": "acme-method",
        "sip_id": "74950000000",
        "retry": FAST,
    }
    return SbApiClient(http, **(options | overrides))


def answer(success: object, error: str | None = None, **top: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"success": success}
    if error is not None:
        result["error"] = error
    return {"result": result, "id": MESS_ID, **top}


@asynccontextmanager
async def mocked(
    *outcomes: httpx.Response | Exception, **overrides: Any
) -> AsyncIterator[tuple[SbApiClient, Recorder]]:
    recorder = Recorder(*outcomes)
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        yield make_client(http, **overrides), recorder


def body_of(recorder: Recorder) -> Any:
    return json.loads(recorder.requests[0].content)


# --- request shape -------------------------------------------------------------------------


async def test_plain_call_uses_configured_method_and_omits_unset_optionals() -> None:
    async with mocked(httpx.Response(200, json=answer(1, CallID=CALL_ID))) as (client, rec):
        await client.place_call(call_request())
    request = rec.requests[0]
    assert request.method == "POST"
    assert str(request.url) == "https://sb-api.example/v1/sb"
    assert request.headers["authorization"] == f"Basic {TOKEN}"
    assert request.headers["content-type"] == "application/json"
    assert body_of(rec) == {
        "method": "acme-method",
        "data": {
            "messId": MESS_ID,
            "sip_id": "74950000000",
            "b_number": "79100000000",
            "messText": "Привет",
        },
    }


async def test_plain_call_sends_every_given_optional_under_its_wire_name() -> None:
    req = call_request(
        a_number="74951112233", lang="en-US", voice_name="oksana", emotion="good", speed=1.5
    )
    async with mocked(httpx.Response(200, json=answer(1, CallID=CALL_ID))) as (client, rec):
        await client.place_call(req)
    data = body_of(rec)["data"]
    assert {k: data[k] for k in ("a_number", "langCode", "voice_name", "emotion")} == {
        "a_number": "74951112233",
        "langCode": "en-US",
        "voice_name": "oksana",
        "emotion": "good",
    }
    assert data["speed_speech"] == 1.5
    assert "dtmf" not in data


WIRE_MENU = [
    {"dtmf_id": "1", "type": "notify", "value": "https://example.org/mtt/event"},
    {"dtmf_id": "3", "type": "transfer", "value": "74997090111"},
]


@pytest.mark.parametrize(
    ("placement", "in_data", "on_top"),
    [(DtmfPlacement.DATA, WIRE_MENU, None), (DtmfPlacement.TOP, None, WIRE_MENU)],
)
async def test_ivr_call_uses_ivr_method_and_places_menu_per_setting(
    placement: DtmfPlacement, in_data: object, on_top: object
) -> None:
    req = call_request(a_number="74951112233", dtmf=dtmf_menu())
    ok = httpx.Response(200, json=answer(1, CallID=CALL_ID))
    async with mocked(ok, dtmf_placement=placement, ivr_method="ivr-x") as (client, rec):
        assert await client.place_call(req) == Accepted(MESS_ID, CALL_ID)
    body = body_of(rec)
    assert body["method"] == "ivr-x"
    assert body["data"].get("dtmf") == in_data
    assert body.get("dtmf") == on_top
    assert set(body) == {"method", "data"} | ({"dtmf"} if on_top else set())


async def test_ivr_call_without_a_number_is_refused_before_sending() -> None:
    async with mocked(httpx.Response(200, json=answer(1, CallID=CALL_ID))) as (client, rec):
        with pytest.raises(ValueError, match="messId=1255490: a_number is required"):
            await client.place_call(call_request(dtmf=dtmf_menu()))
    assert rec.requests == []


async def test_from_settings_takes_account_and_placement_from_settings() -> None:
    settings = Settings(
        _env_file=None,
        sb_api_url="https://mtt.example/v1/sb",
        sb_login=LOGIN,
        sb_password=SecretStr(PASSWORD),
        sb_method="from-settings",
        sb_ivr_method="ivr-from-settings",
        sip_id="74950000001",
        dtmf_placement=DtmfPlacement.TOP,
    )
    recorder = Recorder(httpx.Response(200, json=answer(1, CallID=CALL_ID)))
    async with httpx.AsyncClient(transport=httpx.MockTransport(recorder)) as http:
        client = SbApiClient.from_settings(settings, http)
        await client.place_call(call_request(a_number="74951112233", dtmf=dtmf_menu()))
    body = body_of(recorder)
    assert str(recorder.requests[0].url) == "https://mtt.example/v1/sb"
    assert recorder.requests[0].headers["authorization"] == f"Basic {TOKEN}"
    assert (body["method"], body["data"]["sip_id"], "dtmf" in body) == (
        "ivr-from-settings",
        "74950000001",
        True,
    )


async def test_from_settings_without_login_names_the_setting() -> None:
    settings = Settings(_env_file=None, sb_login=None)
    async with httpx.AsyncClient() as http:
        with pytest.raises(ValueError, match="DIALER_SB_LOGIN"):
            SbApiClient.from_settings(settings, http)


# --- answers -------------------------------------------------------------------------------

B_ERR = '"b_number" should be in e164 format'
A_ERR = '"a_number" should be in e164 format'
BROKEN_FORBIDDEN = (
    '{\n  {\n    "result": {"success": 0, "error": "Forbidden"},\n'
    f'    "id": "{MESS_ID}",\n    "CallID": "00035c7d9226611f"\n  }}\n}}'
).encode()


def rejected(reason: RejectReason, error: str, call_id: str | None = None) -> Rejected:
    return Rejected(MESS_ID, reason, error, call_id)


BAD_B, BAD_A = RejectReason.INVALID_B_NUMBER, RejectReason.INVALID_A_NUMBER
ACCOUNT, BAD = RejectReason.ACCOUNT, RejectReason.BAD_REQUEST
NO_MESS_ID = '"messId" not found in request body'
NOT_HTTPS = '"notify" value is not allowed'
FORBIDDEN = {"message": "access forbidden"}


@pytest.mark.parametrize(
    ("status", "body", "expected"),
    [
        (200, answer(1, CallID=CALL_ID), Accepted(MESS_ID, CALL_ID)),
        (200, answer("1", CallID=1234567), Accepted(MESS_ID, "1234567")),
        (200, {**answer(1), "id": 1255490, "callid": CALL_ID}, Accepted(MESS_ID, CALL_ID)),
        (200, answer(0, B_ERR, CallID=CALL_ID), rejected(BAD_B, B_ERR, CALL_ID)),
        (200, answer(0, A_ERR, CallID=CALL_ID), rejected(BAD_A, A_ERR, CALL_ID)),
        (200, answer(0, NO_MESS_ID, id="00035c7d92bb099a"), rejected(BAD, NO_MESS_ID)),
        (200, answer(0, NOT_HTTPS, CallID=CALL_ID), rejected(BAD, NOT_HTTPS, CALL_ID)),
        (200, answer(0, "Forbidden", CallID=CALL_ID), rejected(ACCOUNT, "Forbidden", CALL_ID)),
        (200, BROKEN_FORBIDDEN, rejected(ACCOUNT, "Forbidden", "00035c7d9226611f")),
        (200, FORBIDDEN, rejected(ACCOUNT, "access forbidden")),
        (200, answer("0"), rejected(BAD, "success 0 without error")),
        (403, FORBIDDEN, rejected(ACCOUNT, "HTTP 403: access forbidden")),
        (401, b"", rejected(ACCOUNT, "HTTP 401: <empty body>")),
        (401, b"Unauthorized", rejected(ACCOUNT, "HTTP 401: Unauthorized")),
        (400, b"<html>bad</html>", rejected(BAD, "HTTP 400: <html>bad</html>")),
        (404, b"", rejected(BAD, "HTTP 404: <empty body>")),
        (422, answer(0, B_ERR), rejected(BAD_B, B_ERR)),
        (301, b"", rejected(BAD, "HTTP 301: <empty body>")),
    ],
)
async def test_answer_is_classified(
    status: int, body: object, expected: Accepted | Rejected
) -> None:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    async with mocked(httpx.Response(status, content=content)) as (client, rec):
        assert await client.place_call(call_request()) == expected
    assert len(rec.requests) == 1


@pytest.mark.parametrize(
    ("status", "content", "message"),
    [
        (200, b"<html>ok</html>", "unrecognised body: <html>ok</html>"),
        (200, b"", "unrecognised body: <empty body>"),
        (200, b"[]", "unrecognised body"),
        (200, json.dumps(answer(1)).encode(), "unrecognised body"),
        (200, json.dumps(answer("yes", CallID=CALL_ID)).encode(), "unrecognised body"),
        (200, json.dumps({"message": "ok"}).encode(), "unrecognised body"),
        (400, json.dumps(answer(1, CallID=CALL_ID)).encode(), "HTTP 400 with a success body"),
        (500, b"Internal Server Error", "HTTP 500: Internal Server Error"),
        (501, b"", "HTTP 501"),
    ],
)
async def test_unreadable_or_ambiguous_answer_is_outcome_unknown_and_not_resent(
    status: int, content: bytes, message: str
) -> None:
    async with mocked(httpx.Response(status, content=content)) as (client, rec):
        with pytest.raises(OutcomeUnknown, match=message) as caught:
            await client.place_call(call_request())
    assert caught.value.mess_id == MESS_ID
    assert len(rec.requests) == 1


@given(status=st.integers(200, 599), content=st.binary(max_size=300))
def test_any_answer_is_a_result_or_outcome_unknown_and_hides_the_password(
    status: int, content: bytes
) -> None:
    redact = redactor(SecretStr(PASSWORD), LOGIN)
    body = content + PASSWORD.encode()
    try:
        text = repr(parse_response(status, body, MESS_ID, redact))
    except OutcomeUnknown as exc:
        text = str(exc)
    assert PASSWORD not in text


# --- transport failures and retries (MockTransport) ----------------------------------------


@pytest.mark.parametrize(
    "error",
    [
        httpx.ConnectError("Connection refused"),
        httpx.ConnectTimeout("connect timed out"),
        httpx.PoolTimeout("no free connection"),
    ],
)
async def test_connect_failure_is_retried_to_the_bound_then_not_sent(error: Exception) -> None:
    async with mocked(error) as (client, rec):
        with pytest.raises(NotSent, match=f"not sent after 3 tries, last: {type(error).__name__}"):
            await client.place_call(call_request())
    assert len(rec.requests) == FAST.attempts


@pytest.mark.parametrize("status", [429, 502, 503, 504])
async def test_gateway_status_is_retried_until_an_answer(status: int) -> None:
    ok = httpx.Response(200, json=answer(1, CallID=CALL_ID))
    async with mocked(httpx.Response(status), ok) as (client, rec):
        assert await client.place_call(call_request()) == Accepted(MESS_ID, CALL_ID)
    assert len(rec.requests) == 2


async def test_every_try_is_admitted_right_before_it_leaves() -> None:
    """The operator counts retries against its CPS limit, so each one passes the limiter."""
    sent_before: list[int] = []
    recorders: list[Recorder] = []

    async def admit() -> None:
        sent_before.append(len(recorders[0].requests))

    ok = httpx.Response(200, json=answer(1, CallID=CALL_ID))
    async with mocked(httpx.Response(429), ok, admit=admit) as (client, rec):
        recorders.append(rec)
        assert await client.place_call(call_request()) == Accepted(MESS_ID, CALL_ID)
    assert sent_before == [0, 1]
    assert len(rec.requests) == 2


async def test_a_failing_admission_means_nothing_was_sent() -> None:
    async def admit() -> None:
        raise ConnectionError(f"redis down ({PASSWORD})")

    ok = httpx.Response(200, json=answer(1, CallID=CALL_ID))
    async with mocked(ok, admit=admit) as (client, rec):
        with pytest.raises(NotSent, match="not admitted: ConnectionError") as caught:
            await client.place_call(call_request())
    assert rec.requests == []
    assert PASSWORD not in str(caught.value)


@pytest.mark.parametrize(
    "error",
    [
        httpx.ReadTimeout("read timed out"),
        httpx.WriteTimeout("write timed out"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
        httpx.ReadError("connection reset"),
        httpx.WriteError("broken pipe"),
    ],
)
async def test_failure_after_sending_is_outcome_unknown_and_never_retried(error: Exception) -> None:
    async with mocked(error) as (client, rec):
        with pytest.raises(OutcomeUnknown, match=type(error).__name__):
            await client.place_call(call_request())
    assert len(rec.requests) == 1


async def test_request_httpx_cannot_send_is_not_sent_without_retry() -> None:
    async with mocked(httpx.UnsupportedProtocol("no scheme")) as (client, rec):
        with pytest.raises(NotSent, match="request not sent: UnsupportedProtocol"):
            await client.place_call(call_request())
    assert len(rec.requests) == 1


NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3.0),
        (" 0 ", 0.0),
        (format_datetime(NOW + timedelta(seconds=7), usegmt=True), 7.0),
        (format_datetime(NOW - timedelta(seconds=7), usegmt=True), 0.0),
        ("Sun, 01 Mar 2026 12:00:05 -0000", 5.0),
        ("soon", None),
        ("-1", None),
        (None, None),
    ],
)
def test_retry_after_is_read_as_seconds_or_http_date(
    value: str | None, seconds: float | None
) -> None:
    assert retry_after_seconds(value, NOW) == seconds


async def test_repr_shows_no_secret() -> None:
    async with httpx.AsyncClient() as http:
        client = make_client(http, url=f"https://{LOGIN}:{PASSWORD}@sb.example/v1/sb")
    assert PASSWORD not in repr(client)
    assert TOKEN not in repr(client)


# --- real HTTP on loopback -----------------------------------------------------------------


@asynccontextmanager
async def client_for(
    server: LoopbackServer, read_timeout: float = 2.0, retry: RetryPolicy = FAST
) -> AsyncIterator[SbApiClient]:
    async with httpx.AsyncClient(timeout=read_timeout, trust_env=False) as http:
        yield make_client(http, url=server.url, retry=retry)


@asynccontextmanager
async def served(
    server: LoopbackServer, read_timeout: float = 2.0, retry: RetryPolicy = FAST
) -> AsyncIterator[SbApiClient]:
    """A client of `server`, which runs for the duration."""
    async with server, client_for(server, read_timeout, retry) as client:
        yield client


async def test_loopback_success_sends_one_authenticated_request() -> None:
    server = LoopbackServer([json_reply(answer(1, CallID=CALL_ID))])
    async with served(server) as client:
        assert await client.place_call(call_request()) == Accepted(MESS_ID, CALL_ID)
    [request] = server.requests
    assert (request.method, request.path) == ("POST", "/v1/sb")
    assert request.headers["authorization"] == f"Basic {TOKEN}"
    assert request.json()["data"]["messText"] == "Привет"


class OnRetry(logging.Handler):
    """Runs `action` (synchronously, before the retry's sleep) on each retry log record."""

    def __init__(self, action: Callable[[], None]) -> None:
        super().__init__(logging.WARNING)
        self.action = action
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)
        self.action()


async def test_loopback_connection_refused_is_retried_and_then_answered() -> None:
    server = LoopbackServer([json_reply(answer(1, CallID=CALL_ID))])
    retrying = asyncio.Event()

    def let_in() -> None:
        server.listen()
        retrying.set()

    on_retry = OnRetry(let_in)
    logger = logging.getLogger("dialer.telecom.sbapi")
    logger.addHandler(on_retry)
    try:
        async with client_for(server, retry=RetryPolicy(3, 0.05, 0.1)) as client:
            placing = asyncio.create_task(client.place_call(call_request()))
            await retrying.wait()
            await server.start()
            assert await placing == Accepted(MESS_ID, CALL_ID)
    finally:
        logger.removeHandler(on_retry)
        await server.stop()
    assert len(on_retry.records) == 1
    assert "ConnectError" in on_retry.records[0].getMessage()
    assert len(server.requests) == 1


async def test_loopback_read_timeout_after_sending_is_outcome_unknown_sent_once() -> None:
    server = LoopbackServer(default=Reply(delay=5.0))
    async with served(server, read_timeout=0.3) as client:
        with pytest.raises(OutcomeUnknown, match="ReadTimeout; outcome unknown"):
            await client.place_call(call_request())
        assert len(server.requests) == 1


async def test_loopback_connection_dropped_after_sending_is_outcome_unknown() -> None:
    server = LoopbackServer(default=Reply(drop=True))
    async with served(server) as client:
        with pytest.raises(OutcomeUnknown, match="RemoteProtocolError"):
            await client.place_call(call_request())
    assert len(server.requests) == 1


async def test_loopback_503_is_retried_exactly_to_the_bound() -> None:
    server = LoopbackServer(default=Reply(503, b"busy"))
    async with served(server) as client:
        with pytest.raises(NotSent, match="not sent after 3 tries, last: HTTP 503"):
            await client.place_call(call_request())
    assert len(server.requests) == FAST.attempts


async def test_loopback_500_is_outcome_unknown_and_sent_once() -> None:
    server = LoopbackServer(default=Reply(500, b"oops"))
    async with served(server) as client:
        with pytest.raises(OutcomeUnknown, match="HTTP 500: oops"):
            await client.place_call(call_request())
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("retry_after", "max_wait", "low", "high"), [("1", 5.0, 0.95, 2.0), ("30", 0.2, 0.15, 1.0)]
)
async def test_loopback_429_waits_retry_after_within_the_bound(
    retry_after: str, max_wait: float, low: float, high: float
) -> None:
    replies = [
        Reply(429, headers={"Retry-After": retry_after}),
        json_reply(answer(1, CallID=CALL_ID)),
    ]
    server = LoopbackServer(replies)
    async with served(server, retry=RetryPolicy(3, 0.01, max_wait)) as client:
        assert await client.place_call(call_request()) == Accepted(MESS_ID, CALL_ID)
    first, second = server.requests
    assert low <= second.at - first.at < high


@pytest.mark.parametrize("status", [400, 500])
async def test_loopback_secrets_echoed_by_the_server_never_reach_errors(status: int) -> None:
    echo = f"you sent Authorization: Basic {TOKEN} ({PASSWORD})".encode()
    server = LoopbackServer(default=Reply(status, echo))
    async with served(server) as client:
        try:
            text = repr(await client.place_call(call_request()))
        except OutcomeUnknown as exc:
            text = f"{exc} {exc!r}"
    assert "Authorization: Basic ***" in text
    assert TOKEN not in text
    assert PASSWORD not in text


async def test_loopback_refused_connection_error_shows_no_secret() -> None:
    server = LoopbackServer()
    async with client_for(server) as client:
        with pytest.raises(NotSent) as caught:
            await client.place_call(call_request())
    await server.stop()
    text = f"{caught.value} {caught.value!r} {caught.value.__cause__}"
    assert "ConnectError" in text
    assert PASSWORD not in text
    assert TOKEN not in text
