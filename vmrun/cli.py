"""The `vmrun` command line: thin Typer commands, one error boundary.

Each command parses its options and makes one call into the library. Heavy
modules (qemu.qmp, pyroute2, libvirt) are imported inside the commands that
need them, so `vmrun --help` stays fast.
"""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from typing import Annotated, Any, NoReturn, Optional, TypeVar

import typer

from vmrun import ui
from vmrun.errors import VmrunError

app = typer.Typer(
    help="Run QEMU guests from TOML profiles, host networking included.\n\n"
    "Example: vmrun up demo --wait   (then: vmrun ps, vmrun down demo)",
    no_args_is_help=True,
    add_completion=True,  # --install-completion, --show-completion; NAME arguments complete (vmrun/complete.py)
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

F = TypeVar("F", bound=Callable[..., Any])
_debug = False


def command(*args: Any, group: typer.Typer | None = None, **kwargs: Any) -> Callable[[F], F]:
    """``@app.command`` (or a sub-group's) plus the error boundary: a VmrunError becomes one line and an exit code."""

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def run(*a: Any, **kw: Any) -> Any:
            as_json = bool(kw.get("as_json"))  # the command's --json: its errors are JSON too
            try:
                return func(*a, **kw)
            except VmrunError as e:
                if _debug:
                    raise
                _fail(e.message, e.hint, e.exit_code, as_json=as_json)
            except KeyboardInterrupt:
                _fail("interrupted", None, 130, as_json=as_json)
            except OSError as e:
                if _debug:
                    raise
                from vmrun.errors import FileError

                err = FileError.from_os(e, doing="cannot use")
                _fail(err.message, err.hint, 1, as_json=as_json)

        (group or app).command(*args, **kwargs)(run)
        return func

    return wrap


def _fail(message: str, hint: str | None, code: int, *, as_json: bool) -> NoReturn:
    """The one way a command fails: one line and a hint on stderr, or under --json one object on stdout."""
    if as_json:
        print(json.dumps({"error": message, "hint": hint, "exit": code}), flush=True)
    else:
        ui.error(message, hint)
    raise typer.Exit(code) from None


def _version(value: bool) -> None:
    if not value:
        return
    from importlib.metadata import PackageNotFoundError, version  # here: `vmrun --help` never pays for it

    try:
        print(f"vmrun {version('vmrun')}")
    except PackageNotFoundError:  # run from a source tree that was never installed
        from vmrun import __version__

        print(f"vmrun {__version__}")
    raise typer.Exit()


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print vmrun's version and exit.")
    ] = False,
) -> None:
    global _debug
    _debug = debug


def _complete_profiles(incomplete: str) -> list[str]:
    from vmrun.complete import profile_names  # only while a shell completes: not on `vmrun --help`

    return profile_names(incomplete)


def _complete_vms(incomplete: str) -> list[str]:
    from vmrun.complete import vm_names

    return vm_names(incomplete)


Name = Annotated[str, typer.Argument(help="Profile name (looked up in ./profiles and the profile path) or a .toml path.",
                                     autocompletion=_complete_profiles)]  # fmt: skip
VmName = Annotated[str, typer.Argument(help="Name of a VM started by `vmrun up`.", autocompletion=_complete_vms)]
MemoryOpt = Annotated[Optional[str], typer.Option("--memory", "-m", help="Override memory, e.g. 16G.")]
SmpOpt = Annotated[Optional[int], typer.Option("--smp", help="Override the vCPU count.")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Override any scalar: --set spice.port=8001.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]
ConnectOpt = Annotated[Optional[str], typer.Option("--connect", "-c", metavar="URI",
                       help="A libvirt URI: the VM runs (or is looked for) under libvirt there, e.g. qemu+ssh://lab1/system.")]  # fmt: skip


def _load(name: str, memory: str | None, smp: int | None, sets: list[str] | None, cdrom: str | None = None):
    """Load a profile with the command line's overrides, each labelled as typed so that errors name the option."""
    from vmrun.profile.load import Override, load_profile, parse_override

    overrides = [parse_override(s) for s in sets or []]
    if cdrom is not None:  # a path typed here is taken from the current folder, not the profile's
        from vmrun.errors import ProfileError

        if not os.path.isfile(cdrom):
            raise ProfileError(f"{cdrom} is not a file", field=f"--cdrom {cdrom}")
        overrides.append(Override("cdrom", os.path.abspath(cdrom), f"--cdrom {cdrom}"))
    if memory is not None:
        overrides.append(Override("memory", memory, f"--memory {memory}"))
    if smp is not None:
        overrides.append(Override("smp", smp, f"--smp {smp}"))
    return load_profile(name, overrides=overrides)


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
    profile = _load(name, memory, smp, set_)
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

    profile = _load(name, memory, smp, set_, cdrom)
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
    name: Annotated[Optional[str], typer.Argument(help="A profile to check too (name or path).", autocompletion=_complete_profiles)] = None,
    *,
    as_json: JsonOpt = False,
) -> None:
    """Check the host (and a profile) for what would stop a guest, each problem with its fix.

    Exit status 1 when the profile could not start. Example: vmrun doctor jrgtest
    """
    from vmrun import doctor as doc

    profile = _load(name, None, None, None) if name else None
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
def console(name: VmName, *, connect: ConnectOpt = None) -> None:
    """Attach to a VM's serial console; Ctrl-] detaches."""
    from vmrun.serial import attach
    from vmrun.vm import Vm, find

    vm = find(name, connect)
    if not isinstance(vm, Vm):  # libvirt's own console client, which knows its stream protocol
        os.execvp("virsh", ["virsh", "-c", vm.uri, "console", vm.name])
    attach(vm.run.serial)


@command(context_settings={"allow_extra_args": True, "ignore_unknown_options": True})
def ssh(
    ctx: typer.Context,
    name: VmName,
    *,
    user: Annotated[Optional[str], typer.Option("--user", "-l", help="Login name.")] = None,
) -> None:
    """ssh into a VM through its forward to guest port 22.

    Example: vmrun ssh jrgtest -- uname -a
    """
    from vmrun.summary import ssh_argv

    argv = ssh_argv(name, user, list(ctx.args))
    os.execvp(argv[0], argv)


@command()
def qmp(
    name: VmName,
    qmp_command: Annotated[str, typer.Argument(metavar="COMMAND", help="A QMP command, e.g. query-status.")],
    arguments: Annotated[Optional[str], typer.Argument(metavar="[JSON]", help="Its arguments as a JSON object.")] = None,
    *,
    connect: ConnectOpt = None,
) -> None:
    """Send one QMP command to a running VM and print the answer as JSON (libvirt's monitor passthrough on that engine).

    Example: vmrun qmp demo query-status
    """
    from vmrun.errors import StateError
    from vmrun.vm import find

    vm = find(name, connect)
    try:
        args = json.loads(arguments) if arguments else None
    except ValueError as e:
        raise StateError(f"arguments: not JSON: {e}") from None
    if args is not None and not isinstance(args, dict):
        raise StateError("arguments: must be a JSON object, e.g. '{\"device\": \"net1\"}'")
    with vm.qmp() as q:
        print(json.dumps(q.execute(qmp_command, args), indent=2))


@command()
def log(
    name: VmName,
    *,
    qemu_output: Annotated[bool, typer.Option("--qemu", help="QEMU's own output instead of the serial console.")] = False,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing as the log grows.")] = False,
) -> None:
    """Print a VM's serial console log (or QEMU's output with --qemu)."""
    from vmrun.errors import StateError
    from vmrun.serial import print_log
    from vmrun.vm import Vm, find

    vm = find(name)
    if not isinstance(vm, Vm):
        raise StateError(f"{name} runs under libvirt, which keeps its log on {vm.host}: /var/log/libvirt/qemu/{name}.log",
                         hint=f"vmrun console {name} shows its serial console")  # fmt: skip
    state = vm.state()
    print_log(vm.run.qemu_log if qemu_output else vm.run.serial_log, follow=follow,
              still_running=lambda: vm.qemu_pid(state) is not None)  # fmt: skip


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


nic_app = typer.Typer(help="Hot-plug NICs into a running VM (and out again).", no_args_is_help=True)
fwd_app = typer.Typer(help="Port forwards on a running VM's user-network NIC.", no_args_is_help=True)
app.add_typer(nic_app, name="nic")
app.add_typer(fwd_app, name="fwd")


@command("add", group=nic_app)
def nic_add(
    name: VmName,
    *,
    bridge: Annotated[Optional[str], typer.Option(help="A Linux bridge (tap made by vmrun or by qemu-bridge-helper).")] = None,
    macvtap: Annotated[Optional[str], typer.Option(metavar="PARENT", help="A macvtap on this host NIC.")] = None,
    mode: Annotated[Optional[str], typer.Option(help="macvtap mode: bridge, vepa, private, passthru.")] = None,
    ovs: Annotated[Optional[str], typer.Option(metavar="BRIDGE", help="An Open vSwitch bridge.")] = None,
    vlan: Annotated[Optional[int], typer.Option(help="OVS VLAN tag.")] = None,
    network: Annotated[Optional[str], typer.Option(help="An active libvirt network.")] = None,
    user: Annotated[bool, typer.Option("--user", help="QEMU user networking.")] = False,
    hostfwd: Annotated[Optional[list[str]], typer.Option(help="With --user or --passt: a forward, e.g. tcp::2222-:22.")] = None,
    passt: Annotated[bool, typer.Option("--passt", help="A passt process.")] = False,
    model: Annotated[str, typer.Option(help="Guest NIC model.")] = "virtio-net-pci",
    mac: Annotated[Optional[str], typer.Option(help="MAC address (default: stable, from VM and NIC id).")] = None,
    nic_id: Annotated[Optional[str], typer.Option("--id", help="NIC id (default: next free netN).")] = None,
    via: Annotated[Optional[str], typer.Option(help="For --bridge/--network: auto, tap or helper.")] = None,
    vhost: Annotated[Optional[str], typer.Option(help="auto, on or off.")] = None,
    save: Annotated[bool, typer.Option("--save", help="Also add the NIC to the VM's profile file.")] = False,
    connect: ConnectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Hot-plug a NIC into a running VM; every step is undone if a later one fails.

    Example: vmrun nic add jrgtest --bridge jrgbr1
    """
    from vmrun import hotplug

    raw = _nic_request(bridge, macvtap, mode, ovs, vlan, network, user, hostfwd, passt)
    raw.update({k: v for k, v in {"model": model, "mac": mac, "id": nic_id, "via": via, "vhost": vhost}.items() if v})
    added = hotplug.add(name, raw, connect=connect)
    if save:
        from vmrun.profile.save import append_nic

        path = append_nic(added.nic, raw, added.profile)
        ui.notice(f"saved {added.nic.id} to {path}")
    if as_json:
        print(json.dumps(added.as_json(), indent=2))
    else:
        print(f"{name}: added {added.nic.id} ({added.nic.model}, MAC {added.nic.mac}){_host_side(added.prepared.host)}")


def _nic_request(bridge, macvtap, mode, ovs, vlan, network, user, hostfwd, passt) -> dict[str, Any]:
    from vmrun.errors import ProfileError

    chosen = [k for k, v in {"--bridge": bridge, "--macvtap": macvtap, "--ovs": ovs, "--network": network,
                             "--user": user, "--passt": passt}.items() if v]  # fmt: skip
    if len(chosen) != 1:
        raise ProfileError("say which kind of NIC: exactly one of --bridge, --macvtap, --ovs, --network, --user, --passt")
    raw: dict[str, Any] = {}
    if bridge:
        raw = {"type": "bridge", "bridge": bridge}
    elif macvtap:
        raw = {"type": "macvtap", "parent": macvtap, **({"mode": mode} if mode else {})}
    elif ovs:
        raw = {"type": "ovs", "bridge": ovs, **({"vlan": vlan} if vlan is not None else {})}
    elif network:
        raw = {"type": "network", "network": network}
    elif user:
        raw = {"type": "user", **({"hostfwd": hostfwd} if hostfwd else {})}
    elif passt:
        raw = {"type": "passt", **({"hostfwd": hostfwd} if hostfwd else {})}
    return raw


@command("del", group=nic_app)
def nic_del(
    name: VmName,
    nic_id: Annotated[str, typer.Argument(metavar="ID", help="The NIC's id (see vmrun nic list).")],
    *,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the guest to release the device.")] = 30.0,
    connect: ConnectOpt = None,
) -> None:
    """Unplug a NIC from a running VM and remove its host side.

    Example: vmrun nic del jrgtest net2
    """
    from vmrun import hotplug

    hotplug.delete(name, nic_id, timeout=timeout, connect=connect)
    print(f"{name}: removed {nic_id}")


@command("list", group=nic_app)
def nic_list(name: VmName, *, connect: ConnectOpt = None, as_json: JsonOpt = False) -> None:
    """The NICs the running VM has (asked over QMP), with their host side and origin."""
    from vmrun import hotplug

    nics = hotplug.listing(name, connect=connect)
    if as_json:
        print(json.dumps(nics, indent=2))
        return
    rows = [[n["id"], n["type"], n["model"], n["mac"], n["origin"], _host_side(n.get("host", {})).strip(" []")] for n in nics]
    print(ui.table(["ID", "TYPE", "MODEL", "MAC", "ORIGIN", "HOST SIDE"], rows))


Rule = Annotated[str, typer.Argument(metavar="RULE", help="proto:hostaddr:hostport-guestaddr:guestport, e.g. tcp:127.0.0.1:2222-:22")]


@command("add", group=fwd_app)
def fwd_add(
    name: VmName,
    rule: Rule,
    *,
    nic: Annotated[Optional[str], typer.Option(help="The user NIC (default: the first).")] = None,
    connect: ConnectOpt = None,
) -> None:
    """Add a port forward to a running VM (binds 127.0.0.1 unless the rule says otherwise).

    Example: vmrun fwd add demo tcp::2222-:22
    """
    from vmrun import forwards

    print(f"{name}: forwarding {forwards.add(name, rule, nic, connect=connect).rule}")


@command("del", group=fwd_app)
def fwd_del(name: VmName, rule: Rule, *, connect: ConnectOpt = None) -> None:
    """Remove a port forward (the host side is enough: tcp:127.0.0.1:2222).

    Example: vmrun fwd del demo tcp:127.0.0.1:2222
    """
    from vmrun import forwards

    print(f"{name}: removed {forwards.delete(name, rule, connect=connect).rule}")


@command("list", group=fwd_app)
def fwd_list(name: VmName, *, connect: ConnectOpt = None, as_json: JsonOpt = False) -> None:
    """The forwards of a running VM."""
    from vmrun import forwards

    fwds = forwards.listing(name, connect=connect)
    if as_json:
        print(json.dumps([f.as_json() for f in fwds], indent=2))
    else:
        print(ui.table(["NIC", "RULE"], [[f.nic, f.rule + ("" if f.phase == "running" else f"  ({f.phase})")] for f in fwds]))


snapshot_app = typer.Typer(
    help="Internal snapshots of a running VM (disks, RAM and devices), kept in its qcow2 disks "
    "(over QMP; through libvirt's snapshot API for a VM libvirt runs).", no_args_is_help=True
)
app.add_typer(snapshot_app, name="snapshot")
Tag = Annotated[str, typer.Argument(metavar="TAG", help="The snapshot's name.")]


def _tag(tag: str) -> str:
    from vmrun.errors import ProfileError
    from vmrun.profile.fields import check_printable

    try:
        if not tag.strip():
            raise ValueError("is empty")
        return check_printable(tag)
    except ValueError as e:
        raise ProfileError(str(e), field="TAG") from None


@command("save", group=snapshot_app)
def snapshot_save(
    name: VmName,
    tag: Tag,
    *,
    disk: Annotated[Optional[str], typer.Option("--disk", help="The drive that holds the RAM state (default: the first writable one).")] = None,
    connect: ConnectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Save the running guest (disks, RAM, devices) as snapshot TAG; the guest pauses meanwhile.

    Every writable disk must be qcow2. Example: vmrun snapshot save demo before-upgrade
    """
    from vmrun import snapshots
    from vmrun.vm import find

    vm = find(name, connect)
    snap = snapshots.save(vm, _tag(tag), vmstate=disk, waiting=ui.Spinner)
    if vm.engine == "qemu" and (state := vm.state()) is not None and state.snapshot:
        ui.notice(f"{name} runs with --snapshot: this snapshot is in its temporary overlay and goes when it powers off")
    if as_json:
        print(json.dumps(snap.as_json(), indent=2))
    else:
        state = f" (guest state {snapshots.size(snap.vm_state_size)})" if snap.vm_state_size is not None else ""
        print(f"{name}: saved snapshot {snap.tag} on {', '.join(snap.disks) or 'its disks'}{state}")


@command("load", group=snapshot_app)
def snapshot_load(name: VmName, tag: Tag, *, connect: ConnectOpt = None) -> None:
    """Bring the running guest back to snapshot TAG (its disks, RAM and devices as they were).

    Example: vmrun snapshot load demo before-upgrade
    """
    from vmrun import snapshots
    from vmrun.vm import find

    snapshots.load(find(name, connect), _tag(tag), waiting=ui.Spinner)
    print(f"{name}: back at snapshot {tag}")


@command("delete", group=snapshot_app)
def snapshot_delete(name: VmName, tag: Tag, *, connect: ConnectOpt = None) -> None:
    """Delete snapshot TAG from the VM's disks.

    Example: vmrun snapshot delete demo before-upgrade
    """
    from vmrun import snapshots
    from vmrun.vm import find

    snapshots.delete(find(name, connect), _tag(tag), waiting=ui.Spinner)
    print(f"{name}: deleted snapshot {tag}")


@command("list", group=snapshot_app)
def snapshot_list(name: VmName, *, connect: ConnectOpt = None, as_json: JsonOpt = False) -> None:
    """The snapshots in the running VM's disks: tag, date, size of the saved guest state, the guest's clock.

    Example: vmrun snapshot list demo --json
    """
    from vmrun import snapshots
    from vmrun.vm import find

    snaps = snapshots.listing(find(name, connect))
    if as_json:
        print(json.dumps([s.as_json() for s in snaps], indent=2))
    elif snaps:
        print(snapshots.render(snaps))
    else:
        print(f"{name}: no snapshots")


net_app = typer.Typer(
    help="Host networks, made once and shared by VMs: libvirt networks, bridges over a NIC, OVS bridges, the helper's ACL.",
    no_args_is_help=True,
)
app.add_typer(net_app, name="net")

NetName = Annotated[str, typer.Argument(help="A libvirt network's name.")]
UriOpt = Annotated[str, typer.Option("--connect", "-c", "--uri", metavar="URI", help="libvirt connection URI (--uri: the old spelling).")]
ForceOpt = Annotated[bool, typer.Option("--force", help="Even if guests' taps are on its bridge.")]
HelperOpt = Annotated[Optional[str], typer.Option("--helper", help="qemu-bridge-helper to judge the ACL for (default: found as `up` finds it).")]


@command("create", group=net_app)
def net_create(
    name: NetName,
    *,
    nat: Annotated[bool, typer.Option("--nat", help="NAT to the host's uplinks (the default).")] = False,
    isolated: Annotated[bool, typer.Option("--isolated", help="No forwarding: guests and host only.")] = False,
    route: Annotated[bool, typer.Option("--route", help="Routed, without NAT.")] = False,
    subnet: Annotated[Optional[str], typer.Option(help="IPv4 subnet, e.g. 192.168.128.0/24; the host is .1.")] = None,
    bridge: Annotated[Optional[str], typer.Option(help="Bridge name (default: vr-NAME, cut to 15 bytes).")] = None,
    dhcp_range: Annotated[Optional[str], typer.Option("--dhcp-range", help="FIRST-LAST (default: .2 to the last host).")] = None,
    uplink: Annotated[Optional[str], typer.Option(help="With --nat or --route: forward through this NIC only.")] = None,
    autostart: Annotated[bool, typer.Option("--autostart/--no-autostart", help="Start it when libvirtd starts.")] = True,
    uri: UriOpt = "qemu:///system",
    as_json: JsonOpt = False,
) -> None:
    """Create a libvirt network: defined persistent, started and marked autostart in one step.

    Example: vmrun net create jrgnet --nat --subnet 192.168.128.0/24 --bridge jrgbr0
    """
    from vmrun.hostnet import libvirt_nets, spec
    from vmrun.profile.model import NetKind

    net = spec.from_options(name, {NetKind.NAT: nat, NetKind.ISOLATED: isolated, NetKind.ROUTE: route}, subnet=subnet,
                            bridge=bridge, dhcp_range=dhcp_range, uplink=uplink, autostart=autostart, uri=uri)  # fmt: skip
    shown = libvirt_nets.create(net)
    if as_json:
        print(json.dumps(shown, indent=2))
    else:
        print(libvirt_nets.summary("created", shown))
        print(f"  guests join it with: type = \"network\", network = \"{name}\"   (or vmrun nic add VM --network {name})")


@command("persist", group=net_app)
def net_persist(name: NetName, *, uri: UriOpt = "qemu:///system") -> None:
    """Make a transient network (virsh net-create) persistent and autostart, without taking it down.

    Example: vmrun net persist jrgnet
    """
    from vmrun.hostnet import libvirt_nets

    print(libvirt_nets.summary("persistent", libvirt_nets.persist(name, uri)))


@command("start", group=net_app)
def net_start(name: NetName, *, uri: UriOpt = "qemu:///system") -> None:
    """Start a libvirt network."""
    from vmrun.hostnet import libvirt_nets

    print(libvirt_nets.summary("started", libvirt_nets.start(name, uri)))


@command("stop", group=net_app)
def net_stop(name: NetName, *, uri: UriOpt = "qemu:///system", force: ForceOpt = False) -> None:
    """Stop a libvirt network (a transient one is then gone)."""
    from vmrun.hostnet import libvirt_nets

    print(libvirt_nets.summary("stopped", libvirt_nets.stop(name, uri, force=force)))


@command("delete", group=net_app)
def net_delete(name: NetName, *, uri: UriOpt = "qemu:///system", force: ForceOpt = False) -> None:
    """Stop a libvirt network if it runs, and undefine it."""
    from vmrun.hostnet import libvirt_nets

    libvirt_nets.delete(name, uri, force=force)
    print(f"{name}: deleted")


@command("list", group=net_app)
def net_list(*, uri: UriOpt = "qemu:///system", helper: HelperOpt = None, as_json: JsonOpt = False) -> None:
    """libvirt networks, Linux bridges and OVS bridges, and whether qemu-bridge-helper may use each."""
    from vmrun.hostnet import listing

    found = listing.gather(uri, helper)
    print(json.dumps(found, indent=2) if as_json else listing.render(found))


@command("bridge", group=net_app)
def net_bridge(
    name: Annotated[str, typer.Argument(help="The bridge's name.")],
    *,
    uplink: Annotated[Optional[str], typer.Option(help="The NIC to put on it; its addresses and routes move to the bridge.")] = None,
    stp: Annotated[bool, typer.Option("--stp", help="Spanning tree on (the uplink then forwards after about 4 s).")] = False,
    print_config: Annotated[Optional[str], typer.Option("--print-config", metavar="nmcli|networkd",
                            help="Print the boot-time configuration instead of making the bridge now.")] = None,  # fmt: skip
) -> None:
    """Make a Linux bridge over a NIC, now: the NIC's addresses and routes move to the bridge, or stay if any step fails.

    Example: vmrun net bridge jrgbr1 --uplink ens1f0   (then: vmrun net allow jrgbr1)
    """
    if print_config is not None:
        from vmrun.errors import ProfileError
        from vmrun.hostnet import bridge_config

        if uplink is None:
            raise ProfileError("--print-config needs --uplink")
        print(bridge_config.render(print_config, name, uplink, stp=stp), end="")
        return
    from vmrun.hostnet import linux_bridge

    print(linux_bridge.create(name, uplink, stp=stp, notice=ui.notice))


@command("ovs-bridge", group=net_app)
def net_ovs_bridge(
    name: Annotated[str, typer.Argument(help="The bridge's name.")],
    *,
    uplink: Annotated[Optional[str], typer.Option(help="A NIC to add as a port; its addresses and routes move to the bridge.")] = None,
    datapath: Annotated[Optional[str], typer.Option(metavar="netdev|system", help="Default: system if the kernel module is loaded, else netdev.")] = None,
) -> None:
    """Make an Open vSwitch bridge (if missing), over a NIC if given.

    Example: vmrun net ovs-bridge ovsbr0 --uplink ens1f1
    """
    from vmrun.hostnet import ovs_bridge

    print(ovs_bridge.create(name, uplink, datapath, notice=ui.notice))


@command("allow", group=net_app)
def net_allow(
    bridge: Annotated[str, typer.Argument(help="The bridge qemu-bridge-helper may put guests on.")],
    *,
    conf: Annotated[Optional[str], typer.Option(help="The ACL file (default: the one the helper was built to read).")] = None,
    helper: HelperOpt = None,
) -> None:
    """Let qemu-bridge-helper use a bridge: one `allow BRIDGE` line, added once.

    Example: vmrun net allow jrgbr0
    """
    from vmrun.hostnet import acl, listing

    print(acl.allow(bridge, conf or acl.default_conf(listing.helper_path(helper))))


def _host_side(host: dict[str, Any]) -> str:
    from vmrun.summary import host_side

    return host_side(host)


@command(name="import")
def import_(
    script: Annotated[str, typer.Argument(help="A start.sh, or a file holding a bare QEMU command line ('-': stdin).")],
    args: Annotated[
        Optional[list[str]], typer.Argument(help="After --: what the script would be run with ($1, \"$@\").")
    ] = None,
    *,
    name: Annotated[Optional[str], typer.Option("--name", help="Profile name (default: the script's -name).")] = None,
    output: Annotated[
        Optional[str],
        typer.Option("--output", "-o", help="Where to write it (default: NAME.toml where `vmrun up NAME` finds it, "
                     "$XDG_CONFIG_HOME/vmrun/profiles); '-' prints it."),
    ] = None,
    force: Annotated[bool, typer.Option("--force", help="Overwrite the output file if it exists.")] = False,
    sets: Annotated[
        Optional[list[str]],
        typer.Option("--set", help="KEY=VALUE into the profile; fills a value the script computes (-m $(...)).",
                     metavar="KEY=VALUE"),
    ] = None,
) -> None:
    """Turn a start.sh (a QEMU command line) into a profile, and say on stderr what did not fit.

    ${1:-8}-style parameters become the profile's values; the script's own arguments
    ($1, "$@") are given after --; what vmrun has no key for goes to extra_args;
    commented-out options are listed, not imported.

    Example: vmrun import start.sh --name jrgtest -- disk.qcow2 4G   (then: vmrun show jrgtest)
    """
    from vmrun.importer import import_script

    imported = import_script(script, name=name, output=output, force=force, args=args or None, sets=sets or [])
    for note in imported.notes:
        ui.notice(note)
    if imported.path is None:
        print(imported.text, end="")
    else:
        print(f"wrote {imported.path} (see it with: vmrun show {imported.shown_as})")


@command()
def viewer(
    name: VmName,
    *,
    wait: Annotated[bool, typer.Option("--wait", help="Stay attached until the viewer is closed.")] = False,
    print_uri: Annotated[bool, typer.Option("--print", help="Only print the spice:// URI.")] = False,
    connect: ConnectOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Open remote-viewer on a VM's SPICE display (the password goes in a 0600 .vv file, never on a command line).

    Without remote-viewer installed it prints the spice:// URI and how to install it (exit 1).

    Example: vmrun viewer jrgtest      vmrun viewer demo --print
    """
    from vmrun import viewer as viewers
    from vmrun.errors import VmrunError
    from vmrun.vm import find

    vm = find(name, connect)
    if print_uri:
        shown = viewers.display_of(vm)
        print(json.dumps({"name": name, "uri": shown.uri}) if as_json else shown.uri)
        return
    opened = viewers.open_viewer(vm, wait=wait)
    if as_json:
        print(json.dumps(opened.as_json(), indent=2))
    elif opened.viewer is None:
        print(opened.display.uri)
    elif opened.pid is not None:
        print(f"{name}: {viewers.VIEWER} (pid {opened.pid}) on {opened.display.uri}")
    if opened.viewer is None and as_json:
        # The JSON above already says where to point a SPICE client; the hint goes to stderr.
        ui.notice(f"{viewers.VIEWER} is not installed: {viewers.INSTALL_HINT}")
        raise typer.Exit(1)
    if opened.viewer is None:
        raise VmrunError(f"{viewers.VIEWER} is not installed: open {opened.display.uri} with a SPICE client",
                         hint=viewers.INSTALL_HINT)  # fmt: skip
    if opened.exit_code:
        raise typer.Exit(opened.exit_code)


@command()
def unit(
    name: Name,
    *,
    install: Annotated[bool, typer.Option("--install", help="Write it where systemd looks (/etc/systemd/system for root, ~/.config/systemd/user otherwise).")] = False,
    output: Annotated[Optional[str], typer.Option("--output", "-o", metavar="FILE", help="Write it to FILE instead of printing it.")] = None,
    timeout: Annotated[int, typer.Option(help="Seconds `vmrun down` gives the guest to power off on stop.")] = 60,
) -> None:
    """A systemd service that starts the VM at boot and powers it off on stop (no libvirt, no resident vmrun).

    Example: vmrun unit jrgtest --install   (then: systemctl daemon-reload && systemctl enable vmrun-jrgtest.service)
    """
    from pathlib import Path

    from vmrun import unit as units

    profile = _load(name, None, None, None)
    spec = units.spec_for(profile, timeout=timeout)
    text = units.render(spec)
    if not install and output is None:
        print(text, end="")
        return
    path = Path(output) if output is not None else units.install_path(profile.name, user=spec.user)
    units.write(path, text)
    print(f"wrote {path}")
    if install:
        print(f"  then: {units.enable_hint(profile.name, user=spec.user)}")


NewName = Annotated[str, typer.Argument(help="The new profile's name (also the VM's name).")]


@command()
def new(name: NewName, *, as_json: JsonOpt = False) -> None:
    """Write a commented profile to start from, where `up` finds it ($XDG_CONFIG_HOME/vmrun/profiles); never overwrites.

    It loads as written: user networking with ssh forwarded from 127.0.0.1:2222, and a disk,
    an ISO and a kernel commented out, for you to choose from.

    Example: vmrun new web   (then: vmrun edit web, vmrun doctor web, vmrun up web)
    """
    from vmrun import profiles

    path = profiles.new(name)
    print(json.dumps({"name": name, "file": str(path)}) if as_json else f"wrote {path} (change it with: vmrun edit {name})")


@command(name="help")
def help_(
    topic: Annotated[Optional[str], typer.Argument(metavar="[TOPIC]", help="profile: every profile key.")] = None,
    *,
    as_json: JsonOpt = False,
) -> None:
    """Reference pages: `vmrun help profile` lists every profile key with its type, default and meaning.

    Generated from the profile loader itself, so it says what this vmrun reads. Example: vmrun help profile
    """
    from vmrun.errors import ProfileError

    if topic is None and not as_json:
        print("vmrun help profile    every profile key: type, default, meaning\n"
              "vmrun COMMAND --help  a command's options, with an example\n"
              "vmrun --help          the commands")  # fmt: skip
        return
    if topic != "profile":
        raise ProfileError(f"no help topic {topic!r}" if topic else "say which topic: vmrun help profile",
                           hint="topics: profile; each command has its own: vmrun COMMAND --help")  # fmt: skip
    from vmrun.profile import reference

    found = reference.keys()
    print(json.dumps([k.as_json() for k in found], indent=2) if as_json else reference.render(found), end="" if not as_json else "\n")


@command(name="profiles")
def profiles_(*, as_json: JsonOpt = False) -> None:
    """The profiles `up` can find (in the order it looks), each with its file and whether its VM runs.

    Running or not is read from the run folder (no QMP). Example: vmrun profiles --json
    """
    from vmrun import profiles

    found = profiles.listing()
    if as_json:
        print(json.dumps([f.as_json() for f in found], indent=2))
    elif not found:
        from vmrun.profile.load import search_path

        print(f"no profiles in {', '.join(str(d) for d in search_path())} (vmrun new NAME writes one)")
    else:
        rows = [[f.name, f.state if f.pid is None else f"{f.state} (pid {f.pid})", f.engine or "-",
                 f.file + (f"  (hidden by {f.shadowed_by})" if f.shadowed_by else ""),
                 f"invalid: {f.error}" if f.error else ""] for f in found]  # fmt: skip
        print(ui.table(["NAME", "STATE", "ENGINE", "FILE", ""], rows))


@command()
def edit(name: Name) -> None:
    """Edit a profile in $VISUAL or $EDITOR (a copy), then check it: saved only if it loads.

    On an error you are asked to edit again; without a terminal the profile stays as it
    was and the exit status is 2 (the error names your edited copy).

    Example: EDITOR=nano vmrun edit demo
    """
    from vmrun import profiles

    interactive = sys.stdin.isatty() and sys.stderr.isatty()
    done = profiles.edit(name, ask=profiles.ask_tty if interactive else None)
    print(f"saved {done.path}" if done.changed else f"{done.path}: no changes")


@command()
def clone(name: Name, new_name: NewName, *, as_json: JsonOpt = False) -> None:
    """Copy a profile under a new name, beside it, with new MAC addresses; never overwrites.

    Disks are not copied: both profiles then name the same files (said on stderr).

    Example: vmrun clone jrgtest jrgtest2
    """
    from vmrun import profiles

    done = profiles.clone(name, new_name)
    if done.shared_disks:
        ui.notice(f"{new_name} uses the same disks as {name}: {', '.join(done.shared_disks)}; do not run both at once "
                  "(give it its own, e.g. an overlay: qemu-img create -f qcow2 -b BASE -F qcow2 NEW.qcow2)")
    if done.kept_ports:
        ui.notice(f"{new_name} forwards the same host ports as {name} ({', '.join(done.kept_ports)}): change them to run both")
    if as_json:
        print(json.dumps({"name": new_name, "file": str(done.path), "macs": done.macs, "shared_disks": done.shared_disks}))
    else:
        macs = ", ".join(f"{nic} {mac}" for nic, mac in done.macs.items())
        print(f"wrote {done.path}" + (f" (new MACs: {macs})" if macs else ""))


def main() -> None:
    from vmrun import signals

    signals.install()
    _only_the_command_asked_for(sys.argv[1:])
    if "--json" not in sys.argv[1:]:
        app(prog_name="vmrun")
        return
    try:  # a command line Click refuses before any command runs is an error under --json too
        code = app(prog_name="vmrun", standalone_mode=False)
    except typer.Abort:
        sys.exit(130)
    except Exception as e:
        # Click's UsageError; Typer vendors Click (typer._click) or not depending on its version: duck-typed.
        if not (hasattr(e, "format_message") and isinstance(getattr(e, "exit_code", None), int)):
            raise
        asked = next((a for a in sys.argv[1:] if not a.startswith("-")), "")
        hint = f"vmrun {asked} --help".replace("  ", " ")
        print(json.dumps({"error": e.format_message(), "hint": hint, "exit": e.exit_code}))
        sys.exit(e.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _only_the_command_asked_for(args: list[str]) -> None:
    """Typer inspects every command's signature at each start (~0.5 ms each); build only the one asked for.

    `vmrun up` then pays for one command, not for all of them. Without a known
    command name (`vmrun`, `vmrun --help`, a typo) everything stays, so help and
    "no such command" read as usual.
    """
    asked = next((a for a in args if not a.startswith("-")), None)

    def name(info: Any) -> str:
        return info.name or info.callback.__name__.replace("_", "-")

    commands = [c for c in app.registered_commands if name(c) == asked]
    groups = [g for g in app.registered_groups if g.name == asked]
    if commands or groups:
        app.registered_commands, app.registered_groups = commands, groups


if __name__ == "__main__":
    sys.exit(main())
