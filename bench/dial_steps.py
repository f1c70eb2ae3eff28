"""CPU per call of the dial job's three writes (begin, mark_sent, accepted) through one worker's
group commit on SQLite, nothing else running: the database share of a call's cost.

    uv run python -m bench.dial_steps [--calls 3000] [--in-flight 8]

`--in-flight` dial jobs run at once (so about that many steps share a transaction); prints the
process CPU and the wall time per call, and the steps per transaction.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from datetime import UTC, datetime
from functools import partial

from campaigns import dial as dial_db
from campaigns import pace as pace_db
from campaigns.db import create_engine, session_factory, upgrade, write_transaction
from campaigns.group_commit import GroupCommit
from campaigns.pace import Due
from campaigns.requests import CallSetup
from tests.db_fixtures import insert_campaign, insert_contacts, phone_of

NOW = datetime(2026, 11, 25, 13, 0, tzinfo=UTC)
SETUP = CallSetup(
    a_number="74950000000", notify_url="http://127.0.0.1:8000/webhooks/mtt/t", allow_http=True
)
DAILY_CAP = 3
"""A cap, so that begin runs its frequency query as in production."""


async def call(writes: GroupCommit, attempt_id: int) -> None:
    begun = await writes.run(
        partial(dial_db.begin, attempt_id=attempt_id, now=NOW, cap=DAILY_CAP, setup=SETUP)
    )
    if not isinstance(begun, dial_db.OutgoingCall):
        raise RuntimeError(f"attempt {attempt_id} did not begin: {begun}")
    if not await writes.run(partial(dial_db.mark_sent, attempt_id=attempt_id, now=NOW)):
        raise RuntimeError(f"attempt {attempt_id} was not marked sent")
    await writes.run(partial(dial_db.accepted, attempt_id=attempt_id, call_id="c", now=NOW))


async def measure(calls: int, in_flight: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-dial-steps-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/dialer.db"
        await upgrade(url)
        engine = create_engine(url)
        sessions = session_factory(engine)
        campaign_id = await insert_campaign(sessions)
        contact_ids = await insert_contacts(sessions, campaign_id, range(calls), status="pending")
        async with write_transaction(sessions) as session:
            due = [Due(c, campaign_id, phone_of(n), "pending") for n, c in enumerate(contact_ids)]
            claimed = await pace_db.claim(session, due, NOW)
        writes = GroupCommit(engine)
        gate = asyncio.Semaphore(in_flight)

        async def one(attempt_id: int) -> None:
            async with gate:
                await call(writes, attempt_id)

        async with writes.running():
            cpu, wall = time.process_time(), time.perf_counter()
            await asyncio.gather(*(one(claim.attempt_id) for claim in claimed))
            cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await engine.dispose()
    per_txn = writes.stats.steps / writes.stats.transactions
    print(
        f"{calls} calls, {in_flight} in flight: CPU {1000 * cpu / calls:.2f} ms/call, "
        f"wall {1000 * wall / calls:.2f} ms/call, {per_txn:.1f} steps per transaction"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--calls", type=int, default=3000)
    parser.add_argument("--in-flight", type=int, default=8)
    options = parser.parse_args()
    asyncio.run(measure(options.calls, options.in_flight))


if __name__ == "__main__":
    main()
