"""The one place where errors become responses (docs/design.md §9).

Every error body is `{"error": {"code", "message", "details"}}`: business errors of the
campaign layer carry their own code and status, HTTP errors of the framework (unknown route,
wrong method) get a code named for their status, validation errors are `invalid` with the
fields at fault, and anything unexpected is a 500 `internal` that reveals nothing (the server
logs the traceback: Starlette re-raises the error after this answer).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.exceptions import HTTPException

from campaigns.errors import CampaignError

__all__ = ["ApiError", "error_response", "install_error_handlers"]

CODES: Mapping[int, str] = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "payload_too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    500: "internal",
    503: "unavailable",
}


class ApiError(Exception):
    """An error of the HTTP layer itself (a body too large, a bad token), not of the domain."""

    def __init__(self, status: int, code: str, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details


def error_response(
    status: int,
    code: str,
    message: str,
    details: Any = None,
    headers: Mapping[str, str] | None = None,
) -> JSONResponse:
    body = {"error": {"code": code, "message": message, "details": details}}
    return JSONResponse(body, status_code=status, headers=headers)


Pages = Callable[[Request, Exception], Response | None]
"""The HTML answer of the web console to an error on its paths; None on the others."""


def install_error_handlers(app: FastAPI, *, pages: Pages | None = None) -> None:
    async def handle(request: Request, error: Exception) -> Response:
        page = None if pages is None else pages(request, error)
        return page if page is not None else _handle(request, error)

    for kind in (ApiError, CampaignError, HTTPException, RequestValidationError, Exception):
        app.add_exception_handler(kind, handle)


def _handle(request: Request, error: Exception) -> JSONResponse:
    if isinstance(error, ApiError | CampaignError):
        return error_response(error.status, error.code, error.message, error.details)
    if isinstance(error, HTTPException):
        code = CODES.get(error.status_code, f"http_{error.status_code}")
        return error_response(error.status_code, code, str(error.detail), None, error.headers)
    if isinstance(error, RequestValidationError):
        # Without the "input" the caller sent: it may hold what must not be echoed.
        fields = [
            {"loc": list(item.get("loc", ())), "msg": item.get("msg"), "type": item.get("type")}
            for item in error.errors()
        ]
        return error_response(422, "invalid", "the request is not valid", fields)
    return error_response(500, "internal", "internal error")
