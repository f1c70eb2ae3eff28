from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.db import write_transaction
from campaigns.places import place_ids
from campaigns.tables import Place

pytestmark = pytest.mark.any_db

_NAMES = (
    ("Приморский край", "ПАО МТС"),
    ("", ""),
    ("Камчатский край", ""),
    ("г. Москва", "ПАО МегаФон"),
)


async def _ids(sessions: async_sessionmaker[AsyncSession], codes: list[int]) -> list[int | None]:
    async with write_transaction(sessions) as session:
        found = await place_ids(await session.connection(), np.array(codes, np.int32), _NAMES)
    return [None if place is pd.NA else int(place) for place in found]


async def _stored(sessions: async_sessionmaker[AsyncSession]) -> dict[tuple[str, str], int]:
    async with sessions() as session:
        rows = await session.execute(select(Place.region, Place.operator, Place.id))
    return {(region, operator): place for region, operator, place in rows}


async def test_each_code_gets_its_pairs_id_and_only_used_pairs_are_stored(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    ids = await _ids(sessions, [0, -1, 2, 0, 1, 2])
    stored = await _stored(sessions)
    assert set(stored) == {_NAMES[0], _NAMES[2]}
    primorye, kamchatka = stored[_NAMES[0]], stored[_NAMES[2]]
    assert ids == [primorye, None, kamchatka, primorye, None, kamchatka]


async def test_a_second_import_reuses_the_stored_ids(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await _ids(sessions, [2])
    second = await _ids(sessions, [3, 2])
    stored = await _stored(sessions)
    assert len(stored) == 2
    assert second == [stored[_NAMES[3]], first[0]]


async def test_numbers_outside_the_plan_store_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await _ids(sessions, [-1, 1, -1]) == [None, None, None]
    assert await _ids(sessions, []) == []
    assert await _stored(sessions) == {}
