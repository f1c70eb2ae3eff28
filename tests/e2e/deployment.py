"""A `dialer up` run as a terminal user runs it: its own process group, stopped by Ctrl-C."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from dialer.shell.children import dialer_command, die_with_parent
from dialer.shell.redis_server import free_port

START_TIMEOUT = 90.0
STOP_TIMEOUT = 60.0
TIME_FACTOR = "0.02"


@dataclass
class Deployment:
    """One `dialer up` process group; `start` again after `stop` resumes the same data dir."""

    workdir: Path
    rules: Path
    port: int = 0
    sim_port: int = 0
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    @property
    def data_dir(self) -> Path:
        return self.workdir / "var"

    def api_key(self) -> str:
        stored = json.loads((self.data_dir / "secrets.json").read_text(encoding="utf-8"))
        key: str = stored["api_key"]
        return key

    def start(self) -> None:
        self.port, self.sim_port = free_port(), free_port()
        self.process = self.launch(self.port, self.sim_port, stdout=subprocess.PIPE)
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            assert self.process.poll() is None, self.read_output()
            try:
                if httpx.get(f"{self.url}/healthz", timeout=2).is_success:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail(f"dialer up did not serve {self.url}/healthz in time: {self.read_output()}")

    def launch(self, port: int, sim_port: int, stdout: int) -> subprocess.Popen[str]:
        """A `dialer up` on this data directory, serving the API on `port`."""
        env = {key: value for key, value in os.environ.items() if not key.startswith("DIALER_")}
        env |= {
            "DIALER_PORT": str(port),
            "DIALER_CPS": "200",
            "DIALER_MAX_CONCURRENT": "300",
            "DIALER_PACE_INTERVAL": "0.1",
        }
        command = dialer_command(
            "up",
            "--sim-port", str(sim_port),
            "--sim-time-factor", TIME_FACTOR,
            "--sim-rules", str(self.rules),
        )  # fmt: skip
        return subprocess.Popen(  # noqa: S603 - our own interpreter
            command,
            cwd=self.workdir,
            env=env,
            stdout=stdout,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,  # its own process group, as a terminal gives a command
            preexec_fn=die_with_parent,  # and no orphan when pytest itself is killed
        )

    def family(self) -> set[int]:
        """The pids of `dialer up` and everything below it."""
        assert self.process is not None
        return descendants(self.process.pid)

    def interrupt(self) -> int:
        """Ctrl-C as a terminal sends it: SIGINT to the whole foreground process group."""
        assert self.process is not None
        os.killpg(self.process.pid, signal.SIGINT)
        try:
            return self.process.wait(STOP_TIMEOUT)
        finally:
            self.read_output()

    def read_output(self) -> str:
        """What `dialer up` printed, once it has exited (its pipe is then closed)."""
        process = self.process
        stream = None if process is None else process.stdout
        exited = process is not None and process.poll() is not None
        if exited and stream is not None and not stream.closed:
            self.output.append(stream.read())
            stream.close()
        return "".join(self.output)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()
        self.read_output()


def descendants(pid: int) -> set[int]:
    """`pid` and the processes below it."""
    found, todo = set(), [pid]
    while todo:
        pid = todo.pop()
        found.add(pid)
        children = Path(f"/proc/{pid}/task/{pid}/children")
        if children.exists():
            todo += [int(child) for child in children.read_text().split()]
    return found


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return False
    return state != "Z"


def listening(port: int) -> bool:
    try:
        httpx.get(f"http://127.0.0.1:{port}/", timeout=1)
    except httpx.TransportError:
        return False
    return True


def survivors(pids: set[int], timeout: float) -> set[int]:
    """Those of `pids` still alive once `timeout` has passed, or none as soon as all are gone."""
    deadline = time.monotonic() + timeout
    while (left := {pid for pid in pids if alive(pid)}) and time.monotonic() < deadline:
        time.sleep(0.1)
    return left


def running_service(workdir: Path, rules: dict[str, Any]) -> Iterator[Deployment]:
    """A `dialer up` whose simulator plays `rules`, stopped after use."""
    path = workdir / "rules.json"
    path.write_text(json.dumps(rules), encoding="utf-8")
    deployment = Deployment(workdir, path)
    deployment.start()
    try:
        yield deployment
    finally:
        if deployment.process is not None and deployment.process.poll() is None:
            deployment.interrupt()
        deployment.kill()
