"""`up --wait` and `up --foreground`: staying with a guest that was just launched.

Has the guest itself answered on a forwarded port?

An open host port proves nothing: slirp accepts the connection before it has
reached the guest, and closes it when the guest refuses. So a port counts as
answering when the guest sends bytes (an SSH banner) or answers a probe (an
HTTP request). Before the guest has an address, slirp neither closes nor
answers, which stays "not yet".
"""

from __future__ import annotations

import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from vmrun import ui
from vmrun.errors import LaunchError, ProfileError
from vmrun.profile.model import Profile

if TYPE_CHECKING:
    from vmrun.engines.libvirt.vm import LibvirtVm
    from vmrun.engines.qemu.launch import Launched

PROBE = b"HEAD / HTTP/1.0\r\n\r\n"


class UpAborted(KeyboardInterrupt):
    """Interrupted while waiting for the guest: the VM was taken down again, the `up` did not happen."""


def answers(host: str, port: int, *, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as s:
            s.settimeout(timeout)
            try:
                if s.recv(1):
                    return True  # the guest spoke first (SSH, SMTP...)
                return False  # closed: slirp could not reach a listener
            except TimeoutError:
                pass
            s.sendall(PROBE)
            return bool(s.recv(1))
    except OSError:
        return False


def wait_until_answers(host: str, port: int, *, timeout: float, alive: Callable[[], bool] = lambda: True) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive():
            return False
        if answers(host, port):
            return True
        time.sleep(0.5)
    return False


def first_tcp_forward(profile: Profile) -> tuple[str, int, int]:
    for _nic, fwd in profile.forwards:
        if fwd.proto == "tcp":
            host = "127.0.0.1" if fwd.host_addr == "0.0.0.0" else fwd.host_addr
            return host, fwd.host_port, fwd.guest_port
    raise ProfileError(
        "--wait needs a TCP forward to wait on",
        source=profile.source,
        field="nics[].hostfwd",
        hint='add e.g. hostfwd = ["tcp::2222-:22"] to a user NIC, or drop --wait',
    )


def wait_for_guest(profile: Profile, launched: Launched, *, timeout: float) -> None:
    host, port, guest_port = first_tcp_forward(profile)
    process = launched.process
    with ui.Spinner(f"waiting for the guest to answer on port {guest_port} (via {host}:{port})"):
        try:
            ok = wait_until_answers(host, port, timeout=timeout, alive=lambda: process.poll() is None)
        except KeyboardInterrupt:
            # An interrupted `up --wait` is an `up` that did not happen: take it all down again.
            launched.vm.down(force=True)
            raise UpAborted from None
    if ok:
        return
    if process.poll() is not None:
        tail = _qemu_said(launched)
        launched.vm.down()
        raise LaunchError(
            f"QEMU exited with status {process.returncode} while the guest booted",
            output_tail=tail,
            hint=f"the full command is in `vmrun show {profile.name}`",
        )
    raise LaunchError(
        f"the guest did not answer on port {guest_port} (via {host}:{port}) within {timeout:.0f} s; "
        f"{profile.name} was left running",
        hint=f"vmrun log {profile.name} shows its console; vmrun down {profile.name} stops it",
    )


def wait_for_domain(profile: Profile, vm: LibvirtVm, *, timeout: float) -> None:
    """`up --wait` on the libvirt engine: the forward is on the libvirt host, so only a local one can be asked."""
    host, port, guest_port = first_tcp_forward(profile)
    try:
        with ui.Spinner(f"waiting for the guest to answer on port {guest_port} (via {host}:{port})"):
            ok = wait_until_answers(host, port, timeout=timeout)
    except KeyboardInterrupt:
        vm.down(force=True)
        raise
    if not ok:
        raise LaunchError(
            f"the guest did not answer on port {guest_port} (via {host}:{port}) within {timeout:.0f} s; "
            f"{profile.name} was left running under libvirt at {vm.uri}",
            hint=f"vmrun console {profile.name} -c {vm.uri} shows its console; vmrun down {profile.name} -c {vm.uri} stops it",
        )


def _qemu_said(launched: Launched) -> str:
    try:
        return launched.run.qemu_log.read_text(errors="replace").strip()
    except OSError:
        return ""


def stay_attached(launched: Launched) -> None:
    """`up --foreground`: wait for QEMU; Ctrl-C (or SIGTERM) powers the guest off properly.

    A `vmrun down` from elsewhere (a service manager's stop command) may take the VM
    down meanwhile: both take the VM's lock, so whichever comes second finds it gone.
    """
    vm = launched.vm
    try:
        launched.process.wait()
    except KeyboardInterrupt:
        power_off(launched)
        return
    ui.notice(f"{vm.name}: QEMU exited with status {launched.process.returncode}")
    vm.down()


def power_off(launched: Launched) -> None:
    """What Ctrl-C does to a VM started with --foreground: ACPI power-off, then the usual down."""
    vm = launched.vm
    ui.notice(f"shutting {vm.name} down")
    print(f"{vm.name}: {vm.down(timeout=30.0, progress=ui.notice)}")
