"""Commands that start, stop, list and move VMs: show, up, down, ps, doctor, gc, migrate, autostart."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from vmrun import ui
from vmrun.cli.base import (
    ConnectOpt,
    JsonOpt,
    MemoryOpt,
    Name,
    SetOpt,
    SmpOpt,
    VmName,
    command,
    complete_profiles,
    load,
)
from vmrun.errors import UsageError


@command()
def show(
    name: Name,
    *,
    as_json: JsonOpt = False,
    script: Annotated[bool, typer.Option("--script", help="Print the equivalent start.sh (the default).")] = True,
    memory: MemoryOpt = None,
    smp: SmpOpt = None,
    set_: SetOpt = None,
    libvirt: Annotated[
        bool,
        typer.Option("--libvirt", help="Print the libvirt domain XML instead; what does not carry goes to stderr."),
    ] = False,
    running: Annotated[
        bool, typer.Option("--running", help="NAME is a running VM: the command line its QEMU was really started with.")
    ] = False,
) -> None:
    """Print the QEMU command a profile gives, as a runnable start.sh or as JSON.

    \b
    Example: vmrun show jrgtest > start.sh
    Example: vmrun show demo --running
    """
    from vmrun import engines

    if running:
        if memory or smp or set_ or libvirt:
            raise UsageError("--running shows what runs: --memory, --smp, --set and --libvirt do not apply")
        _show_running(engines.find(name), as_json=as_json)
        return
    shown = engines.describe(load(name, memory, smp, set_), libvirt=libvirt)
    if as_json:
        print(json.dumps(shown.data, indent=2))
        return
    for warning in shown.warnings:
        ui.notice(warning)
    print(shown.text, end="")


def _show_running(vm, *, as_json: bool) -> None:
    """The argv `up` recorded in the run state as it started QEMU (fd numbers and vmrun's sockets included)."""
    from vmrun.show import render_script

    argv = vm.launched_argv()
    state = vm.require_state()
    plugged = [u for u in state.usb if u.hotplugged]  # not in the argv: QEMU got them over QMP
    if as_json:
        usb = [vars(u) for u in plugged]
        print(json.dumps({"name": state.name, "pid": state.pid, "argv": argv, "hotplugged_usb": usb}, indent=2))
    else:
        print(render_script(argv, source=f"the running VM {vm.name} (pid {state.pid})"), end="")
        for u in plugged:
            ui.notice(f"hot-plugged since: USB {u.what} as {u.id} (vmrun usb list {vm.name})")


CdromOpt = Annotated[
    Optional[str],
    typer.Option(
        "--cdrom", metavar="ISO", help="Boot this ISO first (once; UEFI: this run); not saved in the profile."
    ),
]
SnapshotOpt = Annotated[
    bool,
    typer.Option("--snapshot", help="Write nothing to the disks: writes go to a temporary overlay (QEMU's -snapshot)."),
]
ResetNvramOpt = Annotated[
    bool, typer.Option("--reset-nvram", help="UEFI: start again from the firmware's NVRAM template.")
]


@command()
def up(
    name: Name,
    *,
    memory: MemoryOpt = None,
    smp: SmpOpt = None,
    set_: SetOpt = None,
    wait: Annotated[
        bool, typer.Option("--wait", help="Also wait until the guest answers on its first forwarded TCP port.")
    ] = False,
    wait_timeout: Annotated[float, typer.Option(help="Seconds --wait waits for the guest.")] = 300.0,
    foreground: Annotated[
        bool, typer.Option("--foreground", "-f", help="Stay attached; Ctrl-C powers the guest off.")
    ] = False,
    connect: ConnectOpt = None,
    persist: Annotated[
        bool, typer.Option("--persist", help="libvirt engine: define the domain, so it survives a host reboot.")
    ] = False,
    snapshot: SnapshotOpt = False,
    cdrom: CdromOpt = None,
    reset_nvram: ResetNvramOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Start a VM: check the host, prepare its NICs, make missing disks, start QEMU detached and wait for QMP.

    With -c URI (or engine = "libvirt" in the profile) libvirt runs it at URI instead.

    \b
    Example: vmrun up jrgtest --memory 16G --smp 8
    Example: vmrun up demo -c qemu+ssh://lab1/system
    Example: vmrun up jrgtest --cdrom debian-12.iso
    Example: vmrun up jrgtest --snapshot
    """
    from vmrun import engines
    from vmrun.argv import RunOptions
    from vmrun.guestwait import UpAborted, first_tcp_forward

    profile = load(name, memory, smp, set_, cdrom)
    options = RunOptions(snapshot=snapshot, boot_cdrom=cdrom is not None, reset_nvram=reset_nvram)
    if reset_nvram and profile.firmware != "uefi":
        raise UsageError(f"{profile.name} boots BIOS, which keeps no NVRAM", option="--reset-nvram")
    if cdrom is not None and profile.kernel:
        ui.notice(f"the profile boots a kernel ({profile.kernel}): QEMU starts that, not the CD-ROM")
    if wait:
        first_tcp_forward(profile)  # refuse before anything starts
    started = engines.up(
        profile, connect=connect, options=options, persist=persist, foreground=foreground, notice=ui.notice
    )
    try:  # a Ctrl-C of --foreground means "power it off", wherever it lands once the VM is up
        if wait:
            started.wait(wait_timeout)
        print(json.dumps(started.to_json(), indent=2) if as_json else started.summary(), flush=True)
        if foreground:
            started.attach()
    except KeyboardInterrupt as e:
        if not foreground or isinstance(e, UpAborted):
            raise
        started.power_off()


@command()
def down(
    name: VmName,
    *,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the guest to power off.")] = 60.0,
    force: Annotated[bool, typer.Option("--force", help="Do not wait for the guest: quit QEMU at once.")] = False,
    connect: ConnectOpt = None,
) -> None:
    """Power a VM off (ACPI, then quit, then kill) and remove everything its run made.

    Example: vmrun down demo --timeout 20
    """
    from vmrun.engines import find

    how = find(name, connect).down(timeout=timeout, force=force, progress=ui.notice)
    print(f"{name}: {how}")


@command()
def ps(*, connect: ConnectOpt = None, as_json: JsonOpt = False) -> None:
    """List the VMs vmrun started: engine, host, pid, status, uptime, NICs, forwards, SPICE.

    A VM whose QEMU does not answer within 2 s shows as "not responding". Domains run by libvirt
    are listed from every URI vmrun started one on, $VMRUN_CONNECT and -c.

    Example: vmrun ps --json
    """
    from vmrun.engines import status_all
    from vmrun.summary import ps_table

    vms = status_all(connect)
    if as_json:
        print(json.dumps([vm.as_json() for vm in vms], indent=2))
    elif vms:
        print(ps_table(vms))
    else:
        print("no VMs")


@command()
def doctor(
    name: Annotated[
        Optional[str], typer.Argument(help="A profile to check too (name or path).", autocompletion=complete_profiles)
    ] = None,
    *,
    as_json: JsonOpt = False,
) -> None:
    """Check the host (and a profile) for what would stop a guest, each problem with its fix.

    Exit status 1 when the profile could not start. Example: vmrun doctor jrgtest
    """
    from vmrun import doctor as doc

    profile = load(name, None, None, None) if name else None
    checks = doc.run(profile)
    if as_json:
        print(json.dumps({"ok": not doc.failed(checks), "checks": [c.as_json() for c in checks]}, indent=2))
    else:
        print(ui.checklist(checks))
    if doc.failed(checks):
        raise typer.Exit(1)


@command()
def gc() -> None:
    """Clean up after VMs whose QEMU died: their taps, macvtaps, OVS ports, passt, swtpm, virtiofsd and run folders.

    It also forgets the libvirt URIs whose private daemon is gone for good. Example: vmrun gc
    """
    from vmrun.engines import gc as do_gc

    cleaned = do_gc()
    print(f"cleaned up: {', '.join(cleaned)}" if cleaned else "nothing to clean up")


@command()
def migrate(
    name: VmName,
    *,
    to: Annotated[
        str, typer.Option("--to", metavar="URI", help="The libvirt to move it to, e.g. qemu+tcp://lab2/system.")
    ],
    live: Annotated[bool, typer.Option("--live", help="Keep the guest running while its memory is copied.")] = False,
    persist: Annotated[bool, typer.Option("--persist", help="Define it on the target too.")] = False,
    copy_storage: Annotated[
        bool, typer.Option("--copy-storage", help="Copy its disks along (they are not on shared storage).")
    ] = False,
    shared_storage: Annotated[
        bool, typer.Option("--shared-storage", help="Its disks are on storage both hosts see.")
    ] = False,
    connect: ConnectOpt = None,
) -> None:
    """Move a VM that libvirt runs to another libvirt host; say how long it took and the guest's downtime.

    Example: vmrun migrate demo --to qemu+tcp://lab2/system --live
    """
    from vmrun.engines import find

    vm = find(name, connect)
    done = vm.migrate(
        to, live=live, persist=persist, copy_storage=copy_storage, shared_storage=shared_storage, waiting=ui.Spinner
    )
    downtime = f", downtime {done.downtime_ms} ms" if done.downtime_ms is not None else ""
    print(f"{name}: now on {done.vm.host} ({to}) after {done.seconds:.1f} s{downtime}")


@command()
def autostart(
    name: VmName,
    state: Annotated[str, typer.Argument(metavar="on|off", help="Start it when libvirtd starts, or not.")],
    *,
    connect: ConnectOpt = None,
) -> None:
    """Have libvirt start a persistent VM at boot (vmrun up NAME --persist made it persistent).

    Example: vmrun autostart demo on
    """
    from vmrun.engines import find

    if state not in ("on", "off"):
        raise UsageError(f"{state!r}: say on or off")
    find(name, connect).autostart(state == "on")
    print(f"{name}: autostart {state}")
