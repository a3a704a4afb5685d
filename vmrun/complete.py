"""Shell completion of NAME arguments: profile names from the profile path, running VMs from the runtime folder.

Typer calls these only while completing (``_VMRUN_COMPLETE`` is set), so they
import what they need inside: `vmrun --help` pays nothing for them. They must be
cheap (a shell waits on them at every Tab): folder listings only, no TOML
parsing, no QMP, and never an error: a folder that cannot be read offers nothing.
"""

from __future__ import annotations

import os


def profile_names(incomplete: str) -> list[str]:
    """Profiles `up` and `show` would find by name (first folder wins, as in load.find_profile), or .toml paths."""
    if os.sep in incomplete or incomplete.startswith("."):
        return _toml_paths(incomplete)
    from vmrun.profile.paths import search_path

    names: list[str] = []
    for folder in search_path():
        try:
            entries = sorted(os.listdir(folder))
        except OSError:
            continue
        for entry in entries:
            stem, ext = os.path.splitext(entry)
            if ext == ".toml" and stem.startswith(incomplete) and stem not in names:
                names.append(stem)
    return names


def _toml_paths(incomplete: str) -> list[str]:
    folder, _, start = incomplete.rpartition(os.sep)
    try:
        entries = sorted(os.listdir(folder or "."))
    except OSError:
        return []
    prefix = f"{folder}{os.sep}" if folder or incomplete.startswith(os.sep) else ""
    found = []
    for entry in entries:
        if not entry.startswith(start):
            continue
        if os.path.isdir(os.path.join(folder or ".", entry)):
            found.append(f"{prefix}{entry}{os.sep}")
        elif entry.endswith(".toml"):
            found.append(f"{prefix}{entry}")
    return found


def vm_names(incomplete: str) -> list[str]:
    """The VMs that have a run folder (the names of the folders: no state read, no QEMU asked)."""
    from vmrun.errors import VmrunError
    from vmrun.rundir import all_run_dirs

    try:
        runs = all_run_dirs()
    except VmrunError:
        return []
    return [r.name for r in runs if r.name.startswith(incomplete)]
