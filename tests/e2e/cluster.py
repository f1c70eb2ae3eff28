"""The call path as separate processes on loopback, for the e2e tests and bench/pacing.py.

A real redis-server (AOF) and a SQLite file in a temporary directory, `dialer db upgrade`, then
`dialer simulate`, `dialer api` and N × `dialer worker`, all sharing one DIALER_* environment
on free 127.0.0.1 ports. The test process talks to them as a client would: the REST API with a
bearer key, the simulator's `/_sim/*` truth, and read-only queries on the same database file.
Every process is a `dialer.shell.children.Child` that dies with this interpreter, and `stop()` (run
by the context manager) ends them all, so no test leaves one running.
"""

from __future__ import annotations

import json
import os
import secrets
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from types import TracebackType
from typing import Any, TypeVar

import httpx
from sqlalchemy import create_engine, select
from sqlalchemy.orm import Session

from campaigns.tables import Attempt, Contact, Dnc
from dialer.shell.children import Child, dialer_command
from dialer.shell.redis_server import RedisServer, free_port

__all__ = [
    "A_NUMBER",
    "SB_METHOD",
    "SIM_LOGIN",
    "SIP_ID",
    "AttemptRow",
    "Cluster",
    "ContactRow",
    "busiest_second",
    "eventually",
]

A_NUMBER = "74950000000"
SIM_LOGIN = "simulator"
SIP_ID = "70000000000"
SB_METHOD = "metod"
READY_TIMEOUT = 60.0
MIGRATE_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0
POLL_SECONDS = 0.2
WORKER_READY = "worker started:"
"""What workers.settings.on_startup logs once the worker's resources and pacer are up."""
LOG_TAIL = 15
SIM_TIMEOUT = 120.0
"""Seconds to wait for the simulator's truth: a swamped simulator answers late, not never."""

T = TypeVar("T")


@dataclass(frozen=True)
class ContactRow:
    id: int
    phone: str
    status: str
    outcome: str | None
    attempts: int
    network_attempts: int
    dtmf: str


@dataclass(frozen=True)
class AttemptRow:
    id: int
    contact_id: int
    number: str
    state: str
    sent: bool
    cause: int | None
    error: str | None


def eventually(
    probe: Callable[[], T | None], *, timeout: float, what: Callable[[], str] | str
) -> T:
    """Poll `probe` until it returns something other than None; fail naming `what`."""
    deadline = time.monotonic() + timeout
    while True:
        found = probe()
        if found is not None:
            return found
        if time.monotonic() > deadline:
            detail = what() if callable(what) else what
            raise AssertionError(f"not within {timeout:.0f} s: {detail}")
        time.sleep(POLL_SECONDS)


def busiest_second(times: Sequence[float]) -> int:
    """The most events in any window [t, t + 1 s): a sliding window over sorted instants."""
    ordered = sorted(times)
    most, first = 0, 0
    for last, at in enumerate(ordered):
        while ordered[first] <= at - 1.0:
            first += 1
        most = max(most, last - first + 1)
    return most


@dataclass
class Cluster:
    """One deployment of the call path; `with Cluster(...) as cluster:` starts and stops it."""

    workdir: Path
    workers: int = 2
    cps: float = 100.0
    max_concurrent: int = 200
    rules: Mapping[str, Any] = field(default_factory=dict)
    """The simulator's forced outcomes (`dialer simulate --rules`)."""
    time_factor: float = 0.02
    settings: Mapping[str, str] = field(default_factory=dict)
    """More DIALER_* variables (without the prefix), over the defaults below."""
    simulator_args: Sequence[str] = ()
    redis: RedisServer = field(init=False)
    worker_children: list[Child] = field(default_factory=list, init=False)
    _children: list[Child] = field(default_factory=list, init=False)
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(16), init=False)
    sim_password: str = field(default_factory=lambda: secrets.token_urlsafe(16), init=False)
    _webhook_token: str = field(default_factory=lambda: secrets.token_urlsafe(16), init=False)
    api_port: int = field(default_factory=free_port, init=False)
    sim_port: int = field(default_factory=free_port, init=False)

    def __post_init__(self) -> None:
        self.redis = RedisServer(self.data_dir / "redis")

    @property
    def data_dir(self) -> Path:
        return self.workdir / "var"

    @property
    def logs(self) -> Path:
        return self.workdir / "logs"

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    @property
    def database_file(self) -> Path:
        return self.data_dir / "dialer.db"

    def __enter__(self) -> Cluster:
        try:
            return self.start()
        except BaseException:
            self.stop()
            raise

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def environment(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("DIALER_")}
        values = {
            "DATA_DIR": str(self.data_dir),
            "DATABASE_URL": f"sqlite+aiosqlite:///{self.database_file}",
            "REDIS_URL": self.redis.url,
            "HOST": "127.0.0.1",
            "PORT": str(self.api_port),
            "PUBLIC_URL": self.api_url,
            "WEBHOOK_TOKEN": self._webhook_token,
            "API_KEYS": self.api_key,
            "SB_LOGIN": SIM_LOGIN,
            "SB_PASSWORD": self.sim_password,
            "SB_METHOD": SB_METHOD,
            "SIP_ID": SIP_ID,
            "SB_API_URL": f"{self.sim_url}/v1/sb",
            "MTT_RPC_URL": f"{self.sim_url}/rpc",
            "A_NUMBER": A_NUMBER,
            "CPS": str(self.cps),
            "MAX_CONCURRENT": str(self.max_concurrent),
            "PACE_INTERVAL": "0.1",
            "CLAIM_LEASE": "10",
            "FINAL_EVENT_TIMEOUT": "20",
            "SB_TIMEOUT": "5",
        } | dict(self.settings)
        return env | {"PYTHONUNBUFFERED": "1"} | {f"DIALER_{k}": v for k, v in values.items()}

    def start(self) -> Cluster:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.redis.start()
        env = self.environment()
        rules = self.workdir / "rules.json"
        rules.write_text(json.dumps(self.rules), encoding="utf-8")
        migrate = subprocess.run(  # noqa: S603 - our own interpreter and arguments
            dialer_command("db", "upgrade"),
            env=env,
            cwd=self.workdir,
            capture_output=True,
            text=True,
            timeout=MIGRATE_TIMEOUT,
            check=False,
        )
        assert migrate.returncode == 0, f"dialer db upgrade failed: {migrate.stderr}"
        simulator = self._launch(
            "simulator",
            "simulate", "--host", "127.0.0.1", "--port", str(self.sim_port),
            "--time-factor", str(self.time_factor), "--rules", str(rules),
            *self.simulator_args,
        )  # fmt: skip
        api = self._launch("api", "api")
        self._wait_healthy(simulator, f"{self.sim_url}/healthz")
        self._wait_healthy(api, f"{self.api_url}/healthz")
        for child in [self.start_worker(wait=False) for _ in range(self.workers)]:
            self._wait_worker(child)
        return self

    def start_worker(self, *, wait: bool = True) -> Child:
        child = self._launch(f"worker{len(self.worker_children)}", "worker")
        self.worker_children.append(child)
        if wait:
            self._wait_worker(child)
        return child

    def _wait_worker(self, child: Child) -> None:
        """Until its on_startup has run (it logs WORKER_READY): it paces and takes jobs."""

        def probe() -> bool | None:
            code = child.exit_code()
            assert code is None, f"{child.name} exited with {code}: {child.tail()}"
            return True if WORKER_READY in child.log.read_text(errors="replace") else None

        eventually(probe, timeout=READY_TIMEOUT, what=f"{child.name} starting")

    def _launch(self, name: str, *args: str) -> Child:
        child = Child(name, dialer_command(*args), self.logs / f"{name}.log", STOP_TIMEOUT)
        self._children.append(child.start(self.environment(), self.workdir))
        return child

    def _wait_healthy(self, child: Child, url: str) -> None:
        def probe() -> bool | None:
            code = child.exit_code()
            assert code is None, f"{child.name} exited with {code}: {child.tail()}"
            try:
                return True if httpx.get(url, timeout=2).is_success else None
            except httpx.TransportError:
                return None

        eventually(probe, timeout=READY_TIMEOUT, what=f"{child.name} answering {url}")

    def stop(self) -> None:
        """Workers first (they report to the API), then the API, the simulator, Redis."""
        for child in reversed(self._children):
            child.stop()
        self._children.clear()
        self.redis.stop()

    def kill_worker(self, index: int) -> None:
        """SIGKILL: no cleanup of any kind, as a crash or the OOM killer would leave it."""
        self.worker_children[index].kill()

    def crash_redis(self) -> None:
        """SIGKILL the server; its AOF (fsync every second) is what a restart finds."""
        self.redis.stop(kill=True)

    def restart_redis(self) -> None:
        """On the same port and data directory, so every client reconnects to it."""
        self.redis.start()

    def diagnose(self) -> str:
        """The ends of the process logs, for assertion messages."""
        parts = [f"--- {c.name} ---\n{c.tail(LOG_TAIL)}" for c in self._children]
        return "\n".join(parts)

    def alive(self) -> list[str]:
        """Names of the started processes still running."""
        return [child.name for child in self._children if child.exit_code() is None]

    # ---- the REST API

    @contextmanager
    def client(self) -> Iterator[httpx.Client]:
        headers = {"Authorization": f"Bearer {self.api_key}"}
        with httpx.Client(base_url=self.api_url, headers=headers, timeout=30) as client:
            yield client

    def create_campaign(self, body: Mapping[str, Any], *, start: bool = True) -> int:
        with self.client() as client:
            answer = client.post("/v1/campaigns", json=dict(body))
            assert answer.status_code == 201, answer.text
            campaign_id: int = answer.json()["id"]
            if start:
                client.post(f"/v1/campaigns/{campaign_id}/start").raise_for_status()
        return campaign_id

    def campaign(self, campaign_id: int) -> dict[str, Any]:
        with self.client() as client:
            found: dict[str, Any] = (
                client.get(f"/v1/campaigns/{campaign_id}").raise_for_status().json()
            )
        return found

    def wait_completed(self, campaign_id: int, timeout: float) -> dict[str, Any]:
        last: dict[str, Any] = {}

        def probe() -> dict[str, Any] | None:
            nonlocal last
            last = self.campaign(campaign_id)
            return last if last["status"] == "completed" else None

        return eventually(
            probe,
            timeout=timeout,
            what=lambda: (
                f"campaign {campaign_id} completed; last {last.get('stats')}\n" + self.diagnose()
            ),
        )

    def dnc_sources(self) -> dict[str, str]:
        with self.database() as session:
            return {row.phone: row.source for row in session.scalars(select(Dnc))}

    # ---- the simulator's truth

    def sim_calls(self) -> list[dict[str, Any]]:
        answer = httpx.get(f"{self.sim_url}/_sim/calls", timeout=SIM_TIMEOUT).raise_for_status()
        calls: list[dict[str, Any]] = answer.json()["calls"]
        return calls

    def sim_requests_per_mess_id(self) -> Counter[str]:
        answer = httpx.get(f"{self.sim_url}/_sim/calls", timeout=SIM_TIMEOUT).raise_for_status()
        return Counter(answer.json()["requests_per_mess_id"])

    def sim_request_times(self) -> list[float]:
        """When each POST /v1/sb arrived, as POSIX seconds."""
        answer = httpx.get(f"{self.sim_url}/_sim/requests", timeout=SIM_TIMEOUT).raise_for_status()
        return [
            datetime.fromisoformat(entry["received_at"]).timestamp()
            for entry in answer.json()["requests"]
        ]

    def sim_stats(self) -> dict[str, Any]:
        answer = httpx.get(f"{self.sim_url}/_sim/stats", timeout=SIM_TIMEOUT).raise_for_status()
        stats: dict[str, Any] = answer.json()
        return stats

    def sim_idle(self, wait: float = 20.0) -> bool:
        answer = httpx.post(
            f"{self.sim_url}/_sim/idle", params={"wait": wait}, timeout=wait + 10
        ).raise_for_status()
        return bool(answer.json()["idle"])

    # ---- the database, read-only, through the stdlib driver

    @contextmanager
    def database(self) -> Iterator[Session]:
        engine = create_engine(f"sqlite:///file:{self.database_file}?mode=ro&uri=true")
        try:
            with Session(engine) as session:
                yield session
        finally:
            engine.dispose()

    def contacts(self, campaign_id: int) -> list[ContactRow]:
        with self.database() as session:
            rows = session.scalars(
                select(Contact).where(Contact.campaign_id == campaign_id).order_by(Contact.id)
            )
            return [
                ContactRow(
                    c.id, c.phone, c.status, c.outcome, c.attempts, c.network_attempts, c.dtmf
                )
                for c in rows
            ]

    def attempts(self, campaign_id: int) -> list[AttemptRow]:
        with self.database() as session:
            rows = session.scalars(
                select(Attempt).where(Attempt.campaign_id == campaign_id).order_by(Attempt.id)
            )
            return [
                AttemptRow(
                    a.id, a.contact_id, a.phone, a.state, a.sent_at is not None, a.cause, a.error
                )
                for a in rows
            ]
