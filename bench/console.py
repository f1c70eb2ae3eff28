"""Server time of the console's busiest pages on SQLite (issue 12).

    uv run python -m bench.console [--contacts 1000000] [--campaigns 100] [--requests 60]

Builds a service holding `--campaigns` campaigns, the newest with `--contacts` contacts (half
of them finished, with outcomes), imported by the real importer from the same kind of
Windows-1251 file `bench.import_export` makes. Then, signed in like a browser, times in
process (ASGI, no network) the campaign list, the new-campaign file preview of that million-row
file (its upload token, as the phone-column switch asks) and the message preview. Target:
p95 ≤ 150 ms each; the file preview of a fresh upload must stay ≤ 2 s. The list's progress
figures are counted afresh at most every `api.console.progress_cache.TTL` seconds: that first
view's time is printed too.

    uv run python -m bench.console --campaign-page [--contacts 1000000] [--db PATH]

times instead the part 2 pages (issue 13) on `bench.insights`' database (one running campaign
of `--contacts` contacts with three attempts each, built once at `--db`): the live campaign
page, its fragment (what htmx polls), and the contacts table at its first page and at a page
900,000 contacts deep. Target: p95 ≤ 150 ms each; the campaign's very first view, which counts
it, is printed apart.
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import httpx
from sqlalchemy import text

from api.app import create_app
from api.console.progress_cache import TTL
from api.resources import app_resources
from bench import insights as insights_bench
from bench.import_export import generate
from campaigns import importer, launch, users
from campaigns.db import upgrade, write_transaction
from campaigns.spec import CampaignSettings
from dialer.settings import Settings
from dialer.shell.redis_server import RedisServer

TARGET_MS = 150.0
PASSWORD = "bench password"  # noqa: S105 - a throwaway user of a throwaway database
_FIELD = r'name="{}" value="([^"]+)"'


def _percentiles(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, round(0.95 * len(ordered)) - 1)]


async def _timed(requests: int, call: Callable[[], Awaitable[httpx.Response]]) -> list[float]:
    samples = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = await call()
        samples.append((time.perf_counter() - started) * 1000)
        assert answer.status_code == 200, answer.text[:500]
    return samples


async def _fill(app_settings: Settings, csv_path: Path, campaigns: int) -> None:
    resources_app = create_app(app_settings)
    async with resources_app.router.lifespan_context(resources_app):
        sessions = app_resources(resources_app).sessions
        now = datetime.now(UTC)
        settings = CampaignSettings(name="Заказы", message="Здравствуйте, {name}! Заказ {order}.")
        for n in range(campaigns - 1):
            rows: list[dict[str, object]] = [
                {"phone": f"7910{n:03d}{k:04d}", "vars": {"name": "Анна", "order": str(k)}}
                for k in range(100)
            ]

            async def small(
                campaign_id: int, rows: list[dict[str, object]] = rows
            ) -> importer.ImportReport:
                return await importer.import_contacts(sessions, campaign_id, rows)

            await launch.create_filled(
                sessions,
                settings.model_copy(update={"name": f"Кампания {n}"}),
                small,
                now=now,
                default_a_number=None,
                allow_private_callbacks=False,
            )

        async def big(campaign_id: int) -> importer.ImportReport:
            return await importer.import_file(sessions, campaign_id, csv_path)

        started = time.perf_counter()
        big_id, report = await launch.create_filled(
            sessions, settings, big, now=now, default_a_number=None, allow_private_callbacks=False
        )
        assert report is not None
        print(f"imported {report.accepted:,} contacts in {time.perf_counter() - started:.1f} s")
        async with write_transaction(sessions) as session:
            await session.execute(
                text(
                    "UPDATE contact SET status = 'done', "
                    "outcome = CASE WHEN id % 3 = 0 THEN 'busy' ELSE 'listened' END "
                    "WHERE campaign_id = :id AND id % 2 = 0"
                ),
                {"id": big_id},
            )
            await users.create(session, "bench", PASSWORD, users.Role.MARKETER, now=now)


async def main(contacts: int, campaigns: int, requests: int) -> None:
    with tempfile.TemporaryDirectory() as folder, RedisServer(Path(folder) / "redis") as redis:
        root = Path(folder)
        csv_path = root / "contacts.csv"
        generate(csv_path, contacts)
        settings = Settings(
            _env_file=None,
            data_dir=root,
            database_url=f"sqlite+aiosqlite:///{root / 'dialer.db'}",
            redis_url=redis.url,
        )
        size_mb = csv_path.stat().st_size / 1e6
        await upgrade(settings.database)
        await _fill(settings, csv_path, campaigns)
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://127.0.0.1"
            ) as client:
                form = await client.get("/login")
                csrf = re.search(_FIELD.format("csrf_token"), form.text)
                assert csrf is not None
                await client.post(
                    "/login",
                    data={"login": "bench", "password": PASSWORD, "csrf_token": csrf.group(1)},
                )
                page = await client.get("/campaigns/new")
                token = re.search(_FIELD.format("csrf_token"), page.text)
                assert token is not None
                headers = {"X-CSRF-Token": token.group(1), "HX-Request": "true"}
                started = time.perf_counter()
                with csv_path.open("rb") as handle:
                    uploaded = await client.post(
                        "/campaigns/new/file",
                        files={"file": ("contacts.csv", handle, "text/csv")},
                        headers=headers,
                    )
                upload_ms = (time.perf_counter() - started) * 1000
                found = re.search(_FIELD.format("upload"), uploaded.text)
                assert found is not None, uploaded.text[:500]
                upload = found.group(1)
                message = {
                    "upload": upload,
                    "message": "Здравствуйте, {name}! Ваш заказ {order} готов.",
                    "phone_column": "Телефон",
                }
                started = time.perf_counter()
                assert (await client.get("/campaigns")).status_code == 200
                cold_ms = (time.perf_counter() - started) * 1000
                figures = {
                    "campaign list (first page)": await _timed(
                        requests, lambda: client.get("/campaigns")
                    ),
                    f"file preview ({contacts:,} rows)": await _timed(
                        requests,
                        lambda: client.post(
                            "/campaigns/new/file",
                            data={"upload": upload, "phone_column": "Телефон"},
                            headers=headers,
                        ),
                    ),
                    "message preview": await _timed(
                        requests,
                        lambda: client.post(
                            "/campaigns/new/message", data=message, headers=headers
                        ),
                    ),
                }
    print(f"{campaigns} campaigns, the newest with {contacts:,} contacts; {requests} requests each")
    print(f"{'page':<32} {'p50 ms':>8} {'p95 ms':>8}  target p95 ≤ {TARGET_MS:g} ms")
    for name, samples in figures.items():
        p50, p95 = _percentiles(samples)
        verdict = "ok" if p95 <= TARGET_MS else "OVER"
        print(f"{name:<32} {p50:8.1f} {p95:8.1f}  {verdict}")
    print(f"campaign list, counted afresh (first view, then every {TTL:g} s): {cold_ms:.0f} ms")
    print(
        f"fresh upload + preview of the {size_mb:.0f} MB file: "
        f"{upload_ms:.0f} ms (target ≤ 2000 ms)"
    )


async def _signed_in(client: httpx.AsyncClient) -> None:
    form = await client.get("/login")
    csrf = re.search(_FIELD.format("csrf_token"), form.text)
    assert csrf is not None
    body = {"login": "bench", "password": PASSWORD, "csrf_token": csrf.group(1)}
    assert (await client.post("/login", data=body)).status_code == 303


async def campaign_pages(db: Path, contacts: int, requests: int) -> None:
    """The part 2 pages of campaign 1 in `db` (`bench.insights.build`)."""
    url = f"sqlite+aiosqlite:///{db}"
    with tempfile.TemporaryDirectory() as folder, RedisServer(Path(folder) / "redis") as redis:
        settings = Settings(
            _env_file=None, data_dir=Path(folder), database_url=url, redis_url=redis.url
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            async with write_transaction(app_resources(app).sessions) as session:
                if not await users.any_user(session):
                    now = datetime.now(UTC)
                    await users.create(session, "bench", PASSWORD, users.Role.MARKETER, now=now)
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
                await _signed_in(client)
                started = time.perf_counter()
                assert (await client.get("/campaigns/1")).status_code == 200
                first_ms = (time.perf_counter() - started) * 1000
                deep = f"/campaigns/1/contacts?cursor={contacts * 9 // 10}"
                paths = {
                    "campaign page": "/campaigns/1",
                    "campaign page fragment (polled)": "/campaigns/1/live",
                    "contacts, first page": "/campaigns/1/contacts",
                    f"contacts, {contacts * 9 // 10:,} deep": deep,
                }
                figures = {
                    name: await _timed(requests, partial(client.get, path))
                    for name, path in paths.items()
                }
    print(f"campaign of {contacts:,} contacts, {3 * contacts:,} attempts; {requests} requests each")
    print(f"{'page':<36} {'p50 ms':>8} {'p95 ms':>8}  target p95 ≤ {TARGET_MS:g} ms")
    for name, samples in figures.items():
        p50, p95 = _percentiles(samples)
        print(f"{name:<36} {p50:8.1f} {p95:8.1f}  {'ok' if p95 <= TARGET_MS else 'OVER'}")
    print(f"campaign page, first view (counts the campaign): {first_ms:.0f} ms")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--campaigns", type=int, default=100)
    parser.add_argument("--requests", type=int, default=60)
    parser.add_argument("--campaign-page", action="store_true", help="time the part 2 pages")
    parser.add_argument(
        "--db", type=Path, default=Path(tempfile.gettempdir()) / "bench-insights.db"
    )
    options = parser.parse_args()
    if options.campaign_page:
        if not options.db.exists():
            insights_bench.build(options.db, options.contacts)
        asyncio.run(campaign_pages(options.db, options.contacts, options.requests))
    else:
        asyncio.run(main(options.contacts, options.campaigns, options.requests))
