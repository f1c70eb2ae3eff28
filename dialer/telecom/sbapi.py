"""Async client for MTT's sb-api call endpoint (docs/mtt.md, docs/design.md §5.2).

The one rule that shapes this module: a call request must never be sent twice unless it is
certain that MTT did not process the first one. Hence two outcomes besides an answer:

    SbApiError          base; carries ``mess_id``
    ├── NotSent         nothing can have reached MTT: connect error, connect/pool timeout, a request
    │                   httpx refused to build or send, or 429/502/503/504 after bounded retries.
    │                   The same attempt may be sent again later.
    └── OutcomeUnknown  the request may have been processed: read/write timeout after sending, the
                        connection dropped mid-response, HTTP 500 (or another unexpected 5xx), a
                        non-JSON or unrecognised body. Never retried; wait for webhooks instead.

ValueError is raised before sending for a request that cannot be valid (IVR without a_number).
A refusal by sb-api is not an exception: ``place_call`` returns ``Rejected``.
``admit``, when given, is awaited right before every try leaves (the operator's CPS limit counts
retries too); if it fails, that try was not sent.
No exception text or repr contains the password or the Authorization header.
"""

from __future__ import annotations

import base64
import json
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from enum import StrEnum
from typing import Any

import httpx
from pydantic import SecretStr
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    wait_exponential_jitter,
)

from dialer.settings import DtmfPlacement, Settings
from dialer.telecom.dtmf import SbDtmf

log = logging.getLogger(__name__)

SEND_ATTEMPTS = 4
"""Tries per call request when nothing was processed (the first try included)."""
BACKOFF_INITIAL = 0.5
"""Seconds before the first retry; doubles per retry, plus up to as much again of jitter."""
BACKOFF_MAX = 8.0
"""Cap on any single wait, Retry-After included."""

# 429 and gateway errors come from in front of the application: the call was not placed.
# A 500 comes from the application itself, which may have placed the call before failing,
# so it is OutcomeUnknown rather than retried (resending could ring the callee twice).
RETRY_STATUSES = frozenset({429, 502, 503, 504})
# httpx failures that happen before a single byte of the request left this process.
CONNECT_FAILURES = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
_SNIPPET = 200


class SbApiError(Exception):
    def __init__(self, message: str, mess_id: str) -> None:
        super().__init__(message)
        self.mess_id = mess_id


class NotSent(SbApiError):
    """Nothing can have reached MTT; sending the same messId again is safe."""


class OutcomeUnknown(SbApiError):
    """MTT may have processed the request; it must not be sent again."""


class RejectReason(StrEnum):
    INVALID_B_NUMBER = "invalid_b_number"
    INVALID_A_NUMBER = "invalid_a_number"
    ACCOUNT = "account"
    """Wrong credentials, method or sip_id: every further call would fail the same way."""
    BAD_REQUEST = "bad_request"


@dataclass(frozen=True)
class CallRequest:
    mess_id: str
    b_number: str
    text: str
    a_number: str | None = None
    lang: str | None = None
    voice_name: str | None = None
    emotion: str | None = None
    speed: float | None = None
    dtmf: Sequence[SbDtmf] = ()


@dataclass(frozen=True)
class Accepted:
    mess_id: str
    call_id: str


@dataclass(frozen=True)
class Rejected:
    mess_id: str
    reason: RejectReason
    error: str
    call_id: str | None = None


@dataclass(frozen=True)
class RetryPolicy:
    """Bounds of the retries of requests that were certainly not processed."""

    attempts: int = SEND_ATTEMPTS
    initial: float = BACKOFF_INITIAL
    max_wait: float = BACKOFF_MAX


DEFAULT_RETRY = RetryPolicy()


class Transient(Exception):
    """One try failed without anything being processed; the retry loop may try again."""

    def __init__(self, reason: str, retry_after: float | None = None) -> None:
        super().__init__(reason)
        self.retry_after = retry_after


def retrying(policy: RetryPolicy, what: str) -> AsyncRetrying:
    """Tenacity loop retrying `Transient` with jittered backoff, honouring Retry-After."""
    backoff = wait_exponential_jitter(
        multiplier=policy.initial, max=policy.max_wait, jitter=policy.initial
    )

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        if isinstance(exc, Transient) and exc.retry_after is not None:
            return min(max(exc.retry_after, 0.0), policy.max_wait)
        return backoff(state)

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome else None
        delay = state.next_action.sleep if state.next_action else 0.0
        log.warning(
            "%s: try %d failed (%s); retrying in %.2fs", what, state.attempt_number, exc, delay
        )

    return AsyncRetrying(
        stop=stop_after_attempt(policy.attempts),
        wait=wait,
        retry=retry_if_exception_type(Transient),
        before_sleep=before_sleep,
        reraise=True,
    )


def retry_after_seconds(value: str | None, now: datetime) -> float | None:
    """Retry-After as seconds: either delta-seconds or an HTTP date (RFC 9110 §10.2.3)."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:  # "-0000" means UTC without saying so
        when = when.replace(tzinfo=UTC)
    return max((when - now).total_seconds(), 0.0)


def redactor(password: SecretStr, login: str) -> Callable[[str], str]:
    """Masks the password and the Basic credentials in text that came from the network."""
    secret = password.get_secret_value()
    token = base64.b64encode(f"{login}:{secret}".encode()).decode()
    hidden = [s for s in (token, secret) if s]

    def redact(text: str) -> str:
        for s in hidden:
            text = text.replace(s, "***")
        return text

    return redact


def request_body(
    req: CallRequest, *, method: str, ivr_method: str, sip_id: str, placement: DtmfPlacement
) -> dict[str, Any]:
    """The JSON body of a call request; the IVR method whenever a DTMF menu is given."""
    if req.dtmf and not req.a_number:
        raise ValueError(f"messId={req.mess_id}: a_number is required for an IVR (dtmf) call")
    optional = {
        "a_number": req.a_number,
        "langCode": req.lang,
        "voice_name": req.voice_name,
        "emotion": req.emotion,
        "speed_speech": req.speed,
    }
    data: dict[str, Any] = {
        "messId": req.mess_id,
        "sip_id": sip_id,
        "b_number": req.b_number,
        "messText": req.text,
    }
    data.update({key: value for key, value in optional.items() if value is not None})
    if not req.dtmf:
        return {"method": method, "data": data}
    menu = [{"dtmf_id": str(d.dtmf_id), "type": d.type, "value": d.value} for d in req.dtmf]
    if placement is DtmfPlacement.TOP:
        return {"method": ivr_method, "data": data, "dtmf": menu}
    return {"method": ivr_method, "data": {**data, "dtmf": menu}}


def parse_response(
    status: int, content: bytes, mess_id: str, redact: Callable[[str], str] = str
) -> Accepted | Rejected:
    """Reads a non-retryable sb-api answer; `success` decides, not the presence of CallID."""
    text = redact(content.decode("utf-8", "replace").strip())
    snippet = text[:_SNIPPET] or "<empty body>"
    if status >= 500:
        raise OutcomeUnknown(f"sb-api messId={mess_id}: HTTP {status}: {snippet}", mess_id)
    answer = _read_answer(_load_object(content), mess_id, redact)
    if 200 <= status < 300:
        if answer is None:
            raise OutcomeUnknown(f"sb-api messId={mess_id}: unrecognised body: {snippet}", mess_id)
        return answer
    if isinstance(answer, Accepted):
        raise OutcomeUnknown(
            f"sb-api messId={mess_id}: HTTP {status} with a success body: {snippet}", mess_id
        )
    if status in (401, 403):
        reason = answer.error if answer else snippet
        return Rejected(mess_id, RejectReason.ACCOUNT, f"HTTP {status}: {reason}")
    return answer or Rejected(mess_id, RejectReason.BAD_REQUEST, f"HTTP {status}: {snippet}")


def _load_object(content: bytes) -> Mapping[str, Any] | None:
    """JSON object of the body, also from the doc's `{{...}}` form (one extra pair of braces)."""
    text = content.decode("utf-8", "replace").strip().lstrip("\ufeff")
    for candidate in (text, text[1:-1] if text.startswith("{") and text.endswith("}") else ""):
        try:
            doc = json.loads(candidate)
        except ValueError:
            continue
        if isinstance(doc, dict):
            return {str(key).lower(): value for key, value in doc.items()}
    return None


def _read_answer(
    doc: Mapping[str, Any] | None, mess_id: str, redact: Callable[[str], str]
) -> Accepted | Rejected | None:
    if doc is None:
        return None
    result = doc.get("result")
    if isinstance(result, dict):
        result = {str(key).lower(): value for key, value in result.items()}
        call_id = _as_id(doc.get("callid"))
        success = result.get("success")
        if success in (1, "1") and call_id is not None:
            return Accepted(mess_id, call_id)
        if success in (0, "0"):
            error = redact(str(result.get("error") or "").strip()) or "success 0 without error"
            return Rejected(mess_id, _reason(error), error, call_id)
        return None
    message = doc.get("message")
    if isinstance(message, str) and "forbidden" in message.lower():
        return Rejected(mess_id, RejectReason.ACCOUNT, redact(message))
    return None


def _as_id(value: object) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip() or None


def _reason(error: str) -> RejectReason:
    low = error.lower()
    if "e164" in low and "b_number" in low:
        return RejectReason.INVALID_B_NUMBER
    if "e164" in low and "a_number" in low:
        return RejectReason.INVALID_A_NUMBER
    if low == "forbidden" or "access forbidden" in low:
        return RejectReason.ACCOUNT
    return RejectReason.BAD_REQUEST


class SbApiClient:
    """Places calls; the caller owns `http` (one per process) and its timeouts."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        login: str,
        password: SecretStr,
        method: str,
        ivr_method: str = "ivr-api",
        sip_id: str,
        dtmf_placement: DtmfPlacement = DtmfPlacement.DATA,
        retry: RetryPolicy = DEFAULT_RETRY,
        admit: Callable[[], Awaitable[object]] | None = None,
    ) -> None:
        self._http = http
        self._admit = admit
        self._url = url
        self._shown_url = str(httpx.URL(url).copy_with(userinfo=b""))
        self._login = login
        self._auth = httpx.BasicAuth(login, password.get_secret_value())
        self._redact = redactor(password, login)
        self._method = method
        self._ivr_method = ivr_method
        self._sip_id = sip_id
        self._placement = dtmf_placement
        self._retry = retry

    @classmethod
    def from_settings(
        cls,
        settings: Settings,
        http: httpx.AsyncClient,
        admit: Callable[[], Awaitable[object]] | None = None,
    ) -> SbApiClient:
        if not settings.sb_login:
            raise ValueError("DIALER_SB_LOGIN is not set: cannot authenticate to sb-api")
        return cls(
            http,
            url=settings.sb_api_url,
            login=settings.sb_login,
            password=settings.sb_password,
            method=settings.sb_method,
            ivr_method=settings.sb_ivr_method,
            sip_id=settings.sip_id,
            dtmf_placement=settings.dtmf_placement,
            admit=admit,
        )

    def __repr__(self) -> str:
        return (
            f"SbApiClient(url={self._shown_url!r}, login={self._login!r}, sip_id={self._sip_id!r})"
        )

    async def place_call(self, req: CallRequest) -> Accepted | Rejected:
        body = request_body(
            req,
            method=self._method,
            ivr_method=self._ivr_method,
            sip_id=self._sip_id,
            placement=self._placement,
        )
        where = f"sb-api {self._shown_url} messId={req.mess_id}"
        try:
            response: httpx.Response = await retrying(self._retry, where)(
                self._send, body, where, req.mess_id
            )
        except Transient as exc:
            raise NotSent(
                f"{where}: not sent after {self._retry.attempts} tries, last: {exc}", req.mess_id
            ) from exc
        return parse_response(response.status_code, response.content, req.mess_id, self._redact)

    async def _send(self, body: dict[str, Any], where: str, mess_id: str) -> httpx.Response:
        if self._admit is not None:
            try:
                await self._admit()
            except Exception as exc:
                raise NotSent(f"{where}: not admitted: {self._describe(exc)}", mess_id) from exc
        try:
            response = await self._http.post(
                self._url, json=body, auth=self._auth, follow_redirects=False
            )
        except (httpx.UnsupportedProtocol, httpx.LocalProtocolError, httpx.InvalidURL) as exc:
            raise NotSent(f"{where}: request not sent: {self._describe(exc)}", mess_id) from exc
        except CONNECT_FAILURES as exc:
            raise Transient(self._describe(exc)) from exc
        except httpx.HTTPError as exc:
            raise OutcomeUnknown(
                f"{where}: sent, then {self._describe(exc)}; outcome unknown", mess_id
            ) from exc
        if response.status_code in RETRY_STATUSES:
            wait = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))
            raise Transient(f"HTTP {response.status_code}", wait)
        return response

    def _describe(self, exc: Exception) -> str:
        detail = str(exc)
        return self._redact(f"{type(exc).__name__}: {detail}" if detail else type(exc).__name__)
