"""The live campaign page's reads on a 1,000,000-contact campaign with 3,000,000 attempts.

    uv run python -m bench.insights [--contacts 1000000] [--rounds 20] [--db PATH]

Builds a migrated SQLite database once (kept at `--db`, reused when present) with one running
campaign, its contacts in every status and outcome and three attempts each spread over the
last six hours, written by INSERT … SELECT over a recursive counter: the importer's own path is
bench/import_export.py's business. Then times, in server time (no HTTP), p50/p95 of the
live page's view as `LivePages` serves it, the first contacts page, a page 900,000 contacts
deep (its cursor found once beforehand, as a client paging there would hold it) and searches
by number.
Also the recount behind the live view (`campaigns.live.live_view`: figures, backlog,
timeline), which `LivePages` runs in the background at most every max_age seconds, and its
parts. Target: p95 ≤ 150 ms for what a request waits for.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

from campaigns import contacts, insights
from campaigns.db import create_engine, session_factory, upgrade
from campaigns.live import LivePages, live_view
from campaigns.paging import encode_cursor

TARGET_MS = 150.0
NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SPAN_SECONDS = 6 * 3600
_OUTCOMES = (
    "'listened'",
    "'listened'",
    "'listened'",
    "'hung_up'",
    "'busy'",
    "'no_answer'",
    "'unavailable'",
    "'network_error'",
)
_CATEGORIES = ("'listened'", "'hung_up'", "'busy'", "'no_answer'", "'unavailable'", "'network'")


def _sql_time(seconds: str) -> str:
    """A SQL expression of the text SQLAlchemy stores for NOW plus that many seconds."""
    base = NOW.strftime("%Y-%m-%d %H:%M:%S")
    return f"strftime('%Y-%m-%d %H:%M:%S', '{base}', ({seconds}) || ' seconds') || '.000000'"


def _case(key: str, values: tuple[str, ...]) -> str:
    whens = " ".join(f"WHEN {i} THEN {v}" for i, v in enumerate(values))
    return f"CASE ({key}) % {len(values)} {whens} END"


def build(path: Path, rows: int) -> None:
    """The campaign: contact i is done with an outcome for i % 10 < 8, else waiting."""
    asyncio.run(upgrade(f"sqlite+aiosqlite:///{path}"))
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=OFF")
    created = NOW - timedelta(seconds=SPAN_SECONDS)
    db.execute(
        "INSERT INTO campaign (id, kind, name, status, message, voice, dtmf, window, timezone,"
        " max_attempts, max_concurrent, priority, redial, var_columns, created_at, updated_at,"
        " started_at) VALUES (1, 'campaign', 'bench', 'running', 'Здравствуйте', '{}', '[]',"
        ' \'{"workdays": ["00:00", "24:00"], "weekends": ["00:00", "24:00"]}\','
        " 'Europe/Moscow', 3, 50, 1, '{}', '[]', ?, ?, ?)",
        (created.strftime("%Y-%m-%d %H:%M:%S.000000"),) * 3,
    )
    # every interpolated value below is this module's own constant or an int
    counter = f"WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < {rows})"  # noqa: S608
    done = "i % 10 < 8"
    db.execute(
        f"{counter} INSERT INTO contact (id, campaign_id, phone, line, vars, timezone, status,"  # noqa: S608
        " outcome, attempts, network_attempts, history, next_attempt_at, listened_seconds, dtmf,"
        " transfer_seconds, last_cause)"
        " SELECT i, 1, '79' || printf('%09d', (i * 7919) % 1000000000), i + 1, '{}',"
        " 'Europe/Moscow',"
        f" CASE WHEN i % 5000 = 9 THEN 'dialing' WHEN {done} THEN 'done'"
        "  WHEN i % 10 = 8 THEN 'pending' ELSE 'scheduled' END,"
        f" CASE WHEN i % 5000 <> 9 AND {done} THEN {_case('i', _OUTCOMES)} END, 3, 0, '',"
        f" CASE WHEN i % 10 = 9 THEN {_sql_time('600 + i % 3600')} END,"
        " CASE WHEN i % 8 < 4 THEN (i * 13) % 61 ELSE 0 END,"
        " CASE i % 7 WHEN 0 THEN '1' WHEN 1 THEN '2' WHEN 2 THEN '12' ELSE '' END, 0, 16"
        " FROM n"
    )
    for k in range(3):
        key = f"(i * 3 + {k})"
        ago = f"({key} * {SPAN_SECONDS} / {3 * rows} - {SPAN_SECONDS})"
        db.execute(
            f"{counter} INSERT INTO attempt (contact_id, campaign_id, number, state, call_id,"  # noqa: S608
            " claimed_at, sent_at, finished_at, cause, duration, category, dtmf,"
            " transfer_seconds)"
            " SELECT i, 1, '79' || printf('%09d', (i * 7919) % 1000000000), 'finished',"
            f" printf('c%d', {key}), {_sql_time(ago)}, {_sql_time(ago)},"
            f" {_sql_time(ago + ' + 20')}, 16,"
            f" {key} % 40, {_case(key, _CATEGORIES)}, '', 0 FROM n"
        )
    db.commit()
    db.execute("ANALYZE")
    db.commit()
    db.close()


async def _time(call: Callable[[], Awaitable[object]], rounds: int) -> tuple[float, float]:
    samples = []
    for _ in range(rounds):
        started = time.perf_counter()
        await call()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    return statistics.median(samples), samples[max(0, round(0.95 * len(samples)) - 1)]


async def measure(path: Path, rows: int, rounds: int) -> dict[str, tuple[float, float]]:
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    sessions = session_factory(engine)
    deep = encode_cursor(rows * 9 // 10)

    async def read(work: Callable[..., Awaitable[object]], **kwargs: object) -> object:
        async with sessions() as session:
            return await work(session, 1, **kwargs)

    pages = LivePages(sessions, max_age=3600)
    settled = (await pages.view(1, now=NOW)).timeline
    probes: dict[str, Callable[[], Awaitable[object]]] = {
        "live view, served": lambda: pages.view(1, now=NOW),
        "pulse": lambda: read(insights.pulse, now=NOW),
        "contacts, first page": lambda: read(contacts.list_contacts, limit=50),
        "contacts, 900,000 deep": lambda: read(contacts.list_contacts, cursor=deep, limit=50),
        "number, start": lambda: read(contacts.list_contacts, number="8 912 345", limit=50),
        "number, digits anywhere": lambda: read(contacts.list_contacts, number="912345", limit=50),
        "live view, recount": lambda: read(live_view, now=NOW, span=timedelta(hours=3)),
        "figures": lambda: read(insights.figures, now=NOW),
        "timeline, 3 h": lambda: read(insights.timeline, now=NOW),
        "timeline, 3 h, reused": lambda: read(insights.timeline, now=NOW, known=settled),
    }
    try:
        return {name: await _time(probe, rounds) for name, probe in probes.items()}
    finally:
        await engine.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument(
        "--db", type=Path, default=Path(tempfile.gettempdir()) / "bench-insights.db"
    )
    options = parser.parse_args()
    if not options.db.exists():
        started = time.perf_counter()
        build(options.db, options.contacts)
        print(f"built {options.db} in {time.perf_counter() - started:.0f} s")
    results = asyncio.run(measure(options.db, options.contacts, options.rounds))
    for name, (p50, p95) in results.items():
        verdict = "ok" if p95 <= TARGET_MS else "OVER"
        print(f"{name:>24}: p50 {p50:7.1f} ms  p95 {p95:7.1f} ms  {verdict}")


if __name__ == "__main__":
    main()
