"""Engines, sessions, write transactions and schema migrations.

SQLite (one machine) is shared by several processes (api + workers), so every connection runs
in WAL mode with a busy timeout, and SQLAlchemy, not the sqlite3 driver, emits BEGIN: the
driver's legacy mode would run SELECTs outside the transaction and break SAVEPOINTs. A
transaction that writes begins IMMEDIATE, taking the write lock up front (waiting up to the busy
timeout for it): a DEFERRED one that reads first cannot upgrade its lock once another process
has committed and fails with "database is locked" at once, whatever the timeout.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Protocol, TypeVar

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, event, text
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import Session
from sqlalchemy.util import await_

__all__ = [
    "CHECKPOINT_SECONDS",
    "MIGRATIONS",
    "Checkpoints",
    "Transact",
    "Writes",
    "alembic_config",
    "create_engine",
    "ensure_writing",
    "ping",
    "session_factory",
    "upgrade",
    "write_transaction",
]

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).with_name("migrations")
CHECKPOINT_SECONDS = 1.0
"""How often each writing process copies SQLite's WAL into the database file."""
SQLITE_BUSY_TIMEOUT_MS = 30_000
_WAL = "journal_mode=WAL"
WAL_RETRY_SECONDS = 0.02
_SQLITE_PRAGMAS = (
    f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",  # first: switching to WAL may itself have to wait
    _WAL,
    "synchronous=NORMAL",
    "foreign_keys=ON",
    "wal_autocheckpoint=0",  # `Checkpoints` does it, off the commit path
)
_BEGIN = "dialer_sqlite_begin"
"""Execution option naming the SQLite BEGIN mode (DEFERRED when absent); PostgreSQL ignores it."""
_WRITING = "dialer_writing"
T = TypeVar("T")
_MIGRATION_LOCK = 0x6469616C6572  # pg_advisory_xact_lock key: concurrent upgrades take turns


def create_engine(url: str) -> AsyncEngine:
    """An engine for a SQLite (aiosqlite) or PostgreSQL (asyncpg) URL."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return create_async_engine(
            parsed, pool_size=10, max_overflow=20, pool_pre_ping=True, pool_recycle=1800
        )
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(parsed, pool_size=10)
    event.listen(engine.sync_engine, "connect", _sqlite_connect)
    event.listen(engine.sync_engine, "begin", _sqlite_begin)
    return engine


def _sqlite_writer(engine: AsyncEngine) -> Engine | None:
    """A synchronous engine on the SQLite file of `engine`, for write transactions that run
    whole in one thread (`Writes`); None for PostgreSQL.

    Through aiosqlite every statement is a hop to its thread and back, about 1 ms of CPU here
    against 0.3 ms in the thread itself: a transaction of dozens of statements held SQLite's
    one write lock, for every process, that much longer.
    """
    url = engine.url
    if url.get_backend_name() != "sqlite":
        return None
    writer = create_sync_engine(
        url.set(drivername="sqlite+pysqlite"),
        connect_args={"check_same_thread": False},  # disposed of from the event loop's thread
        execution_options={_BEGIN: "IMMEDIATE"},
    )
    event.listen(writer, "connect", _sqlite_connect_in_thread)
    event.listen(writer, "begin", _sqlite_begin)
    return writer


def _sqlite_connect(dbapi_connection: Any, _record: object) -> None:
    _set_pragmas(dbapi_connection, lambda seconds: await_(asyncio.sleep(seconds)))


def _sqlite_connect_in_thread(dbapi_connection: Any, _record: object) -> None:
    _set_pragmas(dbapi_connection, time.sleep)


def _set_pragmas(dbapi_connection: Any, pause: Callable[[float], object]) -> None:
    dbapi_connection.isolation_level = None  # the driver never emits BEGIN; _sqlite_begin does
    cursor = dbapi_connection.cursor()
    for pragma in _SQLITE_PRAGMAS:
        if pragma == _WAL:
            _switch_to_wal(cursor, time.monotonic() + SQLITE_BUSY_TIMEOUT_MS / 1000, pause)
        else:
            cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _switch_to_wal(cursor: Any, deadline: float, pause: Callable[[float], object]) -> None:
    """Processes opening a new file at once all switch it to WAL, and all but one fail at once
    with "database is locked" whatever the busy timeout (SQLite does not wait where waiting
    could deadlock). The mode belongs to the file, so try again until it is WAL. `pause` waits
    the way the caller may: on the event loop (in SQLAlchemy's greenlet) or in a thread."""
    while True:
        try:
            cursor.execute(f"PRAGMA {_WAL}")
            return
        except sqlite3.OperationalError as error:
            if "locked" not in str(error) or time.monotonic() > deadline:
                raise
        pause(WAL_RETRY_SECONDS)


def _sqlite_begin(connection: Connection) -> None:
    mode = connection.get_execution_options().get(_BEGIN, "DEFERRED")
    connection.exec_driver_sql(f"BEGIN {mode}")


async def ping(engine: AsyncEngine) -> None:
    """Raises unless the database answers a query."""
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


@asynccontextmanager
async def write_transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """A session in a transaction that writes: BEGIN IMMEDIATE on SQLite, a plain transaction on
    PostgreSQL. Commits when the block ends, rolls back on an exception.

    Keep it short and never open another write transaction inside one: on SQLite the inner one
    would wait for the outer's lock until the busy timeout.
    """
    async with sessions(execution_options={_BEGIN: "IMMEDIATE"}) as session, session.begin():
        session.info[_WRITING] = True
        yield session


@contextmanager
def _sync_write_transaction(writer: Engine) -> Iterator[Session]:
    """`write_transaction` for a `_sqlite_writer` engine, in the thread that runs it."""
    with (
        Session(writer, expire_on_commit=False, info={_WRITING: True}) as session,
        session.begin(),
    ):
        yield session


class Transact(Protocol):
    """Runs `work` in a write transaction and returns its result once committed: `Writes.run`,
    `GroupCommit.run` (which may share the transaction with other work)."""

    def __call__(self, work: Callable[[Session], T], /) -> Awaitable[T]: ...


class Writes:
    """Runs synchronous functions of a `Session` in a write transaction each: on SQLite whole in
    a thread of this object's own, on a `_sqlite_writer` connection; on PostgreSQL in the event
    loop (`run_sync`). For the hot write paths: a dial job's steps, a batch of webhooks."""

    def __init__(
        self, engine: AsyncEngine, *, checkpoint_every: float = CHECKPOINT_SECONDS
    ) -> None:
        self._sessions = session_factory(engine)
        writer = _sqlite_writer(engine)
        self._threaded = (
            None if writer is None else (writer, ThreadPoolExecutor(1, thread_name_prefix="writes"))
        )
        self._checkpoints = (
            None if writer is None else Checkpoints(engine.url.database, checkpoint_every)
        )

    async def run(self, work: Callable[[Session], T]) -> T:
        """`work`'s result once committed; its exception, with nothing written, if it raised."""
        if self._threaded is None:
            async with write_transaction(self._sessions) as session:
                return await session.run_sync(work)
        writer, thread = self._threaded
        return await asyncio.get_running_loop().run_in_executor(
            thread, _in_transaction, writer, work
        )

    def close(self) -> None:
        """Wait for the transaction running, then let go of the threads and connections."""
        if self._threaded is not None:
            writer, thread = self._threaded
            thread.shutdown()
            writer.dispose()
        if self._checkpoints is not None:
            self._checkpoints.stop()


class Checkpoints:
    """Copies the WAL into the database file every `every` seconds, in a thread of its own.

    SQLite's automatic checkpoint runs inside the commit that crosses 1,000 WAL pages, with its
    fsyncs: a webhook batch now and then took tens of milliseconds longer (p99 at 1,000 events/s
    33–38 ms with it, 17–24 ms without). Every connection turns it off (`_SQLITE_PRAGMAS`) and
    each long-running process that writes (API, workers) runs this; a PASSIVE checkpoint never
    waits for readers or writers, and several processes doing it at once do no harm.
    """

    def __init__(self, path: str | None, every: float) -> None:
        self._path = path
        self._every = every
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._run, name="wal-checkpoints", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        connection = sqlite3.connect(self._path or ":memory:", check_same_thread=False)
        try:
            while not self._stopping.wait(self._every):
                try:
                    connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                except sqlite3.Error as error:
                    log.warning("WAL checkpoint failed: %r", error)
        finally:
            connection.close()

    def stop(self) -> None:
        self._stopping.set()
        self._thread.join()


def _in_transaction(writer: Engine, work: Callable[[Session], T]) -> T:
    with _sync_write_transaction(writer) as session:
        return work(session)


def ensure_writing(session: Session | AsyncSession) -> None:
    """Refuse to write outside `write_transaction`, where SQLite could fail under load."""
    if not session.info.get(_WRITING):
        raise RuntimeError("this write must run inside campaigns.db.write_transaction")


def alembic_config() -> Config:
    """The migrations' configuration, with no alembic.ini: they ship inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


async def upgrade(url: str, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision`; concurrent callers take turns."""
    engine = create_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.execution_options(**{_BEGIN: "IMMEDIATE"})
            async with connection.begin():
                if connection.dialect.name == "postgresql":
                    await connection.execute(
                        text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                    )
                await connection.run_sync(_upgrade, revision)
    finally:
        await engine.dispose()


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)
