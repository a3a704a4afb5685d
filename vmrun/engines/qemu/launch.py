"""`vmrun up`: take the VM's lock, preflight, prepare every NIC's host side, start QEMU detached, wait until it runs.

The lock comes first: the "already running" check and the clearing away of a
dead run happen under it, so of N concurrent `up`s exactly one starts QEMU.
Everything made on the way is entered on one ExitStack; only when QEMU has
answered and said it runs is the stack let go of (the VM then owns it, recorded
in the run folder). Any failure or signal before that undoes all of it, QEMU
included. ``state.json`` is written before QEMU starts and QEMU writes its own
pid file, so a vmrun killed at any point leaves a QEMU that can be found again.
"""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable
from contextlib import ExitStack
from dataclasses import dataclass, field
from typing import Any

from vmrun import accel as accel_mod
from vmrun import disks, preflight, proc, signals
from vmrun.adapters.qmp import listen, wait_ready
from vmrun.argv import Control, RunOptions, build_argv
from vmrun.devices import shares, tpm
from vmrun.devices.firmware import PreparedFirmware
from vmrun.engines.qemu.vm import Vm
from vmrun.errors import FileError, LaunchError, PreflightError, QmpError, RunStateError, StateError
from vmrun.hostnet.ensure import ensure_networks
from vmrun.net import PrepareContext, PreparedNic, backend_for
from vmrun.net.hostobj import Recorder
from vmrun.profile.model import Accel, Firmware, Profile
from vmrun.rundir import RunDir
from vmrun.runstate import RUNNING, Forward, NicState, RunState, SpiceState, UsbState

QMP_TIMEOUT = 30.0
# What QEMU says when it runs as asked: `prelaunch` with -S, `inmigrate` with -incoming.
RUNNING_STATES = {"running", "prelaunch", "paused", "inmigrate"}


@dataclass
class Launched:
    vm: Vm
    state: RunState
    process: subprocess.Popen[bytes]
    profile: Profile
    made: list[disks.Made] = field(default_factory=list)  # disk images this `up` made

    @property
    def run(self) -> RunDir:
        return self.vm.run

    # --- the rest of `up` (vmrun.engines.base.Started) ---

    def to_json(self) -> dict[str, Any]:
        return self.state.to_json()

    def summary(self) -> str:
        from vmrun.summary import up_summary

        return up_summary(self)

    def wait(self, timeout: float) -> None:
        from vmrun.guestwait import wait_for_guest

        wait_for_guest(self.profile, self, timeout=timeout)

    def attach(self) -> None:
        from vmrun.guestwait import stay_attached

        stay_attached(self)

    def power_off(self) -> None:
        from vmrun.guestwait import power_off

        power_off(self)


def clear_stale(vm: Vm) -> None:
    """Under the lock: a live VM of this name stops us; the leftovers of a dead one are cleared away."""
    if not vm.run.exists():
        return
    vm.run.check_owned()
    try:
        state = vm.state()
    except RunStateError:
        state = None
    pid = vm.qemu_pid(state)
    if pid is not None:
        raise StateError(f"{vm.name}: already running (pid {pid})", hint=f"vmrun down {vm.name}")
    vm.release()


def check_cpu(profile: Profile, accel: Accel) -> None:
    if accel is Accel.TCG and profile.cpu and profile.cpu.split(",")[0] == "host":
        raise PreflightError(
            'cpu = "host" needs KVM, and this VM would run under TCG (QEMU refuses it)',
            source=profile.source,
            field="cpu",
            hint='write cpu = "max" (all that TCG emulates), or accel = "kvm" on a host where KVM works',
        )


def up(
    profile: Profile, *, notice: Callable[[str], None] = lambda _: None, options: RunOptions = RunOptions()
) -> Launched:
    choice = accel_mod.choose(profile.accel)
    check_cpu(profile, choice.accel)
    if choice.notice:
        notice(choice.notice)
    elif choice.accel is Accel.KVM and (problem := accel_mod.kvm_problem()):
        notice(f'accel = "kvm" but {problem}; the guest may hang (accel = "auto" falls back to TCG)')
    for warning in spice_warnings(profile):
        notice(warning)
    vm = Vm.named(profile.name)
    with vm.locked("up", wait=0):
        clear_stale(vm)
        ensure_networks(profile, notice)  # host set-up the profile lists; `down` leaves it
        qemu = preflight.run_all(profile)
        made = disks.ensure(profile, notice)  # kept if the rest fails: see vmrun.disks
        firmware = prepare_firmware(profile, reset=options.reset_nvram, notice=notice)
        launched = _start(vm, profile, qemu, choice.accel, options, firmware)
        launched.made = made
        return launched


def prepare_firmware(profile: Profile, *, reset: bool, notice: Callable[[str], None]) -> PreparedFirmware | None:
    """UEFI: the firmware from QEMU's descriptors, and the VM's own NVRAM, copied from its template on first
    `up` (or with ``reset``) into the VM's data folder, where it stays (like a disk, it is the VM's)."""
    if profile.firmware is not Firmware.UEFI:
        return None
    from vmrun import datadir
    from vmrun.adapters import qemuimg
    from vmrun.devices import descriptors
    from vmrun.devices.firmware import NVRAM_FILE, NVRAM_FORMAT

    files = descriptors.choose(profile)
    nvram = datadir.for_vm(profile.name) / NVRAM_FILE
    if reset or not nvram.exists():
        qemuimg.convert(files.template, files.template_format, str(nvram), NVRAM_FORMAT, replace=reset)
        notice(f"{'reset' if reset else 'made'} {nvram} from {files.template}")
    return PreparedFirmware(files, str(nvram))


def _start(
    vm: Vm, profile: Profile, qemu: str, accel: Accel, options: RunOptions, firmware: PreparedFirmware | None = None
) -> Launched:
    run = vm.run
    run.create()
    with ExitStack() as stack:
        recorder = Recorder(run, [])
        # The folder goes with a failed `up`, unless it holds the record of something not undone: gc finishes it.
        stack.callback(lambda: None if recorder.objects else run.remove())
        ctx = PrepareContext(profile, run.path, stack, recorder)
        tpm_socket = tpm.prepare(profile, ctx)  # swtpm, before QEMU: it connects at start
        share_sockets = shares.prepare(profile, ctx)  # likewise each share's virtiofsd
        prepared = []
        for nic in profile.nics:
            ctx.nic_id = nic.id
            prepared.append(backend_for(nic).prepare(nic, ctx))
        qmp_fd = listen(run.qmp).detach()
        ctx.own_fds([qmp_fd])
        control = _control(profile, run, qmp_fd)
        seed = _cloud_init_seed(profile, run)
        argv = build_argv(
            profile,
            {p.nic.id: p.netdev for p in prepared},
            qemu=qemu,
            accel=accel,
            control=control,
            seed=seed,
            tpm_socket=tpm_socket,
            run=options,
            firmware=firmware,
            share_sockets=share_sockets,
            agent_socket=str(run.agent) if profile.agent else None,
        )
        state = _state(profile, argv, accel.value, prepared)
        state.snapshot = options.snapshot
        vm.save(state)  # before QEMU exists: a vmrun killed from here on leaves a run folder naming it
        with signals.deferred():  # started and undoable, or not started
            process = _spawn(argv, run, list(ctx.fds))
            stack.callback(_kill, process)
        # QEMU holds its own copies now: a tap lives as long as they do, and with our copy
        # of the QMP socket gone, a QEMU that dies shows at once as a reset connection.
        ctx.close_fds()
        # Not written yet: until it is, QEMU's own pid file (or its command line) names it.
        state.pid, state.pid_start = process.pid, proc.start_time(process.pid)
        try:
            status = wait_ready(run.qmp, timeout=QMP_TIMEOUT, still_starting=lambda: process.poll() is None)
        except QmpError as e:
            raise _failed(profile, run, argv, process, str(e)) from None
        if process.poll() is not None or status not in RUNNING_STATES:
            raise _failed(profile, run, argv, process, f"QEMU is {status}")
        state.phase = RUNNING
        vm.save(state)
        stack.pop_all()
    return Launched(vm, state, process, profile)


def _control(profile: Profile, run: RunDir, qmp_fd: int) -> Control:
    password = _spice_password_file(profile, run)
    return Control(str(run.qmp), str(run.serial), str(run.serial_log), password, qmp_fd, str(run.pidfile))


def _failed(profile: Profile, run: RunDir, argv: list[str], process: subprocess.Popen[bytes], why: str) -> LaunchError:
    if process.poll() is None:
        time.sleep(0.2)  # a QEMU on its way out: let it say why before its log goes with the run folder
    exited = process.poll() is not None
    return LaunchError(
        f"QEMU exited with status {process.returncode}" if exited else f"QEMU did not start ({why})",
        argv=argv,
        exit_code=process.returncode,
        output_tail=_tail(run),
        hint=f"the full command is in `vmrun show {profile.name}`",
    )


def _spawn(argv: list[str], run: RunDir, fds: list[int]) -> subprocess.Popen[bytes]:
    try:
        # umask 177 makes the sockets and logs QEMU creates 0600.
        return proc.spawn_detached(argv, run.qemu_log, pass_fds=fds, umask=0o177)
    except OSError as e:
        if e.filename is not None and os.fsdecode(e.filename) == str(run.qemu_log):
            raise FileError.from_os(e) from None
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


def _cloud_init_seed(profile: Profile, run: RunDir) -> str | None:
    """The NoCloud seed ISO, made in the run folder (so it goes with it)."""
    if profile.cloud_init is None:
        return None
    from vmrun.cloudinit import make_seed  # hashlib and the ISO adapter: only for profiles that have one
    from vmrun.sshkeys import with_ssh_key

    return str(make_seed(with_ssh_key(profile), run.path))


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


def _state(profile: Profile, argv: list[str], accel: str, prepared: list[PreparedNic]) -> RunState:
    return RunState(
        name=profile.name,
        profile=os.path.abspath(profile.source),
        accel=accel,
        argv=argv,
        started=time.time(),
        nics=[NicState(p.nic.id, p.nic.type.value, p.nic.model, p.nic.mac, p.host) for p in prepared],
        forwards=[Forward(nic.id, str(fwd)) for nic, fwd in profile.forwards],
        spice=SpiceState(profile.spice.addr, profile.spice.port) if profile.spice else None,
        memory_mib=profile.memory_mib,
        smp=profile.smp,
        usb=[UsbState(u.id, u.what) for u in profile.usb],
    )
