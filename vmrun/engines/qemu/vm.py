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

It is the QEMU engine's :class:`vmrun.engines.base.RunningVm`: a VM run by libvirt
(:class:`vmrun.engines.libvirt.vm.LibvirtVm`) answers the same calls from its domain.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from vmrun import proc, runstate, ui
from vmrun.adapters.qmp import Qmp, QmpTimeout
from vmrun.engines.base import Added, Migrated, Snapshot, VmStatus, Waiting, not_supported
from vmrun.engines.common import SharedVm, press_until_off
from vmrun.engines.qemu.agent import POWER_OFF_WAIT, AgentVm
from vmrun.errors import HostNetError, QmpError, RunStateError, StateError, VmrunError
from vmrun.rundir import LOCK_WAIT, Lock, RunDir, all_run_dirs
from vmrun.runstate import Forward, RunState

STATUS_TIMEOUT = 2.0  # `ps` asks every VM at once; a frozen QEMU costs `ps` this, once
COMMAND_TIMEOUT = 10.0
NOT_RESPONDING = "not responding"


class Vm(AgentVm, SharedVm):
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
            raise StateError(
                f"{self.name}: its run state is lost (QEMU may still run)",
                hint=f"vmrun down {self.name} stops it and removes what is provably its own",
            )
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
        return (
            proc.alive(pid, started)
            and proc.owner(pid) == os.geteuid()
            and any(folder in arg for arg in proc.cmdline(pid))
        )

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
        """ACPI power-off (pressed again while the guest boots), then the guest agent's power-off, then `quit`,
        then SIGKILL. Says how it ended."""
        # The first press also says whether QEMU answers at all; if not, on to quit and kill.
        if not force and self._ask("system_powerdown"):
            if press_until_off(
                lambda: self._ask("system_powerdown"),
                lambda wait: proc.wait_gone(pid, None, wait),
                timeout=timeout,
                progress=progress,
                pressed=True,
            ):
                return "powered off"
            # ACPI ignored (no acpid, a guest that only halts): the agent powers off from inside.
            if self.agent_power_off() and proc.wait_gone(pid, None, POWER_OFF_WAIT):
                return "ignored ACPI; powered off by its guest agent"
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
            raise HostNetError(
                f"{self.name}: could not remove: {'; '.join(problems)}",
                hint="fix what stops it, then run vmrun gc (the record is kept for it)",
            )
        self.run.remove()  # and the lock file goes when the lock is let go

    def down(
        self, *, timeout: float = 60.0, force: bool = False, progress: Callable[[str], None] = lambda _: None
    ) -> str:
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

    # --- what commands ask of it (vmrun.engines.base.RunningVm) ---

    def nic_add(self, raw: dict[str, Any]) -> Added:
        from vmrun.engines.qemu import hotplug

        return hotplug.add(self, raw)

    def nic_del(self, nic_id: str, *, timeout: float) -> None:
        from vmrun.engines.qemu import hotplug

        hotplug.delete(self, nic_id, timeout=timeout)

    def usb_add(self, device: str, usb_id: str | None) -> Any:
        from vmrun.engines.qemu import usb

        return usb.add(self, device, usb_id)

    def usb_del(self, usb_id: str, *, timeout: float) -> None:
        from vmrun.engines.qemu import usb

        usb.delete(self, usb_id, timeout=timeout)

    def usb_list(self) -> list[dict[str, Any]]:
        from vmrun.engines.qemu import usb

        return usb.listing(self)

    def fwd_add(self, rule: str, nic_id: str | None = None) -> Forward:
        from vmrun.engines.qemu import forwards

        return forwards.add(self, rule, nic_id)

    def fwd_del(self, rule: str) -> Forward:
        from vmrun.engines.qemu import forwards

        return forwards.delete(self, rule)

    def snapshot_save(self, tag: str, *, vmstate: str | None, waiting: Waiting) -> Snapshot:
        from vmrun.engines.qemu import snapshots

        return snapshots.save(self, tag, vmstate=vmstate, waiting=waiting)

    def snapshot_load(self, tag: str, *, waiting: Waiting) -> None:
        from vmrun.engines.qemu import snapshots

        snapshots.load(self, tag, waiting=waiting)

    def snapshot_delete(self, tag: str, *, waiting: Waiting) -> None:
        from vmrun.engines.qemu import snapshots

        snapshots.delete(self, tag, waiting=waiting)

    def snapshot_list(self) -> list[Snapshot]:
        from vmrun.engines.qemu import snapshots

        return snapshots.listing(self)

    def console(self) -> None:
        from vmrun.engines.qemu.serial import attach

        attach(self.run.serial)

    def log(self, *, qemu_output: bool, follow: bool) -> None:
        from vmrun.engines.qemu.serial import print_log

        state = self.state()
        print_log(
            self.run.qemu_log if qemu_output else self.run.serial_log,
            follow=follow,
            still_running=lambda: self.qemu_pid(state) is not None,
        )

    def display(self) -> Any:
        from vmrun.display import display_of_state

        return display_of_state(self.name, self.require_state(), self.run.path / "spice-password")

    def private_folder(self) -> Path | None:
        return self.run.path

    def launched_argv(self) -> list[str]:
        return self.require_state().argv

    def migrate(
        self, to: str, *, live: bool, persist: bool, copy_storage: bool, shared_storage: bool, waiting: Waiting
    ) -> Migrated:
        raise not_supported(
            self.name,
            "migrate",
            self.engine,
            hint=f"vmrun down {self.name}, then vmrun up {self.name} -c URI (libvirt can migrate)",
        )

    def autostart(self, on: bool) -> None:
        raise not_supported(
            self.name,
            "autostart",
            self.engine,
            hint=f"vmrun unit {self.name} --install (a systemd service), or vmrun up {self.name} -c URI --persist",
        )


def usable_vms() -> list[Vm]:
    """The VMs of this host's run folders that are ours to look at; the others are named and left alone."""
    mine = []
    for run in all_run_dirs():
        if problem := run.problem():
            ui.notice(f"{run.name}: its run folder {run.path} {problem}; left alone")
        else:
            mine.append(Vm(run))
    return mine


def run_state(name: str) -> tuple[str, int | None]:
    """("running", pid), ("dead", None) (its QEMU is gone: vmrun gc), "-" (not running) or "?" (cannot tell)."""
    try:
        vm = Vm.named(name)
        if not vm.run.exists() or vm.run.problem():
            return "-", None
        try:
            state = vm.state()
        except VmrunError:
            state = None
        pid = vm.qemu_pid(state)
    except VmrunError:
        return "?", None
    return ("running", pid) if pid is not None else ("dead", None)


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
