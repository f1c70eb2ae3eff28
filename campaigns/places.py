"""Numbering-plan places, stored once and named by id from each contact (`tables.Place`).

An import brings its places as codes into the numbering plan's (region, operator) pairs
(`campaigns.zoning`); the pairs it uses that are not stored yet are inserted first. A file of
a million numbers holds a few thousand pairs, so the database writes a small integer per
contact instead of two texts, and no per-row text is built on the way.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt
import pandas as pd
from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from campaigns.tables import Place

__all__ = ["place_ids"]

_NOWHERE = ("", "")
"""A range whose registry row named neither region nor operator."""


async def place_ids(
    connection: AsyncConnection,
    codes: npt.NDArray[np.int32],
    names: Sequence[tuple[str, str]],
) -> pd.arrays.IntegerArray:
    """Aligned with `codes` (indexes into `names`, -1 for none): each row's place id, <NA>
    where the plan knew neither region nor operator."""
    used = np.flatnonzero(np.bincount(codes[codes >= 0], minlength=len(names)))
    wanted = sorted({names[code] for code in used.tolist()} - {_NOWHERE})
    of_code = np.full(len(names) + 1, -1, dtype=np.int64)  # the last reads code -1
    if wanted:
        insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
        await connection.execute(
            insert(Place).on_conflict_do_nothing(index_elements=["region", "operator"]),
            [{"region": region, "operator": operator} for region, operator in wanted],
        )
        stored = await connection.execute(select(Place.id, Place.region, Place.operator))
        id_of = {(region, operator): place for place, region, operator in stored}
        for code in used.tolist():
            of_code[code] = id_of.get(names[code], -1)
    ids = of_code[codes]
    return pd.arrays.IntegerArray(ids, ids < 0)
