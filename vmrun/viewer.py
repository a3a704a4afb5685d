"""`vmrun viewer`: open remote-viewer (virt-viewer) on a VM's SPICE display, the password never on a command line.

The connection goes in a ``.vv`` file (mode 0600, in the VM's run folder) that
remote-viewer reads and then deletes (``delete-this-file=1``); `down` removes
the run folder with anything left in it. A VM that libvirt runs is reached
through its domain's ``<graphics type='spice'>`` element, as ``virsh domdisplay``
does.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vmrun.display import Display
from vmrun.errors import StateError, VmrunError

if TYPE_CHECKING:
    from vmrun.engines.base import RunningVm

VIEWER = "remote-viewer"
INSTALL_HINT = "apt install virt-viewer (it has remote-viewer); or open the URI with any SPICE client"
READ_TIMEOUT = 10.0  # seconds a detached viewer has to read its .vv (then `down` removes any left)
EARLY_EXIT = 1.0  # and is watched after: one that cannot connect or open its display dies within this


@dataclass(frozen=True)
class Opened:
    display: Display
    viewer: str | None  # the program, None when none is installed
    pid: int | None = None  # a detached viewer's pid
    exit_code: int | None = None  # with --wait

    def as_json(self) -> dict[str, Any]:
        return {
            "name": self.display.name,
            "uri": self.display.uri,
            "viewer": self.viewer,
            "pid": self.pid,
            "exit_code": self.exit_code,
        }


def _keyfile_value(text: str) -> str:
    """A GKeyFile string: backslash escapes, and a leading space kept (\\s)."""
    text = text.replace("\\", "\\\\")
    return "\\s" + text[1:] if text.startswith(" ") else text


def vv_text(d: Display) -> str:
    lines = ["[virt-viewer]", "type=spice", f"host={d.host}", f"port={d.port}"]
    if d.password is not None:
        lines.append(f"password={_keyfile_value(d.password)}")
    lines += [f"title={_keyfile_value(d.name)} (vmrun)", "delete-this-file=1", ""]
    return "\n".join(lines)


def write_vv(folder: Path, d: Display) -> Path:
    """A fresh 0600 file (mkstemp), so that two viewers never share one and nobody else can read it."""
    fd, path = tempfile.mkstemp(dir=folder, prefix="viewer-", suffix=".vv")
    with os.fdopen(fd, "w") as f:
        f.write(vv_text(d))
    return Path(path)


def open_viewer(vm: RunningVm, *, wait: bool) -> Opened:
    display = vm.display()
    viewer = shutil.which(VIEWER)
    if viewer is None:
        return Opened(display, None)
    if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
        raise StateError(
            "no graphical display here (DISPLAY is not set) for remote-viewer to open",
            hint=f"vmrun viewer {display.name} --print gives the URI to open elsewhere",
        )
    private = vm.private_folder()
    with tempfile.TemporaryDirectory(prefix="vmrun-viewer-") as scratch:  # libvirt VMs have no run folder here
        folder = private or Path(scratch)
        vv = write_vv(folder, display)
        read = False
        try:
            if wait:
                code = subprocess.run([viewer, str(vv)], stdin=subprocess.DEVNULL).returncode
                return Opened(display, viewer, exit_code=code)
            opened = _detached(viewer, vv, folder, display)
            read = True
            return opened
        finally:
            if not read:
                vv.unlink(missing_ok=True)  # the viewer has exited: read or not, no one else may have it


def _detached(viewer: str, vv: Path, folder: Path, display: Display) -> Opened:
    """Started in its own session; watched until it has read (and deleted) the file, or has failed."""
    from vmrun import proc

    log = folder / "viewer.log"
    process = proc.spawn_detached([viewer, str(vv)], log)
    deadline = time.monotonic() + READ_TIMEOUT
    while time.monotonic() < deadline and process.poll() is None and vv.exists():
        time.sleep(0.05)
    early = time.monotonic() + EARLY_EXIT  # a viewer that cannot open its display dies just after reading
    while time.monotonic() < early and process.poll() is None:
        time.sleep(0.05)
    if process.poll() is not None and process.returncode != 0:
        tail = log.read_text(errors="replace").strip().splitlines()[-1:] if log.exists() else []
        raise VmrunError(
            f"{VIEWER} exited with status {process.returncode}" + (f": {tail[0]}" if tail else ""),
            hint=f"vmrun viewer {display.name} --wait shows all it says",
        )
    return Opened(display, viewer, pid=process.pid)
