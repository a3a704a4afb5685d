"""A helper daemon of the VM's (swtpm, virtiofsd): started on the record, then waited for until it listens.

The record is written before the daemon exists and completed with its pid once it runs, so a
vmrun killed at any moment leaves nothing `gc` cannot find (vmrun/net/hostobj.py).
"""

from __future__ import annotations

import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from vmrun import proc, signals
from vmrun.errors import LaunchError
from vmrun.net.base import PrepareContext

START_TIMEOUT = 5.0


def start(
    ctx: PrepareContext,
    argv: list[str],
    log: Path,
    sock: Path,
    *,
    record: Callable[[int | None, int | None], Any],
    preexec: Callable[[], None] | None = None,
) -> None:
    """Run ``argv`` detached (files it makes 0600), recorded as ``record(pid, start)``, until it listens on ``sock``."""
    what = Path(argv[0]).name
    placeholder = ctx.made(record(None, None))
    with signals.deferred():  # its pid on record as soon as it runs
        try:
            process = proc.spawn_detached(argv, log, umask=0o177, preexec=preexec)
        except (OSError, subprocess.SubprocessError) as e:  # SubprocessError: ``preexec`` failed in the child
            why = getattr(e, "strerror", None) or "its set-up before it ran failed"
            raise LaunchError(f"cannot run {argv[0]}: {why}", argv=argv) from None
        ctx.recorder.replace(placeholder, record(process.pid, proc.start_time(process.pid)))
    deadline = time.monotonic() + START_TIMEOUT
    while not proc.listening(sock):
        if process.poll() is not None:
            raise LaunchError(
                f"{what} exited at start (status {process.returncode})",
                argv=argv,
                exit_code=process.returncode,
                output_tail=_tail(log),
            )
        if time.monotonic() >= deadline:
            raise LaunchError(f"{what} did not listen on {sock} within {START_TIMEOUT:.0f} s", output_tail=_tail(log))
        time.sleep(0.01)


def _tail(log: Path) -> str:
    try:
        return log.read_text(errors="replace").strip()[-2000:]
    except OSError:
        return ""
