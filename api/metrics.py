"""Prometheus metrics of the whole service, served by any api process (`/metrics`).

Calls are placed by the workers, but every process shares the database and Redis, so the
figures are read from there at scrape time and one api process shows the whole service:

- database: `dialer_attempts{state}`, `dialer_calls_placed_total`,
  `dialer_sbapi_failures_total{kind}` (rejected by sb-api, not sent), `dialer_call_outcomes_total
  {category}`, `dialer_contacts{status}`, `dialer_contact_outcomes{outcome}`,
  `dialer_callbacks{status}`, `dialer_sbapi_latency_seconds{quantile}` (request to answer, calls
  claimed in the last LATENCY_WINDOW), `dialer_events_received_total{kind}` (counted
  incrementally: only events new since the last scrape are read), `dialer_webhook_conflicts_total`
  (events stored but not applied: they contradict the attempt their `id` names),
  `dialer_network_spike_pauses_total` (campaigns the service paused for a spike of network
  failures);
- Redis: `dialer_queue_jobs{state}` (arq queue: ready, deferred), `dialer_concurrent_calls`
  (live leases), `dialer_cps_backlog_seconds` (how long a call taking a CPS slot now would wait),
  `dialer_mtt_balance` and `dialer_mtt_balance_read_timestamp_seconds` (the workers' last
  getCustomerBalance figure and when it was read; only with the balance poller configured);
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
from typing import Final

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from sqlalchemy.ext.asyncio import AsyncSession

from api.resources import ApiResources
from campaigns import telemetry
from campaigns.balance import BalanceGate, BalanceReading, read_balance
from campaigns.telemetry import Counts
from dialer.telecom.limiters import ConcurrencyLimiter, cps_backlog

__all__ = ["QUEUE_KEY", "ServiceMetrics"]

log = logging.getLogger(__name__)

MIN_INTERVAL: Final = 5.0
LATENCY_WINDOW: Final = timedelta(minutes=5)
QUANTILES: Final = (0.5, 0.9, 0.99)
EVENT_SETTLE: Final = timedelta(seconds=10)
"""Events younger than this may still be committing with lower ids: counted next time."""
QUEUE_KEY: Final = "arq:queue"


@dataclass
class _Reading:
    db: Counts = field(default_factory=Counts)
    queue: dict[str, int] = field(default_factory=dict)
    concurrent: int | None = None
    backlog: float | None = None
    balance: BalanceReading | None = None
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

    async def render(self, resources: ApiResources, now: datetime) -> bytes:
        """The Prometheus text of a fresh (at most MIN_INTERVAL old) reading."""
        async with self._lock:
            moment = time.monotonic()
            if self._read_at is None or moment - self._read_at >= self._min_interval:
                self._reading = await self._read(resources, now)
                self._read_at = moment
            stats = resources.inbox.stats
            self._inbox = (stats.batches, stats.deliveries)
        return generate_latest(self.registry)

    async def _read(self, resources: ApiResources, now: datetime) -> _Reading:
        reading = _Reading()
        try:
            async with resources.sessions() as session:
                reading.db = await telemetry.counts(session, latency_since=now - LATENCY_WINDOW)
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
        tally = await telemetry.new_events(
            session, after=self._events_after, now=now, settle=EVENT_SETTLE
        )
        for kind, count in tally.by_kind.items():
            self._events[kind] = self._events.get(kind, 0) + count
        self._events_after = tally.last_id

    def families(self) -> Iterator[Metric]:
        r, db = self._reading, self._reading.db
        yield _gauge("dialer_attempts", "attempts by state", "state", db.attempts)
        yield _total("dialer_calls_placed", "calls sb-api accepted (or may have)", db.placed)
        yield _counter(
            "dialer_sbapi_failures", "sb-api requests that placed no call", "kind", db.failures
        )
        yield _counter(
            "dialer_call_outcomes", "finished calls by category", "category", db.categories
        )
        yield _gauge("dialer_contacts", "contacts by status", "status", db.contacts)
        yield _gauge("dialer_contact_outcomes", "contacts by final outcome", "outcome", db.outcomes)
        yield _gauge("dialer_callbacks", "CRM callbacks by status", "status", db.callbacks)
        yield _counter(
            "dialer_events_received", "webhook events stored, by kind", "kind", self._events
        )
        yield _total(
            "dialer_webhook_conflicts",
            "webhook events not applied: their CallID or number contradicts the attempt named",
            db.conflicts,
        )
        yield _total(
            "dialer_network_spike_pauses",
            "campaigns paused by the service: most recent calls failed in MTT's network",
            db.network_pauses,
        )
        latency = GaugeMetricFamily(
            "dialer_sbapi_latency_seconds",
            f"sb-api request to answer, calls of the last {LATENCY_WINDOW}",
            labels=["quantile"],
        )
        for quantile, value in _quantiles(db.latencies):
            latency.add_metric([str(quantile)], value)
        yield latency
        yield _gauge("dialer_queue_jobs", "arq jobs waiting", "state", r.queue)
        if r.concurrent is not None:
            yield _single("dialer_concurrent_calls", "live concurrency leases", r.concurrent)
        if r.backlog is not None:
            yield _single(
                "dialer_cps_backlog_seconds", "CPS limiter wait for a call now", r.backlog
            )
        yield from _balance(r.balance)
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


async def _read_redis(resources: ApiResources, r: _Reading) -> None:
    redis = resources.redis
    seconds, micros = await redis.time()
    now_ms = int(seconds) * 1000 + int(micros) // 1000
    ready = await redis.zcount(QUEUE_KEY, "-inf", now_ms)
    r.queue = {"ready": ready, "deferred": await redis.zcard(QUEUE_KEY) - ready}
    scope = ConcurrencyLimiter.global_scope(0).key
    r.concurrent = await redis.zcount(scope, f"({now_ms}", "+inf")
    r.backlog = await cps_backlog(redis)
    if BalanceGate.from_settings(resources.settings) is not None:
        r.balance = await read_balance(redis)


def _balance(reading: BalanceReading | None) -> Iterator[Metric]:
    if reading is None or reading.balance is None or reading.read_at is None:
        return
    yield _single("dialer_mtt_balance", "MTT account balance, last read", float(reading.balance))
    yield _single(
        "dialer_mtt_balance_read_timestamp_seconds",
        "when the MTT balance was last read (Unix time)",
        reading.read_at.timestamp(),
    )


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
