"""Building a numbering-plan snapshot from registry files (local paths or http(s) URLs).

`python -m dialer.telecom.numbering_build FILE… --out DIR --note TEXT` builds the package's
snapshot; `dialer numbering update FILE_OR_URL…` uses `update` to put a newer one into
DATA_DIR. Every file is parsed and validated before anything is written, so a bad file
changes nothing.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Final

import httpx

from dialer.telecom.numbering import NumberingPlan, NumberRange, RegistryError, parse_registry

__all__ = ["build", "update"]

FETCH_TIMEOUT: Final = 120.0


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
        ranges.extend(parse_registry(data, name))
        names.append(name)
    meta = {"files": names, "source": note, "obtained": obtained}
    return NumberingPlan(ranges, meta)


def update(sources: Sequence[str], data_dir: Path, now: datetime) -> NumberingPlan:
    """Load newer registry files into DATA_DIR/numbering; the service prefers it to the
    package's snapshot from then on (at its next start)."""
    plan = build(sources, "Минцифры numbering-plan registry files", now.date().isoformat())
    plan.save(data_dir / "numbering")
    return plan


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("files", nargs="+", help="registry files in the registry's format")
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
