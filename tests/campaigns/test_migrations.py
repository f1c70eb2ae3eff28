from __future__ import annotations

import asyncio
from typing import Any

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, inspect

from campaigns.db import alembic_config, create_engine, upgrade
from campaigns.tables import Base

pytestmark = pytest.mark.any_db


def _diffs(connection: Connection) -> list[Any]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _revision(connection: Connection) -> str | None:
    return MigrationContext.configure(connection).get_current_revision()


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _sync(url: str, fn: Any) -> Any:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(fn)
    finally:
        await engine.dispose()


def test_one_head_named_0008() -> None:
    assert ScriptDirectory.from_config(alembic_config()).get_heads() == ["0008"]


async def test_upgrade_builds_exactly_the_metadata(empty_db_url: str) -> None:
    await upgrade(empty_db_url)

    assert await _sync(empty_db_url, _diffs) == []
    assert await _sync(empty_db_url, _revision) == "0008"


async def test_migrated_fixture_database_matches_the_metadata(db_url: str) -> None:
    assert await _sync(db_url, _diffs) == []


async def test_upgrade_again_changes_nothing(empty_db_url: str) -> None:
    await upgrade(empty_db_url)
    await upgrade(empty_db_url)

    assert await _sync(empty_db_url, _revision) == "0008"
    assert await _sync(empty_db_url, _diffs) == []


async def test_concurrent_upgrades_take_turns(empty_db_url: str) -> None:
    await asyncio.gather(*(upgrade(empty_db_url) for _ in range(3)))

    assert await _sync(empty_db_url, _diffs) == []


async def test_downgrade_to_base_then_upgrade(empty_db_url: str) -> None:
    await upgrade(empty_db_url)

    def downgrade(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        with connection.begin():
            command.downgrade(config, "base")

    await _sync(empty_db_url, downgrade)
    assert await _sync(empty_db_url, _tables) == {"alembic_version"}

    await upgrade(empty_db_url)
    assert await _sync(empty_db_url, _diffs) == []


async def test_sqlite_parent_directory_is_created(tmp_path: Any) -> None:
    path = tmp_path / "a" / "b" / "dialer.db"

    await upgrade(f"sqlite+aiosqlite:///{path}")

    assert path.exists()
