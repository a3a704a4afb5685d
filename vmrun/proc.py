"""Processes vmrun leaves running (QEMU, passt): started detached, and later told apart from pid reuse."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path


def start_time(pid: int) -> int | None:
    """The process's start time in clock ticks since boot, or None if it is gone or a zombie."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            stat = f.read()
    except OSError:
        return None
    # The command name may hold spaces and parentheses; fields resume after the last ')'.
    rest = stat[stat.rindex(")") + 2 :].split()
    if rest[0] in ("Z", "X"):
        return None
    return int(rest[19])


def alive(pid: int, started: int | None) -> bool:
    now = start_time(pid)
    return now is not None and (started is None or now == started)


def wait_gone(pid: int, started: int | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid, started):
        if time.monotonic() >= deadline:
            return False
        _reap(pid)
        time.sleep(0.05)
    _reap(pid)
    return True


def kill(pid: int, started: int | None, sig: int = signal.SIGKILL) -> None:
    if alive(pid, started):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def _reap(pid: int) -> None:
    """Collect the exit status when QEMU is our own child (``--foreground``); else a no-op."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def spawn_detached(argv: Sequence[str], log: Path, *, pass_fds: Sequence[int] = (), umask: int = -1) -> subprocess.Popen[bytes]:
    """Start a process that outlives vmrun, its output appended to ``log`` (0600). Raises OSError.

    A new session: the terminal's Ctrl-C reaches vmrun, which shuts things down
    properly, instead of killing them mid-write.
    """
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=fd, stderr=fd, start_new_session=True,
                                pass_fds=tuple(pass_fds), umask=umask)  # fmt: skip
    finally:
        os.close(fd)
