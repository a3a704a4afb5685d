"""``[tpm]``: the VM's swtpm, started before QEMU, stopped with its run; QEMU talks to its control socket.

Who stops this swtpm: it exits by itself when QEMU closes the socket (whether QEMU quit or was
killed); the :class:`~vmrun.net.hostobj.Swtpm` record in the run folder is what `down`, `gc` and
a failed `up` release should it still run (a QEMU that never connected, a vmrun killed mid-`up`).
The record is written before swtpm starts and completed with its pid once it has, so a vmrun
killed at any moment leaves nothing `gc` cannot find. The TPM's state (keys, NV indices) is the
VM's: it lives in the VM's data folder (:mod:`vmrun.datadir`) and outlives `down` and `gc`.

Under libvirt none of this runs: libvirt starts its own swtpm (engines/libvirt/xmltpm.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

from vmrun import datadir
from vmrun.devices import daemon
from vmrun.errors import FileError, PreflightError
from vmrun.net.base import PrepareContext
from vmrun.net.hostobj import Swtpm
from vmrun.profile.model import Profile, Tpm, TpmVersion
from vmrun.rundir import RunDir

CTRL = "swtpm.sock"
LOG = "swtpm.log"
STATE = "tpm"  # in the VM's data folder; swtpm names its files by version, so 1.2 and 2.0 can share it


def ctrl_path(run_dir: Path) -> Path:
    return run_dir / CTRL


def state_dir(name: str) -> Path:
    return datadir.for_vm(name, create=False) / STATE


def swtpm_argv(swtpm: str, tpm: Tpm, state: Path, ctrl: Path, log: Path) -> list[str]:
    """In the foreground, so that the pid vmrun records is swtpm's own."""
    argv = [swtpm, "socket"]
    if tpm.version is TpmVersion.V2:
        argv.append("--tpm2")
    argv += ["--tpmstate", f"dir={state}"]
    argv += list(Swtpm(str(ctrl)).marker)  # --ctrl type=unixio,path=CTRL: also how vmrun knows it again
    argv += ["--log", f"file={log},level=1"]
    return argv


def preflight(profile: Profile) -> None:
    if profile.tpm is None:
        return
    if shutil.which("swtpm") is None:
        raise PreflightError(
            "swtpm is not installed ([tpm] needs it)",
            source=profile.source,
            field="tpm",
            hint="apt-get install swtpm swtpm-tools (or dnf install swtpm swtpm-tools)",
        )
    for what, path in (("run", RunDir.for_vm(profile.name).path), ("data", state_dir(profile.name))):
        if "," in str(path):
            # swtpm splits its options at commas and knows no escape for them.
            raise PreflightError(
                f"swtpm cannot be given a path with a comma: the VM's {what} folder {path}",
                source=profile.source,
                field="tpm",
                hint=f"set VMRUN_{'RUNTIME' if what == 'run' else 'DATA'}_DIR to a folder without one",
            )


def prepare(profile: Profile, ctx: PrepareContext) -> str | None:
    """Start the VM's swtpm (recorded, undone if `up` fails); its control socket, for the argv."""
    if profile.tpm is None:
        return None
    swtpm = shutil.which("swtpm") or "swtpm"
    datadir.for_vm(profile.name)  # made, and checked ours, if missing
    state = state_dir(profile.name)
    try:
        state.mkdir(mode=0o700, exist_ok=True)
    except OSError as e:
        raise FileError.from_os(e, state, doing="cannot create") from None
    ctrl, log = ctrl_path(ctx.run_dir), ctx.run_dir / LOG
    argv = swtpm_argv(swtpm, profile.tpm, state, ctrl, log)
    daemon.start(ctx, argv, log, ctrl, record=lambda pid, start: Swtpm(str(ctrl), pid, start))
    return str(ctrl)


def socket_for_show(profile: Profile) -> str | None:
    """Where `up` will put swtpm's control socket: what `vmrun show` prints."""
    return None if profile.tpm is None else str(ctrl_path(RunDir.for_vm(profile.name).path))
