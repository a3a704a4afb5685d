"""Logic both engines share, written once: a new NIC's id and MAC, the user NIC a forward goes
through, which recorded forward a rule names, and the NICs a guest really has (over QMP, or
libvirt's monitor passthrough, which answers the same questions)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from vmrun.errors import ProfileError, QmpError, StateError
from vmrun.profile.fields import parse_hostfwd
from vmrun.profile.model import HostFwd, Nic, Profile, UsbDevice

if TYPE_CHECKING:
    from vmrun.engines.base import RunningVm

# Block drivers that hold internal snapshots (qcow2 is the one a local image has).
SNAPSHOT_FORMATS = {"qcow2", "rbd", "sheepdog"}


def new_nic(
    raw: dict[str, Any], profile: Profile, taken: Sequence[tuple[str, str | None, str]], usb_ids: Sequence[str] = ()
) -> Nic:
    """A NIC given on the command line, validated as a [[nics]] table against the VM's NICs.

    ``taken`` is each NIC's (id, MAC, phase); ``usb_ids`` the USB devices' ids (the same id space).
    Without an id the NIC is the next free ``netN``.
    """
    from vmrun.profile.load import parse_cli_nic
    from vmrun.runstate import ADDING, REMOVING

    ids = [nic_id for nic_id, _, _ in taken] + list(usb_ids)
    if "id" not in raw:
        raw = {**raw, "id": next(f"net{i}" for i in range(len(ids) + 1) if f"net{i}" not in ids)}
    nic = parse_cli_nic(raw, profile.name, len(ids))
    if nic.id in usb_ids:
        raise ProfileError(
            f"{nic.id!r} is already the id of a USB device of {profile.name}",
            field="--id",
            hint=f"choose another --id (vmrun usb list {profile.name})",
        )
    phase = next((phase for nic_id, _, phase in taken if nic_id == nic.id), None)
    if phase is not None:
        left = {ADDING: " (left by an interrupted nic add)", REMOVING: " (its nic del has not finished)"}.get(phase, "")
        raise ProfileError(
            f"{nic.id!r} is already a NIC of {profile.name}{left}",
            field="--id",
            hint=f"vmrun nic del {profile.name} {nic.id}, or choose another --id",
        )
    if nic.mac in {mac for _, mac, _ in taken}:
        raise ProfileError(f"{nic.mac} is already the MAC of a NIC of {profile.name}", field="--mac")
    return nic


def new_usb(text: str, usb_id: str | None, profile: Profile, taken: Sequence[tuple[str, str, str, str]]) -> UsbDevice:
    """A USB device given to `usb add` (``VENDOR:PRODUCT`` or ``BUS-PORT``), validated as a [[usb]] table.

    ``taken`` is each NIC's and USB device's (id, "nic" or "usb", what it is, phase): ids are QEMU
    device ids, one space for both. Without an id the device is the next free ``usbN``. Errors name
    what was typed; an id held by an add or del cut short names the del that finishes it.
    """
    from vmrun.profile import fields, load, read
    from vmrun.profile.devicekeys import USB
    from vmrun.profile.passthrough import parse_usb_device
    from vmrun.runstate import ADDING, REMOVING

    try:
        raw: dict[str, Any] = parse_usb_device(text)
    except ValueError as e:
        raise ProfileError(str(e), field=fields.visible(text)) from None
    ids = [i for i, _, _, _ in taken]
    raw["id"] = usb_id if usb_id is not None else next(f"usb{n}" for n in range(len(ids) + 1) if f"usb{n}" not in ids)
    try:
        dev = load.parse_table(USB, load.Table(raw, None, ""), read.Context(None, "", outer={"name": profile.name}))
    except ProfileError as e:
        typed = f"--id {raw['id']}" if e.field == "id" else text
        raise ProfileError(e.reason, field=fields.visible(typed), hint=e.hint) from None
    for held_id, kind, what, phase in taken:
        if held_id == dev.id:
            left = {ADDING: f", left by an interrupted {kind} add", REMOVING: f", its {kind} del has not finished"}
            raise ProfileError(
                f"{dev.id!r} is already the id of a device of {profile.name} ({what}{left.get(phase, '')})",
                field="--id",
                hint=f"vmrun {kind} del {profile.name} {dev.id}"
                if phase in left
                else f"choose another --id (vmrun usb list {profile.name}, vmrun nic list {profile.name})",
            )
    return dev


def user_nic(vm_name: str, users: Sequence[str], nic_id: str | None) -> str:
    """The user-network NIC a forward goes through: the one named, else the first."""
    if nic_id is not None and nic_id not in users:
        raise StateError(
            f"{vm_name}: {nic_id!r} is not a user-network NIC", hint=f"its user NICs: {', '.join(users) or 'none'}"
        )
    if not users:
        raise StateError(f"{vm_name}: no user-network NIC to forward through", hint=f"vmrun nic add {vm_name} --user")
    return nic_id or users[0]


def same_host_side(recorded: str, fwd: HostFwd) -> bool:
    """Does the recorded rule forward from the host address and port ``fwd`` names?"""
    r = parse_hostfwd(recorded)
    return (r.proto, r.host_addr, r.host_port) == (fwd.proto, fwd.host_addr, fwd.host_port)


def no_such_forward(vm_name: str, fwd: HostFwd, hint: str) -> StateError:
    return StateError(f"{vm_name}: no forward from {fwd.proto}:{fwd.host_addr}:{fwd.host_port}", hint=hint)


class SharedVm:
    """What both engines' VMs answer the same way, from their run state and their monitor."""

    def nic_list(self) -> list[dict[str, Any]]:
        return nic_listing(self)

    def fwd_list(self) -> list[Any]:
        return list(self.require_state().forwards)  # type: ignore[attr-defined]


def nic_listing(vm: RunningVm) -> list[dict[str, Any]]:
    """The NICs the guest really has (asked of its monitor), joined with what vmrun knows of their host side."""
    from vmrun.runstate import ADDING, REMOVING

    state = vm.require_state()
    known = {n.id: n for n in state.nics}
    out = []
    with vm.qmp() as q:
        for child in q.execute("qom-list", {"path": "/machine/peripheral"}):
            path = f"/machine/peripheral/{child['name']}"
            try:
                mac = q.execute("qom-get", {"path": path, "property": "mac"})
            except QmpError:
                continue  # not a NIC
            nic_id = child["name"].removeprefix("ua-")  # libvirt names a NIC by its user alias
            entry = known.get(nic_id)
            origin = "unknown" if entry is None else "hot-plugged" if entry.hotplugged else "profile"
            if entry is not None and entry.phase in (ADDING, REMOVING):
                origin = "interrupted add" if entry.phase == ADDING else "being removed"
            out.append(
                {
                    "id": nic_id,
                    "type": entry.type if entry else "unknown",
                    "host": entry.host if entry else {},
                    "mac": mac,
                    "model": child["type"].removeprefix("child<").removesuffix(">"),
                    "origin": origin,
                }
            )
    return out


POWER_BUTTON_REPEAT = 3.0  # seconds between presses of the power button while the guest does not go


def press_until_off(
    press: Callable[[], object],
    gone: Callable[[float], bool],
    *,
    timeout: float,
    progress: Callable[[str], None],
    pressed: bool = False,
) -> bool:
    """Press the guest's power button (unless the caller just ``pressed`` it) and wait, pressing again every
    few seconds, until ``gone(wait)`` says it went or ``timeout`` is up; whether it went. A guest still
    booting drops a press (its ACPI handler is not up yet): press again rather than wait for nothing."""
    progress(f"waiting up to {timeout:.0f} s for the guest to power off")
    deadline = time.monotonic() + timeout
    while True:
        if not pressed:
            press()
        pressed = False
        if gone(min(POWER_BUTTON_REPEAT, max(0.0, deadline - time.monotonic()))):
            return True
        if time.monotonic() >= deadline:
            return False
