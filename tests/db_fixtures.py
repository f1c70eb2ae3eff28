"""Database fixtures: migrated SQLite per test, and PostgreSQL when DIALER_TEST_PG_URL is set;
helpers that store `tests.factories` rows.

`db_url`, `engine` and `sessions` give a fresh migrated SQLite file per test. A test marked
`any_db` (or a module with `pytestmark = pytest.mark.any_db`) runs on SQLite and, when
DIALER_TEST_PG_URL points at a server, again on PostgreSQL: one throwaway database per test
session, migrated once and truncated before each test. `empty_db_url` is an unmigrated database
(on both backends for `any_db` tests).
"""

from __future__ import annotations

import asyncio
import os
import secrets
import shutil
from collections.abc import AsyncIterator, Coroutine, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, TypeVar

import asyncpg
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from campaigns.db import Writes, create_engine, session_factory, upgrade, write_transaction
from campaigns.tables import Base
from tests.factories import make_campaign, make_contact

PG_URL_ENV = "DIALER_TEST_PG_URL"
SQLITE = "sqlite"
POSTGRESQL = "postgresql"
T = TypeVar("T")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "any_db: run on SQLite and, when DIALER_TEST_PG_URL is set, on PostgreSQL"
    )


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if metafunc.definition.get_closest_marker("any_db") is None:
        return
    if "backend" not in metafunc.fixturenames:
        return
    backends = [pytest.param(SQLITE, id=SQLITE)]
    if os.environ.get(PG_URL_ENV):
        backends.append(pytest.param(POSTGRESQL, id="pg", marks=pytest.mark.postgres))
    metafunc.parametrize("backend", backends, scope="session")


@pytest.fixture(scope="session")
def backend() -> str:
    """SQLite unless the test is marked `any_db`, which parametrizes this."""
    return SQLITE


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def _pg_server_url() -> str:
    url = os.environ.get(PG_URL_ENV)
    if not url:
        pytest.fail(f"{PG_URL_ENV} is not set")
    return url


async def _create_pg_database(server_url: str) -> str:
    """A new empty database on the server; its SQLAlchemy URL."""
    url = make_url(server_url)
    name = f"dialer_test_{secrets.token_hex(4)}"
    conn = await asyncpg.connect(url.set(drivername="postgresql").render_as_string(False))
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return url.set(database=name).render_as_string(hide_password=False)


async def _drop_pg_database(database_url: str) -> None:
    url = make_url(database_url)
    server = url.set(drivername="postgresql", database="postgres").render_as_string(False)
    conn = await asyncpg.connect(server)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)')
    finally:
        await conn.close()


def _run(coroutine: Coroutine[Any, Any, T]) -> T:
    """Run on a loop of its own in another thread: session fixtures set up between tests must
    not touch the loop pytest-asyncio keeps in this one."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def _sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """One migrated SQLite file; each test gets a copy (faster than migrating per test)."""
    url = sqlite_url(tmp_path_factory.mktemp("db-template") / "dialer.db")
    _run(upgrade(url))
    return url


@pytest.fixture(scope="session")
def _pg_database() -> Iterator[str]:
    url = _run(_create_pg_database(_pg_server_url()))
    _run(upgrade(url))
    yield url
    _run(_drop_pg_database(url))


@pytest.fixture
def _migrated(backend: str, request: pytest.FixtureRequest) -> str:
    """The session's migrated database: the SQLite template or the PostgreSQL database."""
    url: str = request.getfixturevalue(
        "_pg_database" if backend == POSTGRESQL else "_sqlite_template"
    )
    return url


async def _truncate(url: str) -> None:
    tables = ", ".join(f'"{table.name}"' for table in Base.metadata.sorted_tables)
    engine = create_engine(url)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture
async def db_url(backend: str, _migrated: str, tmp_path: Path) -> str:
    """A migrated database holding no rows."""
    if backend == POSTGRESQL:
        await _truncate(_migrated)
        return _migrated
    template = make_url(_migrated).database
    assert template is not None
    path = tmp_path / "db" / "dialer.db"
    path.parent.mkdir()
    shutil.copyfile(template, path)
    return sqlite_url(path)


@pytest.fixture
async def empty_db_url(backend: str, tmp_path: Path) -> AsyncIterator[str]:
    """A database with no schema at all."""
    if backend == POSTGRESQL:
        url = await _create_pg_database(_pg_server_url())
        yield url
        await _drop_pg_database(url)
    else:
        yield sqlite_url(tmp_path / "empty" / "dialer.db")


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = create_engine(db_url)
    yield engine
    await engine.dispose()


@pytest.fixture
def sessions(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return session_factory(engine)


@pytest.fixture
def writes(engine: AsyncEngine) -> Iterator[Writes]:
    """The hot paths' write transactions (a thread of their own on SQLite)."""
    writes = Writes(engine)
    yield writes
    writes.close()


async def insert_campaign(sessions: async_sessionmaker[AsyncSession], **fields: Any) -> int:
    """A campaign row from `tests.factories.make_campaign`; its id."""
    async with write_transaction(sessions) as session:
        campaign = make_campaign(**fields)
        session.add(campaign)
        await session.flush()
        return campaign.id


def phone_of(n: int) -> str:
    """The n-th test contact's phone: 7910000nnnn."""
    return f"7910{n:07d}"


async def insert_contacts(
    sessions: async_sessionmaker[AsyncSession],
    campaign_id: int,
    numbers: Iterable[int],
    **fields: Any,
) -> list[int]:
    """A `tests.factories.make_contact` row for each n (phone `phone_of(n)`); their ids."""
    async with write_transaction(sessions) as session:
        contacts = [
            make_contact(campaign_id=campaign_id, phone=phone_of(n), **fields) for n in numbers
        ]
        session.add_all(contacts)
        await session.flush()
        return [contact.id for contact in contacts]
