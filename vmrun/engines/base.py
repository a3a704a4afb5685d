"""The engine interface: what a command may ask of a VM, whichever engine runs it.

A command finds a VM with :func:`vmrun.engines.find` and calls the methods of
:class:`RunningVm` on it; it never asks which engine it holds. What an engine
cannot do raises :class:`vmrun.errors.NotSupported`, in one wording for all
(:func:`not_supported`). The types both engines return live here, not on one
engine's side.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from vmrun.errors import NotSupported

if TYPE_CHECKING:
    from pathlib import Path

    from vmrun.display import Display
    from vmrun.profile.model import Nic, UsbDevice
    from vmrun.runstate import Forward, RunState

Progress = Callable[[str], None]
Waiting = Callable[[str], AbstractContextManager[Any]]  # a spinner, given what is waited for


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
            "usb": [vars(u) for u in s.usb] if s else [],
            "note": self.note,
            "engine": self.engine,
            "host": self.host,
        }


@dataclass(frozen=True)
class Added:
    """A NIC `nic add` plugged in: the NIC as validated, its host side, the bus it sits on."""

    nic: Nic
    host: dict[str, Any]  # what the NIC's backend made or joined on the host (shown by `nic add`, `ps`)
    bus: str | None
    profile: str  # the file the VM was started from, for `--save`

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.nic.id,
            "type": self.nic.type.value,
            "model": self.nic.model,
            "mac": self.nic.mac,
            "host": self.host,
            "bus": self.bus,
            "hotplugged": True,
        }


@dataclass
class Snapshot:
    tag: str
    id: str
    date: float
    vm_state_size: int | None  # None: not known (libvirt does not say)
    vm_clock: float | None
    disks: list[str] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "id": self.id,
            "date": time.strftime("%Y-%m-%dT%H:%M:%S", time.localtime(self.date)),
            "date_sec": self.date,
            "vm_state_size": self.vm_state_size,
            "vm_clock_sec": self.vm_clock,
            "disks": self.disks,
        }


@dataclass
class Migrated:
    vm: RunningVm  # the VM on its new host
    seconds: float
    downtime_ms: int | None  # as libvirt measured it on the target, if it could be asked


class Monitor(Protocol):
    def execute(self, command: str, arguments: dict[str, Any] | None = None) -> Any: ...


class RunningVm(Protocol):
    """One VM vmrun runs, on either engine."""

    name: str
    engine: str  # "qemu" or "libvirt": shown by `ps`, never branched on outside vmrun/engines/

    @property
    def host(self) -> str: ...

    def state(self) -> RunState | None: ...
    def require_state(self) -> RunState: ...
    def status(self) -> VmStatus: ...
    def down(self, *, timeout: float = 60.0, force: bool = False, progress: Progress = ...) -> str: ...
    def qmp(self, timeout: float = ...) -> AbstractContextManager[Monitor]: ...

    def nic_add(self, raw: dict[str, Any]) -> Added: ...
    def nic_del(self, nic_id: str, *, timeout: float) -> None: ...
    def nic_list(self) -> list[dict[str, Any]]: ...

    def usb_add(self, device: str, usb_id: str | None) -> UsbDevice: ...  # VENDOR:PRODUCT or BUS-PORT
    def usb_del(self, usb_id: str, *, timeout: float) -> None: ...
    def usb_list(self) -> list[dict[str, Any]]: ...

    def fwd_add(self, rule: str, nic_id: str | None = None) -> Forward: ...
    def fwd_del(self, rule: str) -> Forward: ...
    def fwd_list(self) -> list[Forward]: ...

    def snapshot_save(self, tag: str, *, vmstate: str | None, waiting: Waiting) -> Snapshot: ...
    def snapshot_load(self, tag: str, *, waiting: Waiting) -> None: ...
    def snapshot_delete(self, tag: str, *, waiting: Waiting) -> None: ...
    def snapshot_list(self) -> list[Snapshot]: ...

    def console(self) -> None: ...
    def log(self, *, qemu_output: bool, follow: bool) -> None: ...
    def display(self) -> Display: ...  # where its SPICE display is, and its password
    def private_folder(self) -> Path | None: ...  # where a viewer's .vv file may go (None: a temporary one)
    def launched_argv(self) -> list[str]: ...  # the command line QEMU was started with
    def migrate(
        self, to: str, *, live: bool, persist: bool, copy_storage: bool, shared_storage: bool, waiting: Waiting
    ) -> Migrated: ...
    def autostart(self, on: bool) -> None: ...

    # The guest agent (agent = true): every call has a deadline; AgentError when it does not answer.
    def agent(self, timeout: float = ...) -> AbstractContextManager[Agent]: ...
    def agent_interfaces(self) -> list[dict[str, Any]]: ...  # guest-network-get-interfaces' shape
    def agent_add_ssh_keys(self, user: str, keys: list[str]) -> None: ...
    def host_addresses(self) -> list[tuple[str, str, int | None, str]]: ...  # (MAC, address, prefix, source)


class Agent(Protocol):
    """One conversation with a guest agent (vmrun's own QGA client, or libvirt's agent passthrough)."""

    def execute(
        self, command: str, arguments: dict[str, Any] | None = None, *, timeout: float | None = None, reply: bool = True
    ) -> Any: ...


class Started(Protocol):
    """What `up` started, for the rest of `up`: its summary, waiting for the guest, staying attached."""

    vm: RunningVm

    def to_json(self) -> dict[str, Any]: ...
    def summary(self) -> str: ...
    def wait(self, timeout: float) -> None: ...
    def attach(self) -> None: ...  # `up --foreground`: until QEMU exits; KeyboardInterrupt escapes
    def power_off(self) -> None: ...


def not_supported(vm_name: str, what: str, engine: str, hint: str | None = None) -> NotSupported:
    """The one wording of "this engine cannot": ``NAME: WHAT is not supported on the ENGINE engine``."""
    return NotSupported(f"{vm_name}: {what} is not supported on the {engine} engine", hint=hint)
