"""``[[shares]]``: host folders in the guest, by virtiofs (a virtiofsd per share) or 9p (QEMU's own server).

Who stops a virtiofsd: it exits by itself when QEMU closes its socket (QEMU quit or was killed); the
:class:`~vmrun.net.hostobj.Virtiofsd` record in the run folder is what `down`, `gc` and a failed `up`
release should one still run. Recorded before it starts and completed with its pid, as swtpm is
(:mod:`vmrun.devices.tpm`). virtiofs needs the guest's RAM shared with the daemon: the machine's
memory becomes a ``memory-backend-memfd`` with ``share=on``.

``readonly``: 9p has ``readonly=on``. QEMU 7.2's virtiofsd has no read-only mode, so it is started
in a mount namespace of its own in which the folder is a read-only bind mount
(:mod:`vmrun.adapters.mountns`): the guest's writes fail with EROFS and nothing is mounted on the
host. A virtiofsd that says ``--readonly`` in its help (newer Rust ones) is given that instead.

9p uses ``security_model=mapped-xattr``: files the guest makes belong on the host to QEMU's user, with
the guest's owner and mode kept in ``user.virtfs.*`` attributes, so a guest's root can plant no
set-uid program or device node in a host folder (``passthrough`` would let it). Files the host put
there show with their host owner and mode.

The source is a folder the guest may read (and write): it and every folder above it are checked
as :mod:`vmrun.trust` checks a program, except that the folder itself may belong to anyone and be
writable by its group or others (what the guest sees of it is the point): nobody but you or root
can put another folder, or a link to one, in its place between the check and the start.

Under libvirt none of the daemons run here: libvirt starts its own virtiofsd
(engines/libvirt/xmlshares.py).
"""

from __future__ import annotations

import enum
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from vmrun import trust
from vmrun.devices.daemon import start
from vmrun.errors import LaunchError, PreflightError
from vmrun.net.base import PrepareContext
from vmrun.net.hostobj import Virtiofsd
from vmrun.profile.model import Profile, Share, ShareType
from vmrun.qemuopts import opts
from vmrun.rundir import RunDir

# Where virtiofsd is: on PATH (the Rust one elsewhere), Fedora's and Debian 13's Rust one, Debian 12's C one.
CANDIDATES = ("/usr/libexec/virtiofsd", "/usr/lib/qemu/virtiofsd")
MEMORY_ID = "vmrun-mem"
SUN_PATH_MAX = 107


class Flavour(enum.StrEnum):
    C = "c"  # QEMU's (7.2 and before): -o source=DIR, options as -o key=value
    RUST = "rust"  # the virtiofsd project's: --shared-dir DIR


@dataclass(frozen=True)
class Daemon:
    path: str
    flavour: Flavour
    readonly: bool  # has a --readonly of its own


def virtiofs(p: Profile) -> list[tuple[int, Share]]:
    return [(i, s) for i, s in enumerate(p.shares) if s.type is ShareType.VIRTIOFS]


def socket_path(run_dir: Path, index: int) -> Path:
    return run_dir / f"virtiofs{index}.sock"


# -- the command lines (pure) ---------------------------------------------------------------------


def virtiofsd_argv(daemon: Daemon, share: Share, socket: Path) -> list[str]:
    """In the foreground (the default of both), so that the pid vmrun records is the daemon's own."""
    argv = [daemon.path, *Virtiofsd(str(socket)).marker]  # --socket-path=SOCK: also how vmrun knows it again
    if daemon.flavour is Flavour.RUST:
        argv += ["--shared-dir", share.source, "--cache", "auto"]
        return argv + (["--readonly"] if share.readonly and daemon.readonly else [])
    return argv + ["-o", f"source={share.source}", "-o", "cache=auto"]


def machine_options(p: Profile) -> list[tuple[str, str]]:
    """virtiofs: the machine's RAM is the shared memory backend (what vhost-user needs)."""
    return [("memory-backend", MEMORY_ID)] if virtiofs(p) else []


def share_args(p: Profile, sockets: Mapping[str, str]) -> list[str]:
    """``sockets``: each virtiofs share's socket by tag, as `up` started them (for `show`, where they will be)."""
    argv: list[str] = []
    if virtiofs(p):
        memory = [("id", MEMORY_ID), ("size", f"{p.memory_mib}M"), ("share", True)]
        argv += ["-object", opts("memory-backend-memfd", memory)]
    for i, share in enumerate(p.shares):
        if share.type is ShareType.VIRTIOFS:
            if share.tag not in sockets:
                raise ValueError(f"shares[{i}] needs its virtiofsd socket prepared (or, for show, where it will be)")
            argv += ["-chardev", opts("socket", [("id", f"vmrun-fs{i}"), ("path", sockets[share.tag])])]
            argv += ["-device", opts("vhost-user-fs-pci", [("chardev", f"vmrun-fs{i}"), ("tag", share.tag)])]
        else:
            fsdev = [("id", f"vmrun-9p{i}"), ("path", share.source), ("security_model", "mapped-xattr")]
            argv += ["-fsdev", opts("local", [*fsdev, ("readonly", True if share.readonly else None)])]
            argv += ["-device", opts("virtio-9p-pci", [("fsdev", f"vmrun-9p{i}"), ("mount_tag", share.tag)])]
    return argv


def sockets_for_show(profile: Profile) -> dict[str, str]:
    run_dir = RunDir.for_vm(profile.name).path
    return {s.tag: str(socket_path(run_dir, i)) for i, s in virtiofs(profile)}


# -- the host -------------------------------------------------------------------------------------


def find_daemon() -> Daemon | None:
    """The virtiofsd there is, and which kind (told apart by its --help)."""
    for path in (shutil.which("virtiofsd"), *CANDIDATES):
        if path and os.access(path, os.X_OK):
            try:
                r = subprocess.run([path, "--help"], capture_output=True, text=True, timeout=10)
            except (OSError, subprocess.TimeoutExpired):
                continue
            text = r.stdout + r.stderr
            flavour = Flavour.RUST if "--shared-dir" in text else Flavour.C
            return Daemon(path, flavour, "--readonly" in text)
    return None


def check_sources(profile: Profile) -> None:
    """Each source is a folder there, nobody else can swap it: one line naming the field if not."""
    for i, share in enumerate(profile.shares):
        field = f"shares[{i}].source"
        if not os.path.exists(share.source):
            raise PreflightError(f"{share.source} does not exist", source=profile.source, field=field)
        if not os.path.isdir(share.source):
            raise PreflightError(f"{share.source} is not a folder", source=profile.source, field=field)
        for above in {os.path.dirname(os.path.abspath(share.source)), os.path.dirname(os.path.realpath(share.source))}:
            if (found := trust.problem(above)) is not None:
                place, reason = found
                raise PreflightError(
                    f"{share.source} is not to be shared: {place} is {reason}, so another user could put "
                    "another folder in its place",
                    source=profile.source,
                    field=field,
                    hint=trust.fix_for(place, reason) + "; or share a folder of yours or root's",
                )


def preflight(profile: Profile) -> Daemon | None:
    """Everything the shares need before anything starts; the virtiofsd to run, if any share needs one."""
    check_sources(profile)
    shares = virtiofs(profile)
    if not shares:
        return None
    first = f"shares[{shares[0][0]}].type"
    daemon = find_daemon()
    if daemon is None:
        raise PreflightError(
            "virtiofsd is not installed (a virtiofs share needs it)",
            source=profile.source,
            field=first,
            hint='apt-get install qemu-system-common (Debian 12) or virtiofsd; or type = "9p"',
        )
    trust.check_program(daemon.path, source=profile.source, field=first)
    _check_daemon(profile, daemon, shares)
    return daemon


def _check_daemon(profile: Profile, daemon: Daemon, shares: list[tuple[int, Share]]) -> None:
    run_dir = RunDir.for_vm(profile.name).path
    for i, share in shares:
        where = f"shares[{i}]"
        sock = socket_path(run_dir, i)
        if len(os.fsencode(sock)) > SUN_PATH_MAX:
            raise PreflightError(
                f"virtiofsd's socket {sock} would be longer than a unix socket's path ({SUN_PATH_MAX} bytes)",
                source=profile.source,
                field=where,
                hint="set VMRUN_RUNTIME_DIR to a shorter folder, or give the VM a shorter name",
            )
        if daemon.flavour is Flavour.C and "," in share.source:
            raise PreflightError(
                f"{daemon.path} cannot be given a folder with a comma (-o source= splits there)",
                source=profile.source,
                field=f"{where}.source",
                hint='share a folder without one, or type = "9p"',
            )
        if os.geteuid() != 0 and (daemon.flavour is Flavour.C or (share.readonly and not daemon.readonly)):
            why = "a read-only virtiofs share" if daemon.flavour is Flavour.RUST else f"{daemon.path}"
            raise PreflightError(
                f"{why} needs root (virtiofsd sandboxes itself with mount namespaces)",
                source=profile.source,
                field=f"{where}.readonly" if daemon.flavour is Flavour.RUST else f"{where}.type",
                hint='run vmrun as root, or use type = "9p"',
            )


def prepare(profile: Profile, ctx: PrepareContext) -> dict[str, str]:
    """Start a virtiofsd per virtiofs share (recorded, undone if `up` fails); their sockets by tag, for the argv."""
    sockets: dict[str, str] = {}
    daemon = find_daemon() if virtiofs(profile) else None
    for i, share in virtiofs(profile):
        if daemon is None:
            raise LaunchError("virtiofsd is gone since the checks")
        sockets[share.tag] = _start(daemon, share, socket_path(ctx.run_dir, i), ctx.run_dir / f"virtiofsd{i}.log", ctx)
    return sockets


def _start(daemon: Daemon, share: Share, sock: Path, log: Path, ctx: PrepareContext) -> str:
    argv = virtiofsd_argv(daemon, share, sock)
    preexec = None
    if share.readonly and not daemon.readonly:
        from vmrun.adapters import mountns

        preexec = mountns.readonly_view(share.source)
    start(ctx, argv, log, sock, record=lambda pid, began: Virtiofsd(str(sock), pid, began), preexec=preexec)
    return str(sock)
