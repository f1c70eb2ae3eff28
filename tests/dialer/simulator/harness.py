"""Real servers on loopback for the simulator's tests: the simulator and a webhook receiver."""

from __future__ import annotations

import asyncio
import functools
import json
import ssl
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import httpx
import uvicorn
from pydantic import SecretStr
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import ASGIApp

from dialer.settings import Settings
from dialer.simulator.app import create_app, simulator_of
from dialer.simulator.options import SimulatorOptions
from dialer.simulator.simulator import Simulator

LOGIN = "sim-user"
PASSWORD = "sim-pass"
METHOD = "inform"
IVR_METHOD = "ivr-api"
SIP_ID = "74996480000"
A_NUMBER = "74950000000"
TOKEN = "hook-token-123"
FAST = 0.001
"""time_factor of most tests: a minute of simulated call takes 60 ms."""


class Served:
    """`app` under uvicorn on a free 127.0.0.1 port, in this event loop."""

    def __init__(self, app: ASGIApp) -> None:
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", ws="none", lifespan="on"
        )
        self._server = uvicorn.Server(config)
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> str:
        self._task = asyncio.create_task(self._server.serve())
        while not self._server.started:
            if self._task.done():
                self._task.result()
                raise RuntimeError("uvicorn stopped before it started")
            await asyncio.sleep(0.005)
        port = self._server.servers[0].sockets[0].getsockname()[1]
        return f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        self._server.should_exit = True
        if self._task is not None:
            await self._task


@functools.cache
def _tls() -> ssl.SSLContext:
    return ssl.create_default_context()


def http_client(**kwargs: Any) -> httpx.AsyncClient:
    """A client for loopback: no proxies from the environment, one shared TLS context."""
    return httpx.AsyncClient(trust_env=False, verify=_tls(), **kwargs)


@dataclass
class Hit:
    path: str
    query: str
    content_type: str | None
    body: bytes

    def fields(self) -> dict[str, str]:
        """The event's fields, whichever wire form carried them."""
        if self.content_type and self.content_type.startswith("application/json"):
            doc = json.loads(self.body)
            if isinstance(doc.get("data"), str):
                return dict(parse_qsl(doc["data"]))
            return {str(k): str(v) for k, v in doc.items()}
        if self.body:
            return dict(parse_qsl(self.body.decode()))
        return dict(parse_qsl(self.query))

    @property
    def event(self) -> str:
        return self.fields()["event"]


@dataclass
class Receiver:
    """Collects webhooks; `fail["o"] = 2` answers 500 to the next two `o_` events;
    `delay` holds every answer that many seconds."""

    hits: list[Hit] = field(default_factory=list)
    refused: list[Hit] = field(default_factory=list)
    fail: dict[str, int] = field(default_factory=dict)
    delay: float = 0.0

    async def handle(self, request: Request) -> Response:
        hit = Hit(
            request.url.path,
            request.url.query,
            request.headers.get("content-type"),
            await request.body(),
        )
        await asyncio.sleep(self.delay)
        kind = hit.event.split("_", 1)[0]
        if self.fail.get(kind, 0) > 0:
            self.fail[kind] -= 1
            self.refused.append(hit)
            return Response(status_code=500)
        self.hits.append(hit)
        return Response(status_code=200)

    def clear(self) -> None:
        self.hits.clear()
        self.refused.clear()
        self.fail.clear()
        self.delay = 0.0

    def app(self) -> Starlette:
        return Starlette(routes=[Route("/{path:path}", self.handle, methods=["POST"])])

    def events(self) -> list[str]:
        return [hit.event for hit in self.hits]


def make_settings(public_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "sb_login": LOGIN,
        "sb_password": SecretStr(PASSWORD),
        "sb_method": METHOD,
        "sb_ivr_method": IVR_METHOD,
        "sip_id": SIP_ID,
        "public_url": public_url,
        "webhook_token": SecretStr(TOKEN),
        "sb_timeout": 2.0,
    }
    return Settings(_env_file=None, **(values | overrides))


@dataclass
class Rig:
    sim: Simulator
    url: str
    receiver: Receiver
    receiver_url: str
    settings: Settings
    http: httpx.AsyncClient

    async def fresh(self) -> Rig:
        """The rig as new, for tests sharing one: no calls, counts, rules changes or hits."""
        await self.sim.reset()
        self.receiver.clear()
        return self

    async def post(self, body: object) -> httpx.Response:
        return await self.http.post("/v1/sb", json=body)

    async def calls(self) -> list[dict[str, Any]]:
        await self.sim.idle()
        response = await self.http.get("/_sim/calls")
        calls: list[dict[str, Any]] = response.json()["calls"]
        return calls

    async def rpc(self, method: str, params: object) -> dict[str, Any]:
        body = {"jsonrpc": "2.0", "id": "7", "method": method, "params": params}
        answer: dict[str, Any] = (await self.http.post("/rpc", json=body)).json()
        return answer


@asynccontextmanager
async def start_rig(
    settings_overrides: dict[str, Any] | None = None, **knobs: Any
) -> AsyncIterator[Rig]:
    """Receiver and simulator on loopback; the simulator's event URL points at the receiver."""
    receiver = Receiver()
    servers = [Served(receiver.app())]
    try:
        receiver_url = await servers[0].start()
        settings = make_settings(receiver_url, **(settings_overrides or {}))
        app = create_app(settings, SimulatorOptions(**({"time_factor": FAST} | knobs)))
        servers.append(Served(app))
        url = await servers[1].start()
        auth = (LOGIN, PASSWORD)
        async with http_client(base_url=url, auth=auth, timeout=10) as http:
            yield Rig(simulator_of(app), url, receiver, receiver_url, settings, http)
    finally:
        # Both at once: each uvicorn shutdown takes a few tenths of a second of polling.
        await asyncio.gather(*(server.stop() for server in servers))


def plain_body(**data: Any) -> dict[str, Any]:
    """A valid plain-method request; keyword arguments replace or (None) remove data fields."""
    fields = {
        "messId": "1255490",
        "sip_id": SIP_ID,
        "b_number": "79100000000",
        "messText": "Информационное сообщение для Вас",
    }
    merged = fields | data
    return {"method": METHOD, "data": {k: v for k, v in merged.items() if v is not None}}


def menu_item(digit: int, kind: str, value: str) -> dict[str, str]:
    return {"dtmf_id": str(digit), "type": kind, "value": value}


def ivr_body(menu: list[dict[str, str]], *, top: bool = False, **data: Any) -> dict[str, Any]:
    """A valid ivr-api request with `menu` inside `data` or (top=True) beside it."""
    body = plain_body(**({"a_number": A_NUMBER} | data))
    body["method"] = IVR_METHOD
    if top:
        body["dtmf"] = menu
    else:
        body["data"]["dtmf"] = menu
    return body
