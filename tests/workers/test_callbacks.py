"""CRM callback delivery against a real loopback receiver: signatures, retries, final failure,
job slots kept free for dialing, one callback per outcome through duplicated webhooks, and
hosts that are not public refused after resolution (pinned, TLS checked for the URL's name)."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from arq import create_pool
from arq.connections import ArqRedis, RedisSettings
from arq.worker import Retry, Worker, func
from fastapi import FastAPI
from pydantic import SecretStr
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.app import create_app
from campaigns import callbacks
from campaigns.apply import AppliedEvent
from campaigns.db import write_transaction
from campaigns.jobs import DELIVER_CALLBACK, callback_job_id
from campaigns.signing import SIGNATURE_HEADER, verify
from campaigns.stats import campaign_stats
from campaigns.tables import Attempt, Callback, Campaign
from dialer.settings import Settings
from dialer.shell.redis_server import RedisServer
from tests.dialer.telecom.sbapi_server import LoopbackServer, Reply
from tests.factories import T0, insert_call
from tests.loopback_http import serving
from tests.workers.support import settings_for
from workers import callbacks as jobs
from workers.resources import RESOURCES, WorkerResources, close_resources, open_resources

Sessions = async_sessionmaker[AsyncSession]
GLOBAL_SECRET = "global-callback-secret"
WEBHOOK_TOKEN = "hook-token-for-callbacks"
PHONE = "79101234567"


@pytest.fixture
def settings(db_url: str, redis_server: RedisServer, data_dir: Path) -> Settings:
    return settings_for(
        None,
        db_url,
        redis_server.url,
        data_dir=data_dir,
        webhook_token=SecretStr(WEBHOOK_TOKEN),
        crm_callback_secret=SecretStr(GLOBAL_SECRET),
        callback_allow_private=True,  # the CRM is a loopback receiver
    )


@pytest.fixture
async def arq_pool(settings: Settings, redis_client: Any) -> AsyncIterator[ArqRedis]:
    pool = await create_pool(RedisSettings.from_dsn(settings.redis_url))
    yield pool
    await pool.aclose()


@pytest.fixture
async def ctx(settings: Settings, arq_pool: ArqRedis) -> AsyncIterator[dict[str, Any]]:
    """arq's ctx as the worker's on_startup leaves it."""
    resources = await open_resources(settings, arq_pool)
    yield {RESOURCES: resources, "redis": arq_pool}
    await close_resources(resources)


@pytest.fixture
async def crm() -> AsyncIterator[LoopbackServer]:
    async with LoopbackServer() as server:
        yield server


def crm_url(server: LoopbackServer) -> str:
    return f"http://127.0.0.1:{server.port}/crm/hook"


async def pending_callback(
    sessions: Sessions, url: str, *, secret: str | None = None, phone: str = PHONE
) -> int:
    """A listened call of a campaign with a callback URL, its outcome callback recorded."""
    call = await insert_call(
        sessions,
        campaign={"crm_callback_url": url, "crm_callback_secret": secret},
        contact={"phone": phone, "status": "done", "outcome": "listened", "attempts": 1},
        state="finished",
    )
    event = AppliedEvent(call.id, call.campaign_id, call.contact_id, "listened", None, True)
    async with write_transaction(sessions) as session:
        (callback_id,) = await session.run_sync(callbacks.record_applied, [event], now=T0)
    return callback_id


def signed(body: bytes, secret: str, header: str) -> bool:
    """What a receiver checks now: the signature is fresh and made with `secret`."""
    return verify(body, secret, header, now=time.time())


async def callback_row(sessions: Sessions, callback_id: int) -> Callback:
    async with sessions() as session:
        return await session.get_one(Callback, callback_id)


async def test_a_delivery_is_signed_with_the_global_secret(
    ctx: dict[str, Any], sessions: Sessions, crm: LoopbackServer
) -> None:
    callback_id = await pending_callback(sessions, crm_url(crm))
    assert await jobs.deliver_callback(ctx, callback_id) == "sent"
    (request,) = crm.requests
    assert (request.method, request.path) == ("POST", "/crm/hook")
    assert request.headers["content-type"] == "application/json"
    signature = request.headers[SIGNATURE_HEADER.lower()]
    assert signed(request.body, GLOBAL_SECRET, signature)
    assert request.json()["outcome"] == "listened"
    row = await callback_row(sessions, callback_id)
    assert (row.status, row.tries, row.last_error) == ("sent", 1, None)
    assert await jobs.deliver_callback(ctx, callback_id) == "not pending"
    assert len(crm.requests) == 1


async def test_the_campaign_secret_wins(
    ctx: dict[str, Any], sessions: Sessions, crm: LoopbackServer
) -> None:
    callback_id = await pending_callback(sessions, crm_url(crm), secret="campaign-key")
    await jobs.deliver_callback(ctx, callback_id)
    (request,) = crm.requests
    signature = request.headers[SIGNATURE_HEADER.lower()]
    assert signed(request.body, "campaign-key", signature)
    assert not signed(request.body, GLOBAL_SECRET, signature)


async def test_each_try_signs_the_time_it_is_made(
    ctx: dict[str, Any], sessions: Sessions, crm: LoopbackServer
) -> None:
    resources: WorkerResources = ctx[RESOURCES]
    resources.clock = lambda: T0
    callback_id = await pending_callback(sessions, crm_url(crm))
    await jobs.deliver_callback(ctx, callback_id)
    (request,) = crm.requests
    signature = request.headers[SIGNATURE_HEADER.lower()]
    assert signature.startswith(f"t={int(T0.timestamp())},v1=")
    assert verify(request.body, GLOBAL_SECRET, signature, now=T0.timestamp())
    assert not verify(request.body, GLOBAL_SECRET, signature, now=T0.timestamp() + 301)


@pytest.fixture
async def strict_ctx(settings: Settings, arq_pool: ArqRedis) -> AsyncIterator[dict[str, Any]]:
    """arq's ctx of a worker with the default setting: callbacks to public hosts only."""
    strict = settings.model_copy(update={"callback_allow_private": False})
    resources = await open_resources(strict, arq_pool)
    yield {RESOURCES: resources, "redis": arq_pool}
    await close_resources(resources)


@pytest.mark.parametrize(
    "host",
    ["localhost", "127.0.0.1", "2130706433", "0x7f.1", "127.1", "[::ffff:127.0.0.1]"],
)
async def test_a_host_that_resolves_to_loopback_is_refused_at_delivery(
    strict_ctx: dict[str, Any], sessions: Sessions, crm: LoopbackServer, host: str
) -> None:
    """Written before the setting was turned off, or a name that resolves to loopback: the
    receiver is up, but nothing is sent, and the callback fails at once with the reason."""
    callback_id = await pending_callback(sessions, f"http://{host}:{crm.port}/crm/hook")
    result = await jobs.deliver_callback(strict_ctx, callback_id)
    assert result.startswith("failed after 1 tries: refused: ")
    assert "127.0.0.1" in result
    assert "not a public address" in result
    assert crm.requests == []
    row = await callback_row(sessions, callback_id)
    assert (row.status, row.tries, row.last_error) == ("failed", 1, result.split(": ", 1)[1])
    async with sessions() as session:
        assert (await campaign_stats(session, row.campaign_id)).callbacks_failed == 1


async def test_allowed_private_hosts_get_the_callback_with_their_own_host_header(
    ctx: dict[str, Any], sessions: Sessions, crm: LoopbackServer
) -> None:
    """The connection goes to the address resolved and judged; the Host stays the URL's."""
    callback_id = await pending_callback(sessions, f"http://localhost:{crm.port}/crm/hook")
    assert await jobs.deliver_callback(ctx, callback_id) == "sent"
    (request,) = crm.requests
    assert request.headers["host"] == f"localhost:{crm.port}"
    assert request.headers["connection"] == "close"


@pytest.fixture
def localhost_tls(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> ssl.SSLContext:
    """A server context whose self-signed certificate names `localhost` only (no address),
    trusted by the clients built after this (SSL_CERT_FILE)."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(  # noqa: S603 - fixed arguments
        [
            *("openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256"),
            *("-nodes", "-days", "1", "-subj", "/CN=localhost"),
            *("-addext", "subjectAltName=DNS:localhost", "-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return context


async def test_a_pinned_https_delivery_checks_the_certificate_of_the_urls_name(
    settings: Settings, arq_pool: ArqRedis, sessions: Sessions, localhost_tls: ssl.SSLContext
) -> None:
    """The connection goes to the address resolved, the TLS server name stays `localhost`
    (a certificate for the name alone is accepted), and it is closed after the try."""
    async with serving(localhost_tls) as server:
        port = httpx.URL(server.url).port
        callback_id = await pending_callback(sessions, f"https://localhost:{port}/crm/hook")
        resources = await open_resources(settings, arq_pool)
        try:
            assert await jobs.deliver_callback({RESOURCES: resources}, callback_id) == "sent"
            await server.closed_down_to(0)
        finally:
            await close_resources(resources)
    assert len(server.bodies) == 1


async def test_failures_are_retried_with_growing_delays(
    ctx: dict[str, Any], sessions: Sessions
) -> None:
    server = LoopbackServer([Reply(500), Reply(503), Reply(204)])
    async with server:
        callback_id = await pending_callback(sessions, crm_url(server))
        delays = []
        for _ in range(2):
            with pytest.raises(Retry) as retry:
                await jobs.deliver_callback(ctx, callback_id)
            delays.append(retry.value.defer_score)
            assert (await callback_row(sessions, callback_id)).last_error in (
                "HTTP 500",
                "HTTP 503",
            )
        assert await jobs.deliver_callback(ctx, callback_id) == "sent"
    assert delays == [round(s * 1000) for s in callbacks.BACKOFF[:2]]
    row = await callback_row(sessions, callback_id)
    assert (row.status, row.tries) == ("sent", 3)
    bodies = {request.body for request in server.requests}
    assert len(server.requests) == 3
    assert len(bodies) == 1


async def test_a_crm_that_keeps_failing_is_recorded_and_shown_in_stats(
    ctx: dict[str, Any], sessions: Sessions
) -> None:
    server = LoopbackServer(default=Reply(500))
    async with server:
        callback_id = await pending_callback(sessions, crm_url(server))
        for _ in range(callbacks.MAX_TRIES - 1):
            with pytest.raises(Retry):
                await jobs.deliver_callback(ctx, callback_id)
        result = await jobs.deliver_callback(ctx, callback_id)
    assert result == f"failed after {callbacks.MAX_TRIES} tries: HTTP 500"
    row = await callback_row(sessions, callback_id)
    assert (row.status, row.tries) == ("failed", callbacks.MAX_TRIES)
    async with sessions() as session:
        stats = await campaign_stats(session, row.campaign_id)
    assert stats.callbacks_failed == 1
    assert len(server.requests) == callbacks.MAX_TRIES


async def test_a_receiver_that_is_not_there_counts_as_a_failed_try(
    ctx: dict[str, Any], sessions: Sessions
) -> None:
    server = LoopbackServer()  # bound, never listening: connection refused
    callback_id = await pending_callback(sessions, crm_url(server))
    with pytest.raises(Retry):
        await jobs.deliver_callback(ctx, callback_id)
    await server.stop()
    row = await callback_row(sessions, callback_id)
    assert row.tries == 1
    assert row.last_error is not None
    assert row.last_error.startswith("ConnectError")


async def test_a_slow_crm_takes_only_its_delivery_slots(
    ctx: dict[str, Any], sessions: Sessions
) -> None:
    """With every slot held by a hanging CRM, one more delivery steps aside at once."""
    server = LoopbackServer(default=Reply(200, delay=30))
    async with server:
        ids = [
            await pending_callback(sessions, crm_url(server), phone=f"7910000000{n}")
            for n in range(jobs.DELIVERY_SLOTS + 1)
        ]
        hanging = [
            asyncio.create_task(jobs.deliver_callback(ctx, i)) for i in ids[: jobs.DELIVERY_SLOTS]
        ]
        for _ in range(500):
            if len(server.requests) == jobs.DELIVERY_SLOTS:
                break
            await asyncio.sleep(0.01)
        started = asyncio.get_running_loop().time()
        with pytest.raises(Retry) as retry:
            await jobs.deliver_callback(ctx, ids[-1])
        assert asyncio.get_running_loop().time() - started < 1
        assert retry.value.defer_score == round(jobs.BUSY_DEFER * 1000)
        assert (await callback_row(sessions, ids[-1])).tries == 0
        for task in hanging:
            task.cancel()
        await asyncio.gather(*hanging, return_exceptions=True)


async def test_the_sweep_reports_outcomes_settled_elsewhere_and_requeues(
    ctx: dict[str, Any], sessions: Sessions, arq_pool: ArqRedis
) -> None:
    """A dial-side settlement (dnc) has no callback yet; an old pending one lost its job."""
    settled = await insert_call(
        sessions,
        campaign={"crm_callback_url": "https://crm.example/hook"},
        contact={"status": "done", "outcome": "dnc", "phone": "79100000001"},
        state="rejected",
    )
    lost = await pending_callback(sessions, "https://crm.example/hook")
    resources: WorkerResources = ctx[RESOURCES]
    resources.clock = lambda: T0 + jobs.STALE_AFTER * 2
    result = await jobs.sweep_callbacks(ctx)
    assert result == {"recorded": 1, "requeued": 1}
    async with sessions() as session:
        keys = set((await session.scalars(select(Callback.dedup_key))).all())
    assert f"outcome:{settled.contact_id}" in keys
    queued = {job.job_id for job in await arq_pool.queued_jobs()}
    assert callback_job_id(lost) in queued
    assert len(queued) == 2


@pytest.fixture
async def api(settings: Settings, redis_client: Any) -> AsyncIterator[FastAPI]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def run_worker(ctx: dict[str, Any]) -> None:
    """A real arq worker in burst mode: runs the queue, deferred retries included, until empty.
    It uses the test's pool, which the fixture closes (arq's own close is deprecated redis)."""
    worker = Worker(
        functions=[
            func(jobs.deliver_callback, name=DELIVER_CALLBACK, max_tries=jobs.ARQ_MAX_TRIES)
        ],
        redis_pool=ctx["redis"],
        ctx=dict(ctx),
        burst=True,
        poll_delay=0.01,
        handle_signals=False,
    )
    await asyncio.wait_for(worker.main(), 30)


async def test_duplicated_webhooks_make_one_callback_delivered_after_failures(
    api: FastAPI,
    ctx: dict[str, Any],
    sessions: Sessions,
    settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The whole way: webhooks into the collector (each twice), the worker's jobs, the CRM."""
    monkeypatch.setattr(callbacks, "BACKOFF", (0.05, 0.05))
    server = LoopbackServer([Reply(500), Reply(502)])
    async with server:
        call = await insert_call(
            sessions,
            campaign={
                "crm_callback_url": crm_url(server),
                "dtmf": [{"digit": 9, "action": "opt_out"}],
            },
            contact={"phone": PHONE},
        )
        transport = httpx.ASGITransport(app=api)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
            for body in (
                f"id={call.id}&event=n_{PHONE}&dtmf=9",
                f"id={call.id}&event=h_{PHONE}_16_12",
            ):
                for _ in range(2):
                    response = await client.post(f"/webhooks/mtt/{WEBHOOK_TOKEN}", content=body)
                    assert response.status_code == 200
        await run_worker(ctx)
    delivered = [request.json() for request in server.requests]
    assert len(delivered) == 4  # two failures, then the choice and the outcome once each
    assert sorted(p["type"] for p in delivered[2:]) == ["dtmf", "outcome"]
    assert {p["key"] for p in delivered} == {
        f"dtmf:{call.id}:9",
        f"outcome:{call.contact_id}",
    }
    for request in server.requests:
        signature = request.headers[SIGNATURE_HEADER.lower()]
        assert signed(request.body, GLOBAL_SECRET, signature)
    async with sessions() as session:
        rows = (await session.scalars(select(Callback).order_by(Callback.id))).all()
        attempt = await session.get_one(Attempt, call.id)
    assert [(row.status, row.dedup_key.split(":")[0]) for row in rows] == [
        ("sent", "dtmf"),
        ("sent", "outcome"),
    ]
    assert sum(row.tries for row in rows) == 4
    assert attempt.state == "finished"


async def test_a_campaign_without_callback_url_records_nothing(
    api: FastAPI, sessions: Sessions
) -> None:
    call = await insert_call(sessions, contact={"phone": PHONE})
    async with sessions() as session:
        assert (await session.get_one(Campaign, call.campaign_id)).crm_callback_url is None
    transport = httpx.ASGITransport(app=api)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        await client.post(
            f"/webhooks/mtt/{WEBHOOK_TOKEN}", content=f"id={call.id}&event=h_{PHONE}_16_12"
        )
    async with sessions() as session:
        assert (await session.scalars(select(Callback))).all() == []
