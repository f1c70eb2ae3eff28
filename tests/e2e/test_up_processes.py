"""`dialer up` as processes: nothing outlives it, however it ends, and it keeps its data private.

A killed `dialer up` must not leave its Redis appending to the AOF, a stop must survive a
stdout whose reader is gone (`dialer up | tee`, then Ctrl-C), and a second `dialer up` on the
same data directory is refused while the first runs.
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from dialer.shell.redis_server import free_port
from tests.e2e.deployment import Deployment, descendants, survivors

pytestmark = pytest.mark.slow

GONE_TIMEOUT = 30.0
"""Seconds for the children to stop once `dialer up` is gone (each flushes and exits)."""
REFUSAL_TIMEOUT = 30.0
FAMILY_SIZE = 5


def deployment(workdir: Path) -> Deployment:
    rules = workdir / "rules.json"
    rules.write_text("{}", encoding="utf-8")
    return Deployment(workdir, rules)


@pytest.fixture
def started(tmp_path: Path) -> Iterator[Deployment]:
    running = deployment(tmp_path)
    running.start()
    family = whole_family(running)
    try:
        yield running
    finally:
        kill_all(family)  # what a failed test left behind: it may hold the stdout pipe open
        running.kill()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Deployment]:
    running = deployment(tmp_path_factory.mktemp("up"))
    running.start()
    try:
        yield running
    finally:
        running.interrupt()
        running.kill()


def kill_all(pids: set[int]) -> None:
    for pid in survivors(pids, 0):
        os.kill(pid, signal.SIGKILL)


def whole_family(service: Deployment) -> set[int]:
    """The pids of `dialer up`, Redis, the simulator, the API and the worker, once all run
    (the worker starts after the API answers)."""
    deadline = time.monotonic() + GONE_TIMEOUT
    while len(family := service.family()) < FAMILY_SIZE:
        assert time.monotonic() < deadline, family
        time.sleep(0.1)
    return family


def redis_pid(service: Deployment) -> int:
    for pid in service.family():
        if Path(f"/proc/{pid}/comm").read_text().strip() == "redis-server":
            return pid
    pytest.fail("no redis-server below dialer up")


def test_kill_9_of_the_process_group_leaves_no_process_behind(started: Deployment) -> None:
    assert started.process is not None
    family = whole_family(started)
    redis = redis_pid(started)
    os.killpg(started.process.pid, signal.SIGKILL)
    started.process.wait()
    assert not survivors(family, GONE_TIMEOUT)
    assert not survivors({redis}, 0)


def test_a_stop_after_the_stdout_reader_is_gone_stops_everything(started: Deployment) -> None:
    """`dialer up | tee up.log`, then Ctrl-C: tee dies first."""
    assert started.process is not None
    assert started.process.stdout is not None
    family = whole_family(started)
    redis = redis_pid(started)
    started.process.stdout.close()
    assert started.interrupt() == 0
    assert not survivors(family, GONE_TIMEOUT)
    assert not survivors({redis}, 0)


def test_a_second_up_on_the_data_dir_is_refused_and_the_first_keeps_running(
    shared: Deployment,
) -> None:
    assert shared.process is not None
    second = shared.launch(free_port(), free_port(), stdout=subprocess.PIPE)
    try:
        output, _ = second.communicate(timeout=REFUSAL_TIMEOUT)
    except subprocess.TimeoutExpired:
        kill_all(descendants(second.pid))
        second.communicate()
        pytest.fail("the second dialer up did not refuse to run")
    assert second.returncode == 1
    assert f"another `dialer up` (pid {shared.process.pid}) is running on" in output
    assert str(shared.data_dir) in output
    assert shared.process.poll() is None
    assert httpx.get(f"{shared.url}/healthz", timeout=5).is_success


def test_the_data_dir_is_private(shared: Deployment) -> None:
    """The database holds CRM callback secrets; the logs, AOF and secrets.json no less."""
    modes = {
        str(path.relative_to(shared.data_dir)): stat.S_IMODE(path.stat().st_mode)
        for path in shared.data_dir.rglob("*")
    }
    assert {"dialer.db", "dialer.db-wal", "logs/api.log", "redis/appendonly.aof"} <= set(modes)
    assert stat.S_IMODE(shared.data_dir.stat().st_mode) == 0o700
    expected = {name: 0o700 if (shared.data_dir / name).is_dir() else 0o600 for name in modes}
    assert modes == expected


def test_an_api_key_in_the_query_string_stays_out_of_the_access_log(shared: Deployment) -> None:
    key = shared.api_key()
    headers = {"Authorization": f"Bearer {key}"}
    query = {"limit": "1", "api_key": key, "token": key}
    answer = httpx.get(f"{shared.url}/v1/campaigns", params=query, headers=headers, timeout=10)
    assert answer.is_success
    log = shared.data_dir / "logs" / "api.log"
    deadline = time.monotonic() + 10
    while "/v1/campaigns?" not in (text := log.read_text(encoding="utf-8")):
        assert time.monotonic() < deadline, text
        time.sleep(0.1)
    assert key not in text
    assert '"GET /v1/campaigns?limit=1&api_key=***&token=*** HTTP/1.1" 200' in text
