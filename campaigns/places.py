"""Numbering-plan places, stored once and named by id from each contact (`tables.Place`).

An import maps its rows' (region, operator) pairs to ids: the pairs it brings that are not
stored yet are inserted first. A file of a million numbers holds a few thousand pairs, so the
database writes a small integer per contact instead of two texts.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pandas as pd
from sqlalchemy import Row, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from campaigns.tables import Place

__all__ = ["place_ids"]

_PAIR = ["region", "operator"]


async def place_ids(
    connection: AsyncConnection, regions: pd.Series, operators: pd.Series
) -> pd.Series:
    """Aligned with `regions`: each row's place id, <NA> where the plan knew neither part."""
    keys, known, pairs = await asyncio.to_thread(_pairs, regions, operators)
    if not pairs:
        return pd.Series(pd.NA, index=regions.index, dtype="Int64")
    insert = postgresql.insert if connection.dialect.name == "postgresql" else sqlite.insert
    await connection.execute(
        insert(Place).on_conflict_do_nothing(index_elements=_PAIR),
        [{"region": region, "operator": operator} for region, operator in pairs],
    )
    stored = (await connection.execute(select(Place.id, Place.region, Place.operator))).all()
    return await asyncio.to_thread(_ids, keys, known, stored, regions.index)


def _pairs(
    regions: pd.Series, operators: pd.Series
) -> tuple[pd.DataFrame, pd.Series, list[tuple[str, str]]]:
    keys = pd.DataFrame(
        {"region": regions.fillna("").to_numpy(), "operator": operators.fillna("").to_numpy()}
    )
    known = (keys["region"] != "") | (keys["operator"] != "")
    pairs = keys[known].drop_duplicates()
    return keys, known, list(pairs.itertuples(index=False, name=None))


def _ids(
    keys: pd.DataFrame, known: pd.Series, stored: Sequence[Row[int, str, str]], index: pd.Index
) -> pd.Series:
    table = pd.DataFrame([tuple(row) for row in stored], columns=["place_id", *_PAIR])
    found = keys.merge(table, how="left", on=_PAIR)["place_id"].astype("Int64")
    return pd.Series(found.where(known.to_numpy()).to_numpy(), index=index, dtype="Int64")
