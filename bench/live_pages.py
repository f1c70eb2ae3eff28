"""Does watching campaigns slow the webhook collector down? (issue 13)

    uv run python -m bench.live_pages [--pages 20] [--attempts 50000] [--duration 20]

`bench.webhooks`' sustained run (wrk posting new IVR events as fast as it can to one API
process on SQLite) twice on the same service: alone, then while `--pages` signed-in browsers
keep the live campaign page open, each fetching its fragment every `POLL_SECONDS` as htmx
does, with the version it shows (the campaign is the one receiving the events). Prints
both events/s and the drop.
Target: at most 10 % fewer events/s with 20 pages open.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from api.console.campaign_page import POLL_SECONDS
from bench.webhooks import collector, run_wrk, seed
from campaigns import users
from campaigns.db import create_engine, session_factory, write_transaction

DROP_TARGET = 0.10
PASSWORD = "bench password"  # noqa: S105 - a throwaway user of a throwaway database
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_POLL = re.compile(r'id="live" hx-get="([^"]+)"')


async def add_viewer(url: str) -> None:
    engine = create_engine(url)
    try:
        async with write_transaction(session_factory(engine)) as session:
            await users.create(
                session, "viewer", PASSWORD, users.Role.MARKETER, now=datetime.now(UTC)
            )
    finally:
        await engine.dispose()


def _poll_url(html: str) -> str:
    found = _POLL.search(html)
    assert found is not None, html[:300]
    return found.group(1).replace("&amp;", "&")


ready: list[int] = []
"""One item per viewer signed in with the page open (sign-in hashes a password: not timed)."""
rendered: list[int] = []
"""One item per fragment rendered (200); the other polls were answered 204."""


async def _viewer(base: str, stop: threading.Event, latencies: list[float]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        form = await client.get("/login")
        found = _CSRF.search(form.text)
        assert found is not None
        body = {"login": "viewer", "password": PASSWORD, "csrf_token": found.group(1)}
        assert (await client.post("/login", data=body)).status_code == 303
        target = _poll_url((await client.get("/campaigns/1")).text)
        ready.append(1)
        while not stop.is_set():
            started = time.perf_counter()
            answer = await client.get(target, headers={"HX-Request": "true"})
            assert answer.status_code in (200, 204), answer.text[:300]
            if answer.status_code == 200:  # a new version: htmx swaps it in, with its URL
                target = _poll_url(answer.text)
                rendered.append(1)
            took = time.perf_counter() - started
            latencies.append(1000 * took)
            await asyncio.sleep(max(0.0, POLL_SECONDS - took))


def _watch(base: str, pages: int, stop: threading.Event, latencies: list[float]) -> None:
    async def all_pages() -> None:
        await asyncio.gather(*(_viewer(base, stop, latencies) for _ in range(pages)))

    asyncio.run(all_pages())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=20)
    parser.add_argument("--attempts", type=int, default=50_000)
    parser.add_argument("--duration", type=int, default=20, help="seconds per wrk run")
    parser.add_argument("--connections", type=int, default=64)
    options = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed (apt-get install wrk)")
    with tempfile.TemporaryDirectory(prefix="bench-live-pages-") as tmp:
        work = Path(tmp)
        url = f"sqlite+aiosqlite:///{work / 'dialer.db'}"
        asyncio.run(seed(url, options.attempts))
        asyncio.run(add_viewer(url))
        with collector(work, url) as (port, pid, hook):

            def events(first: int) -> dict[str, float]:
                return run_wrk(
                    work, port, pid, hook, first=first,
                    connections=options.connections, duration=options.duration, rate=None,
                )  # fmt: skip

            alone = events(1)
            stop, latencies = threading.Event(), list[float]()
            watcher = threading.Thread(
                target=_watch, args=(f"http://127.0.0.1:{port}", options.pages, stop, latencies)
            )
            watcher.start()
            while len(ready) < options.pages and watcher.is_alive():
                time.sleep(0.1)
            time.sleep(POLL_SECONDS)  # every page open and polling
            watched = events(1 + int(alone["requests"]) // 3 + options.connections + 1)
            stop.set()
            watcher.join()
    drop = 1 - watched["per_second"] / alone["per_second"]
    p95 = sorted(latencies)[max(0, round(0.95 * len(latencies)) - 1)] if latencies else float("nan")
    print(f"events/s alone:                 {alone['per_second']:8,.0f}")
    print(f"events/s with {options.pages} live pages open: {watched['per_second']:8,.0f}")
    print(f"drop: {100 * drop:.1f} % (target ≤ {100 * DROP_TARGET:.0f} %): "
          f"{'ok' if drop <= DROP_TARGET else 'OVER'}")  # fmt: skip
    p50 = statistics.median(latencies or [0])
    print(f"fragments fetched: {len(latencies)} ({len(rendered)} rendered), p50 {p50:.1f} ms,"
          f" p95 {p95:.1f} ms")  # fmt: skip


if __name__ == "__main__":
    main()
