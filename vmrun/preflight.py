"""Checks made before anything is started: each failure names the profile file and field."""

from __future__ import annotations

import errno
import os
import shutil
import socket
from pathlib import Path

from vmrun.errors import PreflightError
from vmrun.profile.model import HostFwd, Profile, SerialType


def check_port_free(fwd: HostFwd, *, source: str | None, field: str) -> None:
    kind = socket.SOCK_STREAM if fwd.proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as s:
        if kind == socket.SOCK_STREAM:
            # What QEMU's slirp sets too; without it a port in TIME_WAIT would look taken.
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((fwd.host_addr, fwd.host_port))
        except OSError as e:
            vm = vm_forwarding(fwd) if e.errno == errno.EADDRINUSE else None
            raise PreflightError(
                f"host port {fwd.host_addr}:{fwd.host_port}/{fwd.proto} cannot be bound: "
                + (f"VM {vm} forwards it" if vm else str(e.strerror)),
                source=source,
                field=field,
                hint=f"vmrun down {vm} frees it, or pick another host port"
                if vm
                else "pick another host port, or stop what is listening there",
            ) from None


def vm_forwarding(fwd: HostFwd) -> str | None:
    """The vmrun VM whose run state records a forward (or SPICE) on ``fwd``'s host port, if any."""
    from vmrun import runstate
    from vmrun.errors import VmrunError
    from vmrun.profile.fields import parse_hostfwd
    from vmrun.rundir import all_run_dirs

    def overlaps(addr: str) -> bool:
        return "0.0.0.0" in (addr, fwd.host_addr) or addr == fwd.host_addr

    try:
        runs = all_run_dirs()
    except VmrunError:
        return None
    for run in runs:
        try:
            data = run.read_json(runstate.FILE) if run.problem() is None else None
            state = runstate.parse(data, run.path / runstate.FILE) if data is not None else None
        except VmrunError:
            continue  # not readable: another message's business
        if state is None:
            continue
        for f in state.forwards:
            try:
                held = parse_hostfwd(f.rule)
            except ValueError:
                continue
            if (held.proto, held.host_port) == (fwd.proto, fwd.host_port) and overlaps(held.host_addr):
                return run.name
        if state.spice and fwd.proto == "tcp" and state.spice.port == fwd.host_port and overlaps(state.spice.addr):
            return run.name
    return None


SUN_PATH_MAX = 107  # sockaddr_un.sun_path is 108 bytes with the NUL


def check_socket_paths(profile: Profile) -> None:
    """The sockets vmrun keeps in the run folder (QMP, serial) must fit in a unix socket's address."""
    from vmrun.rundir import RunDir

    longest = RunDir.for_vm(profile.name).serial  # serial.sock: the longest of their names
    if len(os.fsencode(longest)) > SUN_PATH_MAX:
        raise PreflightError(
            f"the VM's socket {longest} would be {len(os.fsencode(longest))} bytes long; "
            f"a unix socket's path holds at most {SUN_PATH_MAX}",
            source=profile.source,
            field="name",
            hint="set VMRUN_RUNTIME_DIR to a shorter folder, or give the VM a shorter name",
        )


def check_serials(profile: Profile) -> None:
    """[[serials]] and gdb (qemu engine): each TCP port can be bound, each unix socket's path fits."""
    from vmrun.devices.serials import socket_path
    from vmrun.rundir import RunDir

    run_dir = RunDir.for_vm(profile.name).path
    for i, s in enumerate(profile.serials):
        if s.port is not None:
            check_port_free(HostFwd("tcp", s.addr, s.port, "", 0), source=profile.source, field=f"serials[{i}].port")
        path = s.path or socket_path(run_dir, i)
        if s.type is SerialType.UNIX and len(os.fsencode(path)) > SUN_PATH_MAX:
            raise PreflightError(
                f"{path} is too long for a unix socket ({SUN_PATH_MAX} bytes at most)",
                source=profile.source,
                field=f"serials[{i}].path",
            )
    if profile.gdb:
        addr, _, port = profile.gdb.rpartition(":")
        check_port_free(HostFwd("tcp", addr, int(port), "", 0), source=profile.source, field="gdb")


def find_qemu(profile: Profile) -> str:
    found = shutil.which(profile.qemu)
    if not found:
        raise PreflightError(
            f"QEMU binary {profile.qemu!r} not found",
            source=profile.source,
            field="qemu",
            hint='install qemu-system-x86 (apt-get install qemu-system-x86) or set qemu = "/path/to/qemu-system-x86_64"',
        )
    from vmrun import trust

    trust.check_program(found, source=profile.source, field="qemu")
    return found


def check_files(profile: Profile) -> None:
    """The first file the profile names that is missing or unreadable, as the one error `up` says."""
    if problems := file_problems(profile):
        raise problems[0]


def file_problems(profile: Profile) -> list[PreflightError]:
    """Every file the profile names that is missing or unreadable (`doctor` lists them all)."""
    wanted = [("kernel", profile.kernel), ("initrd", profile.initrd), ("cdrom", profile.cdrom)]
    # A missing image that `up` makes (size, backing) is not missing; disks.check looks at its backing.
    wanted += [
        (f"drives[{i}].file", d.file)
        for i, d in enumerate(profile.drives)
        if not (d.made_by_vmrun and not os.path.lexists(d.file))
    ]
    problems = []
    for field, path in wanted:
        if path is None:
            continue
        if not Path(path).exists():
            problems.append(PreflightError(f"{path} does not exist", source=profile.source, field=field))
        elif not os.access(path, os.R_OK):
            problems.append(PreflightError(f"{path} is not readable", source=profile.source, field=field))
    return problems


def run_all(profile: Profile) -> str:
    """Everything `vmrun up` checks before it changes anything; returns the QEMU binary's path."""
    from vmrun import disks
    from vmrun.devices import pci, shares, tpm
    from vmrun.net import backend_for

    check_socket_paths(profile)
    qemu = find_qemu(profile)
    check_files(profile)
    disks.check(profile)
    tpm.preflight(profile)
    shares.preflight(profile)
    pci.preflight(profile)
    check_serials(profile)
    for nic in profile.nics:
        backend_for(nic, profile.source).preflight(nic, profile)
    return qemu
