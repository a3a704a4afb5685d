"""The `vmrun` command line: thin Typer commands, one error boundary.

Each command parses its options and makes one call into the library. Heavy
modules (qemu.qmp, pyroute2, libvirt) are imported inside the commands that
need them, so `vmrun --help` stays fast.
"""

from __future__ import annotations

import functools
import json
import os
import signal
import sys
from collections.abc import Callable
from typing import Annotated, Any, Optional, TypeVar

import typer

from vmrun import ui
from vmrun.errors import VmrunError

app = typer.Typer(
    help="Run QEMU guests from TOML profiles, host networking included.\n\n"
    "Example: vmrun up demo --wait   (then: vmrun ps, vmrun down demo)",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

F = TypeVar("F", bound=Callable[..., Any])
_debug = False


def command(*args: Any, **kwargs: Any) -> Callable[[F], F]:
    """``@app.command`` plus the error boundary: a VmrunError becomes one line and an exit code."""

    def wrap(func: F) -> F:
        @functools.wraps(func)
        def run(*a: Any, **kw: Any) -> Any:
            try:
                return func(*a, **kw)
            except VmrunError as e:
                if _debug:
                    raise
                ui.error(e.message, e.hint)
                raise typer.Exit(e.exit_code) from None
            except KeyboardInterrupt:
                ui.error("interrupted")
                raise typer.Exit(130) from None

        app.command(*args, **kwargs)(run)
        return func

    return wrap


@app.callback()
def _main(
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks for errors.")] = False,
) -> None:
    global _debug
    _debug = debug


Name = Annotated[str, typer.Argument(help="Profile name (looked up in ./profiles and the profile path) or a .toml path.")]
VmName = Annotated[str, typer.Argument(help="Name of a VM started by `vmrun up`.")]
MemoryOpt = Annotated[Optional[str], typer.Option("--memory", "-m", help="Override memory, e.g. 16G.")]
SmpOpt = Annotated[Optional[int], typer.Option("--smp", help="Override the vCPU count.")]
SetOpt = Annotated[Optional[list[str]], typer.Option("--set", help="Override any scalar: --set spice.port=8001.")]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print JSON instead of text.")]


def _load(name: str, memory: str | None, smp: int | None, sets: list[str] | None):
    from vmrun.profile.load import load_profile, parse_override

    overrides = [parse_override(s) for s in sets or []]
    if memory is not None:
        overrides.append(("memory", memory))
    if smp is not None:
        overrides.append(("smp", smp))
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
) -> None:
    """Print the QEMU command a profile gives, as a runnable start.sh or as JSON.

    Example: vmrun show jrgtest > start.sh
    """
    from vmrun.show import describe, render_script

    profile = _load(name, memory, smp, set_)
    shown = describe(profile)
    if as_json:
        print(json.dumps(shown, indent=2))
    else:
        print(render_script(shown["argv"], source=profile.source), end="")


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
    as_json: JsonOpt = False,
) -> None:
    """Start a VM: check the host, prepare its NICs, start QEMU detached and wait for QMP.

    Example: vmrun up jrgtest --memory 16G --smp 8
    """
    from vmrun import launch
    from vmrun.guestwait import wait_for_guest
    from vmrun.summary import up_summary

    _signals_interrupt()
    profile = _load(name, memory, smp, set_)
    launched = launch.up(profile, notice=ui.notice)
    if wait:
        wait_for_guest(profile, launched, timeout=wait_timeout)
    if as_json:
        print(json.dumps(launched.state, indent=2))
    else:
        print(up_summary(launched))
    if foreground:
        from vmrun.guestwait import stay_attached

        stay_attached(profile.name, launched)


@command()
def down(
    name: VmName,
    *,
    timeout: Annotated[float, typer.Option(help="Seconds to wait for the guest to power off.")] = 60.0,
    force: Annotated[bool, typer.Option("--force", help="Do not wait for the guest: quit QEMU at once.")] = False,
) -> None:
    """Power a VM off (ACPI, then quit, then kill) and remove everything its run made.

    Example: vmrun down demo --timeout 20
    """
    from vmrun.control import down as do_down

    _signals_interrupt()
    how = do_down(name, timeout=timeout, force=force, progress=ui.notice)
    print(f"{name}: {how}")


@command()
def ps(*, as_json: JsonOpt = False) -> None:
    """List the VMs vmrun started: pid, QMP status, uptime, NICs, forwards, SPICE."""
    from vmrun.control import status_all
    from vmrun.summary import ps_table

    vms = status_all()
    if as_json:
        print(json.dumps([vm.as_json() for vm in vms], indent=2))
    elif vms:
        print(ps_table(vms))
    else:
        print("no VMs")


@command()
def gc() -> None:
    """Clean up after VMs whose QEMU died: their taps, macvtaps, OVS ports, passt and run folders."""
    from vmrun.control import gc as do_gc

    cleaned = do_gc()
    print(f"cleaned up: {', '.join(cleaned)}" if cleaned else "nothing to clean up")


@command()
def console(name: VmName) -> None:
    """Attach to a VM's serial console; Ctrl-] detaches."""
    from vmrun.control import running
    from vmrun.serial import attach

    run, _ = running(name)
    attach(run.serial)


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
) -> None:
    """Send one QMP command to a running VM and print the answer as JSON.

    Example: vmrun qmp demo query-status
    """
    from vmrun.control import running
    from vmrun.errors import StateError
    from vmrun.qmp import Qmp

    run, _ = running(name)
    try:
        args = json.loads(arguments) if arguments else None
    except ValueError as e:
        raise StateError(f"arguments: not JSON: {e}") from None
    if args is not None and not isinstance(args, dict):
        raise StateError("arguments: must be a JSON object, e.g. '{\"device\": \"net1\"}'")
    with Qmp(run.qmp) as q:
        print(json.dumps(q.execute(qmp_command, args), indent=2))


@command()
def log(
    name: VmName,
    *,
    qemu_output: Annotated[bool, typer.Option("--qemu", help="QEMU's own output instead of the serial console.")] = False,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing as the log grows.")] = False,
) -> None:
    """Print a VM's serial console log (or QEMU's output with --qemu)."""
    from vmrun.control import running
    from vmrun.serial import print_log

    run, _ = running(name)
    print_log(run.qemu_log if qemu_output else run.serial_log, follow=follow, run=run)


def _signals_interrupt() -> None:
    """SIGTERM and SIGHUP become KeyboardInterrupt, so that cleanup in `finally` runs."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, interrupt)
    signal.signal(signal.SIGHUP, interrupt)


def main() -> None:
    app(prog_name="vmrun")


if __name__ == "__main__":
    sys.exit(main())
