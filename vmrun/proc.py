"""Processes vmrun leaves running (QEMU, passt): started detached, and later told apart from pid reuse."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
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


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0")[:-1]]
    except OSError:
        return []


def owner(pid: int) -> int | None:
    try:
        return os.stat(f"/proc/{pid}").st_uid
    except OSError:
        return None


def has_args(argv: Sequence[str], pair: tuple[str, ...]) -> bool:
    """``pair`` stands in ``argv`` as adjacent arguments (``-pidfile``, ``RUN/qemu.pid``), or as the one it holds."""
    n = len(pair)
    return any(tuple(argv[i : i + n]) == pair for i in range(len(argv) - n + 1))


def ours(pid: int, started: int | None, pair: tuple[str, ...]) -> bool:
    """Is ``pid`` provably the process vmrun started: alive, same start time (if known),
    run by the invoking user, and started with ``pair`` (a path in the VM's own run folder)?

    A pid someone wrote into a file, or a pid reused by another program, fails at least one.
    """
    return alive(pid, started) and owner(pid) == os.geteuid() and has_args(cmdline(pid), pair)


def find(pair: tuple[str, ...]) -> int | None:
    """The live process of ours started with ``pair``, if any: how a QEMU whose state was lost is found again."""
    me = os.getpid()
    for entry in os.listdir("/proc"):
        if entry.isdigit() and int(entry) != me and ours(int(entry), None, pair):
            return int(entry)
    return None


def wait_gone(pid: int, started: int | None, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while alive(pid, started):
        if time.monotonic() >= deadline:
            return False
        reap(pid)
        time.sleep(0.05)
    reap(pid)
    return True


def kill(pid: int, started: int | None, sig: int = signal.SIGKILL) -> None:
    if alive(pid, started):
        try:
            os.kill(pid, sig)
        except ProcessLookupError:
            pass


def reap(pid: int) -> None:
    """Collect the exit status when the process is our own child (QEMU under ``--foreground``, a
    helper this vmrun started); else a no-op. PID 1 here may never reap what it inherits."""
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def spawn_detached(
    argv: Sequence[str],
    log: Path,
    *,
    pass_fds: Sequence[int] = (),
    umask: int = -1,
    preexec: Callable[[], None] | None = None,
) -> subprocess.Popen[bytes]:
    """Start a process that outlives vmrun, its output appended to ``log`` (0600). Raises OSError.

    A new session: the terminal's Ctrl-C reaches vmrun, which shuts things down
    properly, instead of killing them mid-write.
    """
    fd = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=fd,
            stderr=fd,
            start_new_session=True,
            pass_fds=tuple(pass_fds),
            umask=umask,
            preexec_fn=preexec,  # noqa: PLW1509 (vmrun runs no threads)
        )
    finally:
        os.close(fd)


def listening(sock: Path) -> bool:
    """Is a listening unix socket bound at ``sock``? (/proc/net/unix: flag 0x10000 is __SO_ACCEPTCON)."""
    wanted = str(sock)
    try:
        with open("/proc/net/unix") as f:
            next(f)
            for line in f:
                fields = line.split()
                if len(fields) >= 8 and fields[7] == wanted and int(fields[3], 16) & 0x10000:
                    return True
    except OSError:
        return os.path.exists(sock)
    return False
