"""The ASGI app: sb-api's `/v1/sb`, MTT's JSON-RPC `/rpc`, and `/_sim/*` for tests.

The `/_sim/*` routes have no authentication: the simulator is a test and development tool
that listens on loopback.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse

from dialer.settings import Settings
from dialer.simulator.options import Rules, SimulatorOptions
from dialer.simulator.simulator import HttpAnswer, Simulator


def create_app(settings: Settings, options: SimulatorOptions | None = None) -> FastAPI:
    """`simulator_of(app)` gives tests the state; webhooks flow only while the lifespan runs."""
    sim = Simulator(settings, options or SimulatorOptions())

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        async with sim.running():
            yield

    app = FastAPI(title="sb-api simulator", lifespan=lifespan)
    app.state.simulator = sim

    @app.post("/v1/sb")
    async def place_call(request: Request) -> Response:
        received_at, now = datetime.now(UTC), time.monotonic()
        raw = await request.body()
        answer = sim.handle_call(raw, request.headers.get("authorization"), received_at, now)
        delay = sim.options.latency + answer.hold
        if delay > 0:
            await _hold(request, delay)
        return _response(answer)

    @app.post("/rpc")
    async def json_rpc(request: Request) -> Response:
        return _response(sim.handle_rpc(await request.body(), request.headers.get("authorization")))

    @app.get("/healthz")
    async def health() -> dict[str, bool]:
        return {"ok": True}

    @app.get("/_sim/calls")
    async def calls() -> dict[str, Any]:
        return {
            "calls": [call.view() for call in sim.state.calls.values()],
            "requests_per_mess_id": dict(sim.state.per_mess_id),
        }

    @app.get("/_sim/requests")
    async def requests() -> dict[str, Any]:
        return {"requests": list(sim.state.requests)}

    @app.get("/_sim/stats")
    async def stats() -> dict[str, Any]:
        return sim.state.stats_view() | {"pending_tasks": len(sim.tasks)}

    @app.get("/_sim/rules")
    async def get_rules() -> Rules:
        return sim.rules

    @app.put("/_sim/rules")
    async def put_rules(rules: Rules) -> Rules:
        sim.set_rules(rules)
        return rules

    @app.post("/_sim/reset", status_code=204)
    async def reset() -> None:
        await sim.reset()

    @app.post("/_sim/idle")
    async def idle(wait: float = 10.0) -> dict[str, Any]:
        """For tests in another process: returns once every scheduled webhook went out."""
        try:
            await asyncio.wait_for(sim.idle(), wait)
        except TimeoutError:
            return {"idle": False, "pending_tasks": len(sim.tasks)}
        return {"idle": True, "pending_tasks": 0}

    return app


def simulator_of(app: FastAPI) -> Simulator:
    sim = app.state.simulator
    if not isinstance(sim, Simulator):
        raise TypeError("this app was not made by dialer.simulator.app.create_app")
    return sim


def _response(answer: HttpAnswer) -> Response:
    return JSONResponse(answer.body, answer.status, headers=answer.headers)


async def _hold(request: Request, seconds: float) -> None:
    """Delays the answer, but no longer than the client is still there to receive it."""

    async def disconnected() -> None:
        while (await request.receive())["type"] != "http.disconnect":
            pass

    try:
        await asyncio.wait_for(disconnected(), seconds)
    except TimeoutError:
        return
