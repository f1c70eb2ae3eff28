"""The API process's app factory (docs/design.md §2): `create_app(settings)`, served by
`dialer api`.

Routers are included here and nowhere else; errors map to responses in `api.errors`;
everything a request needs is built once by the lifespan (`api.resources`).
"""

from __future__ import annotations

import copy
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from uvicorn.config import LOGGING_CONFIG

from api import calls, campaigns, console, contacts, dnc, health, webhooks
from api.body_limit import BodyLimit
from api.contract import state_enforced_rules
from api.errors import install_error_handlers
from api.log_redaction import RedactQuerySecrets
from api.methods import AllowEveryMethod
from api.metrics import ServiceMetrics
from api.resources import open_resources
from dialer.settings import Settings

__all__ = ["create_app", "uvicorn_log_config"]


def create_app(settings: Settings) -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        async with open_resources(settings) as resources:
            app.state.resources = resources
            try:
                yield
            finally:
                del app.state.resources

    app = FastAPI(title="dialer", lifespan=lifespan)
    app.state.metrics = ServiceMetrics()
    install_error_handlers(app, pages=console.error_page)
    app.include_router(webhooks.router)
    for router in (campaigns.router, contacts.router, calls.router, dnc.router, health.router):
        app.include_router(router)
    console.install(app)
    app.add_middleware(BodyLimit, limit=settings.max_upload_bytes)
    app.add_middleware(AllowEveryMethod, routes=app.router.routes)
    state_enforced_rules(app)
    return app


def uvicorn_log_config() -> dict[str, Any]:
    """uvicorn's logging with the webhook token and query secrets masked; pass as `log_config`
    to uvicorn."""
    config = copy.deepcopy(LOGGING_CONFIG)
    config.setdefault("filters", {}).update(
        mask_webhook_token={"()": webhooks.MaskWebhookToken},
        redact_query_secrets={"()": RedactQuerySecrets},
    )
    for handler in config["handlers"].values():
        handler.setdefault("filters", []).extend(["mask_webhook_token", "redact_query_secrets"])
    return config
