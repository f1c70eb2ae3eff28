"""`/healthz` stays quick while a large import runs: the import's work is off the event loop.

The real service (`dialer api`, its own process, as deployed) listens on loopback; a large
CSV goes up while a second client probes `/healthz` back to back. One slow probe on a busy
machine is noise, so the figure is the 99th percentile of many probes; work done on the loop
holds the probes for as long as it runs, seconds for a file this size.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from dialer.shell.redis_server import RedisServer
from tests.api.support import API_KEY, AUTH, create
from tests.api.test_health import free_port
from tests.campaigns.files import csv_bytes, rows

ROWS = 400_000
"""Enough for the import to outlast the probes it needs: with 200,000 rows a CI run saw only 97
probes once the numbering-plan places stopped costing a merge per row."""
MIN_PROBES = 100
P99_LIMIT_S = 0.25
"""Looser than the 100 ms aimed at, which the service meets on a quiet two-CPU machine (p99
70-84 ms over three runs): off the loop, the import's thread still holds the GIL through single
pandas calls, 100-200 ms each on a machine loaded three times over. Work on the loop shows as
seconds."""
WORST_LIMIT_S = 0.5
"""A probe waiting out work on the loop waits for all of it; p99 alone would not see one."""
PROBE_PAUSE_S = 0.005
START_TIMEOUT_S = 60


@pytest.fixture
async def served(
    db_url: str, redis_server: RedisServer, data_dir: Path, tmp_path: Path
) -> AsyncIterator[str]:
    """`dialer api` on a free loopback port, on the test's database and Redis; its base URL."""
    port = free_port()
    settings = {
        "DIALER_DATABASE_URL": db_url,
        "DIALER_REDIS_URL": redis_server.url,
        "DIALER_DATA_DIR": str(data_dir),
        "DIALER_API_KEYS": API_KEY,
        "DIALER_HOST": "127.0.0.1",
        "DIALER_PORT": str(port),
    }
    command = [str(Path(sys.executable).parent / "dialer"), "api"]
    server = await asyncio.create_subprocess_exec(
        *command, cwd=tmp_path, env=os.environ | settings, stdout=asyncio.subprocess.DEVNULL
    )
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as client:
            deadline = time.monotonic() + START_TIMEOUT_S
            while True:
                assert server.returncode is None, "dialer api exited"
                assert time.monotonic() < deadline, "dialer api did not start"
                try:
                    if (await client.get("/healthz")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
        yield url
    finally:
        server.terminate()
        await asyncio.wait_for(server.wait(), timeout=30)


async def test_healthz_answers_quickly_at_p99_while_a_large_import_runs(
    served: str,
) -> None:
    data = csv_bytes(rows(ROWS))
    async with (
        httpx.AsyncClient(base_url=served, headers=AUTH, timeout=300) as api,
        httpx.AsyncClient(base_url=served, timeout=300) as probe,
    ):
        campaign = await create(api)
        warm_up = {"file": ("small.csv", csv_bytes(rows(10, start=ROWS)), "text/csv")}
        url = f"/v1/campaigns/{campaign['id']}/contacts"
        assert (await api.post(url, files=warm_up)).status_code == 200  # one-time lazy work
        files = {"file": ("big.csv", data, "text/csv")}
        upload = asyncio.create_task(api.post(url, files=files))
        latencies: list[float] = []
        while not upload.done():
            start = time.perf_counter()
            response = await probe.get("/healthz")
            latencies.append(time.perf_counter() - start)
            assert response.status_code == 200, response.text
            await asyncio.sleep(PROBE_PAUSE_S)
        answer = await upload
    assert answer.status_code == 200, answer.text
    assert answer.json()["accepted"] == ROWS
    assert len(latencies) >= MIN_PROBES
    p99 = statistics.quantiles(latencies, n=100)[98]
    assert p99 <= P99_LIMIT_S, f"p99 {p99 * 1000:.0f} ms over {len(latencies)} probes"
    assert max(latencies) <= WORST_LIMIT_S
