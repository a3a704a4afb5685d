"""What the script's VM kept, made the imported VM's own: its UEFI variables and its swtpm state.

Planned first (each copy is a note in the profile written), done once the profile is written.
Nothing the VM already has in its data folder is replaced, unless `import --force`; a variables
file that does not fit the firmware vmrun picks (another size) is not copied: OVMF would not boot.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from vmrun.errors import FileError, PreflightError
from vmrun.importer.wholevm import StateCopy
from vmrun.profile.model import Profile


@dataclass(frozen=True)
class Planned:
    copy: StateCopy
    target: Path | None  # None: not copied (the note says why)
    note: str


def plan(copies: list[StateCopy], profile: Profile, *, written: bool, force: bool) -> list[Planned]:
    from vmrun import datadir
    from vmrun.devices.firmware import NVRAM_FILE
    from vmrun.devices.tpm import STATE

    out = []
    folder = datadir.for_vm(profile.name, create=False)
    for c in copies:
        what = "UEFI variables" if c.kind == "nvram" else "swtpm state"
        target = folder / (NVRAM_FILE if c.kind == "nvram" else STATE)
        why = _unfit(c, profile) if os.path.exists(c.source) else "it is not there"
        if not written:
            why = "the profile is printed, not written"
        elif why is None and target.exists() and not force:
            why = f"the VM has its own at {target} (import --force replaces it)"
        if why:
            out.append(Planned(c, None, f"the script's {what} {c.source}: not copied, {why}"))
        else:
            out.append(Planned(c, target, f"the script's {what} {c.source}: copied to {target}, the VM's own"))
    return out


def _unfit(c: StateCopy, profile: Profile) -> str | None:
    if c.kind == "tpm":
        return None if os.path.isdir(c.source) else "it is not a folder"
    from vmrun.devices import descriptors

    try:
        files = descriptors.choose(profile)
    except PreflightError:
        return None  # no OVMF here to compare with: `up` says what is missing
    if files.template_format == "raw" and os.path.getsize(files.template) != os.path.getsize(c.source):
        return f"its size does not fit the firmware vmrun picks ({files.template}); the VM starts from that"
    return None


def carry_out(planned: list[Planned], vm: str) -> None:
    from vmrun import datadir
    from vmrun.adapters import qemuimg

    for p in planned:
        if p.target is None:
            continue
        datadir.for_vm(vm)  # made ours, or refused
        if p.copy.kind == "nvram":
            qemuimg.convert(p.copy.source, "raw", str(p.target), "qcow2", replace=True)
            continue
        tmp = p.target.with_name(f".{p.target.name}.import-{os.getpid()}")
        try:
            shutil.copytree(p.copy.source, tmp)
            tmp.chmod(0o700)
            if p.target.exists():
                shutil.rmtree(p.target)
            tmp.rename(p.target)
        except OSError as e:
            shutil.rmtree(tmp, ignore_errors=True)
            raise FileError.from_os(e, Path(p.copy.source), doing="cannot copy") from None
