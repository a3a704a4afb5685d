"""`vmrun nic add/del/list`: NICs plugged into and out of a running guest over QMP.

An add is the same preparation as at `up` (same backends, same records), then
``getfd`` for each fd, ``netdev_add`` and ``device_add``. Every step registers
its undo on one ExitStack, so a failure at any point leaves no tap, fd or
netdev behind. The VM's lock serialises concurrent adds.

The NIC is written into the run state (phase ``adding``) before anything is
made, so a vmrun killed half way leaves a NIC that `nic del` can still take out
and `down` still releases; a signal instead unwinds the add in order. A del
writes phase ``removing`` before it asks QEMU anything, so a del killed at any
step is finished by the next: a device or netdev QEMU no longer has is one the
cut-short del already removed, and the host side is released after it.
"""

from __future__ import annotations

import time
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from vmrun import signals, ui
from vmrun.adapters.qmp import Qmp
from vmrun.argv import HOTPLUG_PORT, is_q35
from vmrun.engines.base import Added
from vmrun.engines.common import new_nic as new_nic_for
from vmrun.errors import ProfileError, QmpError, StateError
from vmrun.net import PrepareContext, backend_for
from vmrun.net.base import NetdevSpec
from vmrun.net.hostobj import Recorder, release_recorded
from vmrun.profile import load_profile
from vmrun.profile.load import option_for_nic_key
from vmrun.profile.model import Nic, Profile
from vmrun.runstate import ADDING, REMOVING, RUNNING, Forward, NicState, RunState

if TYPE_CHECKING:
    from vmrun.engines.qemu.vm import Vm


DELETE_TIMEOUT = 30.0
MAX_QUEUES = 64  # a NIC's queues (one fd each) at most, as profiles allow


def running_profile(state: RunState) -> Profile:
    """The profile the VM was started from, for the settings a new NIC shares (name, accel, machine)."""
    return load_profile(state.profile)


def new_nic(raw: dict[str, Any], state: RunState, profile: Profile) -> Nic:
    """Validate a NIC given on the command line, as if it were a [[nics]] table, against the live VM."""
    return new_nic_for(raw, profile, [(n.id, n.mac, n.phase) for n in state.nics], [u.id for u in state.usb])


def qmp_netdev(nic_id: str, spec: NetdevSpec, fdnames: dict[str, str]) -> dict[str, Any]:
    """The -netdev options as netdev_add arguments: dotted keys nest, fds become getfd names."""
    args: dict[str, Any] = {"type": spec.backend, "id": nic_id}
    for key, value in spec.options:
        if value is None:
            continue
        if key == "fd":
            value = fdnames[str(value)]
        elif key == "fds":
            value = ":".join(fdnames[v] for v in str(value).split(":"))
        elif key == "hostfwd":
            args.setdefault("hostfwd", []).append({"str": value})
            continue
        node = args
        *parents, leaf = key.split(".")
        for parent in parents:
            node = node.setdefault(parent, {})
        node[leaf] = value
    return args


def free_hotplug_port(q: Qmp, profile: Profile) -> str | None:
    """On q35 a NIC needs an empty root port of ours; on pc the root bus takes it (None)."""
    if not is_q35(profile):
        return None
    ours = {HOTPLUG_PORT.format(i) for i in range(profile.hotplug_slots)}
    for bus in q.execute("query-pci"):
        for dev in bus.get("devices", []):
            if dev.get("qdev_id") in ours and not dev.get("pci_bridge", {}).get("devices"):
                return dev["qdev_id"]
    raise StateError(
        f"{profile.name}: no free hot-plug slot (hotplug_slots = {profile.hotplug_slots})",
        hint="raise hotplug_slots in the profile (takes effect at the next `vmrun up`), or `vmrun nic del` one",
    )


def add(vm: Vm, raw: dict[str, Any]) -> Added:
    with vm.locked("nic add"):
        state = live_state(vm)
        profile = running_profile(state)
        nic = new_nic(raw, state, profile)
        backend = backend_for(nic)
        _preflight(backend, nic, profile, raw)
        entry = NicState(nic.id, nic.type.value, nic.model, nic.mac, hotplugged=True, phase=ADDING)
        state.nics.append(entry)
        vm.save(state)
        with vm.qmp() as q, ExitStack() as stack:  # undo steps need QMP still open
            stack.callback(_forget, vm, state, entry)
            bus = free_hotplug_port(q, profile)
            ctx = PrepareContext(profile, vm.run.path, stack, Recorder(vm.run), nic_id=nic.id)
            prepared = backend.prepare(nic, ctx)
            fdnames = _send_fds(q, stack, nic.id, prepared.pass_fds)
            ctx.close_fds()  # QEMU holds its own copies now
            q.execute("netdev_add", qmp_netdev(nic.id, prepared.netdev, fdnames))
            stack.callback(_quietly, q, "netdev_del", {"id": nic.id})
            device = {"driver": nic.model, "id": nic.id, "netdev": nic.id, "mac": nic.mac}
            device.update(dict(prepared.netdev.device_options))
            if bus:
                device["bus"] = bus
            with signals.deferred():  # plugged in and recorded as such, or neither
                q.execute("device_add", device)
                entry.host, entry.bus, entry.phase = prepared.host, bus, RUNNING
                state.forwards += [Forward(nic.id, str(f)) for f in nic.hostfwd]
                vm.save(state)
                stack.pop_all()
    return Added(nic, prepared.host, bus, profile.source)


def _preflight(backend: Any, nic: Nic, profile: Profile, raw: dict[str, Any]) -> None:
    """The backend's checks, their errors naming the option typed (``--bridge br9``), not the VM's profile."""
    try:
        backend.preflight(nic, profile)
    except ProfileError as e:
        prefix = f"nic {nic.id}."
        if e.source != profile.source or not (e.field or "").startswith(prefix):
            raise
        key = e.field[len(prefix) :]  # type: ignore[index]
        if key == "uri":  # no option of `nic add` gives it: the libvirt network named is what needed it
            key = "network"
        option = option_for_nic_key(nic.type.value, key)
        value = raw.get(key.partition("[")[0])
        typed = f"{option} {value}" if isinstance(value, (str, int)) and not isinstance(value, bool) else option
        raise type(e)(e.reason, field=typed, hint=e.hint) from None


def live_state(vm: Vm) -> RunState:
    """Under the lock: the state of a VM whose QEMU runs."""
    if not vm.run.exists():
        raise StateError(f"{vm.name}: not running")
    state = vm.require_state()
    if vm.qemu_pid(state) is None:
        raise StateError(f"{vm.name}: its QEMU is not running", hint="vmrun gc cleans up after it")
    return state


def _forget(vm: Vm, state: RunState, entry: NicState) -> None:
    state.nics.remove(entry)
    vm.save(state)


def _send_fds(q: Qmp, stack: ExitStack, nic_id: str, fds: tuple[int, ...]) -> dict[str, str]:
    names = {}
    for i, fd in enumerate(fds):
        fdname = _fdname(nic_id, i)
        # QEMU's netdev_add consumes a named fd; if we never get there, close it (registered
        # first: an interrupted getfd may still have given QEMU the fd).
        stack.callback(_quietly, q, "closefd", {"fdname": fdname})
        q.send_fd(fd)
        q.execute("getfd", {"fdname": fdname})
        names[str(fd)] = fdname
    return names


def _fdname(nic_id: str, i: int) -> str:
    return f"vmrun-{nic_id}-{i}"


def _close_named_fds(q: Qmp, nic_id: str) -> None:
    """The fds an interrupted add gave QEMU (getfd in order 0, 1, ...) and no netdev took."""
    for i in range(MAX_QUEUES):
        try:
            q.execute("closefd", {"fdname": _fdname(nic_id, i)})
        except QmpError:
            return


def _quietly(q: Qmp, command: str, args: dict[str, Any]) -> None:
    try:
        q.execute(command, args)
    except QmpError:
        pass


def delete(vm: Vm, nic_id: str, *, timeout: float = DELETE_TIMEOUT) -> None:
    """Unplug ``nic_id`` and release its host side; also finishes off a NIC an interrupted `nic add` left."""
    name = vm.name
    with vm.locked("nic del"):
        state = live_state(vm)
        entry = state.nic(nic_id)
        with vm.qmp() as q:
            plugged = nic_id in peripherals(q)
            if entry is None and not plugged:
                raise StateError(f"{name}: no NIC {nic_id!r}", hint=f"vmrun nic list {name}")
            resumed = entry is not None and entry.phase == REMOVING  # a del cut short: some steps are done
            marked = entry is not None and entry.phase == RUNNING
            if marked:
                # Written before QEMU is asked anything: a del killed from here on is finished by the next.
                entry.phase = REMOVING  # type: ignore[union-attr]
                vm.save(state)
            if plugged:
                try:
                    q.execute("device_del", {"id": nic_id})
                except QmpError:
                    if not resumed:  # else the last del asked already, and the guest is still at it
                        if marked:  # refused: nothing was done, the NIC is as it was
                            entry.phase = RUNNING  # type: ignore[union-attr]
                            vm.save(state)
                        raise
                if not wait_deleted(q, nic_id, timeout):
                    raise StateError(
                        f"{name}: the guest did not release NIC {nic_id} within {timeout:.0f} s",
                        hint="the guest OS must accept the unplug (ACPI hot-plug); try again, or vmrun down",
                    )
            with signals.deferred():
                if entry is not None and entry.phase == REMOVING:
                    try:
                        q.execute("netdev_del", {"id": nic_id})
                    except QmpError as e:
                        if not _not_found(e):
                            raise
                        if not resumed:  # recorded as running, yet gone: a `nic del` of an older vmrun cut short
                            ui.notice(f"QEMU had no netdev {nic_id} any more; releasing its host side")
                else:  # an interrupted add may or may not have got this far
                    _quietly(q, "netdev_del", {"id": nic_id})
                    _close_named_fds(q, nic_id)
                problems, skipped = release_recorded(vm.run, nic_id)
                state.nics = [n for n in state.nics if n.id != nic_id]
                state.forwards = [f for f in state.forwards if f.nic != nic_id]
                vm.save(state)
    for line in skipped:
        ui.notice(line)
    if problems:
        raise StateError(f"{name}: NIC {nic_id} removed, but: {'; '.join(problems)}")


def _not_found(e: QmpError) -> bool:
    """QEMU's answer when the device or netdev named is not (or no longer) there."""
    return isinstance(e.received, dict) and e.received.get("error", {}).get("class") == "DeviceNotFound"


def wait_deleted(q: Qmp, nic_id: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in q.events(wait=min(1.0, max(0.01, deadline - time.monotonic()))):
            if event.get("event") == "DEVICE_DELETED" and event.get("data", {}).get("device") == nic_id:
                return True
        if nic_id not in peripherals(q):
            return True  # the event may have come before we listened
    return False


def peripherals(q: Qmp) -> set[str]:
    return {child["name"] for child in q.execute("qom-list", {"path": "/machine/peripheral"})}
