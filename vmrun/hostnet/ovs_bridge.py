"""Open vSwitch bridges: one made (over a NIC, whose addresses and routes move to its internal port), and the ones there are."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from typing import Any

from vmrun.adapters.ovs import START_HINT, VSCTL, last_line, vsctl
from vmrun.errors import HostNetError, PreflightError, ProfileError, StateError
from vmrun.hostnet import linux_bridge

DATAPATHS = ("netdev", "system")


def _reachable() -> None:
    if shutil.which(VSCTL) is None:
        raise PreflightError(
            f"{VSCTL} not found: Open vSwitch is not installed", hint="apt-get install openvswitch-switch"
        )
    r = vsctl("show")
    if r.returncode != 0:
        raise PreflightError(f"Open vSwitch is not running ({last_line(r)})", hint=START_HINT)


def exists(name: str) -> bool:
    _reachable()
    return vsctl("br-exists", name).returncode == 0


def default_datapath() -> str:
    """The kernel's datapath if its module is loaded (ovs-vswitchd loads it), else the userspace one."""
    return "system" if os.path.isdir("/sys/module/openvswitch") else "netdev"


def create(
    name: str, uplink: str | None, datapath: str | None = None, *, notice: Callable[[str], None] = lambda _: None
) -> str:
    from vmrun.hostnet import ipmove

    linux_bridge.check_names(name, uplink)
    if datapath is not None and datapath not in DATAPATHS:
        raise ProfileError(f"--datapath: {datapath!r} is not one of {' | '.join(DATAPATHS)}")
    _reachable()
    existed = vsctl("br-exists", name).returncode == 0
    if not existed and linux_bridge.exists(name):
        raise StateError(f"there is an interface named {name!r} already, and it is not an OVS bridge")
    snap = None
    if uplink is not None:
        if uplink in ports(name):
            return f"{name}: Open vSwitch bridge over {uplink} already"
        linux_bridge.check_uplink(uplink)
        snap = ipmove.snapshot(uplink)
    if datapath is None:
        datapath = default_datapath()
        if not existed and datapath == "netdev":
            notice("no openvswitch kernel module: the bridge uses OVS's userspace datapath (netdev)")
    args = ["--may-exist", "add-br", name]
    if not existed:
        args += ["--", "set", "bridge", name, f"datapath_type={datapath}"]
        if snap is not None:
            # The bridge answers with the NIC's MAC, so the LAN sees the same host.
            args += [f"other-config:hwaddr={snap.mac}"]
    r = vsctl(*args)
    if r.returncode != 0:
        if not existed:
            vsctl("--if-exists", "del-br", name)
        raise HostNetError(f"cannot make Open vSwitch bridge {name}: {last_line(r)}")
    try:
        _up(name)
        if snap is not None and uplink is not None:
            ipmove.move(snap, name, lambda: _add_port(name, uplink), lambda: _del_port(name, uplink))
    except BaseException:
        if not existed:
            vsctl("--if-exists", "del-br", name)
        raise
    made = "made" if not existed else "already there"
    if snap is None:
        return f"{name}: Open vSwitch bridge {made} (datapath {datapath})"
    return f"{name}: Open vSwitch bridge {made}, over {uplink}; moved {snap.describe()}"


def _up(name: str) -> None:
    from vmrun.adapters import netlink

    if linux_bridge.exists(name):
        netlink.set_master_up(name, None)


def _add_port(bridge: str, port: str) -> None:
    r = vsctl("--may-exist", "add-port", bridge, port)
    if r.returncode != 0:
        raise HostNetError(f"cannot add {port} to Open vSwitch bridge {bridge}: {last_line(r)}")


def _del_port(bridge: str, port: str) -> None:
    r = vsctl("--if-exists", "del-port", bridge, port)
    if r.returncode != 0:
        raise HostNetError(f"cannot take {port} off Open vSwitch bridge {bridge}: {last_line(r)}")


def ports(bridge: str) -> list[str]:
    r = vsctl("list-ports", bridge)
    return r.stdout.split() if r.returncode == 0 else []


def listing() -> dict[str, Any]:
    """The OVS bridges, or why OVS cannot be asked."""
    from vmrun.adapters import netlink

    try:
        _reachable()
    except PreflightError as e:
        return {"error": e.reason, "bridges": []}
    r = vsctl("list-br")
    out = []
    for name in r.stdout.split():
        dp = vsctl("get", "bridge", name, "datapath_type").stdout.strip().strip('"') or "system"
        try:
            addrs = [str(a) for a in netlink.addresses(name)] if linux_bridge.exists(name) else []
        except HostNetError:
            addrs = []
        out.append({"name": name, "datapath": dp, "ports": ports(name), "addresses": addrs})
    return {"error": None, "bridges": out}
