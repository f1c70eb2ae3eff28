"""Everything the simulator received, decided and sent, and the views tests read of it."""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

from dialer.simulator.options import SimulatorOptions
from dialer.simulator.outcomes import ANSWERED, CallPlan, PlannedEvent
from dialer.simulator.validation import AcceptedCall

DeliveryStatus = Literal["pending", "delivered", "failed", "dropped"]


@dataclass
class DeliveryAttempt:
    at: datetime
    status: int | None
    error: str | None = None


@dataclass
class WebhookRecord:
    event: PlannedEvent
    url: str
    """With the webhook token masked."""
    status: DeliveryStatus = "pending"
    attempts: list[DeliveryAttempt] = field(default_factory=list)

    def view(self) -> dict[str, Any]:
        return {
            "leg": self.event.leg,
            "target": self.event.target,
            "url": self.url,
            "fields": dict(self.event.fields),
            "planned_at": round(self.event.at, 3),
            "duplicate": self.event.duplicate,
            "status": self.status,
            "attempts": [
                {"at": a.at.isoformat(), "status": a.status, "error": a.error}
                for a in self.attempts
            ],
        }


@dataclass
class SimCall:
    spec: AcceptedCall
    call_id: str
    attempt: int
    plan: CallPlan
    received_at: datetime
    answer_held: bool
    webhooks: list[WebhookRecord]
    finished: bool = False
    charged: float = 0.0

    @property
    def started_at(self) -> datetime:
        return self.received_at + timedelta(seconds=self.plan.started_at)

    def view(self) -> dict[str, Any]:
        plan, spec = self.plan, self.spec
        decision = plan.decision
        transfer = plan.transfer
        return {
            "mess_id": spec.mess_id,
            "call_id": self.call_id,
            "method": spec.method,
            "ivr": spec.ivr,
            "b_number": spec.b_number,
            "a_number": spec.a_number,
            "text": spec.text,
            "menu": [{"digit": a.digit, "type": a.type, "value": a.value} for a in spec.menu],
            "attempt": self.attempt,
            "outcome": decision.outcome,
            "cause": decision.cause,
            "forced": decision.forced,
            "tts_seconds": plan.tts,
            "duration": plan.duration,
            "dtmf": decision.digit,
            "dtmf_forced": decision.digit_forced,
            "action": plan.action.type if plan.action else None,
            "transfer": None
            if transfer is None
            else {"number": transfer.number, "cause": transfer.cause, "talk": transfer.talk},
            "received_at": self.received_at.isoformat(),
            "answer_held": self.answer_held,
            "finished": self.finished,
            "charged": self.charged,
            "webhooks": [w.view() for w in self.webhooks],
        }


class RateWindow:
    """Events in the sliding second before `now`, and the most ever seen in one second."""

    def __init__(self) -> None:
        self._times: deque[float] = deque()
        self.peak = 0

    def count(self, now: float) -> int:
        while self._times and self._times[0] <= now - 1.0:
            self._times.popleft()
        return len(self._times)

    def add(self, now: float) -> None:
        self.count(now)
        self._times.append(now)
        self.peak = max(self.peak, len(self._times))


@dataclass
class Stats:
    requests: int = 0
    accepted: int = 0
    rejected: int = 0
    unauthorized: int = 0
    throttled: int = 0
    errors_5xx: int = 0
    answers_held: int = 0
    webhooks_sent: int = 0
    webhooks_failed: int = 0
    webhook_retries: int = 0
    rpc_requests: int = 0


class SimState:
    """Single-event-loop state: no locks, every update happens between two awaits."""

    def __init__(self, options: SimulatorOptions) -> None:
        self._max = options.max_records
        self.balance = options.start_balance
        self.calls: dict[str, SimCall] = {}
        self.requests: deque[dict[str, Any]] = deque(maxlen=self._max)
        self.per_mess_id: Counter[str] = Counter()
        self.attempts: Counter[str] = Counter()
        self.stats = Stats()
        self.request_rate = RateWindow()
        """Every POST /v1/sb received."""
        self.admitted_rate = RateWindow()
        """Requests let through the CPS limit."""
        self.call_rate = RateWindow()
        """Calls accepted."""

    def next_attempt(self, number: str) -> int:
        """0 for the first accepted call to `number`, then 1, 2, ..."""
        attempt = self.attempts[number]
        self.attempts[number] += 1
        return attempt

    def add_call(self, call: SimCall, now: float) -> None:
        self.calls[call.call_id] = call
        self.call_rate.add(now)
        self.stats.accepted += 1
        if len(self.calls) > self._max:
            del self.calls[next(iter(self.calls))]

    def log_request(self, received_at: datetime, body: object, status: int, answer: object) -> None:
        data = body.get("data") if isinstance(body, dict) else None
        if isinstance(data, dict) and data.get("messId") is not None:
            self.per_mess_id[str(data["messId"])] += 1
        entry = {"received_at": received_at.isoformat(), "body": body}
        self.requests.append(entry | {"status": status, "answer": answer})

    def finish(self, call: SimCall, price: float) -> None:
        """The call's last leg ended: it enters the history, answered calls are charged."""
        call.finished = True
        if call.plan.decision.outcome in ANSWERED:
            call.charged = price
            self.balance -= price

    def stats_view(self) -> dict[str, Any]:
        return vars(self.stats) | {
            "max_requests_per_second": self.request_rate.peak,
            "max_admitted_per_second": self.admitted_rate.peak,
            "max_calls_per_second": self.call_rate.peak,
            "balance": round(self.balance, 2),
        }
