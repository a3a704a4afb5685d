"""`vmrun up`: preflight, prepare every NIC's host side, start QEMU detached, wait for QMP.

Everything made on the way is entered on one ExitStack; only when QMP has
answered is the stack let go of (the VM then owns it, recorded in state.json).
Any failure or Ctrl-C before that undoes all of it, QEMU included.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

from vmrun import accel as accel_mod
from vmrun import preflight, proc
from vmrun.argv import Control, build_argv
from vmrun.errors import LaunchError, QmpError, StateError
from vmrun.hostnet.ensure import ensure_networks
from vmrun.net import PrepareContext, PreparedNic, backend_for
from vmrun.net.hostobj import Recorder
from vmrun.profile.model import Accel, Profile
from vmrun.qmp import listen, wait_greeting
from vmrun.rundir import RunDir

QMP_TIMEOUT = 30.0


@dataclass
class Launched:
    run: RunDir
    state: dict[str, Any]
    process: subprocess.Popen[bytes]


def refuse_if_running(run: RunDir) -> None:
    """A live VM of this name stops us; the leftovers of a dead one are cleared away."""
    if not run.exists():
        return
    state = run.read_state() or {}
    pid = state.get("pid")
    if pid and proc.alive(pid, state.get("pid_start")):
        raise StateError(f"{run.name}: already running (pid {pid})", hint=f"vmrun down {run.name}")
    from vmrun.control import release_run

    release_run(run)


def up(profile: Profile, *, notice: Callable[[str], None] = lambda _: None) -> Launched:
    choice = accel_mod.choose(profile.accel)
    if choice.notice:
        notice(choice.notice)
    elif choice.accel is Accel.KVM and (problem := accel_mod.kvm_problem()):
        notice(f"accel = \"kvm\" but {problem}; the guest may hang (accel = \"auto\" falls back to TCG)")
    for warning in spice_warnings(profile):
        notice(warning)
    run = RunDir.for_vm(profile.name)
    refuse_if_running(run)
    ensure_networks(profile, notice)  # host set-up the profile lists; `down` leaves it
    qemu = preflight.run_all(profile)
    run.create()
    with run.locked(), ExitStack() as stack:
        stack.callback(run.remove)
        ctx = PrepareContext(profile, run.path, stack, Recorder(run.path))
        prepared = []
        for nic in profile.nics:
            ctx.nic_id = nic.id
            prepared.append(backend_for(nic).prepare(nic, ctx))
        qmp_fd = listen(run.qmp).detach()
        ctx.own_fds([qmp_fd])
        control = Control(str(run.qmp), str(run.serial), str(run.serial_log), _spice_password_file(profile, run), qmp_fd)
        argv = build_argv(
            profile, {p.nic.id: p.netdev for p in prepared}, qemu=qemu, accel=choice.accel, control=control
        )
        process = _spawn(argv, run, list(ctx.fds))
        stack.callback(_kill, process)
        # QEMU holds its own copies now: a tap lives as long as they do, and with our copy
        # of the QMP socket gone, a QEMU that dies shows at once as a reset connection.
        ctx.close_fds()
        state = _state(profile, run, argv, choice.accel.value, process, prepared)
        run.write_state(state)
        try:
            wait_greeting(run.qmp, timeout=QMP_TIMEOUT, still_starting=lambda: process.poll() is None)
        except QmpError as e:
            raise LaunchError(
                f"QEMU did not start ({e})" if process.poll() is None else f"QEMU exited with status {process.returncode}",
                argv=argv,
                exit_code=process.returncode,
                output_tail=_tail(run),
                hint=f"the full command is in `vmrun show {profile.name}`",
            ) from None
        stack.pop_all()
    return Launched(run, state, process)


def _spawn(argv: list[str], run: RunDir, fds: list[int]) -> subprocess.Popen[bytes]:
    try:
        # umask 177 makes the sockets and logs QEMU creates 0600.
        return proc.spawn_detached(argv, run.qemu_log, pass_fds=fds, umask=0o177)
    except OSError as e:
        raise LaunchError(f"cannot run {argv[0]}: {e.strerror}", argv=argv) from None


def _kill(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        process.kill()
    process.wait()


def _tail(run: RunDir, lines: int = 5) -> str:
    try:
        return "\n".join(run.qemu_log.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def _spice_password_file(profile: Profile, run: RunDir) -> str | None:
    if not (profile.spice and profile.spice.ticketing and profile.spice.password is not None):
        return None
    path = run.path / "spice-password"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(profile.spice.password)
    return str(path)


def spice_warnings(profile: Profile) -> list[str]:
    s = profile.spice
    if s is None or s.addr.startswith("127.") or s.addr in ("localhost", "::1"):
        return []
    if not s.ticketing or s.password is None:
        return [f"SPICE listens on {s.addr}:{s.port} without a password: anyone who reaches it gets the screen"]
    return []


def _state(
    profile: Profile, run: RunDir, argv: list[str], accel: str, process: subprocess.Popen[bytes], prepared: list[PreparedNic]
) -> dict[str, Any]:
    return {
        "name": profile.name,
        "profile": os.path.abspath(profile.source),
        "pid": process.pid,
        "pid_start": proc.start_time(process.pid),
        "started": time.time(),
        "accel": accel,
        "argv": argv,
        "nics": [
            {"id": p.nic.id, "type": p.nic.type.value, "model": p.nic.model, "mac": p.nic.mac, "host": p.host}
            for p in prepared
        ],
        "forwards": [{"nic": nic.id, "rule": str(fwd)} for nic, fwd in profile.forwards],
        "spice": {"addr": profile.spice.addr, "port": profile.spice.port} if profile.spice else None,
    }
