"""Read-only client for MTT's JSON-RPC 2.0 account API (getCallHistory, getCustomerBalance).

Used to reconcile calls whose final webhook never came and to stop dialing before the money
runs out (docs/mtt.md, "Other MTT APIs"). Every method only reads, so every transport
failure is retried within the same bounds as sb-api's.

    MttRpcError          base
    ├── RpcFault         MTT answered with a JSON-RPC error object (code, message, data)
    └── RpcUnavailable   no usable answer: transport failure or 429/5xx after retries, another
                         HTTP error, or a body that is not a JSON-RPC response
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

import httpx
from pydantic import SecretStr

from dialer.settings import Settings
from dialer.telecom.sbapi import (
    DEFAULT_RETRY,
    RETRY_STATUSES,
    RetryPolicy,
    Transient,
    redactor,
    retry_after_seconds,
    retrying,
)

HISTORY_DATE_FORMAT = "%d.%m.%Y %H:%M:%S"
"""getCallHistory's date_from/date_to, as in the reference's example request (UTC)."""
RECORD_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"


class MttRpcError(Exception):
    pass


class RpcFault(MttRpcError):
    """The JSON-RPC error object, e.g. -32602 "Invalid params" or -32001 "Data not found"."""

    def __init__(self, method: str, code: int, message: str, data: object) -> None:
        super().__init__(f"{method}: JSON-RPC error {code} {message}: {data}")
        self.code = code
        self.message = message
        self.data = data


class RpcUnavailable(MttRpcError):
    pass


@dataclass(frozen=True)
class CallRecord:
    """One row of getCallHistory; all MTT fields arrive as strings or numbers, loosely."""

    conf_id: str | None
    """h323_conf_id: the only call id the reference's history rows promise."""
    call_id: str | None
    """sb-api's CallID if the row has one (not in the reference's rows; the simulator adds it)."""
    mess_id: str | None
    """Our messId (`id`), on the same terms as call_id."""
    a_number: str
    b_number: str
    connect_time: datetime | None
    """UTC."""
    duration: int
    """used_quantity: seconds connected."""
    disconnect_cause: int | None


@dataclass(frozen=True)
class CallHistory:
    incoming: tuple[CallRecord, ...]
    missed: tuple[CallRecord, ...]
    dialed: tuple[CallRecord, ...]


@dataclass(frozen=True)
class Balance:
    balance: Decimal
    real_balance: Decimal | None


class MttRpcClient:
    """The caller owns `http`; credentials are the account's Basic Auth login."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        url: str,
        login: str,
        password: SecretStr,
        retry: RetryPolicy = DEFAULT_RETRY,
    ) -> None:
        self._http = http
        self._url = url
        self._auth = httpx.BasicAuth(login, password.get_secret_value())
        self._redact = redactor(password, login)
        self._retry = retry
        self._ids = itertools.count(1)

    @classmethod
    def from_settings(cls, settings: Settings, http: httpx.AsyncClient) -> MttRpcClient:
        if not settings.mtt_rpc_url or not settings.sb_login:
            raise ValueError("DIALER_MTT_RPC_URL and DIALER_SB_LOGIN must be set for MTT JSON-RPC")
        return cls(
            http, url=settings.mtt_rpc_url, login=settings.sb_login, password=settings.sb_password
        )

    async def get_call_history(
        self, sip_id: str, date_from: datetime | None = None, date_to: datetime | None = None
    ) -> CallHistory:
        """Calls of one number; MTT's default period when the dates are left out."""
        params: dict[str, str] = {"sip_id": sip_id}
        for name, value in (("date_from", date_from), ("date_to", date_to)):
            if value is not None:
                if value.tzinfo is None:
                    raise ValueError(f"getCallHistory {name}={value!r} must be timezone-aware")
                params[name] = value.astimezone(UTC).strftime(HISTORY_DATE_FORMAT)
        return parse_history(await self._call("getCallHistory", params))

    async def get_balance(self, customer_name: str) -> Balance:
        """Balance of the account (customer_name = the account number)."""
        # The reference's table names the parameter; its example sends it by position.
        result = await self._call("getCustomerBalance", [customer_name])
        balance = _decimal(result.get("balance"))
        if balance is None:
            raise RpcUnavailable(f"getCustomerBalance: no numeric balance in {result!r:.200}")
        return Balance(balance, _decimal(result.get("real_balance")))

    async def _call(self, method: str, params: Mapping[str, Any] | Sequence[Any]) -> dict[str, Any]:
        request_id = next(self._ids)
        body = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
        try:
            response: httpx.Response = await retrying(self._retry, f"MTT {method}")(
                self._post, body
            )
        except Transient as exc:
            raise RpcUnavailable(
                f"{method}: no answer after {self._retry.attempts} tries: {exc}"
            ) from exc
        text = self._redact(response.text)
        try:
            doc = json.loads(text, parse_float=Decimal)
        except ValueError:
            doc = None
        if not isinstance(doc, dict):
            raise RpcUnavailable(f"{method}: HTTP {response.status_code}, not JSON: {text:.200}")
        error = doc.get("error")
        if isinstance(error, dict):
            code = error.get("code")
            raise RpcFault(
                method,
                code if isinstance(code, int) else 0,
                str(error.get("message", "")),
                error.get("data"),
            )
        result = doc.get("result")
        if not response.is_success or not isinstance(result, dict):
            raise RpcUnavailable(f"{method}: HTTP {response.status_code}, no result: {text:.200}")
        return result

    async def _post(self, body: dict[str, Any]) -> httpx.Response:
        try:
            response = await self._http.post(
                self._url, json=body, auth=self._auth, follow_redirects=False
            )
        except httpx.TransportError as exc:
            raise Transient(self._redact(f"{type(exc).__name__}: {exc}")) from exc
        if response.status_code in RETRY_STATUSES or response.status_code >= 500:
            wait = retry_after_seconds(response.headers.get("retry-after"), datetime.now(UTC))
            raise Transient(f"HTTP {response.status_code}", wait)
        return response


def parse_history(result: Mapping[str, Any]) -> CallHistory:
    """getCallHistory's result; rows that are not objects are skipped, odd fields left empty."""
    return CallHistory(
        incoming=_records(result.get("incoming")),
        missed=_records(result.get("missed")),
        dialed=_records(result.get("dialed")),
    )


def _records(rows: object) -> tuple[CallRecord, ...]:
    if not isinstance(rows, list):
        return ()
    return tuple(_record(row) for row in rows if isinstance(row, dict))


def _record(row: Mapping[str, Any]) -> CallRecord:
    # The table says "cld" for the callee, the examples say "clid".
    return CallRecord(
        conf_id=_text(row.get("h323_conf_id")) or None,
        call_id=_text(row.get("CallID")) or None,
        mess_id=_text(row.get("id")) or None,
        a_number=_text(row.get("cli")),
        b_number=_text(row.get("cld", row.get("clid"))),
        connect_time=_utc(row.get("connect_time")),
        duration=_int(row.get("used_quantity")) or 0,
        disconnect_cause=_int(row.get("disconnect_cause")),
    )


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _int(value: object) -> int | None:
    number = _decimal(value)
    # an absurd exponent would make int() build a gigantic number
    return None if number is None or number.adjusted() > 18 else int(number)


def _decimal(value: object) -> Decimal | None:
    if isinstance(value, bool):
        return None
    try:
        number = Decimal(_text(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() else None


def _utc(value: object) -> datetime | None:
    try:
        return datetime.strptime(_text(value), RECORD_TIME_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None
