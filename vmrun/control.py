"""Running VMs by name: status for `ps`, graceful `down`, and removal of what a run left."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from vmrun import proc
from vmrun.net import hostobj
from vmrun.errors import HostNetError, QmpError, StateError
from vmrun.qmp import Qmp
from vmrun.rundir import RunDir, all_run_dirs

POWERDOWN_REPEAT = 3.0


@dataclass
class VmStatus:
    name: str
    pid: int | None
    alive: bool
    qmp_status: str
    uptime: float | None
    state: dict[str, Any]

    def as_json(self) -> dict[str, Any]:
        s = self.state
        return {
            "name": self.name,
            "pid": self.pid,
            "status": self.qmp_status,
            "uptime_s": round(self.uptime, 1) if self.uptime is not None else None,
            "accel": s.get("accel"),
            "profile": s.get("profile"),
            "nics": s.get("nics", []),
            "forwards": s.get("forwards", []),
            "spice": s.get("spice"),
            "run_dir": str(RunDir.for_vm(self.name).path),
        }


def running(name: str) -> tuple[RunDir, dict[str, Any]]:
    run = RunDir.for_vm(name)
    state = run.read_state() if run.exists() else None
    if state is None:
        raise StateError(f"{name}: not running", hint="vmrun ps lists the VMs vmrun knows")
    return run, state


def status(run: RunDir) -> VmStatus:
    state = run.read_state() or {}
    pid = state.get("pid")
    alive = bool(pid) and proc.alive(pid, state.get("pid_start"))
    qmp_status = "dead"
    if alive:
        try:
            with Qmp(run.qmp, timeout=2.0) as q:
                qmp_status = q.execute("query-status").get("status", "unknown")
        except QmpError:
            qmp_status = "no-qmp"
    started = state.get("started")
    uptime = time.time() - started if alive and started else None
    return VmStatus(run.name, pid, alive, qmp_status, uptime, state)


def status_all() -> list[VmStatus]:
    return [status(run) for run in all_run_dirs()]


def down(name: str, *, timeout: float = 60.0, force: bool = False, progress: Callable[[str], None] = lambda _: None) -> str:
    """Power off gracefully, then `quit`, then SIGKILL; then remove all the run made. Says how it ended."""
    run, state = running(name)
    pid, started = state.get("pid"), state.get("pid_start")
    how = "was not running"
    if pid and proc.alive(pid, started):
        how = _stop(run, pid, started, timeout=timeout, force=force, progress=progress)
    release_run(run)
    return how


def _stop(run: RunDir, pid: int, started: int | None, *, timeout: float, force: bool, progress: Callable[[str], None]) -> str:
    if not force and _ask(run, "system_powerdown"):
        progress(f"waiting up to {timeout:.0f} s for the guest to power off")
        deadline = time.monotonic() + timeout
        while not proc.wait_gone(pid, started, min(POWERDOWN_REPEAT, max(0.0, deadline - time.monotonic()))):
            if time.monotonic() >= deadline:
                break
            # A guest still booting drops a power-button press (its ACPI handler is not up yet): press again.
            _ask(run, "system_powerdown")
        else:
            return "powered off"
    if _ask(run, "quit") and proc.wait_gone(pid, started, 5.0):
        return "quit" if force else "did not power off in time; QEMU was told to quit"
    proc.kill(pid, started)
    proc.wait_gone(pid, started, 5.0)
    return "killed"


def _ask(run: RunDir, command: str) -> bool:
    try:
        with Qmp(run.qmp, timeout=2.0) as q:
            q.execute(command)
        return True
    except QmpError:
        return False


def gc() -> list[str]:
    """Clean up after every VM whose QEMU is gone: its host objects and its run folder."""
    cleaned, stuck = [], []
    for run in all_run_dirs():
        state = run.read_state() or {}
        pid = state.get("pid")
        if pid and proc.alive(pid, state.get("pid_start")):
            continue
        with run.locked(wait=False) as free:
            if not free:
                continue  # an `up` is under way
            try:
                release_run(run)
            except HostNetError as e:
                stuck.append(e.message)
                continue
        cleaned.append(run.name)
    if stuck:
        raise HostNetError("; ".join(stuck), hint="the records are kept: fix what stops it and run vmrun gc again")
    return cleaned


def release_run(run: RunDir) -> None:
    """Release what the run recorded, then drop its folder; the folder stays while anything could not go."""
    problems = hostobj.release_recorded(run.path)
    if problems:
        raise HostNetError(f"{run.name}: could not remove: {'; '.join(problems)}",
                           hint="fix what stops it, then run vmrun gc (the record is kept for it)")  # fmt: skip
    run.remove()
