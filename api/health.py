"""`/healthz` and `/metrics`: for load balancers and Prometheus, so no API key.

`/healthz` answers 200 only when this process reaches both the database and Redis within
CHECK_TIMEOUT; otherwise 503 with each dependency's state in `details` (no error texts: they
may name hosts and users).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable
from datetime import UTC, datetime
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import Response

from api.errors import ApiError
from api.metrics import ServiceMetrics
from api.resources import ResourcesDep
from api.schemas import HealthOut, errors
from campaigns.db import ping

__all__ = ["CHECK_TIMEOUT", "metrics_of", "router"]

log = logging.getLogger(__name__)

CHECK_TIMEOUT: Final = 2.0
PROMETHEUS_TEXT: Final = "text/plain; version=0.0.4; charset=utf-8"

router = APIRouter(tags=["operations"])


async def _check(name: str, probe: Awaitable[object]) -> str:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT):
            await probe
    except Exception as error:
        log.warning("health check of %s failed: %r", name, error)
        return "unavailable"
    return "ok"


@router.get(
    "/healthz",
    response_model=HealthOut,
    responses=errors(503),
    summary="Liveness: the database and Redis answer",
)
async def healthz(resources: ResourcesDep) -> HealthOut:
    database, redis = await asyncio.gather(
        _check("the database", ping(resources.engine)),
        _check("Redis", resources.redis.ping()),
    )
    if database != "ok" or redis != "ok":
        raise ApiError(
            503,
            "unavailable",
            "a dependency is unavailable",
            details={"database": database, "redis": redis},
        )
    return HealthOut(status="ok", database=database, redis=redis)


def metrics_of(request: Request) -> ServiceMetrics:
    """The app's registry, made with the app (`create_app` installs it)."""
    metrics = getattr(request.app.state, "metrics", None)
    if not isinstance(metrics, ServiceMetrics):
        raise RuntimeError("the app has no ServiceMetrics in app.state.metrics")
    return metrics


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"description": "Prometheus text format", "content": {PROMETHEUS_TEXT: {}}}},
    summary="Prometheus metrics of the whole service",
)
async def metrics(request: Request, resources: ResourcesDep) -> Response:
    body = await metrics_of(request).render(resources, datetime.now(UTC))
    return Response(body, media_type=PROMETHEUS_TEXT)
