"""Where an import's callees are: zone, region and operator of every number, vectorised.

The zone comes from, in order: the row's own `timezone`, the numbering plan's range (mobiles
and, when the plan has them, landlines), phonenumbers' geographic zone (landlines: it knows
no region for Russian mobiles), and else it is unknown. An unknown zone is stored as
`UNKNOWN_ZONE` under the strict policy, so the calling window treats the callee as being in
every Russian zone at once; under the default policy it is the campaign's zone.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import Final

import numpy as np
import numpy.typing as npt
import pandas as pd
import phonenumbers
import pyarrow as pa  # type: ignore[import-untyped]
import pyarrow.compute as pc  # type: ignore[import-untyped]
from phonenumbers import timezone as phone_zones

from campaigns.windows import UNKNOWN_ZONE
from dialer.settings import UnknownZone
from dialer.telecom.numbering import NumberingPlan, current

__all__ = ["Places", "Zoning", "places"]

_ZONE_PREFIX: Final = 5
"""Digits that fix a +7 number's type and zone (phonenumbers' zone prefixes have at most 4)."""
_TEXT: Final = pd.StringDtype("pyarrow")
_RUSSIAN_ALIASES: Final = {"Europe/Bucharest": "Europe/Kaliningrad"}
"""phonenumbers names Kaliningrad's landlines by a zone of its offset that keeps summer time."""


def _packaged() -> NumberingPlan:
    return current()


@dataclass(frozen=True)
class Zoning:
    """The numbering plan in use and the policy for callees of unknown zone."""

    plan: NumberingPlan = field(default_factory=_packaged)
    unknown: UnknownZone = UnknownZone.STRICT


@dataclass(frozen=True)
class Places:
    """Aligned with the numbers: the zone (IANA name or UNKNOWN_ZONE) and the place, as a code
    into `names` (-1 where the plan has no range); codes rather than a million region texts."""

    zones: pd.Series
    codes: npt.NDArray[np.int32]
    names: tuple[tuple[str, str], ...]
    """(region, operator) of each code."""


def places(numbers: pd.Series, zoning: Zoning, default: str) -> Places:
    """`numbers`: normalised digit strings, index kept; `default`: the campaign's zone.

    Zones are built as codes into a short vocabulary and taken by pyarrow at the end: a
    million rows never become Python strings."""
    text = pa.array(numbers.astype(_TEXT)).cast(pa.large_string())
    russian = pc.and_(pc.equal(pc.utf8_length(text), 11), pc.starts_with(text, "7"))
    digits = pc.if_else(russian, text, "0").cast(pa.int64()).to_numpy(zero_copy_only=False)
    found = zoning.plan.lookup_many(digits)
    vocabulary = sorted({zone for zone in found.zones if zone})
    position = {zone: i for i, zone in enumerate(vocabulary)}
    of_key = np.array([position.get(zone or "", -1) for zone in found.zones] + [-1], np.int32)
    codes = of_key[found.index]  # index -1 (no range) reads the trailing -1
    unknown = np.flatnonzero(codes < 0)
    if unknown.size:
        fallback = default if zoning.unknown is UnknownZone.DEFAULT else UNKNOWN_ZONE
        prefixes, zones = _geographic_zones(numbers.iloc[unknown], fallback)
        for zone in zones:
            position.setdefault(zone, len(position))
        codes[unknown] = np.array([position[zone] for zone in zones], np.int32)[prefixes]
        vocabulary = list(position)
    zone_column = pa.array(vocabulary, type=pa.large_string()).take(pa.array(codes))
    return Places(
        pd.Series(zone_column, index=numbers.index, dtype=_TEXT),
        found.index,
        tuple(zip(found.regions, found.operators, strict=True)),
    )


def _geographic_zones(numbers: pd.Series, fallback: str) -> tuple[np.ndarray, list[str]]:
    """phonenumbers' zone of geographic numbers, looked up once per prefix (`fallback` for
    the others): each number's prefix code, and the zone of each prefix."""
    codes, _ = pd.factorize(numbers.str.slice(0, _ZONE_PREFIX))
    firsts = np.unique(codes, return_index=True)[1]
    samples = numbers.iloc[firsts].tolist()
    return codes, [_number_zone(n) or fallback for n in samples]


@cache
def _number_zone(number: str) -> str | None:
    try:
        parsed = phonenumbers.parse("+" + number)
    except phonenumbers.NumberParseException:
        return None
    zones = phone_zones.time_zones_for_number(parsed)  # mobiles get their country's zones
    if len(zones) != 1 or zones[0] == phone_zones.UNKNOWN_TIMEZONE:
        return None
    russian = phonenumbers.region_code_for_number(parsed) == "RU"
    return _RUSSIAN_ALIASES.get(zones[0], zones[0]) if russian else zones[0]
