"""A libvirt network's XML built from a checked host network description, and read back (pure).

The description is checked and completed by vmrun/profile/network.py, shared by
`vmrun net create` and a profile's ``[[networks]]`` (re-exported here for hostnet).
"""

from __future__ import annotations

import ipaddress
import xml.etree.ElementTree as ET
from typing import Any

from vmrun.profile.fields import parse_range, parse_subnet  # noqa: F401 (re-exported)
from vmrun.profile.keys import NETWORKS
from vmrun.profile.model import NetKind, Network
from vmrun.profile.network import (  # noqa: F401 (re-exported: hostnet and `vmrun net` use them through spec)
    IFNAMSIZ,
    KEYS,
    SpecError,
    check_ifname,
    check_name,
    complete,
    default_bridge,
    default_range,
    gateway,
)


def network_xml(net: Network) -> str:
    """libvirt's <network>, as the seed wrote it by hand; ``net`` must have been through :func:`complete`."""
    root = ET.Element("network")
    ET.SubElement(root, "name").text = net.name
    if net.kind in (NetKind.NAT, NetKind.ROUTE):
        forward = ET.SubElement(root, "forward", mode=net.kind.value)
        if net.uplink:
            forward.set("dev", net.uplink)
        if net.kind is NetKind.NAT:
            ET.SubElement(ET.SubElement(forward, "nat"), "port", start="1024", end="65535")
    assert net.bridge is not None
    ET.SubElement(root, "bridge", name=net.bridge, stp="on", delay="0")
    if net.subnet:
        subnet = ipaddress.IPv4Network(net.subnet)
        ip = ET.SubElement(root, "ip", address=gateway(net.subnet), netmask=str(subnet.netmask))
        if net.dhcp_range:
            ET.SubElement(ET.SubElement(ip, "dhcp"), "range", start=net.dhcp_range[0], end=net.dhcp_range[1])
    ET.indent(root)
    return ET.tostring(root, encoding="unicode")


def read_xml(xml: str) -> dict[str, Any]:
    """What `net list` shows of a libvirt network: forward mode, bridge, subnets (IPv4 and IPv6)."""
    root = ET.fromstring(xml)
    forward = root.find("forward")
    bridge = root.find("bridge")
    subnets = []
    for ip in root.findall("ip"):
        address, prefix, mask = ip.get("address"), ip.get("prefix"), ip.get("netmask")
        if address is None:
            continue
        try:
            subnets.append(str(ipaddress.ip_interface(f"{address}/{prefix or mask or 24}").network))
        except ValueError:
            continue
    return {
        "forward": forward.get("mode", "nat") if forward is not None else "isolated",
        "bridge": bridge.get("name") if bridge is not None else None,
        "subnets": subnets,
    }


# `vmrun net create`'s option for each key, as the records (profile/keys.py) give it.
OPTIONS = {k.name: k.option for k in NETWORKS.keys if k.option}


def from_options(name: str, kinds: dict[NetKind, bool], **fields: Any) -> Network:
    """`vmrun net create`'s options as a checked Network; errors name the option (exit 2)."""
    from vmrun.errors import UsageError

    chosen = [k for k, on in kinds.items() if on]
    if len(chosen) > 1:
        raise UsageError(f"choose one of {', '.join('--' + k.value for k in kinds)}, not {len(chosen)}")
    parsers = {"subnet": parse_subnet, "dhcp_range": parse_range}
    for key, parse in parsers.items():
        if fields.get(key) is not None:
            try:
                fields[key] = parse(fields[key])
            except ValueError as e:
                raise UsageError(str(e), option=OPTIONS[key]) from None
    try:
        return complete(Network(name=name, kind=chosen[0] if chosen else NetKind.NAT, **fields))
    except SpecError as e:
        raise UsageError(str(e), option=OPTIONS.get(e.key, e.key)) from None
