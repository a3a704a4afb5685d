"""A host network's description checked and completed, and a libvirt network's XML built from it (pure).

Shared by `vmrun net create` and a profile's ``[[networks]]``: the same
defaults (gateway .1, DHCP .2 to the last host, a bridge name derived from
the network's), the same checks, each naming the key it is about.
"""

from __future__ import annotations

import hashlib
import ipaddress
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from typing import Any

from vmrun.profile.model import NetKind, Network

IFNAMSIZ = 16
# Which keys each kind of network takes besides name and kind.
KEYS = {
    NetKind.NAT: {"subnet", "bridge", "dhcp_range", "autostart", "uri", "uplink"},
    NetKind.ROUTE: {"subnet", "bridge", "dhcp_range", "autostart", "uri", "uplink"},
    NetKind.ISOLATED: {"subnet", "bridge", "dhcp_range", "autostart", "uri"},
    NetKind.BRIDGE: {"uplink"},
    NetKind.OVS: {"uplink"},
}


class SpecError(ValueError):
    """``key`` is the field the message is about (a profile key; the CLI turns it into its option)."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


def parse_subnet(value: str) -> str:
    try:
        net = ipaddress.IPv4Network(value.strip(), strict=False)
    except ValueError:
        raise ValueError(f"{value!r} is not an IPv4 subnet; write e.g. 192.168.128.0/24") from None
    if str(net) != value.strip() or "/" not in value:
        raise ValueError(f"{value!r} is not a subnet's own address; write {net}")
    if net.prefixlen > 30:
        raise ValueError(f"{value!r} is too small: a /30 at most (a gateway and a guest)")
    return str(net)


def parse_range(value: str) -> tuple[str, str]:
    first, sep, last = value.partition("-")
    try:
        a, b = ipaddress.IPv4Address(first.strip()), ipaddress.IPv4Address(last.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a range; write FIRST-LAST, e.g. 192.168.128.100-192.168.128.200") from None
    if not sep or a > b:
        raise ValueError(f"{value!r} is not a range; write FIRST-LAST with FIRST <= LAST")
    return str(a), str(b)


def check_ifname(value: str) -> str:
    """A Linux interface name: the kernel's limits, and nothing a path or a command line could misread."""
    plain = 0 < len(value.encode()) < IFNAMSIZ and value not in (".", "..") and not value.startswith("-")
    if not plain or any(c in "/:\0" or c.isspace() for c in value):
        raise ValueError(f"{value!r} is not a network interface name (at most {IFNAMSIZ - 1} bytes, no '/', ':' or spaces)")
    return value


def check_name(value: str) -> str:
    if not value or value.startswith("-") or any(c in "/\0" or c.isspace() for c in value):
        raise ValueError(f"{value!r} is not a usable network name (no '/', no spaces)")
    return value


def default_bridge(name: str) -> str:
    """``vr-NAME``, cut to fit 15 bytes; a cut name gets a hash of the whole, so two long names differ."""
    plain = re.sub(r"[^A-Za-z0-9_.-]", "_", name)
    candidate = f"vr-{plain}"
    if len(candidate.encode()) < IFNAMSIZ and plain == name:
        return candidate
    digest = hashlib.sha256(name.encode()).hexdigest()[:4]
    return f"vr-{plain[:7]}-{digest}"


def gateway(subnet: str) -> str:
    return str(ipaddress.IPv4Network(subnet).network_address + 1)


def default_range(subnet: str) -> tuple[str, str]:
    net = ipaddress.IPv4Network(subnet)
    return str(net.network_address + 2), str(net.broadcast_address - 1)


def complete(net: Network) -> Network:
    """Checked, with the defaults filled in; raises SpecError naming the key."""
    try:
        check_name(net.name)
    except ValueError as e:
        raise SpecError("name", str(e)) from None
    if not net.kind.libvirt:
        try:
            check_ifname(net.name)
        except ValueError as e:
            raise SpecError("name", f"{e} (a {net.kind.value} network's name is its bridge's)") from None
    for key, default in (("subnet", None), ("bridge", None), ("dhcp_range", None), ("uri", "qemu:///system"),
                         ("autostart", True), ("uplink", None)):  # fmt: skip
        if getattr(net, key) != default and key not in KEYS[net.kind]:
            raise SpecError(key, f"does not apply to a network of kind {net.kind.value!r}")
    for key in ("bridge", "uplink"):
        value = getattr(net, key)
        if value is not None:
            try:
                check_ifname(value)
            except ValueError as e:
                raise SpecError(key, str(e)) from None
    if not net.kind.libvirt:
        return net
    if net.subnet is None and net.kind is not NetKind.ISOLATED:
        raise SpecError("subnet", f"a {net.kind.value} network needs a subnet, e.g. 192.168.128.0/24")
    if net.dhcp_range is not None:
        if net.subnet is None:
            raise SpecError("dhcp_range", "needs a subnet to be in")
        _check_range(net.subnet, net.dhcp_range)
    dhcp = net.dhcp_range or (default_range(net.subnet) if net.subnet else None)
    return replace(net, bridge=net.bridge or default_bridge(net.name), dhcp_range=dhcp)


def _check_range(subnet: str, dhcp: tuple[str, str]) -> None:
    net = ipaddress.IPv4Network(subnet)
    first, last = (ipaddress.IPv4Address(a) for a in dhcp)
    hosts = f"{net.network_address + 1}-{net.broadcast_address - 1}"
    if first not in net or last not in net or first == net.network_address or last == net.broadcast_address:
        raise SpecError("dhcp_range", f"{first}-{last} is not inside {subnet}'s hosts ({hosts})")
    gw = ipaddress.IPv4Address(gateway(subnet))
    if first <= gw <= last:
        raise SpecError("dhcp_range", f"{first}-{last} holds the host's own address {gw}; start it at {gw + 1}")


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


OPTIONS = {"name": "NAME", "subnet": "--subnet", "bridge": "--bridge", "dhcp_range": "--dhcp-range",
           "autostart": "--no-autostart", "uri": "--uri", "uplink": "--uplink"}  # fmt: skip


def from_options(name: str, kinds: dict[NetKind, bool], **fields: Any) -> Network:
    """`vmrun net create`'s options as a checked Network; errors name the option (exit 2)."""
    from vmrun.errors import ProfileError

    chosen = [k for k, on in kinds.items() if on]
    if len(chosen) > 1:
        raise ProfileError(f"choose one of {', '.join('--' + k.value for k in kinds)}, not {len(chosen)}")
    parsers = {"subnet": parse_subnet, "dhcp_range": parse_range}
    for key, parse in parsers.items():
        if fields.get(key) is not None:
            try:
                fields[key] = parse(fields[key])
            except ValueError as e:
                raise ProfileError(f"{OPTIONS[key]}: {e}") from None
    try:
        return complete(Network(name=name, kind=chosen[0] if chosen else NetKind.NAT, **fields))
    except SpecError as e:
        raise ProfileError(f"{OPTIONS.get(e.key, e.key)}: {e}") from None
