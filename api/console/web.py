"""Rendering console pages: the Jinja2 environment, the context every page gets, and the
HTML answers to errors on console paths (REST paths keep their JSON errors).

Autoescaping is on for every template: file cells, names and messages are user input.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any, Final
from urllib.parse import quote

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from fastapi.templating import Jinja2Templates
from starlette.exceptions import HTTPException

from api.console.domain_text import jinja_filter
from api.console.guard import CsrfRefused, Forbidden, NotSignedIn, csrf_token, remember_csrf
from api.console.i18n import LANGUAGES, Translator, pick_language
from campaigns.errors import CampaignError
from campaigns.sessions import Identity

__all__ = ["LANG_COOKIE", "error_page", "is_console_path", "page", "translator"]

log = logging.getLogger(__name__)

LANG_COOKIE: Final = "dialer_lang"
API_PREFIXES: Final = (
    "/v1/",
    "/webhooks/",
    "/healthz",
    "/metrics",
    "/docs",
    "/openapi.json",
    "/redoc",
)
templates = Jinja2Templates(directory=Path(__file__).with_name("templates"))
templates.env.trim_blocks = True
templates.env.lstrip_blocks = True
templates.env.filters["domain"] = jinja_filter


def is_console_path(path: str) -> bool:
    return not (path == "/v1" or path.startswith(API_PREFIXES))


def translator(request: Request) -> Translator:
    lang = pick_language(request.cookies.get(LANG_COOKIE), request.headers.get("accept-language"))
    return Translator(lang)


def page(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status: int = 200,
    headers: dict[str, str] | None = None,
) -> Response:
    """A console page: the template with the language, the signed-in user and the CSRF token."""
    t = translator(request)
    identity: Identity | None = getattr(request.state, "identity", None)
    values = {
        "t": t,
        "lang": t.lang,
        "languages": LANGUAGES,
        "user": identity,
        "csrf_token": csrf_token(request, identity),
        "here": request.url.path + (f"?{request.url.query}" if request.url.query else ""),
        **(context or {}),
    }
    response = templates.TemplateResponse(request, template, values, status_code=status)
    response.headers["Cache-Control"] = "no-store"
    for name, value in (headers or {}).items():
        response.headers[name] = value
    remember_csrf(request, response)
    return response


def error_page(request: Request, error: Exception) -> Response | None:
    """The console's answer to an error on its paths; None leaves the JSON answer to the API."""
    if not is_console_path(request.url.path):
        return None
    if isinstance(error, NotSignedIn):
        target = "/login?next=" + quote(request.url.path, safe="/")
        if request.headers.get("HX-Request"):
            return Response(status_code=401, headers={"HX-Redirect": target})
        return RedirectResponse(target, status_code=303)
    if isinstance(error, Forbidden):
        return _problem(request, 403, "error.forbidden")
    if isinstance(error, CsrfRefused):
        return _problem(request, 403, "error.csrf")
    if isinstance(error, CampaignError):
        return _problem(request, error.status, "error.campaign", detail=error.message)
    if isinstance(error, HTTPException):
        key = "error.not_found" if error.status_code == 404 else "error.http"
        return _problem(request, error.status_code, key)
    if isinstance(error, RequestValidationError):
        return _problem(request, 422, "error.invalid")
    log.error("console error on %s", request.url.path, exc_info=error)
    return _problem(request, 500, "error.internal")


def _problem(request: Request, status: int, key: str, *, detail: str | None = None) -> Response:
    return page(
        request, "error.html", {"status": status, "key": key, "detail": detail}, status=status
    )
