"""Pacing across worker processes: the CPS limit kept and used, and the rate with no limit.

    uv run python -m bench.pacing [--limits 20 100] [--seconds 20] [--workers 4] [--jitter J]

For each limit L: a fresh cluster (tests/e2e/cluster.py: redis-server, SQLite, `dialer
simulate`, `dialer api`, `--workers` × `dialer worker`, all on loopback) with DIALER_CPS=L runs
one campaign of L × `--seconds` contacts that all listen. Measured at the simulator, by the
arrival of each POST /v1/sb:

- achieved / L: (requests − 1) / (last arrival − first arrival), over L;
- worst window / L: the most arrivals in any sliding 1-second window, over L;
- makespan / bound: from the campaign's start to the last call's end (both in the database),
  over the least any dialer could take: max(the rate bound, the concurrency bound), where the
  rate bound sends the longest calls first, 1/L apart (max over k of k/L + d_k, durations
  sorted longest first), and the concurrency bound is Σd / MAX_CONCURRENT; d is each call's
  simulated length (its `h` event's time × time_factor).

Then the same cluster with no effective limit (DIALER_CPS=100000) runs `--unlimited` contacts,
and a bare httpx loop (`--connections` concurrent requests, the same bodies the client sends)
posts as many to the same simulator: the engine's rate over the bare loop's.
Targets: achieved/L ≥ 0.95, worst window ≤ 1.00, makespan ratio ≤ 1.10, unlimited ratio ≥ 0.5.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, select

from campaigns.tables import Attempt, Campaign
from dialer.settings import DtmfPlacement
from dialer.telecom.sbapi import CallRequest, request_body
from tests.e2e.cluster import SB_METHOD, SIM_LOGIN, SIP_ID, Cluster, busiest_second

ACHIEVED_TARGET = 0.95
WINDOW_TARGET = 1.00
MAKESPAN_TARGET = 1.10
UNLIMITED_TARGET = 0.5
NO_LIMIT = 100_000.0
MESSAGE = "Здравствуйте! Ваш заказ готов к выдаче в пункте самовывоза до пятницы."
"""Long enough (5 s of TTS) that every answered call counts as listened, not hung up."""
BARE_MESS_IDS = 10_000_000
"""messIds of the bare loop: far from the engine's attempt ids."""
PRODUCTION = {"CLAIM_LEASE": "60", "SB_TIMEOUT": "10", "FINAL_EVENT_TIMEOUT": "120"}
"""The service's leases and timeouts rather than the e2e tests' short ones (a slow moment
must not turn into abandoned or lost calls here); the final-event timeout stays short enough
that a lost call cannot stall a run for ten minutes."""
LISTEN = {"last_digit": {digit: {"causes": ["listened"]} for digit in "0123456789"}}


@dataclass(frozen=True)
class Paced:
    limit: float
    contacts: int
    requests: int
    achieved: float
    worst_window: int
    makespan: float | None
    """None when the campaign did not complete in time."""
    rate_bound: float
    concurrency_bound: float

    @property
    def bound(self) -> float:
        return max(self.rate_bound, self.concurrency_bound)


def phones(count: int) -> list[str]:
    return [f"7915{index:07d}" for index in range(count)]


def campaign(count: int, max_concurrent: int) -> dict[str, Any]:
    return {
        "name": f"bench {count}",
        "message": MESSAGE,
        "schedule": {"workdays": ["00:00", "24:00"], "weekends": ["00:00", "24:00"]},
        "max_attempts": 1,
        "max_concurrent": max_concurrent,
        "contacts": [{"phone": phone} for phone in phones(count)],
    }


def rate_of(times: list[float]) -> float:
    ordered = sorted(times)
    return (len(ordered) - 1) / (ordered[-1] - ordered[0])


def rate_bound(durations: list[float], limit: float) -> float:
    """The shortest makespan under the rate limit alone: longest calls first, 1/L apart."""
    ordered = sorted(durations, reverse=True)
    return max(k / limit + d for k, d in enumerate(ordered))


def run_campaign(
    cluster: Cluster, count: int, max_concurrent: int, timeout: float
) -> tuple[int, bool]:
    """The campaign's id, and whether it completed within `timeout`."""
    httpx.post(f"{cluster.sim_url}/_sim/reset", timeout=30).raise_for_status()
    campaign_id = cluster.create_campaign(campaign(count, max_concurrent))
    try:
        cluster.wait_completed(campaign_id, timeout)
    except AssertionError as error:
        print(f"  {str(error).splitlines()[0]}", flush=True)
        return campaign_id, False
    return campaign_id, True


def makespan(cluster: Cluster, campaign_id: int) -> float:
    with cluster.database() as session:
        started = session.scalar(select(Campaign.started_at).where(Campaign.id == campaign_id))
        ended = session.scalar(
            select(func.max(Attempt.finished_at)).where(Attempt.campaign_id == campaign_id)
        )
    assert isinstance(started, datetime)
    assert isinstance(ended, datetime)
    return (ended - started).total_seconds()


def durations(cluster: Cluster) -> list[float]:
    """Each call's simulated length in real seconds: acceptance to its final `h` event."""
    return [
        next(w["planned_at"] for w in call["webhooks"] if w["leg"] == "h") * cluster.time_factor
        for call in cluster.sim_calls()
    ]


def settings_of(options: argparse.Namespace) -> dict[str, str]:
    jitter = {} if options.jitter is None else {"CPS_JITTER": str(options.jitter)}
    return PRODUCTION | jitter


def paced(workdir: Path, limit: float, options: argparse.Namespace) -> Paced:
    count = round(limit * options.seconds)
    with Cluster(
        workdir,
        rules=LISTEN,
        time_factor=options.time_factor,
        workers=options.workers,
        cps=limit,
        max_concurrent=options.max_concurrent,
        settings=settings_of(options),
    ) as cluster:
        campaign_id, completed = run_campaign(
            cluster, count, options.max_concurrent, timeout=4 * options.seconds + 60
        )
        times = cluster.sim_request_times()
        lengths = durations(cluster)
        return Paced(
            limit=limit,
            contacts=count,
            requests=len(times),
            achieved=rate_of(times),
            worst_window=busiest_second(times),
            makespan=makespan(cluster, campaign_id) if completed else None,
            rate_bound=rate_bound(lengths, limit),
            concurrency_bound=sum(lengths) / options.max_concurrent,
        )


async def bare_loop(cluster: Cluster, count: int, connections: int) -> float:
    """Rate of `count` sb-api requests posted by `connections` tasks with nothing else."""
    bodies = [
        request_body(
            CallRequest(mess_id=str(BARE_MESS_IDS + i), b_number=phone, text=MESSAGE),
            method=SB_METHOD,
            ivr_method="ivr-api",
            sip_id=SIP_ID,
            placement=DtmfPlacement.DATA,
        )
        for i, phone in enumerate(phones(count))
    ]
    auth = httpx.BasicAuth(SIM_LOGIN, cluster.sim_password)
    url = f"{cluster.sim_url}/v1/sb"
    limits = httpx.Limits(max_connections=connections)
    async with httpx.AsyncClient(auth=auth, limits=limits, timeout=30) as client:

        async def post(queue: list[dict[str, Any]]) -> None:
            while queue:
                answer = await client.post(url, json=queue.pop())
                assert answer.json()["result"]["success"] == 1, answer.text

        started = time.monotonic()
        await asyncio.gather(*(post(bodies) for _ in range(connections)))
        return count / (time.monotonic() - started)


def unlimited(workdir: Path, options: argparse.Namespace) -> tuple[float, float]:
    count = options.unlimited
    with Cluster(
        workdir,
        rules=LISTEN,
        time_factor=options.time_factor,
        workers=options.workers,
        cps=NO_LIMIT,
        max_concurrent=10 * count,
        settings=settings_of(options),
    ) as cluster:
        run_campaign(cluster, count, 10_000, timeout=240)
        try:
            cluster.sim_idle(wait=60)
        except httpx.TimeoutException:
            print("  the simulator is still busy with its webhooks", flush=True)
        engine = rate_of(cluster.sim_request_times())
        httpx.post(f"{cluster.sim_url}/_sim/reset", timeout=30).raise_for_status()
        bare = asyncio.run(bare_loop(cluster, count, options.connections))
    return engine, bare


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--limits", type=float, nargs="+", default=[20.0, 100.0])
    parser.add_argument("--seconds", type=float, default=20.0, help="run length at the limit")
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--max-concurrent", type=int, default=300)
    parser.add_argument("--time-factor", type=float, default=0.05)
    parser.add_argument("--unlimited", type=int, default=2000, help="contacts of the no-limit run")
    parser.add_argument(
        "--jitter",
        type=float,
        help="DIALER_CPS_JITTER (default: the service's): the admission log's window is 1 s + "
        "this, so the rate is L / (1 + jitter) at most",
    )
    parser.add_argument("--connections", type=int, default=32, help="of the bare httpx loop")
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pacing-") as tmp:
        results = []
        for index, limit in enumerate(options.limits):
            workdir = Path(tmp) / f"paced{index}"
            workdir.mkdir()
            results.append(paced(workdir, limit, options))
            report_paced(results[-1])
        workdir = Path(tmp) / "unlimited"
        workdir.mkdir()
        engine, bare = unlimited(workdir, options)
    print(
        f"no limit: engine {engine:.0f} calls/s, bare httpx loop {bare:.0f} requests/s, "
        f"ratio {engine / bare:.2f} (target ≥ {UNLIMITED_TARGET})"
    )


def report_paced(result: Paced) -> None:
    limit = result.limit
    if result.makespan is None:
        span = "makespan n/a: the campaign did not complete"
    else:
        span = (
            f"makespan {result.makespan:.1f} s / bound {result.bound:.1f} s = "
            f"{result.makespan / result.bound:.2f} (target ≤ {MAKESPAN_TARGET})"
        )
    print(
        f"L={limit:g}: {result.requests} requests for {result.contacts} contacts; "
        f"achieved/L {result.achieved / limit:.3f} (target ≥ {ACHIEVED_TARGET}); "
        f"worst 1-s window {result.worst_window} = {result.worst_window / limit:.2f} L "
        f"(target ≤ {WINDOW_TARGET:.2f}); {span}; rate bound {result.rate_bound:.1f} s, "
        f"concurrency bound {result.concurrency_bound:.1f} s",
        flush=True,
    )


if __name__ == "__main__":
    main()
