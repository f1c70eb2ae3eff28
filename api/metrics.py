"""Prometheus metrics of the whole service, served by any api process (`/metrics`).

Calls are placed by the workers, but every process shares the database and Redis, so the
figures are read from there at scrape time and one api process shows the whole service:

- database: `dialer_attempts{state}`, `dialer_calls_placed_total`,
  `dialer_sbapi_failures_total{kind}` (rejected by sb-api, not sent), `dialer_call_outcomes_total
  {category}`, `dialer_contacts{status}`, `dialer_contact_outcomes{outcome}`,
  `dialer_callbacks{status}`, `dialer_sbapi_latency_seconds{quantile}` (request to answer, calls
  claimed in the last LATENCY_WINDOW), `dialer_events_received_total{kind}` (counted
  incrementally: only events new since the last scrape are read);
- Redis: `dialer_queue_jobs{state}` (arq queue: ready, deferred), `dialer_concurrent_calls`
  (live leases), `dialer_cps_backlog_seconds` (how long a call taking a CPS slot now would wait);
- this process only: `dialer_inbox_batches_total`, `dialer_inbox_deliveries_total`,
  `dialer_dependency_up{dependency}` (whether this scrape could read it).

Each app has its own registry (tests run many apps in one process). Scrapes closer together
than MIN_INTERVAL share one reading, so /metrics cannot be used to load the database.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import InstrumentedAttribute

from api.resources import Resources
from campaigns.states import AttemptState
from campaigns.tables import Attempt, Callback, Contact, Event
from dialer.limits import ConcurrencyLimiter, cps_backlog

__all__ = ["QUEUE_KEY", "ServiceMetrics"]

log = logging.getLogger(__name__)

MIN_INTERVAL: Final = 5.0
LATENCY_WINDOW: Final = timedelta(minutes=5)
QUANTILES: Final = (0.5, 0.9, 0.99)
EVENT_SETTLE: Final = timedelta(seconds=10)
"""Events younger than this may still be committing with lower ids: counted next time."""
QUEUE_KEY: Final = "arq:queue"
_A = AttemptState
_PLACED: Final = frozenset({_A.ACCEPTED, _A.ORIGINATED, _A.FINISHED, _A.LOST, _A.UNKNOWN})
_ANSWERED_STATES: Final = (*_PLACED, _A.REJECTED)


@dataclass
class _Reading:
    attempts: dict[str, int] = field(default_factory=dict)
    placed: int = 0
    failures: dict[str, int] = field(default_factory=lambda: {"rejected": 0, "not_sent": 0})
    categories: dict[str, int] = field(default_factory=dict)
    contacts: dict[str, int] = field(default_factory=dict)
    outcomes: dict[str, int] = field(default_factory=dict)
    callbacks: dict[str, int] = field(default_factory=dict)
    latencies: list[float] = field(default_factory=list)
    queue: dict[str, int] = field(default_factory=dict)
    concurrent: int | None = None
    backlog: float | None = None
    up: dict[str, bool] = field(default_factory=dict)


class ServiceMetrics:
    def __init__(self, *, min_interval: float = MIN_INTERVAL) -> None:
        self.registry = CollectorRegistry()
        self._min_interval = min_interval
        self._reading = _Reading()
        self._events: dict[str, int] = {}
        self._events_after = 0
        self._read_at: float | None = None
        self._lock = asyncio.Lock()
        self._inbox = (0, 0)
        self.registry.register(_Collector(self))

    async def render(self, resources: Resources, now: datetime) -> bytes:
        """The Prometheus text of a fresh (at most MIN_INTERVAL old) reading."""
        async with self._lock:
            moment = time.monotonic()
            if self._read_at is None or moment - self._read_at >= self._min_interval:
                self._reading = await self._read(resources, now)
                self._read_at = moment
            stats = resources.inbox.stats
            self._inbox = (stats.batches, stats.deliveries)
        return generate_latest(self.registry)

    async def _read(self, resources: Resources, now: datetime) -> _Reading:
        reading = _Reading()
        try:
            async with resources.sessions() as session:
                await _read_database(session, reading, now)
                await self._count_events(session, now)
            reading.up["database"] = True
        except Exception as error:
            log.warning("metrics: reading the database failed: %r", error)
            reading.up["database"] = False
        try:
            await _read_redis(resources, reading)
            reading.up["redis"] = True
        except Exception as error:
            log.warning("metrics: reading Redis failed: %r", error)
            reading.up["redis"] = False
        return reading

    async def _count_events(self, session: AsyncSession, now: datetime) -> None:
        after = self._events_after
        fresh = await session.scalar(
            select(func.min(Event.id)).where(
                Event.id > after, Event.received_at > now - EVENT_SETTLE
            )
        )
        query = select(Event.kind, func.count(), func.max(Event.id)).where(Event.id > after)
        if fresh is not None:
            query = query.where(Event.id < fresh)
        for kind, count, last in await session.execute(query.group_by(Event.kind)):
            label = kind or "unparseable"
            self._events[label] = self._events.get(label, 0) + count
            self._events_after = max(self._events_after, last)

    def families(self) -> Iterator[Metric]:
        r = self._reading
        yield _gauge("dialer_attempts", "attempts by state", "state", r.attempts)
        yield _total("dialer_calls_placed", "calls sb-api accepted (or may have)", r.placed)
        yield _counter(
            "dialer_sbapi_failures", "sb-api requests that placed no call", "kind", r.failures
        )
        yield _counter(
            "dialer_call_outcomes", "finished calls by category", "category", r.categories
        )
        yield _gauge("dialer_contacts", "contacts by status", "status", r.contacts)
        yield _gauge("dialer_contact_outcomes", "contacts by final outcome", "outcome", r.outcomes)
        yield _gauge("dialer_callbacks", "CRM callbacks by status", "status", r.callbacks)
        yield _counter(
            "dialer_events_received", "webhook events stored, by kind", "kind", self._events
        )
        latency = GaugeMetricFamily(
            "dialer_sbapi_latency_seconds",
            f"sb-api request to answer, calls of the last {LATENCY_WINDOW}",
            labels=["quantile"],
        )
        for quantile, value in _quantiles(r.latencies):
            latency.add_metric([str(quantile)], value)
        yield latency
        yield _gauge("dialer_queue_jobs", "arq jobs waiting", "state", r.queue)
        if r.concurrent is not None:
            yield _single("dialer_concurrent_calls", "live concurrency leases", r.concurrent)
        if r.backlog is not None:
            yield _single(
                "dialer_cps_backlog_seconds", "CPS limiter wait for a call now", r.backlog
            )
        batches, deliveries = self._inbox
        yield _total("dialer_inbox_batches", "inbox transactions (this process)", batches)
        yield _total("dialer_inbox_deliveries", "webhooks stored (this process)", deliveries)
        up = {name: int(ok) for name, ok in r.up.items()}
        yield _gauge("dialer_dependency_up", "read by this scrape", "dependency", up)


class _Collector(Collector):
    def __init__(self, metrics: ServiceMetrics) -> None:
        self._metrics = metrics

    def collect(self) -> Iterable[Metric]:
        return list(self._metrics.families())


async def _read_database(session: AsyncSession, r: _Reading, now: datetime) -> None:
    rows = await session.execute(
        select(
            Attempt.state,
            Attempt.category,
            Attempt.sent_at.is_not(None),
            Attempt.responded_at.is_not(None),
            func.count(),
        ).group_by(
            Attempt.state,
            Attempt.category,
            Attempt.sent_at.is_not(None),
            Attempt.responded_at.is_not(None),
        )
    )
    for state, category, sent, responded, count in rows:
        r.attempts[state] = r.attempts.get(state, 0) + count
        if category is not None:
            r.categories[category] = r.categories.get(category, 0) + count
        if state in _PLACED:
            r.placed += count
        elif state == _A.REJECTED and responded:
            r.failures["rejected"] += count
        elif state == _A.REJECTED and sent:
            r.failures["not_sent"] += count
    r.contacts = await _grouped(session, Contact.status)
    r.outcomes = await _grouped(session, Contact.outcome)
    r.callbacks = await _grouped(session, Callback.status)
    recent = await session.execute(
        select(Attempt.sent_at, Attempt.responded_at).where(
            Attempt.state.in_(_ANSWERED_STATES),
            Attempt.claimed_at >= now - LATENCY_WINDOW,
            Attempt.sent_at.is_not(None),
            Attempt.responded_at.is_not(None),
        )
    )
    r.latencies = sorted(
        max((answered - sent).total_seconds(), 0.0)
        for sent, answered in recent
        if sent is not None and answered is not None
    )


async def _grouped(session: AsyncSession, column: InstrumentedAttribute[Any]) -> dict[str, int]:
    rows = await session.execute(select(column, func.count()).group_by(column))
    return {str(value): count for value, count in rows if value is not None}


async def _read_redis(resources: Resources, r: _Reading) -> None:
    redis = resources.redis
    seconds, micros = await redis.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    ready = await redis.zcount(QUEUE_KEY, "-inf", now_ms)
    r.queue = {"ready": ready, "deferred": await redis.zcard(QUEUE_KEY) - ready}
    scope = ConcurrencyLimiter.global_scope(0).key
    r.concurrent = await redis.zcount(scope, f"({now_ms}", "+inf")
    r.backlog = await cps_backlog(redis)


def _quantiles(values: list[float]) -> list[tuple[float, float]]:
    if not values:
        return []
    last = len(values) - 1
    return [(q, values[min(last, int(q * len(values)))]) for q in QUANTILES]


def _gauge(name: str, doc: str, label: str, values: Mapping[str, int]) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def _counter(name: str, doc: str, label: str, values: Mapping[str, int]) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc, labels=[label])
    for key, value in sorted(values.items()):
        family.add_metric([key], value)
    return family


def _total(name: str, doc: str, value: int) -> CounterMetricFamily:
    family = CounterMetricFamily(name, doc)
    family.add_metric([], value)
    return family


def _single(name: str, doc: str, value: float) -> GaugeMetricFamily:
    family = GaugeMetricFamily(name, doc)
    family.add_metric([], value)
    return family
