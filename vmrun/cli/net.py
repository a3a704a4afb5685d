"""`vmrun net ...`: host networks shared by VMs (libvirt networks, bridges, OVS bridges, the helper's ACL)."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer

from vmrun import ui
from vmrun.cli.base import (
    JsonOpt,
    app,
    command,
)

net_app = typer.Typer(
    help="Host networks, made once and shared by VMs: libvirt networks, bridges over a NIC, OVS bridges, the helper's ACL.",
    no_args_is_help=True,
)
app.add_typer(net_app, name="net")

NetName = Annotated[str, typer.Argument(help="A libvirt network's name.")]
UriOpt = Annotated[
    str,
    typer.Option("--connect", "-c", "--uri", metavar="URI", help="libvirt connection URI (--uri: the old spelling)."),
]
ForceOpt = Annotated[bool, typer.Option("--force", help="Even if guests' taps are on its bridge.")]
HelperOpt = Annotated[
    Optional[str],
    typer.Option("--helper", help="qemu-bridge-helper to judge the ACL for (default: found as `up` finds it)."),
]


@command("create", group=net_app)
def net_create(
    name: NetName,
    *,
    nat: Annotated[bool, typer.Option("--nat", help="NAT to the host's uplinks (the default).")] = False,
    isolated: Annotated[bool, typer.Option("--isolated", help="No forwarding: guests and host only.")] = False,
    route: Annotated[bool, typer.Option("--route", help="Routed, without NAT.")] = False,
    subnet: Annotated[Optional[str], typer.Option(help="IPv4 subnet, e.g. 192.168.128.0/24; the host is .1.")] = None,
    bridge: Annotated[Optional[str], typer.Option(help="Bridge name (default: vr-NAME, cut to 15 bytes).")] = None,
    dhcp_range: Annotated[
        Optional[str], typer.Option("--dhcp-range", help="FIRST-LAST (default: .2 to the last host).")
    ] = None,
    uplink: Annotated[Optional[str], typer.Option(help="With --nat or --route: forward through this NIC only.")] = None,
    autostart: Annotated[
        bool, typer.Option("--autostart/--no-autostart", help="Start it when libvirtd starts.")
    ] = True,
    uri: UriOpt = "qemu:///system",
    as_json: JsonOpt = False,
) -> None:
    """Create a libvirt network: defined persistent, started and marked autostart in one step.

    Example: vmrun net create jrgnet --nat --subnet 192.168.128.0/24 --bridge jrgbr0
    """
    from vmrun.hostnet import libvirt_nets, spec
    from vmrun.profile.model import NetKind

    net = spec.from_options(
        name,
        {NetKind.NAT: nat, NetKind.ISOLATED: isolated, NetKind.ROUTE: route},
        subnet=subnet,
        bridge=bridge,
        dhcp_range=dhcp_range,
        uplink=uplink,
        autostart=autostart,
        uri=uri,
    )
    shown = libvirt_nets.create(net)
    if as_json:
        print(json.dumps(shown, indent=2))
    else:
        print(libvirt_nets.summary("created", shown))
        print(f'  guests join it with: type = "network", network = "{name}"   (or vmrun nic add VM --network {name})')


@command("persist", group=net_app)
def net_persist(name: NetName, *, uri: UriOpt = "qemu:///system") -> None:
    """Make a transient network (virsh net-create) persistent and autostart, without taking it down.

    Example: vmrun net persist jrgnet
    """
    from vmrun.hostnet import libvirt_nets

    print(libvirt_nets.summary("persistent", libvirt_nets.persist(name, uri)))


@command("start", group=net_app)
def net_start(name: NetName, *, uri: UriOpt = "qemu:///system") -> None:
    """Start a libvirt network.

    Example: vmrun net start jrgnet
    """
    from vmrun.hostnet import libvirt_nets

    print(libvirt_nets.summary("started", libvirt_nets.start(name, uri)))


@command("stop", group=net_app)
def net_stop(name: NetName, *, uri: UriOpt = "qemu:///system", force: ForceOpt = False) -> None:
    """Stop a libvirt network (a transient one is then gone).

    Example: vmrun net stop jrgnet
    """
    from vmrun.hostnet import libvirt_nets

    print(libvirt_nets.summary("stopped", libvirt_nets.stop(name, uri, force=force)))


@command("delete", group=net_app)
def net_delete(name: NetName, *, uri: UriOpt = "qemu:///system", force: ForceOpt = False) -> None:
    """Stop a libvirt network if it runs, and undefine it.

    Example: vmrun net delete jrgnet
    """
    from vmrun.hostnet import libvirt_nets

    libvirt_nets.delete(name, uri, force=force)
    print(f"{name}: deleted")


@command("list", group=net_app)
def net_list(*, uri: UriOpt = "qemu:///system", helper: HelperOpt = None, as_json: JsonOpt = False) -> None:
    """libvirt networks, Linux bridges and OVS bridges, and whether qemu-bridge-helper may use each.

    Example: vmrun net list --json
    """
    from vmrun.hostnet import listing

    found = listing.gather(uri, helper)
    print(json.dumps(found, indent=2) if as_json else listing.render(found))


@command("bridge", group=net_app)
def net_bridge(
    name: Annotated[str, typer.Argument(help="The bridge's name.")],
    *,
    uplink: Annotated[
        Optional[str], typer.Option(help="The NIC to put on it; its addresses and routes move to the bridge.")
    ] = None,
    stp: Annotated[
        bool, typer.Option("--stp", help="Spanning tree on (the uplink then forwards after about 4 s).")
    ] = False,
    print_config: Annotated[
        Optional[str],
        typer.Option(
            "--print-config",
            metavar="nmcli|networkd",
            help="Print the boot-time configuration instead of making the bridge now.",
        ),
    ] = None,
) -> None:
    """Make a Linux bridge over a NIC, now: the NIC's addresses and routes move to the bridge, or stay if any step fails.

    Example: vmrun net bridge jrgbr1 --uplink ens1f0   (then: vmrun net allow jrgbr1)
    """
    if print_config is not None:
        from vmrun.errors import UsageError
        from vmrun.hostnet import bridge_config

        if uplink is None:
            raise UsageError("--print-config needs --uplink")
        print(bridge_config.render(print_config, name, uplink, stp=stp), end="")
        return
    from vmrun.hostnet import linux_bridge

    print(linux_bridge.create(name, uplink, stp=stp, notice=ui.notice))


@command("ovs-bridge", group=net_app)
def net_ovs_bridge(
    name: Annotated[str, typer.Argument(help="The bridge's name.")],
    *,
    uplink: Annotated[
        Optional[str], typer.Option(help="A NIC to add as a port; its addresses and routes move to the bridge.")
    ] = None,
    datapath: Annotated[
        Optional[str],
        typer.Option(metavar="netdev|system", help="Default: system if the kernel module is loaded, else netdev."),
    ] = None,
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
    conf: Annotated[
        Optional[str], typer.Option(help="The ACL file (default: the one the helper was built to read).")
    ] = None,
    helper: HelperOpt = None,
) -> None:
    """Let qemu-bridge-helper use a bridge: one `allow BRIDGE` line, added once.

    Example: vmrun net allow jrgbr0
    """
    from vmrun.hostnet import acl, listing

    print(acl.allow(bridge, conf or acl.default_conf(listing.helper_path(helper))))
