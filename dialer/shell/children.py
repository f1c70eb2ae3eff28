"""Child processes of `dialer up`: started with a wired environment, logged to a file, stopped
in order.

Each child gets its own session, so a Ctrl-C at the terminal reaches only `dialer up`, which
then stops the children one by one (the worker before the API it reports to). On Linux a child
also dies with its parent, so even a killed `dialer up` leaves nothing behind.
"""

from __future__ import annotations

import ctypes
import signal
import subprocess
import sys
import time
from collections import deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx

PR_SET_PDEATHSIG = 1
LOG_TAIL_LINES = 25
POLL_SECONDS = 0.1


def dialer_command(*args: str) -> list[str]:
    """`dialer ARGS` run by this interpreter, whether or not the console script is on PATH."""
    return [sys.executable, "-c", "from dialer.shell.cli import main; main()", *args]


def die_with_parent() -> None:
    """A `preexec_fn` (Linux): the child gets SIGTERM when the process that started it dies."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Child:
    """One supervised process whose output goes to `log`."""

    name: str
    command: Sequence[str]
    log: Path
    stop_timeout: float
    _process: subprocess.Popen[bytes] | None = field(default=None, init=False, repr=False)

    def start(self, env: Mapping[str, str], cwd: Path) -> Child:
        self.log.parent.mkdir(parents=True, exist_ok=True)
        with self.log.open("ab") as output:
            self._process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                list(self.command),
                env=dict(env),
                cwd=cwd,
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent if sys.platform == "linux" else None,
            )
        return self

    def exit_code(self) -> int | None:
        """None while it runs (or was never started)."""
        return None if self._process is None else self._process.poll()

    def wait_exit(self, timeout: float, stopping: Callable[[], bool]) -> int:
        """Wait for a one-shot child; it is killed when it overruns or a stop comes."""
        deadline = time.monotonic() + timeout
        while (code := self.exit_code()) is None:
            if stopping():
                self.stop()
                raise Interrupted(self.name)
            if time.monotonic() > deadline:
                self.kill()
                raise TimeoutError(f"{self.name} did not finish within {timeout:.0f} s")
            time.sleep(POLL_SECONDS)
        return code

    def stop(self, hurry: Callable[[], bool] = lambda: False) -> None:
        """SIGTERM, then SIGKILL after `stop_timeout` or as soon as `hurry()`; returns once the
        process is gone."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.stop_timeout
        while process.poll() is None:
            if hurry() or time.monotonic() > deadline:
                self.kill()
                return
            time.sleep(POLL_SECONDS)

    def kill(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()
            self._process.wait()

    def tail(self, lines: int = LOG_TAIL_LINES) -> str:
        try:
            with self.log.open(encoding="utf-8", errors="replace") as handle:
                return "".join(deque(handle, maxlen=lines))
        except FileNotFoundError:
            return ""


class ChildExited(RuntimeError):
    def __init__(self, child: Child, code: int) -> None:
        super().__init__(f"{child.name} exited with code {code}")
        self.child = child
        self.code = code


class Interrupted(RuntimeError):
    """A stop was requested while waiting for a child to come up."""


def wait_healthy(child: Child, url: str, *, timeout: float, stopping: Callable[[], bool]) -> None:
    """Poll `url` until it answers 2xx; fails when the child exits, a stop comes or time is up."""
    deadline = time.monotonic() + timeout
    with httpx.Client(timeout=2.0) as http:
        while time.monotonic() < deadline:
            code = child.exit_code()
            if code is not None:
                raise ChildExited(child, code)
            if stopping():
                raise Interrupted(child.name)
            try:
                if http.get(url).is_success:
                    return
            except httpx.TransportError:
                pass
            time.sleep(POLL_SECONDS)
    raise TimeoutError(f"{child.name} did not answer {url} within {timeout:.0f} s")
