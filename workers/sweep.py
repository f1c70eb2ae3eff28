"""The sweep jobs (docs/design.md §5.5), run by arq's cron in every worker process.

arq enqueues one job per cron tick under a shared id, so usually one process sweeps; when two
do, every step's compare-and-set leaves each row to one of them. Each step has its own short
transaction, so the SQLite write lock is never held across a network call.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any

from campaigns import callbacks, inbox, store
from campaigns import sweep as sweep_db
from campaigns.apply import AppliedEvent
from campaigns.db import write_transaction
from campaigns.jobs import after_commit
from campaigns.spikes import SpikeRule
from campaigns.sweep import Overdue
from dialer.telecom.mtt_rpc import CallRecord, MttRpcError
from workers.resources import WorkerResources, from_ctx

__all__ = ["HISTORY_MARGIN", "retry_events", "sweep"]

log = logging.getLogger(__name__)

HISTORY_MARGIN = timedelta(minutes=5)
"""How far before the oldest overdue call getCallHistory is asked from."""


async def sweep(ctx: dict[str, Any]) -> dict[str, int]:
    """Every step once; counts of what was done, for the job's result."""
    res = from_ctx(ctx)
    settings = res.settings
    now = res.clock()
    done: dict[str, int] = {}
    async with write_transaction(res.sessions) as session:
        done["started"] = len(await store.activate_due(session, now=now))
    async with write_transaction(res.sessions) as session:
        abandoned = await sweep_db.abandon_claims(session, now, settings.claim_lease)
    await res.release_leases(abandoned)
    done["abandoned"] = len(abandoned)
    async with write_transaction(res.sessions) as session:
        done["unknown"] = await sweep_db.stale_sending(session, now, settings.claim_lease)
    done["reconciled"], done["lost"] = await _settle_overdue(res, now)
    done["network_paused"] = await _pause_network_spikes(res, now)
    async with write_transaction(res.sessions) as session:
        done["expired"] = len(await sweep_db.expire_ended(session, now))
    async with write_transaction(res.sessions) as session:
        done["completed"] = len(await sweep_db.complete_finished(session, now))
    async with write_transaction(res.sessions) as session:
        done["closed"] = await sweep_db.close_orphans(session, now)
    return done


async def retry_events(ctx: dict[str, Any]) -> int:
    """Re-apply stored events whose applying failed; how many were applied now."""
    res = from_ctx(ctx)
    applied = await inbox.retry_failed(
        res.sessions, res.writes.run, base=res.policy, now=res.clock()
    )
    await _after_applying(res, applied)
    return len(applied)


async def _settle_overdue(res: WorkerResources, now: datetime) -> tuple[int, int]:
    """Overdue calls: reconciled from MTT's call history when it is configured, else lost."""
    async with res.sessions() as session:
        late = await sweep_db.overdue(session, now, res.settings.final_event_timeout)
    if not late:
        return 0, 0
    reconciled = await _reconcile(res, late, now) if res.rpc is not None else set()
    rest = [item.attempt_id for item in late if item.attempt_id not in reconciled]
    async with write_transaction(res.sessions) as session:
        lost = await sweep_db.lose(session, rest, base=res.policy, now=now)
    await res.release_leases(lost)
    return len(reconciled), len(lost)


async def _pause_network_spikes(res: WorkerResources, now: datetime) -> int:
    """Campaigns in a spike of network failures are paused (campaigns.spikes), each by one
    sweeper: the read takes no write lock, and each pause is its own compare-and-set."""
    rule = SpikeRule.of(res.settings)
    async with res.sessions() as session:
        found = await sweep_db.network_spikes(session, now, rule, res.policy.categories)
    paused = 0
    for spiked in found:
        async with write_transaction(res.sessions) as session:
            if not await sweep_db.pause_spiked(session, spiked, now):
                continue
        paused += 1
        log.warning(
            "campaign %d paused by a network spike: %s", spiked.campaign_id, spiked.spike.reason
        )
    return paused


async def _reconcile(res: WorkerResources, late: Sequence[Overdue], now: datetime) -> set[int]:
    """Apply each call's disconnect cause from getCallHistory as its `h` event, through the
    inbox (a real `h` arriving later is then a duplicate); the attempt ids settled so."""
    assert res.rpc is not None  # noqa: S101 - the caller checked
    since = min(item.sent_at for item in late) - HISTORY_MARGIN
    try:
        history = await res.rpc.get_call_history(res.settings.sip_id, since, now)
    except MttRpcError as error:
        log.warning("getCallHistory failed, overdue calls are lost: %s", error)
        return set()
    records = [*history.dialed, *history.missed]
    by_call = {r.call_id.lower(): r for r in records if r.call_id}
    by_mess = {r.mess_id: r for r in records if r.mess_id}
    deliveries = []
    for item in late:
        record = (by_call.get(item.call_id.lower()) if item.call_id else None) or by_mess.get(
            str(item.attempt_id)
        )
        if record is not None and record.disconnect_cause is not None:
            deliveries.append(inbox.reconciled(_hangup_fields(item, record), now))
    if not deliveries:
        return set()
    stored = await inbox.store(res.writes.run, deliveries, base=res.policy, now=now)
    applied = [a for r in stored.receipts if isinstance(r, inbox.Receipt) for a in r.applied]
    await after_commit(
        res.concurrency, res.redis, leases=inbox.leases_of(applied), callbacks=stored.callbacks
    )
    return {a.attempt_id for a in applied}


async def _after_applying(res: WorkerResources, applied: Sequence[AppliedEvent]) -> None:
    """What the collector does after its commit: free the leases, tell the CRM."""
    recorded = await callbacks.notify_applied(res.sessions, applied, now=res.clock())
    await after_commit(
        res.concurrency, res.redis, leases=inbox.leases_of(applied), callbacks=recorded
    )


def _hangup_fields(item: Overdue, record: CallRecord) -> dict[str, str]:
    """The `h` event MTT would have sent, in its IVR JSON form, marked as reconciled."""
    fields = {
        "id": str(item.attempt_id),
        "CallID": item.call_id or record.call_id or "",
        "event": f"h_{item.phone}_{record.disconnect_cause}_{record.duration}",
        "source": "getCallHistory",
    }
    return {k: v for k, v in fields.items() if v}
