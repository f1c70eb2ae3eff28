"""Import and export of a million contacts against a bare baseline on the same machine.

    uv run python -m bench.import_export [--rows 1000000] [--xlsx-rows 100000] [--repeat 1]

Generates a Windows-1251, `;`-separated CSV with messy numbers and two variable columns, then
times, each in a fresh process so peak RSS is that step's own: a bare baseline (pandas
read_csv + vectorised normalisation + sqlite3.executemany into one table, and a plain CSV
dump of that table), the real importer into a migrated SQLite database, and the real exporter
(CSV of every contact, XLSX of a campaign of `--xlsx-rows`). Targets on a 2-core machine:
import ≤ 20 s and ≤ 2× the baseline with peak RSS ≤ 1 GB; CSV export ≤ 10 s. On a busy
machine use `--repeat 3`: each step's best round is shown, and the load average is printed.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import resource
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal

import numpy as np
import pandas as pd

Format = Literal["csv", "xlsx"]
IMPORT_TARGET_S = 20.0
IMPORT_RATIO_TARGET = 2.0
RSS_TARGET_MB = 1024.0
CSV_EXPORT_TARGET_S = 10.0


def generate(path: Path, rows: int, seed: int = 7) -> None:
    """Numbers in the spellings people type, some broken, some repeated; Cyrillic variables."""
    rng = np.random.default_rng(seed)
    national = pd.Series(rng.integers(9_000_000_000, 9_999_999_999, rows).astype(str))
    a, b = national.str.slice(0, 3), national.str.slice(3, 6)
    c, d = national.str.slice(6, 8), national.str.slice(8, 10)
    spelling = rng.integers(0, 6, rows)
    phone = national.mask(spelling == 0, "8 (" + a + ") " + b + "-" + c + "-" + d)
    phone = phone.mask(spelling == 1, "+7 " + a + " " + b + " " + c + d)
    phone = phone.mask(spelling == 2, "7" + national)
    phone = phone.mask(spelling == 3, "8" + a + "-" + b + "-" + c + d)
    phone = phone.mask(spelling == 4, "+7(" + a + ")" + b + c + d)
    broken = rng.random(rows) < 0.005
    phone = phone.mask(broken, national.str.slice(0, 6))
    repeated = rng.random(rows) < 0.01
    phone = phone.mask(repeated, phone.shift(1).fillna(phone))
    names = np.array(["Анна", "Иван", "Пётр", "Мария", "Ольга", "Сергей", 'Ёлка "Ель"'])
    frame = pd.DataFrame(
        {
            "Телефон": phone,
            "name": names[rng.integers(0, len(names), rows)],
            "order": "З-" + pd.Series(np.arange(rows)).astype(str),
        }
    )
    frame.to_csv(path, sep=";", index=False, encoding="cp1251")


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def baseline(csv_path: Path, db_path: Path) -> dict[str, float]:
    from dialer.telecom.number_columns import normalize_series

    start = time.perf_counter()
    frame = pd.read_csv(csv_path, sep=";", dtype=str, encoding="cp1251", keep_default_na=False)
    numbers, _ = normalize_series(frame["Телефон"])
    frame["phone"] = numbers
    frame = frame[numbers.notna()]
    with sqlite3.connect(db_path) as db:
        db.execute("CREATE TABLE contact (phone TEXT, name TEXT, ord TEXT)")
        columns = (frame[name].tolist() for name in ("phone", "name", "order"))
        db.executemany("INSERT INTO contact VALUES (?, ?, ?)", zip(*columns, strict=True))
    imported = time.perf_counter() - start
    start = time.perf_counter()
    with sqlite3.connect(db_path) as db, (db_path.parent / "dump.csv").open("w") as out:
        csv.writer(out, delimiter=";").writerows(db.execute("SELECT * FROM contact"))
    dumped = time.perf_counter() - start
    return {"seconds": imported, "dump_seconds": dumped, "rss_mb": peak_rss_mb()}


async def _new_campaign(url: str) -> int:
    from campaigns.db import create_engine, session_factory, write_transaction
    from campaigns.tables import Campaign

    engine = create_engine(url)
    try:
        async with write_transaction(session_factory(engine)) as session:
            now = datetime.now(UTC)
            campaign = Campaign(
                name="bench",
                message="Здравствуйте, {name}! Ваш заказ {order} готов.",
                created_at=now,
                updated_at=now,
            )
            session.add(campaign)
            await session.flush()
            return campaign.id
    finally:
        await engine.dispose()


async def import_step(csv_path: Path, url: str) -> dict[str, Any]:
    from campaigns.db import create_engine, session_factory
    from campaigns.filereader import Limits
    from campaigns.importer import import_file

    campaign_id = await _new_campaign(url)
    engine = create_engine(url)
    try:
        start = time.perf_counter()
        report = await import_file(
            session_factory(engine), campaign_id, csv_path, limits=Limits(max_bytes=1 << 30)
        )
        seconds = time.perf_counter() - start
    finally:
        await engine.dispose()
    summary = report.to_dict() | {"rejected": len(report.rejected)}
    return {"seconds": seconds, "rss_mb": peak_rss_mb(), "campaign": campaign_id} | summary


async def export_step(url: str, campaign_id: int, fmt: Format) -> dict[str, Any]:
    """The whole export streamed and counted (the HTTP layer would send it on)."""
    from campaigns.db import create_engine, session_factory
    from campaigns.exporter import export_contacts

    engine = create_engine(url)
    size = 0
    try:
        start = time.perf_counter()
        async for chunk in export_contacts(session_factory(engine), campaign_id, fmt=fmt):
            size += len(chunk)
        seconds = time.perf_counter() - start
    finally:
        await engine.dispose()
    return {"seconds": seconds, "rss_mb": peak_rss_mb(), "bytes": size}


def child(args: list[str]) -> None:
    """One step in this (fresh) process; prints its figures as JSON."""
    step, *rest = args
    if step == "baseline":
        result: dict[str, Any] = baseline(Path(rest[0]), Path(rest[1]))
    elif step == "import":
        result = asyncio.run(import_step(Path(rest[0]), rest[1]))
    else:
        fmt: Format = "xlsx" if rest[2] == "xlsx" else "csv"
        result = asyncio.run(export_step(rest[0], int(rest[1]), fmt))
    print(json.dumps(result))


def run_child(*args: object) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.import_export", "--child", *map(str, args)],
        check=True,
        capture_output=True,
        text=True,
    )
    figures: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return figures


def best(rounds: list[dict[str, Any]], key: str = "seconds") -> dict[str, Any]:
    return min(rounds, key=lambda figures: float(figures[key]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--xlsx-rows", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=1, help="rounds; the best of each is shown")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child:
        child(options.child)
        return

    from campaigns.db import upgrade

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="dialer-bench-") as folder:
        work = Path(folder)
        big, small = work / "contacts.csv", work / "contacts-xlsx.csv"
        start = time.perf_counter()
        generate(big, options.rows)
        generate(small, options.xlsx_rows, seed=8)
        print(
            f"generated {options.rows:,} rows ({big.stat().st_size / 1e6:.1f} MB, cp1251, ';') "
            f"in {time.perf_counter() - start:.1f} s"
        )
        template = work / "template.db"
        asyncio.run(upgrade(f"sqlite+aiosqlite:///{template}"))
        rounds: dict[str, list[dict[str, Any]]] = {"base": [], "import": [], "csv": [], "xlsx": []}
        for round_number in range(options.repeat):
            db = work / f"dialer-{round_number}.db"
            shutil.copyfile(template, db)
            url = f"sqlite+aiosqlite:///{db}"
            rounds["base"].append(run_child("baseline", big, work / f"baseline-{round_number}.db"))
            imported = run_child("import", big, url)
            for_xlsx = run_child("import", small, url)
            rounds["import"].append(imported)
            rounds["csv"].append(run_child("export", url, imported["campaign"], "csv"))
            rounds["xlsx"].append(run_child("export", url, for_xlsx["campaign"], "xlsx"))
    print(f"load average at end: {os.getloadavg()[0]:.1f}")
    report(options, rounds)


def report(options: argparse.Namespace, rounds: dict[str, list[dict[str, Any]]]) -> None:
    base, imported = best(rounds["base"]), best(rounds["import"])
    dump, csv_out, xlsx_out = (
        best(rounds["base"], "dump_seconds"),
        best(rounds["csv"]),
        best(rounds["xlsx"]),
    )
    ratio = imported["seconds"] / base["seconds"]
    export_ratio = csv_out["seconds"] / dump["dump_seconds"]
    lines = [
        ("baseline import (read_csv + normalise + executemany)", base["seconds"], base["rss_mb"]),
        ("baseline CSV dump (sqlite3 → csv.writer)", dump["dump_seconds"], None),
        ("import through campaigns.importer", imported["seconds"], imported["rss_mb"]),
        ("export CSV, all contacts", csv_out["seconds"], csv_out["rss_mb"]),
        (f"export XLSX, {options.xlsx_rows:,} contacts", xlsx_out["seconds"], xlsx_out["rss_mb"]),
    ]
    print(f"{'step (best of ' + str(options.repeat) + ')':<56}{'seconds':>9}{'peak RSS MB':>13}")
    for label, seconds, rss in lines:
        print(f"{label:<56}{seconds:>9.2f}{'' if rss is None else f'{rss:.0f}':>13}")
    counts = {k: imported[k] for k in ("rows", "accepted", "duplicates", "dnc", "rejected_count")}
    print(f"import report: {counts}")
    print(
        f"import: {ratio:.2f}× baseline (target ≤ {IMPORT_RATIO_TARGET}×), "
        f"{imported['seconds']:.1f} s (target ≤ {IMPORT_TARGET_S:.0f} s), "
        f"peak RSS {imported['rss_mb']:.0f} MB (target ≤ {RSS_TARGET_MB:.0f} MB)"
    )
    print(
        f"CSV export: {csv_out['seconds']:.1f} s (target ≤ {CSV_EXPORT_TARGET_S:.0f} s), "
        f"{export_ratio:.1f}× the plain dump, {csv_out['bytes'] / 1e6:.0f} MB"
    )


if __name__ == "__main__":
    main()
