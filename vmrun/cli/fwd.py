"""`vmrun fwd add|del|list`: port forwards on a running VM's user NIC."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from vmrun import ui
from vmrun.cli.base import (
    ConnectOpt,
    JsonOpt,
    VmName,
    app,
    command,
)

fwd_app = typer.Typer(help="Port forwards on a running VM's user-network NIC.", no_args_is_help=True)
app.add_typer(fwd_app, name="fwd")

Rule = Annotated[
    str, typer.Argument(metavar="RULE", help="proto:hostaddr:hostport-guestaddr:guestport, e.g. tcp:127.0.0.1:2222-:22")
]


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
    from vmrun.engines import find

    print(f"{name}: forwarding {find(name, connect).fwd_add(rule, nic).rule}")


@command("del", group=fwd_app)
def fwd_del(name: VmName, rule: Rule, *, connect: ConnectOpt = None) -> None:
    """Remove a port forward (the host side is enough: tcp:127.0.0.1:2222).

    Example: vmrun fwd del demo tcp:127.0.0.1:2222
    """
    from vmrun.engines import find

    print(f"{name}: removed {find(name, connect).fwd_del(rule).rule}")


@command("list", group=fwd_app)
def fwd_list(name: VmName, *, connect: ConnectOpt = None, as_json: JsonOpt = False) -> None:
    """The forwards of a running VM.

    Example: vmrun fwd list jrgtest --json
    """
    from vmrun.engines import find

    fwds = find(name, connect).fwd_list()
    if as_json:
        print(json.dumps([f.as_json() for f in fwds], indent=2))
    else:
        print(
            ui.table(
                ["NIC", "RULE"], [[f.nic, f.rule + ("" if f.phase == "running" else f"  ({f.phase})")] for f in fwds]
            )
        )
