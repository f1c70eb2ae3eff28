from __future__ import annotations

import asyncio
import multiprocessing
import sqlite3
import threading
from datetime import UTC, datetime
from multiprocessing.synchronize import Event as EventType
from pathlib import Path

import pytest
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.orm import Session
from typer.testing import CliRunner

from campaigns.db import (
    SQLITE_BUSY_TIMEOUT_MS,
    Writes,
    create_engine,
    ensure_writing,
    session_factory,
    write_transaction,
)
from campaigns.tables import Campaign, Contact
from dialer.shell.cli import app

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


def _campaign_row(name: str = "c") -> dict[str, object]:
    return {"name": name, "message": "hi", "created_at": NOW, "updated_at": NOW}


async def _add_campaign(sessions: async_sessionmaker[AsyncSession], name: str = "c") -> int:
    async with write_transaction(sessions) as session:
        result = await session.execute(
            insert(Campaign).values(_campaign_row(name)).returning(Campaign.id)
        )
        return result.scalar_one()


async def _count(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions() as session:
        return (await session.execute(select(func.count()).select_from(Campaign))).scalar_one()


def _sqlite_path(engine: AsyncEngine) -> str:
    path = engine.url.database
    assert path is not None
    return path


@pytest.mark.parametrize(
    ("pragma", "expected"),
    [
        ("journal_mode", "wal"),
        ("busy_timeout", SQLITE_BUSY_TIMEOUT_MS),
        ("synchronous", 1),  # NORMAL
        ("foreign_keys", 1),
        ("wal_autocheckpoint", 0),  # campaigns.db.Checkpoints instead
    ],
)
async def test_sqlite_connection_pragmas(
    engine: AsyncEngine, pragma: str, expected: object
) -> None:
    async with engine.connect() as connection:
        value = (await connection.exec_driver_sql(f"PRAGMA {pragma}")).scalar_one()
    assert value == expected


async def test_sqlite_engine_creates_the_parent_directory(tmp_path: Path) -> None:
    path = tmp_path / "var" / "deep" / "dialer.db"
    engine = create_engine(f"sqlite+aiosqlite:///{path}")
    async with engine.connect() as connection:
        await connection.exec_driver_sql("SELECT 1")
    await engine.dispose()
    assert path.exists()


@pytest.mark.any_db
async def test_foreign_keys_are_enforced(sessions: async_sessionmaker[AsyncSession]) -> None:
    with pytest.raises(IntegrityError):
        async with write_transaction(sessions) as session:
            await session.execute(
                insert(Contact).values(campaign_id=999, phone="79101234567", timezone="UTC")
            )


@pytest.mark.any_db
async def test_write_transaction_commits(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _add_campaign(sessions)
    assert await _count(sessions) == 1


@pytest.mark.any_db
async def test_write_transaction_rolls_back_on_error(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async def fail_after_insert() -> None:
        async with write_transaction(sessions) as session:
            await session.execute(insert(Campaign).values(_campaign_row()))
            raise LookupError

    with pytest.raises(LookupError):
        await fail_after_insert()
    assert await _count(sessions) == 0


@pytest.mark.any_db
async def test_writes_answer_after_the_commit_and_write_nothing_when_the_work_raises(
    sessions: async_sessionmaker[AsyncSession], writes: Writes, backend: str
) -> None:
    loop_thread = threading.get_ident()

    def add(session: Session) -> tuple[int, int]:
        session.add(Campaign(**_campaign_row("kept")))
        session.flush()
        ensure_writing(session)
        return threading.get_ident(), session.scalar(select(func.count(Campaign.id))) or 0

    def add_then_fail(session: Session) -> None:
        session.add(Campaign(**_campaign_row("dropped")))
        session.flush()
        raise ValueError("refused")

    thread, count = await writes.run(add)
    assert count == 1
    assert await _count(sessions) == 1
    with pytest.raises(ValueError, match="refused"):
        await writes.run(add_then_fail)
    assert await _count(sessions) == 1
    # on SQLite the transaction runs whole in a thread of its own, off the event loop
    assert (thread != loop_thread) == (backend == "sqlite")


def _in_database_file(path: str) -> int:
    """Campaigns in the database file itself, ignoring the WAL (what a checkpoint copied)."""
    connection = sqlite3.connect(f"file:{path}?immutable=1", uri=True)
    try:
        return int(connection.execute("SELECT count(*) FROM campaign").fetchone()[0])
    finally:
        connection.close()


async def test_writes_copy_the_wal_into_the_database_file_in_the_background(
    engine: AsyncEngine,
) -> None:
    path = _sqlite_path(engine)

    def add(session: Session) -> None:
        session.add(Campaign(**_campaign_row()))

    idle = Writes(engine, checkpoint_every=3600)
    await idle.run(add)
    assert _in_database_file(path) == 0  # committed to the WAL only: no automatic checkpoint
    idle.close()
    writes = Writes(engine, checkpoint_every=0.02)
    try:
        await writes.run(add)
        await asyncio.sleep(0.3)
        assert _in_database_file(path) == 2
    finally:
        writes.close()


@pytest.mark.any_db
async def test_savepoint_rolls_back_only_its_part(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with write_transaction(sessions) as session:
        await session.execute(insert(Campaign).values(_campaign_row("kept")))
        nested = await session.begin_nested()
        await session.execute(insert(Campaign).values(_campaign_row("dropped")))
        await nested.rollback()
    async with sessions() as session:
        names = (await session.execute(select(Campaign.name))).scalars().all()
    assert names == ["kept"]


@pytest.mark.any_db
async def test_ensure_writing_only_inside_write_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session:
        with pytest.raises(RuntimeError, match="write_transaction"):
            ensure_writing(session)
    async with write_transaction(sessions) as session:
        ensure_writing(session)


async def test_plain_session_reads_inside_a_real_transaction(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """The driver's legacy mode would run the SELECTs outside any transaction."""
    await _add_campaign(sessions)
    async with sessions() as session:
        before = (await session.execute(select(func.count(Campaign.id)))).scalar_one()
        await _add_campaign(sessions)
        after = (await session.execute(select(func.count(Campaign.id)))).scalar_one()
    assert (before, after) == (1, 1)
    assert await _count(sessions) == 2


def _try_write_lock(path: str) -> str:
    """What another process gets when it asks for the write lock right now."""
    other = sqlite3.connect(path, timeout=0.05, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as error:
        return str(error)
    finally:
        other.close()
    return "granted"


async def test_write_transaction_takes_the_write_lock_at_begin(
    engine: AsyncEngine, sessions: async_sessionmaker[AsyncSession]
) -> None:
    path = _sqlite_path(engine)
    async with sessions() as session, session.begin():
        await session.execute(select(Campaign.id))
        assert await asyncio.to_thread(_try_write_lock, path) == "granted"
    async with write_transaction(sessions) as session:
        await session.execute(select(Campaign.id))
        assert await asyncio.to_thread(_try_write_lock, path) == "database is locked"


async def _journal_mode(url: str) -> str:
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            return str((await connection.execute(text("PRAGMA journal_mode"))).scalar_one())
    finally:
        await engine.dispose()


@pytest.mark.parametrize("round_", range(5))
async def test_connections_opening_a_new_file_at_once_all_get_wal(
    tmp_path: Path, round_: int
) -> None:
    """All but one of them used to fail at once with "database is locked"."""
    url = f"sqlite+aiosqlite:///{tmp_path / f'new-{round_}.db'}"
    modes = await asyncio.gather(*(_journal_mode(url) for _ in range(4)))
    assert modes == ["wal"] * 4


async def _increment(sessions: async_sessionmaker[AsyncSession], campaign_id: int) -> None:
    """Read, then write what was read plus one: a lost update or a lock error shows."""
    async with write_transaction(sessions) as session:
        current = (
            await session.execute(select(Campaign.priority).where(Campaign.id == campaign_id))
        ).scalar_one()
        await asyncio.sleep(0)
        await session.execute(
            update(Campaign).where(Campaign.id == campaign_id).values(priority=current + 1)
        )


async def _priority(sessions: async_sessionmaker[AsyncSession], campaign_id: int) -> int:
    async with sessions() as session:
        return (
            await session.execute(select(Campaign.priority).where(Campaign.id == campaign_id))
        ).scalar_one()


async def test_concurrent_tasks_read_then_write_sqlite(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    campaign_id = await _add_campaign(sessions)
    await asyncio.gather(*(_increment(sessions, campaign_id) for _ in range(40)))
    assert await _priority(sessions, campaign_id) == 1 + 40


def _writer(url: str, campaign_id: int, rounds: int, go: EventType) -> None:
    """One writer process: opens its own engine, waits for the others, then increments."""

    async def write() -> None:
        engine = create_engine(url)
        sessions = session_factory(engine)
        async with sessions() as session:
            await session.execute(select(Campaign.id))
        go.wait()
        for _ in range(rounds):
            await _increment(sessions, campaign_id)
        await engine.dispose()

    asyncio.run(write())


async def test_processes_write_one_sqlite_file_at_once(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    campaign_id = await _add_campaign(sessions)
    rounds, writers = 150, 3
    context = multiprocessing.get_context("fork")  # the children skip the slow imports
    go = context.Event()
    processes = [
        context.Process(target=_writer, args=(db_url, campaign_id, rounds, go))
        for _ in range(writers)
    ]
    for process in processes:
        process.start()
    go.set()
    for process in processes:
        await asyncio.to_thread(process.join, 60)

    assert [process.exitcode for process in processes] == [0] * writers
    assert await _priority(sessions, campaign_id) == 1 + rounds * writers


def test_cli_db_upgrade_migrates_the_configured_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "cli" / "dialer.db"
    monkeypatch.setenv("DIALER_DATABASE_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.chdir(tmp_path)

    result = CliRunner().invoke(app, ["db", "upgrade"])

    assert result.exit_code == 0, result.output
    tables = sqlite3.connect(path).execute("SELECT name FROM sqlite_master WHERE type='table'")
    assert {"campaign", "contact", "attempt", "event", "dnc", "callback"} <= {
        name for (name,) in tables
    }


async def test_session_factory_keeps_objects_loaded_after_commit(engine: AsyncEngine) -> None:
    sessions = session_factory(engine)
    campaign_id = await _add_campaign(sessions)
    async with sessions() as session, session.begin():
        campaign = await session.get_one(Campaign, campaign_id)
    assert campaign.name == "c"
