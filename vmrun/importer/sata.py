"""Disks and CD-ROMs on an AHCI controller the script adds: ``interface = "sata"`` drives.

``-device ahci,id=sata`` (``ahci`` is QEMU's other name for ``ich9-ahci``) ``-drive if=none,id=d0,file=X -device ide-hd,drive=d0,bus=sata.0`` is what vmrun
gives a sata drive itself (devices/drives.py: one ``ahci`` of its own, its drives on ports 0, 1, ...
in the profile's order). Taken only when it is that: one plain ``ahci``, its ports used from 0 without
a gap, each device naming nothing but its drive and port, each drive settings the profile has.
q35's own AHCI (``bus=ide.N``) is not vmrun's controller: such drives stay in extra_args.
"""

from __future__ import annotations

import bisect
from dataclasses import replace
from typing import Any

from vmrun.importer.options import Mapper, Opt, Unfit, boolean, parse_opts
from vmrun.profile import fields

_DRIVE_KEYS = {"file", "if", "id", "format", "aio", "cache", "readonly", "snapshot", "media"}
_KINDS = {"ide-hd": "disk", "ide-cd": "cdrom"}


def map_sata(m: Mapper) -> None:
    controllers = [o for o in m.named("-device") if parse_opts(o.text, "driver")[0] in ("ahci", "ich9-ahci")]
    if len(controllers) != 1:
        return
    ahci = controllers[0]
    keys = dict(parse_opts(ahci.text, "driver")[1])
    if set(keys) != {"id"}:
        return
    try:
        ports = _ports(m, keys["id"])
        drives = [_drive(m, device, kind) for _, device, kind in ports]
    except Unfit as e:
        m.keep(ahci, f"{e}: the controller and its drives stay as the script has them")
        return
    if not drives:
        return
    m.take(ahci, "sata")
    for (_, device, _), (drive_opt, drive) in zip(ports, drives, strict=True):
        m.take(device, "sata")
        m.take(drive_opt, "sata")
        _insert(m, drive_opt.index, drive)
    m.note(ahci.line, f'{ahci}: its {len(drives)} drive(s) imported as [[drives]] interface = "sata" (vmrun\'s AHCI)')


def _insert(m: Mapper, index: int, drive: dict[str, Any]) -> None:
    """Into [[drives]] where the script gives its -drive, as vmrun gives its drives in the profile's
    order; the drives after it move up one, in what the import recorded of them too."""
    place = bisect.bisect(m.drive_opts, index)
    m.drive_opts.insert(place, index)
    m.profile.setdefault("drives", []).insert(place, drive)
    moved = {f"drives.{i}": f"drives.{i + 1}" for i in range(place, len(m.drive_opts) - 1)}
    m.origins = [(_renumbered(key, moved), source) for key, source in m.origins]
    for i, opt_index in enumerate(m.drive_opts):
        if m.taken.get(opt_index, "").startswith("drive:"):
            m.taken[opt_index] = f"drive:{i}"


def _renumbered(key: str, moved: dict[str, str]) -> str:
    head, dot, rest = key.partition(".")
    first = f"{head}.{rest.partition('.')[0]}"
    return moved[first] + key[len(first) :] if first in moved else key


def _ports(m: Mapper, ahci_id: str) -> list[tuple[int, Opt, str]]:
    """The devices on the controller, by port; Unfit unless ports 0..n-1 each hold one plain ide-hd/ide-cd."""
    found = []
    for opt in m.named("-device"):
        driver, pairs = parse_opts(opt.text, "driver")
        keys = dict(pairs)
        bus = keys.get("bus", "")
        if not bus.startswith(f"{ahci_id}."):
            continue
        if driver not in _KINDS or set(keys) != {"drive", "bus"}:
            raise Unfit(f"{opt}: vmrun's sata drives are ide-hd and ide-cd with a drive and a port only")
        port = bus[len(ahci_id) + 1 :]
        if not port.isdigit():
            raise Unfit(f"{opt}: bus={bus} is not a port")
        found.append((int(port), opt, driver))
    found.sort(key=lambda p: p[0])
    if [p for p, _, _ in found] != list(range(len(found))):
        raise Unfit("vmrun fills the controller's ports from 0 in order; the script leaves a gap")
    return found


def _drive(m: Mapper, device: Opt, driver: str) -> tuple[Opt, dict[str, Any]]:
    drive_id = dict(parse_opts(device.text, "driver")[1])["drive"]
    for opt in m.opts:
        if opt.name != "-drive" or opt.value is None:
            continue
        keys = dict(parse_opts(opt.text)[1])
        if keys.get("id") != drive_id:
            continue
        if keys.get("if") != "none" or set(keys) - _DRIVE_KEYS or "file" not in keys:
            raise Unfit(f"{opt}: not a drive vmrun's sata drives can say")
        cdrom = _KINDS[driver] == "cdrom"
        if cdrom != (keys.get("media") == "cdrom"):
            raise Unfit(f"{opt}: a {driver} needs a drive with{'' if cdrom else 'out'} media=cdrom, as vmrun gives it")
        drive: dict[str, Any] = {
            "file": m.path(replace(opt.value, text=keys["file"]), "the drive"),
            "interface": "sata",
        }
        if cdrom:
            drive["media"] = "cdrom"
        for key in ("format", "aio", "cache"):
            if key in keys:
                drive[key] = fields.parse_word(keys[key])
        for key in ("readonly", "snapshot"):
            if key in keys and boolean(key, keys[key]) and not (cdrom and key == "readonly"):
                drive[key] = True
        if cdrom and "snapshot" in drive:
            raise Unfit(f"{opt}: snapshot= on a CD-ROM")
        return opt, drive
    raise Unfit(f"{device}: there is no -drive id={drive_id}")
