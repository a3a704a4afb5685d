"""``type = "passt"``: a passt process per NIC, QEMU connected to its unix socket.

passt gives the guest the host's own address by DHCP and forwards the
``hostfwd`` ports to it, with no bridge, tap or root needed. vmrun starts it in
the foreground (so the recorded pid is passt's own), records it before QEMU
exists, and `vmrun down` stops it; ``--one-off`` makes it also quit by itself
when QEMU goes away, however QEMU ended.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

from vmrun import proc, signals
from vmrun.errors import HostNetError, PreflightError
from vmrun.net.base import NetdevSpec, PrepareContext, PreparedNic, nic_field
from vmrun.net.hostobj import Process
from vmrun.preflight import check_port_free
from vmrun.profile.model import HostFwd, Nic, Profile
from vmrun.rundir import RunDir

SOCKET_TIMEOUT = 5.0
SUN_PATH_MAX = 107  # sockaddr_un.sun_path is 108 bytes with the NUL


def socket_path(run_dir: Path, nic: Nic) -> Path:
    return run_dir / f"passt-{nic.id}.sock"


def forward_args(fwd: HostFwd) -> list[str]:
    """``-t 127.0.0.1/8080:80``: passt binds the host address given (we never leave it empty)."""
    return ["-t" if fwd.proto == "tcp" else "-u", f"{fwd.host_addr}/{fwd.host_port}:{fwd.guest_port}"]


def passt_argv(passt: str, sock: Path, forwards: tuple[HostFwd, ...]) -> list[str]:
    argv = [passt, "--foreground", "--one-off", "--socket", str(sock)]
    # Started as root, passt drops to "nobody", who cannot reach our 0700 run folder: the bind
    # fails and this passt keeps running without a socket. So it runs as us; it still sandboxes
    # itself (own namespaces, no capabilities, seccomp).
    argv += ["--runas", f"{os.geteuid()}:{os.getegid()}"]
    for fwd in forwards:
        argv += forward_args(fwd)
    return argv


class PasstBackend:
    def describe(self, nic: Nic, profile: Profile) -> NetdevSpec:
        return self._netdev(socket_path(RunDir.for_vm(profile.name).path, nic))

    def _netdev(self, sock: Path) -> NetdevSpec:
        return NetdevSpec("stream", (("server", False), ("addr.type", "unix"), ("addr.path", str(sock))))

    def preflight(self, nic: Nic, profile: Profile) -> None:
        field = nic_field(profile, nic)
        if shutil.which("passt") is None:
            raise PreflightError(
                "passt is not installed",
                source=profile.source,
                field=f"{field}.type",
                hint="apt-get install passt (or dnf install passt)",
            )
        sock = socket_path(RunDir.for_vm(profile.name).path, nic)
        if len(os.fsencode(sock)) > SUN_PATH_MAX:
            raise PreflightError(
                f"passt's socket path would be too long for a unix socket: {sock}",
                source=profile.source,
                field=f"{field}.id",
                hint="set VMRUN_RUNTIME_DIR to a shorter folder",
            )
        for i, fwd in enumerate(nic.hostfwd):
            if fwd.guest_addr:
                raise PreflightError(
                    f"passt forwards to the guest's one address; {fwd.guest_addr} cannot be chosen",
                    source=profile.source,
                    field=f"{field}.hostfwd[{i}]",
                    hint=f'leave it out: "{fwd.proto}:{fwd.host_addr}:{fwd.host_port}-:{fwd.guest_port}"',
                )
            check_port_free(fwd, source=profile.source, field=f"{field}.hostfwd[{i}]")

    def prepare(self, nic: Nic, ctx: PrepareContext) -> PreparedNic:
        passt = shutil.which("passt") or "passt"
        sock = socket_path(ctx.run_dir, nic)
        log_path = ctx.run_dir / f"passt-{nic.id}.log"
        with signals.deferred():  # started and recorded, or neither
            try:
                process = proc.spawn_detached(passt_argv(passt, sock, nic.hostfwd), log_path)
            except OSError as e:
                raise HostNetError(f"cannot run {passt}: {e.strerror}") from None
            ctx.made(
                Process(
                    pid=process.pid, start=proc.start_time(process.pid), what="passt", arg="--socket", path=str(sock)
                )
            )
        _wait_listening(process, sock, log_path)
        forwards = [str(f) for f in nic.hostfwd]
        host = {"passt": process.pid, "socket": str(sock), "forwards": forwards, "log": str(log_path)}
        return PreparedNic(nic, self._netdev(sock), host=host)


def _wait_listening(process: subprocess.Popen[bytes], sock: Path, log_path: Path) -> None:
    """Until passt listens on ``sock``; we must not connect to find out, as --one-off takes one client."""
    deadline = time.monotonic() + SOCKET_TIMEOUT
    while not proc.listening(sock):
        if process.poll() is not None:
            said = last_words(log_path)
            hint = None
            if "interface not usable" in said:
                hint = "passt copies the address and default route of a host interface: this host has no default route"
            raise HostNetError(f"passt exited at start (status {process.returncode}): {said}", hint=hint)
        if time.monotonic() >= deadline:
            raise HostNetError(f"passt did not listen on {sock} within {SOCKET_TIMEOUT:.0f} s: {last_words(log_path)}")
        time.sleep(0.02)


def last_words(log_path: Path) -> str:
    """passt's last line, skipping its complaints that there is no syslog to write to."""
    try:
        lines = log_path.read_text(errors="replace").splitlines()
    except OSError:
        lines = []
    kept = [line.strip() for line in lines if line.strip() and not line.startswith("Failed to send")]
    return kept[-1] if kept else "no output"


BACKEND = PasstBackend()
