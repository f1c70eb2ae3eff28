"""The group commit of one worker process: the dial jobs' short writes share transactions.

On SQLite the write transactions of every process take turns on one lock, and a waiter naps
in SQLite's busy handler (up to 100 ms a nap) while the lock may already be free. With each of
a worker's dozens of dial jobs opening its own transaction, three per call, the jobs waited
p50 0.6–0.9 s (p99 7–12 s) for the lock at 100 calls/s. Here one writer per process runs every
step waiting at the time in one transaction; a step that raises undoes only itself (the
others run again, each in a savepoint of its own), and its caller gets the exception. A caller
is answered after the commit, so nothing a step wrote is acted on before it is durable.

Steps are synchronous functions of a `Session`, run by `campaigns.db.Writes`: on SQLite the
whole transaction runs in a thread of its own, which holds the lock a quarter as long as the
same statements through aiosqlite; on PostgreSQL it runs in the event loop (`run_sync`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Session

from campaigns.db import Writes

__all__ = ["MAX_BATCH", "CommitStats", "GroupCommit", "Step"]

T = TypeVar("T")
Step = Callable[[Session], T]
"""A write: given the session of a write transaction, does its part and returns its answer."""

MAX_BATCH = 128
"""Steps in one transaction at most: bounds how long the lock is held at a time."""

_Pending = tuple[Step[Any], "asyncio.Future[Any]"]
_STOP: Any = object()
"""Queued by `close`: the writer ends once it has written what came before."""


@dataclass
class CommitStats:
    transactions: int = 0
    steps: int = 0


class GroupCommit:
    """`run(step)` queues a write and answers with its result after the commit."""

    def __init__(self, engine: AsyncEngine, *, max_batch: int = MAX_BATCH) -> None:
        self._writes = Writes(engine)
        self._max_batch = max_batch
        self._queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self.stats = CommitStats()

    @asynccontextmanager
    async def running(self) -> AsyncIterator[GroupCommit]:
        self.start()
        try:
            yield self
        finally:
            await self.close()

    def start(self) -> None:
        """Start the writer (for owners that cannot hold `running` open: arq's on_startup)."""
        if self._writer is None:
            self._writer = asyncio.create_task(self._write(), name="group-commit")

    async def close(self) -> None:
        """Write what is queued, then stop; safe to call twice."""
        task, self._writer = self._writer, None
        if task is not None:
            self._queue.put_nowait(_STOP)
            await asyncio.gather(task, return_exceptions=True)  # cancelled with the loop
        self._writes.close()

    async def run(self, step: Step[T]) -> T:
        if self._writer is None:
            raise RuntimeError("the group commit is not running")
        future: asyncio.Future[T] = asyncio.get_running_loop().create_future()
        self._queue.put_nowait((step, future))
        return await future

    async def _write(self) -> None:
        while True:
            batch = [await self._queue.get()]
            while len(batch) < self._max_batch and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            pending = [item for item in batch if item is not _STOP and not item[1].done()]
            if pending:
                await self._commit(pending)
            if any(item is _STOP for item in batch):
                return

    async def _commit(self, batch: list[_Pending]) -> None:
        try:
            steps = [step for step, _ in batch]
            results = await self._writes.run(lambda session: _run_steps(session, steps))
        except Exception as error:  # the transaction failed as a whole: nothing was written
            results = [error] * len(batch)
        self.stats.transactions += 1
        self.stats.steps += len(batch)
        for (_, future), result in zip(batch, results, strict=True):
            if future.done():  # the caller went away; what it wrote stays written
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)


def _run_steps(session: Session, steps: list[Step[Any]]) -> list[Any]:
    """All steps in one savepoint; if one raises, all again, each in its own. A savepoint is
    compiled afresh every time (its name is unique), which made two per step a quarter of the
    steps' CPU, and a step that raises is rare. Steps are functions of the database alone, so
    running them again after the rollback answers as the first run would have."""
    try:
        with session.begin_nested():
            return [_run(session, step) for step in steps]
    except Exception:
        return [_isolated(session, step) for step in steps]


def _isolated(session: Session, step: Step[Any]) -> Any:
    try:
        with session.begin_nested():
            return _run(session, step)
    except Exception as error:
        return error


def _run(session: Session, step: Step[T]) -> T:
    result = step(session)
    session.flush()
    # the steps change rows with UPDATE statements the session does not track: no step may
    # read an object another step loaded before that
    session.expire_all()
    return result
