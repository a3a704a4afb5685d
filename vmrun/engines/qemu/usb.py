"""`vmrun usb add/del/list` on the qemu engine: host USB devices plugged into and out of a running guest over QMP.

An add records the device in the run state (phase ``adding``) before QEMU is asked anything; plugs
vmrun's xhci controller first if the VM has none (started without ``[[usb]]``: on q35 into a free
hot-plug root port of vmrun's, on pc into the root bus); then ``device_add usb-host``. Each step
registers its undo on one ExitStack, so a refusal at any point takes out the controller it plugged
and the record: nothing half made is left. A del writes phase ``removing`` first, as `nic del` does.
A USB device has no host side to release: QEMU opens the device itself (libusb) once it is there.
"""

from __future__ import annotations

from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from vmrun import signals, ui
from vmrun.adapters.qmp import Qmp
from vmrun.devices.usb import XHCI_ID, controller_device, host_device
from vmrun.engines.common import new_usb
from vmrun.engines.qemu.hotplug import (
    DELETE_TIMEOUT,
    free_hotplug_port,
    live_state,
    peripherals,
    running_profile,
    wait_deleted,
)
from vmrun.errors import QmpError, StateError
from vmrun.profile.model import UsbDevice
from vmrun.runstate import ADDING, REMOVING, RUNNING, RunState, UsbState

if TYPE_CHECKING:
    from vmrun.engines.qemu.vm import Vm

CONTROLLER_RELEASE = 30.0  # a hot-plugged controller taken out again: the guest must let go of a PCI device


def add(vm: Vm, text: str, usb_id: str | None) -> UsbDevice:
    with vm.locked("usb add"):
        state = live_state(vm)
        profile = running_profile(state)
        taken = [(n.id, "nic", f"NIC {n.id}", n.phase) for n in state.nics]
        taken += [(u.id, "usb", f"USB {u.what}", u.phase) for u in state.usb]
        dev = new_usb(text, usb_id, profile, taken)
        entry = UsbState(dev.id, dev.what, hotplugged=True, phase=ADDING)
        state.usb.append(entry)
        vm.save(state)
        with vm.qmp() as q, ExitStack() as stack:  # undo steps need QMP still open
            stack.callback(_forget, vm, state, entry)
            if XHCI_ID not in peripherals(q):
                q.execute("device_add", controller_device(free_hotplug_port(q, profile)))
                stack.callback(_unplug_controller, q, vm.name)
            with signals.deferred():  # plugged in and recorded as such, or neither
                q.execute("device_add", host_device(dev))
                entry.phase = RUNNING
                vm.save(state)
                stack.pop_all()
    return dev


def _forget(vm: Vm, state: RunState, entry: UsbState) -> None:
    state.usb.remove(entry)
    vm.save(state)


def _unplug_controller(q: Qmp, name: str) -> None:
    """Undo of a controller this add plugged: it goes when the guest releases it (ACPI or PCIe hot-plug)."""
    try:
        q.execute("device_del", {"id": XHCI_ID})
    except QmpError as e:
        ui.notice(f"{name}: the USB controller {XHCI_ID} plugged for this add stays: {e.message}")
        return
    if not wait_deleted(q, XHCI_ID, CONTROLLER_RELEASE):
        ui.notice(f"{name}: the guest did not release the USB controller {XHCI_ID} within {CONTROLLER_RELEASE:.0f} s")


def delete(vm: Vm, usb_id: str, *, timeout: float = DELETE_TIMEOUT) -> None:
    """Unplug ``usb_id`` (a [[usb]] device or one `usb add` plugged); also finishes an interrupted add or del."""
    name = vm.name
    with vm.locked("usb del"):
        state = live_state(vm)
        entry = state.usb_device(usb_id)
        if entry is None:
            raise StateError(f"{name}: no USB device {usb_id!r}", hint=f"vmrun usb list {name}")
        with vm.qmp() as q:
            plugged = usb_id in peripherals(q)
            resumed = entry.phase == REMOVING  # a del cut short: QEMU may have been asked already
            if entry.phase == RUNNING:
                entry.phase = (
                    REMOVING  # written before QEMU is asked: a del killed from here on is finished by the next
                )
                vm.save(state)
            if plugged:
                try:
                    q.execute("device_del", {"id": usb_id})
                except QmpError:
                    if not resumed:  # refused: nothing was done, the device is as it was
                        entry.phase = RUNNING
                        vm.save(state)
                        raise
                if not wait_deleted(q, usb_id, timeout):
                    raise StateError(f"{name}: QEMU did not remove USB device {usb_id} within {timeout:.0f} s")
            state.usb.remove(entry)
            vm.save(state)


def listing(vm: Vm) -> list[dict[str, Any]]:
    """The usb-host devices QEMU has (QOM: what each matches, whether the host device is attached),
    joined with what vmrun recorded of them."""
    state = vm.require_state()
    known = {u.id: u for u in state.usb}
    out = []
    with vm.qmp() as q:
        for child in q.execute("qom-list", {"path": "/machine/peripheral"}):
            if child["type"] != "child<usb-host>":
                continue
            props = _properties(q, f"/machine/peripheral/{child['name']}")
            entry = known.get(child["name"])
            out.append(
                {
                    "id": child["name"],
                    "device": _what(props),
                    "attached": bool(props.get("attached")),
                    "origin": origin(entry),
                }
            )
    return out


def origin(entry: UsbState | None) -> str:
    if entry is None:
        return "unknown"
    if entry.phase in (ADDING, REMOVING):
        return "interrupted add" if entry.phase == ADDING else "being removed"
    return "hot-plugged" if entry.hotplugged else "profile"


def _properties(q: Qmp, path: str) -> dict[str, Any]:
    props = {}
    for prop in ("vendorid", "productid", "hostbus", "hostport", "attached"):
        try:
            props[prop] = q.execute("qom-get", {"path": path, "property": prop})
        except QmpError:
            continue
    return props


def _what(props: dict[str, Any]) -> str:
    """``046d:c52b`` or ``1-2.3``, as QEMU matches it."""
    if props.get("hostport"):
        return f"{props.get('hostbus', 0)}-{props['hostport']}"
    return f"{props.get('vendorid', 0):04x}:{props.get('productid', 0):04x}"
