"""A read script into a profile table plus notes: the mappers in order, then the whole-command checks."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from vmrun.importer import pci
from vmrun.importer.audio import map_audio
from vmrun.importer.bootdebug import map_boot, map_gdb, map_isa_serials, map_serials
from vmrun.importer.buses import map_buses
from vmrun.importer.devices import map_drives, map_guest_agent, map_hotplug_ports, map_spice
from vmrun.importer.everyday import map_everyday
from vmrun.importer.machine import map_machine
from vmrun.importer.nics import map_nics
from vmrun.importer.options import Mapper, is_q35, parse_opts, split_options
from vmrun.importer.removed import map_redirects, map_removed
from vmrun.importer.sata import map_sata
from vmrun.importer.script import Script
from vmrun.importer.wholevm import StateCopy, map_whole_vm

_KEY_ORDER = (
    "name",
    "qemu",
    "process",
    "debug_threads",
    "accel",
    "machine",
    "hotplug_slots",
    "memory",
    "smp",
    "cpu",
    "vga",
    "display",
    "kernel",
    "initrd",
    "append",
    "cdrom",
    "firmware",
    "secure_boot",
    "audio",
    "audio_backend",
    "tablet",
    "rtc",
    "boot",
    "boot_menu",
    "gdb",
    "bus_devices",
    "agent",
    "extra_args",
    "spice",
    "tpm",
    "drives",
    "nics",
    "shares",
    "usb",
    "pci",
    "serials",
)
# What `vmrun up` can change without editing the profile.
_UP_OPTIONS = {"memory": "--memory", "smp": "--smp"}


@dataclass
class Converted:
    profile: dict[str, Any]  # without "name": the caller decides it
    script_name: tuple[str, int] | None  # the script's -name and its line
    notes: list[tuple[int | None, str]]
    origins: list[tuple[str, Any]]
    copies: list[StateCopy]  # the script's UEFI variables and swtpm state, for the VM's data folder


def convert(script: Script) -> Converted:
    m = Mapper(script, split_options(script.argv))
    program = script.program.text
    if os.path.basename(program) != program and not os.path.isabs(program):
        program = m.path(script.program, "QEMU")
    if program != "qemu-system-x86_64":
        m.set("qemu", program, script.program)
    if script.wrapper:
        m.note(script.program.line, f"the script runs QEMU under {' '.join(script.wrapper)!r}; vmrun does not")
    map_machine(m)  # first: a -nic's default model depends on the machine type
    map_removed(m)  # before the devices: -usb -device usb-tablet is a key
    map_everyday(m)  # after the removed -localtime and -usbdevice tablet
    map_audio(m)  # after -soundhw
    map_serials(m)
    map_isa_serials(m)  # after -serial: the ports it numbered come first
    map_gdb(m)
    map_hotplug_ports(m)
    map_spice(m)
    map_guest_agent(m)
    copies = map_whole_vm(m)  # before the drives: -drive if=pflash is firmware
    map_drives(m)
    map_sata(m)  # after the drives: its -drive if=none ones are the controller's
    map_boot(m)  # after the firmware and the kernel: under either, -boot order= stays as it is
    map_nics(m)
    map_buses(m)  # after the NICs: the ports they name
    map_redirects(m)  # -redir: a forward of the user NIC
    extra = m.extra_args()
    if extra:
        m.set("extra_args", extra)
    _pin_slots(m)
    ordered = {k: m.profile[k] for k in _KEY_ORDER if k in m.profile}
    notes = sorted(script.notes + m.notes, key=lambda n: n[0] or 0)
    return Converted(ordered, m.script_name, notes, m.origins, copies)


def _pin_slots(m: Mapper) -> None:
    """Pin the script's PCI slots on NICs and disks where vmrun's device order would move them."""
    q35 = is_q35(m)
    names = [o.name for o in m.opts]
    usb = "-usb" in names
    vga = m.profile.get("vga")
    drivers = [parse_opts(o.text, "driver")[0] or "" for o in m.opts if o.name == "-device"]
    builtin_vga = pci.wants_builtin_vga(vga, "-nodefaults" in names, drivers)
    script = pci.assign(q35, builtin_vga, usb, _script_order(m))
    ours = pci.assign(q35, builtin_vga, usb, _vmrun_order(m))
    if all(ours.get(k) == v for k, v in script.items()):
        return
    pinned = []
    for nic in m.profile.get("nics", []):
        if f"nic:{nic['id']}" in script:
            nic["addr"] = pci.addr_text(script[f"nic:{nic['id']}"])
            pinned.append(f"NIC {nic['id']} at {nic['addr']}")
    ours = pci.assign(q35, builtin_vga, usb, _vmrun_order(m))
    for i, drive in enumerate(m.profile.get("drives", [])):
        # Only a disk the pinned NICs still leave elsewhere: QEMU 7.2's -drive takes no addr= (argv.py).
        if f"drive:{i}" in script and ours.get(f"drive:{i}") != script[f"drive:{i}"]:
            drive["addr"] = pci.addr_text(script[f"drive:{i}"])
            pinned.append(f"disk {i} at {drive['addr']}")
    ours = pci.assign(q35, builtin_vga, usb, _vmrun_order(m))
    moved = sorted(k for k, v in script.items() if ours.get(k) != v)
    line = m.script.program.line
    if pinned:
        m.note(
            line,
            "vmrun gives NICs first and disks last, the script another order: pinned to the script's "
            f"PCI slots, so the guest's interface names (ens3...) stay: {', '.join(pinned)}",
        )
    if moved:
        m.note(
            line, f"devices kept in extra_args may still sit in other PCI slots than the script's ({', '.join(moved)})"
        )


def _root_device(opt) -> tuple[bool, str | None]:
    driver, pairs = parse_opts(opt.text, "driver")
    keys = dict(pairs)
    return pci.is_root_pci(driver or "", keys.get("bus")), keys.get("addr")


def _legacy_nics(m: Mapper, *, taken: bool):
    """-nic NICs, then -net nic ones: QEMU makes both at machine init, in that order."""
    for name in ("-nic", "-net"):
        for opt in m.opts:
            if opt.name != name or opt.value is None or (opt.index in m.taken) != taken:
                continue
            kind, pairs = parse_opts(opt.text, "type")
            keys = dict(pairs)
            if name == "-net" and kind != "nic" or kind == "none" or keys.get("model") == "ne2k_isa":
                continue
            yield opt, keys.get("addr")


def _key(m: Mapper, opt) -> str:
    what = m.taken.get(opt.index, "")
    return what if what.startswith(("nic:", "drive:")) else f"opt:{opt.index}"


def _virtio_drives(m: Mapper, *, taken: bool):
    for opt in m.opts:
        if opt.name == "-drive" and (opt.index in m.taken) == taken:
            keys = dict(parse_opts(opt.text)[1])
            if keys.get("if") == "virtio":
                yield opt, keys.get("addr")


def _script_order(m: Mapper) -> list[pci.Dev]:
    order = [pci.Dev(_key(m, opt), addr) for opt, addr in _legacy_nics(m, taken=True)]
    order += [pci.Dev(_key(m, opt), addr) for opt, addr in _legacy_nics(m, taken=False)]
    for opt in m.opts:
        if opt.name == "-device" and opt.value is not None:
            root, addr = _root_device(opt)
            if root:
                order.append(pci.Dev(_key(m, opt), addr))
    order += [pci.Dev(_key(m, opt), addr) for opt, addr in _virtio_drives(m, taken=True)]
    order += [pci.Dev(_key(m, opt), addr) for opt, addr in _virtio_drives(m, taken=False)]
    return order


def _vmrun_order(m: Mapper) -> list[pci.Dev]:
    """The order of vmrun's argv (vmrun/argv.py): bus_devices, NICs, hot-plug ports, SPICE agent, ..., extra_args; disks last."""
    devices = [o for o in m.opts if o.name == "-device" and o.value is not None]
    ports = [o for o in devices if m.taken.get(o.index) == "bus" and _root_device(o)[0]]
    order = [pci.Dev(f"opt:{o.index}", _root_device(o)[1]) for o in ports]  # bus_devices: first
    order += [pci.Dev(_key(m, opt), addr) for opt, addr in _legacy_nics(m, taken=False)]
    order += [pci.Dev(f"nic:{n['id']}", n.get("addr")) for n in m.profile.get("nics", []) if not _on_a_bus(n)]
    for what in (
        "hotplug",
        "vdagent",
        "sata",
        "share",
        "usb",
        "pci",
        "audio",
        "agent",
    ):  # as argv.py gives them (disks: QEMU makes them last; agent: the script's, where vmrun pins its own)
        order += [
            pci.Dev(f"opt:{o.index}", _root_device(o)[1])
            for o in devices
            if m.taken.get(o.index) == what and _root_device(o)[0]
        ]
    order += [
        pci.Dev(f"opt:{o.index}", _root_device(o)[1]) for o in devices if o.index not in m.taken and _root_device(o)[0]
    ]
    drives = m.profile.get("drives", [])
    order += [pci.Dev(f"drive:{i}", d.get("addr")) for i, d in enumerate(drives) if d.get("interface") == "virtio"]
    order += [pci.Dev(_key(m, opt), addr) for opt, addr in _virtio_drives(m, taken=False)]
    return order


def _on_a_bus(nic: dict[str, Any]) -> bool:
    """A NIC on a port the script makes (bus=): not on the root bus, so it takes no root slot."""
    from vmrun.profile.fields import option_pairs

    return "bus" in dict(option_pairs(nic.get("device_options") or ""))


def parameter_notes(origins: list[tuple[str, Any]], profile: dict[str, Any]) -> list[tuple[int, str]]:
    """Say which profile values are the script's parameters, at their defaults, and how to change them."""
    vm = profile["name"]
    out: list[tuple[int, str]] = []
    seen: set[tuple[str, str]] = set()
    for key, source in origins:
        for p in source.params:
            if (key, p.raw) in seen:
                continue
            seen.add((key, p.raw))
            who = f"the script's argument {p.name}" if p.name.isdigit() else f"${p.name} from the environment"
            if key in _UP_OPTIONS:
                how = f"vmrun up {vm} {_UP_OPTIONS[key]} VALUE"
            elif key in profile and not isinstance(profile[key], (dict, list)):
                how = f"vmrun up {vm} --set {key}=VALUE"
            else:
                how = "edit the profile"
            if "." in key:
                table, index = key.split(".", 1)
                what = f"{table}[{index}] uses {source.text!r}, which"
            elif key in profile and not isinstance(profile[key], (dict, list)):
                what = f"{key} = {json.dumps(profile[key])}"
            else:
                what = f"{key} uses {source.text!r}, which"
            out.append(
                (
                    source.line,
                    f"{what} comes from {p.raw} ({who}) at its default {json.dumps(p.default)}; to change it: {how}",
                )
            )
    return out
