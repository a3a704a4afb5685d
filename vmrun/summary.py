"""What `up`, `ps` and `ssh` tell the user about a running VM, and `up`'s waits."""

from __future__ import annotations

from typing import Any

from vmrun import ui
from vmrun.control import VmStatus, down, running
from vmrun.errors import LaunchError, ProfileError, StateError
from vmrun.guestwait import wait_until_answers
from vmrun.launch import Launched
from vmrun.profile.model import Profile


def up_summary(launched: Launched) -> str:
    s = launched.state
    lines = [f"{s['name']} is up: pid {s['pid']}, accel {s['accel']}"]
    for nic in s["nics"]:
        lines.append(f"  {nic['id']:<8} {nic['type']:<8} {nic['model']} {nic['mac']}{_host_side(nic['host'])}")
    for fwd in s["forwards"]:
        lines.append(f"  forward  {fwd['rule']}  ({fwd['nic']})")
    if s.get("spice"):
        lines.append(f"  spice    spice://{s['spice']['addr']}:{s['spice']['port']}")
    run = launched.run
    lines.append(f"  serial   {run.serial_log}   (vmrun console {s['name']})")
    lines.append(f"  stop     vmrun down {s['name']}")
    return "\n".join(lines)


def _host_side(host: dict[str, Any]) -> str:
    parts = [f"{k}={v}" for k, v in host.items() if k != "forwards" and v not in (None, "")]
    return f"  [{', '.join(parts)}]" if parts else ""


def first_tcp_forward(profile: Profile) -> tuple[str, int, int]:
    for nic, fwd in profile.forwards:
        if fwd.proto == "tcp":
            host = "127.0.0.1" if fwd.host_addr == "0.0.0.0" else fwd.host_addr
            return host, fwd.host_port, fwd.guest_port
    raise ProfileError(
        "--wait needs a TCP forward to wait on", source=profile.source, field="nics[].hostfwd",
        hint="add e.g. hostfwd = [\"tcp::2222-:22\"] to a user NIC, or drop --wait",
    )


def wait_for_guest(profile: Profile, launched: Launched, *, timeout: float) -> None:
    host, port, guest_port = first_tcp_forward(profile)
    process = launched.process
    with ui.Spinner(f"waiting for the guest to answer on port {guest_port} (via {host}:{port})"):
        ok = wait_until_answers(host, port, timeout=timeout, alive=lambda: process.poll() is None)
    if not ok:
        if process.poll() is not None:
            raise LaunchError(f"QEMU exited with status {process.returncode} while booting",
                              hint=f"vmrun log {profile.name} --qemu")
        raise LaunchError(f"the guest did not answer on port {guest_port} within {timeout:.0f} s; it is still running",
                          hint=f"vmrun log {profile.name} shows its console; vmrun down {profile.name} stops it")


def stay_attached(name: str, launched: Launched) -> None:
    """`up --foreground`: wait for QEMU; Ctrl-C (or SIGTERM) powers the guest off properly."""
    try:
        launched.process.wait()
    except KeyboardInterrupt:
        ui.notice(f"shutting {name} down")
        print(f"{name}: {down(name, timeout=30.0, progress=ui.notice)}")
        return
    ui.notice(f"{name}: QEMU exited with status {launched.process.returncode}")
    down(name)


def ps_table(vms: list[VmStatus]) -> str:
    rows = []
    for vm in vms:
        nics = ", ".join(f"{n['id']}:{n['type']}" for n in vm.state.get("nics", []))
        fwds = ", ".join(f["rule"] for f in vm.state.get("forwards", []))
        spice = vm.state.get("spice")
        rows.append([vm.name, str(vm.pid or "-"), vm.qmp_status, ui.duration(vm.uptime), nics or "-", fwds or "-",
                     f"{spice['addr']}:{spice['port']}" if spice else "-"])
    return ui.table(["NAME", "PID", "STATUS", "UPTIME", "NICS", "FORWARDS", "SPICE"], rows)


def ssh_argv(name: str, user: str | None, extra: list[str]) -> list[str]:
    _, state = running(name)
    for fwd in state.get("forwards", []):
        proto, rest = fwd["rule"].split(":", 1)
        host_part, guest_part = rest.split("-", 1)
        host, port = host_part.rsplit(":", 1)
        if proto == "tcp" and guest_part.rsplit(":", 1)[1] == "22":
            target = "127.0.0.1" if host == "0.0.0.0" else host
            argv = ["ssh", "-p", port, "-o", "NoHostAuthenticationForLocalhost=yes"]
            if user:
                argv += ["-l", user]
            return argv + [target, *extra]
    raise StateError(f"{name}: no forward to guest port 22", hint="add hostfwd = [\"tcp::2222-:22\"] to a user NIC of its profile")
