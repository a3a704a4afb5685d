"""What `up`, `ps` and `ssh` tell the user about a running VM."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vmrun import ui
from vmrun.profile.fields import render_memory

if TYPE_CHECKING:
    from vmrun.engines.base import VmStatus
    from vmrun.engines.libvirt.vm import LibvirtVm
    from vmrun.engines.qemu.launch import Launched
    from vmrun.profile.model import Profile
    from vmrun.runstate import RunState


def up_summary(launched: Launched) -> str:
    s = launched.state
    lines = [f"{s.name} is up: pid {s.pid}, accel {s.accel}"]
    for nic in s.nics:
        lines.append(f"  {nic.id:<8} {nic.type:<8} {nic.model} {nic.mac}{host_side(nic.host)}")
    for fwd in s.forwards:
        lines.append(f"  forward  {fwd.rule}  ({fwd.nic})")
    for usb in s.usb:
        lines.append(f"  usb      {usb.id} {usb.what}")
    if s.spice:
        lines.append(f"  spice    spice://{s.spice.addr}:{s.spice.port}")
    lines += serial_lines(launched.profile, str(launched.run.path))
    for made in launched.made:
        lines.append(f"  disk     made {made}")
    if s.snapshot:
        lines.append("  snapshot on: disk writes go to a temporary overlay, gone at power-off")
    run = launched.run
    lines.append(f"  serial   {run.serial_log}   (vmrun console {s.name})")
    lines.append(f"  stop     vmrun down {s.name}")
    return "\n".join(lines)


def serial_lines(p: Profile, run_dir: str, where: str = "") -> list[str]:
    """The profile's extra serial ports and gdb stub, as `up` lists them. ``run_dir`` names a unix
    port given no path; ``where`` follows each line (``  (on HOST)`` when they listen on libvirt's host)."""
    from vmrun.devices import serials

    lines = [f"  ttyS{serials.tty(i)}    {serials.describe(s, i, run_dir)}{where}" for i, s in enumerate(p.serials)]
    return lines + ([f"  gdb      target remote {p.gdb}{where}"] if p.gdb else [])


def host_side(host: dict[str, Any]) -> str:
    """`` [tap=vr-demo-net1, bridge=br0, vhost=False]``: a NIC's host side on one line."""
    parts = [f"{k}={v}" for k, v in host.items() if k != "forwards" and v not in (None, "")]
    return f"  [{', '.join(parts)}]" if parts else ""


def ps_table(vms: list[VmStatus]) -> str:
    rows = []
    for vm in vms:
        s = vm.state
        nics = _first_few([f"{n.id}:{n.type}" for n in s.nics] if s else [])
        usb = _first_few([f"{u.id}:{u.what}" for u in s.usb] if s else [])
        fwds = _first_few([f.rule for f in s.forwards] if s else [])
        spice = f"{s.spice.addr}:{s.spice.port}" if s and s.spice else "-"
        status = f"{vm.status} ({vm.note})" if vm.note else vm.status
        status += ", -snapshot" if s and s.snapshot else ""
        mem = render_memory(s.memory_mib) if s and s.memory_mib else "-"
        cpus = str(s.smp) if s and s.smp else "-"
        rows.append(
            [
                vm.name,
                vm.engine,
                vm.host,
                str(vm.pid or "-"),
                status,
                ui.duration(vm.uptime),
                mem,
                cpus,
                nics or "-",
                usb or "-",
                fwds or "-",
                spice,
            ]
        )
    headers = ["NAME", "ENGINE", "HOST", "PID", "STATUS", "UPTIME", "MEM", "CPUS", "NICS", "USB", "FORWARDS", "SPICE"]
    return ui.table(headers, rows)


def _first_few(items: list[str], shown: int = 3) -> str:
    """A cell of ``ps``: one wide cell pads every row to its width, so past ``shown`` items a count
    (``+197 more``) stands for the rest; `ps --json` and `vmrun fwd list` give them all."""
    if len(items) > shown + 1:
        items = items[:shown] + [f"+{len(items) - shown} more"]
    return ", ".join(items)


def libvirt_summary(vm: LibvirtVm, state: RunState, profile: Profile, *, persist: bool) -> str:
    """What `up` says of a VM libvirt now runs."""
    lines = [f"{vm.name} is up under libvirt at {vm.uri}" + (" (persistent)" if persist else " (transient)")]
    for nic in state.nics:
        lines.append(f"  {nic.id:<8} {nic.type:<8} {nic.model} {nic.mac}")
    for fwd in state.forwards:
        lines.append(f"  forward  {fwd.rule}  ({fwd.nic})")
    for usb in state.usb:
        lines.append(f"  usb      {usb.id} {usb.what}")
    # a unix port without a path is refused under libvirt: no run folder is needed to name them
    lines += serial_lines(profile, "", "" if vm.host == "local" else f"  (on {vm.host})")
    lines.append(f"  console  vmrun console {vm.name} -c {vm.uri}")
    lines.append(f"  stop     vmrun down {vm.name} -c {vm.uri}")
    return "\n".join(lines)
