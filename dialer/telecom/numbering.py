"""Russia's numbering plan: which operator and region a +7 number's range belongs to.

The registry (Rossvyaz / Минцифры open data, files ABC-3xx, ABC-4xx, ABC-8xx, DEF-9xx) assigns
ranges of ten-digit national numbers to an operator and a region. A `NumberingPlan` keeps those
ranges as sorted int64 bounds, so an import's million numbers are looked up by one
`searchsorted`; the region's zone comes from `dialer.telecom.numbering_zones`. The package ships a
snapshot; `dialer numbering update` writes a newer one into DATA_DIR, and `current` picks the
newer of the two, once per process and data directory.
"""

from __future__ import annotations

import csv
import io
import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import cache
from pathlib import Path
from typing import Any, Final
from zoneinfo import ZoneInfo

import numpy as np
import numpy.typing as npt

from dialer.telecom.numbering_zones import region_zone

__all__ = [
    "PACKAGED",
    "NumberRange",
    "NumberingPlan",
    "Place",
    "RegistryError",
    "current",
    "parse_registry",
]

PACKAGED: Final = Path(__file__).with_name("numbering_data")
"""The package's snapshot directory: plan.npz and plan.json."""
SNAPSHOT: Final = "plan.npz"
META: Final = "plan.json"
_COUNTRY: Final = 7 * 10**10
_MOBILE: Final = 900
"""The first DEF (mobile) code; the codes below it are ABC (landline and non-geographic)."""
_Ints = npt.NDArray[np.int64]


class RegistryError(ValueError):
    """A registry file that cannot be used; the message names the file and line."""


@dataclass(frozen=True, slots=True)
class NumberRange:
    first: int
    """11-digit number, 7 included."""
    last: int
    operator: str
    region: str


@dataclass(frozen=True, slots=True)
class Place:
    zone: str | None
    region: str
    operator: str


@dataclass(frozen=True)
class Lookup:
    """Per number: index into `regions`/`operators`/`zones`, -1 where no range matches."""

    index: npt.NDArray[np.int32]
    regions: tuple[str, ...]
    operators: tuple[str, ...]
    zones: tuple[str | None, ...]


class NumberingPlan:
    """Non-overlapping ranges, sorted; adjacent ranges of one operator and region merged.

    Each range's zone is decided when the plan is built and saved with it, so a process loads
    a few arrays rather than a quarter of a million rows and their region texts."""

    def __init__(self, ranges: Iterable[NumberRange], meta: dict[str, Any]) -> None:
        merged = _merged(sorted(ranges, key=lambda r: r.first))
        zones = _range_zones(merged)
        keys = sorted({(r.region, r.operator, zone) for r, zone in zip(merged, zones, strict=True)})
        position = {key: i for i, key in enumerate(keys)}
        self._assign(
            meta,
            np.array([r.first for r in merged], dtype=np.int64),
            np.array([r.last for r in merged], dtype=np.int64),
            np.array(
                [position[(r.region, r.operator, z)] for r, z in zip(merged, zones, strict=True)],
                dtype=np.int32,
            ),
            keys,
        )

    def _assign(
        self,
        meta: dict[str, Any],
        firsts: _Ints,
        lasts: _Ints,
        key: npt.NDArray[np.int32],
        keys: Sequence[tuple[str, str, str]],
    ) -> None:
        self.meta = meta
        self._firsts = firsts
        self._lasts = lasts
        self._key = key
        self.regions = tuple(region for region, _, _ in keys)
        self.operators = tuple(operator for _, operator, _ in keys)
        self.zones: tuple[str | None, ...] = tuple(zone or None for _, _, zone in keys)

    def __len__(self) -> int:
        return len(self._firsts)

    @property
    def ranges(self) -> list[NumberRange]:
        return [
            NumberRange(int(f), int(t), self.operators[k], self.regions[k])
            for f, t, k in zip(self._firsts, self._lasts, self._key, strict=True)
        ]

    def lookup_many(self, numbers: _Ints) -> Lookup:
        """Vectorised: `numbers` as 11-digit int64 (anything else simply matches nothing)."""
        at = np.searchsorted(self._firsts, numbers, side="right") - 1
        inside = (at >= 0) & (numbers <= self._lasts[np.maximum(at, 0)])
        index = np.where(inside, self._key[np.maximum(at, 0)], -1).astype(np.int32)
        return Lookup(index, self.regions, self.operators, self.zones)

    def lookup(self, number: str) -> Place | None:
        """One number of 11 digits ("7…"); None when no range holds it."""
        if len(number) != 11 or not number.isdigit():
            return None
        found = int(self.lookup_many(np.array([int(number)], dtype=np.int64)).index[0])
        if found < 0:
            return None
        return Place(self.zones[found], self.regions[found], self.operators[found])

    def save(self, directory: Path) -> None:
        """The snapshot: the ranges' bounds and keys as compressed arrays (the starts as
        differences, which compress to a fraction), the metadata beside them."""
        directory.mkdir(parents=True, exist_ok=True)
        with (directory / SNAPSHOT).open("wb") as file:
            np.savez_compressed(
                file,
                gaps=np.diff(self._firsts, prepend=0),
                sizes=self._lasts - self._firsts,
                key=self._key,
                regions=np.array(self.regions, dtype=str),
                operators=np.array(self.operators, dtype=str),
                zones=np.array([zone or "" for zone in self.zones], dtype=str),
            )
        meta = self.meta | {"ranges": len(self)}
        (directory / META).write_text(json.dumps(meta, ensure_ascii=False, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> NumberingPlan:
        meta = json.loads((directory / META).read_text(encoding="utf-8"))
        with np.load(directory / SNAPSHOT, allow_pickle=False) as data:
            firsts = np.cumsum(data["gaps"], dtype=np.int64)
            lasts = firsts + data["sizes"]
            columns = (data[name].tolist() for name in ("regions", "operators", "zones"))
            keys = list(zip(*columns, strict=True))
            plan = cls.__new__(cls)
            plan._assign(meta, firsts, lasts, data["key"].astype(np.int32), keys)
        return plan


def _range_zones(ranges: Sequence[NumberRange]) -> list[str]:
    """Each range's zone ("" for none): its region text's, else, for a landline (ABC) code,
    the commonest zone of the code's placed ranges when they all keep one UTC offset. An ABC
    code serves one area, and the registry often names only a town or district in it."""
    by_text = {region: region_zone(region) or "" for region in {r.region for r in ranges}}
    zones = [by_text[r.region] for r in ranges]
    codes = [(r.first - _COUNTRY) // 10**7 for r in ranges]
    of_code: dict[int, Counter[str]] = {}
    for code, zone in zip(codes, zones, strict=True):
        if zone and code < _MOBILE:
            of_code.setdefault(code, Counter())[zone] += 1
    shared = {
        code: found.most_common(1)[0][0]
        for code, found in of_code.items()
        if len({_offset(zone) for zone in found}) == 1
    }
    return [zone or shared.get(code, "") for code, zone in zip(codes, zones, strict=True)]


def _offset(zone: str) -> timedelta | None:
    """The zone's UTC offset now; Russia's zones keep no summer time."""
    return datetime.now(ZoneInfo(zone)).utcoffset()


def _merged(ranges: Sequence[NumberRange]) -> list[NumberRange]:
    merged: list[NumberRange] = []
    for item in ranges:
        if merged and item.first <= merged[-1].last:
            previous = merged[-1]
            raise RegistryError(
                f"ranges overlap: {previous.first}-{previous.last} and {item.first}-{item.last}"
            )
        if merged and _joins(merged[-1], item):
            merged[-1] = NumberRange(merged[-1].first, item.last, item.operator, item.region)
        else:
            merged.append(item)
    return merged


def _joins(before: NumberRange, after: NumberRange) -> bool:
    return (
        before.last + 1 == after.first
        and before.operator == after.operator
        and before.region == after.region
    )


_COLUMNS: Final = {"от": "first", "до": "last", "емкость": "capacity", "оператор": "operator"}


def parse_registry(data: bytes, name: str) -> list[NumberRange]:
    """The ranges of one registry file (`;`-separated, UTF-8 or cp1251, with or without the
    ИНН and Территория ГАР columns); RegistryError naming the line of the first bad row."""
    text = _decode(data)
    rows = csv.reader(io.StringIO(text), delimiter=";")
    header = next(rows, None)
    if header is None:
        raise RegistryError(f"{name}: the file is empty")
    where = _header(header, name)
    ranges = []
    for line, row in enumerate(rows, start=2):
        if not any(cell.strip() for cell in row):
            continue
        ranges.append(_range(row, where, f"{name}, line {line}"))
    if not ranges:
        raise RegistryError(f"{name}: no ranges after the header")
    return ranges


def _decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return data.decode("cp1251")


def _header(header: Sequence[str], name: str) -> dict[str, int]:
    folded = [cell.strip().casefold().replace("ё", "е") for cell in header]
    where = {"code": 0} if folded and ("def" in folded[0] or "ав" in folded[0]) else {}
    for position, cell in enumerate(folded):
        if cell in _COLUMNS:
            where[_COLUMNS[cell]] = position
        elif cell == "регион":
            where["region"] = position
    missing = {"code", "first", "last", "capacity", "operator", "region"} - set(where)
    if missing:
        raise RegistryError(
            f"{name}, line 1: not a numbering-plan registry header (expected АВС/DEF;От;До;"
            f"Емкость;Оператор;Регион), got {';'.join(header)[:200]!r}"
        )
    return where


def _range(row: Sequence[str], where: dict[str, int], at: str) -> NumberRange:
    if len(row) <= max(where.values()):
        raise RegistryError(f"{at}: {len(row)} columns, expected at least {len(where)}")
    code, first, last, capacity = (
        row[where[key]].strip() for key in ("code", "first", "last", "capacity")
    )
    if not (len(code) == 3 and code.isdigit() and code[0] in "3489"):
        raise RegistryError(f"{at}: code {code!r} is not an ABC/DEF code of three digits")
    for label, value in (("От", first), ("До", last)):
        if not (len(value) == 7 and value.isdigit()):
            raise RegistryError(f"{at}: {label} {value!r} is not a number of seven digits")
    start = _COUNTRY + int(code + first)
    end = _COUNTRY + int(code + last)
    if end < start:
        raise RegistryError(f"{at}: До {last} is before От {first}")
    if not capacity.isdigit() or int(capacity) != end - start + 1:
        raise RegistryError(
            f"{at}: Емкость {capacity!r} does not match the range's {end - start + 1} numbers"
        )
    operator = " ".join(row[where["operator"]].split())
    region = " ".join(row[where["region"]].split())
    return NumberRange(start, end, operator, region)


def newest(directories: Iterable[Path]) -> Path:
    """Of the snapshot directories that exist, the one built from the newest data; of equally
    new ones the last named (DATA_DIR's update over the package's snapshot)."""
    found = [d for d in directories if (d / META).is_file() and (d / SNAPSHOT).is_file()]

    def built(directory: Path) -> date:
        meta = json.loads((directory / META).read_text(encoding="utf-8"))
        return date.fromisoformat(str(meta["obtained"]))

    return max(reversed(found), key=built)


@cache
def current(data_dir: Path | None = None) -> NumberingPlan:
    """The plan in use: DATA_DIR's update when newer than the package's snapshot."""
    candidates = [PACKAGED] if data_dir is None else [PACKAGED, data_dir / "numbering"]
    return NumberingPlan.load(newest(candidates))
