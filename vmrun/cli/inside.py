"""Commands that work inside a running guest, through its agent or its sshd: exec, cp, ip, ssh, ssh-config."""

from __future__ import annotations

import json
import os
import sys
from typing import Annotated, Optional

import typer

from vmrun import ui
from vmrun.cli.base import ConnectOpt, JsonOpt, VmName, command
from vmrun.errors import VmrunError

EXEC_FAILED = 125  # vmrun's own failure under `exec`, as `docker run` has it: never the guest's status

ExtraArgs = {"allow_extra_args": True, "ignore_unknown_options": True}


@command("exec", context_settings=ExtraArgs)
def exec_(
    name: VmName,
    argv: Annotated[list[str], typer.Argument(metavar="-- CMD [ARGS]...", help="The program and its arguments.")],
    *,
    timeout: Annotated[Optional[float], typer.Option("--timeout", help="Give up after this many seconds.")] = None,
    connect: ConnectOpt = None,
) -> None:
    """Run a command in the guest through its agent; print its output and exit with its status.

    vmrun's own failures exit 125; a command the guest cannot find 127, one it cannot run 126.

    Example: vmrun exec demo -- uname -a
    """
    from vmrun.engines import find
    from vmrun.engines.guest import run

    try:
        ran = run(find(name, connect), argv, timeout=timeout)
    except VmrunError as e:
        e.exit_code = EXEC_FAILED
        raise
    sys.stdout.buffer.write(ran.stdout)
    sys.stdout.flush()
    sys.stderr.buffer.write(ran.stderr)
    raise typer.Exit(ran.exitcode)


@command()
def cp(
    source: Annotated[str, typer.Argument(metavar="SRC", help="A host path, or VM:/path in the guest.")],
    dest: Annotated[str, typer.Argument(metavar="DST", help="A host path, or VM:/path in the guest.")],
    *,
    connect: ConnectOpt = None,
) -> None:
    """Copy a file into or out of a guest through its agent; one side is VM:/absolute/path.

    \b
    Example: vmrun cp notes.txt demo:/root/notes.txt
    Example: vmrun cp demo:/etc/os-release .
    """
    from vmrun.engines.copy import copy

    print(copy(source, dest, connect))


@command()
def ip(name: VmName, *, connect: ConnectOpt = None, as_json: JsonOpt = False) -> None:
    """The guest's addresses per NIC: from its agent, else DHCP leases, else the host's neighbour table.

    Example: vmrun ip demo --json
    """
    from vmrun.engines import find
    from vmrun.engines.guest import addresses

    nics = addresses(find(name, connect), ui.notice)
    if as_json:
        print(json.dumps(nics, indent=2))
        return
    for nic in nics:
        shown = nic["addresses"] or [{"address": "-", "prefix": None, "source": "not known"}]
        for a in shown:
            prefix = f"/{a['prefix']}" if a["prefix"] is not None else ""
            print(f"{nic['nic']:<8} {nic['mac']}  {a['address']}{prefix:<4}  {a['source']}")


@command(context_settings=ExtraArgs)
def ssh(
    ctx: typer.Context,
    name: VmName,
    *,
    user: Annotated[Optional[str], typer.Option("--user", "-l", help="Login name.")] = None,
    connect: ConnectOpt = None,
) -> None:
    """ssh into a VM: through its forward to guest port 22, else to the first address of `vmrun ip` that answers.

    vmrun puts your key (~/.ssh/id_ed25519.pub, else its own) into the guest through its agent, and keeps
    the guest's host key in a known_hosts file of its own.

    Example: vmrun ssh jrgtest -- uname -a
    """
    from vmrun.ssh import ssh_argv

    argv = ssh_argv(name, user, list(ctx.args), connect, notice=ui.notice)
    os.execvp(argv[0], argv)


@command("ssh-config")
def ssh_config(
    names: Annotated[
        Optional[list[str]], typer.Argument(metavar="[VM]...", help="VMs (default: every one running).")
    ] = None,
    *,
    connect: ConnectOpt = None,
) -> None:
    """Print ssh_config Host blocks for running VMs, for ssh -F, scp, rsync or an Include in ~/.ssh/config.

    Example: ssh -F <(vmrun ssh-config demo) demo
    """
    from vmrun.ssh import ssh_config as blocks

    print(blocks(names or [], connect, notice=ui.notice), end="")
