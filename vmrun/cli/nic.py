"""`vmrun nic add|del|list`: NICs hot-plugged into a running VM."""

from __future__ import annotations

import json
from typing import Annotated, Any, Optional

import typer

from vmrun import ui
from vmrun.cli.base import (
    ConnectOpt,
    JsonOpt,
    VmName,
    app,
    command,
)
from vmrun.errors import UsageError

nic_app = typer.Typer(help="Hot-plug NICs into a running VM (and out again).", no_args_is_help=True)
app.add_typer(nic_app, name="nic")


@command("add", group=nic_app)
def nic_add(
    name: VmName,
    *,
    bridge: Annotated[
        Optional[str], typer.Option(help="A Linux bridge (tap made by vmrun or by qemu-bridge-helper).")
    ] = None,
    macvtap: Annotated[Optional[str], typer.Option(metavar="PARENT", help="A macvtap on this host NIC.")] = None,
    mode: Annotated[Optional[str], typer.Option(help="macvtap mode: bridge, vepa, private, passthru.")] = None,
    ovs: Annotated[Optional[str], typer.Option(metavar="BRIDGE", help="An Open vSwitch bridge.")] = None,
    vlan: Annotated[Optional[int], typer.Option(help="OVS VLAN tag.")] = None,
    network: Annotated[Optional[str], typer.Option(help="An active libvirt network.")] = None,
    user: Annotated[bool, typer.Option("--user", help="QEMU user networking.")] = False,
    hostfwd: Annotated[
        Optional[list[str]], typer.Option(help="With --user or --passt: a forward, e.g. tcp::2222-:22.")
    ] = None,
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
    from vmrun.engines import find

    raw = _nic_request(bridge, macvtap, mode, ovs, vlan, network, user, hostfwd, passt)
    raw.update({k: v for k, v in {"model": model, "mac": mac, "id": nic_id, "via": via, "vhost": vhost}.items() if v})
    added = find(name, connect).nic_add(raw)
    if save:
        from vmrun.profile.save import append_nic

        path = append_nic(added.nic, raw, added.profile)
        ui.notice(f"saved {added.nic.id} to {path}")
    if as_json:
        print(json.dumps(added.as_json(), indent=2))
    else:
        print(f"{name}: added {added.nic.id} ({added.nic.model}, MAC {added.nic.mac}){_host_side(added.host)}")


def _nic_request(bridge, macvtap, mode, ovs, vlan, network, user, hostfwd, passt) -> dict[str, Any]:
    chosen = [
        k
        for k, v in {
            "--bridge": bridge,
            "--macvtap": macvtap,
            "--ovs": ovs,
            "--network": network,
            "--user": user,
            "--passt": passt,
        }.items()
        if v
    ]
    if len(chosen) != 1:
        raise UsageError("say which kind of NIC: exactly one of --bridge, --macvtap, --ovs, --network, --user, --passt")
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
    from vmrun.engines import find

    find(name, connect).nic_del(nic_id, timeout=timeout)
    print(f"{name}: removed {nic_id}")


@command("list", group=nic_app)
def nic_list(name: VmName, *, connect: ConnectOpt = None, as_json: JsonOpt = False) -> None:
    """The NICs the running VM has (asked over QMP), with their host side and origin.

    Example: vmrun nic list jrgtest
    """
    from vmrun.engines import find

    nics = find(name, connect).nic_list()
    if as_json:
        print(json.dumps(nics, indent=2))
        return
    rows = [
        [n["id"], n["type"], n["model"], n["mac"], n["origin"], _host_side(n.get("host", {})).strip(" []")]
        for n in nics
    ]
    print(ui.table(["ID", "TYPE", "MODEL", "MAC", "ORIGIN", "HOST SIDE"], rows))


def _host_side(host: dict[str, Any]) -> str:
    from vmrun.summary import host_side

    return host_side(host)
