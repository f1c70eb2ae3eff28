"""The simulator at run time: answers requests, plays calls, owns state and background tasks."""

from __future__ import annotations

import asyncio
import base64
import binascii
import functools
import itertools
import json
import secrets
import ssl
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from dialer.settings import Settings
from dialer.simulator import rpc
from dialer.simulator.options import Rules, SimulatorOptions
from dialer.simulator.outcomes import build_plan, decide, seeded, with_faults
from dialer.simulator.state import SimCall, SimState, WebhookRecord
from dialer.simulator.tasks import TaskSet
from dialer.simulator.validation import AcceptedCall, AccessForbidden, Declined, validate_call
from dialer.simulator.webhooks import Deliverer, Senders
from dialer.simulator.wire import encode

UNAUTHORIZED = {"message": "unauthorized"}
UNAVAILABLE = {"message": "service unavailable"}
# The reference documents no throttling answer; 429 with Retry-After is the HTTP convention.
TOO_MANY = {"message": "too many requests"}
FORBIDDEN = {"message": "access forbidden"}
_LOGGED_TEXT = 2000


@dataclass(frozen=True)
class HttpAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    hold: float = 0.0
    """Seconds to hold the answer back on top of the latency knob."""


class Simulator:
    """One per app (`simulator_of(app)`): its state, rules, `idle()` and `reset()` serve tests."""

    def __init__(self, settings: Settings, options: SimulatorOptions) -> None:
        self.settings = settings
        self.options = options
        self.event_url = options.event_url or settings.event_url
        self.rules = options.rules
        self.state = SimState(options)
        self.tasks = TaskSet()
        self._faults = seeded(options.seed, "faults")
        # the start second in the middle bits: a restarted simulator (a resumed `dialer up`)
        # never hands out a CallID of an earlier run, which reconciliation would confuse
        started = int(time.time()) & 0xFFFFFF
        first = (0x0003 << 48) | (started << 24) | seeded(options.seed, "call-id").getrandbits(16)
        self._call_ids = itertools.count(first)
        self._token = settings.webhook_token.get_secret_value()
        self._senders: Senders | None = None
        self._delivery: Deliverer | None = None

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        """The app's lifespan: one HTTP client for all webhooks, every task ended on exit."""
        senders = self._senders = Senders(self.options.webhook_timeout, _tls())
        self._delivery = self._new_delivery(senders)
        try:
            yield
        finally:
            await self.tasks.cancel()
            await senders.aclose()
            self._senders = self._delivery = None

    def _new_delivery(self, senders: Senders) -> Deliverer:
        return Deliverer(
            senders,
            self.tasks,
            self.state.stats,
            retries=self.options.webhook_retries,
            backoff=self.options.webhook_backoff * self.options.time_factor,
            redact=self.redact,
        )

    async def reset(self) -> None:
        """Forgets every call, request and count; rules go back to the configured ones."""
        await self.tasks.cancel()
        self.state = SimState(self.options)
        self.rules = self.options.rules
        if self._senders is not None:
            self._delivery = self._new_delivery(self._senders)

    async def idle(self) -> None:
        """Waits until every scheduled event has been sent or given up."""
        await self.tasks.idle()

    def redact(self, text: str) -> str:
        return text.replace(self._token, "***") if self._token else text

    def authorized(self, header: str | None) -> bool:
        """Basic Auth with the settings' login; with no login configured anyone may call."""
        login = self.settings.sb_login
        if login is None:
            return True
        scheme, _, encoded = (header or "").partition(" ")
        try:
            given = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError):
            return False
        expected = f"{login}:{self.settings.sb_password.get_secret_value()}".encode()
        return scheme.lower() == "basic" and secrets.compare_digest(given, expected)

    def handle_call(
        self, raw: bytes, authorization: str | None, received_at: datetime, now: float
    ) -> HttpAnswer:
        """POST /v1/sb; `now` is monotonic seconds, for the CPS windows."""
        self.state.stats.requests += 1
        self.state.request_rate.add(now)
        body = _json(raw)
        result = self._answer_call(body, authorization, received_at, now)
        logged = body if body is not None else raw.decode("utf-8", "replace")[:_LOGGED_TEXT]
        self.state.log_request(received_at, logged, result.status, result.body)
        return result

    def _answer_call(
        self, body: object, authorization: str | None, received_at: datetime, now: float
    ) -> HttpAnswer:
        stats, options = self.state.stats, self.options
        if self._draw(options.error_rate):
            stats.errors_5xx += 1
            return HttpAnswer(503, UNAVAILABLE)
        if not self.authorized(authorization):
            stats.unauthorized += 1
            return HttpAnswer(401, UNAUTHORIZED, {"WWW-Authenticate": 'Basic realm="sb-api"'})
        limit = options.cps_limit
        if limit is not None and self.state.admitted_rate.count(now) >= limit:
            stats.throttled += 1
            return HttpAnswer(429, TOO_MANY, {"Retry-After": "1"})
        self.state.admitted_rate.add(now)
        verdict = validate_call(
            body,
            method=self.settings.sb_method,
            ivr_method=self.settings.sb_ivr_method,
            sip_id=self.settings.sip_id,
            allow_http_notify=options.allow_http_notify,
        )
        if isinstance(verdict, AccessForbidden):
            stats.rejected += 1
            return HttpAnswer(200, FORBIDDEN)
        if isinstance(verdict, Declined):
            stats.rejected += 1
            return HttpAnswer(200, self._refusal(verdict))
        call = self._accept(verdict, received_at, now)
        success = {"result": {"success": 1}, "id": verdict.mess_id, "CallID": call.call_id}
        if not call.answer_held:
            return HttpAnswer(200, success)
        stats.answers_held += 1
        delay = options.timeout_delay or self.settings.sb_timeout + 5.0
        return HttpAnswer(200, success, hold=delay)

    def _refusal(self, refusal: Declined) -> dict[str, Any]:
        result = {"success": 0, "error": refusal.error}
        if refusal.mess_id is None:
            return {"result": result, "id": self._next_call_id()}
        return {"result": result, "id": refusal.mess_id, "CallID": self._next_call_id()}

    def _accept(self, spec: AcceptedCall, received_at: datetime, now: float) -> SimCall:
        options = self.options
        call_id = self._next_call_id()
        attempt = self.state.next_attempt(spec.b_number)
        rng = seeded(options.seed, "call", spec.b_number, attempt)
        rule = self.rules.rule_for(spec.b_number)
        decision = decide(rule, attempt, options.weights, options.dtmf_press_rate, spec.menu, rng)
        plan = build_plan(
            spec,
            call_id,
            decision,
            accepted_at=received_at,
            event_url=self.event_url,
            chars_per_second=options.tts_chars_per_second,
            rng=rng,
        )
        events = with_faults(
            plan.events,
            duplicate_rate=options.duplicate_rate,
            reorder_rate=options.reorder_rate,
            drop_final_rate=options.drop_final_rate,
            rng=rng,
        )
        records = [WebhookRecord(event, self.redact(event.url)) for event in events]
        held = self._draw(options.timeout_rate)
        call = SimCall(spec, call_id, attempt, plan, received_at, held, records)
        self.state.add_call(call, now)
        self.tasks.spawn(self._play(call, now))
        return call

    async def _play(self, call: SimCall, start: float) -> None:
        state, delivery = self.state, self._delivery
        if delivery is None:
            raise RuntimeError("the simulator plays calls only inside its app's lifespan")
        for record in call.webhooks:
            event = record.event
            delay = start + event.at * self.options.time_factor - time.monotonic()
            if delay > 0:
                await asyncio.sleep(delay)
            if not call.finished and event.at >= call.plan.ended_at:
                state.finish(call, self.options.call_price)
            if event.dropped:
                record.status = "dropped"
                continue
            wire = encode(
                event.url, event.fields, ivr=call.spec.ivr, plain=self.options.plain_format
            )
            await delivery.send(record, wire)

    def handle_rpc(self, raw: bytes, authorization: str | None) -> HttpAnswer:
        """POST /rpc: JSON-RPC errors travel with HTTP 200, as the reference shows them."""
        self.state.stats.rpc_requests += 1
        if not self.authorized(authorization):
            return HttpAnswer(401, UNAUTHORIZED, {"WWW-Authenticate": 'Basic realm="rpc"'})
        body = _json(raw)
        if body is None:
            parse_error = rpc.RpcError(rpc.PARSE_ERROR, "Parse error")
            return HttpAnswer(200, rpc.error_answer(None, parse_error))
        answer = rpc.answer(
            body,
            self.state.calls.values(),
            sip_id=self.settings.sip_id,
            balance=self.state.balance,
            credit_limit=self.options.credit_limit,
            customer_name=self.options.customer_name,
        )
        return HttpAnswer(200, answer)

    def set_rules(self, rules: Rules) -> None:
        self.rules = rules

    def _draw(self, rate: float) -> bool:
        return rate > 0 and self._faults.random() < rate

    def _next_call_id(self) -> str:
        return f"{next(self._call_ids):016x}"


@functools.cache
def _tls() -> ssl.SSLContext:
    """One per process: loading the CA certificates takes a twentieth of a second."""
    return ssl.create_default_context()


def _json(raw: bytes) -> Any:
    """The body as JSON, or None; NaN and Infinity are not JSON and would not go back out."""
    try:
        return json.loads(raw, parse_constant=_not_json)
    except ValueError:
        return None


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON")
