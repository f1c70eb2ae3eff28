"""Building a numbering-plan snapshot from registry files (local paths or http(s) URLs).

`python -m dialer.telecom.numbering_build FILE… --out DIR --note TEXT` builds the package's
snapshot; `dialer numbering update FILE_OR_URL…` uses `update` to put a newer one into
DATA_DIR. Every file is parsed and validated before anything is written, so a bad file
changes nothing. A file replaces what the files before it say about the numbers from its
first range to its last, so a newer partial file given last corrects an older complete set.
The registry's files also come as JSON (the npm package numcap's data/*.json, the package's
snapshot source); they are turned into the registry's CSV and read by the same parser.

The package's snapshot was built from numcap 0.0.14's Kody_ABC-3kh.json, Kody_ABC-4kh.json,
Kody_ABC-8kh.json and Kody_DEF-9kh.json, then numbering_data/sources/DEF-9xx-partial.csv, with
`--obtained 2015-10-08` (the files' date), so that any `dialer numbering update` is newer.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx

from dialer.telecom.numbering import NumberingPlan, NumberRange, RegistryError, parse_registry

__all__ = ["build", "registry_csv", "update"]

FETCH_TIMEOUT: Final = 120.0
_JSON_FIELDS: Final = ("code", "begin", "end", "capacity", "operator", "region")


def registry_csv(data: bytes, name: str) -> bytes:
    """numcap's JSON of a registry file as the registry's CSV: a list of records with
    `_JSON_FIELDS`, the header row first; records without a range (the scraped page's trailing
    "</html>") are left out."""
    try:
        records = json.loads(data)
    except ValueError as error:
        raise RegistryError(f"{name}: not JSON: {error}") from None
    if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
        raise RegistryError(f"{name}: expected a list of records {', '.join(_JSON_FIELDS)}")
    text = io.StringIO()
    writer = csv.writer(text, delimiter=";", lineterminator="\n")
    for record in records:
        if "begin" in record:
            writer.writerow(str(record.get(field, "")) for field in _JSON_FIELDS)
    return text.getvalue().encode()


def _read(source: str) -> tuple[bytes, str]:
    """The file's bytes and the name it goes by in messages and metadata."""
    if source.startswith(("http://", "https://")):
        try:
            response = httpx.get(source, timeout=FETCH_TIMEOUT, follow_redirects=True)
            response.raise_for_status()
        except httpx.HTTPError as error:
            raise RegistryError(f"{source}: could not download: {error}") from None
        return response.content, source.rsplit("/", 1)[-1] or source
    path = Path(source)
    try:
        return path.read_bytes(), path.name
    except OSError as error:
        raise RegistryError(f"{source}: cannot read: {error.strerror}") from None


def build(sources: Sequence[str], note: str, obtained: str) -> NumberingPlan:
    """One plan from all the files; RegistryError names the file and line at fault."""
    ranges: list[NumberRange] = []
    names = []
    for source in sources:
        data, name = _read(source)
        newer = parse_registry(registry_csv(data, name) if name.endswith(".json") else data, name)
        ranges = _outside(ranges, min(r.first for r in newer), max(r.last for r in newer))
        ranges.extend(newer)
        names.append(name)
    meta = {"files": names, "source": note, "obtained": obtained}
    return NumberingPlan(ranges, meta)


def _outside(ranges: Sequence[NumberRange], first: int, last: int) -> list[NumberRange]:
    """`ranges` cut to the numbers outside first..last."""
    kept = []
    for r in ranges:
        if r.first < first:
            kept.append(NumberRange(r.first, min(r.last, first - 1), r.operator, r.region))
        if r.last > last:
            kept.append(NumberRange(max(r.first, last + 1), r.last, r.operator, r.region))
    return kept


def update(sources: Sequence[str], data_dir: Path, now: datetime) -> NumberingPlan:
    """Load newer registry files into DATA_DIR/numbering; the service prefers it to the
    package's snapshot from then on (at its next start)."""
    plan = build(sources, "Минцифры numbering-plan registry files", now.date().isoformat())
    plan.save(data_dir / "numbering")
    return plan


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "files", nargs="+", help="registry files (CSV, or numcap's JSON), older ones first"
    )
    parser.add_argument("--out", type=Path, required=True, help="the snapshot directory")
    parser.add_argument("--note", required=True, help="where the files came from")
    parser.add_argument("--obtained", help="date the files were taken (default: today)")
    args = parser.parse_args(argv)
    obtained = args.obtained or datetime.now(UTC).date().isoformat()
    plan = build(args.files, args.note, obtained)
    plan.save(args.out)
    print(f"{len(plan)} ranges written to {args.out}")


if __name__ == "__main__":
    main()
