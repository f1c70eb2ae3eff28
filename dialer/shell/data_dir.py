"""The data directory of `dialer up`: private to its owner, used by one `dialer up` at a time.

It holds the database (with the CRM callback secrets), secrets.json, Redis's AOF and the logs,
so the directory is 0700 and what `up` and its children create in it 0600 (umask 077). Locks are
`flock`s on files in it: the kernel drops them when the last holder exits, however it exits,
so a killed `dialer up` never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

PRIVATE_UMASK = 0o077
"""Files 0600, directories 0700."""
PRIVATE_DIR_MODE = 0o700
UP_LOCK = "up.lock"


class Locked(RuntimeError):
    """Another process holds the lock; `holder` is the pid it wrote, or "?"."""

    def __init__(self, path: Path, holder: str) -> None:
        super().__init__(f"{path} is held by pid {holder}")
        self.path = path
        self.holder = holder


class DataDirBusy(RuntimeError):
    """A second `dialer up` on a data directory that one already runs on."""


@contextmanager
def private_files() -> Iterator[None]:
    """Umask 077 inside, for this process and the children it starts."""
    previous = os.umask(PRIVATE_UMASK)
    try:
        yield
    finally:
        os.umask(previous)


def make_private(data_dir: Path) -> None:
    """Create the directory 0700, or narrow an existing one (earlier versions made it 0755)."""
    data_dir.mkdir(mode=PRIVATE_DIR_MODE, parents=True, exist_ok=True)
    data_dir.chmod(PRIVATE_DIR_MODE)


def take_lock(path: Path) -> int:
    """A descriptor that holds an exclusive `flock` on `path`, or `Locked` at once.

    Whoever inherits the descriptor shares the lock, which lasts until every copy is closed."""
    descriptor = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        holder = os.pread(descriptor, 32, 0).decode("ascii", "replace").strip() or "?"
        os.close(descriptor)
        raise Locked(path, holder) from None
    return descriptor


def name_holder(descriptor: int, pid: int) -> None:
    """Write `pid` into a held lock file, for the message a refused process shows."""
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, f"{pid}\n".encode("ascii"), 0)


def lock_for_up(data_dir: Path) -> int:
    """Hold the data directory for this `dialer up`; close the descriptor to release it."""
    try:
        descriptor = take_lock(data_dir / UP_LOCK)
    except Locked as exc:
        raise DataDirBusy(
            f"another `dialer up` (pid {exc.holder}) is running on {data_dir}: "
            "stop it first, or set DIALER_DATA_DIR to another directory"
        ) from None
    name_holder(descriptor, os.getpid())
    return descriptor
