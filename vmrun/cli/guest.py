"""Commands that reach into a running VM: console, qmp, log, viewer."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from vmrun import ui
from vmrun.cli.base import (
    ConnectOpt,
    JsonOpt,
    VmName,
    command,
)
from vmrun.errors import UsageError


@command()
def console(name: VmName, *, connect: ConnectOpt = None) -> None:
    """Attach to a VM's serial console; Ctrl-] detaches.

    Example: vmrun console jrgtest
    """
    from vmrun.engines import find

    find(name, connect).console()


@command()
def qmp(
    name: VmName,
    qmp_command: Annotated[str, typer.Argument(metavar="COMMAND", help="A QMP command, e.g. query-status.")],
    arguments: Annotated[
        Optional[str], typer.Argument(metavar="[JSON]", help="Its arguments as a JSON object.")
    ] = None,
    *,
    connect: ConnectOpt = None,
) -> None:
    """Send one QMP command to a running VM and print the answer as JSON (libvirt's monitor passthrough on that engine).

    Example: vmrun qmp demo query-status
    """
    from vmrun.engines import find

    vm = find(name, connect)
    try:
        args = json.loads(arguments) if arguments else None
    except ValueError as e:
        raise UsageError(f"not JSON: {e}", option="arguments") from None
    if args is not None and not isinstance(args, dict):
        raise UsageError('must be a JSON object, e.g. \'{"device": "net1"}\'', option="arguments")
    with vm.qmp() as q:
        print(json.dumps(q.execute(qmp_command, args), indent=2))


@command()
def log(
    name: VmName,
    *,
    qemu_output: Annotated[
        bool, typer.Option("--qemu", help="QEMU's own output instead of the serial console.")
    ] = False,
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Keep printing as the log grows.")] = False,
) -> None:
    """Print a VM's serial console log (or QEMU's output with --qemu).

    \b
    Example: vmrun log jrgtest -f
    Example: vmrun log jrgtest --qemu
    """
    from vmrun.engines import find

    find(name).log(qemu_output=qemu_output, follow=follow)


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

    \b
    Example: vmrun viewer jrgtest
    Example: vmrun viewer demo --print
    """
    from vmrun import viewer as viewers
    from vmrun.engines import find
    from vmrun.errors import VmrunError

    vm = find(name, connect)
    if print_uri:
        shown = vm.display()
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
        raise VmrunError(
            f"{viewers.VIEWER} is not installed: open {opened.display.uri} with a SPICE client",
            hint=viewers.INSTALL_HINT,
        )
    if opened.exit_code:
        raise typer.Exit(opened.exit_code)
