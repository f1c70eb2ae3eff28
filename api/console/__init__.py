"""The web console for marketers (issue 12): server-rendered pages at `/`, beside `/v1`.

`install` adds its routes, its static files (vendored: no CDN) and its HTML error pages to
the API's app; the REST API and its JSON errors are untouched.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response
from fastapi.staticfiles import StaticFiles

from api.console import (
    campaign_list,
    campaign_page,
    contacts_page,
    dashboard_page,
    dnc_page,
    new_campaign,
    signin,
    trial_call,
    users_page,
)
from api.console.guard import Refusal
from api.console.web import error_page

__all__ = ["error_page", "install"]

STATIC = Path(__file__).with_name("static")


def install(app: FastAPI) -> None:
    # /campaigns/new before /campaigns/{id}; the pages' own routes before /campaigns/{id}/{action}
    pages = (signin, new_campaign, campaign_page, contacts_page, campaign_list, dashboard_page)
    for module in (*pages, trial_call, dnc_page, users_page):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=STATIC), name="console-static")
    app.add_exception_handler(Refusal, _refused)


async def _refused(request: Request, error: Exception) -> Response:
    answer = error_page(request, error)
    if answer is None:  # a console dependency on a REST path: a bug, not the caller's fault
        raise error
    return answer
