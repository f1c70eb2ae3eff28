"""MTT's JSON-RPC 2.0 account API over what the simulator has simulated (pure).

`getCallHistory` rows carry the reference's fields, both spellings of the callee (`cld` in
its table, `clid` in its example) and, beyond the reference, the sb-api `CallID` and `id`.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any

from dialer.simulator.state import SimCall

HISTORY_DATE_FORMAT = "%d.%m.%Y %H:%M:%S"
RECORD_TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
MAX_ROWS = 1000

INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
PARSE_ERROR = -32700
DATA_NOT_FOUND = -32001


class RpcError(Exception):
    def __init__(self, code: int, message: str, data: object = None) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.data = data


def error_answer(request_id: object, error: RpcError) -> dict[str, Any]:
    body: dict[str, Any] = {"code": error.code, "message": error.message}
    if error.data is not None:
        body["data"] = error.data
    return {"jsonrpc": "2.0", "id": request_id, "error": body}


def answer(
    body: object,
    calls: Iterable[SimCall],
    *,
    sip_id: str,
    balance: float,
    credit_limit: float,
    customer_name: str | None,
) -> dict[str, Any]:
    """The JSON-RPC response to one request object."""
    request_id = body.get("id") if isinstance(body, dict) else None
    try:
        if not isinstance(body, dict) or body.get("jsonrpc") != "2.0":
            raise RpcError(INVALID_REQUEST, "Invalid Request")
        method, params = body.get("method"), body.get("params")
        if method == "getCallHistory":
            result = call_history(params, calls, sip_id=sip_id)
        elif method == "getCustomerBalance":
            result = customer_balance(params, balance, credit_limit, customer_name)
        else:
            raise RpcError(METHOD_NOT_FOUND, "Method not found", f"no method {method!r}")
    except RpcError as error:
        return error_answer(request_id, error)
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def call_history(params: object, calls: Iterable[SimCall], *, sip_id: str) -> dict[str, Any]:
    if not isinstance(params, dict) or not params.get("sip_id"):
        raise RpcError(INVALID_PARAMS, "Invalid params", "Missing sip_id")
    if str(params["sip_id"]) != sip_id:
        raise RpcError(DATA_NOT_FOUND, "Data not found", "No data found")
    begin = _date(params.get("date_from"), "Invalid begin date")
    end = _date(params.get("date_to"), "Invalid end date")
    rows = [
        call
        for call in calls
        if call.finished
        and (begin is None or _second(call) >= begin)
        and (end is None or _second(call) <= end)
    ]
    rows.sort(key=lambda call: call.started_at)
    dialed = [history_row(call) for call in rows[-MAX_ROWS:]]
    return {"incoming": [], "missed": [], "dialed": dialed, "callback": [], "success": 1}


def history_row(call: SimCall) -> dict[str, Any]:
    spec, plan = call.spec, call.plan
    started = call.started_at.astimezone(UTC).strftime(RECORD_TIME_FORMAT)
    digest = hashlib.sha256(call.call_id.encode()).hexdigest()[:32].upper()
    return {
        "cli": spec.a_number,
        "cld": spec.b_number,
        "clid": spec.b_number,
        "customer_local_time": started,
        "connect_time": started,
        "charged_time": str(plan.duration if call.charged else 0),
        "charged": call.charged,
        "destination": "RUSSIAN FEDERATION",
        "curr": "RUB",
        "disconnect_cause": str(plan.transfer.cause if plan.transfer else plan.decision.cause),
        "used_quantity": str(plan.duration),
        "h323_conf_id": " ".join(digest[i : i + 8] for i in range(0, 32, 8)),
        "CallID": call.call_id,
        "id": str(spec.mess_id),
    }


def customer_balance(
    params: object, balance: float, credit_limit: float, customer_name: str | None
) -> dict[str, Any]:
    """The reference's example passes the account by position, its table by name."""
    if isinstance(params, list) and params:
        name = params[0]
    elif isinstance(params, dict):
        name = params.get("customer_name")
    else:
        name = None
    if not isinstance(name, str | int) or isinstance(name, bool) or not str(name):
        raise RpcError(INVALID_PARAMS, "Invalid params", "Missing customer_name")
    if customer_name is not None and str(name) != customer_name:
        raise RpcError(DATA_NOT_FOUND, "Data not found", "This account does not exist")
    return {"balance": round(balance, 2), "real_balance": round(balance + credit_limit, 2)}


def _second(call: SimCall) -> datetime:
    return call.started_at.replace(microsecond=0)


def _date(value: object, error: str) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.strptime(str(value), HISTORY_DATE_FORMAT).replace(tzinfo=UTC)
    except ValueError:
        raise RpcError(INVALID_PARAMS, "Invalid params", error) from None
