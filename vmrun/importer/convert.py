"""A read script into a profile table plus notes: the mappers in order, then the whole-command checks."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import Any

from vmrun.importer.devices import map_drives, map_hotplug_ports, map_spice
from vmrun.importer.machine import map_machine
from vmrun.importer.nics import map_nics
from vmrun.importer.options import Mapper, split_options
from vmrun.importer.script import Script

# The order vmrun's argv builder gives devices in (vmrun/argv.py); extra_args come last.
_DEVICE_RANK = {"nic": 0, "hotplug": 1, "vdagent": 2, "drive": 3, "cdrom": 4}
_KEY_ORDER = (
    "name", "qemu", "process", "debug_threads", "accel", "machine", "hotplug_slots", "memory", "smp", "cpu", "vga", "display",
    "kernel", "initrd", "append", "cdrom", "extra_args", "spice", "drives", "nics",
)  # fmt: skip
# What `vmrun up` can change without editing the profile.
_UP_OPTIONS = {"memory": "--memory", "smp": "--smp"}


@dataclass
class Converted:
    profile: dict[str, Any]  # without "name": the caller decides it
    script_name: tuple[str, int] | None  # the script's -name and its line
    notes: list[tuple[int | None, str]]
    origins: list[tuple[str, Any]]


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
    map_hotplug_ports(m)
    map_spice(m)
    map_drives(m)
    map_nics(m)
    extra = m.extra_args()
    if extra:
        m.set("extra_args", extra)
    _check_order(m)
    ordered = {k: m.profile[k] for k in _KEY_ORDER if k in m.profile}
    notes = sorted(script.notes + m.notes, key=lambda n: n[0] or 0)
    return Converted(ordered, m.script_name, notes, m.origins)


def _check_order(m: Mapper) -> None:
    """Devices that vmrun gives in another order may land in other PCI slots (and guest names like ens3)."""
    ranks = []
    for opt in m.opts:
        if opt.name not in ("-device", "-nic", "-drive", "-net", "-cdrom"):
            continue  # a -netdev or a -chardev makes no guest device
        what = m.taken.get(opt.index)
        if what in _DEVICE_RANK:
            ranks.append((_DEVICE_RANK[what], opt))
        elif what is None:
            ranks.append((len(_DEVICE_RANK), opt))
    for (before, _), (after, opt) in zip(ranks, ranks[1:]):
        if after < before:
            m.note(opt.line, f"{opt.argv[0]} {opt.text.split(',')[0]}: vmrun gives devices in the order NICs, "
                   "hot-plug ports, SPICE agent, disks, CD-ROM, then extra_args; PCI slots (and so guest "
                   "names like ens3) may move")
            return


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
            out.append((source.line, f"{what} comes from {p.raw} ({who}) at its default {json.dumps(p.default)}; "
                        f"to change it: {how}"))
    return out
