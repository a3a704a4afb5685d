"""`vmrun net list`: libvirt networks, Linux bridges and OVS bridges, each with whether qemu-bridge-helper may use it.

A source that cannot be asked (libvirtd down, OVS not installed) is one line
saying why; the others are still listed.
"""

from __future__ import annotations

import os
from typing import Any

from vmrun import ui
from vmrun.hostnet import libvirt_nets, linux_bridge, ovs_bridge
from vmrun.net import bridgeacl
from vmrun.net.bridge import find_helper
from vmrun.profile.model import Nic, NicType

OVS_HELPER = {"allowed": False, "reason": "qemu-bridge-helper adds ports to Linux bridges only"}


def helper_path(helper: str | None = None) -> str:
    """The helper a bridge NIC would use: the one given, else the first one found, as `up` finds it."""
    return find_helper(Nic(id="net0", type=NicType.BRIDGE, mac="52:54:00:00:00:00", helper=helper))


def helper_verdict(bridge: str | None, helper: str) -> dict[str, Any] | None:
    if bridge is None:
        return None
    if not os.access(helper, os.X_OK):
        return {"allowed": False, "reason": f"qemu-bridge-helper not found at {helper}"}
    verdict = bridgeacl.check(bridge, helper)
    shown: dict[str, Any] = {"allowed": verdict.allowed, "reason": verdict.reason}
    if not verdict.allowed:
        denied = " denies " in verdict.reason
        shown["fix"] = f"remove the deny line from {verdict.conf}" if denied else f"vmrun net allow {bridge}"
    return shown


def gather(uri: str, helper: str | None = None) -> dict[str, Any]:
    path = helper_path(helper)
    libvirt = libvirt_nets.listing(uri)
    for net in libvirt["networks"]:
        net["helper"] = helper_verdict(net["bridge"], path)
    owners = {n["bridge"]: n["name"] for n in libvirt["networks"] if n["bridge"]}
    bridges = linux_bridge.listing()
    for br in bridges:
        br["libvirt_network"] = owners.get(br["name"])
        br["helper"] = helper_verdict(br["name"], path)
    ovs = ovs_bridge.listing()
    for br in ovs["bridges"]:
        br["helper"] = OVS_HELPER
    return {"helper": path, "libvirt": libvirt, "linux_bridges": bridges, "ovs": ovs}


def _yes(value: bool) -> str:
    return "yes" if value else "no"


def _helper(verdict: dict[str, Any] | None) -> str:
    if verdict is None:
        return "-"
    if verdict["allowed"]:
        return "yes"
    return f"no: {verdict['reason']}" + (f" ({verdict['fix']})" if verdict.get("fix") else "")


def _section(title: str, headers: list[str], rows: list[list[str]], error: str | None = None) -> str:
    if error:
        return f"{title}: cannot be asked: {error}"
    if not rows:
        return f"{title}: none"
    return f"{title}:\n" + "\n".join(f"  {line}" for line in ui.table(headers, rows).splitlines())


def render(found: dict[str, Any]) -> str:
    lv = found["libvirt"]
    lv_rows = [
        [
            n["name"],
            _yes(n["active"]),
            _yes(n["persistent"]),
            _yes(n["autostart"]),
            n["forward"] or "-",
            n["bridge"] or "-",
            n["subnet"] or "-",
            _helper(n["helper"]),
        ]
        for n in lv["networks"]
    ]
    br_rows = [
        [
            b["name"],
            b["uplink"] or "-",
            ",".join(b["ports"]) or "-",
            ",".join(b["addresses"]) or "-",
            b["libvirt_network"] or "-",
            _helper(b["helper"]),
        ]
        for b in found["linux_bridges"]
    ]
    ovs = found["ovs"]
    ovs_rows = [
        [b["name"], b["datapath"], ",".join(b["ports"]) or "-", ",".join(b["addresses"]) or "-", _helper(b["helper"])]
        for b in ovs["bridges"]
    ]
    return "\n\n".join(
        [
            _section(
                f"libvirt networks ({lv['uri']})",
                ["NAME", "ACTIVE", "PERSISTENT", "AUTOSTART", "FORWARD", "BRIDGE", "SUBNET", "HELPER"],
                lv_rows,
                lv["error"],
            ),
            _section("Linux bridges", ["NAME", "UPLINK", "PORTS", "ADDRESSES", "LIBVIRT", "HELPER"], br_rows),
            _section(
                "Open vSwitch bridges", ["NAME", "DATAPATH", "PORTS", "ADDRESSES", "HELPER"], ovs_rows, ovs["error"]
            ),
            f"qemu-bridge-helper: {found['helper']}",
        ]
    )
