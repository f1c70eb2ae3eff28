"""Webhook collector throughput and latency: one API process on SQLite, driven by wrk.

    uv run python -m bench.webhooks [--attempts 50000] [--duration 20] [--rate 1000]

Pre-creates `--attempts` accepted attempts (one contact each) in a migrated SQLite database,
starts a real redis-server and one uvicorn process of the real app (plus a bare `/bench/ok`
route that only answers 200, added here and nowhere else), then runs wrk with a Lua script
that posts IVR JSON events for those attempts: o, n (digit 1), h (16, listened) per attempt,
each one new, so every request is stored, applied and committed before its 200.

1. sustained: as fast as wrk can (64 connections) against the collector, then against the bare
   route (the ratio's denominator);
2. fixed rate: 1,000 requests/s from wrk itself (plain wrk has no rate option: the Lua
   `delay()` keeps a per-thread send schedule on CLOCK_MONOTONIC through LuaJIT's ffi, so
   requests leave 1/rate apart whatever the answers take; latency is measured from each send).

Finally the database is checked: every 200 of the collector must be a stored, applied event.
Targets: ≥ 2,000 events/s and ≥ 0.35 of the bare route; p99 ≤ 25 ms at 1,000/s.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import httpx
from fastapi import FastAPI, Response
from sqlalchemy import func, insert, select

from api.app import create_app
from campaigns.db import create_engine, session_factory, upgrade, write_transaction
from campaigns.tables import Attempt, Campaign, Contact, Event
from dialer.settings import Settings
from dialer.shell.redis_server import RedisServer, free_port
from dialer.shell.runtime import tune_garbage_collector

ROOT = Path(__file__).resolve().parent.parent
EVENTS_TARGET = 2000.0
RATIO_TARGET = 0.35
P99_TARGET_MS = 25.0

_LUA = r"""
local ffi = require("ffi")
ffi.cdef[[
typedef struct { long tv_sec; long tv_nsec; } bench_timespec;
int clock_gettime(int clk_id, bench_timespec *tp);
]]
local ts = ffi.new("bench_timespec")
local function now_ms()
  ffi.C.clock_gettime(1, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local threads = {}
function setup(thread)
  thread:set("index", #threads)
  table.insert(threads, thread)
end

function init(args)
  path = args[1]
  first = tonumber(args[2])
  nthreads = tonumber(args[3])
  interval = tonumber(args[4])
  phone_base = 79000000000
  sent = 0
  next_at = nil
  headers = {["Content-Type"] = "application/json"}
end

function request()
  local attempt = first + index + math.floor(sent / 3) * nthreads
  local step = sent % 3
  sent = sent + 1
  local phone = string.format("%d", phone_base + attempt)
  local event
  if step == 0 then
    event = '"event": "o_' .. phone .. '"'
  elseif step == 1 then
    event = '"dtmf": "1", "type": "notify", "event": "n_' .. phone .. '"'
  else
    event = '"event": "h_' .. phone .. '_16_42"'
  end
  local body = '{"date_time": "2026-11-25-12-00-00", "id": "' .. attempt ..
    '", "CallID": "' .. string.format("%016x", attempt) .. '", ' .. event .. '}'
  return wrk.format("POST", path, headers, body)
end

DELAY_FUNCTION

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    'BENCH {"requests": %d, "duration_us": %d, "status_errors": %d, "socket_errors": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d}\n',
    summary.requests, summary.duration, e.status, e.connect + e.read + e.write + e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max))
end
"""

_DELAY = r"""
function delay()
  local now = now_ms()
  if next_at == nil then next_at = now end
  next_at = next_at + interval
  local wait = next_at - now
  if wait < 0 then return 0 end
  return math.floor(wait)
end
"""


def bench_app() -> FastAPI:
    """The real app plus the bare route; uvicorn's factory, settings from DIALER_* variables.
    The garbage collector is tuned as `dialer api` tunes it."""
    app = create_app(Settings())
    tune_garbage_collector()

    @app.post("/bench/ok")
    async def ok() -> Response:
        return Response(status_code=200)

    return app


def phone_of(n: int) -> str:
    return str(79_000_000_000 + n)


async def seed(url: str, attempts: int) -> None:
    """A running campaign whose `attempts` contacts are each being dialed (attempt accepted)."""
    await upgrade(url)
    engine = create_engine(url)
    now = datetime.now(UTC)
    try:
        async with write_transaction(session_factory(engine)) as session:
            campaign = Campaign(
                name="bench",
                status="running",
                message="Здравствуйте! Ваш заказ готов.",
                window={"workdays": ["00:00", "24:00"], "weekends": ["00:00", "24:00"]},
                dtmf=[{"digit": 1, "action": "notify"}],
                created_at=now,
                updated_at=now,
            )
            session.add(campaign)
            await session.flush()
            numbers = range(1, attempts + 1)
            contacts = [
                {"id": n, "campaign_id": campaign.id, "phone": phone_of(n),
                 "timezone": "Europe/Moscow", "status": "dialing"}
                for n in numbers
            ]  # fmt: skip
            await session.execute(insert(Contact), contacts)
            attempts_ = [
                {"id": n, "contact_id": n, "campaign_id": campaign.id, "phone": phone_of(n),
                 "state": "accepted", "call_id": f"{n:016x}", "claimed_at": now, "sent_at": now}
                for n in numbers
            ]  # fmt: skip
            await session.execute(insert(Attempt), attempts_)
    finally:
        await engine.dispose()


async def applied_counts(url: str) -> dict[str, int]:
    """What the database holds after the runs: stored events and where they got."""
    engine = create_engine(url)
    queries = {
        "events": select(func.count()).select_from(Event),
        "applied": select(func.count()).where(
            Event.attempt_id.is_not(None), Event.apply_error.is_(None)
        ),
        "finished": select(func.count()).where(Attempt.state == "finished"),
        "listened": select(func.count()).where(Contact.outcome == "listened"),
    }
    try:
        async with session_factory(engine)() as session:
            return {name: await session.scalar(query) or 0 for name, query in queries.items()}
    finally:
        await engine.dispose()


def start_api(env: dict[str, str], port: int, cwd: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", "--factory", "bench.webhooks:bench_app",
        "--app-dir", str(ROOT), "--host", "127.0.0.1", "--port", str(port),
        "--no-access-log", "--log-level", "warning",
    ]  # fmt: skip
    process = subprocess.Popen(command, env=env, cwd=cwd)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the API exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return process
        except OSError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("the API did not start listening within 30 s")


def inbox_totals(port: int) -> tuple[float, float]:
    """(transactions, bodies) of the API's inbox so far, from its /metrics."""
    text = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    values = dict(
        line.split()[:2] for line in text.splitlines() if line.startswith("dialer_inbox_")
    )
    return (
        float(values.get("dialer_inbox_batches_total", 0)),
        float(values.get("dialer_inbox_deliveries_total", 0)),
    )


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process, all its threads (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def run_wrk(
    work: Path,
    port: int,
    pid: int,
    path: str,
    *,
    first: int,
    connections: int,
    duration: int,
    rate: float | None,
) -> dict[str, float]:
    """One wrk run (`rate` None: as fast as it goes) with the API's CPU time and batch size."""
    threads = 1  # one wrk thread drives tens of thousands of requests/s; the rest is the API's
    interval = 0.0 if rate is None else 1000.0 * threads / rate
    script = work / ("paced.lua" if rate else "flat.lua")
    script.write_text(_LUA.replace("DELAY_FUNCTION", "" if rate is None else _DELAY))
    command = [
        "wrk", "-t", str(threads), "-c", str(connections), "-d", f"{duration}s",
        "--timeout", "5s", "-s", str(script), f"http://127.0.0.1:{port}",
        "--", path, str(first), str(threads), str(interval),
    ]  # fmt: skip
    cpu_before, inbox_before = cpu_seconds(pid), inbox_totals(port)
    done = subprocess.run(
        command, capture_output=True, text=True, check=True, timeout=duration + 60
    )
    line = next(x for x in done.stdout.splitlines() if x.startswith("BENCH "))
    result: dict[str, float] = json.loads(line.removeprefix("BENCH "))
    result["per_second"] = result["requests"] / (result["duration_us"] / 1e6)
    result["cpu_ms"] = 1000 * (cpu_seconds(pid) - cpu_before) / max(result["requests"], 1)
    batches, bodies = (b - a for a, b in zip(inbox_before, inbox_totals(port), strict=True))
    result["per_batch"] = bodies / batches if batches else float("nan")
    return result


def measure(
    work: Path, port: int, pid: int, hook: str, options: argparse.Namespace
) -> dict[str, dict[str, float]]:
    def run(path: str, first: int, connections: int, rate: float | None) -> dict[str, float]:
        return run_wrk(
            work, port, pid, path, first=first, connections=connections,
            duration=options.duration, rate=rate,
        )  # fmt: skip

    runs = {
        "events": run(hook, 1, options.connections, None),
        "bare": run("/bench/ok", 1, options.connections, None),
    }
    first = 1 + int(runs["events"]["requests"]) // 3 + options.connections + 1
    if first + options.rate * options.duration / 3 > options.attempts:
        print("warning: not enough attempts left; paced events will repeat (duplicates)")
    runs["events_paced"] = run(hook, first, 32, options.rate)
    runs["bare_paced"] = run("/bench/ok", 1, 32, options.rate)
    return runs


@contextmanager
def collector(work: Path, url: str) -> Iterator[tuple[int, int, str]]:
    """The API process on the database at `url` with a Redis of its own, for as long as the
    block runs: its port, its pid and the webhook path with its token."""
    token = secrets.token_urlsafe(24)
    with RedisServer(work / "redis") as redis:
        env = os.environ | {
            "DIALER_DATABASE_URL": url,
            "DIALER_REDIS_URL": redis.url,
            "DIALER_WEBHOOK_TOKEN": token,
            "DIALER_DATA_DIR": str(work / "var"),
        }
        port = free_port()
        api = start_api(env, port, work)
        try:
            yield port, api.pid, f"/webhooks/mtt/{token}"
        finally:
            api.terminate()
            api.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--attempts", type=int, default=50_000)
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--rate", type=float, default=1000.0, help="requests/s of the paced runs")
    parser.add_argument("--connections", type=int, default=64)
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="bench-webhooks-") as tmp:
        work = Path(tmp)
        url = f"sqlite+aiosqlite:///{work / 'dialer.db'}"
        started = time.monotonic()
        asyncio.run(seed(url, options.attempts))
        print(f"seeded {options.attempts:,} attempts in {time.monotonic() - started:.1f} s")
        with collector(work, url) as (port, pid, hook):
            runs = measure(work, port, pid, hook, options)
        counts = asyncio.run(applied_counts(url))
    report(runs, counts, options)


def report(
    runs: dict[str, dict[str, float]], counts: dict[str, int], options: argparse.Namespace
) -> None:
    rate = f"{options.rate:,.0f}/s"
    print(f"{'run':<32}{'rate':>10}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}{'errors':>8}"
          f"{'CPU ms':>8}{'batch':>7}")  # fmt: skip
    for name, label in [
        ("events", "events, as fast as possible"),
        ("bare", "bare 200, as fast as possible"),
        ("events_paced", f"events at {rate}"),
        ("bare_paced", f"bare 200 at {rate}"),
    ]:
        r = runs[name]
        print(f"{label:<32}{r['per_second']:>8,.0f}/s{r['p50_us'] / 1e3:>9.2f}"
              f"{r['p90_us'] / 1e3:>9.2f}{r['p99_us'] / 1e3:>9.2f}"
              f"{r['status_errors'] + r['socket_errors']:>8,.0f}{r['cpu_ms']:>8.3f}"
              f"{r['per_batch']:>7.1f}")  # fmt: skip
    answered = int(runs["events"]["requests"] + runs["events_paced"]["requests"])
    print(
        f"database: {counts['events']:,} events stored, {counts['applied']:,} matched and "
        f"applied, {counts['finished']:,} attempts finished ({counts['listened']:,} listened) "
        f"for {answered:,} answered requests"
    )
    events, bare = runs["events"], runs["bare"]
    ratio = events["per_second"] / bare["per_second"]
    p99 = runs["events_paced"]["p99_us"] / 1000
    print(f"CPU per request, bare / events: {bare['cpu_ms'] / events['cpu_ms']:.2f} "
          f"(the ratio on a machine where the API has a core to itself)")  # fmt: skip
    verdicts = [
        (f"sustained {events['per_second']:,.0f} events/s >= {EVENTS_TARGET:,.0f}",
         events["per_second"] >= EVENTS_TARGET),
        (f"ratio to the bare route {ratio:.2f} >= {RATIO_TARGET}", ratio >= RATIO_TARGET),
        (f"p99 at {rate} {p99:.2f} ms <= {P99_TARGET_MS:.0f} ms", p99 <= P99_TARGET_MS),
        (f"every 200 stored and applied: {counts['applied']:,} of {counts['events']:,} "
         f"stored applied, >= {answered:,} answered",
         counts["applied"] >= answered and counts["applied"] == counts["events"]),
    ]  # fmt: skip
    for text, ok in verdicts:
        print(f"{'PASS' if ok else 'FAIL'}  {text}")


if __name__ == "__main__":
    main()
