"""Where a VM keeps what must outlive a run: its UEFI variables (NVRAM), its TPM's state.

One folder per VM, ``DATA/NAME`` (0700), made on first use and never removed by `down` or
`gc` (it is the VM's, like its disks): ``vmrun down`` ends a run, not the VM. DATA is
``$VMRUN_DATA_DIR`` if set (refused unless it is ours), else ``/var/lib/vmrun`` for root
(as ``/run/vmrun`` is its runtime folder), else ``$XDG_DATA_HOME/vmrun`` (default
``~/.local/share/vmrun``). As for run folders, a folder is used only if it belongs to the
invoking user and no one else can write to it.
"""

from __future__ import annotations

import os
from pathlib import Path

from vmrun.errors import FileError, StateError
from vmrun.rundir import _unsafe, check_name, from_environment


def data_root() -> Path:
    """The data folder for this user, checked; not created here."""
    if explicit := from_environment("VMRUN_DATA_DIR"):
        return explicit
    if os.geteuid() == 0:
        root = Path("/var/lib/vmrun")
    else:
        root = Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / "vmrun"
    if problem := _unsafe(root):
        raise StateError(
            f"the data folder {root} {problem}", hint="remove it, or set VMRUN_DATA_DIR to a folder of your own"
        )
    return root


def for_vm(name: str, *, create: bool = True) -> Path:
    """``DATA/NAME``, made (0700) if missing and ``create``; refused if it is not ours."""
    path = data_root() / check_name(name)
    if problem := _unsafe(path):
        raise StateError(
            f"{name}: its data folder {path} {problem}; vmrun leaves it alone",
            hint="vmrun keeps a VM's NVRAM and TPM state only in folders it made as you",
        )
    if create:
        try:
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            path.mkdir(mode=0o700, exist_ok=True)
        except OSError as e:
            raise FileError.from_os(e, path, doing="cannot create") from None
        if problem := _unsafe(path):  # made meanwhile by someone else
            raise StateError(f"{name}: its data folder {path} {problem}; vmrun leaves it alone")
    return path
