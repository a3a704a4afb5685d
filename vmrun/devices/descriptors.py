"""Which UEFI firmware a profile boots: chosen from QEMU's firmware descriptors, never by a file name.

The descriptors (QEMU's docs/interop/firmware.json, the format libvirt reads too) are JSON
files in ``/usr/share/qemu/firmware``, ``/etc/qemu/firmware`` and
``$XDG_CONFIG_HOME/qemu/firmware``; a file in a later folder replaces one of the same name in
an earlier folder (an empty one hides it), and they are tried in the order of their names.
The first whose interface is UEFI, whose target is x86_64 on the profile's machine, which maps
to flash with an NVRAM template, and whose features fit ``secure_boot`` is taken:

- ``secure_boot = true``: ``secure-boot`` and ``enrolled-keys`` (Debian: Microsoft's keys);
- else no ``enrolled-keys`` (such firmware enforces Secure Boot from the first boot), and
  firmware that does not require SMM before firmware that does.

Descriptors name versioned machines (``pc-q35-*``); QEMU's aliases ``pc`` and ``q35`` stand
for their newest version, which such a pattern matches.
"""

from __future__ import annotations

import fnmatch
import json
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from vmrun.devices.firmware import ENROLLED_KEYS, SECURE_BOOT, FirmwareFiles
from vmrun.errors import PreflightError
from vmrun.profile.model import Profile

ALIASES = {"pc": "pc-i440fx-", "q35": "pc-q35-"}
PACKAGE = "ovmf"  # Debian's: OVMF and its descriptors


def search_path() -> list[Path]:
    """The descriptor folders, lowest priority first."""
    config = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return [Path("/usr/share/qemu/firmware"), Path("/etc/qemu/firmware"), Path(config) / "qemu" / "firmware"]


def descriptor_files(folders: Iterable[Path]) -> list[Path]:
    """Each descriptor once (a later folder wins for a name; an empty file hides it), by name."""
    by_name: dict[str, Path] = {}
    for folder in folders:
        try:
            names = sorted(p for p in folder.iterdir() if p.name.endswith(".json"))
        except OSError:
            continue
        for path in names:
            by_name[path.name] = path
    return [path for name, path in sorted(by_name.items()) if _size(path) > 0]


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return 0


def machine_name(profile: Profile) -> str:
    """The machine a descriptor's pattern is matched against (an alias stands for its newest version)."""
    head = (profile.machine or "pc").split(",")[0]
    return ALIASES[head] + "newest" if head in ALIASES else head


def read(path: Path, machine: str) -> FirmwareFiles | None:
    """The UEFI flash firmware ``path`` offers for x86_64 on ``machine``, or None (unreadable descriptors too)."""
    try:
        data: Any = json.loads(path.read_text())
        if "uefi" not in data.get("interface-types", []):
            return None
        if not any(
            t.get("architecture") == "x86_64" and any(fnmatch.fnmatchcase(machine, m) for m in t.get("machines", []))
            for t in data.get("targets", [])
        ):
            return None
        mapping = data["mapping"]
        if mapping.get("device") != "flash" or "nvram-template" not in mapping:
            return None
        code, template = mapping["executable"], mapping["nvram-template"]
        return FirmwareFiles(
            descriptor=str(path),
            code=code["filename"],
            code_format=code.get("format", "raw"),
            template=template["filename"],
            template_format=template.get("format", "raw"),
            features=frozenset(data.get("features", [])),
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def fits(files: FirmwareFiles, secure_boot: bool) -> bool:
    if secure_boot:
        return {SECURE_BOOT, ENROLLED_KEYS} <= files.features
    return ENROLLED_KEYS not in files.features


def choose(profile: Profile, folders: Iterable[Path] | None = None) -> FirmwareFiles:
    """The firmware ``profile`` boots (it has ``firmware = "uefi"``); refused in one line if none fits."""
    folders = list(search_path() if folders is None else folders)
    machine = machine_name(profile)
    offered = [f for f in (read(p, machine) for p in descriptor_files(folders)) if f is not None]
    fitting = [f for f in offered if fits(f, profile.secure_boot)]
    if fitting:
        return sorted(fitting, key=lambda f: f.requires_smm and not profile.secure_boot)[0]  # stable: by name
    what = "UEFI firmware with Secure Boot and enrolled keys" if profile.secure_boot else "UEFI firmware"
    where = ", ".join(str(f) for f in folders)
    raise PreflightError(
        f"no firmware descriptor offers {what} for x86_64 on {profile.machine or 'pc'} (looked in {where})",
        source=profile.source,
        field="secure_boot" if profile.secure_boot and offered else "firmware",
        hint=f"apt-get install {PACKAGE} (it ships OVMF and its descriptors in /usr/share/qemu/firmware)",
    )
