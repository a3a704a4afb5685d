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
        bool, typer.Option("--libvirt", help="Print the libvirt domain XML instead; what does not carry goes to stderr.")
    ] = False,
    running: Annotated[
        bool, typer.Option("--running", help="NAME is a running VM: the command line its QEMU was really started with.")
    ] = False,
) -> None:
    """Print the QEMU command a profile gives, as a runnable start.sh or as JSON.

    Example: vmrun show jrgtest > start.sh      vmrun show demo --running
    """
    if running:
        _show_running(name, as_json=as_json, changed=bool(memory or smp or set_ or libvirt))
        return
    profile = load(name, memory, smp, set_)
    if libvirt:
        _show_libvirt(profile, as_json=as_json)
        return
    from vmrun.show import describe, render_script

    shown = describe(profile)
    if as_json:
        print(json.dumps(shown, indent=2))
    else:
        print(render_script(shown["argv"], source=profile.source), end="")


def _show_running(name: str, *, as_json: bool, changed: bool) -> None:
    """The argv `up` recorded in the run state as it started QEMU (fd numbers and vmrun's sockets included)."""
    from vmrun.errors import StateError
    from vmrun.show import render_script
    from vmrun.vm import Vm, find

    if changed:
        raise StateError("--running shows what runs: --memory, --smp, --set and --libvirt do not apply")
    vm = find(name)
    if not isinstance(vm, Vm):
        raise StateError(f"{name} runs under libvirt, which wrote its QEMU command line on {vm.host}",
                         hint=f"/var/log/libvirt/qemu/{name}.log there; vmrun show {name} --libvirt for the XML")  # fmt: skip
    state = vm.require_state()
    if as_json:
        print(json.dumps({"name": state.name, "pid": state.pid, "argv": state.argv}, indent=2))
    else:
        print(render_script(state.argv, source=f"the running VM {name} (pid {state.pid})"), end="")


def _show_libvirt(profile, *, as_json: bool) -> None:
    """The domain XML as `up` on a libvirt host would define it (accel and QEMU resolved here)."""
    import shutil

    from vmrun.accel import choose
    from vmrun.engines.libvirt.xml import domain_xml

    built = domain_xml(profile, accel=choose(profile.accel).accel, emulator=shutil.which(profile.qemu) or profile.qemu)
    if as_json:
        print(json.dumps({"xml": built.xml, "warnings": list(built.warnings)}, indent=2))
        return
    for warning in built.warnings:
        ui.notice(warning)
    print(built.xml, end="")


@command()
def up(
    name: Name,
    *,
    memory: MemoryOpt = None,
    smp: SmpOpt = None,
    set_: SetOpt = None,
    wait: Annotated[bool, typer.Option("--wait", help="Also wait until the guest answers on its first forwarded TCP port.")] = False,
    wait_timeout: Annotated[float, typer.Option(help="Seconds --wait waits for the guest.")] = 300.0,
    foreground: Annotated[bool, typer.Option("--foreground", "-f", help="Stay attached; Ctrl-C powers the guest off.")] = False,
    connect: ConnectOpt = None,
    persist: Annotated[bool, typer.Option("--persist", help="libvirt engine: define the domain, so it survives a host reboot.")] = False,
    snapshot: Annotated[bool, typer.Option("--snapshot", help="Write nothing to the disks: writes go to a temporary overlay (QEMU's -snapshot).")] = False,
    cdrom: Annotated[Optional[str], typer.Option("--cdrom", metavar="ISO", help="Boot this ISO once (-boot once=d); not saved in the profile.")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Start a VM: check the host, prepare its NICs, make missing disks, start QEMU detached and wait for QMP.

    With -c URI (or engine = "libvirt" in the profile) libvirt runs it at URI instead.

    Example: vmrun up jrgtest --memory 16G --smp 8      vmrun up demo -c qemu+ssh://lab1/system
             vmrun up jrgtest --cdrom debian-12.iso     vmrun up jrgtest --snapshot
    """
    from vmrun.argv import RunOptions
    from vmrun.guestwait import UpAborted, first_tcp_forward
    from vmrun.profile.model import Engine

    profile = load(name, memory, smp, set_, cdrom)
    options = RunOptions(snapshot=snapshot, boot_cdrom=cdrom is not None)
    if cdrom is not None and profile.kernel:
        ui.notice(f"the profile boots a kernel ({profile.kernel}): QEMU starts that, not the CD-ROM")
    if wait:
        first_tcp_forward(profile)  # refuse before anything starts
    if connect or profile.engine is Engine.LIBVIRT:
        _up_libvirt(profile, connect, persist=persist, wait=wait, wait_timeout=wait_timeout, foreground=foreground,
                    as_json=as_json, options=options)  # fmt: skip
        return
    from vmrun import launch
    from vmrun.guestwait import wait_for_guest
    from vmrun.summary import up_summary

    launched = launch.up(profile, notice=ui.notice, options=options)
    try:  # a Ctrl-C of --foreground means "power it off", wherever it lands once the VM is up
        if wait:
            wait_for_guest(profile, launched, timeout=wait_timeout)
        print(json.dumps(launched.state.to_json(), indent=2) if as_json else up_summary(launched), flush=True)
        if foreground:
            from vmrun.guestwait import stay_attached

            stay_attached(launched)
    except KeyboardInterrupt as e:
        if not foreground or isinstance(e, UpAborted):
            raise
        from vmrun.guestwait import power_off

        power_off(launched)


def _up_libvirt(profile, connect, *, persist, wait, wait_timeout, foreground, as_json, options) -> None:
    from vmrun.engines.libvirt import domain, uris
    from vmrun.errors import ProfileError
    from vmrun.summary import libvirt_summary

    if foreground:
        raise ProfileError("--foreground needs the qemu engine: libvirt keeps the VM, not vmrun",
                           hint=f"leave it out; vmrun down {profile.name} stops it")  # fmt: skip
    vm = domain.up(profile, connect or profile.connect or uris.default_uri(), persist=persist, notice=ui.notice,
                   options=options)  # fmt: skip
    if wait:
        from vmrun.guestwait import wait_for_domain

        wait_for_domain(profile, vm, timeout=wait_timeout)
    state = vm.state()
    print(json.dumps(state.to_json(), indent=2) if as_json else libvirt_summary(vm, state, persist=persist))


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
    from vmrun.vm import find

    how = find(name, connect).down(timeout=timeout, force=force, progress=ui.notice)
    print(f"{name}: {how}")


@command()
def ps(*, connect: ConnectOpt = None, as_json: JsonOpt = False) -> None:
    """List the VMs vmrun started: engine, host, pid, status, uptime, NICs, forwards, SPICE.

    A VM whose QEMU does not answer within 2 s shows as "not responding". Domains run by libvirt
    are listed from every URI vmrun started one on, $VMRUN_CONNECT and -c.
    """
    from vmrun.vm import status_all
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
    name: Annotated[Optional[str], typer.Argument(help="A profile to check too (name or path).", autocompletion=complete_profiles)] = None,
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
    """Clean up after VMs whose QEMU died: their taps, macvtaps, OVS ports, passt and run folders."""
    from vmrun.vm import gc as do_gc

    cleaned = do_gc()
    print(f"cleaned up: {', '.join(cleaned)}" if cleaned else "nothing to clean up")


@command()
def migrate(
    name: VmName,
    *,
    to: Annotated[str, typer.Option("--to", metavar="URI", help="The libvirt to move it to, e.g. qemu+tcp://lab2/system.")],
    live: Annotated[bool, typer.Option("--live", help="Keep the guest running while its memory is copied.")] = False,
    persist: Annotated[bool, typer.Option("--persist", help="Define it on the target too.")] = False,
    copy_storage: Annotated[bool, typer.Option("--copy-storage", help="Copy its disks along (they are not on shared storage).")] = False,
    shared_storage: Annotated[bool, typer.Option("--shared-storage", help="Its disks are on storage both hosts see.")] = False,
    connect: ConnectOpt = None,
) -> None:
    """Move a VM that libvirt runs to another libvirt host; say how long it took and the guest's downtime.

    Example: vmrun migrate demo --to qemu+tcp://lab2/system --live
    """
    from vmrun.engines.libvirt import domain
    from vmrun.errors import StateError
    from vmrun.vm import Vm, find

    vm = find(name, connect)
    if isinstance(vm, Vm):
        raise StateError(f"{name} runs as vmrun's own QEMU: only a VM libvirt runs can migrate",
                         hint=f"vmrun down {name}, then vmrun up {name} -c URI")  # fmt: skip
    with ui.Spinner(f"migrating {name} from {vm.host} to {domain.host_of(to)}"):
        done = domain.migrate(vm, to, live=live, persist=persist, copy_storage=copy_storage, shared_storage=shared_storage)
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
    from vmrun.errors import ProfileError, StateError
    from vmrun.vm import Vm, find

    if state not in ("on", "off"):
        raise ProfileError(f"{state!r}: say on or off")
    vm = find(name, connect)
    if isinstance(vm, Vm):
        raise StateError(f"{name} runs as vmrun's own QEMU: boot-time start is libvirt's", hint=f"vmrun up {name} -c URI --persist")
    vm.autostart(state == "on")
    print(f"{name}: autostart {state}")

