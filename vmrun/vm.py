"""One VM vmrun runs, found by name: every command that acts on a running VM goes through :class:`Vm`.

Like QEMU's own ``QEMUMachine``, a :class:`Vm` owns its process, its QMP
connection, its run folder and its shutdown; unlike it, the VM outlives the
vmrun that started it, so everything is found again from the run folder:

- :meth:`Vm.state` reads ``state.json`` through the one parser (``runstate``);
- :meth:`Vm.qemu_pid` finds its QEMU even when ``state.json`` is lost or
  broken (QEMU's pid file, or QEMU's command line naming the run folder), and
  only a process that provably is that QEMU;
- :meth:`Vm.locked` / :meth:`Vm.edit` serialise every change (one locked
  read-modify-write);
- :meth:`Vm.status`, :meth:`Vm.qmp`, :meth:`Vm.stop`, :meth:`Vm.release` are
  what `ps`, `qmp`, `nic`, `fwd` and `down` use. Every QMP exchange has a deadline.

These methods are the seam for other engines: a VM run by libvirt answers the
same calls from its domain instead of from a QEMU of ours.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from vmrun import proc, runstate, ui
from vmrun.errors import HostNetError, QmpError, RunStateError, StateError
from vmrun.qmp import Qmp, QmpTimeout
from vmrun.rundir import LOCK_WAIT, Lock, RunDir, all_run_dirs
from vmrun.runstate import RunState

POWERDOWN_REPEAT = 3.0
STATUS_TIMEOUT = 2.0  # `ps` asks every VM at once; a frozen QEMU costs `ps` this, once
COMMAND_TIMEOUT = 10.0
NOT_RESPONDING = "not responding"


@dataclass
class VmStatus:
    name: str
    pid: int | None
    status: str  # QEMU's run state (running, paused, prelaunch...), "not responding", "starting" or "dead"
    uptime: float | None
    state: RunState | None
    note: str | None = None  # "state lost", or why the state could not be read
    engine: str = "qemu"
    host: str = "local"

    def as_json(self) -> dict[str, Any]:
        s = self.state
        return {
            "name": self.name,
            "pid": self.pid,
            "status": self.status,
            "uptime_s": round(self.uptime, 1) if self.uptime is not None else None,
            "accel": s.accel if s else None,
            "profile": s.profile if s else None,
            "nics": [vars(n) for n in s.nics] if s else [],
            "forwards": [f.as_json() for f in s.forwards] if s else [],
            "spice": vars(s.spice) if s and s.spice else None,
            "memory_mib": s.memory_mib if s else None,
            "smp": s.smp if s else None,
            "argv": s.argv if s else [],  # as QEMU was started (libvirt's domains: empty, libvirt built it)
            "snapshot": s.snapshot if s else False,
            "note": self.note,
            "engine": self.engine,
            "host": self.host,
        }


class Vm:
    engine = "qemu"
    host = "local"

    def __init__(self, run: RunDir) -> None:
        self.run = run

    @classmethod
    def named(cls, name: str) -> Vm:
        """The VM of this name, running or not (the name is checked: it is never a path)."""
        return cls(RunDir.for_vm(name))

    @classmethod
    def running(cls, name: str) -> Vm:
        """A VM that has a run folder of ours; StateError (with "did you mean") if there is none."""
        vm = cls.named(name)
        if not vm.run.exists():
            raise StateError(f"{name}: not running", hint=_did_you_mean(name))
        vm.run.check_owned()
        return vm

    @property
    def name(self) -> str:
        return self.run.name

    # --- run state ---

    def state(self) -> RunState | None:
        """``state.json``, typed; None if there is none yet. RunStateError if it is not vmrun's."""
        data = self.run.read_json(runstate.FILE)
        return None if data is None else runstate.parse(data, self.run.path / runstate.FILE)

    def require_state(self) -> RunState:
        state = self.state()
        if state is None or state.phase != runstate.RUNNING:
            raise StateError(f"{self.name}: its run state is lost (QEMU may still run)",
                             hint=f"vmrun down {self.name} stops it and removes what is provably its own")  # fmt: skip
        return state

    def save(self, state: RunState) -> None:
        self.run.write_json(runstate.FILE, state.to_json())

    @contextmanager
    def locked(self, purpose: str, *, wait: float = LOCK_WAIT) -> Iterator[Lock]:
        with self.run.locked(purpose, wait=wait) as lock:
            yield lock

    @contextmanager
    def edit(self, purpose: str) -> Iterator[RunState]:
        """Lock, re-read, let the caller change the state, write it back (also in the current schema)."""
        with self.locked(purpose):
            if not self.run.exists():
                raise StateError(f"{self.name}: not running", hint=_did_you_mean(self.name))
            state = self.require_state()
            yield state
            self.save(state)

    # --- its QEMU ---

    def _marker(self) -> tuple[str, str]:
        return ("-pidfile", str(self.run.pidfile))

    def _is_our_qemu(self, pid: int, started: int | None) -> bool:
        # QEMU from vmrun before schema 2 had no -pidfile; its serial socket path names the run folder too.
        folder = f"{self.run.path}/"
        return (proc.alive(pid, started) and proc.owner(pid) == os.geteuid()
                and any(folder in arg for arg in proc.cmdline(pid)))  # fmt: skip

    def qemu_pid(self, state: RunState | None) -> int | None:
        """The pid of this VM's live QEMU, whatever became of ``state.json``; None if there is none."""
        if state is not None and state.pid is not None and self._is_our_qemu(state.pid, state.pid_start):
            return state.pid
        try:
            pid = int(self.run.pidfile.read_text().strip() or 0)
        except (OSError, ValueError):
            pid = 0
        if pid > 0 and proc.ours(pid, None, self._marker()):
            return pid
        if state is not None and state.phase == runstate.RUNNING and state.pid is not None:
            return None  # it ran and is gone: no need to search
        return proc.find(self._marker())  # started, but killed before the pid was written anywhere

    def busy(self) -> bool:
        """Does another vmrun hold this VM's lock right now (an `up` under way)?"""
        try:
            fd = os.open(self.run.lock_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_SH | fcntl.LOCK_NB)
            return False
        except BlockingIOError:
            return True
        finally:
            os.close(fd)

    def status(self) -> VmStatus:
        note = None
        try:
            state = self.state()
        except RunStateError as e:
            state, note = None, f"state unreadable: {e.message}"
        pid = self.qemu_pid(state)
        if state is not None and state.schema < runstate.SCHEMA:
            self._carry_over()
        if pid is None:
            starting = state is None or state.phase == runstate.STARTING
            status = "starting" if starting and self.busy() else "dead"
            return VmStatus(self.name, None, status, None, state, note)
        if state is None or state.pid != pid:
            note = note or "state lost: QEMU found by its pid file; `vmrun down` stops it"
        try:
            with Qmp(self.run.qmp, timeout=STATUS_TIMEOUT) as q:
                status = q.execute("query-status").get("status", "unknown")
        except QmpTimeout:
            # QEMU serves one QMP client at a time: one that another vmrun talks to is busy, not frozen.
            status = "busy" if self.busy() else NOT_RESPONDING
        except QmpError:
            status = "no QMP"
        started = state.started if state is not None and state.pid == pid else None
        return VmStatus(self.name, pid, status, time.time() - started if started else None, state, note)

    def _carry_over(self) -> None:
        """Write a VM of an older vmrun in the current schema (state and records), once, if no one holds it."""
        from vmrun.net import hostobj

        try:
            with self.locked("ps", wait=0):
                if (state := self.state()) is not None:
                    self.save(state)
                    hostobj.Recorder(self.run).save()
        except (StateError, RunStateError):
            pass  # busy, or not readable: the next command that edits it carries it over

    def qmp(self, timeout: float = COMMAND_TIMEOUT) -> Qmp:
        return Qmp(self.run.qmp, timeout=timeout)

    def stop(self, pid: int, *, timeout: float, force: bool, progress: Callable[[str], None]) -> str:
        """ACPI power-off (pressed again while the guest boots), then `quit`, then SIGKILL. Says how it ended."""
        if not force and self._ask("system_powerdown"):
            progress(f"waiting up to {timeout:.0f} s for the guest to power off")
            deadline = time.monotonic() + timeout
            while not proc.wait_gone(pid, None, min(POWERDOWN_REPEAT, max(0.0, deadline - time.monotonic()))):
                if time.monotonic() >= deadline:
                    break
                # A guest still booting drops a power-button press (its ACPI handler is not up yet): press again.
                self._ask("system_powerdown")
            else:
                return "powered off"
        if self._ask("quit") and proc.wait_gone(pid, None, 5.0):
            return "quit" if force else "did not power off in time; QEMU was told to quit"
        proc.kill(pid, None)
        proc.wait_gone(pid, None, 5.0)
        return "killed"

    def _ask(self, command: str) -> bool:
        try:
            with Qmp(self.run.qmp, timeout=STATUS_TIMEOUT) as q:
                q.execute(command)
            return True
        except QmpError:
            return False

    def release(self) -> None:
        """Release what the run recorded, then drop its folder; the folder stays while anything could not go.

        Called under the VM's lock, with its QEMU gone.
        """
        from vmrun.net import hostobj

        try:
            problems, skipped = hostobj.release_recorded(self.run)
        except RunStateError as e:
            # Not a file vmrun wrote: nothing in it is acted on, and it must not keep the folder for ever.
            problems, skipped = [], [f"{e.message}; nothing in it was acted on"]
        for line in skipped:
            ui.notice(line)
        if problems:
            raise HostNetError(f"{self.name}: could not remove: {'; '.join(problems)}",
                               hint="fix what stops it, then run vmrun gc (the record is kept for it)")  # fmt: skip
        self.run.remove()  # and the lock file goes when the lock is let go

    def down(self, *, timeout: float = 60.0, force: bool = False, progress: Callable[[str], None] = lambda _: None) -> str:
        """Stop the VM (see :meth:`stop`) and remove everything its run made. Says how it ended."""
        with self.locked("down"):
            if not self.run.exists():
                return "was not running"  # another vmrun (`up --foreground` ending) took it down meanwhile
            try:
                state = self.state()
            except RunStateError as e:
                ui.notice(f"{e.message}; stopping its QEMU if one is found")
                state = None
            how = "was not running"
            pid = self.qemu_pid(state)
            if pid is not None:
                how = self.stop(pid, timeout=timeout, force=force, progress=progress)
            self.release()
            return how


def find(name: str, connect: str | None = None) -> Any:
    """The VM of that name: vmrun's own QEMU on this host, else a libvirt domain vmrun made
    (on ``connect``, or on the URIs vmrun has used and ``$VMRUN_CONNECT``)."""
    vm = Vm.named(name)
    if connect is None and vm.run.exists():
        return Vm.running(name)
    where = _libvirt_uris(connect)
    if where:
        from vmrun.engines.libvirt.domain import LibvirtVm

        found = LibvirtVm.find(name, where)
        if found is not None:
            return found
    if connect is not None:
        raise StateError(f"{name}: no domain of vmrun's by that name at {connect}", hint=f"vmrun ps -c {connect}")
    return Vm.running(name)  # not running: says so, with "did you mean"


def _libvirt_uris(connect: str | None) -> list[str]:
    from vmrun.engines.libvirt import uris

    return uris.in_use(connect)


def status_all(connect: str | None = None) -> list[Any]:
    """Every VM's status, asked of all at once: a VM that does not answer costs `ps` one timeout, not one each.

    The QEMU VMs of this host, then vmrun's libvirt domains on every URI in use (``connect`` too).
    """
    vms: list[Any] = [Vm(run) for run in all_run_dirs()]
    where = _libvirt_uris(None) + ([connect] if connect else [])
    if where:
        from vmrun.engines.libvirt.domain import list_vms

        vms += list_vms(list(dict.fromkeys(where)))
    mine = []
    for vm in vms:
        if isinstance(vm, Vm) and (problem := vm.run.problem()):
            ui.notice(f"{vm.name}: its run folder {vm.run.path} {problem}; left alone")
        else:
            mine.append(vm)
    if len(mine) <= 1:
        return [vm.status() for vm in mine]
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(32, len(mine))) as pool:
        return list(pool.map(lambda vm: vm.status(), mine))


def gc() -> list[str]:
    """Clean up after every VM whose QEMU is gone: its host objects and its run folder.

    A VM whose QEMU lives is never touched, whatever became of its state; nor one
    another vmrun is busy with; nor a folder that is not ours.
    """
    cleaned, stuck = [], []
    for run in all_run_dirs():
        vm = Vm(run)
        if problem := run.problem():
            ui.notice(f"{vm.name}: its run folder {run.path} {problem}; left alone")
            continue
        try:
            if _collect(vm):
                cleaned.append(vm.name)
        except HostNetError as e:
            stuck.append(e.message)
        except StateError:
            pass  # busy: an `up` or a `down` is under way
    if stuck:
        raise HostNetError("; ".join(stuck), hint="the records are kept: fix what stops it and run vmrun gc again")
    return cleaned


def _collect(vm: Vm) -> bool:
    """Release a VM whose QEMU is gone; False if it lives."""
    with vm.locked("gc", wait=0):
        try:
            state = vm.state()
        except RunStateError as e:
            ui.notice(e.message)
            state = None
        if not vm.run.exists() or vm.qemu_pid(state) is not None:
            return False
        vm.release()
        return True


def _did_you_mean(name: str) -> str:
    import difflib

    try:
        known = [r.name for r in all_run_dirs()]
    except StateError:
        known = []
    close = difflib.get_close_matches(name, known, n=1)
    return f"did you mean {close[0]!r}?" if close else "vmrun ps lists the VMs vmrun knows"
